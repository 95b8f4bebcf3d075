"""PELT change points on weekly rates and series."""

import numpy as np

from insights.trends.changepoints import best_split, rate_changepoints, series_changepoints


def test_rate_step_is_located():
    # 0.80 -> 0.65 at week 7 with 200 labels a week: a 15-point step is ~5 binomial sd,
    # so PELT with the BIC penalty should put it at week 7 (+-1) in nearly every draw.
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(20):
        n = np.full(12, 200)
        x = rng.binomial(n, np.r_[np.full(7, 0.8), np.full(5, 0.65)])
        cps = rate_changepoints(x, n)
        hits += any(abs(c - 7) <= 1 for c in cps)
        assert abs(best_split(x, n) - 7) <= 1
    assert hits >= 18


def test_flat_rate_has_few_changepoints():
    rng = np.random.default_rng(1)
    n = np.full(12, 200)
    found = sum(bool(rate_changepoints(rng.binomial(n, 0.8), n)) for _ in range(50))
    assert found <= 10          # BIC penalty: spurious splits are rare (measured ~0-3 / 50)


def test_series_step():
    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(6), np.full(6, 4.0)] + rng.normal(size=12)
    assert 6 in series_changepoints(y) or 5 in series_changepoints(y) or 7 in series_changepoints(y)
