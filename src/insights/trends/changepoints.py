r"""Change points located in time: ruptures' PELT with a stated penalty.

Two costs, each with its penalty spelled out:

* :func:`rate_changepoints` — weekly counts :math:`(x_w, n_w)`; the cost of a segment is its
  binomial deviance divided by the dispersion :math:`\hat\phi` (a quasi-deviance, so
  week-to-week overdispersion does not create change points). The penalty per change point is
  ``penalty_factor * log(W)`` with default factor 2: the BIC charge of the two parameters a
  change adds (its location and the new rate), as in Killick, Fearnhead & Eckley (2012).
* :func:`series_changepoints` — a real-valued weekly series, cost ``l2`` (sum of squared
  deviations from the segment mean), penalty ``penalty_factor * sigma^2 * log(W)`` with
  :math:`\sigma` estimated robustly from first differences
  (:math:`\mathrm{MAD}(\Delta y)/(0.6745\sqrt 2)`), i.e. the same BIC charge on the
  Gaussian log-likelihood scale.

Both return change points as positions ``k`` meaning "a new segment starts at the k-th
week" (0-based, ``0 < k < W``).

References
----------
Killick, R., Fearnhead, P. & Eckley, I. A. (2012). Optimal detection of changepoints with a
linear computational cost. JASA 107, 1590-1598.
Truong, C., Oudre, L. & Vayatis, N. (2020). Selective review of offline change point detection
methods. Signal Processing 167 (the ``ruptures`` package).
"""

from __future__ import annotations

import numpy as np
import ruptures as rpt
from ruptures.base import BaseCost

__all__ = ["CostBinomial", "rate_changepoints", "series_changepoints", "best_split"]


def _xlogy(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, a * np.log(np.where(b > 0, b, 1.0)), 0.0)


class CostBinomial(BaseCost):
    """ruptures cost: binomial deviance of a segment, divided by a dispersion.

    The signal has two columns, successes and totals. ``error(a, b)`` is
    :math:`-2\\sum_{w\\in[a,b)} [x_w \\log\\hat p + (n_w-x_w)\\log(1-\\hat p)] / \\phi` with
    :math:`\\hat p` the segment's pooled rate, up to a constant (the saturated
    log-likelihood), which cancels in the segmentation.
    """

    model = "binomial"
    min_size = 1

    def __init__(self, dispersion: float = 1.0, min_size: int = 1):
        self.dispersion = dispersion
        self.min_size = min_size

    def fit(self, signal):
        s = np.asarray(signal, dtype=np.float64)
        self.signal = s
        self.cx = np.concatenate([[0.0], np.cumsum(s[:, 0])])
        self.cn = np.concatenate([[0.0], np.cumsum(s[:, 1])])
        return self

    def error(self, start, end):
        x = self.cx[end] - self.cx[start]
        n = self.cn[end] - self.cn[start]
        if n <= 0:
            return 0.0
        p = x / n
        ll = _xlogy(x, p) + _xlogy(n - x, 1 - p)
        return float(-2.0 * ll / self.dispersion)


def _positions(bkps: list[int], n: int) -> list[int]:
    return [int(b) for b in bkps if 0 < b < n]


def rate_changepoints(successes, totals, *, dispersion: float = 1.0,
                      penalty_factor: float = 2.0, min_size: int = 2) -> list[int]:
    """PELT change points of a weekly rate (binomial quasi-deviance cost, BIC penalty).

    Parameters
    ----------
    successes, totals : array_like
        Weekly counts (weeks with no total should be removed by the caller).
    dispersion : float, default 1.0
        :math:`\\hat\\phi` of the rate (floored at 1).
    penalty_factor : float, default 2.0
        Penalty per change point is ``penalty_factor * log(W)``.
    min_size : int, default 2
        Fewest weeks in a segment.
    """
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(totals, dtype=np.float64)
    W = len(x)
    if W < 2 * min_size:
        return []
    cost = CostBinomial(dispersion=max(float(dispersion), 1.0), min_size=min_size)
    algo = rpt.Pelt(custom_cost=cost, min_size=min_size, jump=1).fit(np.column_stack([x, n]))
    return _positions(algo.predict(pen=penalty_factor * np.log(W)), W)


def robust_sigma(y) -> float:
    """Noise level from first differences: ``MAD(diff(y)) / (0.6745 * sqrt(2))``."""
    d = np.diff(np.asarray(y, dtype=np.float64))
    if len(d) == 0:
        return 0.0
    mad = np.median(np.abs(d - np.median(d)))
    return float(mad / (0.6745 * np.sqrt(2.0)))


def series_changepoints(y, *, penalty_factor: float = 2.0, min_size: int = 2) -> list[int]:
    """PELT change points of a real-valued series (cost ``l2``, penalty
    ``penalty_factor * sigma^2 * log(W)``, sigma from :func:`robust_sigma`)."""
    y = np.asarray(y, dtype=np.float64)
    W = len(y)
    if W < 2 * min_size:
        return []
    sigma = robust_sigma(y)
    if sigma <= 0:
        sigma = float(np.std(y)) or 1.0
    algo = rpt.Pelt(model="l2", min_size=min_size, jump=1).fit(y.reshape(-1, 1))
    return _positions(algo.predict(pen=penalty_factor * sigma ** 2 * np.log(W)), W)


def best_split(successes, totals=None, *, min_size: int = 2) -> int | None:
    """The single most likely change position (least total cost of two segments).

    With ``totals`` the binomial cost is used, otherwise ``l2``. Used to say "since when"
    for a trend that PELT's penalty does not split (a gradual drift).
    """
    y = np.asarray(successes, dtype=np.float64)
    W = len(y)
    if W < 2 * min_size:
        return None
    if totals is not None:
        cost = CostBinomial(min_size=min_size).fit(np.column_stack([y, np.asarray(totals,
                                                                                  float)]))
    else:
        cost = rpt.costs.CostL2().fit(y.reshape(-1, 1))
    best, where = np.inf, None
    for k in range(min_size, W - min_size + 1):
        c = cost.error(0, k) + cost.error(k, W)
        if c < best - 1e-12:
            best, where = c, k
    return where
