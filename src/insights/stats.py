"""Small statistical helpers shared by the quality, trend and report modules.

Everything here is vectorised: arrays in, arrays out.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _st
from statsmodels.stats.proportion import proportion_confint

__all__ = ["wilson_interval", "z_value", "bootstrap_weighted_mean"]


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard-normal quantile for a confidence level (0.95 -> 1.95996...)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(_st.norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(successes, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    r"""Wilson score interval for a binomial proportion (no continuity correction).

    With :math:`\hat p = x/n` and :math:`z` the two-sided normal quantile,

    .. math::

        \frac{\hat p + z^2/(2n) \pm z\sqrt{\hat p(1-\hat p)/n + z^2/(4n^2)}}{1 + z^2/n}.

    It keeps its coverage near the nominal level for small ``n`` and for proportions near 0
    or 1, where the Wald interval collapses (Newcombe 1998, method 3). Computed by
    ``statsmodels.stats.proportion.proportion_confint(method="wilson")`` (vectorised over the
    counts; non-integer counts, e.g. divided by an overdispersion factor, are accepted); this
    function adds broadcasting, the ``n == 0`` case and exact endpoints at 0 and ``n``.

    Parameters
    ----------
    successes, n : array_like
        Counts (broadcast together). ``n == 0`` gives a ``nan`` interval.
    confidence : float, default 0.95

    Returns
    -------
    lo, hi : numpy.ndarray of float (0-d arrays for scalar input)

    References
    ----------
    Wilson, E. B. (1927). JASA 22(158), 209-212.
    Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion:
    comparison of seven methods. Statistics in Medicine 17, 857-872.

    Examples
    --------
    >>> lo, hi = wilson_interval(81, 263)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2553, 0.3662)
    """
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    x, n = np.broadcast_arrays(x, n)
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("wilson_interval needs 0 <= successes <= n")
    z_value(confidence)  # validates the level
    lo = np.full(x.shape, np.nan)
    hi = np.full(x.shape, np.nan)
    ok = n > 0
    if np.any(ok):
        lo[ok], hi[ok] = proportion_confint(x[ok], n[ok], alpha=1.0 - confidence,
                                            method="wilson")
    lo = np.where(ok, np.clip(lo, 0.0, 1.0), np.nan)
    hi = np.where(ok, np.clip(hi, 0.0, 1.0), np.nan)
    # exact endpoints at x == 0 and x == n (rounding can leave 1e-17 otherwise)
    lo = np.where((n > 0) & (x == 0), 0.0, lo)
    hi = np.where((n > 0) & (x == n), 1.0, hi)
    return lo, hi


def bootstrap_weighted_mean(values, weights, *, n_boot: int = 1000, confidence: float = 0.95,
                            seed: int = 0) -> tuple[float, float, float]:
    """Weighted mean and a percentile bootstrap interval, resampling the units.

    The units (e.g. annotators of one team) are resampled with replacement ``n_boot`` times;
    each replicate's weighted mean is ``sum(w * v) / sum(w)``. Units whose value is ``nan``
    are dropped first.

    Parameters
    ----------
    values, weights : array_like, shape (m,)
    n_boot : int, default 1000
    confidence : float, default 0.95
    seed : int, default 0
        Seed of ``numpy.random.default_rng``: same data and seed give the same interval.

    Returns
    -------
    estimate, lo, hi : float
        ``nan`` when no unit has a value and positive weight; ``lo == hi == estimate`` when
        there is one unit (no between-unit variation can be resampled).
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    v, w = v[ok], w[ok]
    m = len(v)
    if m == 0:
        return np.nan, np.nan, np.nan
    est = float(np.sum(w * v) / np.sum(w))
    if m == 1:
        return est, est, est
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, m, size=(n_boot, m))
    ww = w[idx]
    reps = np.sum(ww * v[idx], axis=1) / np.sum(ww, axis=1)
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(reps, [a, 1.0 - a])
    return est, float(lo), float(hi)
