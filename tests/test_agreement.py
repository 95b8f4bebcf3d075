"""Tests for insights.agreement: published examples and independent implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import cohen_kappa_score

from insights.agreement import (
    cohen_kappa,
    cohen_kappa_by_group,
    fleiss_kappa,
    krippendorff_alpha,
    krippendorff_alpha_counts,
    value_counts,
)
from insights.data import encode

# Fleiss (1971) worked example as reproduced on Wikipedia ("Fleiss' kappa"): 10 subjects,
# 14 raters, 5 categories; published P_bar = 0.378, P_e = 0.213, kappa = 0.210.
FLEISS = np.array([
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
])

nan = np.nan
# Krippendorff (2011) "Computing Krippendorff's alpha-reliability", section C: 4 observers x
# 12 units with missing data; published nominal alpha = 0.743.
KRIPP_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]
# Wikipedia "Krippendorff's alpha", computational example: 3 coders x 15 units, nominal
# alpha = 0.691 ("*" = not coded).
KRIPP_WIKI = [
    "* * * * * 3 4 1 2 1 1 3 3 * 3",
    "1 * 2 1 3 3 4 3 * * * * * * *",
    "* * 2 1 3 4 4 * 2 1 1 3 3 * 4",
]


# ---------------------------------------------------------------------------- Cohen
def test_cohen_kappa_matches_sklearn_on_random_labels():
    rng = np.random.default_rng(0)
    for k in (2, 3, 6):
        truth = rng.integers(0, k, 500)
        a = np.where(rng.random(500) < 0.7, truth, rng.integers(0, k, 500))
        b = np.where(rng.random(500) < 0.5, truth, rng.integers(0, k, 500))
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_cohen_kappa_strings_and_label_subset_match_sklearn():
    a = np.array(["x", "y", "z", "x", "y", "x", "z", "z"])
    b = np.array(["x", "y", "y", "x", "z", "x", "z", "x"])
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
    assert cohen_kappa(a, b, labels=["x", "y"]) == pytest.approx(
        cohen_kappa_score(a, b, labels=["x", "y"]), abs=1e-12)


def test_cohen_kappa_edges():
    assert cohen_kappa([1, 2, 3], [1, 2, 3]) == 1.0
    # both raters constant and equal: chance agreement 1, kappa undefined
    assert np.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))
    # systematically opposite binary raters with balanced margins: kappa = -1
    assert cohen_kappa([0, 1, 0, 1], [1, 0, 1, 0]) == -1.0
    with pytest.raises(ValueError):
        cohen_kappa([1, 2], [1])


def test_cohen_kappa_by_group_equals_per_group_sklearn():
    rng = np.random.default_rng(1)
    n, g, k = 3000, 7, 4
    group = rng.integers(0, g, n)
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < 0.6, a, rng.integers(0, k, n))
    got = cohen_kappa_by_group(group, a, b, n_groups=g + 1, n_classes=k)
    for j in range(g):
        m = group == j
        assert got[j] == pytest.approx(cohen_kappa_score(a[m], b[m]), abs=1e-12)
    assert np.isnan(got[g])  # a group with no pairs


# ---------------------------------------------------------------------------- Fleiss
def test_fleiss_kappa_reproduces_fleiss_1971_example():
    # published to 3 decimals: 0.210
    assert round(fleiss_kappa(FLEISS), 3) == 0.210
    assert fleiss_kappa(sp.csr_matrix(FLEISS)) == pytest.approx(fleiss_kappa(FLEISS), abs=1e-15)


def test_fleiss_kappa_matches_statsmodels_with_constant_raters():
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    rng = np.random.default_rng(2)
    counts = rng.multinomial(5, [0.5, 0.3, 0.2], size=200)
    assert fleiss_kappa(counts) == pytest.approx(sm_fleiss(counts), abs=1e-12)


def test_fleiss_kappa_variable_raters_and_edges():
    # perfect agreement with different numbers of raters -> 1; single ratings are dropped
    counts = np.array([[3, 0], [0, 2], [4, 0], [0, 1]])
    assert fleiss_kappa(counts) == pytest.approx(1.0)
    assert np.isnan(fleiss_kappa(np.array([[1, 0], [0, 1]])))
    assert np.isnan(fleiss_kappa(np.array([[3, 0], [2, 0]])))


# ---------------------------------------------------------------------------- Krippendorff
def test_krippendorff_alpha_reproduces_krippendorff_2011():
    assert round(krippendorff_alpha(KRIPP_2011), 3) == 0.743


def test_krippendorff_alpha_reproduces_wikipedia_example():
    data = [row.split() for row in KRIPP_WIKI]
    assert round(krippendorff_alpha(data, missing="*"), 3) == 0.691


def test_krippendorff_alpha_long_form_and_encoded_agree_with_matrix():
    rows = []
    for coder, values in enumerate(KRIPP_2011):
        for unit, v in enumerate(values):
            if not np.isnan(v):
                rows.append((f"u{unit}", f"c{coder}", str(int(v))))
    long = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])
    expected = krippendorff_alpha(KRIPP_2011)
    assert krippendorff_alpha(long) == pytest.approx(expected, abs=1e-12)
    assert krippendorff_alpha(encode(long)) == pytest.approx(expected, abs=1e-12)


def _alpha_by_pairs(counts: np.ndarray) -> float:
    """Textbook coincidence-matrix construction (Krippendorff 2011, section C), no shortcuts."""
    k = counts.shape[1]
    o = np.zeros((k, k))
    for row in counts:
        m = row.sum()
        if m < 2:
            continue
        pairs = np.outer(row, row) - np.diag(row)  # ordered pairs of values within the unit
        o += pairs / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d_o = o.sum() - np.trace(o)
    d_e = (np.outer(n_c, n_c).sum() - np.sum(n_c * n_c)) / (n - 1)
    return 1 - d_o / d_e


def test_krippendorff_counts_match_coincidence_matrix_construction():
    rng = np.random.default_rng(3)
    counts = rng.multinomial(1, [0.4, 0.3, 0.2, 0.1], size=(60, 5)).sum(axis=1)
    counts[rng.random(60) < 0.3, :] = 0
    counts[0] = [1, 0, 0, 0]  # an unpairable unit
    assert krippendorff_alpha_counts(counts) == pytest.approx(_alpha_by_pairs(counts), abs=1e-12)
    assert krippendorff_alpha_counts(sp.csr_matrix(counts)) == pytest.approx(
        _alpha_by_pairs(counts), abs=1e-12)


def test_krippendorff_equals_fleiss_asymptotically_with_constant_raters():
    # with m raters everywhere, alpha = kappa_F + (1 - kappa_F) / (N m) (Krippendorff 2011):
    # check that identity exactly rather than a loose tolerance.
    rng = np.random.default_rng(4)
    m, n_items = 4, 300
    counts = rng.multinomial(m, [0.6, 0.3, 0.1], size=n_items)
    kf = fleiss_kappa(counts)
    ka = krippendorff_alpha_counts(counts)
    assert ka == pytest.approx(kf + (1 - kf) / (n_items * m), abs=1e-12)


def test_agreement_recovers_planted_accuracy_on_a_million_judgments():
    rng = np.random.default_rng(5)
    n, n_items, k = 1_000_000, 200_000, 5
    item = rng.integers(0, n_items, n)
    truth = rng.integers(0, k, n_items)
    label = np.where(rng.random(n) < 0.8, truth[item], rng.integers(0, k, n))
    ann = rng.integers(0, 2000, n)
    counts = value_counts(item, label, n_items, k)
    a = krippendorff_alpha_counts(counts)
    f = fleiss_kappa(counts)
    kap = cohen_kappa_by_group(ann, label, truth[item], 2000, k)
    # a judgment is right w.p. 0.8 + 0.2/5 = 0.84, so two agree w.p. 0.84^2 + 0.16^2/4 = 0.712
    # against chance 0.2 (uniform classes): kappa-type = (0.712 - 0.2) / 0.8 = 0.64; with
    # ~800k judgment pairs the sampling error is about 0.002
    assert f == pytest.approx(0.64, abs=0.01) and a == pytest.approx(0.64, abs=0.01)
    # each annotator vs truth: (0.84 - 0.2) / 0.8 = 0.8, ~500 judgments each (sd ~0.02); the
    # mean over 2000 annotators has sampling error ~0.0005
    assert np.all(np.isfinite(kap)) and kap.mean() == pytest.approx(0.8, abs=0.005)
