"""insights.data: one located error per bad-input class, encoding, fingerprint, loading."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insights import data
from insights.data import DuplicateJudgmentWarning, SchemaError

GOOD_LABELS = """item_id,annotator_id,label,labeled_at,handle_seconds
i1,a1,ok,2026-03-02T10:00:00Z,12.5
i1,a2,spam,2026-03-02T10:01:00Z,8
i2,a1,spam,2026-03-03T09:00:00Z,10
i2,a3,spam,2026-03-03T09:30:00Z,
i3,a2,ok,2026-03-04T11:00:00Z,7
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def error_of(tmp_path: Path, name: str, text: str, kind: str = "labels", **kw) -> SchemaError:
    p = write(tmp_path, name, text)
    with pytest.raises(SchemaError) as info:
        data.read_table(p, kind, **kw)
    return info.value


# -- one test per bad-input class: the message names the file, row, column and value -------
def test_missing_required_column(tmp_path):
    err = error_of(tmp_path, "labels.csv", "item_id,label\ni1,ok\n")
    msg = str(err)
    assert "labels.csv" in msg and "'annotator_id'" in msg and "missing required column" in msg
    assert err.column == "annotator_id"


def test_empty_id(tmp_path):
    err = error_of(tmp_path, "labels.csv", "item_id,annotator_id,label\ni1,a1,ok\ni2,,ok\n")
    msg = str(err)
    assert "labels.csv row 2" in msg and "'annotator_id'" in msg and "empty" in msg
    assert err.row == 2


def test_whitespace_only_id_is_empty(tmp_path):
    err = error_of(tmp_path, "labels.csv", "item_id,annotator_id,label\n  ,a1,ok\n")
    assert err.row == 1 and err.column == "item_id"


def test_label_outside_declared_set(tmp_path):
    err = error_of(
        tmp_path, "labels.csv",
        "item_id,annotator_id,label\ni1,a1,ok\ni2,a1,spam\ni3,a1,hate speech\n",
        label_set=["hate", "ok", "spam"], label_set_origin="params/SG.yaml (label_set)",
    )
    msg = str(err)
    assert "labels.csv row 3" in msg and "'hate speech'" in msg
    assert "['hate', 'ok', 'spam']" in msg and "params/SG.yaml (label_set)" in msg


def test_gold_contradicts_itself(tmp_path):
    err = error_of(tmp_path, "gold.csv", "item_id,label\ni1,ok\ni2,spam\ni1,ok\ni1,spam\n",
                   kind="gold")
    msg = str(err)
    assert "gold.csv row 4" in msg and "'i1'" in msg and "'spam'" in msg
    assert "contradicts" in msg and err.row == 4


def test_gold_identical_repeat_is_fine(tmp_path):
    p = write(tmp_path, "gold.csv", "item_id,label\ni1,ok\ni1,ok\n")
    assert len(data.read_table(p, "gold")) == 1


def test_annotator_judged_item_twice_differently_with_repeats_error(tmp_path):
    err = error_of(tmp_path, "labels.csv",
                   "item_id,annotator_id,label\ni1,a1,ok\ni2,a1,ok\ni1,a1,spam\n",
                   repeats="error")
    msg = str(err)
    assert "labels.csv row 3" in msg and "'a1'" in msg and "'i1'" in msg and "'spam'" in msg
    assert err.value == "spam"


def test_identical_duplicates_dropped_with_count(tmp_path):
    p = write(tmp_path, "labels.csv",
              "item_id,annotator_id,label\ni1,a1,ok\ni1,a1,ok\ni1,a1,ok\ni2,a1,ok\n")
    with pytest.warns(DuplicateJudgmentWarning, match="dropped 2 duplicate"):
        df = data.read_table(p, "labels")
    assert len(df) == 2


def test_unparseable_timestamp(tmp_path):
    text = GOOD_LABELS.replace("2026-03-03T09:30:00Z", "last tuesday")
    err = error_of(tmp_path, "labels.csv", text)
    msg = str(err)
    assert "labels.csv row 4" in msg and "'labeled_at'" in msg and "'last tuesday'" in msg
    assert "timestamp" in msg


def test_unparseable_number(tmp_path):
    text = GOOD_LABELS.replace(",8\n", ",eight\n")
    err = error_of(tmp_path, "labels.csv", text)
    msg = str(err)
    assert "labels.csv row 2" in msg and "'handle_seconds'" in msg and "'eight'" in msg


def test_negative_number(tmp_path):
    err = error_of(tmp_path, "annotators.csv",
                   "annotator_id,team,cost_per_label\na1,T1,0.05\na2,T1,-1\n", kind="annotators")
    assert err.row == 2 and err.column == "cost_per_label" and "non-negative" in str(err)


def test_empty_file(tmp_path):
    err = error_of(tmp_path, "labels.csv", "")
    assert "labels.csv is empty" in str(err) and "item_id" in str(err)


def test_header_only_file(tmp_path):
    err = error_of(tmp_path, "labels.csv", "item_id,annotator_id,label\n")
    assert "empty" in str(err)


def test_bad_annotator_kind(tmp_path):
    err = error_of(tmp_path, "annotators.csv", "annotator_id,kind\na1,human\nllm,robot\n",
                   kind="annotators")
    assert err.row == 2 and "'robot'" in str(err) and "['human', 'model']" in str(err)


def test_duplicate_annotator_row(tmp_path):
    err = error_of(tmp_path, "annotators.csv", "annotator_id,team\na1,T1\na2,T1\na1,T2\n",
                   kind="annotators")
    assert err.row == 3 and "first at row 1" in str(err)


def test_bad_gold_source(tmp_path):
    err = error_of(tmp_path, "gold.csv", "item_id,label,source\ni1,ok,benchmark\ni2,ok,vibes\n",
                   kind="gold")
    assert err.row == 2 and err.column == "source"


# -- good input -------------------------------------------------------------------------------
def test_reads_good_table_with_types(tmp_path):
    p = write(tmp_path, "labels.csv", GOOD_LABELS)
    df = data.read_table(p, "labels")
    assert len(df) == 5
    assert str(df["labeled_at"].dt.tz) == "UTC"
    assert np.isnan(df["handle_seconds"].iat[3]) and df["handle_seconds"].iat[0] == 12.5


def test_ids_keep_leading_zeros(tmp_path):
    p = write(tmp_path, "labels.csv", "item_id,annotator_id,label\n007,01,1\n")
    df = data.read_table(p, "labels")
    assert df["item_id"].iat[0] == "007" and df["annotator_id"].iat[0] == "01"


def test_unknown_columns_are_kept(tmp_path):
    p = write(tmp_path, "labels.csv", "item_id,annotator_id,label,shift\ni1,a1,ok,night\n")
    assert "shift" in data.read_table(p, "labels").columns


def test_inputs_are_never_modified(tmp_path):
    p = write(tmp_path, "labels.csv", GOOD_LABELS + "i4,a1,ok,2026-03-05T10:00:00Z,3\n"
              "i4,a1,ok,2026-03-05T10:00:00Z,3\n")
    os.chmod(p, stat.S_IRUSR)
    before = hashlib.sha256(p.read_bytes()).hexdigest()
    mtime = p.stat().st_mtime_ns
    with pytest.warns(DuplicateJudgmentWarning):
        data.load(p)
    assert hashlib.sha256(p.read_bytes()).hexdigest() == before
    assert p.stat().st_mtime_ns == mtime


def test_load_directory_csv_and_parquet_agree(tmp_path):
    csv_dir, pq_dir = tmp_path / "csv", tmp_path / "pq"
    csv_dir.mkdir()
    pq_dir.mkdir()
    write(csv_dir, "labels.csv", GOOD_LABELS)
    write(csv_dir, "gold.csv", "item_id,label,source\ni1,ok,benchmark\n")
    ds_csv = data.load(csv_dir)
    ds_csv.labels.drop(columns="_row").to_parquet(pq_dir / "labels.parquet")
    ds_csv.gold.drop(columns="_row").to_parquet(pq_dir / "gold.parquet")
    ds_pq = data.load(pq_dir)
    cols = ["item_id", "annotator_id", "label"]
    pd.testing.assert_frame_equal(ds_csv.labels[cols], ds_pq.labels[cols])
    assert ds_csv.label_set == ds_pq.label_set == ["ok", "spam"]
    assert ds_csv.sources["gold"].endswith("gold.csv")


def test_load_duckdb_query(tmp_path):
    write(tmp_path, "labels.csv", GOOD_LABELS)
    ds = data.load(query=f"SELECT * FROM read_csv('{tmp_path / 'labels.csv'}', all_varchar=true) "
                         "WHERE annotator_id <> 'a3'")
    assert len(ds.labels) == 4 and "a3" not in set(ds.labels["annotator_id"])
    assert len(ds.fingerprint) == 64


def test_duckdb_query_error_is_schema_error():
    with pytest.raises(SchemaError, match="DuckDB query failed"):
        data.load(query="SELECT * FROM no_such_table_here")


def test_fingerprint_changes_with_content(tmp_path):
    p = write(tmp_path, "labels.csv", GOOD_LABELS)
    f1 = data.load(p).fingerprint
    assert data.load(p).fingerprint == f1
    p.write_text(GOOD_LABELS.replace("i3,a2,ok", "i3,a2,spam"))
    assert data.load(p).fingerprint != f1


def test_subset_by_market_and_period(tmp_path):
    text = GOOD_LABELS.replace("handle_seconds\n", "handle_seconds,market\n")
    rows = text.strip().split("\n")
    rows = [rows[0]] + [r + ("," + ("DE" if k % 2 else "SG")) for k, r in enumerate(rows[1:])]
    p = write(tmp_path, "labels.csv", "\n".join(rows) + "\n")
    ds = data.load(p)
    assert set(ds.subset(market="DE").labels["market"]) == {"DE"}
    assert len(ds.subset(since="2026-03-03", until="2026-03-04").labels) == 2
    aware = pd.Timestamp("2026-03-03T01:00", tz="Europe/Berlin")   # = 2026-03-03T00:00Z
    assert len(ds.subset(since=aware, until="2026-03-04").labels) == 2
    with pytest.raises(SchemaError, match="no labels for market 'FR'"):
        ds.subset(market="FR")


# -- encoding ---------------------------------------------------------------------------------
def test_encode_incidence_counts_by_hand():
    labels = pd.DataFrame({
        "item_id": ["x", "x", "y", "y", "y"],
        "annotator_id": ["a", "b", "a", "b", "b"],
        "label": ["1", "2", "2", "2", "2"],
    })
    gold = pd.DataFrame({"item_id": ["y", "z"], "label": ["2", "1"]})
    enc = data.encode(labels, gold=gold)
    assert list(enc.classes) == ["1", "2"]
    assert list(enc.item_ids) == ["x", "y"] and list(enc.annotator_ids) == ["a", "b"]
    # columns: a:1, a:2, b:1, b:2
    expected = np.array([[1, 0, 0, 1], [0, 1, 0, 2]])
    np.testing.assert_array_equal(enc.incidence.toarray(), expected)
    np.testing.assert_array_equal(enc.incidence_t.toarray(), expected.T)
    np.testing.assert_array_equal(enc.item_counts.toarray(), [[1, 1], [0, 3]])
    np.testing.assert_array_equal(enc.gold, [-1, 1])   # gold item z has no labels: ignored
    back = enc.labels_frame()
    pd.testing.assert_frame_equal(back, labels)


def test_encode_rejects_label_outside_classes():
    labels = pd.DataFrame({"item_id": ["x"], "annotator_id": ["a"], "label": ["3"]})
    with pytest.raises(SchemaError, match="'3'"):
        data.encode(labels, classes=["1", "2"])


def test_as_encoded_applies_gold_to_encoded():
    labels = pd.DataFrame({"item_id": ["x", "y"], "annotator_id": ["a", "a"], "label": ["1", "2"]})
    enc = data.encode(labels)
    with_gold = data.as_encoded(enc, gold=pd.DataFrame({"item_id": ["y"], "label": ["1"]}))
    np.testing.assert_array_equal(with_gold.gold, [-1, 0])
    assert with_gold.incidence is enc.incidence  # the sparse encoding is built once, shared


@pytest.mark.parametrize("threaded", [False, True])
def test_encode_same_codes_for_arrow_object_and_categorical_columns(threaded, monkeypatch):
    if threaded:  # the large-table path: item column encoded in a second thread
        monkeypatch.setattr(sys.modules["insights.data.encoding"], "_THREADED_ENCODE_ROWS", 0)
    rng = np.random.default_rng(0)
    labels = pd.DataFrame({
        "item_id": rng.integers(0, 50, 400).astype(str),
        "annotator_id": rng.integers(0, 9, 400).astype(str),
        "label": rng.choice(["b", "a", "c"], 400),
    })
    arrow = data.encode(labels.astype("string[pyarrow]"))
    for other in (labels.astype(object), labels.astype("category")):
        enc = data.encode(other)
        for name in ("item", "annotator", "label"):
            np.testing.assert_array_equal(getattr(arrow, name), getattr(enc, name))
        np.testing.assert_array_equal(arrow.item_ids, enc.item_ids)
    assert arrow.item.dtype == np.int32 and arrow.item_ids.dtype == object
    assert list(arrow.classes) == ["a", "b", "c"]
    np.testing.assert_array_equal(arrow.classes[arrow.label], labels["label"].to_numpy())
    np.testing.assert_array_equal(arrow.item_ids[arrow.item].astype(str), labels["item_id"])


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]", "str"])
def test_encode_rejects_missing_ids_and_labels(dtype):
    labels = pd.DataFrame({"item_id": ["x", None], "annotator_id": ["a", "a"],
                           "label": ["1", "2"]}, dtype=dtype)
    with pytest.raises(SchemaError, match="row 2: column 'item_id' is empty"):
        data.encode(labels)
    labels = pd.DataFrame({"item_id": ["x", "y"], "annotator_id": ["a", "a"], "label": ["1", None]})
    with pytest.raises(SchemaError, match="row 2"):
        data.encode(labels, classes=["1", "2"])


def test_dataset_encodes_once_and_again_when_its_tables_change():
    labels = pd.DataFrame({"item_id": ["x", "y"], "annotator_id": ["a", "a"], "label": ["1", "2"]})
    ds = data.Dataset(labels=labels, label_set=["1", "2"])
    enc = ds.encode()
    assert ds.encode() is enc and data.as_encoded(ds) is enc
    ds.gold = pd.DataFrame({"item_id": ["y"], "label": ["1"]})
    assert ds.encode() is not enc
    np.testing.assert_array_equal(ds.encode().gold, [-1, 0])
    ds.label_set = ["2", "1"]
    assert list(ds.encode().classes) == ["2", "1"]
    # a gold or label set given at fit time is a different encoding
    assert data.as_encoded(ds, classes=["1", "2"]) is not ds.encode()
