"""The estimator base class of the truth-inference models.

Every estimator converts its input once with :func:`insights.data.as_encoded` and then works on
integer codes and the sparse item x (annotator, label) incidence matrix. This module holds the
base class (``fit``/``fit_predict``/``fit_predict_proba``, parameter validation and the
``labels_``/``probas_`` frames). The EM primitives live in the public module
:mod:`insights.reliability.em` and are re-exported here for older imports.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions  # noqa: F401

from insights.data import Encoded, as_encoded
from insights.reliability.em import (  # noqa: F401 - re-exported for older imports
    LOG_FLOOR,
    argmax_first,
    clamp_gold,
    e_step,
    expected_counts,
    log_likelihood_matrix,
    log_normalize,
    normalize_clamped,
    safe_log,
    soft_majority,
)

__all__ = ["Aggregator", "ConvergenceWarning", "LOG_FLOOR", "safe_log", "log_normalize",
           "soft_majority", "clamp_gold", "expected_counts", "log_likelihood_matrix",
           "e_step", "normalize_clamped", "argmax_first"]


class Aggregator(BaseEstimator):
    """Base class: a truth-inference estimator over a long labels table.

    Subclasses implement ``_fit_encoded(enc) -> posteriors`` (items x classes) and may set
    their own learned attributes there. :meth:`fit` then sets

    ``classes_`` : ndarray of str
        Class labels, in the encoding's order (the declared label set, else sorted).
    ``item_ids_``, ``annotator_ids_`` : ndarray
        Ids in code order (items with at least one judgment; annotators with one).
    ``probas_`` : DataFrame
        item_id x class posterior probabilities (rows sum to 1).
    ``labels_`` : Series
        item_id -> most probable class. Exact ties go to the first class in ``classes_``.

    All models here are transductive (they label the items they were fitted on), so, like
    scikit-learn's clusterers, they offer :meth:`fit_predict` and :meth:`fit_predict_proba`
    and no ``predict`` that would silently refit. Hyper-parameters are checked at the start
    of :meth:`fit` against ``_parameter_constraints`` (scikit-learn's validation: a bad value
    raises ``sklearn.utils._param_validation.InvalidParameterError``, a ``ValueError``, naming
    the parameter, the value and what is allowed).
    """

    _parameter_constraints: dict = {}

    def fit(self, labels, gold: pd.DataFrame | None = None, *, classes=None):
        """Fit on a labels table.

        Parameters
        ----------
        labels : DataFrame, Dataset or Encoded
            Long table with ``item_id``, ``annotator_id``, ``label`` (a :class:`Dataset`
            brings its own gold and label set; an :class:`Encoded` is used as is).
        gold : DataFrame, optional
            ``item_id``, ``label``. Gold items are clamped to their gold class (also during
            EM), so they anchor the annotators' parameters.
        classes : sequence of str, optional
            The label set, in order (default: the data's, sorted).

        Returns
        -------
        self
        """
        self._check_params()
        enc = self._prepare(labels, gold, classes)
        post = self._fit_encoded(enc)
        self._set_outputs(post)
        return self

    def _check_params(self) -> None:
        """Validate the hyper-parameters (``_parameter_constraints``, then
        :meth:`_check_extra_params` for what those cannot express)."""
        self._validate_params()
        self._check_extra_params()

    def _check_extra_params(self) -> None:
        """Checks beyond ``_parameter_constraints`` (override; raise ``ValueError``)."""

    def _prepare(self, labels, gold, classes) -> Encoded:
        """Encode the input once and set ``classes_``, ``item_ids_``, ``annotator_ids_``."""
        enc = as_encoded(labels, gold=gold, classes=classes)
        if enc.n_judgments == 0:
            raise ValueError("no judgments to aggregate")
        self.classes_ = np.asarray(enc.classes, dtype=object)
        self.item_ids_ = np.asarray(enc.item_ids, dtype=object)
        self.annotator_ids_ = np.asarray(enc.annotator_ids, dtype=object)
        return enc

    def _set_outputs(self, post: np.ndarray) -> None:
        # dtype=object: the ids are already strings; letting pandas infer a string dtype
        # would copy every id again (a tenth of the whole fit at 1e6 judgments)
        idx = pd.Index(self.item_ids_, name="item_id", dtype=object)
        self.probas_ = pd.DataFrame(post, index=idx, columns=pd.Index(self.classes_,
                                                                        name="class"))
        self.labels_ = pd.Series(self.classes_[self._decide(post)], index=idx, name="label",
                                 dtype=object)

    def _decide(self, post: np.ndarray) -> np.ndarray:
        return argmax_first(post)

    def _fit_encoded(self, enc: Encoded) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit_predict(self, labels, gold=None, **fit_params) -> pd.Series:
        """Fit on ``labels`` and return ``labels_`` (item_id -> class)."""
        return self.fit(labels, gold, **fit_params).labels_

    def fit_predict_proba(self, labels, gold=None, **fit_params) -> pd.DataFrame:
        """Fit on ``labels`` and return ``probas_`` (item_id x class)."""
        return self.fit(labels, gold, **fit_params).probas_

    # helpers for EM subclasses ---------------------------------------------------------
    def _annotator_series(self, values, name: str) -> pd.Series:
        return pd.Series(values, index=pd.Index(self.annotator_ids_, name="annotator_id"),
                         name=name)

    def _warn_not_converged(self, n_iter: int) -> None:
        warnings.warn(
            f"{type(self).__name__} did not converge in {n_iter} iterations "
            f"(tol={getattr(self, 'tol', None)}); increase max_iter or tol",
            ConvergenceWarning, stacklevel=3)


