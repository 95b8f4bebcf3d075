"""Integer encoding of a labels table: codes for items, annotators and classes, and the
sparse item x (annotator, label) incidence matrix every EM-style model iterates on.

A repeated judgment (the same annotator, item and label more than once, kept by the
``repeats="keep"`` policy) is one more count in the same cell: the incidence matrix holds
Dawid & Skene's (1979) counts ``n[i, j, l]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from insights.data.contract import REQUIRED, SchemaError

__all__ = ["Encoded", "encode", "gold_codes"]

#: Labels tables at least this long encode their item column in a second thread.
_THREADED_ENCODE_ROWS = 200_000


@dataclass(frozen=True)
class Encoded:
    """Integer encoding of a labels table.

    Attributes
    ----------
    item_ids, annotator_ids, classes : numpy.ndarray
        Code -> original id / label (``classes`` are strings, in the order of the declared or
        sorted label set).
    item, annotator, label : numpy.ndarray of int32
        Per-judgment codes.
    gold : numpy.ndarray of int
        Per item, the gold class code, or -1 where the item has no gold.
    """

    item_ids: np.ndarray
    annotator_ids: np.ndarray
    classes: np.ndarray
    item: np.ndarray
    annotator: np.ndarray
    label: np.ndarray
    gold: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_annotators(self) -> int:
        return len(self.annotator_ids)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_judgments(self) -> int:
        return len(self.item)

    @property
    def incidence(self) -> sp.csr_matrix:
        """Sparse item x (annotator * n_classes + label) matrix of judgment counts.

        One entry of 1 per judgment, rows in item order: a repeated (item, annotator, label)
        judgment is a second entry in the same cell, which every sparse product adds (the
        entries are deliberately not summed, since sorting them costs more than the whole
        conversion).
        """
        if "incidence" not in self._cache:
            n_cols = self.n_annotators * self.n_classes
            dtype = np.int32 if n_cols < np.iinfo(np.int32).max else np.int64
            cols = self.annotator.astype(dtype) * dtype(self.n_classes) + self.label
            ones = np.ones(self.n_judgments, dtype=np.float64)
            order = self._cache.pop("item_order", None)
            if order is None:
                coo = sp.coo_matrix((ones, (self.item, cols)), shape=(self.n_items, n_cols))
                coo.has_canonical_format = True  # tocsr: bucket rows, skip sorting/summing
                self._cache["incidence"] = coo.tocsr()
            else:  # the rows already bucketed (data.load): the same matrix, 0.6 s less at 1e7
                big = max(self.n_judgments, self.n_items, n_cols) > np.iinfo(np.int32).max
                idx = np.int64 if big else np.int32
                indptr = np.zeros(self.n_items + 1, dtype=idx)
                np.cumsum(np.bincount(self.item, minlength=self.n_items), out=indptr[1:])
                self._cache["incidence"] = sp.csr_matrix(
                    (ones, cols[order].astype(idx, copy=False), indptr),
                    shape=(self.n_items, n_cols))
        return self._cache["incidence"]

    def _with_item_order(self, order: np.ndarray) -> Encoded:
        """Remember ``order`` (the judgments' positions grouped by item, in their order within
        an item) for :attr:`incidence`; returns self."""
        if len(order) != self.n_judgments:
            raise ValueError(f"item order has {len(order)} positions for "
                             f"{self.n_judgments} judgments")
        self._cache["item_order"] = order
        return self

    @property
    def incidence_t(self) -> sp.csr_matrix:
        """Transpose of :attr:`incidence`, stored row-major for fast M-steps."""
        if "incidence_t" not in self._cache:
            self._cache["incidence_t"] = self.incidence.T.tocsr()
        return self._cache["incidence_t"]

    @property
    def item_counts(self) -> sp.csr_matrix:
        """Sparse item x class matrix of vote counts (majority-vote tallies)."""
        if "item_counts" not in self._cache:
            m = sp.csr_matrix(
                (np.ones(self.n_judgments), (self.item, self.label)),
                shape=(self.n_items, self.n_classes),
            )
            m.sum_duplicates()
            self._cache["item_counts"] = m
        return self._cache["item_counts"]

    @property
    def has_gold(self) -> np.ndarray:
        return self.gold >= 0

    def labels_frame(self) -> pd.DataFrame:
        """Decode back to a long labels table."""
        return pd.DataFrame({
            "item_id": self.item_ids[self.item],
            "annotator_id": self.annotator_ids[self.annotator],
            "label": self.classes[self.label],
        })


def _factorize(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for missing) and uniques of a column, in order of first appearance.

    Arrow-backed columns (pandas' default string dtype) are dictionary-encoded by pyarrow and
    their int32 indices used as they are; anything else goes through :func:`pandas.factorize`.
    """
    arrow = getattr(col.array, "__arrow_array__", None)
    if arrow is None or isinstance(col.dtype, pd.CategoricalDtype):
        return pd.factorize(col, sort=False)
    encoded = pa.chunked_array(arrow()).dictionary_encode().combine_chunks()
    indices = encoded.indices
    if indices.null_count:
        indices = indices.fill_null(-1)
    return (indices.to_numpy(zero_copy_only=False),
            encoded.dictionary.to_numpy(zero_copy_only=False))


def encode(
    labels: pd.DataFrame,
    gold: pd.DataFrame | None = None,
    classes: Sequence[str] | None = None,
) -> Encoded:
    """Encode a labels table (and gold) to integer codes.

    Parameters
    ----------
    labels : DataFrame
        Columns ``item_id``, ``annotator_id``, ``label``. Repeated (item, annotator) pairs are
        kept as independent judgments (validate with :func:`validate_labels` first to reject
        them).
    gold : DataFrame, optional
        Columns ``item_id``, ``label``. Gold items without labels are ignored.
    classes : sequence of str, optional
        The label set, in order. Default: sorted union of labels and gold labels.

    Returns
    -------
    Encoded
    """
    missing = [c for c in REQUIRED["labels"] if c not in labels.columns]
    if missing:
        raise SchemaError(f"labels: missing required column {missing[0]!r}", column=missing[0])
    # Codes straight from pyarrow's dictionary encoding for Arrow-backed columns (no Python
    # object per judgment; it releases the GIL, so a large table's item column is encoded in a
    # second thread); labels map through their few distinct values.
    if len(labels) >= _THREADED_ENCODE_ROWS:
        with ThreadPoolExecutor(1) as pool:
            items = pool.submit(_factorize, labels["item_id"])
            ann_codes, ann_ids = _factorize(labels["annotator_id"])
            lab_codes_u, lab_u = _factorize(labels["label"])
            item_codes, item_ids = items.result()
    else:
        item_codes, item_ids = _factorize(labels["item_id"])
        ann_codes, ann_ids = _factorize(labels["annotator_id"])
        lab_codes_u, lab_u = _factorize(labels["label"])
    for col, codes in (("item_id", item_codes), ("annotator_id", ann_codes)):
        if (codes < 0).any():
            pos = int(np.flatnonzero(codes < 0)[0])
            raise SchemaError(f"labels row {pos + 1:,}: column {col!r} is empty; expected a "
                              f"non-empty {col}", row=pos + 1, column=col, value=None)
    lab_u = np.asarray(pd.Index(lab_u).astype(str), dtype=object)
    if classes is None:
        found = set(lab_u)
        if gold is not None:
            found |= set(gold["label"].astype(str))
        classes = sorted(found)
    classes = np.asarray([str(c) for c in classes], dtype=object)
    lab_index = pd.Index(classes)
    lab_codes = lab_index.get_indexer(lab_u)[lab_codes_u]
    if (lab_codes_u < 0).any() or (lab_codes < 0).any():
        pos = int(np.flatnonzero((lab_codes_u < 0) | (lab_codes < 0))[0])
        bad = labels["label"].iat[pos]
        raise SchemaError(
            f"labels row {pos + 1:,}: column 'label' has {bad!r}, which is not in the "
            f"label set {list(classes)}", row=pos + 1, column="label", value=bad)
    gold_codes = np.full(len(item_ids), -1, dtype=np.int64)
    if gold is not None and len(gold):
        g_items = pd.Index(item_ids).get_indexer(gold["item_id"].to_numpy())
        g_lab = lab_index.get_indexer(gold["label"].astype(str).to_numpy())
        if (g_lab < 0).any():
            pos = int(np.flatnonzero(g_lab < 0)[0])
            raise SchemaError(
                f"gold row {pos + 1:,}: column 'label' has {gold['label'].iat[pos]!r}, which is "
                f"not in the label set {list(classes)}", row=pos + 1, column="label",
                value=gold["label"].iat[pos])
        ok = g_items >= 0
        gold_codes[g_items[ok]] = g_lab[ok]
    return Encoded(
        item_ids=np.asarray(item_ids, dtype=object),
        annotator_ids=np.asarray(ann_ids, dtype=object),
        classes=classes,
        item=item_codes.astype(np.int32, copy=False),
        annotator=ann_codes.astype(np.int32, copy=False),
        label=lab_codes.astype(np.int32),
        gold=gold_codes,
    )



def gold_codes(item_ids: np.ndarray, classes: np.ndarray, gold: pd.DataFrame | None
               ) -> np.ndarray:
    """Per item, the gold class code, or -1 (gold items without labels are ignored)."""
    codes = np.full(len(item_ids), -1, dtype=np.int64)
    if gold is None or not len(gold):
        return codes
    g_items = pd.Index(item_ids).get_indexer(gold["item_id"].to_numpy())
    g_lab = pd.Index(classes).get_indexer(gold["label"].astype(str).to_numpy())
    if (g_lab < 0).any():
        pos = int(np.flatnonzero(g_lab < 0)[0])
        raise SchemaError(
            f"gold row {pos + 1:,}: column 'label' has {gold['label'].iat[pos]!r}, which is "
            f"not in the label set {list(classes)}", row=pos + 1, column="label",
            value=gold["label"].iat[pos])
    ok = g_items >= 0
    codes[g_items[ok]] = g_lab[ok]
    return codes
