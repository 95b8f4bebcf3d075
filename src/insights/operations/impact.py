r"""Impact analysis: before/after an event, as a difference-in-differences against the rest.

For a group :math:`G` (a team, or a market) and a metric with one value :math:`y_{ij}` per
judgment :math:`i` of annotator :math:`j` (or per item, for cost), the effect of an event at
time :math:`t_0` is :math:`\delta` in the two-way fixed-effects regression

.. math:: y_{ij} = \alpha_j + \beta\,\mathrm{Post}_i + \delta\,G_j \mathrm{Post}_i
          + \varepsilon_{ij},

with one intercept :math:`\alpha_j` per annotator (so a change in who does the work is not
mistaken for an effect), :math:`\mathrm{Post}_i = 1[t_i \ge t_0]`, :math:`G_j = 1` for the
group's annotators and 0 for the *rest*: the other teams of the same market for a team, the
other markets for a market. :math:`\delta` is then the group's before/after change minus the
rest's (difference-in-differences; Angrist & Pischke 2009, ch. 5). Where there is no rest (the
whole operation, a market alone) the row is a plain before/after change :math:`\beta`. The
standard error is cluster-robust by annotator (Liang & Zeger 1986, with the usual
:math:`\frac{C}{C-1}\frac{N-1}{N-k}` small-sample factor; Bertrand, Duflo & Mullainathan 2004
show why serially correlated units must be clustered) and the 95 % interval and two-sided p
use Student's t with :math:`C - 1` degrees of freedom (:math:`C` clusters). For cost per item
the unit is the (group, item) pair, without annotator effects, with heteroskedasticity-robust
(HC1) errors. ``q`` is the Benjamini-Hochberg adjustment over the whole table.

Metrics, each in its own units: ``accuracy`` (share of judgments equal to the gold answer, on
gold of source ``benchmark``/``calibration``: arbitrated items are a selection of disputed
ones), ``agreement`` (share of the item's other judgments that agree), ``share_<class>`` (the
label mix), ``handle_seconds`` (mean seconds per judgment), ``cost_per_item`` (cost of the
group's judgments per item it labelled).

References
----------
Angrist, J. D. & Pischke, J.-S. (2009). Mostly Harmless Econometrics. Princeton.
Bertrand, M., Duflo, E. & Mullainathan, S. (2004). How much should we trust
differences-in-differences estimates? QJE 119(1), 249-275.
Liang, K.-Y. & Zeger, S. L. (1986). Biometrika 73(1), 13-22.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from insights.data import Dataset
from insights.operations._common import gold_of, judgments
from insights.trends.fdr import adjust

__all__ = ["impact_analysis", "did", "COLUMNS"]

COLUMNS = ["group", "level", "market", "metric", "design", "before", "after", "rest_before",
           "rest_after", "effect", "effect_low", "effect_high", "p", "q", "n_before",
           "n_after", "clusters", "event", "name"]


def _demean(v: np.ndarray, code: np.ndarray, n: int) -> np.ndarray:
    s = np.bincount(code, weights=v, minlength=n)
    c = np.bincount(code, minlength=n)
    return v - (s / np.maximum(c, 1))[code]


def did(y, post, treated, cluster=None, *, confidence: float = 0.95) -> dict:
    """The effect :math:`\\delta` of the module docstring with its interval and p-value.

    Parameters
    ----------
    y : array_like of float
    post, treated : array_like of bool
        After the event; in the group (all False: no rest, a before/after change).
    cluster : array_like, optional
        Annotator of each row: fixed effects and clustered errors. None: an intercept and a
        group dummy, HC1 errors.

    Returns
    -------
    dict
        ``effect, se, low, high, p, df, clusters`` (``nan`` when not estimable).
    """
    y = np.asarray(y, float)
    post = np.asarray(post, bool)
    g = np.asarray(treated, bool)
    ok = np.isfinite(y)
    y, post, g = y[ok], post[ok], g[ok]
    has_rest = bool((~g).any()) and bool(g.any())
    nan = {"effect": np.nan, "se": np.nan, "low": np.nan, "high": np.nan, "p": np.nan,
           "df": np.nan, "clusters": 0}
    if len(y) < 4:
        return nan
    if cluster is not None:
        code, uniq = pd.factorize(np.asarray(cluster)[ok])
        n_c = len(uniq)
        cols = [post.astype(float)] + ([(post & g).astype(float)] if has_rest else [])
        X = np.column_stack([_demean(c, code, n_c) for c in cols])
        yy = _demean(y, code, n_c)
        k_extra = 0
    else:
        code, n_c = None, 0
        cols = [np.ones(len(y)), post.astype(float)]
        if has_rest:
            cols += [g.astype(float), (post & g).astype(float)]
        X = np.column_stack(cols)
        yy = y
        k_extra = 0
    XtX = X.T @ X
    if np.linalg.matrix_rank(XtX) < X.shape[1]:
        return nan
    inv = np.linalg.inv(XtX)
    b = inv @ X.T @ yy
    e = yy - X @ b
    n, k = X.shape[0], X.shape[1] + k_extra
    if code is not None:
        scores = np.zeros((n_c, X.shape[1]))
        np.add.at(scores, code, X * e[:, None])
        meat = scores.T @ scores
        adj = n_c / max(n_c - 1, 1) * (n - 1) / max(n - k, 1)
        df = n_c - 1
    else:
        meat = (X * e[:, None] ** 2).T @ X
        adj = n / max(n - k, 1)
        df = n - k
    V = adj * inv @ meat @ inv
    se = float(np.sqrt(max(V[-1, -1], 0.0)))
    est = float(b[-1])
    if df < 1 or se == 0 or not np.isfinite(se):
        return {**nan, "effect": est, "clusters": n_c}
    tq = stats.t.ppf(0.5 + confidence / 2, df)
    p = float(2 * stats.t.sf(abs(est / se), df))
    return {"effect": est, "se": se, "low": est - tq * se, "high": est + tq * se, "p": p,
            "df": df, "clusters": n_c}


def _metric_frames(ds: Dataset, classes: list[str]) -> dict[str, pd.DataFrame]:
    """metric -> rows with ``y, labeled_at, annotator_id, team, market`` (+ ``item_id``)."""
    j = judgments(ds)
    j = j[j["kind"] != "model"]
    j = j.assign(label=j["label"].astype(str))
    base = ["annotator_id", "team", "market", "labeled_at"]
    out: dict[str, pd.DataFrame] = {}
    gold = gold_of(ds)
    gold = gold[gold["source"].isin(["benchmark", "calibration"])]
    if len(gold):
        g = j["item_id"].map(gold.set_index("item_id")["label"].astype(str))
        on = g.notna().to_numpy()
        out["accuracy"] = j.loc[on, base].assign(y=(j["label"] == g)[on].astype(float))
    n_item = j.groupby("item_id")["label"].transform("size").to_numpy()
    n_same = j.groupby(["item_id", "label"])["label"].transform("size").to_numpy()
    multi = n_item > 1
    out["agreement"] = j.loc[multi, base].assign(
        y=(n_same[multi] - 1) / (n_item[multi] - 1))
    for c in classes:
        out[f"share_{c}"] = j[base].assign(y=(j["label"] == c).astype(float))
    if "handle_seconds" in j.columns:
        out["handle_seconds"] = j.loc[j["handle_seconds"].notna(), base].assign(
            y=j["handle_seconds"].astype(float))
    if "cost" in j.columns:
        out["cost_per_item"] = j.loc[j["cost"].notna(), [*base, "item_id"]].assign(
            y=j["cost"].astype(float))
    return out


def _per_item(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """Cost per (group, item): summed cost, first time, the group's market."""
    g = df.groupby([key, "item_id"], sort=False)
    out = pd.DataFrame({"y": g["y"].sum(), "labeled_at": g["labeled_at"].min()})
    if key != "market":
        out["market"] = g["market"].first()
    return out.reset_index()


def impact_analysis(ds: Dataset, event, *, name: str = "event", metrics=None,
                    weeks: float | None = None, min_rows: int = 20,
                    confidence: float = 0.95) -> pd.DataFrame:
    """Before/after ``event`` for every team, market and the whole operation, every metric.

    Parameters
    ----------
    ds : Dataset
        Labels with ``labeled_at`` (and ``team``/``market`` for differences-in-differences).
    event : date-like
        The moment of the change (naive times are UTC).
    name : str
        The event's name, copied to every row.
    metrics : sequence of str, optional
        Subset of the metrics of the module docstring (default: every one the data allow).
    weeks : float, optional
        Only judgments within this many weeks before and after the event.
    min_rows : int, default 20
        Groups with fewer rows before or after are not estimated.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, one row per group x metric: ``before``/``after`` (the group's means),
        ``rest_before``/``rest_after``, ``effect`` (difference-in-differences, or the
        before/after change where ``design`` is ``before-after``) with ``effect_low``/
        ``effect_high`` (95 %), ``p`` and ``q`` (BH over the table).
    """
    if "labeled_at" not in ds.labels.columns:
        raise ValueError("impact analysis needs the labels column 'labeled_at' (a timestamp)")
    t0 = pd.Timestamp(event)
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
    frames = _metric_frames(ds, [str(c) for c in ds.label_set])
    if metrics is not None:
        unknown = set(metrics) - set(frames)
        if unknown:
            raise ValueError(f"unknown or unavailable metrics {sorted(unknown)}; available: "
                             f"{sorted(frames)}")
        frames = {m: frames[m] for m in metrics}
    rows = []
    for metric, df in frames.items():
        if weeks is not None:
            lo, hi = t0 - pd.Timedelta(weeks=weeks), t0 + pd.Timedelta(weeks=weeks)
            df = df[(df["labeled_at"] >= lo) & (df["labeled_at"] < hi)]
        per_item = metric == "cost_per_item"
        for level, key in (("all", None), ("market", "market"), ("team", "team")):
            if key is None:
                units = df.assign(_all="all")
                key_ = "_all"
            else:
                units, key_ = df, key
            if per_item:
                units = _per_item(units, key_)
            post_all = (units["labeled_at"] >= t0).to_numpy()
            for group in sorted(pd.unique(units[key_])):
                in_g = (units[key_] == group).to_numpy()
                if level == "team":
                    mkt = units.loc[in_g, "market"].mode().iat[0]
                    scope = (units["market"] == mkt).to_numpy()
                else:
                    mkt = group if level == "market" else "*"
                    scope = np.ones(len(units), bool)
                sub = units[scope]
                g, post = in_g[scope], post_all[scope]
                if (g & ~post).sum() < min_rows or (g & post).sum() < min_rows:
                    continue
                rest = ~g
                if rest.any() and ((rest & ~post).sum() < min_rows
                                   or (rest & post).sum() < min_rows):
                    rest = np.zeros_like(g)
                    sub, post, g = sub[g], post[g], g[g]
                y = sub["y"].to_numpy(float)
                r = did(y, post, g if rest.any() else np.zeros_like(g),
                        None if per_item else sub["annotator_id"].to_numpy(),
                        confidence=confidence)
                rows.append({
                    "group": group, "level": level, "market": mkt, "metric": metric,
                    "design": "diff-in-diff" if rest.any() else "before-after",
                    "before": float(y[g & ~post].mean()), "after": float(y[g & post].mean()),
                    "rest_before": float(y[rest & ~post].mean()) if rest.any() else np.nan,
                    "rest_after": float(y[rest & post].mean()) if rest.any() else np.nan,
                    "effect": r["effect"], "effect_low": r["low"], "effect_high": r["high"],
                    "p": r["p"], "n_before": int((g & ~post).sum()),
                    "n_after": int((g & post).sum()), "clusters": r["clusters"],
                    "event": t0, "name": name})
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "q"])
    out.insert(COLUMNS.index("q"), "q", adjust(out["p"].to_numpy(float)) if len(out) else [])
    return out[COLUMNS]
