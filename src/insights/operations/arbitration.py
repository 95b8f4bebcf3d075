r"""Arbitration: which disputed items an expert should decide next, and what decisions say.

**Queue.** For an item without gold whose consensus posterior is :math:`p_i` (e.g. Dawid-Skene's
``probas_``), publishing the consensus label :math:`\arg\max_k p_{ik}` is wrong with
probability :math:`1 - \max_k p_{ik}`; an expert decision replaces it by the right answer, so it
removes :math:`1 - \max_k p_{ik}` expected errors. The queue ranks items by that number (ties:
more votes in dispute first, then item id) and shows the votes behind each. An item is
*disputed* when its judgments do not all agree.

**Outcomes.** From gold rows with ``source = arbitration``: a judgment on an arbitrated item is
*overturned* when its label differs from the expert's decision. The overturn rate of each team
and of each label given is reported with a Wilson interval (judgments on one item are not
independent, so the interval is a little optimistic when teams put several raters on an item).
With ``decided_at`` and ``labeled_at``, the time to decision (decision minus the item's first
judgment) per team's items and overall, as a median with its distribution-free order-statistic
interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.data import Dataset
from insights.operations._common import gold_of, judgments, median_interval, votes_text
from insights.stats import wilson_interval

__all__ = ["arbitration_queue", "arbitration_judgments", "overturn_rates", "time_to_decision"]


def arbitration_queue(ds: Dataset, posteriors: pd.DataFrame, *, top: int | None = 50,
                      min_expected: float = 0.0) -> pd.DataFrame:
    """Items to send to arbitration, most expected errors removed per decision first.

    Parameters
    ----------
    ds : Dataset
    posteriors : pandas.DataFrame
        item_id x class consensus posteriors.
    top : int or None, default 50
        Length of the queue (None: every candidate).
    min_expected : float, default 0
        Items whose expected errors removed is not above this are left out (items with gold
        are always left out: they need no decision).

    Returns
    -------
    pandas.DataFrame
        ``rank, item_id, market, consensus, confidence, expected_errors_removed, n_votes,
        disputed, votes`` (``"ok x2, spam x1"``), ``annotators`` (``id=label; ...``).
    """
    j = judgments(ds)
    gold = ds.gold
    post = posteriors
    if gold is not None and len(gold):
        post = post[~post.index.isin(gold["item_id"])]
    P = post.to_numpy(float)
    classes = np.asarray([str(c) for c in post.columns], dtype=object)
    conf = P.max(axis=1) if len(P) else np.array([])
    cand = pd.DataFrame({"item_id": post.index.to_numpy(),
                         "consensus": classes[P.argmax(axis=1)] if len(P) else [],
                         "confidence": conf, "expected_errors_removed": 1.0 - conf})
    cand = cand[cand["expected_errors_removed"] > min_expected]
    j = j[j["item_id"].isin(cand["item_id"])]
    cand = cand.assign(n_votes=cand["item_id"].map(j.groupby("item_id").size()).fillna(0)
                       .astype(int).to_numpy())
    out = cand.sort_values(["expected_errors_removed", "n_votes", "item_id"],
                           ascending=[False, False, True], kind="stable")
    if top is not None:
        out = out.head(top)
    # the votes behind each item, for the queue's items only
    j = j[j["item_id"].isin(out["item_id"])].sort_values(["item_id", "annotator_id"],
                                                         kind="stable")
    info = {}
    for item, sub in j.groupby("item_id", sort=False):
        labs = sub["label"].astype(str)
        info[item] = (sub["market"].mode().iat[0], labs.nunique() > 1, votes_text(labs),
                      "; ".join(f"{a}={lab}" for a, lab in zip(sub["annotator_id"], labs,
                                                                strict=True)))
    empty = (None, False, "", "")
    rows = [info.get(i, empty) for i in out["item_id"]]
    out = out.assign(market=[r[0] for r in rows], disputed=[bool(r[1]) for r in rows],
                     votes=[r[2] for r in rows], annotators=[r[3] for r in rows])
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    cols = ["rank", "item_id", "market", "consensus", "confidence", "expected_errors_removed",
            "n_votes", "disputed", "votes", "annotators"]
    return out[cols].reset_index(drop=True)


def arbitration_judgments(ds: Dataset) -> pd.DataFrame:
    """One row per judgment on an arbitrated item: ``item_id, annotator_id, team, market,
    label, decision, overturned`` (+ ``labeled_at``, ``decided_at`` when present)."""
    gold = gold_of(ds, "arbitration")
    if len(gold) == 0:
        return pd.DataFrame(columns=["item_id", "annotator_id", "team", "market", "label",
                                     "decision", "overturned"])
    j = judgments(ds)
    j = j[j["item_id"].isin(gold["item_id"])]
    g = gold.set_index("item_id")
    out = j[["item_id", "annotator_id", "team", "market", "label"]
            + (["labeled_at"] if "labeled_at" in j.columns else [])].copy()
    out["label"] = out["label"].astype(str)
    out["decision"] = out["item_id"].map(g["label"]).astype(str)
    out["overturned"] = out["label"] != out["decision"]
    if "decided_at" in g.columns:
        out["decided_at"] = out["item_id"].map(g["decided_at"])
    return out.reset_index(drop=True)


def overturn_rates(arb: pd.DataFrame, by: str = "team") -> pd.DataFrame:
    """Overturn rate of each ``team``, ``market``, ``annotator_id`` or given ``label``.

    Returns ``<by>, n_items, n_judgments, overturned, rate, rate_lo, rate_hi`` (Wilson 95 %),
    highest rate first.
    """
    if by not in ("team", "market", "annotator_id", "label"):
        raise ValueError(f"by must be team, market, annotator_id or label, got {by!r}")
    g = arb.groupby(by, sort=True)
    out = pd.DataFrame({"n_items": g["item_id"].nunique(), "n_judgments": g.size(),
                        "overturned": g["overturned"].sum().astype(int)}).reset_index()
    out["rate"] = out["overturned"] / out["n_judgments"]
    lo, hi = wilson_interval(out["overturned"], out["n_judgments"])
    out["rate_lo"], out["rate_hi"] = lo, hi
    return out.sort_values(["rate", by], ascending=[False, True], kind="stable").reset_index(
        drop=True)


def time_to_decision(arb: pd.DataFrame, by: str | None = "team") -> pd.DataFrame:
    """Hours from an item's first judgment to the arbitration decision.

    Per ``by`` group (the items a group judged; None: all items): ``n_items, median_hours``
    with ``median_lo/median_hi`` (order-statistic 95 % interval) and ``p90_hours``. Empty when
    ``labeled_at`` or ``decided_at`` is missing.
    """
    if not {"labeled_at", "decided_at"} <= set(arb.columns) or len(arb) == 0:
        return pd.DataFrame(columns=[by or "group", "n_items", "median_hours", "median_lo",
                                     "median_hi", "p90_hours"])
    first = arb.groupby("item_id")["labeled_at"].min()
    hours = (arb.groupby("item_id")["decided_at"].first() - first).dt.total_seconds() / 3600
    keys = arb[["item_id", by]].drop_duplicates() if by else \
        pd.DataFrame({"item_id": hours.index, "group": "all"})
    col = by or "group"
    rows = []
    for k, sub in keys.groupby(col, sort=True):
        h = hours.reindex(sub["item_id"]).to_numpy(float)
        med, lo, hi = median_interval(h)
        rows.append({col: k, "n_items": int(np.isfinite(h).sum()), "median_hours": med,
                     "median_lo": lo, "median_hi": hi,
                     "p90_hours": float(np.nanquantile(h, 0.9)) if np.isfinite(h).any()
                     else np.nan})
    return pd.DataFrame(rows)
