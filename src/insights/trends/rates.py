r"""Trend tests for rates (accuracy, agreement, a class's label rate) over weeks.

Two questions, two tools:

* :func:`cochran_armitage` — the textbook test for a linear trend in proportions across
  ordered groups, each observation an independent Bernoulli trial (R's ``prop.trend.test``).
* :func:`rate_trend` — the operational question "is this weekly rate drifting?", judged
  against the week-to-week variation of the rate rather than label-level binomial noise
  (judgments in a week share items, annotators and guidelines, so weeks scatter more than
  binomial counts would). A binomial GLM on the weekly proportions with ``var_weights`` =
  weekly counts is fitted, the dispersion :math:`\hat\phi` of the weeks measured (from
  successive differences, see :func:`rate_trend`), and the
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
        Dispersion :math:`\\hat\\phi` of the weeks (mean square successive difference of the
        weekly Pearson residuals; see :func:`rate_trend`).
    method : str
        ``"binomial"``, ``"quasi-binomial"`` or ``"week-clustered"``: which model judged
        the slope (see :func:`rate_trend`).
    df : float
        Degrees of freedom of the reference t distribution (those of the dispersion).
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


def _mssd_dispersion(y, n, pooled: float) -> tuple[float, float]:
    r"""Dispersion from successive differences of the weekly Pearson residuals, and its df.

    With :math:`r_w = (y_w - \bar p)/\sqrt{\bar p(1-\bar p)/n_w}`, :math:`\hat\phi =
    \sum_w (r_{w+1}-r_w)^2 / (2(W-1))` (von Neumann's mean square successive difference):
    unbiased for :math:`\phi` under the null, and a step or a drift in the rate (the
    alternatives of interest) hardly moves it, whereas the Pearson statistic of a straight
    line fitted to a step would absorb the step into :math:`\hat\phi`. For Gaussian
    residuals its variance is :math:`(3W-4)\phi^2/(W-1)^2`, matched by a scaled
    :math:`\chi^2` on :math:`\nu = 2(W-1)^2/(3W-4)` df (7.6 for 12 weeks).
    """
    W = len(y)
    r = (y - pooled) / np.sqrt(pooled * (1 - pooled) / n)
    phi = float(np.sum(np.diff(r) ** 2) / (2 * (W - 1)))
    return phi, 2.0 * (W - 1) ** 2 / (3.0 * W - 4.0)


def rate_trend(successes, totals, weeks=None, *, cluster_above: float = 4.0,
               confidence: float = 0.95, min_weeks: int = 4) -> RateTrendResult:
    r"""Trend of a weekly rate on the logit scale, judged against week-to-week variation.

    Model: :math:`\operatorname{logit} E[x_w/n_w] = \beta_0 + \beta_1 t_w` with :math:`t_w` the
    true week index (centred), fitted by statsmodels' binomial GLM on the weekly proportions
    with ``var_weights`` :math:`n_w` (successes may be fractional, e.g. posterior-weighted).
    The dispersion of the weeks, :math:`\hat\phi`, is estimated from successive differences of
    the weekly Pearson residuals about the pooled rate (:func:`_mssd_dispersion`), not from the
    residuals of the fitted line: a step in the rate, the typical real change, would otherwise
    be absorbed into :math:`\hat\phi` and hide itself. It chooses the test of
    :math:`\beta_1 = 0` (two-sided). The variance is never taken below binomial:
    :math:`\max(\hat\phi, 1)` scales the binomial standard error, and the slope is referred to a
    t distribution on the estimator's :math:`\nu = 2(W-1)^2/(3W-4)` df in every case (a normal
    reference would ignore that :math:`\hat\phi` comes from the same few weeks):

    ``binomial`` (:math:`\hat\phi \le 1`)
        Weeks vary no more than binomial noise: scale fixed at 1.
    ``quasi-binomial`` (:math:`\hat\phi > 1`)
        Variance :math:`\phi\,\mu(1-\mu)/n_w`: standard errors times :math:`\sqrt{\hat\phi}`
        (as R's ``summary.glm`` for the quasibinomial family).
    ``week-clustered`` (:math:`\hat\phi >` ``cluster_above`` and the clustered standard
        error is the larger)
        Week-level noise dominates and may no longer scale like :math:`1/n_w`, which the
        quasi model assumes: the same point estimate with a sandwich covariance clustered by
        week (each weekly row is one cluster), each week's score inflated by
        :math:`(1-h_w)^{-1/2}` (CR2, Bell & McCaffrey 2002; the plain sandwich is too small
        with a dozen clusters). The larger of the quasi and clustered standard errors is
        used, so choosing between them cannot make the test more liberal than either.

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
    (quasi-likelihood, Pearson dispersion). Bell, R. M. & McCaffrey, D. F. (2002). Bias
    reduction in standard errors for linear regression with multi-stage samples. Survey
    Methodology 28, 169-181. Williams, D. A. (1982). Extra-binomial variation
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
        phi, df = _mssd_dispersion(y, n, pooled)
        beta = float(fit.params[1])
        se_quasi = float(fit.bse[1] * np.sqrt(max(phi, 1.0)))
        method, se = ("binomial" if phi <= 1.0 else "quasi-binomial"), se_quasi
        if phi > cluster_above:
            # sandwich: bread (X' V X)^-1, meat sum_w (score_w)(score_w)' with the CR2
            # (Bell-McCaffrey) leverage adjustment of each week's residual
            v = n * mu * (1 - mu)
            bread = np.linalg.inv(X.T @ (X * v[:, None]))
            h = np.einsum("ij,jk,ik->i", X * v[:, None], bread, X)
            r = (n * (y - mu)) / np.sqrt(np.clip(1.0 - h, 1e-6, None))
            scores = X * r[:, None]
            cov = bread @ (scores.T @ scores) @ bread
            se_cl = float(np.sqrt(cov[1, 1]))
            if se_cl > se_quasi:
                method, se = "week-clustered", se_cl
    if not np.isfinite(se) or se <= 0:
        return _null_result(W, pooled)
    tstat = beta / se
    p = float(2 * _st.t.sf(abs(tstat), df))
    crit = _st.t.ppf(0.5 + confidence / 2, df)
    expit = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    b0 = float(fit.params[0])
    return RateTrendResult(beta, beta - crit * se, beta + crit * se, p, phi, method, df,
                           float(expit(b0 + beta * tc[0])), float(expit(b0 + beta * tc[-1])), W)
