"""Repeated judgments: the data layer's policies, and every estimator reading repeats as counts.

Dawid & Skene (1979) model ``n[i, j, l]``: how many times annotator ``j`` gave item ``i`` the
label ``l``. With ``repeats="keep"`` a re-label is one more count. Each estimator is checked
against that count tensor built here by hand with numpy (one E-step from its fitted
parameters, or its closed form), on data where counting repeats changes the answer: the same
check with 0/1 presence instead of counts must fail, so the tests could fail.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logsumexp

from insights import data
from insights.data import DuplicateJudgmentWarning, RepeatedJudgmentWarning, SchemaError
from insights.reliability import GLAD, MACE, DawidSkene, MajorityVote, OneCoinDawidSkene, Wawa

K = 3


@pytest.fixture(scope="module")
def repeated() -> pd.DataFrame:
    """80 items x 6 annotators (3 classes, accuracies 0.55-0.9) plus re-labels: a third of the
    (item, annotator) pairs get one to three more answers drawn again, so most repeat pairs
    hold identical and different answers."""
    rng = np.random.default_rng(7)
    n_items, n_ann = 80, 6
    truth = rng.integers(K, size=n_items)
    acc = np.linspace(0.55, 0.9, n_ann)
    rows = []
    for i in range(n_items):
        for j in rng.choice(n_ann, size=4, replace=False):
            for _ in range(1 + (rng.random() < 0.35) * rng.integers(1, 4)):
                ok = rng.random() < acc[j]
                lab = truth[i] if ok else rng.choice([k for k in range(K) if k != truth[i]])
                rows.append((f"i{i:03d}", f"a{j}", f"c{lab}"))
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])


def count_tensor(enc: data.Encoded) -> np.ndarray:
    """n[item, annotator, label], built with np.add.at from the per-judgment codes."""
    n = np.zeros((enc.n_items, enc.n_annotators, enc.n_classes))
    np.add.at(n, (enc.item, enc.annotator, enc.label), 1.0)
    return n


def e_step(n: np.ndarray, log_conf: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """Posterior of each item's class: log rho_t + sum_{j,l} n[i,j,l] log pi_j[t,l]."""
    log_p = log_prior[None, :] + np.einsum("ijl,jtl->it", n, log_conf)
    return np.exp(log_p - logsumexp(log_p, axis=1, keepdims=True))


def assert_counts_matter(model, n, expected_from):
    """``expected_from(n)`` matches the model's probas_; with 0/1 presence it does not."""
    got = model.probas_.to_numpy()
    np.testing.assert_allclose(got, expected_from(n), atol=1e-8)  # same float math: round-off
    presence = (n > 0).astype(float)
    assert np.abs(got - expected_from(presence)).max() > 1e-3


def test_data_has_both_kinds_of_repeats(repeated):
    pairs = repeated.groupby(["item_id", "annotator_id"])["label"]
    assert (pairs.size() > 1).sum() > 20
    assert (pairs.nunique() > 1).sum() > 10
    assert repeated.duplicated().sum() > 10


@pytest.mark.parametrize("cls", [DawidSkene, OneCoinDawidSkene, MACE])
def test_confusion_em_is_an_e_step_of_the_count_tensor(repeated, cls):
    enc = data.encode(repeated)
    model = cls().fit(enc)
    log_conf = np.log(np.maximum(model.confusions_, 1e-300))
    log_prior = np.log(model.priors_.to_numpy())
    assert_counts_matter(model, count_tensor(enc), lambda n: e_step(n, log_conf, log_prior))


def test_glad_is_an_e_step_of_the_count_tensor(repeated):
    enc = data.encode(repeated)
    model = GLAD().fit(enc)
    alpha = model.alphas_.to_numpy()
    beta = model.betas_.reindex(enc.item_ids).to_numpy()
    log_prior = np.log(model.priors_.to_numpy())

    def expected(n):
        s = expit(alpha[None, :] * beta[:, None])                     # (items, annotators)
        right, wrong = np.log(s), np.log((1 - s) / (K - 1))
        total = n.sum(axis=2)                                         # judgments of (i, j)
        # class t: n[i,j,t] judgments right, the other ones wrong
        log_p = log_prior[None, :] + np.einsum("ijt,ij->it", n, right - wrong) \
            + (total * wrong).sum(axis=1)[:, None]
        return np.exp(log_p - logsumexp(log_p, axis=1, keepdims=True))

    assert_counts_matter(model, count_tensor(enc), expected)


def test_majority_vote_shares_are_count_shares(repeated):
    enc = data.encode(repeated)
    model = MajorityVote().fit(enc)

    def expected(n):
        votes = n.sum(axis=1)
        return votes / votes.sum(axis=1, keepdims=True)

    assert_counts_matter(model, count_tensor(enc), expected)


def test_wawa_scores_weight_the_counts(repeated):
    enc = data.encode(repeated)
    model = Wawa(tie_break="first").fit(enc)

    def expected(n):
        votes = n.sum(axis=1)
        mv = votes.argmax(axis=1)  # numpy's argmax: ties to the first class, as tie_break

        agree = n[np.arange(len(mv)), :, mv]                          # (items, annotators)
        skill = agree.sum(axis=0) / n.sum(axis=(0, 2))
        scores = np.einsum("ijk,j->ik", n, skill)
        return scores / scores.sum(axis=1, keepdims=True)

    assert_counts_matter(model, count_tensor(enc), expected)


def test_hierarchical_em_kernel_is_an_e_step_of_the_count_tensor(repeated):
    """HierarchicalDawidSkene's EM calls the shared E-step kernel with its pooled confusions
    (its ``confusions_`` are posterior means over draws, so the fit itself is not an E-step of
    them): check that kernel on random confusions, and that the model fits with repeats."""
    from insights.confidence import HierarchicalDawidSkene, _em_engine
    from insights.reliability import em

    assert _em_engine.e_step is em.e_step
    enc = data.encode(repeated)
    rng = np.random.default_rng(3)
    conf = rng.dirichlet(np.ones(K), size=(enc.n_annotators, K))
    log_conf, log_prior = np.log(conf), np.log(np.array([0.5, 0.3, 0.2]))
    post, _ = em.e_step(enc, log_conf, log_prior)
    n = count_tensor(enc)
    np.testing.assert_allclose(post, e_step(n, log_conf, log_prior), atol=1e-10)
    assert np.abs(post - e_step((n > 0) * 1.0, log_conf, log_prior)).max() > 1e-3
    model = HierarchicalDawidSkene().fit(enc)
    assert np.isfinite(model.probas_.to_numpy()).all() and len(model.probas_) == enc.n_items


def test_streaming_dawid_skene_counts_repeats(repeated, tmp_path):
    from insights.scale import StreamingDawidSkene

    path = tmp_path / "labels.parquet"
    repeated.to_parquet(path)
    model = StreamingDawidSkene(chunk_rows=50).fit(str(path), out_dir=tmp_path / "enc")
    probas = model.read_probas()
    enc = data.encode(repeated, classes=list(probas.columns))
    n = count_tensor(enc)[pd.Index(enc.item_ids).get_indexer(probas.index)]
    log_conf = np.log(np.maximum(model.confusions_, 1e-300))
    order = pd.Index(model.annotator_ids_).get_indexer(enc.annotator_ids)
    log_prior = np.log(np.asarray(model.priors_, dtype=float))
    expected = e_step(n, log_conf[order], log_prior)
    np.testing.assert_allclose(probas.to_numpy(), expected, atol=1e-6)  # float32 posteriors
    assert np.abs(probas.to_numpy() - e_step((n > 0) * 1.0, log_conf[order], log_prior)
                  ).max() > 1e-3


# -- the data layer's policies ---------------------------------------------------------------
LOG = """item_id,annotator_id,label,labeled_at
i1,a1,ok,2026-03-02T10:00:00Z
i1,a1,spam,2026-03-02T09:00:00Z
i1,a1,ok,2026-03-02T11:00:00Z
i1,a2,ok,2026-03-02T10:00:00Z
i2,a1,spam,2026-03-03T10:00:00Z
i2,a2,ok,2026-03-03T10:00:00Z
i2,a2,ok,2026-03-03T12:00:00Z
"""


def load_log(tmp_path, text=LOG, **kw):
    p = tmp_path / "labels.csv"
    p.write_text(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = data.load(p, **kw)
    return ds, caught


def test_keep_counts_different_answers_and_drops_identical_ones(tmp_path):
    ds, caught = load_log(tmp_path)
    kinds = [type(w.message) for w in caught]
    assert kinds.count(RepeatedJudgmentWarning) == 1 and kinds.count(DuplicateJudgmentWarning) == 1
    rep = next(str(w.message) for w in caught if w.category is RepeatedJudgmentWarning)
    assert "1 repeated judgment" in rep and "'a1'" in rep and "'i1'" in rep and "row 2" in rep
    assert "\n" not in rep
    assert ds.repeat_stats.duplicates == 2 and ds.repeat_stats.repeats == 1
    assert sorted(ds.labels["_row"]) == [1, 2, 4, 5, 6]
    n = count_tensor(ds.encode())
    enc = ds.encode()
    i1, a1 = list(enc.item_ids).index("i1"), list(enc.annotator_ids).index("a1")
    assert n[i1, a1].tolist() == [1.0, 1.0]          # ok once (identical repeat dropped), spam once


def test_last_and_first_use_labeled_at(tmp_path):
    last, _ = load_log(tmp_path, repeats="last")
    first, _ = load_log(tmp_path, repeats="first")
    pick = lambda ds: ds.labels.set_index(["item_id", "annotator_id"])["label"]  # noqa: E731
    assert pick(last)[("i1", "a1")] == "ok"          # 11:00 is the latest
    assert pick(first)[("i1", "a1")] == "spam"       # 09:00 is the earliest, though row 2
    assert not last.labels.duplicated(["item_id", "annotator_id"]).any()
    assert len(last.labels) == len(first.labels) == 4


def test_last_and_first_without_times_use_file_order(tmp_path):
    text = "item_id,annotator_id,label\ni1,a1,ok\ni1,a1,spam\ni2,a1,ok\n"
    last, _ = load_log(tmp_path, text, repeats="last")
    first, _ = load_log(tmp_path, text, repeats="first")
    assert last.labels.set_index("item_id").loc["i1", "label"] == "spam"
    assert first.labels.set_index("item_id").loc["i1", "label"] == "ok"


def test_error_names_the_row(tmp_path):
    with pytest.raises(SchemaError, match=r"labels.csv row 2: annotator 'a1' judged item 'i1'"):
        load_log(tmp_path, repeats="error")


def test_unknown_policy(tmp_path):
    with pytest.raises(SchemaError, match="expected one of"):
        load_log(tmp_path, repeats="latest")


def test_duplicating_rows_doubles_the_counts():
    base = pd.DataFrame({"item_id": ["i1", "i1", "i2"], "annotator_id": ["a1", "a2", "a1"],
                         "label": ["x", "y", "y"]})
    once = data.encode(base).incidence.toarray()
    twice = data.encode(pd.concat([base, base])).incidence.toarray()
    np.testing.assert_array_equal(twice, 2 * once)


def test_validate_defaults_to_keep_and_allow_repeats_false_is_error():
    df = pd.DataFrame({"item_id": ["i1", "i1"], "annotator_id": ["a1", "a1"],
                       "label": ["x", "y"]})
    with pytest.warns(RepeatedJudgmentWarning):
        assert len(data.validate(df, "labels")) == 2
    with pytest.raises(SchemaError):
        data.validate(df, "labels", allow_repeats=False)


# -- Dawid & Skene's own data: observer 1 rated every patient three times ----------------------
def test_dawid_skene_1979_reproduced_through_load_with_duplicates_kept():
    """``repeats="keep", duplicates="keep"`` reads D&S's anaesthesia data as the paper does
    (every rating a count) and reproduces the reference EM's class marginals
    [0.40, 0.42, 0.11, 0.07] and log-likelihood -192.89 (reference_estimates.md, printed to
    two decimals: tolerance 0.005). Dropping identical repeats (the default) changes them."""
    from tests.shared import SHARED_DATASETS

    folder = SHARED_DATASETS / "ds1979_anesthesia"
    if not (folder / "labels.csv").exists():
        pytest.skip("ds1979_anesthesia not found")
    cols = {"item_id": "item", "annotator_id": "annotator"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kept = data.load(folder, columns=cols, duplicates="keep")
        dropped = data.load(folder, columns=cols)
    assert len(kept.labels) == 315 and len(dropped.labels) == 315 - 77
    assert kept.repeat_stats.duplicates == 77 and kept.repeat_stats.duplicates_kept
    model = DawidSkene(alpha=0, shrinkage=0, prior_counts=0).fit(kept)
    np.testing.assert_allclose(model.priors_.to_numpy(), [0.40, 0.42, 0.11, 0.07], atol=0.005)
    assert abs(model.log_likelihood_[-1] - (-192.89)) < 0.01
    other = DawidSkene(alpha=0, shrinkage=0, prior_counts=0).fit(dropped)
    assert np.abs(other.priors_.to_numpy() - [0.40, 0.42, 0.11, 0.07]).max() > 0.005


@pytest.mark.parametrize("kw", [{}, {"repeats": "last"}, {"duplicates": "keep"},
                                {"repeats": "first", "duplicates": "keep"}])
@pytest.mark.parametrize("shuffle", [False, True])
def test_loaded_incidence_is_the_encoded_one(repeated, tmp_path, kw, shuffle):
    """data.load builds the incidence from the item grouping the repeats check made: the same
    matrix (entries, their order within a row, index dtypes) as encoding from scratch."""
    df = repeated.sample(frac=1.0, random_state=3) if shuffle else repeated
    df = pd.concat([df, pd.DataFrame({"item_id": ["only"], "annotator_id": ["a0"],
                                      "label": ["c1"]})], ignore_index=True)
    p = tmp_path / "labels.csv"
    df.to_csv(p, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = data.load(p, **kw)
    enc = ds.encode()
    assert "item_order" in enc._cache
    fresh = data.Encoded(item_ids=enc.item_ids, annotator_ids=enc.annotator_ids,
                         classes=enc.classes, item=enc.item, annotator=enc.annotator,
                         label=enc.label, gold=enc.gold)
    got, want = enc.incidence, fresh.incidence
    assert "item_order" not in enc._cache and "item_order" not in fresh._cache
    for attr in ("indptr", "indices", "data"):
        a, b = getattr(got, attr), getattr(want, attr)
        assert a.dtype == b.dtype, attr
        np.testing.assert_array_equal(a, b, err_msg=attr)
    assert got.shape == want.shape
    assert (enc.incidence_t != fresh.incidence_t).nnz == 0


def test_item_order_of_the_wrong_length_is_refused(repeated):
    enc = data.encode(repeated)
    with pytest.raises(ValueError, match="item order has 3 positions"):
        enc._with_item_order(np.arange(3))
