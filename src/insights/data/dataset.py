"""The :class:`Dataset` (validated tables of one operation or market) and fingerprints."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from insights.data.contract import SchemaError
from insights.data.encoding import Encoded, encode
from insights.data.repeats import RepeatStats

__all__ = ["Dataset", "as_encoded", "fingerprint_frames", "sha256_files", "market_of_labels"]


@dataclass
class Dataset:
    """The validated tables of one labeling operation (or one market of it).

    Attributes
    ----------
    labels, gold, annotators, items : pandas.DataFrame or None
    label_set : list of str
        Declared label set, or the sorted union of labels and gold labels.
    fingerprint : str
        sha256 over the input files' bytes (or a canonical serialisation of in-memory tables).
    sources : dict
        Table name -> file path or query it came from.
    repeat_stats : RepeatStats
        What the repeats policy found when the labels were loaded (identical duplicates
        dropped, repeated judgments with different answers and what was done with them).
    """

    labels: pd.DataFrame
    gold: pd.DataFrame | None = None
    annotators: pd.DataFrame | None = None
    items: pd.DataFrame | None = None
    label_set: list[str] = field(default_factory=list)
    fingerprint: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    repeat_stats: RepeatStats = field(default_factory=RepeatStats)
    _encoded: tuple = field(default=(), init=False, repr=False, compare=False)

    def encode(self) -> Encoded:
        """Integer encoding of labels (and gold) over this dataset's label set.

        Computed once and reused (with its sparse incidence) while ``labels`` and ``gold``
        are the same objects and ``label_set`` the same values, so every model fitted on the
        Dataset shares one encoding (assigning new tables re-encodes; editing a table in
        place does not).
        """
        cached = self._encoded
        if not (cached and cached[0] is self.labels and cached[1] is self.gold
                and cached[2] == tuple(self.label_set)):
            enc = encode(self.labels, gold=self.gold, classes=self.label_set)
            self._encoded = cached = (self.labels, self.gold, tuple(self.label_set), enc)
        return cached[3]

    def annotator_table(self) -> pd.DataFrame:
        """One row per annotator seen in labels: ``team``, ``market``, ``kind``.

        The annotators table wins where it has a value; otherwise the most frequent value of
        the labels' own ``team``/``market`` columns is used; ``kind`` defaults to ``human``.
        """
        ids = pd.Index(pd.unique(self.labels["annotator_id"]), name="annotator_id")
        out = pd.DataFrame(index=ids)
        for col in ("team", "market"):
            if col in self.labels.columns:
                out[col] = (self.labels.groupby("annotator_id")[col]
                            .agg(lambda s: s.mode().iat[0] if len(s.mode()) else None))
        if self.annotators is not None:
            ann = self.annotators.set_index("annotator_id")
            for col in ("team", "market", "kind", "cost_per_label", "capacity_per_day"):
                if col in ann.columns:
                    vals = ann[col].reindex(ids)
                    out[col] = vals.where(vals.notna(), out[col]) if col in out else vals
        if "kind" not in out:
            out["kind"] = "human"
        out["kind"] = out["kind"].fillna("human")
        return out

    def subset(self, *, market: str | None = None, since=None, until=None) -> Dataset:
        """The same dataset restricted to one market and/or a ``labeled_at`` period.

        ``since`` is inclusive and ``until`` exclusive. The fingerprint is kept (it describes
        the inputs); the restriction is part of the run's parameters.
        """
        lab = self.labels
        if market is not None:
            lab = lab[market_of_labels(self, lab) == market]
            if len(lab) == 0:
                raise SchemaError(f"no labels for market {market!r}; markets present: "
                                  f"{sorted(pd.unique(market_of_labels(self, self.labels)))}")
        if since is not None or until is not None:
            if "labeled_at" not in lab.columns:
                raise SchemaError("a period (since/until) needs the labels column 'labeled_at'",
                                  column="labeled_at")
            t = lab["labeled_at"]
            keep = np.ones(len(lab), bool)
            if since is not None:
                keep &= (t >= _utc(since)).to_numpy()
            if until is not None:
                keep &= (t < _utc(until)).to_numpy()
            lab = lab[keep]
        items = set(lab["item_id"])
        return Dataset(
            labels=lab.reset_index(drop=True),
            gold=None if self.gold is None else
            self.gold[self.gold["item_id"].isin(items)].reset_index(drop=True),
            annotators=self.annotators,
            items=None if self.items is None else
            self.items[self.items["item_id"].isin(items)].reset_index(drop=True),
            label_set=self.label_set,
            fingerprint=self.fingerprint,
            sources=self.sources,
            repeat_stats=self.repeat_stats,
        )


def _utc(value) -> pd.Timestamp:
    """A timestamp in UTC: naive values are taken as UTC, aware ones converted."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def market_of_labels(ds: Dataset, lab: pd.DataFrame) -> pd.Series:
    if "market" in lab.columns:
        return lab["market"]
    if ds.items is not None and "market" in ds.items.columns:
        return lab["item_id"].map(ds.items.set_index("item_id")["market"])
    if ds.annotators is not None and "market" in ds.annotators.columns:
        return lab["annotator_id"].map(ds.annotators.set_index("annotator_id")["market"])
    raise SchemaError("cannot select a market: no 'market' column in labels, items or annotators",
                      column="market")


def sha256_files(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda q: q.name):
        h.update(p.name.encode())
        h.update(b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def fingerprint_frames(**frames: pd.DataFrame | None) -> str:
    """sha256 of a canonical CSV serialisation of in-memory tables (None tables skipped)."""
    h = hashlib.sha256()
    for name in sorted(frames):
        df = frames[name]
        if df is None:
            continue
        h.update(name.encode() + b"\0")
        cols = [c for c in df.columns if c != "_row"]
        h.update(pd.util.hash_pandas_object(df[cols].astype(str), index=False).to_numpy()
                 .tobytes())
        h.update(",".join(map(str, cols)).encode())
    return h.hexdigest()


def as_encoded(labels, gold=None, classes=None) -> Encoded:
    """Accept an :class:`Encoded`, a :class:`Dataset` or a labels DataFrame; return Encoded.

    An :class:`Encoded` passed with a ``gold`` table gets that gold applied.
    """
    if isinstance(labels, Encoded):
        if gold is None:
            return labels
        g_items = pd.Index(labels.item_ids).get_indexer(gold["item_id"].to_numpy())
        g_lab = pd.Index(labels.classes).get_indexer(gold["label"].astype(str).to_numpy())
        codes = np.full(labels.n_items, -1, dtype=np.int64)
        ok = (g_items >= 0) & (g_lab >= 0)
        codes[g_items[ok]] = g_lab[ok]
        return Encoded(labels.item_ids, labels.annotator_ids, labels.classes, labels.item,
                       labels.annotator, labels.label, codes, labels._cache)
    if isinstance(labels, Dataset):
        if gold is None and classes is None:
            return labels.encode()
        return encode(labels.labels, gold=gold if gold is not None else labels.gold,
                      classes=classes if classes is not None else labels.label_set)
    return encode(labels, gold=gold, classes=classes)
