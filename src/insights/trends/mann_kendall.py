r"""Mann-Kendall trend test, its autocorrelation corrections, seasonal form and Sen's slope.

Conventions (all functions)
---------------------------
* Two-sided alternatives: "the series tends to rise or to fall".
* Missing values (``nan``) are dropped; the *true* time index of the remaining points is kept
  (Sen's slope uses it, so a missing week does not shorten the time axis).
* :math:`S = \sum_{i<j} \operatorname{sgn}(x_j - x_i)` and, with :math:`t_g` the size of tie
  group :math:`g`,

  .. math:: \operatorname{Var}(S) = \frac{n(n-1)(2n+5) - \sum_g t_g(t_g-1)(2t_g+5)}{18}.

* Normal approximation with continuity correction: :math:`Z = (S - \operatorname{sgn} S)/
  \sqrt{\operatorname{Var} S}` and :math:`p = 2(1 - \Phi(|Z|))`.
* Short series without ties (``n <= exact_max_n``, default 20) get the exact null distribution
  of :math:`S` (each of the :math:`n!` orderings equally likely; :math:`S = n(n-1)/2 - 2I`
  with :math:`I` the number of inversions, whose distribution is Mahonian) and the two-sided
  exact p-value :math:`P(|S| \ge |s|)`.

References
----------
Mann, H. B. (1945). Nonparametric tests against trend. Econometrica 13, 245-259.
Kendall, M. G. (1975). Rank Correlation Methods. Griffin, London.
Hamed, K. H. & Rao, A. R. (1998). A modified Mann-Kendall trend test for autocorrelated data.
Journal of Hydrology 204, 182-196.
Yue, S. & Wang, C. Y. (2004). The Mann-Kendall test modified by effective sample size to detect
trend in serially correlated hydrological series. Water Resources Management 18, 201-218.
Hirsch, R. M., Slack, J. R. & Smith, R. A. (1982). Techniques of trend analysis for monthly
water quality data. Water Resources Research 18, 107-121 (seasonal Kendall test).
Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's tau. JASA 63,
1379-1389.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats as _st

__all__ = ["MannKendallResult", "mann_kendall", "seasonal_mann_kendall", "sens_slope",
           "mk_score", "mk_variance", "exact_p_value", "default_max_lag"]


@dataclass(frozen=True)
class MannKendallResult:
    """Outcome of a Mann-Kendall test.

    Attributes
    ----------
    s : float
        Kendall's score :math:`S`.
    var_s : float
        Variance of :math:`S` used for the test (tie-corrected, then multiplied by
        :math:`n/n^*` for an autocorrelation correction).
    z : float
        Continuity-corrected standardised score (``nan`` when the exact p-value is used).
    p : float
        Two-sided p-value.
    tau : float
        Kendall's tau-a, :math:`S / (n(n-1)/2)`.
    slope, slope_lo, slope_hi, intercept : float
        Sen's slope per unit of the time index with its 95% interval
        (``scipy.stats.theilslopes``) and the intercept.
    n : int
        Points used (non-missing).
    method : str
        ``"exact"``, ``"normal"``, ``"hamed-rao"``, ``"yue-wang"`` or ``"seasonal"``.
    n_lags : int
        Lags used by the autocorrelation correction (0 when none).
    variance_ratio : float
        :math:`n/n^*`, the variance inflation of the correction (1 when none).
    """

    s: float
    var_s: float
    z: float
    p: float
    tau: float
    slope: float
    slope_lo: float
    slope_hi: float
    intercept: float
    n: int
    method: str
    n_lags: int = 0
    variance_ratio: float = 1.0

    @property
    def direction(self) -> str:
        """``"increasing"``, ``"decreasing"`` or ``"none"`` (sign of :math:`S`)."""
        return "increasing" if self.s > 0 else "decreasing" if self.s < 0 else "none"


def _clean(y, t=None) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    t = np.arange(len(y), dtype=np.float64) if t is None else np.asarray(t, np.float64).ravel()
    if len(t) != len(y):
        raise ValueError(f"time index has {len(t)} points but the series has {len(y)}")
    ok = np.isfinite(y) & np.isfinite(t)
    y, t = y[ok], t[ok]
    order = np.argsort(t, kind="stable")
    return y[order], t[order]


def mk_score(y) -> float:
    """Kendall's score :math:`S=\\sum_{i<j}\\operatorname{sgn}(y_j-y_i)` (y in time order)."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n < 2:
        return 0.0
    i, j = np.triu_indices(n, k=1)
    return float(np.sign(y[j] - y[i]).sum())


def mk_variance(y) -> float:
    """Tie-corrected null variance of :math:`S` (see the module docstring)."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    _, counts = np.unique(y, return_counts=True)
    t = counts.astype(np.float64)
    return float((n * (n - 1) * (2 * n + 5) - np.sum(t * (t - 1) * (2 * t + 5))) / 18.0)


@lru_cache(maxsize=64)
def _mahonian(n: int) -> np.ndarray:
    """Counts of permutations of ``n`` elements by number of inversions (0..n(n-1)/2)."""
    counts = np.array([1.0])
    for k in range(2, n + 1):
        new = np.zeros(len(counts) + k - 1)
        for shift in range(k):
            new[shift:shift + len(counts)] += counts
        counts = new
    return counts


def exact_p_value(s: float, n: int) -> float:
    """Exact two-sided p-value :math:`P(|S| \\ge |s|)` for ``n`` untied values under H0.

    Under H0 all :math:`n!` orderings are equally likely; :math:`S = M - 2I` with
    :math:`M = n(n-1)/2` and :math:`I` the number of inversions (Mahonian distribution).
    """
    counts = _mahonian(int(n))
    m = n * (n - 1) // 2
    s_values = m - 2 * np.arange(m + 1)
    prob = counts / counts.sum()
    return float(min(1.0, prob[np.abs(s_values) >= abs(s) - 1e-9].sum()))


def sens_slope(y, t=None, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Sen's slope on the true time index: ``(slope, intercept, lo, hi)``.

    ``scipy.stats.theilslopes(y, t)``: the median of pairwise slopes
    :math:`(y_j - y_i)/(t_j - t_i)`, intercept ``median(y) - slope * median(t)``, and the
    ``confidence`` interval of Sen (1968).
    """
    y, t = _clean(y, t)
    if len(y) < 2:
        return np.nan, np.nan, np.nan, np.nan
    res = _st.theilslopes(y, t, alpha=confidence)
    return float(res.slope), float(res.intercept), float(res.low_slope), float(res.high_slope)


def default_max_lag(n: int) -> int:
    """Default bound on the lags of the autocorrelation corrections: ``max(1, min(n//4, 10))``.

    Hamed & Rao (1998) use the first few lags; with all ``n - 1`` lags the variance estimate
    goes unstable (the far-lag autocorrelations rest on a handful of pairs).
    """
    return int(max(1, min(n // 4, 10)))


def _acf(x: np.ndarray, nlags: int) -> np.ndarray:
    y = x - x.mean()
    denom = float(np.dot(y, y))
    n = len(x)
    out = np.ones(nlags + 1)
    if denom == 0:
        out[1:] = 0.0
        return out
    for k in range(1, nlags + 1):
        out[k] = float(np.dot(y[:n - k], y[k:])) / denom
    return out


def _normal_p(s: float, var_s: float) -> tuple[float, float]:
    if var_s <= 0 or s == 0:
        return 0.0, 1.0
    z = (s - np.sign(s)) / np.sqrt(var_s)
    return float(z), float(2.0 * _st.norm.sf(abs(z)))


def mann_kendall(y, t=None, *, correction: str | None = None, max_lag: int | None = None,
                 alpha: float = 0.05, exact_max_n: int = 20) -> MannKendallResult:
    r"""Mann-Kendall test for a monotonic trend (two-sided), with Sen's slope.

    Parameters
    ----------
    y : array_like
        The series; ``nan`` values are dropped.
    t : array_like, optional
        True time index (e.g. week number); defaults to ``0..n-1``. Used to order the points
        and for Sen's slope, so missing weeks keep their place on the axis.
    correction : {None, "hamed-rao", "yue-wang"}
        Autocorrelation correction of :math:`\operatorname{Var}(S)` by the effective sample
        size :math:`n/n^*`, computed on the series detrended with Sen's slope
        (:math:`x_i - \beta t_i`):

        * ``"hamed-rao"`` (Hamed & Rao 1998): autocorrelations :math:`\rho_k` of the *ranks*
          of the detrended series, keeping only lags significant at ``alpha``
          (:math:`|\rho_k| > z_{1-\alpha/2}/\sqrt n`),
          :math:`n/n^* = 1 + \frac{2}{n(n-1)(n-2)}\sum_k (n-k)(n-k-1)(n-k-2)\rho_k`.
        * ``"yue-wang"`` (Yue & Wang 2004): autocorrelations of the detrended values,
          :math:`n/n^* = 1 + 2\sum_k (1 - k/n)\rho_k`.

        Both sum over ``k = 1..max_lag``. The ratio is floored at ``1/n`` (no negative
        variance). Corrections always use the normal approximation.
    max_lag : int, optional
        Lags summed by a correction; default :func:`default_max_lag` (bounded, because
        the correction goes unstable with all lags).
    alpha : float, default 0.05
        Significance level for Hamed-Rao's lag screening.
    exact_max_n : int, default 20
        Without a correction and without ties, series up to this length get the exact
        p-value (:func:`exact_p_value`); otherwise the continuity-corrected normal one.

    Returns
    -------
    MannKendallResult

    Examples
    --------
    >>> r = mann_kendall([1, 2, 3, 4, 5, 6])
    >>> r.s, round(r.p, 5)            # only 1 of 720 orderings is as extreme each way
    (15.0, 0.00278)
    """
    y, t = _clean(y, t)
    n = len(y)
    if n < 3:
        return MannKendallResult(0.0, 0.0, 0.0, 1.0, 0.0, np.nan, np.nan, np.nan, np.nan, n,
                                 "normal")
    s = mk_score(y)
    var_s = mk_variance(y)
    tau = s / (0.5 * n * (n - 1))
    slope, intercept, lo, hi = sens_slope(y, t)
    ties = len(np.unique(y)) < n
    if correction is None:
        if not ties and n <= exact_max_n:
            return MannKendallResult(s, var_s, np.nan, exact_p_value(s, n), tau, slope, lo, hi,
                                     intercept, n, "exact")
        z, p = _normal_p(s, var_s)
        return MannKendallResult(s, var_s, z, p, tau, slope, lo, hi, intercept, n, "normal")
    lags = default_max_lag(n) if max_lag is None else int(max(1, min(max_lag, n - 1)))
    detrended = y - (0.0 if not np.isfinite(slope) else slope) * t
    if correction == "hamed-rao":
        rho = _acf(_st.rankdata(detrended), lags)
        k = np.arange(1, lags + 1)
        bound = _st.norm.ppf(1 - alpha / 2) / np.sqrt(n)
        keep = np.abs(rho[1:]) > bound
        ratio = 1.0 + 2.0 / (n * (n - 1) * (n - 2)) * np.sum(
            ((n - k) * (n - k - 1) * (n - k - 2) * rho[1:])[keep])
    elif correction == "yue-wang":
        rho = _acf(detrended, lags)
        k = np.arange(1, lags + 1)
        ratio = 1.0 + 2.0 * np.sum((1.0 - k / n) * rho[1:])
    else:
        raise ValueError(f"correction must be None, 'hamed-rao' or 'yue-wang', got {correction!r}")
    ratio = float(max(ratio, 1.0 / n))
    var_c = var_s * ratio
    z, p = _normal_p(s, var_c)
    return MannKendallResult(s, var_c, z, p, tau, slope, lo, hi, intercept, n, correction,
                             lags, ratio)


def seasonal_mann_kendall(y, period: int, t=None) -> MannKendallResult:
    r"""Seasonal Kendall test (Hirsch, Slack & Smith 1982), two-sided.

    Point ``i`` belongs to season ``t_i mod period``. :math:`S` and the tie-corrected
    :math:`\operatorname{Var}(S)` are summed over seasons (seasons assumed independent);
    :math:`Z` is continuity-corrected. Sen's slope is the seasonal one: the median of all
    within-season pairwise slopes per unit of ``t``; its interval is not computed (``nan``).

    Parameters
    ----------
    y : array_like
        The series, ``nan`` allowed.
    period : int
        Season length in units of ``t`` (e.g. 4 weeks, 12 months).
    t : array_like, optional
        True time index (integers), default ``0..n-1``.
    """
    y, t = _clean(y, t)
    n = len(y)
    season = np.mod(np.round(t).astype(np.int64), int(period))
    s_tot, v_tot, pairs, slopes = 0.0, 0.0, 0.0, []
    for g in np.unique(season):
        yy, tt = y[season == g], t[season == g]
        m = len(yy)
        if m < 2:
            continue
        s_tot += mk_score(yy)
        v_tot += mk_variance(yy)
        pairs += m * (m - 1) / 2
        i, j = np.triu_indices(m, k=1)
        slopes.append((yy[j] - yy[i]) / (tt[j] - tt[i]))
    z, p = _normal_p(s_tot, v_tot)
    slope = float(np.median(np.concatenate(slopes))) if slopes else np.nan
    intercept = float(np.median(y) - slope * np.median(t)) if slopes else np.nan
    tau = s_tot / pairs if pairs else 0.0
    return MannKendallResult(s_tot, v_tot, z, p, tau, slope, np.nan, np.nan, intercept, n,
                             "seasonal")
