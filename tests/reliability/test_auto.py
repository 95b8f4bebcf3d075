"""AutoAggregator: the rule that chooses the default model, and the must-shows of issue 12."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from insights.reliability import (
    RECOMMENDED,
    AutoAggregator,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    make_aggregator,
)
from insights.reliability.auto import EXPENSIVE, default_candidates
from tests.reliability.test_real_datasets import WITH_GOLD, expected_accuracy
from tests.shared import load_shared


def _simulate(n_items=400, n_ann=12, K=3, seed=0, biased=False):
    """Dawid-Skene data; ``biased``: half the annotators answer class 0 for every class-1
    item (full confusions needed)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, K, size=n_items)
    rows = []
    for i, t in enumerate(truth):
        for a in rng.choice(n_ann, size=5, replace=False):
            if biased and a < n_ann // 2 and t == 1:
                lab = 0
            else:
                lab = t if rng.random() < 0.8 else rng.integers(0, K)
            rows.append((f"i{i}", f"a{a}", f"c{lab}"))
    labels = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])
    gold = pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items)],
                         "label": [f"c{t}" for t in truth]})
    return labels, gold


def test_default_is_auto():
    assert RECOMMENDED == "auto"
    assert isinstance(make_aggregator(), AutoAggregator)


def test_heldout_rule_without_gold_and_its_reason():
    labels, gold = _simulate(biased=True)
    m = AutoAggregator().fit(labels)
    sel = m.selection_
    assert list(sel.index) == list(default_candidates())
    assert (sel["rule"] == "held-out log-likelihood").all()
    assert sel["chosen"].sum() == 1 and sel.index[sel["chosen"]][0] == m.chosen_
    assert m.chosen_ in m.reason_ and "held-out judgments" in m.reason_
    # class-biased annotators: a one-accuracy model cannot express them, and the held-out
    # likelihood sees it (the gap is many standard errors on 400 items x 5 judgments)
    assert m.chosen_ not in ("one-coin", "one-coin-prior")
    assert expected_accuracy(m.probas_, gold)[0] >= expected_accuracy(
        OneCoinDawidSkene().fit(labels).probas_, gold)[0]
    # it behaves like the chosen model
    pd.testing.assert_frame_equal(m.probas_, m.model_.probas_)
    assert m.confusions_.shape == (12, 3, 3)


def test_gold_rule_hides_folds_and_uses_accuracy():
    labels, gold = _simulate(seed=1)
    m = AutoAggregator(min_gold=50).fit(labels, gold.iloc[:100])
    sel = m.selection_
    assert (sel["rule"] == "gold accuracy").all()
    assert "gold items hidden from the fit" in m.reason_
    scores = sel["score"]
    assert scores.between(0, 1).all()
    # the chosen one is within one standard error of the best cross-fitted accuracy; the
    # candidates the gold cannot tell apart were compared on held-out judgments (and only
    # they), the chosen one by that rule
    tied = scores >= scores.max() - sel["se_vs_best"] - 1e-12
    assert tied[m.chosen_]
    assert sel["heldout_score"].notna().equals(tied) or tied.sum() == 1
    if tied.sum() > 1:
        assert "too close to call" in m.reason_ and "held-out judgments" in m.reason_
        ll = sel.loc[tied, "heldout_score"]
        # the best at predicting held-out judgments, or a simpler one (listed earlier)
        assert ll[m.chosen_] == ll.max() or (
            sel.index.get_loc(m.chosen_) < sel.index.get_loc(ll.idxmax()))
    # n_se = 0: the best cross-fitted accuracy alone (exact ties: the first listed)
    m0 = AutoAggregator(min_gold=50, n_se=0).fit(labels, gold.iloc[:100])
    s0 = m0.selection_["score"]
    assert s0.index.get_loc(m0.chosen_) == int(np.argmax(s0.to_numpy()))
    assert m0.selection_["heldout_score"].isna().all() or (
        m0.selection_["score"] == s0.max()).sum() > 1


def test_gold_rule_decides_alone_when_the_gold_is_clear():
    # class-biased annotators and 300 gold items: the one-accuracy models are many standard
    # errors behind on gold, so they are out before the held-out comparison
    labels, gold = _simulate(biased=True)
    m = AutoAggregator(min_gold=50).fit(labels, gold.iloc[:300])
    sel = m.selection_
    assert (sel["rule"] == "gold accuracy").all()
    assert m.chosen_ not in ("one-coin", "one-coin-prior")
    assert sel.loc[["one-coin", "one-coin-prior"], "heldout_score"].isna().all()


def test_fallback_on_a_tiny_log():
    labels = pd.DataFrame({"item_id": ["a", "a", "b", "b"], "annotator_id": ["u", "v"] * 2,
                           "label": ["x", "x", "y", "x"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = AutoAggregator().fit(labels)
    assert m.chosen_ == next(iter(default_candidates()))
    assert (m.selection_["rule"] == "fallback").all()
    assert "too few judgments" in m.reason_


def test_deterministic_and_cost_bounded():
    labels, _ = _simulate(seed=2)
    a = AutoAggregator(random_state=3).fit(labels)
    b = AutoAggregator(random_state=3).fit(labels)
    pd.testing.assert_frame_equal(a.probas_, b.probas_)
    assert a.reason_ == b.reason_
    # a large log is scored on a subset of items, and EBCC is left out above its size limit
    small = AutoAggregator(max_selection_judgments=500).fit(labels)
    assert "random subset of items" in small.reason_
    # EBCC is left out when judgments x classes^2 exceeds its limit (its cost grows with both)
    auto = AutoAggregator()
    limit = EXPENSIVE["ebcc"]
    assert "ebcc" in auto._candidates(limit // 4, 2)
    assert "ebcc" not in auto._candidates(limit // 4 + 1, 2)
    assert "ebcc" not in auto._candidates(limit // 16, 5)
    assert "dawid-skene" in auto._candidates(10**9, 5)


def _simulate_issue_logs(kind: str, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The two shapes of real log the issue found the old default losing on, planted.

    ``"correlated"``: a binary entity-linking-like log -- skewed classes (22 % positive), one
    item in five a "hard" sub-type on which every annotator gives the same wrong answer with
    probability 0.55 (correlated errors: the phi of two annotators' error indicators on an
    item is about 0.12; the issue measured 0.17-0.18), heavy-tailed workloads (Pareto: one
    annotator labels a quarter to a half of the items). ``"sparse"``: K = 10, 300 annotators
    with a median of ~15 judgments each, wrong answers drawn from one shared preference.
    """
    rng = np.random.default_rng(seed)
    if kind == "correlated":
        n, J, K, lo, hi = 4000, 80, 2, 3, 6
        truth = (rng.random(n) < 0.22).astype(int)
        hard = rng.random(n) < 0.2
        acc = rng.uniform(0.7, 0.95, J)
        load = rng.pareto(1.2, J) + 1
    else:
        n, J, K, lo, hi = 1500, 300, 10, 4, 5
        truth = rng.integers(0, K, n)
        hard = np.zeros(n, bool)
        acc = rng.beta(6, 2, J)
        load = rng.pareto(2.0, J) + 1
    wrong_pref = rng.dirichlet(np.ones(K))
    rows = []
    for i in range(n):
        for j in rng.choice(J, rng.integers(lo, hi), replace=False, p=load / load.sum()):
            if hard[i]:
                lab = 1 - truth[i] if rng.random() < 0.55 else truth[i]
            elif rng.random() < acc[j]:
                lab = truth[i]
            else:
                lab = (truth[i] + 1) % K if K == 2 else rng.choice(K, p=wrong_pref)
            rows.append((i, j, lab))
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"]), truth


def _planted_accuracy(model, labels, truth, gold=None) -> float:
    """Accuracy of ``model`` fitted on ``labels`` (and ``gold``) on the items without gold."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(labels, gold)
    items = np.arange(len(truth))
    if gold is not None:
        items = np.setdiff1d(items, gold["item_id"])
    return float(np.mean(model.labels_.reindex(items).to_numpy().astype(int) == truth[items]))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["correlated", "sparse"])
def test_planted_logs_of_the_issue(kind):
    """Ten planted logs of each shape the issue was filed from (no gold): on average the
    default gains at least 0.5 points over majority vote and over the old default,
    Dawid-Skene; on the sparse shape it is at least majority vote on every log and within
    0.5 points of the best of its candidates. (On the correlated shape the truth of a hard
    item is not identifiable from its judgments, and on single logs the held-out likelihood
    can prefer EBCC's sub-type fit, whose labels are worse there: that is why this shape is
    asserted on average.)"""
    gains_mv, gains_ds = [], []
    for seed in range(10):
        labels, truth = _simulate_issue_logs(kind, seed)
        auto = AutoAggregator()
        acc = _planted_accuracy(auto, labels, truth)
        mv = _planted_accuracy(MajorityVote(), labels, truth)
        gains_mv.append(acc - mv)
        gains_ds.append(acc - _planted_accuracy(DawidSkene(), labels, truth))
        if kind == "sparse":
            best = max(_planted_accuracy(est, labels, truth)
                       for name, est in default_candidates().items()
                       if name in auto._candidates(len(labels), 10))
            assert acc >= mv and acc >= best - 0.005, (seed, auto.chosen_)
    assert np.mean(gains_mv) >= 0.005, gains_mv
    assert np.mean(gains_ds) >= 0.005, gains_ds


def _simulate_skewed_gold(seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """A three-class log (class mix 60/30/10 %, 15 % hard items that annotators get wrong
    together, heavy-tailed workloads) with 300 gold items drawn the way audits draw them:
    hard items 5 times and the rare class 4 times as likely as the rest."""
    rng = np.random.default_rng(seed)
    n, J, K = 20_000, 150, 3
    truth = rng.choice(K, n, p=[0.6, 0.3, 0.1])
    hard = rng.random(n) < 0.15
    shared_wrong = (truth + 1 + rng.integers(0, K - 1, n)) % K
    acc = rng.uniform(0.65, 0.95, J)
    load = rng.pareto(1.5, J) + 1
    per_item = rng.integers(3, 8, n)
    item = np.repeat(np.arange(n), per_item)
    ann = np.concatenate([rng.choice(J, m, replace=False, p=load / load.sum())
                          for m in per_item])
    u = rng.random(len(item))
    t = truth[item]
    lab = np.where(hard[item], np.where(u < 0.45, shared_wrong[item], t),
                   np.where(u < acc[ann], t, (t + 1 + rng.integers(0, K - 1, len(item))) % K))
    labels = pd.DataFrame({"item_id": item, "annotator_id": ann, "label": lab})
    p = np.where(hard, 5.0, 1.0) * np.where(truth == 2, 4.0, 1.0)
    gold_items = np.random.default_rng(100 + seed).choice(n, 300, replace=False, p=p / p.sum())
    return labels, truth, pd.DataFrame({"item_id": gold_items, "label": truth[gold_items]})


def test_gold_rule_weighted_to_the_logs_class_mix():
    """Gold over-representing the rare class (34 % vs 10 %) and hard items: with
    ``weight_gold`` the gold rule stays above majority vote on every planted log; unweighted
    (the default), on seed 2 it prefers one-coin without a class prior (best on the rare
    class) and lands below majority vote on the log (the shape of the issue's fact-checking
    log)."""
    for seed in range(6):
        labels, truth, gold = _simulate_skewed_gold(seed)
        auto = AutoAggregator(weight_gold=True)
        acc = _planted_accuracy(auto, labels, truth, gold)
        mv = _planted_accuracy(MajorityVote(), labels, truth, gold)
        assert acc >= mv, (seed, auto.chosen_)
        # the log's class mix is estimated from the items without gold, not from the gold
        true_mix = np.bincount(truth, minlength=3) / len(truth)
        np.testing.assert_allclose(auto.gold_mix_["log_estimate"], true_mix, atol=0.03)
        assert auto.gold_mix_["gold"].iloc[2] > 0.25
        if seed == 2:
            assert "weighted to the log's class mix" in auto.reason_
            unweighted = AutoAggregator()
            assert _planted_accuracy(unweighted, labels, truth, gold) < mv - 0.005
            assert "class mix" not in unweighted.reason_


def test_custom_candidates_and_bad_candidate():
    labels, _ = _simulate(seed=4)
    m = AutoAggregator(candidates={"ds": DawidSkene(), "oc": OneCoinDawidSkene()}).fit(labels)
    assert set(m.selection_.index) == {"ds", "oc"}
    with pytest.raises(TypeError, match="confusions_"):
        AutoAggregator(candidates={"mv": MajorityVote(), "ds": DawidSkene()}).fit(labels)


# ---- must-shows on the shared real datasets (skipped when absent) --------------------------
# The authors' EBCC code with their protocol (40 seeds, best ELBO), as measured in
# ../shared/peers/ebcc/README.md, accuracy (%) on all gold items.
EBCC_REFERENCE = {"bluebirds": 86.11, "cf_weather": 88.33, "face4": 63.36,
                  "rodrigues_sentiment": 91.52, "snow_rte": 93.12, "snow_temp": 94.16,
                  "snow_wsd": 99.44, "sp_amt": 94.20, "vldb_d_possent": 96.10,
                  "vldb_d_product": 93.49, "zhou_dog": 84.01, "hitspam_crowdflower": 66.00}


def _fit(labels, gold=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AutoAggregator().fit(labels, gold)


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_GOLD)
def test_default_without_gold_vs_majority_vote_and_ebcc(name):
    """No gold given: at most 0.5 points below majority vote (the issue's bar) and at most
    1 point below the authors' EBCC."""
    labels, gold = load_shared(name)
    acc = expected_accuracy(_fit(labels).probas_, gold)[0]
    mv = expected_accuracy(MajorityVote().fit(labels).probas_, gold)[0]
    assert acc >= mv - 0.005
    if name in EBCC_REFERENCE:
        assert 100 * acc >= EBCC_REFERENCE[name] - 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", WITH_GOLD)
def test_default_with_a_tenth_of_gold(name):
    """10 % of the gold items given (seed 0), scored on the other 90 %: within 0.5 points of
    the authors' EBCC (which takes no gold; its number is on all gold items, so this compares
    a 90 % subsample with the whole: on 100+ items that moves an accuracy by well under the
    0.5 points allowed only where the two subsets differ in difficulty) and never below
    majority vote on the same items."""
    labels, gold = load_shared(name)
    given = gold.sample(frac=0.1, random_state=0)
    rest = gold[~gold["item_id"].isin(given["item_id"])]
    acc = expected_accuracy(_fit(labels, given).probas_, rest)[0]
    mv = expected_accuracy(MajorityVote().fit(labels).probas_, rest)[0]
    assert acc >= mv - 0.005
    if name in EBCC_REFERENCE:
        assert 100 * acc >= EBCC_REFERENCE[name] - 0.5
