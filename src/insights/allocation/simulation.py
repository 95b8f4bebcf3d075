"""Judgments drawn on demand from a simulated operation's truth, for policy replay with known
truth (:func:`insights.allocation.replay.replay` then scores against the true labels)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.synthetic import Simulation

__all__ = ["draw_judgments"]


def draw_judgments(sim: Simulation, per_item: int = 20, *, n_items: int | None = None,
                   seed: int = 0, humans_only: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Draw ``per_item`` fresh judgments for items of a simulated operation.

    Each item gets ``per_item`` distinct annotators of its market (at most the market's pool),
    drawn without replacement with probability proportional to ``capacity_per_day``
    (Efraimidis-Spirakis keys :math:`u^{1/w}`); each gives a label drawn from its true
    confusion row (``sim.truth.confusions[annotator][true class]``). The planted effects are
    in those (effective) matrices; timing is not simulated.

    Parameters
    ----------
    sim : Simulation
    per_item : int, default 20
    n_items : int, optional
        Items drawn at random from ``sim.items`` (default: all).
    seed : int, default 0
    humans_only : bool, default True
        Leave the model annotator (kind ``model``) out of the pools.

    Returns
    -------
    labels : DataFrame
        ``item_id``, ``annotator_id``, ``label``, ``market``.
    truth : DataFrame
        ``item_id``, ``label``: the true labels (use as gold: every item has it).
    """
    rng = np.random.default_rng(seed)
    items = sim.items[["item_id", "market"]]
    if n_items is not None and n_items < len(items):
        items = items.iloc[np.sort(rng.choice(len(items), n_items, replace=False))]
    true = sim.truth.true_labels.reindex(items["item_id"]).to_numpy()
    classes = list(sim.truth.label_set)
    true_code = pd.Index(classes).get_indexer(true)
    ann = sim.annotators
    if humans_only and "kind" in ann.columns:
        ann = ann[ann["kind"] != "model"]
    ann = ann[ann["annotator_id"].isin(list(sim.truth.confusions))]
    out = []
    for market, grp in items.groupby("market", sort=True):
        pool = ann[ann["market"] == market]
        if pool.empty:
            continue
        ids = pool["annotator_id"].to_numpy()
        w = pd.to_numeric(pool.get("capacity_per_day", pd.Series(1.0, index=pool.index)),
                          errors="coerce").fillna(1.0).to_numpy(float)
        conf = np.stack([sim.truth.confusions[a] for a in ids])           # (A, K, K)
        cum = np.cumsum(conf, axis=2)
        rows = grp.index.to_numpy()
        pos = items.index.get_indexer(rows)
        m = len(rows)
        k = min(per_item, len(ids))
        keys = rng.random((m, len(ids))) ** (1.0 / w[None, :])
        chosen = np.argsort(-keys, axis=1)[:, :k]                          # (m, k)
        t = np.repeat(true_code[pos], k)
        a = chosen.ravel()
        u = rng.random(m * k)
        lab = (u[:, None] > cum[a, t, :]).sum(axis=1)
        lab = np.minimum(lab, len(classes) - 1)
        out.append(pd.DataFrame({
            "item_id": np.repeat(grp["item_id"].to_numpy(), k),
            "annotator_id": ids[a],
            "label": np.asarray(classes, dtype=object)[lab],
            "market": market,
        }))
    labels = pd.concat(out, ignore_index=True)
    truth = pd.DataFrame({"item_id": items["item_id"].to_numpy(), "label": true})
    return labels, truth
