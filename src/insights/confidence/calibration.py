r"""Calibration of item confidence, and which items to re-review.

* :func:`reliability_table` - the reliability diagram's data: per confidence bin, the mean
  confidence, the observed accuracy with a Wilson interval, and the count.
* :func:`expected_calibration_error` - :math:`\mathrm{ECE} = \sum_b \frac{n_b}{n}
  |\mathrm{acc}_b - \mathrm{conf}_b|` over equal-width bins (Guo et al. 2017).
* :class:`GoldCalibrator` - a calibration step fitted on gold items (isotonic regression of
  correctness on confidence, or temperature scaling of the class posteriors), applied to all
  items and reported as such.
* :func:`errors_caught` - how many of the wrong labels sit among the ``fraction`` least
  confident items ("errors caught by reviewing the 10% least confident items").
* :func:`review_list` - items ordered by expected errors removed per review.
* :func:`calibration_table` - one row per method: accuracy, ECE, Brier score, errors caught.

References
----------
C. Guo, G. Pleiss, Y. Sun, K. Q. Weinberger. On Calibration of Modern Neural Networks.
ICML 2017. B. Zadrozny and C. Elkan. Transforming classifier scores into accurate multiclass
probability estimates. KDD 2002 (isotonic calibration).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression

from insights.stats import wilson_interval

__all__ = [
    "reliability_table",
    "expected_calibration_error",
    "GoldCalibrator",
    "errors_caught",
    "review_list",
    "calibration_table",
    "confidence_and_correct",
]


def confidence_and_correct(probas: pd.DataFrame, truth: pd.Series
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Confidence (max posterior) and correctness of the argmax, on items with a truth.

    Parameters
    ----------
    probas : DataFrame
        item_id x class posteriors.
    truth : Series
        item_id -> true (or gold) class; items missing from either side are dropped.
    """
    common = probas.index.intersection(truth.index)
    p = probas.loc[common]
    cls = np.asarray(p.columns, dtype=object)
    arr = p.to_numpy(dtype=float)
    chosen = cls[np.argmax(arr, axis=1)]
    correct = chosen == truth.loc[common].astype(str).to_numpy(dtype=object)
    return arr.max(axis=1), correct.astype(bool)


def reliability_table(confidence, correct, n_bins: int = 10, level: float = 0.95
                      ) -> pd.DataFrame:
    """Reliability diagram data over ``n_bins`` equal-width confidence bins on [0, 1].

    Returns
    -------
    DataFrame
        One row per non-empty bin: ``lower``, ``upper`` (bin edges), ``n``,
        ``confidence`` (mean), ``accuracy`` (observed), ``acc_lower``, ``acc_upper``
        (Wilson interval at ``level``), ``gap`` (accuracy - confidence).
    """
    conf = np.asarray(confidence, dtype=float)
    corr = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    b = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)
    n = np.bincount(b, minlength=n_bins)
    sc = np.bincount(b, weights=conf, minlength=n_bins)
    sa = np.bincount(b, weights=corr, minlength=n_bins)
    keep = n > 0
    nk = n[keep]
    lo, hi = wilson_interval(sa[keep], nk, confidence=level)
    return pd.DataFrame({
        "lower": edges[:-1][keep], "upper": edges[1:][keep], "n": nk,
        "confidence": sc[keep] / nk, "accuracy": sa[keep] / nk,
        "acc_lower": lo, "acc_upper": hi, "gap": sa[keep] / nk - sc[keep] / nk,
    })


def expected_calibration_error(confidence, correct, n_bins: int = 10) -> float:
    r"""ECE over equal-width bins: :math:`\sum_b \frac{n_b}{n}|\bar a_b - \bar c_b|`."""
    t = reliability_table(confidence, correct, n_bins=n_bins)
    if t.empty:
        return float("nan")
    return float((t["n"] * t["gap"].abs()).sum() / t["n"].sum())


def errors_caught(confidence, correct, fraction: float = 0.1) -> dict:
    """Errors among the ``fraction`` least confident items.

    Ties in confidence are broken by position (stable sort), so the result is deterministic.

    Returns
    -------
    dict
        ``n_reviewed``, ``errors_caught``, ``errors_total``, ``share_caught``
        (caught / total; NaN without errors).
    """
    conf = np.asarray(confidence, dtype=float)
    wrong = ~np.asarray(correct, dtype=bool)
    k = int(np.ceil(fraction * len(conf)))
    order = np.argsort(conf, kind="stable")[:k]
    caught = int(wrong[order].sum())
    total = int(wrong.sum())
    return {"n_reviewed": k, "errors_caught": caught, "errors_total": total,
            "share_caught": caught / total if total else float("nan")}


class GoldCalibrator(BaseEstimator):
    """Recalibrate item posteriors on gold items.

    ``method="isotonic"``: isotonic regression of correctness on confidence (monotone, so the
    ranking of items is kept); the chosen class's probability becomes the calibrated value and
    the other classes share the rest in their original proportions. ``method="temperature"``:
    one temperature :math:`T` with :math:`p \\propto p^{1/T}` minimising the gold items'
    negative log-likelihood (Guo et al. 2017).

    Fit it on posteriors that did **not** see the gold labels (e.g.
    ``HierarchicalDawidSkene.gold_probas_``), otherwise gold items look perfectly calibrated.

    Parameters
    ----------
    method : {"isotonic", "temperature"}, default "isotonic"

    Attributes
    ----------
    temperature_ : float (temperature only)
    isotonic_ : IsotonicRegression (isotonic only)
    n_gold_ : int
    """

    def __init__(self, method: str = "isotonic"):
        self.method = method

    def fit(self, probas: pd.DataFrame, gold: pd.Series) -> GoldCalibrator:
        """``probas``: item x class posteriors; ``gold``: item_id -> gold class."""
        if self.method not in ("isotonic", "temperature"):
            raise ValueError(f"method must be 'isotonic' or 'temperature', got {self.method!r}")
        common = probas.index.intersection(gold.index)
        if len(common) == 0:
            raise ValueError("no gold item has a posterior: cannot fit a calibration")
        self.n_gold_ = len(common)
        p = probas.loc[common]
        if self.method == "isotonic":
            conf, corr = confidence_and_correct(p, gold)
            self.isotonic_ = IsotonicRegression(y_min=1.0 / p.shape[1], y_max=1.0,
                                                out_of_bounds="clip").fit(conf, corr)
        else:
            cls = pd.Index(p.columns)
            y = cls.get_indexer(gold.loc[common].astype(str))
            logp = np.log(np.clip(p.to_numpy(dtype=float), 1e-300, None))

            def nll(log_t):
                z = logp / np.exp(log_t)
                z = z - z.max(axis=1, keepdims=True)
                lz = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
                return -lz[np.arange(len(y)), y].mean()

            res = minimize_scalar(nll, bounds=(-3, 3), method="bounded")
            self.temperature_ = float(np.exp(res.x))
        return self

    def transform(self, probas: pd.DataFrame) -> pd.DataFrame:
        """Calibrated posteriors (same index and columns; the argmax is unchanged)."""
        arr = probas.to_numpy(dtype=float)
        if self.method == "temperature":
            z = np.log(np.clip(arr, 1e-300, None)) / self.temperature_
            z -= z.max(axis=1, keepdims=True)
            out = np.exp(z)
            out /= out.sum(axis=1, keepdims=True)
        else:
            rows = np.arange(len(arr))
            k = np.argmax(arr, axis=1)
            c = arr[rows, k]
            new = self.isotonic_.predict(c)
            rest = 1.0 - c
            scale = np.where(rest > 0, (1.0 - new) / np.where(rest > 0, rest, 1.0), 0.0)
            out = arr * scale[:, None]
            K = arr.shape[1]
            out[rest <= 0] = (1.0 - new[rest <= 0, None]) / max(K - 1, 1)
            out[rows, k] = new
        return pd.DataFrame(out, index=probas.index, columns=probas.columns)


def review_list(probas: pd.DataFrame, cost: pd.Series | None = None,
                reviewer_accuracy: float = 1.0, budget: int | None = None,
                exclude=None, lower: pd.Series | None = None) -> pd.DataFrame:
    r"""Items to re-review, ordered by expected errors removed per unit of review cost.

    An item labelled with confidence :math:`c` is wrong with probability :math:`1 - c`; a
    reviewer with accuracy :math:`r` replaces the label, leaving an error probability of
    :math:`1 - r`, so a review removes :math:`r - c` expected errors (items with
    :math:`r \le c` are not worth reviewing and are left out). Divided by the item's review
    cost (default 1), ties broken by item order.

    Parameters
    ----------
    probas : DataFrame
        item_id x class posteriors.
    cost : Series, optional
        item_id -> review cost (default 1 per item).
    reviewer_accuracy : float, default 1.0
    budget : int, optional
        Keep only the first ``budget`` items.
    exclude : index-like, optional
        Items not to list (e.g. gold items).
    lower : Series, optional
        item_id -> lower credible bound of the confidence, copied into the output.

    Returns
    -------
    DataFrame
        Index item_id; ``label``, ``confidence``, ``expected_errors_removed``, ``cost``,
        ``per_cost``, ``cumulative_errors_removed`` (+ ``lower``).
    """
    arr = probas.to_numpy(dtype=float)
    cls = np.asarray(probas.columns, dtype=object)
    conf = arr.max(axis=1)
    out = pd.DataFrame({"label": cls[np.argmax(arr, axis=1)], "confidence": conf},
                       index=probas.index)
    if lower is not None:
        out["lower"] = lower.reindex(out.index).to_numpy()
    out["expected_errors_removed"] = reviewer_accuracy - conf
    c = (pd.Series(1.0, index=out.index) if cost is None
         else cost.reindex(out.index).fillna(1.0).astype(float))
    out["cost"] = c.to_numpy()
    out["per_cost"] = out["expected_errors_removed"] / out["cost"]
    if exclude is not None:
        out = out.loc[~out.index.isin(pd.Index(exclude))]
    out = out.loc[out["expected_errors_removed"] > 0]
    order = np.lexsort((np.arange(len(out)), -out["per_cost"].to_numpy()))
    out = out.iloc[order]
    if budget is not None:
        out = out.iloc[:budget]
    out["cumulative_errors_removed"] = out["expected_errors_removed"].cumsum()
    return out


def calibration_table(probas: dict, truth: pd.Series, n_bins: int = 10,
                      fraction: float = 0.1) -> pd.DataFrame:
    """Per method: accuracy, ECE, Brier score and errors caught in the least confident items.

    Parameters
    ----------
    probas : dict
        Method name -> item x class posterior DataFrame (e.g. MV vote shares, DS, this model;
        use posteriors that did not see ``truth``).
    truth : Series
        item_id -> true class (gold, or the simulator's truth).
    fraction : float
        Share of least confident items reviewed for ``errors_caught``.

    Returns
    -------
    DataFrame
        Index method; ``n``, ``accuracy``, ``ece``, ``brier``, ``mean_confidence``,
        ``errors_total``, ``errors_caught``, ``share_caught``.
    """
    rows = {}
    for name, p in probas.items():
        common = p.index.intersection(truth.index)
        conf, corr = confidence_and_correct(p.loc[common], truth)
        arr = p.loc[common].to_numpy(dtype=float)
        y = pd.Index(p.columns).get_indexer(truth.loc[common].astype(str))
        onehot = np.zeros_like(arr)
        ok = y >= 0
        onehot[np.flatnonzero(ok), y[ok]] = 1.0
        ec = errors_caught(conf, corr, fraction)
        rows[name] = {
            "n": len(common), "accuracy": float(corr.mean()) if len(corr) else np.nan,
            "ece": expected_calibration_error(conf, corr, n_bins),
            "brier": float(((arr - onehot) ** 2).sum(axis=1).mean()) if len(corr) else np.nan,
            "mean_confidence": float(conf.mean()) if len(conf) else np.nan,
            "errors_total": ec["errors_total"], "errors_caught": ec["errors_caught"],
            "share_caught": ec["share_caught"],
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "method"
    return out
