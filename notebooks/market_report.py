# %% [markdown]
# # Labeling quality report
#
# One market of the labeling operation over one period. Findings come first, in plain words;
# the evidence follows in the sections they link to. Rendered by `insights report` from
# `notebooks/market_report.ipynb` with the parameters in `params/` (every parameter is a field
# of `insights.report.params.ReportParams`).

# %% tags=["parameters"]
market = "DE"  # market name ("" : every row of a log without a market column)
data_source = "simulated"  # "simulated": the built-in simulated operation; else a folder or labels file
scenario = "default"  # simulated scenario and seed
seed = 0
data_dir = ""  # where the simulated data is generated once ("": <project>/data)
columns = {}  # contract column -> your column, e.g. {"item_id": "item"}
repeats = "keep"  # an annotator judging an item twice: keep | last | first | error
encoding = "utf-8"
date_format = ""  # "": ISO 8601 timestamps
label_set = []  # declared label set ([]: the labels found in the data)
since = ""  # period start, inclusive ("": the last `weeks` complete weeks)
until = ""  # period end, exclusive
weeks = 8
trend_weeks = 12  # weeks of history for trends, gaps and the forecast
method = "auto"  # aggregation model ("auto": chosen from the data, see the Methods section)
accuracy_target = 0.9  # teams whose whole interval is below it are flagged
min_gold = 30  # gold judgments a team needs to be ranked on gold
alpha = 0.05  # false discovery rate across every test of the run
fdr_method = "bh"  # "bh" (Benjamini-Hochberg) or "by" (Benjamini-Yekutieli)
gap_min_n = 20.0  # judgments of a class a team (and the rest) need before a gap is tested
horizon = 4  # weeks forecast
cost_per_label = None  # None: costs only from the data (no invented costs)
currency = "USD"
n_examples = 3  # example items per knowledge gap / disagreement
n_review = 20  # items on the re-review list
max_heatmaps = 6  # teams shown as confusion heatmaps
pseudonymize = True  # keyed pseudonyms instead of annotator ids
pseudonym_key_file = ""  # "": INSIGHTS_PSEUDONYM_KEY or the default key file
tables_dir = ""  # where the run writes the tables ("": not written)
ops_event = ""  # BPO operations: date of a policy change to measure ("": none)
ops_event_name = ""  # its name in the report
allocation_policies = ["agree:2:3", "margin:2:5", "posterior:0.99:1:5", "posterior:auto:1:5"]  # redundancy policies replayed
allocation_reference_k = 3  # the reference policy: fixed-k judgments per item
allocation_seeds = 3  # shuffled stream orders per replay
allocation_redundancy = 3  # judgments per item when routing the pending items

# %%
from IPython.display import HTML  # noqa: E402

from insights.report.build import build_report, write_tables  # noqa: E402
from insights.report.html import glossary_html, show  # noqa: E402
from insights.report.params import ReportParams  # noqa: E402

params = ReportParams.from_namespace(globals())
report = build_report(params)
write_tables(report)
HTML(report.header_html())

# %% [markdown]
# ## Headline findings
#
# Most important first; each links to its evidence. Changes over time and knowledge gaps are
# listed only when significant after false-discovery control (see Trends).

# %%
HTML(report.findings_html())

# %% [markdown]
# ## Scale and quality at a glance

# %%
show(report.sections["scale"])

# %% [markdown]
# ## Vendor team scorecard
#
# Teams ranked by accuracy on gold (hidden test items), with 95% Wilson intervals; teams with
# too few gold judgments are ranked by the model's estimate. The model-estimated accuracy
# comes from the hierarchical model (annotators pooled within team and market) with its 95%
# credible interval. Rank (range): the rank and, when the intervals overlap, the ranks they allow. Model and LLM
# annotators are scored in their own section.

# %%
show(report.sections["scorecard"])

# %% [markdown]
# ## Knowledge gaps
#
# A knowledge gap is a team that labels a class as another class more often than the rest of
# its market's pool, significant after false-discovery control across everything tested (see
# Trends); tested over the trends' history. The heatmaps show each team's confusions in the
# period: rows are the reference class (the model's posterior, or gold where known), columns
# the label the team gave; each row sums to 100%.

# %%
show(report.sections["gaps"])

# %% [markdown]
# ## Trends
#
# Weekly series per market, queue and team over the trends' history: rates (accuracy on gold,
# model-estimated accuracy, agreement, label shares) tested against week-to-week variation,
# volumes, handle times and costs with Mann-Kendall; changes located in time.

# %%
show(report.sections["trends"])

# %% [markdown]
# ## Confidence
#
# How far each final label can be trusted. The hierarchical model gives every item a
# confidence; below, each model's confidence on gold items (computed without the gold answer)
# is compared with how often it is right, and the least confident items are listed for
# re-review.

# %%
show(report.sections["confidence"])

# %% [markdown]
# ## Allocation
#
# How many judgments each item needs and who should label what: redundancy policies replayed on
# this market's own judgments (each policy reads the same shuffled judgments and is scored
# against gold it never sees), the recommended policy with its savings at equal quality, and
# the quality-cost frontier of routing.

# %%
show(report.sections["allocation"])

# %% [markdown]
# ## Model and LLM annotators
#
# The automated annotators' own scores, and where they disagree with the human consensus (the
# model's posterior given the human judgments only), with example items for the algorithm team.

# %%
show(report.sections["model"])

# %% [markdown]
# ## Forecast
#
# Items per queue for the next weeks, from each queue's weekly history, and the annotator
# hours they imply at the current redundancy and median handle time.

# %%
show(report.sections["forecast"])

# %% [markdown]
# ## BPO operations
#
# Calibration sessions, arbitration outcomes and the arbitration queue, confusions that are
# systemic (a policy to clarify) or specific to one team (a knowledge gap), new teams' ramp-up,
# and the measured impact of a policy change.

# %%
show(report.sections["operations"])

# %% [markdown]
# ## Methods and provenance

# %%
show(report.sections["methods"])

# %% [markdown]
# ## Glossary

# %%
HTML(glossary_html())
