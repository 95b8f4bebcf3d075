"""A small simulator of the hierarchical annotation model, with known truth.

Used by the tests and ``benchmarks/confidence.py``: markets hold vendor teams, teams hold
annotators; each annotator's confusion row ``t`` is ``softmax`` of error log-odds (the correct
answer's logit pinned to 0) drawn as population mean + market + team + annotator offsets,
exactly the generative story of :class:`~insights.confidence.HierarchicalDawidSkene`. On top of
that, a share of annotators are *spammers* who answer from one fixed class distribution
whatever the truth (outside the model: the test that pooling does not hurt). Judgment volumes
per annotator are log-normal, so many annotators have fewer than 30 judgments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SimulatedOperation", "simulate_operation"]


@dataclass
class SimulatedOperation:
    """Simulated tables plus the truth.

    Attributes
    ----------
    labels : DataFrame
        ``item_id``, ``annotator_id``, ``label``, ``market``, ``team``.
    gold : DataFrame
        ``item_id``, ``label`` for the gold share of items (their true class).
    annotators : DataFrame
        Index ``annotator_id``; ``team``, ``market``, ``kind``, ``spammer``.
    truth : Series
        item_id -> true class.
    confusions : ndarray (n_annotators, K, K)
        True confusion matrices in ``annotators`` order.
    accuracy : Series
        annotator_id -> true accuracy :math:`\\sum_t \\rho_t \\pi_j[t, t]`.
    classes : list of str
    """

    labels: pd.DataFrame
    gold: pd.DataFrame
    annotators: pd.DataFrame
    truth: pd.Series
    confusions: np.ndarray
    accuracy: pd.Series
    classes: list


def _softmax_rows(eta: np.ndarray) -> np.ndarray:
    """(..., K, K-1) error log-odds -> (..., K, K) confusion rows (diagonal logit 0)."""
    K = eta.shape[-2]
    full = np.zeros(eta.shape[:-1] + (K,))
    rows = np.repeat(np.arange(K), K - 1)
    cols = np.array([k for t in range(K) for k in range(K) if k != t])
    full[..., rows, cols] = eta.reshape(eta.shape[:-2] + (K * (K - 1),))
    full -= full.max(axis=-1, keepdims=True)
    e = np.exp(full)
    return e / e.sum(axis=-1, keepdims=True)


def simulate_operation(
    n_items: int = 2000,
    n_annotators: int = 120,
    n_classes: int = 3,
    n_markets: int = 2,
    teams_per_market: int = 3,
    judgments_per_item: tuple[int, int] = (3, 5),
    spammer_share: float = 0.08,
    gold_share: float = 0.05,
    mean_log_odds: float = -2.6,
    market_sd: float = 0.3,
    team_sd: float = 0.5,
    annotator_sd: float = 0.7,
    volume_sd: float = 1.2,
    seed: int = 0,
) -> SimulatedOperation:
    """Simulate an operation with many low-volume annotators and some spammers.

    Parameters
    ----------
    n_items, n_annotators, n_classes : int
    n_markets, teams_per_market : int
        Items and annotators belong to one market; annotators only judge their market's items.
    judgments_per_item : (int, int)
        Each item draws a uniform number of judgments in this inclusive range from its
        market's annotators, with probability proportional to their (log-normal) volume
        weight; a repeated annotator is dropped.
    spammer_share : float
        Share of annotators answering from one random class distribution, ignoring the truth.
    gold_share : float
        Share of items whose true class is published as gold.
    mean_log_odds, market_sd, team_sd, annotator_sd : float
        The error log-odds hierarchy (see the module docstring).
    volume_sd : float
        Log-normal sd of annotator volume weights (1.2 gives a long tail of sparse annotators).
    seed : int

    Returns
    -------
    SimulatedOperation
    """
    rng = np.random.default_rng(seed)
    K = n_classes
    classes = [f"c{k}" for k in range(K)]
    prior = rng.dirichlet(np.full(K, 6.0))
    n_teams = n_markets * teams_per_market
    team_market = np.repeat(np.arange(n_markets), teams_per_market)
    market_eff = rng.normal(0, market_sd, (n_markets, K, K - 1))
    team_eff = rng.normal(0, team_sd, (n_teams, K, K - 1))
    ann_team = rng.integers(0, n_teams, n_annotators)
    ann_team[:n_teams] = np.arange(n_teams)  # every team has someone
    ann_market = team_market[ann_team]
    eta = (mean_log_odds + market_eff[ann_market] + team_eff[ann_team]
           + rng.normal(0, annotator_sd, (n_annotators, K, K - 1)))
    conf = _softmax_rows(eta)
    spam = rng.random(n_annotators) < spammer_share
    for j in np.flatnonzero(spam):
        conf[j] = rng.dirichlet(np.full(K, 2.0))[None, :]
    weight = rng.lognormal(0.0, volume_sd, n_annotators)

    item_market = rng.integers(0, n_markets, n_items)
    truth = rng.choice(K, size=n_items, p=prior)
    lo, hi = judgments_per_item
    n_per = rng.integers(lo, hi + 1, n_items)
    # annotators per item: drawn with replacement by volume weight, repeats dropped (so a
    # few items get one judgment fewer than drawn); vectorised per market
    items_l, anns_l = [], []
    for m in range(n_markets):
        pool = np.flatnonzero(ann_market == m)
        its = np.flatnonzero(item_market == m)
        if len(pool) == 0 or len(its) == 0:
            continue
        rep = np.repeat(its, n_per[its])
        w = weight[pool] / weight[pool].sum()
        items_l.append(rep)
        anns_l.append(pool[rng.choice(len(pool), size=len(rep), p=w)])
    items = np.concatenate(items_l)
    anns = np.concatenate(anns_l)
    keep = ~pd.DataFrame({"i": items, "j": anns}).duplicated().to_numpy()
    items, anns = items[keep], anns[keep]
    cum = np.cumsum(conf[anns, truth[items]], axis=1)
    labs = np.minimum((rng.random(len(items))[:, None] > cum).sum(axis=1), K - 1)
    ann_ids = np.array([f"a{j:04d}" for j in range(n_annotators)], dtype=object)
    item_ids = np.array([f"i{i:06d}" for i in range(n_items)], dtype=object)
    team_names = np.array([f"m{team_market[c]}-t{c}" for c in range(n_teams)], dtype=object)
    market_names = np.array([f"m{m}" for m in range(n_markets)], dtype=object)
    cls = np.asarray(classes, dtype=object)
    labels = pd.DataFrame({
        "item_id": item_ids[items], "annotator_id": ann_ids[anns], "label": cls[labs],
        "market": market_names[ann_market[anns]], "team": team_names[ann_team[anns]],
    })
    seen = np.zeros(n_annotators, bool)
    seen[anns] = True
    annotators = pd.DataFrame({
        "team": team_names[ann_team], "market": market_names[ann_market], "kind": "human",
        "spammer": spam,
    }, index=pd.Index(ann_ids, name="annotator_id"))[seen]
    gold_items = np.flatnonzero(rng.random(n_items) < gold_share)
    gold = pd.DataFrame({"item_id": item_ids[gold_items], "label": cls[truth[gold_items]]})
    acc = np.einsum("t,jtt->j", prior, conf)
    return SimulatedOperation(
        labels=labels, gold=gold, annotators=annotators,
        truth=pd.Series(cls[truth], index=pd.Index(item_ids, name="item_id"), name="truth"),
        confusions=conf[seen],
        accuracy=pd.Series(acc, index=pd.Index(ann_ids, name="annotator_id"),
                           name="accuracy")[seen],
        classes=classes,
    )
