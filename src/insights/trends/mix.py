r"""Between-market differences of label mix: chi-square and G-test with Cramér's V.

For an ``r x c`` table of counts (rows: markets, columns: classes) with expected counts
:math:`E_{ij} = R_i C_j / N` under "same mix everywhere":

* Pearson :math:`X^2 = \sum (O-E)^2/E`, G-test :math:`G = 2\sum O\log(O/E)`, each on
  :math:`(r-1)(c-1)` df (``scipy.stats.chi2_contingency`` without Yates' correction, which
  only applies to 2 x 2 and is not used here for any table size);
* Cramér's :math:`V = \sqrt{X^2 / (N (\min(r,c)-1))}` (0: same mix; 1: disjoint mixes),
  with a 95% interval from the noncentral chi-square: the noncentrality :math:`\lambda`
  interval of the observed :math:`X^2` mapped by :math:`V = \sqrt{\lambda/(N(\min(r,c)-1))}`
  (population :math:`N\phi^2 = \lambda`; Smithson 2003), ``nan`` when it cannot be bracketed.

Counts should be of independent units (one final label per item, not judgments: the judgments
of one item share its true class and would overstate the evidence). Columns that are empty in
every row are dropped before testing.

References
----------
Agresti, A. (2013). Categorical Data Analysis, 3rd ed., section 3.2.
Cramér, H. (1946). Mathematical Methods of Statistics, p. 282.
Smithson, M. (2003). Confidence Intervals. Sage (noncentrality intervals for effect sizes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize as _opt
from scipy import stats as _st

__all__ = ["MixTestResult", "mix_test", "market_vs_rest"]


@dataclass(frozen=True)
class MixTestResult:
    """Outcome of :func:`mix_test` (all p-values two-sided, i.e. any difference)."""

    chi2: float
    g: float
    dof: int
    p: float
    p_g: float
    cramers_v: float
    v_lo: float
    v_hi: float
    n: float
    largest_residual_class: str | None = None
    largest_residual: float = np.nan


def _ncp_interval(stat: float, dof: int, confidence: float) -> tuple[float, float]:
    """Noncentrality interval for an observed chi-square (inverting the ncx2 cdf)."""
    a = (1 - confidence) / 2

    def root(target):
        f = lambda lam: _st.ncx2.cdf(stat, dof, max(lam, 1e-12)) - target  # noqa: E731
        if f(0.0) < 0:       # even lambda = 0 is too large: bound is 0
            return 0.0
        hi = max(10.0, 2 * stat)
        while f(hi) > 0:
            hi *= 2
            if hi > 1e9:
                return np.nan
        return float(_opt.brentq(f, 0.0, hi))

    return root(1 - a), root(a)


def mix_test(table, *, confidence: float = 0.95) -> MixTestResult:
    """Chi-square and G-test of homogeneity of label mix across the table's rows.

    Parameters
    ----------
    table : array_like or pandas.DataFrame, shape (r, c)
        Counts, rows = groups (markets), columns = classes.
    confidence : float, default 0.95
        Level of Cramér's V interval.

    Returns
    -------
    MixTestResult
        ``largest_residual_class`` names the class (DataFrame column) holding the cell of the
        largest absolute adjusted (standardised) residual; ties go to the rarer class.
    """
    cols = list(table.columns) if isinstance(table, pd.DataFrame) else None
    obs = np.asarray(table, dtype=np.float64)
    keep = obs.sum(0) > 0
    obs = obs[:, keep]
    cols = [c for c, k in zip(cols, keep, strict=True) if k] if cols is not None else None
    obs = obs[obs.sum(1) > 0]
    r, c = obs.shape
    if r < 2 or c < 2:
        return MixTestResult(0.0, 0.0, 0, 1.0, 1.0, 0.0, np.nan, np.nan, float(obs.sum()))
    chi2, p, dof, E = _st.chi2_contingency(obs, correction=False)
    g, p_g, _, _ = _st.chi2_contingency(obs, correction=False, lambda_="log-likelihood")
    N = obs.sum()
    k = min(r, c) - 1
    v = float(np.sqrt(chi2 / (N * k)))
    lam_lo, lam_hi = _ncp_interval(float(chi2), int(dof), confidence)
    v_lo = float(np.sqrt(lam_lo / (N * k))) if np.isfinite(lam_lo) else np.nan
    v_hi = float(np.sqrt(lam_hi / (N * k))) if np.isfinite(lam_hi) else np.nan
    R, C = obs.sum(1, keepdims=True) / N, obs.sum(0, keepdims=True) / N
    adj = (obs - E) / np.sqrt(E * (1 - R) * (1 - C))
    # the column of the largest |adjusted residual|; ties (every 2-column table) go to the
    # rarer class, whose rate is the informative one ("spam 33% vs 12%")
    col_max = np.nanmax(np.abs(adj), axis=0)
    order = np.lexsort((obs.sum(0), -np.round(col_max, 9)))
    j = int(order[0])
    i = int(np.nanargmax(np.abs(adj[:, j])))
    return MixTestResult(float(chi2), float(g), int(dof), float(p), float(p_g), v, v_lo, v_hi,
                         float(N), cols[j] if cols is not None else str(j), float(adj[i, j]))


def market_vs_rest(counts: pd.DataFrame) -> pd.DataFrame:
    """Each row (market) against the pooled rest: a 2 x c :func:`mix_test` per market.

    Parameters
    ----------
    counts : pandas.DataFrame
        Index = market, columns = classes, values = counts of final labels.

    Returns
    -------
    pandas.DataFrame
        One row per market: ``chi2``, ``g``, ``dof``, ``p`` (Pearson), ``p_g``,
        ``cramers_v`` with ``v_lo``/``v_hi``, ``class`` (largest adjusted residual),
        ``rate`` and ``rest_rate`` of that class.
    """
    rows = []
    for m in counts.index:
        rest = counts.drop(index=m).sum(axis=0)
        tab = pd.DataFrame([counts.loc[m], rest], index=[m, "rest"])
        r = mix_test(tab)
        cls = r.largest_residual_class
        rate = float(tab.loc[m, cls] / tab.loc[m].sum()) if cls in tab else np.nan
        rest_rate = float(tab.loc["rest", cls] / tab.loc["rest"].sum()) if cls in tab else np.nan
        rows.append({"market": m, "chi2": r.chi2, "g": r.g, "dof": r.dof, "p": r.p,
                     "p_g": r.p_g, "cramers_v": r.cramers_v, "v_lo": r.v_lo, "v_hi": r.v_hi,
                     "class": cls, "rate": rate, "rest_rate": rest_rate,
                     "n": float(tab.loc[m].sum())})
    return pd.DataFrame(rows)
