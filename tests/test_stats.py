"""Tests for insights.stats."""

from __future__ import annotations

import numpy as np
import pytest

from insights.stats import bootstrap_weighted_mean, wilson_interval, z_value

# Newcombe (1998), Statistics in Medicine 17, Table I, method 3 (Wilson score, no continuity
# correction): published to 4 decimal places, so we compare at 5e-5.
NEWCOMBE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("x", "n", "lo", "hi"), NEWCOMBE)
def test_wilson_matches_newcombe_table(x, n, lo, hi):
    got_lo, got_hi = wilson_interval(x, n)
    assert abs(float(got_lo) - lo) < 5e-5
    assert abs(float(got_hi) - hi) < 5e-5


def test_wilson_is_vectorised_and_matches_scalar_calls():
    x = np.array([r[0] for r in NEWCOMBE])
    n = np.array([r[1] for r in NEWCOMBE])
    lo, hi = wilson_interval(x, n)
    assert lo.shape == hi.shape == (4,)
    np.testing.assert_allclose(lo, [r[2] for r in NEWCOMBE], atol=5e-5)
    np.testing.assert_allclose(hi, [r[3] for r in NEWCOMBE], atol=5e-5)


def test_wilson_n_zero_is_nan_and_bounds_exact():
    lo, hi = wilson_interval([0, 0, 5], [0, 4, 5])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert lo[1] == 0.0 and hi[2] == 1.0
    assert 0 < hi[1] < 1 and 0 < lo[2] < 1


def test_wilson_symmetry_and_width_shrinks_with_n():
    # x/n and (n-x)/n give mirror-image intervals; more data -> narrower interval
    lo1, hi1 = wilson_interval(3, 10)
    lo2, hi2 = wilson_interval(7, 10)
    assert np.isclose(lo1, 1 - hi2) and np.isclose(hi1, 1 - lo2)
    lo3, hi3 = wilson_interval(300, 1000)
    assert hi3 - lo3 < hi1 - lo1


def test_wilson_higher_confidence_is_wider():
    lo90, hi90 = wilson_interval(40, 100, confidence=0.90)
    lo99, hi99 = wilson_interval(40, 100, confidence=0.99)
    assert lo99 < lo90 and hi99 > hi90


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(5, 4)
    with pytest.raises(ValueError):
        z_value(1.0)


def test_bootstrap_weighted_mean_is_seeded_and_covers_estimate():
    rng = np.random.default_rng(1)
    v = rng.uniform(0.5, 1.0, size=30)
    w = rng.integers(1, 100, size=30)
    a = bootstrap_weighted_mean(v, w, seed=3)
    b = bootstrap_weighted_mean(v, w, seed=3)
    assert a == b
    est, lo, hi = a
    assert np.isclose(est, np.average(v, weights=w))
    assert lo < est < hi
    # single unit: no resampling variation; no unit: nan
    assert bootstrap_weighted_mean([0.7], [10]) == (0.7, 0.7, 0.7)
    assert all(np.isnan(bootstrap_weighted_mean([np.nan], [10])))
