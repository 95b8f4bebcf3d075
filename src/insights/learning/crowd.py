"""Learning from crowds: a content classifier trained on the judgment log, noise-aware.

:class:`CrowdClassifier` trains any scikit-learn classifier on item content (the default
pipelines of :mod:`insights.learning.features`) from crowd judgments, with one of

``raykar`` (default)
    The joint EM of Raykar et al. (2010): the classifier's prediction is each item's prior
    inside Dawid-Skene, and the classifier and the annotators' confusion matrices are refitted
    in turn. The prior of an item is its *out-of-fold* prediction (a classifier never sets the
    prior of an item it was trained on), so an item's own noisy label cannot confirm itself.
``soft``
    Soft targets: the classifier is fitted once on Dawid-Skene posteriors (every item enters
    once per class, weighted by its posterior probability).
``dawid-skene``, ``majority``
    Baselines: hard Dawid-Skene labels, hard majority-vote labels (ties to the first class).
``gold``
    Baseline: the gold labels of the items that have one (needs ``gold``).

Every method also yields cross-fitted out-of-fold probabilities for every training item
(``oof_proba_``): K-fold over items, each fold scored by a model trained on the other folds'
targets.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from insights.data import Encoded, as_encoded
from insights.learning._em import item_prior_em
from insights.learning.features import content_columns, default_classifier
from insights.reliability import DawidSkene, MajorityVote
from insights.reliability.em import safe_log

__all__ = ["CrowdClassifier", "METHODS", "DEFAULT_METHOD", "align_content", "fit_weighted"]

logger = logging.getLogger(__name__)

#: Training targets accepted by :class:`CrowdClassifier` (``method``).
METHODS = ("raykar", "soft", "dawid-skene", "majority", "gold")
#: The default ``method``: on the simulated sparse operation with learnable text (five seeds,
#: ``tests/learning/test_simulated.py``) it tests 3.7 points above the majority-vote-trained
#: baseline (2.6 above ``soft`` on seeds 0-2); on ``rodrigues_sentiment_text`` all methods are
#: within one interval of each other (README, "Learning").
DEFAULT_METHOD = "raykar"
_MIN_WEIGHT = 1e-3  # soft-target rows lighter than this are dropped (cost, not accuracy)
_PROBA_FLOOR = 1e-4  # a classifier probability used as a prior never vetoes a class


def fit_weighted(estimator, X: pd.DataFrame, targets: np.ndarray, classes: np.ndarray):
    """Fit ``estimator`` on soft targets: each item once per class with weight ``T[i, k]``.

    Rows lighter than 1e-3 are dropped. For a :class:`~sklearn.pipeline.Pipeline` the
    weights go to its last step (``<step>__sample_weight``).
    """
    rows, cols = np.nonzero(targets > _MIN_WEIGHT)
    w = targets[rows, cols]
    Xr = X.iloc[rows]
    y = classes[cols]
    # one BLAS thread: L-BFGS makes many tiny BLAS calls, and OpenBLAS threads spinning on
    # a busy machine made a 3.6 s fit take 176 s on the 2-core development machine
    with threadpool_limits(limits=1, user_api="blas"):
        if isinstance(estimator, Pipeline):
            estimator.fit(Xr, y, **{f"{estimator.steps[-1][0]}__sample_weight": w})
        else:
            estimator.fit(Xr, y, sample_weight=w)
    return estimator


def _proba(estimator, X: pd.DataFrame, classes: np.ndarray) -> np.ndarray:
    """``predict_proba`` aligned to ``classes`` (a class unseen in training gets 0)."""
    p = estimator.predict_proba(X)
    out = np.zeros((len(X), len(classes)))
    pos = pd.Index(classes).get_indexer(np.asarray(estimator.classes_, dtype=object))
    out[:, pos] = p
    return out


def align_content(items: pd.DataFrame, item_ids: np.ndarray, columns: Sequence[str], *,
                  text: bool, source: str = "items") -> pd.DataFrame:
    """Content rows of ``items`` in the order of ``item_ids`` (a new frame; input untouched).

    Raises
    ------
    ValueError
        A missing content column, or a labeled item with no row in ``items`` (named with the
        count of such items).
    """
    if "item_id" not in items.columns:
        raise ValueError(f"{source}: missing required column 'item_id'")
    missing = [c for c in columns if c not in items.columns]
    if missing:
        raise ValueError(f"{source}: missing content column {missing[0]!r}; columns are "
                         f"{list(items.columns)}")
    clean = clean_content(items[["item_id", *columns]], columns, text=text, source=source)
    table = clean.drop_duplicates("item_id").set_index("item_id")
    pos = table.index.get_indexer(pd.Index(item_ids))
    if (pos < 0).any():
        bad = np.asarray(item_ids)[pos < 0]
        raise ValueError(f"{source}: labeled item {bad[0]!r} has no row ({len(bad):,} labeled "
                         f"items have none); every labeled item needs its content")
    return table[list(columns)].iloc[pos].reset_index(drop=True)


def clean_content(X: pd.DataFrame, columns: Sequence[str], *, text: bool,
                  source: str = "items") -> pd.DataFrame:
    """A copy with the content columns checked: a text column to ``str`` (missing -> ""),
    numeric columns parsed as floats (the first bad or empty value named with its row)."""
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(f"{source}: missing content column {missing[0]!r}; columns are "
                         f"{list(X.columns)}")
    X = X.copy()
    for c in columns:
        col = X[c]
        if text:
            X[c] = col.fillna("").astype(str)
            continue
        num = pd.to_numeric(col, errors="coerce")
        bad = num.isna().to_numpy()
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{source} row {r + 1:,}: column {c!r} has {col.iat[r]!r}; "
                             f"expected a number")
        X[c] = num.astype(float)
    return X


class CrowdClassifier(ClassifierMixin, BaseEstimator):
    r"""A content classifier trained on crowd judgments (learning from crowds).

    Model (``method="raykar"``, Raykar et al. 2010): item ``i`` with content :math:`x_i` has
    class :math:`z_i` with :math:`P(z_i=t \mid x_i) = f_t(x_i)` (the classifier); annotator
    ``j`` answers ``k`` with probability :math:`\pi_j[z_i, k]` (Dawid-Skene). EM alternates

    .. math::

        T_{it} &\propto \tilde f_t(x_i) \prod_{j,k} \pi_j[t,k]^{N_{ijk}} \\
        \pi_j[t,k] &\propto \sum_i N_{ijk} T_{it} + a_{jtk} \\
        f &= \arg\max_f \sum_i \sum_t T_{it} \log f_t(x_i)

    where :math:`\tilde f(x_i)` is the out-of-fold prediction (cross-fitting) and the
    pseudo-counts :math:`a` are those of :class:`~insights.reliability.DawidSkene`. It starts
    from the Dawid-Skene posteriors. The last line is a weighted fit: each item enters once per
    class with weight :math:`T_{it}`.

    Parameters
    ----------
    estimator : scikit-learn classifier, optional
        Any classifier taking the items DataFrame and ``sample_weight`` (a Pipeline gets the
        weight at its last step). Default: :func:`~insights.learning.features.default_classifier`
        for ``text_column`` / ``feature_columns``.
    method : {"raykar", "soft", "dawid-skene", "majority", "gold"}, default "raykar"
    text_column : str, optional
    feature_columns : sequence of str, optional
        Exactly one of the two names the content the default classifier reads.
    n_splits : int, default 5
        Folds of the cross-fitting (out-of-fold probabilities and Raykar's item priors).
    max_em_iter : int, default 3
        Classifier refits of the joint EM (each costs ``n_splits`` classifier fits); it stops
        earlier when fewer than 0.1 % of the items change label.
    alpha, shrinkage : float, default 0.01, 0.5
        Confusion-row pseudo-counts, as in :class:`~insights.reliability.DawidSkene`.
    random_state : int, default 0
        Seed of the fold assignment.
    progress : bool, default False
        Show a tqdm bar of the classifier fits (``insights learn`` turns it on).

    Attributes
    ----------
    classes_ : ndarray of str
    estimator_ : fitted classifier (on every training item's final targets)
    targets_ : DataFrame
        item_id x class: the final training targets (soft for ``raykar``/``soft``).
    oof_proba_ : DataFrame
        item_id x class: out-of-fold predicted probabilities of every training item.
    crowd_ : fitted DawidSkene (or MajorityVote for ``majority``)
        The crowd-only aggregation the targets start from.
    confusions_ : ndarray (n_annotators, K, K)
        ``raykar``: the jointly estimated confusion matrices.
    n_em_iter_ : int

    References
    ----------
    V. C. Raykar, S. Yu, L. H. Zhao, G. H. Valadez, C. Florin, L. Bogoni and L. Moy.
    Learning From Crowds. JMLR 11:1297-1322, 2010.
    """

    def __init__(self, estimator=None, method: str = DEFAULT_METHOD,
                 text_column: str | None = None, feature_columns: Sequence[str] | None = None,
                 n_splits: int = 5, max_em_iter: int = 3, alpha: float = 0.01,
                 shrinkage: float = 0.5, random_state: int = 0, progress: bool = False):
        self.estimator = estimator
        self.method = method
        self.text_column = text_column
        self.feature_columns = feature_columns
        self.n_splits = n_splits
        self.max_em_iter = max_em_iter
        self.alpha = alpha
        self.shrinkage = shrinkage
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------------------------
    def _base_estimator(self):
        if self.estimator is not None:
            return self.estimator
        return default_classifier(self.text_column, self.feature_columns,
                                  random_state=self.random_state)

    def _columns(self) -> list[str] | None:
        if self.text_column is None and not self.feature_columns:
            return None
        return content_columns(self.text_column, self.feature_columns)

    def _content(self, items: pd.DataFrame, item_ids: np.ndarray) -> pd.DataFrame:
        cols = self._columns()
        if cols is None:  # a custom estimator reading the whole table
            table = items.drop_duplicates("item_id").set_index("item_id")
            pos = table.index.get_indexer(pd.Index(item_ids))
            if (pos < 0).any():
                raise ValueError(f"items: labeled item {item_ids[pos < 0][0]!r} has no row")
            return table.iloc[pos].reset_index()
        return align_content(items, item_ids, cols, text=self.text_column is not None)

    def _folds(self, n: int) -> list[np.ndarray]:
        k = min(self.n_splits, n)
        if k < 2:
            raise ValueError(f"n_splits={self.n_splits}: need at least 2 folds and 2 items")
        kf = KFold(n_splits=k, shuffle=True, random_state=self.random_state)
        return [test for _, test in kf.split(np.arange(n))]

    def _oof(self, X: pd.DataFrame, targets: np.ndarray, rows: np.ndarray,
             folds: list[np.ndarray]) -> np.ndarray:
        """Out-of-fold probabilities for ``X``; only ``rows`` (with targets) train."""
        out = np.zeros((len(X), len(self.classes_)))
        trainable = np.zeros(len(X), bool)
        trainable[rows] = True
        for test in folds:
            train = np.setdiff1d(np.flatnonzero(trainable), test, assume_unique=True)
            est = clone(self._base_estimator())
            fit_weighted(est, X.iloc[train], targets[train], self.classes_)
            out[test] = _proba(est, X.iloc[test], self.classes_)
            self._bar.update()
        return out

    # ------------------------------------------------------------------------------------
    def fit(self, items: pd.DataFrame, labels, gold: pd.DataFrame | None = None,
            classes: Sequence[str] | None = None):
        """Fit on item content and the judgment log.

        Parameters
        ----------
        items : DataFrame
            ``item_id`` and the content column(s). Every labeled item needs a row.
        labels : DataFrame, Dataset or Encoded
            The judgments (``item_id``, ``annotator_id``, ``label``).
        gold : DataFrame, optional
            ``item_id``, ``label``: clamped in the crowd models (like
            :class:`~insights.reliability.DawidSkene`) and the targets of ``method="gold"``.
            Leave it out to keep gold for evaluation.
        classes : sequence of str, optional

        Returns
        -------
        self
        """
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; expected one of {list(METHODS)}")
        enc = as_encoded(labels, gold=gold, classes=classes)
        self.classes_ = np.asarray(enc.classes, dtype=object)
        X = self._content(items, enc.item_ids)
        folds = self._folds(len(X))
        n_fits = len(folds) * ((self.max_em_iter + 1) if self.method == "raykar" else 1) + 1
        with tqdm(total=n_fits, desc=f"{self.method} classifier fits",
                  disable=not self.progress, leave=False) as self._bar:
            targets, rows = self._targets(enc, X, folds)
            if self.method != "raykar":
                self.oof_proba_ = self._frame(self._oof(X, targets, rows, folds),
                                              enc.item_ids)
            self.targets_ = self._frame(targets, enc.item_ids)
            self.estimator_ = fit_weighted(clone(self._base_estimator()), X.iloc[rows],
                                           targets[rows], self.classes_)
            self._bar.update()
        del self._bar
        return self

    def _frame(self, values: np.ndarray, item_ids) -> pd.DataFrame:
        return pd.DataFrame(values, index=pd.Index(item_ids, name="item_id", dtype=object),
                            columns=pd.Index(self.classes_, name="class"))

    def _targets(self, enc: Encoded, X: pd.DataFrame, folds) -> tuple[np.ndarray, np.ndarray]:
        K = enc.n_classes
        all_rows = np.arange(enc.n_items)
        self.n_em_iter_ = 0
        if self.method == "gold":
            rows = np.flatnonzero(enc.gold >= 0)
            if rows.size < 2:
                raise ValueError("method='gold' needs gold labels for at least 2 labeled items")
            T = np.zeros((enc.n_items, K))
            T[rows, enc.gold[rows]] = 1.0
            self.crowd_ = None
            return T, rows
        if self.method == "majority":
            self.crowd_ = MajorityVote().fit(enc)
            T = np.zeros((enc.n_items, K))
            T[all_rows, pd.Index(self.classes_).get_indexer(self.crowd_.labels_.to_numpy())] = 1
            return T, all_rows
        # soft targets are the posteriors themselves, so they are taken at the fixed point: on
        # a flat likelihood (a constant spammer) the default stop (log-likelihood change under
        # 1e-6 per judgment) can leave the class prior 0.15 away from it
        self.crowd_ = DawidSkene(alpha=self.alpha, shrinkage=self.shrinkage, tol=1e-9,
                                 max_iter=2000).fit(enc)
        post = self.crowd_.probas_.to_numpy()
        if self.method == "dawid-skene":
            T = np.zeros_like(post)
            T[all_rows, post.argmax(axis=1)] = 1.0
            return T, all_rows
        if self.method == "soft":
            return post, all_rows
        # raykar: classifier out-of-fold prediction as the item prior, refitted in turn
        conf = self.crowd_.confusions_
        oof = None
        for it in range(1, self.max_em_iter + 1):
            oof = self._oof(X, post, all_rows, folds)
            prior = np.maximum(oof, _PROBA_FLOOR)
            prior /= prior.sum(axis=1, keepdims=True)
            new, conf, _ = item_prior_em(enc, post, safe_log(prior), alpha=self.alpha,
                                         shrinkage=self.shrinkage)
            changed = float((new.argmax(1) != post.argmax(1)).mean())
            post = new
            self.n_em_iter_ = it
            logger.info("raykar EM iteration %d: %.2f%% of items changed label", it,
                        100 * changed)
            if changed < 1e-3:
                break
        self.confusions_ = conf
        # the out-of-fold probabilities of the final targets (what a held-out item gets)
        self.oof_proba_ = self._frame(self._oof(X, post, all_rows, folds), enc.item_ids)
        return post, all_rows

    # ------------------------------------------------------------------------------------
    def predict_proba(self, items: pd.DataFrame) -> np.ndarray:
        """Class probabilities (columns in ``classes_`` order) for the rows of ``items``."""
        cols = self._columns()
        X = (items if cols is None
             else clean_content(items, cols, text=self.text_column is not None))
        return _proba(self.estimator_, X, self.classes_)

    def predict(self, items: pd.DataFrame) -> np.ndarray:
        """Most probable class per row of ``items`` (ties to the first class)."""
        return self.classes_[self.predict_proba(items).argmax(axis=1)]
