"""Cochran-Armitage against R and Agresti; the weekly-rate GLM's dispersion choice."""

import numpy as np
import pytest

from insights.trends.rates import cochran_armitage, rate_trend


def test_prop_trend_test_r_example():
    # R: prop.trend.test(c(83, 90, 129, 70), c(86, 93, 136, 82))
    #    X-squared = 8.2249, df = 1, p-value = 0.004132   (printed to these digits)
    r = cochran_armitage([83, 90, 129, 70], [86, 93, 136, 82])
    assert r.statistic == pytest.approx(8.2249, abs=5e-5)
    assert r.p == pytest.approx(0.004132, abs=5e-7)
    assert r.z < 0                      # the rate falls with the score


def test_agresti_alcohol_malformation():
    # Agresti (2007), Table 2.7: malformation present / total by alcohol consumption,
    # scores 0, 0.5, 1.5, 4, 7; M^2 = 6.57 (P = 0.01), printed to two decimals.
    present = [48, 38, 5, 1, 1]
    absent = [17066, 14464, 788, 126, 37]
    total = np.add(present, absent)
    r = cochran_armitage(present, total, scores=[0, 0.5, 1.5, 4, 7])
    assert r.m2 == pytest.approx(6.57, abs=5e-3)
    assert r.p_m2 == pytest.approx(0.0104, abs=5e-4)
    assert r.z > 0


def test_binomial_weeks_use_binomial_and_keep_level():
    # Pure binomial weeks: dispersion near 1; over 200 null series the 5% test rejects
    # about 5% (binomial sd of the rejection rate over 200 runs is 1.5 points: allow 2..10%).
    rng = np.random.default_rng(0)
    n = np.full(12, 300)
    p_values, methods = [], []
    for _ in range(200):
        x = rng.binomial(n, 0.8)
        r = rate_trend(x, n)
        p_values.append(r.p)
        methods.append(r.method)
    rate = np.mean(np.array(p_values) < 0.05)
    assert 0.02 <= rate <= 0.10
    assert {"binomial", "quasi-binomial"} >= set(methods)


def test_overdispersed_weeks_are_not_false_alarms():
    # Week effects (sd 0.04 on the rate) with 2000 labels a week: a binomial test would
    # reject most of the time (its sd is 0.009); the dispersion-chosen test keeps ~5%.
    rng = np.random.default_rng(1)
    n = np.full(12, 2000)
    p_values, naive, methods = [], [], []
    for _ in range(200):
        p = np.clip(0.8 + rng.normal(0, 0.04, 12), 0, 1)
        x = rng.binomial(n, p)
        r = rate_trend(x, n)
        p_values.append(r.p)
        methods.append(r.method)
        naive.append(rate_trend(x, n, cluster_above=np.inf).dispersion)
    assert np.mean(np.array(p_values) < 0.05) <= 0.10
    assert np.median(naive) > 4                      # strongly overdispersed
    assert "week-clustered" in methods


def test_detects_a_real_drift_and_reports_direction():
    n = np.full(10, 500)
    x = np.round(n * np.linspace(0.9, 0.75, 10))
    r = rate_trend(x, n)
    # binomial scale (the weeks are smoother than binomial), z = beta/se ~ -8.5, referred to
    # t on W - 2 = 8 df (the dispersion is estimated from the same 10 weeks): p ~ 2e-5
    assert r.p < 1e-4 and r.direction == "decreasing" and r.method == "binomial"
    assert r.rate_first == pytest.approx(0.9, abs=0.01)
    assert r.rate_last == pytest.approx(0.75, abs=0.01)
    assert r.slope_lo < r.slope < r.slope_hi < 0


def test_too_few_weeks_untested():
    r = rate_trend([1, 2, 3], [10, 10, 10])
    assert np.isnan(r.p)
