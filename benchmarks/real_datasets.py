"""Accuracy against gold of every aggregator on every shared real dataset (+ a scale check).

Usage::

    python benchmarks/real_datasets.py              # accuracy table (percent)
    python benchmarks/real_datasets.py --scale 1e7  # fit time and peak memory of DawidSkene

Protocol (the same as ``../shared/datasets/ds_check.csv``): accuracy over the gold items that
have at least one judgment; an item whose top posterior is shared by ``m`` classes counts
``1/m`` if gold is among them (the expected accuracy under a uniformly random tie-break, as
published tables report). Repeated (item, annotator) rows are kept as the sources have them.
The last rows give each method's mean accuracy and its mean and worst shortfall to the best
method per dataset; ``RECOMMENDED`` in ``insights.reliability`` is chosen from them.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from insights.data import Encoded
from insights.reliability import (
    GLAD,
    MACE,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    Wawa,
)

DATASETS = Path(os.environ.get("INSIGHTS_DATASETS",
                               Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))


def candidates() -> dict[str, object]:
    """The estimators compared (name -> unfitted estimator)."""
    return {
        "MV": MajorityVote(),
        "Wawa": Wawa(),
        "DS plain": DawidSkene(alpha=0.0, shrinkage=0.0),
        "DS (default)": DawidSkene(),
        "DS shrink=2": DawidSkene(shrinkage=2.0),
        "OneCoin": OneCoinDawidSkene(),
        "GLAD": GLAD(),
        "MACE": MACE(),
        "MACE-VB": MACE(variational=True),
    }


def expected_accuracy(probas: pd.DataFrame, gold: pd.DataFrame) -> float:
    """Accuracy over covered gold items, ties counted as 1/m (see the module docstring)."""
    g = gold.drop_duplicates("item_id").set_index("item_id")["label"].astype(str)
    common = probas.index.intersection(g.index)
    p = probas.loc[common].to_numpy()
    is_max = p >= p.max(axis=1, keepdims=True) - 1e-12
    col = pd.Index(probas.columns).get_indexer(g.loc[common].to_numpy())
    hit = np.where(col >= 0, is_max[np.arange(len(common)), np.maximum(col, 0)], False)
    return float((hit / is_max.sum(axis=1)).mean())


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    folder = DATASETS / name
    ren = {"item": "item_id", "annotator": "annotator_id"}
    labels = pd.read_csv(folder / "labels.csv", dtype=str, keep_default_na=False).rename(
        columns=ren)
    gold = None
    if (folder / "gold.csv").exists():
        gold = pd.read_csv(folder / "gold.csv", dtype=str, keep_default_na=False).rename(
            columns=ren)
    return labels, gold


def accuracy_table() -> pd.DataFrame:
    names = sorted(p.name for p in DATASETS.iterdir() if (p / "gold.csv").exists())
    rows = {}
    for name in names:
        labels, gold = load(name)
        row = {}
        for method, est in candidates().items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(labels)
            row[method] = 100 * expected_accuracy(est.probas_, gold)
        rows[name] = row
    table = pd.DataFrame(rows).T
    best = table.max(axis=1)
    short = table.sub(best, axis=0)
    table.loc["mean"] = table.mean()
    table.loc["mean shortfall"] = short.mean()
    table.loc["worst shortfall"] = short.min()
    return table


def synthetic_encoded(n_judgments: int, n_classes: int = 5, per_item: int = 10,
                      seed: int = 0) -> tuple[Encoded, np.ndarray]:
    """A quick Dawid-Skene simulation as integer codes (no string ids to factorise)."""
    rng = np.random.default_rng(seed)
    K = n_classes
    n_items = n_judgments // per_item
    n_ann = max(50, n_items // 1000)
    truth = rng.choice(K, size=n_items, p=np.linspace(1, 2, K) / np.linspace(1, 2, K).sum())
    diag = rng.uniform(0.55, 0.95, size=n_ann)
    conf = np.empty((n_ann, K, K))
    conf[:] = ((1 - diag) / (K - 1))[:, None, None]
    conf[:, np.arange(K), np.arange(K)] = diag[:, None]
    item = np.repeat(np.arange(n_items, dtype=np.int32), per_item)
    ann = rng.integers(0, n_ann, size=item.size, dtype=np.int32)
    cdf = np.cumsum(conf[ann, truth[item]], axis=1)
    label = (rng.random(item.size)[:, None] > cdf).sum(axis=1).astype(np.int32)
    label = np.minimum(label, K - 1)
    enc = Encoded(
        item_ids=np.arange(n_items).astype(str).astype(object),
        annotator_ids=np.arange(n_ann).astype(str).astype(object),
        classes=np.arange(K).astype(str).astype(object),
        item=item, annotator=ann, label=label, gold=np.full(n_items, -1, dtype=np.int64))
    return enc, truth


def scale_check(n: int) -> None:
    enc, truth = synthetic_encoded(n)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    model = DawidSkene().fit(enc)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"DawidSkene, {n:,} judgments, K={enc.n_classes}, {enc.n_items:,} items, "
          f"{enc.n_annotators:,} annotators: fit {dt:.1f} s in {model.n_iter_} iterations "
          f"(converged={model.converged_}); peak RSS {peak:,.0f} MB "
          f"(before fit {rss0:,.0f} MB, includes the simulated data); accuracy vs truth "
          f"{(model.probas_.to_numpy().argmax(axis=1) == truth).mean():.4f}")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DawidSkene(max_iter=50, tol=0.0).fit(enc)
    dt = time.perf_counter() - t0
    print(f"  worst case, 50 EM iterations forced (tol=0): {dt:.1f} s "
          f"({dt / model.n_iter_ * 1000:.0f} ms per iteration)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=None,
                    help="instead of the table, time DawidSkene on N simulated judgments")
    args = ap.parse_args(argv)
    if args.scale:
        scale_check(int(args.scale))
        return 0
    if not DATASETS.is_dir():
        print(f"no shared datasets at {DATASETS}", file=sys.stderr)
        return 1
    pd.set_option("display.width", 200)
    print(accuracy_table().round(2).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
