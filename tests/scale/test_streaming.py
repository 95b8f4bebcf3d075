"""Streaming Dawid-Skene: out-of-core encoding and chunked EM equal the in-memory model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from insights.data import SchemaError
from insights.reliability import DawidSkene
from insights.scale import StreamingDawidSkene, encode_parquet, iter_item_chunks
from tests.shared import load_shared

# The streaming EM runs the same float64 operations as DawidSkene, only summing the M-step
# statistics chunk by chunk: the difference is floating-point reassociation (~1e-16 per
# step), which EM's contraction keeps far below 1e-8 over a few dozen iterations.
TOL = 1e-8


def _by_annotator(conf: np.ndarray, ids) -> pd.DataFrame:
    return pd.DataFrame(conf.reshape(len(ids), -1), index=pd.Index(ids))


def assert_same_fit(stream: StreamingDawidSkene, ref: DawidSkene) -> None:
    assert stream.n_iter_ == ref.n_iter_
    assert stream.converged_ == ref.converged_
    np.testing.assert_allclose(stream.log_likelihood_, ref.log_likelihood_, rtol=TOL)
    assert set(stream.annotator_ids_) == set(ref.annotator_ids_)
    got = _by_annotator(stream.confusions_, stream.annotator_ids_)
    want = _by_annotator(ref.confusions_, ref.annotator_ids_).loc[got.index]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=TOL, rtol=0)
    pd.testing.assert_series_equal(stream.priors_, ref.priors_, atol=TOL, rtol=0)
    pd.testing.assert_series_equal(stream.accuracies_, ref.accuracies_.loc[got.index],
                                   atol=TOL, rtol=0)
    probas = stream.read_probas()
    assert len(probas) == len(ref.probas_)
    np.testing.assert_allclose(probas.loc[ref.probas_.index].to_numpy(),
                               ref.probas_.to_numpy(), atol=TOL, rtol=0)
    labels = stream.read_labels()
    assert (labels.loc[ref.labels_.index].to_numpy() == ref.labels_.to_numpy()).all()


@pytest.fixture(scope="module")
def encoded(simulated, tmp_path_factory):
    labels, gold = simulated
    d = tmp_path_factory.mktemp("stream")
    # three files that split items between them: the encoding must regroup them
    for k, rows in enumerate(np.array_split(np.arange(len(labels)), 3)):
        labels.iloc[rows].to_parquet(d / f"part-{k}.parquet")
    return encode_parquet(d, d / "enc", gold=gold, memory_limit="256MB", threads=1,
                          row_group_rows=64)


@pytest.mark.parametrize("acceleration", ["squarem", None])
@pytest.mark.parametrize("chunk_rows", [5, 97, 10**6])
def test_matches_dawid_skene(simulated, encoded, chunk_rows, acceleration):
    # 5 rows cuts through nearly every item (items have 3-6 judgments, item 0 has ~45);
    # 97 is prime, so chunk ends fall at varied offsets; 10**6 is one chunk. The same
    # iteration as the in-memory fit, SQUAREM-accelerated (the default) or plain EM
    labels, gold = simulated
    ref = DawidSkene(acceleration=acceleration).fit(labels, gold=gold)
    stream = StreamingDawidSkene(chunk_rows=chunk_rows, acceleration=acceleration).fit(encoded)
    assert_same_fit(stream, ref)
    if acceleration is None:  # SQUAREM needs fewer passes over the data to the same point
        fast = StreamingDawidSkene(chunk_rows=chunk_rows).fit(encoded)
        assert fast.n_iter_ < stream.n_iter_
        assert (fast.read_labels() == stream.read_labels()).all()


def test_hyper_parameters_are_dawid_skenes(simulated, encoded, tmp_path):
    labels, _ = simulated
    params = dict(alpha=0.5, shrinkage=0.0, tol=1e-9, max_iter=200)
    ref = DawidSkene(**params).fit(labels)
    enc = encode_parquet(encoded.path.parent / "part-0.parquet", tmp_path / "g0")  # gold-free
    assert not enc.has_gold
    stream = clone(StreamingDawidSkene(chunk_rows=50, **params))
    assert stream.get_params()["alpha"] == 0.5
    src = sorted(encoded.path.parent.glob("part-*.parquet"))
    stream.fit(src, out_dir=tmp_path / "enc")
    assert_same_fit(stream, ref)


def test_matches_on_real_dataset(tmp_path):
    labels, gold = load_shared("snow_rte")
    labels.to_parquet(tmp_path / "labels.parquet")
    ref = DawidSkene().fit(labels, gold=gold)
    stream = StreamingDawidSkene(chunk_rows=333).fit(tmp_path / "labels.parquet", gold=gold,
                                                      out_dir=tmp_path / "enc")
    assert_same_fit(stream, ref)


@pytest.mark.parametrize("chunk_rows", [1, 2, 5, 64, 97, 10**6])
def test_chunks_hold_whole_items(encoded, chunk_rows):
    table = pq.read_table(encoded.judgments)
    item = table.column("item").to_numpy()
    assert (np.diff(item) >= 0).all(), "judgments.parquet must be sorted by item"
    sizes = np.bincount(item)
    seen = []
    for it, ann, lab in iter_item_chunks(encoded.judgments, chunk_rows):
        assert len(it) == len(ann) == len(lab) > 0
        codes, counts = np.unique(it, return_counts=True)
        # every item in the chunk with all of its judgments
        np.testing.assert_array_equal(counts, sizes[codes])
        # bounded: what was read plus at most one held-back item
        assert len(it) <= chunk_rows + sizes.max()
        seen.append(it)
    np.testing.assert_array_equal(np.concatenate(seen), item)


def test_encoding_dictionaries(simulated, encoded):
    labels, gold = simulated
    assert encoded.classes == ("c0", "c1", "c2")
    assert encoded.n_judgments == len(labels)
    items = pq.read_table(encoded.items).to_pandas()
    assert items["item_id"].tolist() == sorted(labels["item_id"].unique())
    np.testing.assert_array_equal(items["code"], np.arange(len(items)))
    assert encoded.annotator_ids().tolist() == sorted(labels["annotator_id"].unique())
    # decoding the codes gives back the multiset of judgments
    j = pq.read_table(encoded.judgments).to_pandas()
    back = pd.DataFrame({"item_id": items["item_id"].to_numpy()[j["item"]],
                         "annotator_id": encoded.annotator_ids()[j["annotator"]],
                         "label": np.asarray(encoded.classes)[j["label"]]})
    key = ["item_id", "annotator_id", "label"]
    pd.testing.assert_frame_equal(back.sort_values(key).reset_index(drop=True),
                                  labels[key].sort_values(key).reset_index(drop=True),
                                  check_dtype=False)
    g = np.load(encoded.gold)
    want = pd.Series(gold["label"].str[1:].astype(int).to_numpy(), index=gold["item_id"])
    got = pd.Series(g, index=items["item_id"])
    assert (got.loc[want.index] == want).all() and (got.drop(want.index) == -1).all()


def test_unknown_label_is_a_schema_error(simulated, tmp_path):
    labels, _ = simulated
    labels.to_parquet(tmp_path / "l.parquet")
    with pytest.raises(SchemaError, match="'c2', which is not in the label set"):
        encode_parquet(tmp_path / "l.parquet", tmp_path / "enc", classes=["c0", "c1"])
    with pytest.raises(SchemaError, match="missing required column 'worker'"):
        encode_parquet(tmp_path / "l.parquet", tmp_path / "enc2", annotator_col="worker")


def test_stopping_early_warns_like_dawid_skene(simulated, encoded, tmp_path):
    labels, gold = simulated
    with pytest.warns(ConvergenceWarning, match="StreamingDawidSkene did not converge in 2"):
        stream = StreamingDawidSkene(max_iter=2).fit(
            encoded, posteriors_path=tmp_path / "post.parquet")
    with pytest.warns(ConvergenceWarning):
        ref = DawidSkene(max_iter=2).fit(labels, gold=gold)
    assert stream.n_iter_ == 2 and not stream.converged_
    assert_same_fit(stream, ref)
    assert not list(tmp_path.glob("*.tmp"))  # the posteriors were written atomically
