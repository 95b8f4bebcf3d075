# %% [markdown]
# # Allocation study
#
# Who should label what, and how many labels each item needs, for one market of the labeling
# operation: the labeler features, redundancy policies replayed on the market's own judgments
# and on the simulator (known truth), the cost-aware routing of a week of items with its
# quality-cost frontier, and the sample size an A/B test of a new policy needs. Every step
# calls `insights.allocation`; the numbers are measured against gold with intervals.

# %% tags=["parameters"]
market = "DE"  # market to study ("" : every row)
data_source = "simulated"  # "simulated": the built-in simulated operation; else a folder or labels file
scenario = "default"  # simulated scenario and seed (also the simulator replay)
seed = 0
policies = ["agree:2:3", "margin:2:5", "posterior:0.99:1:5", "posterior:auto:1:5"]
reference_k = 3  # the reference policy is fixed:reference_k Dawid-Skene
replay_seeds = 3  # stream orders replayed
sim_policies = ["margin:2:7", "posterior:auto:1:10", "posterior:auto:1:10:budget=3"]
sim_items = 3000  # simulated items, each with sim_per_item fresh judgments
sim_per_item = 10
redundancy = 3  # judgments per item in the routing
power_control = 0.9  # control accuracy for the A/B sample sizes

# %%
from IPython.display import display

from insights import data, synthetic
from insights.allocation import draw_judgments, labeler_features, replay
from insights.allocation.assignment import assign, frontier, plot_frontier, problem_from_log
from insights.allocation.experiments import power_table
from insights.allocation.replay import replay_log
from insights.report.build import resolve_data

ds = data.load(resolve_data(data_source, scenario=scenario, seed=seed), market=market or None)
print(f"{len(ds.labels):,} judgments on {ds.labels['item_id'].nunique():,} items")

# %% [markdown]
# ## Labeler features
# One row per annotator: gold and model-estimated accuracy with intervals, bias-corrected
# quality, agreement, handle time, throughput, tenure, recent trend, cost per correct judgment.

# %%
features = labeler_features(ds)
display(features.annotators.sort_values("cost_per_correct").head(15))

# %% [markdown]
# ## Redundancy policies on the market's judgments
# Items with at least `reference_k` judgments; each policy reads the same shuffled stream and is
# scored on gold against `fixed:reference_k` Dawid-Skene.

# %%
market_replay = replay_log(ds, policies, k=reference_k, seeds=replay_seeds, seed=seed)
display(market_replay.table)

# %% [markdown]
# ## The same policies on the simulator (known truth)
# Fresh judgments drawn from the annotators' true confusion matrices, so policies can read
# up to `sim_per_item` judgments per item; the reference is `fixed:5` Dawid-Skene.

# %%
sim = synthetic.simulate(scenario, seed=seed)
sim_labels, sim_truth = draw_judgments(sim, sim_per_item, n_items=sim_items, seed=seed)
display(replay(sim_labels, sim_truth, sim_policies, seeds=replay_seeds, seed=seed).table)

# %% [markdown]
# ## Routing a week of items: the quality-cost frontier

# %%
problem, recent = problem_from_log(ds, features=features.annotators.reset_index(),
                                   redundancy=redundancy)
front = frontier(problem, n_points=20)
cheapest = assign(problem, lam=0.0).summary
plot_frontier(front, chosen=cheapest)
display(front)

# %% [markdown]
# ## How many items an A/B test of a new policy needs

# %%
display(power_table(power_control, [0.01, 0.02, 0.03, 0.05]))
