"""Deterministic synthetic crowd-labeling data for the benchmarks.

A simulated pool of annotators with known confusion matrices labels items with known true
classes. Each item gets ``per_item`` judgments from distinct annotators; annotators differ in
activity (log-normal weights), so some label a lot and some very little.

Annotator kinds (shares of the pool):

``good`` (45 %)
    diagonal 0.80-0.95, errors spread uniformly.
``mediocre`` (30 %)
    diagonal 0.50-0.70, errors spread uniformly.
``biased`` (15 %)
    good on most classes but answers class ``b`` for ``a`` 60 % of the time (one knowledge gap).
``spammer`` (10 %)
    half of them answer uniformly at random, half always answer one fixed class.

The data for a (size, seed) pair is the same on every machine and every run: it only depends
on ``numpy.random.default_rng(seed)`` and the arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Synthetic", "n_annotators_for", "simulate", "load_or_simulate"]

CLASS_PRIOR = (0.40, 0.25, 0.15, 0.12, 0.08)


@dataclass(frozen=True)
class Synthetic:
    """Judgments as a long table plus the truth that generated them."""

    labels: pd.DataFrame   # item_id, annotator_id, label (strings)
    truth: pd.Series       # item_id -> true label (string)
    confusion: np.ndarray  # annotators x K x K, row = true class, column = answer
    kinds: np.ndarray      # annotator kind per annotator code


def n_annotators_for(n_judgments: int) -> int:
    """Pool size: ``2 sqrt(n)`` clipped to [100, 5000] (200 at 1e4, 2000 at 1e6, 5000 at 1e7)."""
    return int(np.clip(round(2 * np.sqrt(n_judgments)), 100, 5000))


def _confusions(rng: np.random.Generator, n_ann: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    kinds = rng.choice(["good", "mediocre", "biased", "spammer"], size=n_ann,
                       p=[0.45, 0.30, 0.15, 0.10])
    cm = np.empty((n_ann, k, k))
    for j, kind in enumerate(kinds):
        if kind == "spammer":
            if rng.random() < 0.5:
                m = np.full((k, k), 1.0 / k)
            else:
                m = np.zeros((k, k))
                m[:, rng.integers(k)] = 1.0
        else:
            lo, hi = (0.50, 0.70) if kind == "mediocre" else (0.80, 0.95)
            diag = rng.uniform(lo, hi, size=k)
            m = ((1 - diag) / (k - 1))[:, None] * np.ones((k, k))
            np.fill_diagonal(m, diag)
            if kind == "biased":
                a, b = rng.choice(k, size=2, replace=False)
                m[a] = 0.0
                m[a, a] = 0.4
                m[a, b] = 0.6
        cm[j] = m
    return cm, kinds


def _assign(rng: np.random.Generator, n_items: int, per_item: int, weights: np.ndarray
            ) -> np.ndarray:
    """``n_items x per_item`` annotator codes, distinct within a row, drawn by ``weights``."""
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    ann = np.searchsorted(cdf, rng.random((n_items, per_item)), side="right").astype(np.int32)
    while True:
        s = np.sort(ann, axis=1)
        bad = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
        if not len(bad):
            return ann
        ann[bad] = np.searchsorted(cdf, rng.random((len(bad), per_item)), side="right")


def simulate(n_judgments: int, *, k: int = 5, per_item: int = 5, seed: int = 0,
             n_annotators: int | None = None) -> Synthetic:
    """Simulate ``n_judgments`` judgments (``n_judgments // per_item`` items)."""
    rng = np.random.default_rng(seed)
    n_items = n_judgments // per_item
    n_ann = n_annotators or n_annotators_for(n_judgments)
    prior = np.asarray(CLASS_PRIOR[:k] if k <= len(CLASS_PRIOR) else np.ones(k))
    prior = prior / prior.sum()
    cm, kinds = _confusions(rng, n_ann, k)
    weights = rng.lognormal(0.0, 1.0, size=n_ann)
    true = rng.choice(k, size=n_items, p=prior).astype(np.int32)
    ann = _assign(rng, n_items, per_item, weights).ravel()
    item = np.repeat(np.arange(n_items, dtype=np.int32), per_item)
    label = np.empty(len(item), dtype=np.int8)
    cum = np.cumsum(cm, axis=2)
    cum[:, :, -1] = 1.0
    chunk = 1_000_000
    for s in range(0, len(item), chunk):
        e = min(s + chunk, len(item))
        rows = cum[ann[s:e], true[item[s:e]]]                     # (chunk, K)
        u = rng.random(e - s)
        label[s:e] = (u[:, None] >= rows).sum(axis=1)
    # Shuffle judgment order so nothing relies on rows being grouped by item.
    order = rng.permutation(len(item))
    item, ann, label = item[order], ann[order], label[order]
    width_i = len(str(max(n_items - 1, 0)))
    width_a = len(str(n_ann - 1))
    item_names = np.asarray([f"i{i:0{width_i}d}" for i in range(n_items)], dtype=object)
    ann_names = np.asarray([f"w{j:0{width_a}d}" for j in range(n_ann)], dtype=object)
    class_names = np.asarray([f"c{c}" for c in range(k)], dtype=object)
    labels = pd.DataFrame({
        "item_id": pd.Categorical.from_codes(item, item_names).astype(str),
        "annotator_id": pd.Categorical.from_codes(ann, ann_names).astype(str),
        "label": pd.Categorical.from_codes(label, class_names).astype(str),
    })
    truth = pd.Series(class_names[true], index=pd.Index(item_names, name="item_id"),
                      name="label").astype(str)
    return Synthetic(labels=labels, truth=truth, confusion=cm, kinds=kinds)


def load_or_simulate(n_judgments: int, seed: int, cache_dir: str | Path, *, k: int = 5,
                     per_item: int = 5, n_annotators: int | None = None) -> tuple[Path, Path]:
    """Write (once) ``labels`` and ``truth`` Parquet files for (size, seed) and the shape
    (``k`` classes, ``per_item`` judgments per item, ``n_annotators``; defaults: K=5, 5 per
    item, :func:`n_annotators_for`); return their paths."""
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    stem = f"n{n_judgments}_s{seed}"
    if (k, per_item, n_annotators) != (5, 5, None):
        stem += f"_k{k}_p{per_item}_a{n_annotators or n_annotators_for(n_judgments)}"
    lab_path, truth_path = cache / f"{stem}_labels.parquet", cache / f"{stem}_truth.parquet"
    if not (lab_path.exists() and truth_path.exists()):
        syn = simulate(n_judgments, k=k, per_item=per_item, seed=seed, n_annotators=n_annotators)
        tmp_l, tmp_t = lab_path.with_suffix(".tmp"), truth_path.with_suffix(".tmp")
        syn.labels.to_parquet(tmp_l, index=False)
        syn.truth.rename("label").reset_index().to_parquet(tmp_t, index=False)
        tmp_l.replace(lab_path)
        tmp_t.replace(truth_path)
    return lab_path, truth_path
