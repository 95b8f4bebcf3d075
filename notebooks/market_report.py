# %% [markdown]
# # Labeling quality report
#
# One market of the labeling operation over one period. Findings come first, in plain words;
# the evidence follows in the sections they link to. Rendered by `insights report` from
# `notebooks/market_report.ipynb` with the parameters in `params/`.

# %% tags=["parameters"]
# Parameters (params/defaults.yaml, overridden per market by params/<MARKET>.yaml).
market = "DE"
data_source = ""  # "" or "simulated": the built-in simulated operation; else a folder or file
scenario = "default"  # simulated scenario and seed (used when data_source is simulated)
seed = 0
data_dir = ""  # where the simulated data is generated once ("": <project>/data)
since = ""  # period start, inclusive ("": the last `weeks` complete weeks of the data)
until = ""  # period end, exclusive
weeks = 8
label_set = []  # declared label set ([]: the labels found in the data)
method = "dawid-skene"  # aggregation model
accuracy_target = 0.9  # teams whose whole interval is below it are flagged
min_gold = 30  # gold judgments a team needs to be ranked on gold
alpha = 0.05  # false discovery rate across every trend and knowledge-gap test of the run
fdr_method = "bh"  # "bh" (Benjamini-Hochberg) or "by" (Benjamini-Yekutieli)
gap_min_n = 20  # judgments of a class a team (and the rest) need before a gap is tested
cost_per_label = 0.05  # cost of a judgment when the data has none
currency = "USD"
n_examples = 3  # example items per knowledge gap / disagreement
n_review = 20  # items on the re-review list
horizon = 4  # weeks forecast
trend_weeks = 12  # weeks of history (up to the period's end) for trends, gaps and forecast
max_heatmaps = 6  # teams shown as confusion heatmaps
pseudonymize = True  # replace annotator ids by salted pseudonyms
pseudonym_salt = "insights-reports"
tables_dir = ""  # where the run writes the report's tables ("": not written)

# %%
from IPython.display import HTML  # noqa: E402

from insights import plots, summary  # noqa: E402
from insights.confidence import plots as confidence_plots  # noqa: E402

report = summary.build_report(
    market, data_source=data_source, scenario=scenario, seed=seed, data_dir=data_dir,
    since=since, until=until, weeks=weeks, label_set=label_set, method=method,
    accuracy_target=accuracy_target, min_gold=min_gold, alpha=alpha, fdr_method=fdr_method,
    gap_min_n=gap_min_n, cost_per_label=cost_per_label, currency=currency,
    n_examples=n_examples, n_review=n_review, horizon=horizon, trend_weeks=trend_weeks,
    pseudonymize_ids=pseudonymize, pseudonym_salt=pseudonym_salt,
    params=summary.notebook_params(globals()),
)
summary.write_tables(report, tables_dir)
HTML(summary.report_header(report))

# %% [markdown]
# ## Headline findings
#
# Most important first; each links to its evidence. Changes over time and knowledge gaps are
# listed only when significant after false-discovery control (see Trends).

# %%
HTML(summary.findings_html(report.findings))

# %% [markdown]
# ## Scale and quality at a glance

# %%
HTML(summary.html_table(summary.scale_table(report.scale, currency)))

# %% [markdown]
# ## Vendor team scorecard
#
# Teams ranked by accuracy on gold (hidden test items), with 95% Wilson intervals; teams with
# too few gold judgments are ranked by the model's estimate. The *model-estimated accuracy*
# comes from the hierarchical model (annotators pooled within team and market) with its 95%
# credible interval. *Rank range* is the range of ranks the intervals allow. *Bias-corrected
# quality* is the accuracy a team's answers would have once systematic confusions are
# re-mapped; *kappa* is agreement with the consensus beyond chance.

# %%
plots.scorecard(report.scorecard, target=accuracy_target)

# %%
HTML(summary.html_table(summary.scorecard_view(report.scorecard, currency)))

# %% [markdown]
# ## Knowledge gaps
#
# A knowledge gap is a team that labels a class as another class more often than the rest of
# its market's pool, significant after false-discovery control across everything tested (see
# Trends); tested over the trends' history. The heatmaps show each team's confusions in the
# period: rows are the reference class (the model's posterior, or gold where known), columns
# the label the team gave; each row sums to 100%.

# %%
HTML(summary.html_table(summary.gaps_view(report.gaps),
                        caption="Knowledge gaps (team rate above the rest of the market)")
     + summary.html_table(report.gap_examples, caption="Example items"))

# %%
plots.confusion_heatmaps(report.confusions, summary.heatmap_teams(report, max_heatmaps))

# %% [markdown]
# ## Trends
#
# Weekly series per market, queue and team over the trends' history: rates (accuracy on gold,
# model-estimated accuracy, agreement, label shares) tested against week-to-week variation,
# volumes, handle times and costs with Mann-Kendall; changes located in time.

# %%
HTML(summary.paragraph(summary.fdr_statement(report.trends))
     + summary.sentences_html(report.trends.findings["sentence"]))

# %%
plots.team_trends(report.trends.series, report.trends.findings)

# %%
HTML(summary.details(summary.html_table(summary.trend_tests_view(report.trends), max_rows=40),
                     f"Everything tested ({report.trends.n_tests} tests), most significant first"))

# %% [markdown]
# ## Confidence
#
# How far each final label can be trusted. The hierarchical model gives every item a
# calibrated confidence; below, each model's confidence on gold items (computed without the
# gold answer) is compared with how often it is right, and the least confident items are
# listed for re-review.

# %%
HTML(summary.paragraph(summary.calibration_sentence(report.confidence))
     + summary.html_table(summary.calibration_view(report.confidence),
                          caption="Calibration against gold"))

# %%
confidence_plots.reliability_diagram(report.confidence.reliability)

# %%
confidence_plots.team_accuracy_intervals(report.confidence.model.team_accuracy_)

# %%
HTML(summary.html_table(summary.team_accuracy_view(report.confidence.teams),
                        caption="Team accuracy (hierarchical model)")
     + summary.html_table(report.confidence.review, max_rows=10,
                          caption="Items to re-review, most expected errors removed first"))

# %% [markdown]
# ## Model and LLM annotators
#
# Where the automated annotators disagree with the human consensus (the model's posterior
# given the human judgments only), with example items for the algorithm team.

# %%
plots.model_disagreement(report.disagreements)

# %%
HTML(summary.html_table(report.disagreements, max_rows=10,
                        caption="Disagreements with human consensus")
     + summary.html_table(report.disagreement_examples, caption="Example items"))

# %% [markdown]
# ## Forecast
#
# Items per queue for the next weeks, from each queue's weekly history, and the annotator
# hours they imply at the current redundancy and median handle time.

# %%
HTML(summary.paragraph(report.staffing))

# %%
plots.volume_forecast(report.volume_history, report.forecast)

# %%
HTML(summary.html_table(summary.forecast_view(report.forecast)))

# %% [markdown]
# ## Methods and provenance
#
# Final labels and annotator confusion matrices come from the aggregation model named below
# (Dawid & Skene 1979 by default), fitted on every judgment of the market and period with gold
# items clamped to their trusted answer. Accuracy vs gold pools each team's judgments on gold
# items, with Wilson (1927) score intervals. Item confidence and team accuracy with credible
# intervals come from the hierarchical Dawid-Skene model (Paun et al. 2018), fitted by EM.
# Trends and knowledge gaps are tested over the trends' history with one false-discovery
# adjustment across every test (Benjamini & Hochberg 1995); the forecast is exponential
# smoothing on log weekly volume. Annotator ids are pseudonymized when `pseudonymize` is on.

# %%
HTML(summary.html_table(report.provenance, max_rows=200))
