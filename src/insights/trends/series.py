"""Weekly series per market x queue x team: the raw material of every trend test.

One row per (level, market, queue, team, week). Levels aggregate the judgments of
``market`` alone, ``market/queue``, ``market/team`` and ``market/queue/team``; a dimension that
a level aggregates over is ``"*"``.

Weeks are Monday-based (UTC): ``week_start`` is the Monday 00:00 UTC of the judgment's
``labeled_at``, ``week`` the true 0-based index since the first week (missing weeks keep their
place). A trailing week covered by less than 6 days of data, and a leading one whose first
judgment comes more than a day after its Monday, are dropped as partial (a half week would look
like a volume collapse).

Columns
-------
gold_correct, gold_checked
    Judgments on gold items that match the gold answer, and all judgments on gold items.
est_correct, n_judgments
    Model-estimated accuracy: the sum over judgments of the posterior probability of the given
    label (Dawid-Skene ``probas_`` or another estimator's), over the number of judgments.
agree, agree_pairs
    Pairwise agreement: for each judgment, the other judgments of its item that give the same
    label, over the other judgments of its item (items judged once do not count).
handle_median
    Median ``handle_seconds``.
n_items, cost, cost_per_final_label
    Distinct items judged; total ``cost``; cost over items.
label_<class>
    Judgments giving each class (a class's label rate is ``label_<class> / n_judgments``).
final_<class>, n_final
    Items whose final (most probable) label is each class, counted in the week of the item's
    first judgment; only on levels without a team (an item's final label is not a team's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.stats import wilson_interval

__all__ = ["LEVELS", "prepare_judgments", "weekly_series", "posteriors_for"]

LEVELS: tuple[tuple[str, ...], ...] = (
    ("market",), ("market", "queue"), ("market", "team"), ("market", "queue", "team"))
DIMS = ("market", "queue", "team")


def posteriors_for(dataset, method: str = "dawid-skene") -> pd.DataFrame:
    """Item x class posteriors from an :mod:`insights.reliability` estimator (gold-clamped)."""
    from insights.reliability import make_aggregator

    est = make_aggregator(method)
    est.fit(dataset)  # a Dataset brings its gold, label set and (shared) encoding
    return est.probas_


def _week_start(ts: pd.Series) -> pd.Series:
    t = ts.dt.tz_convert("UTC") if getattr(ts.dt, "tz", None) is not None else \
        ts.dt.tz_localize("UTC")
    day = t.dt.floor("D")
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


def prepare_judgments(dataset, posteriors: pd.DataFrame | None = None,
                      drop_partial: bool = True) -> pd.DataFrame:
    """One row per judgment with market, queue, team, week and the per-judgment quantities
    (``gold_ok``, ``on_gold``, ``est_ok``, ``agree``, ``others``, ``final``).

    Missing ``market``/``queue``/``team`` columns are taken from the items and annotators
    tables, else set to ``"*"``.
    """
    lab = dataset.labels
    if "labeled_at" not in lab.columns:
        raise ValueError("weekly series need the labels column 'labeled_at' (a timestamp)")
    cols = ["item_id", "annotator_id", "label", "labeled_at"] + [
        c for c in ("market", "queue", "team", "handle_seconds", "cost") if c in lab.columns]
    df = lab[cols].copy()
    items = dataset.items
    ann = dataset.annotator_table() if "team" not in df.columns or "market" not in df.columns \
        else None
    for dim in DIMS:
        if dim in df.columns:
            df[dim] = df[dim].astype(object).where(df[dim].notna(), "*").astype(str)
            continue
        vals = None
        if items is not None and dim in items.columns and dim != "team":
            vals = df["item_id"].map(items.set_index("item_id")[dim])
        elif ann is not None and dim in ann.columns and dim != "queue":
            vals = df["annotator_id"].map(ann[dim])
        df[dim] = "*" if vals is None else vals.astype(object).where(vals.notna(), "*").astype(str)
    df["week_start"] = _week_start(df["labeled_at"])
    first = df["week_start"].min()
    df["week"] = ((df["week_start"] - first).dt.days // 7).astype(int)
    if drop_partial:
        last = df["week_start"].max()
        if df["labeled_at"].max() < last + pd.Timedelta(days=6):
            df = df[df["week_start"] < last]
        if len(df) and df["labeled_at"].min() > first + pd.Timedelta(days=1):
            df = df[df["week_start"] > first]
        first2 = df["week_start"].min()
        df = df.assign(week=((df["week_start"] - first2).dt.days // 7).astype(int))
    df = df.reset_index(drop=True)
    # gold
    if dataset.gold is not None and len(dataset.gold):
        g = df["item_id"].map(dataset.gold.set_index("item_id")["label"])
        df["on_gold"] = g.notna().to_numpy()
        df["gold_ok"] = (df["label"] == g).to_numpy() & df["on_gold"].to_numpy()
    else:
        df["on_gold"] = False
        df["gold_ok"] = False
    # posteriors and final labels
    if posteriors is not None:
        post = posteriors
        classes = [str(c) for c in post.columns]
        row = post.index.get_indexer(df["item_id"])
        col = pd.Index(classes).get_indexer(df["label"])
        P = post.to_numpy(dtype=float)
        ok = (row >= 0) & (col >= 0)
        est = np.full(len(df), np.nan)
        est[ok] = P[row[ok], col[ok]]
        df["est_ok"] = est
        final = np.array(classes, dtype=object)[np.argmax(P, axis=1)]
        df["final"] = np.where(row >= 0, final[np.maximum(row, 0)], None)
    else:
        df["est_ok"] = np.nan
        df["final"] = None
    # pairwise agreement with the item's other judgments
    n_item = df.groupby("item_id")["label"].transform("size").to_numpy()
    n_same = df.groupby(["item_id", "label"])["label"].transform("size").to_numpy()
    df["others"] = n_item - 1
    df["agree"] = n_same - 1
    return df


def _aggregate(df: pd.DataFrame, keys: list[str], classes: list[str]) -> pd.DataFrame:
    g = df.groupby(keys, sort=True, observed=True)
    out = pd.DataFrame({
        "n_judgments": g.size(),
        "gold_correct": g["gold_ok"].sum(),
        "gold_checked": g["on_gold"].sum(),
        "est_correct": g["est_ok"].sum(min_count=1),
        "est_n": g["est_ok"].count(),
        "agree": g["agree"].sum(),
        "agree_pairs": g["others"].sum(),
        "n_items": g["item_id"].nunique(),
    })
    out["handle_median"] = g["handle_seconds"].median() if "handle_seconds" in df else np.nan
    out["cost"] = g["cost"].sum() if "cost" in df else np.nan
    lab = pd.crosstab([df[k] for k in keys], df["label"]).reindex(columns=classes, fill_value=0)
    lab.columns = [f"label_{c}" for c in classes]
    out = out.join(lab)
    return out.reset_index()


def weekly_series(dataset, posteriors: pd.DataFrame | None = None, *,
                  levels=LEVELS, confidence: float = 0.95,
                  drop_partial: bool = True) -> pd.DataFrame:
    """The weekly table described in the module docstring, with Wilson intervals
    (:func:`insights.stats.wilson_interval`) on ``gold_accuracy`` and ``agreement``.

    Parameters
    ----------
    dataset : insights.data.Dataset
    posteriors : pandas.DataFrame, optional
        item_id x class posteriors (e.g. ``DawidSkene().fit(...).probas_``); without them the
        model-estimated accuracy and final labels are ``nan``.
    levels : sequence of tuples of {"market", "queue", "team"}
    confidence : float, default 0.95
    drop_partial : bool, default True
        Drop a partial first/last week (see the module docstring).
    """
    df = prepare_judgments(dataset, posteriors, drop_partial=drop_partial)
    if len(df) == 0:
        raise ValueError("no complete week of judgments: the data cover less than 6 days "
                         "(pass drop_partial=False to keep partial weeks)")
    classes = [str(c) for c in (dataset.label_set or sorted(pd.unique(df["label"])))]
    # an item's week and final label, for final-label counts
    first = df.sort_values("labeled_at").drop_duplicates("item_id")
    frames = []
    for level in levels:
        keys = [*level, "week"]
        agg = _aggregate(df, keys, classes)
        if "team" not in level and posteriors is not None:
            fin = pd.crosstab([first[k] for k in keys], first["final"]).reindex(
                columns=classes, fill_value=0)
            fin.columns = [f"final_{c}" for c in classes]
            fin["n_final"] = fin.sum(axis=1)
            agg = agg.merge(fin.reset_index(), on=keys, how="left")
        for dim in DIMS:
            if dim not in level:
                agg[dim] = "*"
        agg.insert(0, "level", "/".join(level))
        frames.append(agg)
    out = pd.concat(frames, ignore_index=True)
    week0 = df["week_start"].min() - pd.Timedelta(days=7) * int(df["week"].min())
    out["week_start"] = week0 + pd.to_timedelta(out["week"] * 7, unit="D")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["gold_accuracy"] = out["gold_correct"] / out["gold_checked"]
        out["est_accuracy"] = out["est_correct"] / out["est_n"]
        out["agreement"] = out["agree"] / out["agree_pairs"]
        out["cost_per_final_label"] = out["cost"] / out["n_items"]
    lo, hi = wilson_interval(out["gold_correct"], out["gold_checked"], confidence)
    out["gold_lo"], out["gold_hi"] = lo, hi
    lo, hi = wilson_interval(out["agree"], out["agree_pairs"], confidence)
    out["agreement_lo"], out["agreement_hi"] = lo, hi
    front = ["level", "market", "queue", "team", "week", "week_start"]
    out = out[front + [c for c in out.columns if c not in front]]
    return out.sort_values(front[:5], kind="stable").reset_index(drop=True)
