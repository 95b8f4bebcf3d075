"""Mann-Kendall, corrections, seasonal test and Sen's slope against published values.

The 360-point series (with 7 missing values) is the ``arbitrary_1d_data`` fixture of
pymannkendall's own test-suite (mmhs013/pyMannKendall, tests/test_pymannkendall.py), whose
expected values were checked there against the R packages modifiedmk, fume, rkt and trend.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from insights.trends.mann_kendall import (
    exact_p_value,
    mann_kendall,
    mk_score,
    mk_variance,
    seasonal_mann_kendall,
    sens_slope,
)

DATA = Path(__file__).parent / "data" / "pymannkendall_arbitrary_1d.csv"


@pytest.fixture(scope="module")
def series():
    df = pd.read_csv(DATA)
    assert len(df) == 360 and df["value"].isna().sum() == 7
    return df["value"].to_numpy(float)


def test_published_original_test(series):
    r = mann_kendall(series)
    assert r.s == -1959
    assert r.var_s == pytest.approx(4889800.333, abs=1e-3)   # published to 3 decimals
    assert r.p == pytest.approx(0.37591, abs=5e-6)            # published to 5 decimals
    assert r.z == pytest.approx(-0.8854562842589916, rel=1e-12)
    assert r.tau == pytest.approx(-0.03153167653875869, rel=1e-12)
    assert r.method == "normal"                               # ties: normal approximation
    assert r.direction == "decreasing"


def test_sen_slope_on_true_index(series):
    # -0.0063694 uses the true positions of the 353 present values (slopes over real gaps);
    # renumbering them 0..352 would give -0.0064516 instead.
    slope, intercept, lo, hi = sens_slope(series)
    assert slope == pytest.approx(-0.0063694, abs=5e-8)
    assert intercept == pytest.approx(96.15286624203821, rel=1e-12)
    assert lo < slope < hi


def test_hamed_rao_and_yue_wang_published(series):
    # pymannkendall's published lag-limited values (the bounded-lag use we support).
    # S and the tie-corrected variance are identical; the correction differs slightly
    # because we detrend on the true index while pymannkendall renumbers the present values.
    n = 353
    hr3 = mann_kendall(series, correction="hamed-rao", max_lag=3)
    assert hr3.s == -1959 and hr3.n_lags == 3
    yw1 = mann_kendall(series, correction="yue-wang", max_lag=1)
    assert yw1.n_lags == 1
    # the published lag-limited results (pymannkendall 1.4.x): var 14228919.89 (HR, lag 3),
    # 10377313.38 (YW, lag 1). Detrending on the true vs renumbered index moves the
    # autocorrelations by well under 0.1%: allow 0.5%.
    assert hr3.var_s == pytest.approx(14228919.889368296, rel=5e-3)
    assert yw1.var_s == pytest.approx(10377313.384506395, rel=5e-3)
    assert 0 < yw1.variance_ratio and hr3.variance_ratio > 1
    assert n == hr3.n


def test_corrections_match_pymannkendall_without_gaps():
    # cross-check with the installed pymannkendall on a series with no missing values, where
    # both implementations detrend on the same index (should agree to rounding).
    mk = pytest.importorskip("pymannkendall")
    rng = np.random.default_rng(3)
    e = np.zeros(60)
    for i in range(1, 60):
        e[i] = 0.6 * e[i - 1] + rng.normal()
    y = 0.03 * np.arange(60) + e
    for lag in (1, 3, 5):
        ours = mann_kendall(y, correction="hamed-rao", max_lag=lag)
        ref = mk.hamed_rao_modification_test(y, lag=lag)
        assert ours.var_s == pytest.approx(ref.var_s, rel=1e-9)
        assert ours.p == pytest.approx(ref.p, rel=1e-9)
        ours = mann_kendall(y, correction="yue-wang", max_lag=lag)
        ref = mk.yue_wang_modification_test(y, lag=lag)
        assert ours.var_s == pytest.approx(ref.var_s, rel=1e-9)


def test_positive_autocorrelation_inflates_variance():
    rng = np.random.default_rng(0)
    e = np.zeros(80)
    for i in range(1, 80):
        e[i] = 0.8 * e[i - 1] + rng.normal()
    plain = mann_kendall(e)
    for corr in ("hamed-rao", "yue-wang"):
        r = mann_kendall(e, correction=corr)
        assert r.var_s > plain.var_s
        assert r.p > plain.p
        assert r.n_lags == 10                  # default bound min(n // 4, 10)


def test_seasonal_published(series):
    r = seasonal_mann_kendall(series, period=12)
    assert r.s == -399
    assert r.var_s == pytest.approx(34702.333333333336, rel=1e-12)
    assert r.p == pytest.approx(0.03263834596177739, rel=1e-9)
    # pymannkendall reports the seasonal slope per cycle (12 steps): -0.0869565
    assert r.slope * 12 == pytest.approx(-0.08695652173913043, rel=1e-9)


def test_exact_p_small_series():
    # n = 4: S in {-6,...,6}; P(S = 6) = 1/24, so two-sided P(|S| >= 6) = 2/24.
    assert exact_p_value(6, 4) == pytest.approx(2 / 24)
    # Kendall's tau test of scipy (exact method) is the same test for untied data.
    rng = np.random.default_rng(1)
    for n in (5, 8, 12):
        y = rng.permutation(n).astype(float)
        r = mann_kendall(y)
        assert r.method == "exact"
        ref = stats.kendalltau(np.arange(n), y, method="exact")
        assert r.p == pytest.approx(ref.pvalue, rel=1e-9)


def test_ties_use_normal_with_continuity_correction():
    y = np.array([1, 1, 2, 3, 3, 3, 4, 5, 5, 6.0])
    r = mann_kendall(y)
    assert r.method == "normal"
    s, v = mk_score(y), mk_variance(y)
    assert r.z == pytest.approx((s - 1) / np.sqrt(v))
    assert v < 10 * 9 * 25 / 18                     # ties shrink the variance


def test_true_index_keeps_gaps():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert sens_slope(y, [0, 1, 2, 3])[0] == pytest.approx(1.0)
    assert sens_slope(y, [0, 1, 4, 5])[0] < 1.0     # a gap of weeks flattens the slope


def test_constant_series_no_trend():
    r = mann_kendall(np.ones(30), correction="hamed-rao")
    assert r.s == 0 and r.p == 1.0
