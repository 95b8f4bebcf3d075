"""EM over fixed item blocks in threads: same numbers whatever the thread count."""

from __future__ import annotations

import numpy as np
import pytest

from insights.data import Encoded
from insights.reliability import MACE, DawidSkene, OneCoinDawidSkene, _blocks
from insights.reliability._base import soft_majority


def _encoded(n_items: int, per_item: int = 3, n_ann: int = 60, K: int = 3, seed: int = 0,
             repeat_share: float = 0.0) -> Encoded:
    rng = np.random.default_rng(seed)
    truth = rng.choice(K, size=n_items)
    item = np.repeat(np.arange(n_items, dtype=np.int32), per_item)
    ann = rng.integers(0, n_ann, size=item.size, dtype=np.int32)
    right = rng.random(item.size) < rng.uniform(0.55, 0.95, n_ann)[ann]
    label = np.where(right, truth[item], rng.integers(0, K, size=item.size)).astype(np.int32)
    if repeat_share:  # some (item, annotator, label) judgments given twice
        dup = rng.random(item.size) < repeat_share
        item, ann, label = (np.concatenate([x, x[dup]]) for x in (item, ann, label))
    return Encoded(np.arange(n_items).astype(str).astype(object),
                   np.arange(n_ann).astype(str).astype(object),
                   np.array(["a", "b", "c", "d", "e"][:K], dtype=object), item, ann, label,
                   np.full(n_items, -1, dtype=np.int64))


@pytest.fixture(scope="module")
def large():
    return _encoded(3 * _blocks._MIN_BLOCK_ITEMS + 1000)


def test_blocks_partition_the_items_in_order(large):
    with _blocks.ItemBlocks(large) as blocks:
        bounds = blocks.bounds
        nnz = [p.incidence.nnz for p in blocks.parts]
    assert len(bounds) == 3
    assert bounds[0][0] == 0 and bounds[-1][1] == large.n_items
    assert all(a[1] == b[0] for a, b in zip(bounds[:-1], bounds[1:], strict=True))
    assert sum(nnz) == large.n_judgments
    assert max(nnz) - min(nnz) <= 3 * 3  # balanced on judgments, to an item's judgments


@pytest.mark.parametrize("cls", [DawidSkene, OneCoinDawidSkene, MACE])
def test_thread_count_does_not_change_the_numbers(large, cls):
    one = cls(n_jobs=1).fit(large)
    two = cls(n_jobs=2).fit(large)
    assert one.n_iter_ == two.n_iter_
    assert np.array_equal(one.probas_.to_numpy(), two.probas_.to_numpy())
    assert one.log_likelihood_ == two.log_likelihood_


def test_blocked_em_follows_the_unblocked_iterates(large, monkeypatch):
    blocked = DawidSkene().fit(large)
    monkeypatch.setattr(_blocks, "_MAX_BLOCKS", 1)
    whole = DawidSkene().fit(large)
    assert blocked.n_iter_ == whole.n_iter_
    np.testing.assert_allclose(blocked.probas_.to_numpy(), whole.probas_.to_numpy(),
                               rtol=0, atol=1e-10)
    np.testing.assert_allclose(blocked.log_likelihood_, whole.log_likelihood_, rtol=1e-12)


def test_repeated_judgments_all_count():
    enc = _encoded(500, repeat_share=0.2, seed=4)
    J, K = enc.n_annotators, enc.n_classes
    dense = np.zeros((enc.n_items, J * K))
    np.add.at(dense, (enc.item, enc.annotator * K + enc.label), 1.0)
    assert dense.max() >= 2.0  # some cells hold repeated judgments
    w = np.random.default_rng(1).random((J * K, K))
    np.testing.assert_allclose(enc.incidence @ w, dense @ w, rtol=1e-12)
    votes = np.zeros((enc.n_items, K))
    np.add.at(votes, (enc.item, enc.label), 1.0)
    np.testing.assert_allclose(soft_majority(enc), votes / votes.sum(axis=1, keepdims=True))
