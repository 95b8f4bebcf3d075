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
gap_threshold = 0.15  # smallest confusion rate reported as a knowledge gap
gap_min_n = 20  # judgments of a class a team needs before a gap is reported
cost_per_label = 0.05  # cost of a judgment when the data has none
currency = "USD"
n_examples = 3  # example items per knowledge gap / disagreement
max_heatmaps = 6  # teams shown as confusion heatmaps
pseudonymize = True  # replace annotator ids by salted pseudonyms
pseudonym_salt = "insights-reports"
tables_dir = ""  # where the run writes the report's tables ("": not written)

# %%
from IPython.display import HTML  # noqa: E402

from insights import plots, summary  # noqa: E402

report = summary.build_report(
    market, data_source=data_source, scenario=scenario, seed=seed, data_dir=data_dir,
    since=since, until=until, weeks=weeks, label_set=label_set, method=method,
    accuracy_target=accuracy_target, min_gold=min_gold, gap_threshold=gap_threshold,
    gap_min_n=gap_min_n, cost_per_label=cost_per_label, currency=currency,
    n_examples=n_examples, pseudonymize_ids=pseudonymize, pseudonym_salt=pseudonym_salt,
    params=summary.notebook_params(globals()),
)
if tables_dir:
    summary.write_tables(report, tables_dir)
HTML(summary.report_header(report))

# %% [markdown]
# ## Headline findings
#
# Most important first; each links to its evidence.

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
# too few gold judgments are ranked by the model's estimate. *Rank best / worst* is the range of
# ranks the intervals allow. *Bias-corrected quality* is the accuracy a team's answers would have
# once systematic confusions are re-mapped; *kappa* is agreement with the consensus beyond chance.

# %%
plots.scorecard(report.scorecard, target=accuracy_target)

# %%
HTML(summary.html_table(summary.scorecard_view(report.scorecard, currency)))

# %% [markdown]
# ## Knowledge gaps
#
# Which team confuses which class for which. Rows are the reference class (the model's posterior,
# or gold where known), columns the label the team gave; each row sums to 100%.

# %%
plots.confusion_heatmaps(report.confusions, summary.heatmap_teams(report, max_heatmaps))

# %%
HTML(summary.html_table(report.gaps, caption="Confusions where a team stands out")
     + summary.html_table(report.gap_examples, caption="Example items"))

# %% [markdown]
# <!-- Later sections (issue 4 onwards): Trends, Confidence, Allocation. -->
#
# ## Model and LLM annotators
#
# Where the automated annotators disagree with the human consensus (majority of human
# judgments), with example items for the algorithm team.

# %%
plots.model_disagreement(report.disagreements)

# %%
HTML(summary.html_table(report.disagreements, caption="Disagreements with human consensus")
     + summary.html_table(report.disagreement_examples, caption="Example items"))

# %% [markdown]
# <!-- Later section: Forecast. -->
#
# ## Methods and provenance
#
# Final labels and annotator confusion matrices come from the aggregation model named below
# (Dawid & Skene 1979 by default), fitted on every judgment of the market and period with gold
# items clamped to their trusted answer. Accuracy vs gold pools each team's judgments on gold
# items, with Wilson (1927) score intervals. Annotator ids are pseudonymized when
# `pseudonymize` is on.

# %%
HTML(summary.html_table(report.provenance, max_rows=200))
