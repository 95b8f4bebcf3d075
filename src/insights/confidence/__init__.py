"""Calibrated item confidence from a hierarchical (annotator / team / market) model.

* :class:`HierarchicalDawidSkene` - Dawid-Skene with confusions pooled within team and market;
  ``inference="nuts"`` (PyMC + nutpie) or ``"em"`` (Laplace/empirical-Bayes EM, for scale).
* :mod:`~insights.confidence.calibration` - reliability diagram data, expected calibration
  error, a gold-fitted calibration step, errors caught by reviewing the least confident items,
  and the re-review list.
* :mod:`~insights.confidence.predictive` - held-out judgments: how well a model's annotator
  confusions predict labels it has not seen (model comparison without gold).
* :mod:`~insights.confidence.plots` - the report's figures.
* :func:`simulate_operation` - the model's generative story with spammers, for tests.
"""

from __future__ import annotations

from insights.confidence.calibration import (
    GoldCalibrator,
    calibration_table,
    confidence_and_correct,
    errors_caught,
    expected_calibration_error,
    reliability_table,
    review_list,
)
from insights.confidence.hierarchical import (
    DiagnosticsWarning,
    HierarchicalDawidSkene,
    numba_cache_dir,
)
from insights.confidence.predictive import heldout_log_likelihood, predictive_log_likelihood
from insights.confidence.simulate import SimulatedOperation, simulate_operation

__all__ = [
    "HierarchicalDawidSkene",
    "DiagnosticsWarning",
    "numba_cache_dir",
    "GoldCalibrator",
    "calibration_table",
    "confidence_and_correct",
    "errors_caught",
    "expected_calibration_error",
    "reliability_table",
    "review_list",
    "heldout_log_likelihood",
    "predictive_log_likelihood",
    "SimulatedOperation",
    "simulate_operation",
]
