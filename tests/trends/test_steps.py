"""Step change in a weekly rate: null calibration, location, the split-robust dispersion."""

import numpy as np
import pytest

from insights.trends.steps import step_change, step_statistics

STEP = np.r_[np.full(7, 0.80), np.full(5, 0.70)]       # 10 points down from the 8th week


def _null_share(rng, n, sd, reps=400, n_sim=1000):
    """Share of p < 0.05 over ``reps`` null series (rate 0.8, week effects of sd ``sd``)."""
    p = []
    for _ in range(reps):
        rate = np.clip(0.8 + rng.normal(0, sd, len(n)), 0, 1) if sd else 0.8
        p.append(step_change(rng.binomial(n, rate), n, n_sim=n_sim).p)
    return np.mean(np.array(p) < 0.05)


@pytest.mark.parametrize("n, sd", [
    (np.full(12, 300), 0.0),                    # binomial weeks, dispersion 1
    (np.full(12, 2000), 0.03),                  # week effects: dispersion ~ 12
    (np.full(8, 500), 0.02),                    # short series, dispersion ~ 2.3
    (np.linspace(300, 900, 12).astype(int), 0.0),   # growing volume
], ids=["binomial", "overdispersed", "8-weeks", "growing"])
def test_null_level_despite_search_over_splits(n, sd):
    # The max over 7-9 splits with a single-split reference would reject ~15-20%; the
    # bootstrap calibration keeps the 5% level. Over 400 series the binomial sd of a 5% share
    # is 1.1 points: allow up to 8.5% (3 sd) and require at least 1.5% (not trivially
    # conservative).
    share = _null_share(np.random.default_rng(len(n) + int(100 * sd)), n, sd)
    assert 0.015 <= share <= 0.085


def test_step_located_with_before_after_intervals():
    # 80% -> 70% with 1000 labels a week and week effects of sd 0.02 (dispersion ~ 3.5): the
    # step is ~8 standard errors of the before/after difference, so it is found and placed at
    # week 7 (+-1) in (nearly) every draw.
    rng = np.random.default_rng(3)
    n = np.full(12, 1000)
    hits = 0
    for _ in range(30):
        x = rng.binomial(n, np.clip(STEP + rng.normal(0, 0.02, 12), 0, 1))
        r = step_change(x, n, weeks=np.arange(12) + 10)
        hits += (r.p < 0.01) and abs(r.position - 7) <= 1
        assert r.week == r.position + 10                # true week index reported
        assert r.before_lo < r.before < r.before_hi and r.after_lo < r.after < r.after_hi
        assert r.p == min(r.p_mc, r.p_bonferroni)
    assert hits >= 27
    assert r.direction == "decreasing"


def test_dispersion_is_not_inflated_by_the_step():
    # Binomial weeks with a 20-point step (~8 binomial sd per week): the successive
    # difference across the step alone would add ~64/22 ~ 3 to a full-chain estimate; leaving
    # that difference out keeps the estimate at the binomial level (median over draws ~1,
    # allow < 1.5: the sd of a 7-df dispersion estimate is ~0.5).
    rng = np.random.default_rng(4)
    n = np.full(12, 400)
    rates = np.r_[np.full(6, 0.8), np.full(6, 0.6)]
    phis, full = [], []
    for _ in range(50):
        x = rng.binomial(n, rates)
        r = step_change(x, n, n_sim=200)
        phis.append(r.dispersion)
        pbar = x.sum() / n.sum()
        res = (x / n - pbar) / np.sqrt(pbar * (1 - pbar) / n)
        full.append(np.sum(np.diff(res) ** 2) / 22)
    assert np.median(phis) < 1.5
    assert np.median(full) > 3


def test_statistic_is_scale_free():
    # T does not depend on the scale of the residuals (what makes the bootstrap exact for any
    # dispersion).
    rng = np.random.default_rng(5)
    r = rng.normal(size=12)
    n = rng.integers(100, 1000, 12).astype(float)
    _, t1, phi1 = step_statistics(r, n)
    _, t3, phi3 = step_statistics(3 * r, n)
    np.testing.assert_allclose(t1, t3)
    np.testing.assert_allclose(9 * phi1, phi3)


def test_deterministic_and_untested_cases():
    rng = np.random.default_rng(6)
    n = np.full(10, 200)
    x = rng.binomial(n, 0.7)
    assert step_change(x, n) == step_change(x, n)
    assert np.isnan(step_change([1, 2, 3, 4], [10, 10, 10, 10]).p)      # < 2 * 2 + 1 weeks
    assert np.isnan(step_change(np.zeros(8), np.full(8, 10)).p)          # rate 0: nothing to test
    # weeks with no counts are dropped, not treated as zero rates
    r = step_change(np.r_[x, 0], np.r_[n, 0])
    assert r.n_weeks == 10 and r.p == step_change(x, n).p
