"""Sampling helpers of the simulator: confusion matrices, categorical draws, expected accuracy.

Part of :mod:`insights.synthetic`; :mod:`insights.operations.simulate` uses them too.
"""

from __future__ import annotations

import numpy as np


# --------------------------------------------------------------------------------------------
# helpers for confusion matrices
# --------------------------------------------------------------------------------------------
def _cyc(values: tuple, i: int):
    return values[i % len(values)]


def _shared_error_profile(k: int) -> np.ndarray:
    """Where wrong answers go: class 0 (benign) errs uniformly; harmful classes are missed as
    class 0 half of the time and otherwise confused uniformly among the other harmful ones."""
    e = np.zeros((k, k))
    if k == 1:
        return e
    e[0, 1:] = 1.0 / (k - 1)
    for c in range(1, k):
        if k == 2:
            e[c, 0] = 1.0
            continue
        e[c, 0] = 0.5
        others = [j for j in range(1, k) if j != c]
        e[c, others] = 0.5 / len(others)
    return e


def _confusion(diag: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Row-stochastic matrix with the given diagonal and off-diagonal shape ``profile``."""
    k = len(diag)
    c = profile * (1.0 - diag)[:, None]
    c[np.arange(k), np.arange(k)] = diag
    return c


def _sample_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (n x K), vectorised."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _expected_accuracy(conf: np.ndarray, mix: np.ndarray) -> float:
    return float(np.dot(mix, np.diag(conf)))
