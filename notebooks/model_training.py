# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A model trained on the labeled content
#
# One market of the simulated operation: train a text classifier on the crowd's judgments
# (noise-aware, Raykar et al. 2010), add it to the consensus as one more weighted voice, rank
# what to label next, and build the LLM judge's decision-gap pack. Every accuracy is measured
# against held-out truth or gold, with a 95 % interval.

# %% tags=["parameters"]
scenario = "default"  # simulated scenario (its items have a text whose words hint at the class)
seed = 0
market = "DE"
text_signal = 0.3  # share of a text's words drawn from its class's word bank
test_share = 0.3  # items held out (their judgments dropped) to measure test accuracy
method = "raykar"  # training targets: raykar | soft | dawid-skene | majority
llm = "llm-judge"  # the model annotator whose decision gaps are shown

# %%
from insights import learning, synthetic

sim = synthetic.simulate(scenario, seed=seed, text_signal=text_signal)
ds = sim.dataset().subset(market=market)
train, test = learning.holdout(ds.labels, ds.items, sim.truth.true_labels, share=test_share,
                               seed=seed)
len(train), len(test)

# %% [markdown]
# ## Test accuracy by training method (held-out items, true class)

# %%
learning.compare_methods(ds.items, train, test, text_column="text",
                         methods=(method, "dawid-skene", "majority"))

# %% [markdown]
# ## Consensus with and without the model (against gold)

# %%
model = learning.CrowdClassifier(method=method, text_column="text").fit(ds.items, train)
consensus = learning.ModelCrowdConsensus(model_proba=model.oof_proba_).fit(train)
learning.consensus_accuracy(consensus, train,
                            ds.gold.set_index("item_id")["label"])

# %% [markdown]
# ## What to label next

# %%
learning.relabel_ranking_for(consensus, train).head(10)

# %% [markdown]
# ## The LLM judge's decision gaps

# %%
pack = learning.gap_pack(ds, llm)
pack.cells.head(8)

# %%
pack.examples.head(10)
