r"""Trend tests for rates (accuracy, agreement, a class's label rate) over weeks.

Two questions, two tools:

* :func:`cochran_armitage` — the textbook test for a linear trend in proportions across
  ordered groups, each observation an independent Bernoulli trial (R's ``prop.trend.test``).
* :func:`rate_trend` — the operational question "is this weekly rate drifting?", judged
  against the week-to-week variation of the rate rather than label-level binomial noise
  (judgments in a week share items, annotators and guidelines, so weeks scatter more than
  binomial counts would). A binomial GLM on the weekly proportions with ``var_weights`` =
  weekly counts is fitted, its Pearson dispersion :math:`\hat\phi = X^2/(W-2)` measured, and the
  slope tested by the model the dispersion calls for (see :func:`rate_trend`).

All p-values are two-sided.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

__all__ = ["CochranArmitageResult", "cochran_armitage", "RateTrendResult", "rate_trend",
           "DISPERSION_METHODS"]

DISPERSION_METHODS = ("binomial", "quasi-binomial", "week-clustered")


@dataclass(frozen=True)
class CochranArmitageResult:
    """Cochran-Armitage trend test.

    Attributes
    ----------
    statistic : float
        :math:`X^2` (1 df), as R's ``prop.trend.test``.
    p : float
        Two-sided p-value, ``chi2.sf(statistic, 1)``.
    z : float
        Signed square root of ``statistic`` (positive: rate rises with the score).
    m2 : float
        Agresti's :math:`M^2 = (N-1) r^2` (``statistic * (N-1)/N``), the linear-by-linear
        association statistic.
    p_m2 : float
        ``chi2.sf(m2, 1)``.
    """

    statistic: float
    p: float
    z: float
    m2: float
    p_m2: float


def cochran_armitage(successes, totals, scores=None) -> CochranArmitageResult:
    r"""Cochran-Armitage test for a linear trend in proportions (no continuity correction).

    With groups :math:`i`, successes :math:`x_i` of :math:`n_i`, scores :math:`s_i`,
    :math:`\bar p = \sum x_i/N` and :math:`\bar s = \sum n_i s_i / N`,

    .. math:: X^2 = \frac{\left[\sum_i s_i (x_i - n_i \bar p)\right]^2}
                         {\bar p (1-\bar p) \sum_i n_i (s_i - \bar s)^2},

    referred to :math:`\chi^2_1` (two-sided). This is R's
    ``prop.trend.test(x, n, score)``; Agresti's :math:`M^2 = (N-1)r^2` equals
    :math:`X^2 (N-1)/N`.

    Parameters
    ----------
    successes, totals : array_like
        Per ordered group.
    scores : array_like, optional
        Group scores, default ``1..G``.

    References
    ----------
    Cochran, W. G. (1954). Biometrics 10, 417-451. Armitage, P. (1955). Biometrics 11,
    375-386. Agresti, A. (2007). An Introduction to Categorical Data Analysis, 2nd ed.,
    section 2.5 (alcohol and malformation, :math:`M^2 = 6.57`).

    Examples
    --------
    >>> r = cochran_armitage([83, 90, 129, 70], [86, 93, 136, 82])
    >>> round(r.statistic, 4), round(r.p, 6)
    (8.2249, 0.004132)
    """
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(totals, dtype=np.float64)
    s = np.arange(1, len(x) + 1, dtype=np.float64) if scores is None else \
        np.asarray(scores, dtype=np.float64)
    if not (len(x) == len(n) == len(s)):
        raise ValueError("successes, totals and scores must have the same length")
    N = n.sum()
    pbar = x.sum() / N
    sbar = np.sum(n * s) / N
    num = np.sum(s * (x - n * pbar))
    den = pbar * (1 - pbar) * np.sum(n * (s - sbar) ** 2)
    if den <= 0:
        return CochranArmitageResult(0.0, 1.0, 0.0, 0.0, 1.0)
    stat = float(num ** 2 / den)
    m2 = stat * (N - 1) / N
    return CochranArmitageResult(stat, float(_st.chi2.sf(stat, 1)), float(num / np.sqrt(den)),
                                 float(m2), float(_st.chi2.sf(m2, 1)))


@dataclass(frozen=True)
class RateTrendResult:
    """Outcome of :func:`rate_trend`.

    Attributes
    ----------
    slope, slope_lo, slope_hi : float
        Change of the log-odds per week with its ``confidence`` interval.
    p : float
        Two-sided p-value of the slope.
    dispersion : float
        Pearson dispersion :math:`\\hat\\phi = X^2 / (W - 2)` of the binomial fit.
    method : str
        ``"binomial"``, ``"quasi-binomial"`` or ``"week-clustered"``: which model judged
        the slope (see :func:`rate_trend`).
    df : float
        Degrees of freedom of the reference t distribution (``inf``: normal).
    rate_first, rate_last : float
        Fitted rate at the first and last week.
    n_weeks : int
    """

    slope: float
    slope_lo: float
    slope_hi: float
    p: float
    dispersion: float
    method: str
    df: float
    rate_first: float
    rate_last: float
    n_weeks: int

    @property
    def direction(self) -> str:
        return "increasing" if self.slope > 0 else "decreasing" if self.slope < 0 else "none"


def _null_result(n_weeks: int, rate: float = np.nan) -> RateTrendResult:
    return RateTrendResult(0.0, np.nan, np.nan, np.nan, np.nan, "none", np.nan, rate, rate,
                           n_weeks)


def rate_trend(successes, totals, weeks=None, *, cluster_above: float = 4.0,
               confidence: float = 0.95, min_weeks: int = 4) -> RateTrendResult:
    r"""Trend of a weekly rate on the logit scale, judged against week-to-week variation.

    Model: :math:`\operatorname{logit} E[x_w/n_w] = \beta_0 + \beta_1 t_w` with :math:`t_w` the
    true week index (centred), fitted by statsmodels' binomial GLM on the weekly proportions
    with ``var_weights`` :math:`n_w` (successes may be fractional, e.g. posterior-weighted).
    The Pearson dispersion :math:`\hat\phi = \sum_w n_w (y_w-\hat\mu_w)^2 / (\hat\mu_w
    (1-\hat\mu_w)) / (W-2)` chooses the test of :math:`\beta_1 = 0` (two-sided):

    ``binomial`` (:math:`\hat\phi \le 1`)
        Weeks vary no more than binomial noise: scale fixed at 1, Wald z-test. The rate is
        never judged against *less* than label-level noise.
    ``quasi-binomial`` (:math:`1 < \hat\phi \le` ``cluster_above``)
        Variance :math:`\phi\,\mu(1-\mu)/n_w`: standard errors times :math:`\sqrt{\hat\phi}`,
        t-test on :math:`W-2` df (as R's ``summary.glm`` for the quasibinomial family).
    ``week-clustered`` (:math:`\hat\phi >` ``cluster_above``)
        Week-level noise dominates and no longer scales like :math:`1/n_w`, which the quasi
        model assumes: the same point estimate with a sandwich covariance clustered by week
        (each weekly row is one cluster; equivalent to clustering label-level scores by week),
        small-sample factor :math:`W/(W-1)`, t-test on :math:`W-2` df.

    Parameters
    ----------
    successes, totals : array_like
        Per week; weeks with ``totals == 0`` are dropped.
    weeks : array_like, optional
        True week index (default ``0..W-1``).
    cluster_above : float, default 4.0
        Dispersion above which the week-clustered covariance is used.
    confidence : float, default 0.95
        Level of the slope interval.
    min_weeks : int, default 4
        Fewer usable weeks give ``p = nan`` (untested).

    Returns
    -------
    RateTrendResult

    References
    ----------
    McCullagh, P. & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., section 4.5
    (quasi-likelihood, Pearson dispersion). Williams, D. A. (1982). Extra-binomial variation
    in logistic linear models. Applied Statistics 31, 144-148.
    """
    import statsmodels.api as sm

    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(totals, dtype=np.float64)
    w = np.arange(len(x), dtype=np.float64) if weeks is None else np.asarray(weeks, np.float64)
    ok = np.isfinite(x) & np.isfinite(n) & (n > 0)
    x, n, w = x[ok], n[ok], w[ok]
    W = len(x)
    if W < min_weeks:
        return _null_result(W)
    y = np.clip(x / n, 0.0, 1.0)
    pooled = float(x.sum() / n.sum())
    if pooled <= 0.0 or pooled >= 1.0:
        return _null_result(W, pooled)
    tc = w - w.mean()
    X = np.column_stack([np.ones(W), tc])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.GLM(y, X, family=sm.families.Binomial(), var_weights=n)
        fit = model.fit()
        mu = np.clip(fit.fittedvalues, 1e-12, 1 - 1e-12)
        phi = float(np.sum(n * (y - mu) ** 2 / (mu * (1 - mu))) / max(W - 2, 1))
        beta = float(fit.params[1])
        if phi <= 1.0:
            method, se, df = "binomial", float(fit.bse[1]), np.inf
        elif phi <= cluster_above:
            method, se, df = "quasi-binomial", float(fit.bse[1] * np.sqrt(phi)), W - 2.0
        else:
            method, df = "week-clustered", W - 2.0
            # sandwich: bread (X' V X)^-1, meat sum_w (score_w)(score_w)'
            v = n * mu * (1 - mu)
            bread = np.linalg.inv(X.T @ (X * v[:, None]))
            scores = X * (n * (y - mu))[:, None]
            cov = bread @ (scores.T @ scores) @ bread * W / (W - 1)
            se = float(np.sqrt(cov[1, 1]))
    if not np.isfinite(se) or se <= 0:
        return _null_result(W, pooled)
    tstat = beta / se
    if np.isinf(df):
        p = float(2 * _st.norm.sf(abs(tstat)))
        crit = _st.norm.ppf(0.5 + confidence / 2)
    else:
        p = float(2 * _st.t.sf(abs(tstat), df))
        crit = _st.t.ppf(0.5 + confidence / 2, df)
    expit = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    b0 = float(fit.params[0])
    return RateTrendResult(beta, beta - crit * se, beta + crit * se, p, phi, method, df,
                           float(expit(b0 + beta * tc[0])), float(expit(b0 + beta * tc[-1])), W)
