"""Repeated judgments: an annotator who judged the same item more than once.

Two cases (DESIGN.md, data contract):

* identical repeats (same item, annotator and label) are dropped, with one warning that
  counts them;
* repeats with different answers are decided by the ``repeats`` policy:

  ``keep`` (default)
      every answer is an independent judgment, as in Dawid & Skene (1979), who model
      ``n[i, j, l]``, the number of times annotator ``j`` gave item ``i`` the label ``l``.
      One warning line gives the count and the first example.
  ``last`` / ``first``
      only the annotator's last (first) answer on the item counts: the latest (earliest)
      ``labeled_at``, ties and missing times broken by file order (file order alone when
      there is no ``labeled_at``).
  ``error``
      a :class:`~insights.data.contract.SchemaError` naming the first repeated row.

Everything works on integer codes with one stable sort, so ten million judgments take about
a second.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insights.data.contract import (
    REPEATS,
    DuplicateJudgmentWarning,
    Names,
    RepeatedJudgmentWarning,
    SchemaError,
    where,
)

__all__ = ["RepeatStats", "resolve_repeats", "check_policy", "check_duplicates"]


def _group_pairs(item: np.ndarray, annotator: np.ndarray, n_items: int, n_annotators: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of the judgments grouped by (item, annotator) pair, the pair keys, and the
    positions grouped by item in file order.

    A counting sort by item (the sparse matrix's row bucketing) and a sort of each item's few
    annotators: linear in the number of judgments, unlike a global argsort. Within a pair the
    order is arbitrary (callers re-sort the few repeated rows by position). The third array is
    the bucketing before that sort (each item's judgments in file order), which is the order
    of :attr:`insights.data.Encoded.incidence`'s entries (see :func:`kept_item_order`).
    """
    n = len(item)
    pos_type = np.int32 if n < np.iinfo(np.int32).max else np.int64
    coo = sp.coo_matrix((np.arange(n, dtype=pos_type), (item, annotator)),
                        shape=(max(n_items, 1), max(n_annotators, 1)))
    coo.has_canonical_format = True  # tocsr: bucket rows, do not sum repeated cells
    csr = coo.tocsr()
    by_item = csr.data.copy()
    csr.has_sorted_indices = False
    csr.sort_indices()
    rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    return csr.data, rows * np.int64(max(n_annotators, 1)) + csr.indices, by_item


def kept_item_order(by_item: np.ndarray, keep: np.ndarray | None, n: int) -> np.ndarray:
    """The positions, among the kept judgments, grouped by item in file order.

    ``by_item`` groups all ``n`` judgments (the third array of :func:`_group_pairs`);
    ``keep`` are the sorted positions kept (None: all).
    """
    if keep is None:
        return by_item
    kept = np.zeros(n, dtype=bool)
    kept[keep] = True
    new_pos = (np.cumsum(kept, dtype=np.int64) - 1).astype(by_item.dtype)
    return new_pos[by_item[kept[by_item]]]


@dataclass(frozen=True)
class RepeatStats:
    """What the repeats policy found and did."""

    duplicates: int = 0        #: identical repeated judgments dropped
    repeats: int = 0           #: judgments repeating a pair with a different answer
    repeated_pairs: int = 0    #: (item, annotator) pairs with more than one distinct answer
    dropped: int = 0           #: judgments the policy dropped (``last``/``first``)
    policy: str = "keep"
    duplicates_kept: bool = False  #: identical repeats kept as ratings (duplicates="keep")


def check_duplicates(duplicates: str | None) -> str:
    """``drop`` (default) or ``keep``, checked."""
    value = "drop" if duplicates is None else str(duplicates).strip().lower()
    if value not in ("drop", "keep"):
        raise SchemaError(f"duplicates: {duplicates!r} is not a duplicates policy; expected "
                          f"'drop' or 'keep'", value=duplicates)
    return value


def check_policy(repeats: str | None) -> str:
    """The policy name, checked (None means ``keep``)."""
    policy = "keep" if repeats is None else str(repeats).strip().lower()
    if policy not in REPEATS:
        raise SchemaError(f"repeats: {repeats!r} is not a repeats policy; expected one of "
                          f"{list(REPEATS)}", value=repeats)
    return policy


def resolve_repeats(
    item: np.ndarray,
    annotator: np.ndarray,
    label: np.ndarray,
    rows: np.ndarray,
    *,
    n_annotators: int,
    n_labels: int,
    item_ids: np.ndarray,
    annotator_ids: np.ndarray,
    label_values: np.ndarray,
    times: np.ndarray | None = None,
    policy: str = "keep",
    duplicates: str = "drop",
    source: str = "labels",
    names: Names | None = None,
    stacklevel: int = 2,
    return_item_order: bool = False,
) -> tuple:
    """Apply the repeats policy to coded judgments.

    Parameters
    ----------
    item, annotator, label : numpy.ndarray of int
        Per-judgment codes (``label`` indexes ``label_values``).
    rows : numpy.ndarray of int
        The 1-based file row of each judgment (for messages).
    times : numpy.ndarray of int64, optional
        ``labeled_at`` as nanoseconds (NaT as the smallest int64), for ``last``/``first``.
    duplicates : {"drop", "keep"}, default "drop"
        Identical repeats (same item, annotator and label): dropped (DESIGN.md), or kept as
        independent ratings too (with ``policy="keep"`` that gives Dawid & Skene's counts
        exactly; dropping them while keeping different answers under-counts the answer an
        annotator repeated).
    return_item_order : bool, default False
        Also return the positions of the kept judgments grouped by item, in file order
        within an item (the entries of the incidence matrix: computed on the way).

    Returns
    -------
    keep : numpy.ndarray of int or None
        Sorted positions of the judgments to keep, or None to keep them all.
    stats : RepeatStats
    item_order : numpy.ndarray of int
        Only with ``return_item_order``.
    """
    names = names or Names()
    n = len(item)
    n_ann = np.int64(max(n_annotators, 1))
    order, sorted_key, by_item = _group_pairs(item, annotator, len(item_ids), int(n_ann))
    same = sorted_key[1:] == sorted_key[:-1]
    if not same.any():
        stats = RepeatStats(policy=policy)
        return (None, stats, by_item) if return_item_order else (None, stats)
    in_group = np.zeros(n, dtype=bool)
    in_group[1:] |= same
    in_group[:-1] |= same
    sub = order[in_group]                                   # rows of repeated pairs
    sub_key = sorted_key[in_group]
    by = np.lexsort((sub, sub_key))                         # pair, then file order
    sub, sub_key = sub[by], sub_key[by]

    ident = pd.Series(sub_key * np.int64(max(n_labels, 1)) + label[sub]).duplicated().to_numpy()
    n_ident = int(ident.sum())
    # pairs that still hold more than one answer once identical repeats are set aside
    rest = sub[~ident]
    rest_key = sub_key[~ident]
    start = np.r_[True, rest_key[1:] != rest_key[:-1]]
    group = np.cumsum(start) - 1
    size = np.bincount(group)
    multi = size[group] > 1
    n_pairs = int((size > 1).sum())
    n_repeats = int(multi.sum()) - n_pairs
    keep_identical = duplicates == "keep" and policy in ("keep", "error")
    drop = sub[ident] if not keep_identical else sub[:0]
    dropped = 0
    if n_pairs:
        second = multi & ~start                             # a second, different answer
        first_at = int(np.argmin(rest[second]))
        pos, p_key = int(rest[second][first_at]), rest_key[second][first_at]
        pair_rows = np.sort(sub[sub_key == p_key])
        shown = ", ".join(f"row {int(rows[r]):,}: {label_values[label[r]]!r}"
                          for r in pair_rows[:4]) + (", ..." if len(pair_rows) > 4 else "")
        ann_name = annotator_ids[annotator[pos]]
        item_name = item_ids[item[pos]]
        if policy == "error":
            raise SchemaError(
                f"{where(source, int(rows[pos]))}: annotator {ann_name!r} judged item "
                f"{item_name!r} more than once with different answers ({shown}); expected one "
                f"answer per annotator and item (repeats='error'; use repeats='keep' to count "
                f"each answer as an independent judgment, as in Dawid & Skene 1979, or 'last' "
                f"/ 'first')",
                source=source, row=int(rows[pos]), column=names.user("label"),
                value=label_values[label[pos]])
        if policy in ("last", "first"):
            t = times[sub] if times is not None else np.zeros(len(sub), dtype=np.int64)
            by = np.lexsort((sub, t, sub_key))              # pair, then time, then file order
            s_key = sub_key[by]
            if policy == "last":
                chosen = np.r_[s_key[1:] != s_key[:-1], True]
            else:
                chosen = np.r_[True, s_key[1:] != s_key[:-1]]
            drop = sub[by][~chosen]
            dropped = len(drop) - n_ident
            what = (f"kept only each annotator's {policy} answer (by labeled_at, then file "
                    f"order)" if times is not None else
                    f"kept only each annotator's {policy} answer (file order; no labeled_at)")
        else:
            what = ("kept them as independent judgments (repeats='keep', as in Dawid & Skene "
                    "1979; repeats='last', 'first' or 'error' to change this)")
        warnings.warn(
            f"{source}: {n_repeats:,} repeated judgment(s): annotators judged the same item "
            f"again with a different answer on {n_pairs:,} (item, annotator) pair(s) (first: "
            f"annotator {ann_name!r} on item {item_name!r}, {shown}); {what}",
            RepeatedJudgmentWarning, stacklevel=stacklevel + 1)
    if n_ident and keep_identical:
        warnings.warn(
            f"{source}: kept {n_ident:,} identical repeated judgment(s) (same item_id, "
            f"annotator_id and label) as independent ratings (duplicates='keep')",
            DuplicateJudgmentWarning, stacklevel=stacklevel + 1)
    elif n_ident:
        warnings.warn(
            f"{source}: dropped {n_ident:,} duplicate identical judgment(s) (same item_id, "
            f"annotator_id and label)", DuplicateJudgmentWarning, stacklevel=stacklevel + 1)
    if not len(drop):
        keep = None
    else:
        mask = np.ones(n, dtype=bool)
        mask[drop] = False
        keep = np.flatnonzero(mask)
    stats = RepeatStats(duplicates=n_ident, repeats=n_repeats, repeated_pairs=n_pairs,
                        dropped=dropped, policy=policy,
                        duplicates_kept=keep_identical and n_ident > 0)
    if return_item_order:
        return keep, stats, kept_item_order(by_item, keep, n)
    return keep, stats
