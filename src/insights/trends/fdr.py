r"""False discovery rate control across everything tested in a run.

Adjusted p-values ("q-values" in the findings table) of the step-up procedures:

* Benjamini-Hochberg (1995), valid for independent or positively dependent (PRDS) tests:
  :math:`q_{(i)} = \min_{j \ge i} \min(1, m\,p_{(j)}/j)`.
* Benjamini-Yekutieli (2001), valid under any dependence: the same times
  :math:`c(m) = \sum_{k=1}^m 1/k`.

A hypothesis is rejected at level ``alpha`` when its adjusted value is ``<= alpha``, which is
the step-up rule "reject the ``k`` smallest, ``k`` the largest ``i`` with
:math:`p_{(i)} \le i\alpha/(m\,c(m))`". The adjustment is
:func:`scipy.stats.false_discovery_control`; ``nan`` p-values are not counted in ``m`` and get
a ``nan`` q-value.

References
----------
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57, 289-300.
Benjamini, Y. & Yekutieli, D. (2001). The control of the false discovery rate in multiple
testing under dependency. Annals of Statistics 29, 1165-1188.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import false_discovery_control

__all__ = ["adjust", "bh", "by", "reject"]

METHODS = ("bh", "by")


def adjust(p, method: str = "bh") -> np.ndarray:
    """Adjusted p-values (q-values) by ``"bh"`` (Benjamini-Hochberg) or ``"by"``
    (Benjamini-Yekutieli); see the module docstring.

    Examples
    --------
    >>> adjust([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    p = np.asarray(p, dtype=np.float64).ravel()
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    if ok.any():
        # scipy's step-up core; what is added here: nan p-values are left out of m
        out[ok] = false_discovery_control(p[ok], method=method)
    return out


def bh(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values."""
    return adjust(p, "bh")


def by(p) -> np.ndarray:
    """Benjamini-Yekutieli adjusted p-values."""
    return adjust(p, "by")


def reject(p, alpha: float = 0.05, method: str = "bh") -> np.ndarray:
    """Boolean mask of the hypotheses rejected at FDR level ``alpha``."""
    q = adjust(p, method)
    return np.where(np.isfinite(q), q <= alpha, False)
