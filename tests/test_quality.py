"""Tests for insights.quality: hand-built confusions/posteriors first, then simulated truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from insights.agreement import fleiss_kappa, krippendorff_alpha
from insights.data import encode
from insights.quality import (
    annotator_confusions,
    annotator_quality,
    bias_corrected_quality,
    model_disagreements,
    pool_agreement,
    rollup,
)
from insights.stats import wilson_interval


# ---------------------------------------------------------------------------- Ipeirotis
@pytest.mark.parametrize("priors", [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])
def test_quality_spammer_zero_perfect_and_inverted_one(priors):
    priors = np.array(priors)
    priors = priors[priors > 0] if priors[-1] == 0 else priors
    k = len(priors)
    perfect = np.eye(k)
    inverted = np.eye(k)[::-1]                     # always says the "opposite" class
    rotated = np.roll(np.eye(k), 1, axis=1)         # a permutation: still fully informative
    # spammers: every row the same, whatever the label distribution they use
    uniform = np.full((k, k), 1.0 / k)
    always_first = np.zeros((k, k))
    always_first[:, 0] = 1.0
    skewed = np.tile(np.linspace(1, 2, k) / np.linspace(1, 2, k).sum(), (k, 1))
    q = bias_corrected_quality(np.stack([perfect, inverted, rotated, uniform, always_first,
                                         skewed]), priors)
    np.testing.assert_allclose(q[:3], 1.0, atol=1e-12)
    np.testing.assert_allclose(q[3:], 0.0, atol=1e-12)


def test_quality_hand_computed_binary():
    # symmetric binary annotator with accuracy a and equal priors: the soft label of either
    # answer is (a, 1 - a); its 0/1 expected cost is 2a(1-a); the spammer's is 1/2; so
    # q = 1 - 4a(1-a) = (2a - 1)^2.
    for a in (0.55, 0.8, 0.95):
        conf = np.array([[a, 1 - a], [1 - a, a]])
        assert bias_corrected_quality(conf, [0.5, 0.5]) == pytest.approx((2 * a - 1) ** 2)


def test_quality_hand_computed_asymmetric_with_costs():
    # priors (0.8, 0.2); annotator: class 0 -> always 0; class 1 -> 0 half the time.
    # P(say 0) = 0.8 + 0.1 = 0.9, soft(0) = (8/9, 1/9); P(say 1) = 0.1, soft(1) = (0, 1).
    # costs: missing a 1 costs 5, a false alarm costs 1.
    # cost(soft(0)) = (8/9)(1/9)(1 + 5) = 48/81; expected = 0.9 * 48/81 = 0.5333...
    # spammer: 0.8 * 0.2 * 6 = 0.96  ->  q = 1 - (0.9 * 48 / 81) / 0.96
    conf = np.array([[1.0, 0.0], [0.5, 0.5]])
    costs = np.array([[0.0, 1.0], [5.0, 0.0]])
    expected = 1 - (0.9 * 48 / 81) / 0.96
    assert bias_corrected_quality(conf, [0.8, 0.2], costs) == pytest.approx(expected, abs=1e-12)


def test_quality_is_bias_corrected_where_accuracy_is_not():
    # a biased-but-informative annotator (always swaps two classes) has accuracy 0 yet full
    # quality; a spammer saying the majority class has high accuracy yet quality 0.
    priors = np.array([0.9, 0.1])
    swap = np.array([[0.0, 1.0], [1.0, 0.0]])
    majority = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert bias_corrected_quality(swap, priors) == pytest.approx(1.0)
    assert bias_corrected_quality(majority, priors) == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------------------- fixture
@pytest.fixture
def tiny():
    """4 items, 3 annotators (one a model), classes a/b, gold on i1 and i2."""
    labels = pd.DataFrame({
        "item_id": ["i1", "i1", "i1", "i2", "i2", "i2", "i3", "i3", "i4", "i4"],
        "annotator_id": ["h1", "h2", "m", "h1", "h2", "m", "h1", "m", "h2", "m"],
        "label": ["a", "a", "b", "b", "a", "b", "a", "a", "b", "a"],
    })
    gold = pd.DataFrame({"item_id": ["i1", "i2"], "label": ["a", "b"]})
    enc = encode(labels, gold=gold)
    # hand-set posteriors over (a, b) for i1..i4
    post = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    ann = pd.DataFrame({"team": ["T1", "T2", "bots"], "market": ["SG", "SG", "SG"],
                        "kind": ["human", "human", "model"]},
                       index=pd.Index(["h1", "h2", "m"], name="annotator_id"))
    return labels, gold, enc, post, ann


def test_annotator_quality_counts_gold_and_wilson(tiny):
    labels, gold, enc, post, ann = tiny
    q = annotator_quality(enc, post, annotators=ann)
    assert list(q.index) == ["h1", "h2", "m"]
    assert q.loc["h1", "team"] == "T1" and q.loc["m", "kind"] == "model"
    assert q["n_labels"].tolist() == [3, 3, 4]
    assert q["n_gold"].tolist() == [2, 2, 2]
    # gold i1=a, i2=b: h1 says a, b (2/2); h2 says a, a (1/2); m says b, b (1/2)
    assert q["gold_correct"].tolist() == [2, 1, 1]
    lo, hi = wilson_interval([2, 1, 1], [2, 2, 2])
    np.testing.assert_allclose(q["accuracy_gold_lo"], lo)
    np.testing.assert_allclose(q["accuracy_gold_hi"], hi)


def test_estimated_accuracy_from_posteriors_and_from_confusions(tiny):
    _, _, enc, post, ann = tiny
    q = annotator_quality(enc, post, annotators=ann)
    # without confusions: mean posterior of the given label
    # h1: i1 a .9, i2 b .8, i3 a .6 ; h2: i1 a .9, i2 a .2, i4 b .7 ; m: .1, .8, .6, .3
    np.testing.assert_allclose(q["estimated_accuracy"],
                               [(0.9 + 0.8 + 0.6) / 3, (0.9 + 0.2 + 0.7) / 3,
                                (0.1 + 0.8 + 0.6 + 0.3) / 4])
    conf = np.array([[[0.9, 0.1], [0.2, 0.8]],
                     [[0.5, 0.5], [0.5, 0.5]],
                     [[0.0, 1.0], [1.0, 0.0]]])
    priors = np.array([0.25, 0.75])
    q2 = annotator_quality(enc, post, annotators=ann, confusions=conf, priors=priors)
    np.testing.assert_allclose(q2["estimated_accuracy"],
                               [0.25 * 0.9 + 0.75 * 0.8, 0.5, 0.0])
    np.testing.assert_allclose(q2["quality"][1:], [0.0, 1.0], atol=1e-12)
    assert 0 < q2.loc["h1", "quality"] < 1


def test_annotator_confusions_are_expected_counts(tiny):
    _, _, enc, post, _ = tiny
    counts = annotator_confusions(enc, post, normalize=False)
    expected = np.zeros((enc.n_annotators, 2, 2))
    for i, j, lab in zip(enc.item, enc.annotator, enc.label, strict=True):
        expected[j, :, lab] += post[i]
    np.testing.assert_allclose(counts, expected)
    conf = annotator_confusions(enc, post)
    np.testing.assert_allclose(conf.sum(axis=2), 1.0)


def test_agreement_is_kappa_with_posterior_argmax(tiny):
    labels, _, enc, post, ann = tiny
    q = annotator_quality(enc, post, annotators=ann)
    consensus = np.array(["a", "b", "a", "b"])[enc.item]
    given = enc.classes[enc.label]
    for code, aid in enumerate(enc.annotator_ids):
        m = enc.annotator == code
        want = cohen_kappa_score(given[m], consensus[m])
        assert q.loc[aid, "agreement"] == pytest.approx(want, abs=1e-12)
        assert q.loc[aid, "agreement_rate"] == pytest.approx(np.mean(given[m] == consensus[m]))


def test_dataframe_posteriors_are_reindexed_and_estimator_accepted(tiny):
    _, _, enc, post, ann = tiny
    frame = pd.DataFrame(post, index=enc.item_ids, columns=enc.classes).iloc[[3, 1, 0, 2]]
    frame = frame[["b", "a"]]                       # column order must not matter either
    a = annotator_quality(enc, post, annotators=ann)
    b = annotator_quality(enc, frame, annotators=ann)
    pd.testing.assert_frame_equal(a, b)

    class Fitted:                                   # duck-typed fitted estimator
        probas_ = frame
        confusions_ = np.array([np.eye(2), np.full((2, 2), 0.5), np.eye(2)[::-1]])[[2, 0, 1]]
        priors_ = pd.Series([0.4, 0.6], index=["a", "b"])
        annotator_ids_ = np.array(["m", "h1", "h2"], dtype=object)

    c = annotator_quality(enc, Fitted(), annotators=ann)
    np.testing.assert_allclose(c["quality"], [1.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(c["estimated_accuracy"], [1.0, 0.5, 0.0])
    with pytest.raises(ValueError, match="no row for item"):
        annotator_quality(enc, frame.iloc[:2], annotators=ann)


def test_defaults_without_annotator_table(tiny):
    _, _, enc, post, _ = tiny
    q = annotator_quality(enc, post)
    assert (q["kind"] == "human").all() and q["team"].isna().all()


# ---------------------------------------------------------------------------- roll-ups
def test_rollup_pools_gold_and_weights_by_judgments():
    q = pd.DataFrame({
        "team": ["A", "A", "A", "B"], "market": ["SG", "SG", "MY", "MY"],
        "n_labels": [100, 300, 100, 50], "n_gold": [10, 20, 0, 5],
        "gold_correct": [9, 15, 0, 5],
        "estimated_accuracy": [0.9, 0.7, 0.8, 0.95], "quality": [0.8, 0.4, 0.6, 0.9],
        "agreement": [0.7, 0.5, np.nan, 0.9],
    }, index=pd.Index(["x", "y", "z", "w"], name="annotator_id"))
    r = rollup(q, by="team")
    assert list(r.index) == ["B", "A"]              # best quality first
    a = r.loc["A"]
    assert a["judgments"] == 500 and a["annotators"] == 3
    assert a["n_gold"] == 30 and a["gold_correct"] == 24
    lo, hi = wilson_interval(24, 30)
    assert a["accuracy_gold"] == pytest.approx(0.8)
    assert (a["accuracy_gold_lo"], a["accuracy_gold_hi"]) == pytest.approx((float(lo), float(hi)))
    assert a["quality"] == pytest.approx((80 + 120 + 60) / 500)
    assert a["agreement"] == pytest.approx((70 + 150) / 400)   # nan kappa left out
    assert a["quality_lo"] <= a["quality"] <= a["quality_hi"]
    # bootstrap bounds cannot leave the range of the annotators' values
    assert 0.4 <= a["quality_lo"] and a["quality_hi"] <= 0.8
    b = r.loc["B"]                                  # one annotator: zero-width interval
    assert b["quality_lo"] == b["quality_hi"] == 0.9
    # deterministic, and the market roll-up works the same way
    pd.testing.assert_frame_equal(r, rollup(q, by="team"))
    m = rollup(q, by="market")
    assert set(m.index) == {"SG", "MY"} and m["judgments"].sum() == 550
    both = rollup(q, by=["market", "team"])
    assert len(both) == 3
    with pytest.raises(ValueError, match="no column"):
        rollup(q, by="vendor")


def test_pool_agreement_matches_agreement_module(tiny):
    labels, _, enc, _, _ = tiny
    s = pool_agreement(enc)
    assert s["fleiss_kappa"] == pytest.approx(fleiss_kappa(enc.item_counts.toarray()))
    assert s["krippendorff_alpha"] == pytest.approx(krippendorff_alpha(labels))
    assert s["n_items"] == 4 and s["n_judgments"] == 10


# ---------------------------------------------------------------------------- model vs humans
def test_model_disagreements_majority_vote(tiny):
    _, _, enc, _, ann = tiny
    d = model_disagreements(enc, None, ann)
    # human MV: i1 a (2/2), i2 tie a/b -> a (first class, 1/2), i3 a (1/1), i4 b (1/1)
    # model: i1 b, i2 b, i3 a, i4 a  -> disagreements on i1 (1.0), i4 (1.0), i2 (0.5)
    assert d["item_id"].tolist() == ["i1", "i4", "i2"]   # ties broken by n_human_labels
    assert d["consensus_confidence"].tolist() == [1.0, 1.0, 0.5]
    assert d["n_human_labels"].tolist() == [2, 1, 2]
    assert d["model_label"].tolist() == ["b", "a", "b"]
    assert d["gold"].iloc[[0, 2]].tolist() == ["a", "b"] and pd.isna(d["gold"].iloc[1])
    assert (d["model_annotator"] == "m").all()


def test_model_disagreements_ignore_model_votes_in_consensus(tiny):
    _, _, enc, post, ann = tiny
    # confusions: humans accurate (0.9), the model perfectly inverted; if its votes entered
    # the consensus they would dominate every item.
    conf = np.array([[[0.9, 0.1], [0.1, 0.9]],
                     [[0.9, 0.1], [0.1, 0.9]],
                     [[0.0, 1.0], [1.0, 0.0]]])
    d = model_disagreements(enc, post, ann, confusions=conf, priors=[0.5, 0.5])
    by_item = d.set_index("item_id")
    # i1: two human 'a' -> P(a) = .81 / (.81 + .01); i3: one human 'a' -> 0.9; i4: 'b' -> 0.9
    assert by_item.loc["i1", "consensus_confidence"] == pytest.approx(0.81 / 0.82)
    assert by_item.loc["i4", "consensus_confidence"] == pytest.approx(0.9)
    assert "i3" not in by_item.index                   # human and model both say 'a'
    # i2: one human each way -> 0.5/0.5, tie to the first class 'a'; the model says 'b'
    assert by_item.loc["i2", "consensus_label"] == "a"
    assert by_item.loc["i2", "consensus_confidence"] == pytest.approx(0.5)
    assert d["consensus_confidence"].is_monotonic_decreasing
    assert model_disagreements(enc, post, ann, confusions=conf, top=1).shape[0] == 1
    # no model annotators -> empty table with the documented columns
    empty = model_disagreements(enc, post, ann.assign(kind="human"))
    assert empty.empty and "consensus_confidence" in empty.columns


def test_estimator_confusions_are_aligned_by_class_and_annotator(tiny):
    # an estimator that keeps its classes in another order ('b', 'a') and its annotators in
    # another order: quality and estimated accuracy must follow the names, not the positions
    _, _, enc, post, ann = tiny

    class Fitted:
        classes_ = np.array(["b", "a"], dtype=object)
        probas_ = pd.DataFrame(post[:, ::-1], index=enc.item_ids, columns=["b", "a"])
        # h1: says 'a' for a, 'b' for b 90%; in (b, a) order rows/cols are swapped
        confusions_ = np.array([
            [[0.5, 0.5], [0.5, 0.5]],            # h2: spammer
            [[0.9, 0.1], [0.3, 0.7]],            # h1: P(b|b)=.9, P(a|a)=.7
            [[0.0, 1.0], [1.0, 0.0]],            # m: inverted
        ])
        priors_ = np.array([0.6, 0.4])           # (b, a)
        annotator_ids_ = np.array(["h2", "h1", "m"], dtype=object)

    q = annotator_quality(enc, Fitted(), annotators=ann)
    assert q.loc["h1", "estimated_accuracy"] == pytest.approx(0.4 * 0.7 + 0.6 * 0.9)
    assert q.loc["h2", "quality"] == pytest.approx(0.0, abs=1e-12)
    assert q.loc["m", "quality"] == pytest.approx(1.0)
    same = bias_corrected_quality(np.array([[0.7, 0.3], [0.1, 0.9]]), [0.4, 0.6])
    assert q.loc["h1", "quality"] == pytest.approx(same)


# ---------------------------------------------------------------------------- simulated truth
def _true_quality(conf: np.ndarray, priors: np.ndarray) -> np.ndarray:
    return bias_corrected_quality(conf, priors)


def test_quality_recovers_truth_on_numpy_simulation():
    """Self-contained: data drawn from known confusions; posteriors by exact Bayes with the
    true parameters; quality from the *expected* confusions (no model confusions passed)."""
    rng = np.random.default_rng(11)
    k, n_items, n_ann, per_item = 3, 6000, 40, 5
    priors = np.array([0.6, 0.3, 0.1])
    conf = []
    kinds = []
    for j in range(n_ann):
        if j < 6:                                 # spammers: identical rows
            row = rng.dirichlet(np.ones(k) * 2)
            conf.append(np.tile(row, (k, 1)))
            kinds.append("spammer")
        else:                                     # accuracy 0.55-0.97, random error shape
            acc = rng.uniform(0.55, 0.97, size=k)
            c = rng.dirichlet(np.ones(k), size=k) * (1 - acc)[:, None]
            c[np.arange(k), np.arange(k)] = 0
            c = c / c.sum(axis=1, keepdims=True) * (1 - acc)[:, None]
            c[np.arange(k), np.arange(k)] = acc
            if j % 7 == 0:                        # biased: swaps classes 1 and 2
                c = c[:, [0, 2, 1]]
            conf.append(c)
            kinds.append("other")
    conf = np.array(conf)
    truth = rng.choice(k, size=n_items, p=priors)
    item = np.repeat(np.arange(n_items), per_item)
    ann = np.concatenate([rng.choice(n_ann, per_item, replace=False) for _ in range(n_items)])
    u = rng.random(len(item))
    cum = np.cumsum(conf[ann, truth[item]], axis=1)
    label = (u[:, None] > cum).sum(axis=1)
    labels = pd.DataFrame({"item_id": item.astype(str), "annotator_id": ann.astype(str),
                           "label": label.astype(str)})
    enc = encode(labels, classes=["0", "1", "2"])
    j_of = enc.annotator_ids.astype(int)          # encoding order -> simulation index
    logp = np.log(priors) + np.zeros((enc.n_items, k))
    np.add.at(logp, enc.item, np.log(conf[j_of[enc.annotator], :, enc.label]))
    post = np.exp(logp - logp.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)

    q = annotator_quality(enc, post)
    true_q = _true_quality(conf[j_of], priors)
    from scipy.stats import spearmanr

    rho = spearmanr(q["quality"], true_q).statistic
    # ~750 labels per annotator: the estimated rows have a sampling error of ~0.02-0.05
    # (rare class 10% -> ~75 labels), enough to reorder only near-ties
    assert rho > 0.9
    spam = np.array(kinds)[j_of] == "spammer"
    # a spammer's estimated rows differ only by sampling noise; the resulting quality bias is
    # about (K-1)^2 / n ~ 4/750 ~ 0.005 plus the rare-class row noise: 0.05 is a safe bound
    assert np.all(np.abs(q["quality"].to_numpy()[spam]) < 0.05)
    assert q["quality"].to_numpy()[~spam].min() > 0.1


@pytest.fixture(scope="module")
def simulated_operation():
    synthetic = pytest.importorskip("insights.synthetic")
    reliability = pytest.importorskip("insights.reliability")
    sim = synthetic.simulate("default", seed=0)
    ds = sim.dataset()
    model = reliability.DawidSkene().fit(ds.labels, gold=ds.gold)
    return sim, ds, model


def test_bias_corrected_quality_ranks_like_true_quality(simulated_operation):
    """Must-show: on the default simulated operation (117 annotators, ~141k judgments,
    8 spammers, one LLM judge), Dawid-Skene + Ipeirotis quality ranks annotators like their
    true quality, the same formula on the true confusion matrices and true class shares."""
    from scipy.stats import spearmanr

    sim, ds, model = simulated_operation
    q = annotator_quality(ds, model)
    truth = sim.truth
    classes = list(truth.label_set)
    priors = truth.true_labels.value_counts(normalize=True).reindex(classes).fillna(0)
    true_q = _true_quality(np.stack([truth.confusions[a] for a in q.index]), priors.to_numpy())
    rho = spearmanr(q["quality"], true_q).statistic
    # seeds 0-5 give 0.937-0.958; the gap to 1 is annotators with ~20-100 labels whose
    # rare-class rows (classes of 3-6% share) rest on a handful of judgments
    assert rho > 0.9
    types = truth.annotator_types.reindex(q.index)
    spam = types.str.startswith("spammer").to_numpy()
    assert spam.sum() >= 2
    # spammers have >= ~600 labels; sampling noise in their estimated rows leaves a positive
    # bias of roughly (K-1)^2/n ~ 0.03 at most (seeds 0-5: max 0.014); 0.05 is the bound
    assert np.all(np.abs(q["quality"].to_numpy()[spam]) < 0.05)
    # model-estimated accuracy tracks the true accuracy too
    true_acc = truth.true_accuracy.reindex(q.index)
    assert spearmanr(q["estimated_accuracy"], true_acc).statistic > 0.9
    # the model annotator is scored like everyone else
    model_rows = q[q["kind"] == "model"]
    assert len(model_rows) >= 1 and model_rows["quality"].notna().all()


def test_model_disagreements_find_model_errors(simulated_operation):
    """The most confident disagreements should be the model's mistakes (the simulator plants
    blind spots), i.e. the human consensus is right and the model wrong."""
    sim, ds, model = simulated_operation
    d = model_disagreements(ds, model, top=50)
    assert len(d) == 50
    truth = sim.truth.true_labels.reindex(d["item_id"]).to_numpy()
    # these items have consensus confidence ~1 from 3-5 human labels; allow 2 misses in 50
    assert np.mean(d["consensus_label"].to_numpy() == truth) >= 0.96
    assert np.mean(d["model_label"].to_numpy() == truth) <= 0.04
    assert d["consensus_confidence"].is_monotonic_decreasing


def test_team_rollup_on_simulation_orders_teams_and_brackets(simulated_operation):
    sim, ds, model = simulated_operation
    q = annotator_quality(ds, model)
    r = rollup(q, by="team")
    assert r["judgments"].sum() == q["n_labels"].sum() == len(ds.labels)
    assert (r["quality_lo"] <= r["quality"] + 1e-12).all()
    assert (r["quality"] <= r["quality_hi"] + 1e-12).all()
    assert (r["accuracy_gold_lo"] <= r["accuracy_gold"]).all()
    pa = pool_agreement(ds)
    assert -1 < pa["fleiss_kappa"] < 1 and -1 < pa["krippendorff_alpha"] < 1


def test_annotator_quality_scales_to_a_million_judgments():
    import time

    from insights.data import Encoded

    rng = np.random.default_rng(7)
    n, n_items, n_ann, k = 1_000_000, 250_000, 5000, 5
    item = rng.integers(0, n_items, n).astype(np.int32)
    ann = rng.integers(0, n_ann, n).astype(np.int32)
    truth = rng.integers(0, k, n_items)
    lab = np.where(rng.random(n) < 0.8, truth[item], rng.integers(0, k, n)).astype(np.int32)
    gold = np.where(rng.random(n_items) < 0.03, truth, -1)
    enc = Encoded(np.arange(n_items).astype(str).astype(object),
                  np.arange(n_ann).astype(str).astype(object),
                  np.array(list("abcde"), dtype=object), item, ann, lab, gold)
    post = np.eye(k)[truth] * 0.9 + 0.02
    t0 = time.perf_counter()
    q = annotator_quality(enc, post)
    elapsed = time.perf_counter() - t0
    assert len(q) == n_ann and q["n_labels"].sum() == n
    # every annotator is the same 80%-accurate process; ~200 labels each
    assert abs(q["accuracy_gold"].mean() - 0.84) < 0.01
    # ~0.2 s here (one sparse product and a few bincounts); 5 s allows a loaded CI machine
    assert elapsed < 5.0
