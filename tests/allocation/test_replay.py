"""Policy replay: common random numbers, the paired statistics, no leak in the cross-fitted
skills, and the must-show savings on real logs and on the simulator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.allocation.policies import parse_policy
from insights.allocation.replay import REPLAY_COLUMNS, _skills, replay
from insights.allocation.simulation import draw_judgments
from insights.cli import main
from insights.data import encode
from tests.shared import load_shared

#: The policy the README's table reports: posterior-threshold dynamic overlap with
#: cross-fitted Dawid-Skene skills, its threshold set per fold to spend at most 3 judgments per
#: item on the other folds (no gold involved in the choice).
HEADLINE = "posterior:auto:1:10:budget=3"


@pytest.fixture(scope="module")
def small(sim):
    labels, truth = draw_judgments(sim, 10, n_items=600, seed=1)
    return labels, truth


def test_same_policy_twice_gives_identical_rows(small):
    labels, truth = small
    r = replay(labels, truth, ["fixed:5", "margin:2:7", "margin:2:7"], seeds=2, n_boot=200)
    t = r.table
    assert list(t.columns) == REPLAY_COLUMNS
    assert t.loc[1, "accuracy_diff"] == 0 and t.loc[1, "labels_saved"] == 0   # CRN: same stream
    assert t.loc[2, "accuracy"] == t.loc[3, "accuracy"]
    assert (r.used[:, 0] == np.minimum(5, 10)).all()                           # fixed:5 reads 5
    for col in ("accuracy", "accuracy_diff", "labels_saved"):
        assert (t[f"{col}_low"] <= t[col] + 1e-9).all() and (t[col] <= t[f"{col}_high"] + 1e-9).all()
    assert t["mcnemar_p"].between(0, 1).all()


def test_reproducible(small):
    labels, truth = small
    a = replay(labels, truth, ["agree:2:3", "kg:3"], seeds=2, n_boot=100, seed=7).table
    b = replay(labels, truth, ["agree:2:3", "kg:3"], seeds=2, n_boot=100, seed=7).table
    pd.testing.assert_frame_equal(a, b)


def test_knowledge_gradient_spends_its_budget(small):
    labels, truth = small
    r = replay(labels, truth, ["kg:2.5"], seeds=1, n_boot=50)
    # every item has 10 judgments, so the budget (2.5 per item) is spent exactly
    assert r.used[0, 1].sum() == round(2.5 * r.used.shape[2])


def test_crossfit_skills_never_see_the_fold(small):
    labels, _ = small
    enc = encode(labels)
    folds = np.random.default_rng(0).permutation(enc.n_items) % 4
    pol = parse_policy("posterior:0.99")
    before = _skills(enc, pol, folds, 4, None, {})[0][0]
    # scramble every label of the fold-0 items: fold 0's skills must not move
    lab = labels.copy()
    in0 = np.isin(lab["item_id"].to_numpy(), enc.item_ids[folds == 0])
    rng = np.random.default_rng(1)
    lab.loc[in0, "label"] = rng.permutation(lab.loc[in0, "label"].to_numpy())
    enc2 = encode(lab, classes=enc.classes)
    assert (enc2.item_ids == enc.item_ids).all()
    after = _skills(enc2, pol, folds, 4, None, {})[0]
    np.testing.assert_allclose(after[0], before)
    assert not np.allclose(after[1], before)       # ... while the others' skills do


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sp_amt", "vldb_d_possent", "snow_rte", "snow_temp"])
def test_headline_policy_saves_40_percent_at_fixed5_ds_accuracy(name):
    labels, gold = load_shared(name)
    t = replay(labels, gold, [HEADLINE], seeds=10).table.set_index("policy")
    row = t.loc[parse_policy(HEADLINE).spec]
    assert row["accuracy_diff"] >= 0
    assert row["labels_saved"] >= 40
    assert row["labels_saved_low"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_headline_policy_on_the_simulator_with_truth(seed):
    from insights import synthetic

    sim = synthetic.simulate("default", seed=seed)
    labels, truth = draw_judgments(sim, 10, n_items=3000, seed=seed)
    t = replay(labels, truth, [HEADLINE, "margin:2:7"], seeds=3).table
    row = t.iloc[1]
    assert row["accuracy_diff"] >= 0 and row["labels_saved"] >= 40
    assert row["labels_saved_low"] > 0
    # the models beat the plain margin rule at a lower cost
    assert row["accuracy"] > t.iloc[2]["accuracy"]
    assert row["labels_per_item"] < t.iloc[2]["labels_per_item"]


def test_cli_policies_on_the_simulator(tmp_path):
    out = tmp_path / "policies.csv"
    assert main(["policies", "--scenario", "default", "--n-items", "400", "--per-item", "8",
                 "--seeds", "2", "--policies", "agree:2:3,posterior:0.99", "--out",
                 str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == REPLAY_COLUMNS and len(table) == 3


def test_cli_policies_needs_gold(tmp_path, sim):
    sim.labels.head(200).to_csv(tmp_path / "labels.csv", index=False)
    assert main(["policies", str(tmp_path / "labels.csv"), "--out",
                 str(tmp_path / "p.csv")]) == 1


def test_assisted_policy_uses_the_classifier_prior(small):
    labels, truth = small
    classes = sorted(labels["label"].unique())
    # a good classifier: 0.9 on the true class, the rest spread evenly
    k = len(classes)
    prob = np.full((len(truth), k), 0.1 / (k - 1))
    prob[np.arange(len(truth)), pd.Index(classes).get_indexer(truth["label"])] = 0.9
    priors = pd.DataFrame(prob, index=truth["item_id"], columns=classes)
    r = replay(labels, truth, ["posterior:0.99:1:10", "assisted:0.99:0:10"], seeds=2,
               item_priors=priors, n_boot=100)
    post, assisted = r.table.iloc[1], r.table.iloc[2]
    # an informative prior needs fewer judgments to reach the same posterior threshold
    assert assisted["labels_per_item"] < post["labels_per_item"]
    assert assisted["accuracy"] >= post["accuracy"] - 0.5
    with pytest.raises(ValueError, match="item_priors"):
        replay(labels, truth, ["assisted:0.99"], seeds=1, n_boot=10)
