"""data.load: column mapping, market isolation, encodings, dates, markets(), bad inputs."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from insights import data
from insights.data import GoldClassNotJudgedWarning, GoldWithoutLabelsWarning, SchemaError

USER_LOG = """item,worker,answer,country
i1,w1,ok,SG
i1,w2,spam,SG
i2,w1,spam,SG
i3,w3,ok,MY
i3,w4,ok,MY
"""
MAP = {"item_id": "item", "annotator_id": "worker", "label": "answer", "market": "country"}


def write(tmp_path, name, text, **kw):
    p = tmp_path / name
    p.write_text(text, **kw)
    return p


def test_columns_mapping_reads_the_users_names(tmp_path):
    write(tmp_path, "labels.csv", USER_LOG)
    write(tmp_path, "gold.csv", "item,answer\ni1,ok\n")
    ds = data.load(tmp_path, columns=MAP)
    assert list(ds.labels.columns[:4]) == ["_row", "item_id", "annotator_id", "label"]
    assert ds.gold["item_id"].tolist() == ["i1"] and ds.label_set == ["ok", "spam"]
    assert ds.encode().n_items == 3


def test_errors_name_the_users_column(tmp_path):
    p = write(tmp_path, "labels.csv", USER_LOG.replace("i2,w1,", "i2,,"))
    with pytest.raises(SchemaError) as info:
        data.load(p, columns=MAP)
    assert "row 3" in str(info.value) and "'worker' (annotator_id)" in str(info.value)
    assert info.value.column == "worker"
    p = write(tmp_path, "labels.csv", "item,answer\ni1,ok\n")
    with pytest.raises(SchemaError, match=r"missing required column 'worker' \(annotator_id\)"):
        data.load(p, columns=MAP)


def test_misspelled_mapping_key_names_the_closest(tmp_path):
    p = write(tmp_path, "labels.csv", USER_LOG)
    with pytest.raises(SchemaError, match="did you mean 'annotator_id'"):
        data.load(p, columns={"annotatr_id": "worker"})


def test_market_is_validated_on_its_own_rows(tmp_path):
    bad_other = USER_LOG + "i4,,ok,MY\ni5,w9,hate speech,MY\n"
    p = write(tmp_path, "labels.csv", bad_other)
    ds = data.load(p, columns=MAP, market="SG", label_set=["ok", "spam"])
    assert set(ds.labels["item_id"]) == {"i1", "i2"}
    with pytest.raises(SchemaError, match="row 6"):
        data.load(p, columns=MAP, market="MY")


def test_market_from_items_table_and_isolated_gold(tmp_path):
    write(tmp_path, "labels.csv", "item_id,annotator_id,label\ni1,a1,ok\ni2,a1,spam\n"
          "i3,a2,ok\n")
    write(tmp_path, "items.csv", "item_id,market\ni1,SG\ni2,SG\ni3,MY\n")
    # gold of MY is broken (contradicts itself); SG must not see it
    write(tmp_path, "gold.csv", "item_id,label\ni1,ok\ni3,ok\ni3,spam\n")
    ds = data.load(tmp_path, market="SG")
    assert sorted(ds.labels["item_id"]) == ["i1", "i2"] and ds.gold["item_id"].tolist() == ["i1"]
    with pytest.raises(SchemaError, match="contradicts"):
        data.load(tmp_path, market="MY")


def test_unknown_market_lists_the_present_ones(tmp_path):
    p = write(tmp_path, "labels.csv", USER_LOG)
    with pytest.raises(SchemaError, match=r"no labels for market 'XX'.*\['MY', 'SG'\]"):
        data.load(p, columns=MAP, market="XX")


def test_markets_helper(tmp_path):
    p = write(tmp_path, "labels.csv", USER_LOG.replace("MY\n", " MY \n", 1))
    assert data.markets(p, columns=MAP) == ["MY", "SG"]
    q = write(tmp_path, "plain.csv", "item_id,annotator_id,label\ni1,a1,ok\n")
    assert data.markets(q) == [None]
    d = tmp_path / "d"
    d.mkdir()
    write(d, "labels.csv", "item_id,annotator_id,label\ni1,a1,ok\n")
    write(d, "items.csv", "item_id,market\ni1,SG\ni2,\n")
    assert data.markets(d) == ["SG"]
    pq.write_table(pa.table({"item_id": ["i1"], "annotator_id": ["a"], "label": ["x"],
                             "market": ["BR"]}), tmp_path / "l.parquet")
    assert data.markets(tmp_path / "l.parquet") == ["BR"]


def test_non_utf8_bytes_are_located(tmp_path):
    p = tmp_path / "labels.csv"
    p.write_bytes(b"item_id,annotator_id,label\ni1,a1,ok\ni2,a1,caf\xe9\n")
    with pytest.raises(SchemaError) as info:
        data.load(p)
    msg = str(info.value)
    assert "labels.csv line 3, byte offset 45" in msg and "--encoding" in msg
    ds = data.load(p, encoding="latin-1")
    assert "café" in set(ds.labels["label"])


def test_corrupt_gzip(tmp_path):
    p = tmp_path / "labels.csv.gz"
    p.write_bytes(gzip.compress(b"item_id,annotator_id,label\ni1,a1,ok\n" * 50)[:60])
    with pytest.raises(SchemaError, match="labels.csv.gz: not a readable gzip file"):
        data.load(p)


def test_gzip_csv_reads(tmp_path):
    p = tmp_path / "labels.csv.gz"
    p.write_bytes(gzip.compress(b"item_id,annotator_id,label\ni1,a1,ok\n"))
    assert len(data.load(p).labels) == 1


def test_duplicate_header_columns(tmp_path):
    p = write(tmp_path, "labels.csv", "item_id,annotator_id,label,label\ni1,a1,ok,spam\n")
    with pytest.raises(SchemaError, match=r"column 'label' appears twice \(columns 3 and 4\)"):
        data.load(p)


@pytest.mark.parametrize("value", ["NaN", "null", "None", "N/A", "nan"])
def test_missing_label_strings_are_errors(tmp_path, value):
    p = write(tmp_path, "labels.csv", f"item_id,annotator_id,label\ni1,a1,ok\ni2,a1,{value}\n")
    with pytest.raises(SchemaError, match=f"row 2: column 'label' has '{value}', which means a "
                                          "missing answer"):
        data.load(p)


def test_declared_none_is_a_class(tmp_path):
    p = write(tmp_path, "labels.csv", "item_id,annotator_id,label\ni1,a1,None\ni2,a1,ok\n")
    assert data.load(p, label_set=["None", "ok"]).label_set == ["None", "ok"]


def test_ambiguous_date_needs_a_declared_format(tmp_path):
    p = write(tmp_path, "labels.csv", "item_id,annotator_id,label,labeled_at\n"
              "i1,a1,ok,2026-03-02\ni2,a1,ok,03/04/2026\n")
    with pytest.raises(SchemaError, match="row 2.*'03/04/2026'.*ambiguous.*--date-format"):
        data.load(p)
    q = write(tmp_path, "l2.csv", "item_id,annotator_id,label,labeled_at\ni2,a1,ok,03/04/2026\n")
    ds = data.load(q, date_format="%d/%m/%Y")
    assert ds.labels["labeled_at"].iat[0] == pd.Timestamp("2026-04-03", tz="UTC")


@pytest.mark.parametrize("values", [[1767225600, 1767225660], [1.7e9, 1.8e9]])
def test_numeric_timestamps_in_parquet(tmp_path, values):
    p = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"item_id": ["i1", "i2"], "annotator_id": ["a", "a"],
                             "label": ["x", "y"], "labeled_at": values}), p)
    with pytest.raises(SchemaError, match=r"labels.parquet row 1: column 'labeled_at' holds "
                                          r"(int64|double) values"):
        data.load(p)


@pytest.mark.parametrize("col,values", [("item_id", [1.0, 2.0]), ("label", [[1], [2]]),
                                        ("annotator_id", [1.5, None])])
def test_float_or_list_ids_and_labels_in_parquet(tmp_path, col, values):
    cols = {"item_id": ["i1", "i2"], "annotator_id": ["a", "b"], "label": ["x", "y"]}
    cols[col] = values
    pq.write_table(pa.table(cols), tmp_path / "labels.parquet")
    with pytest.raises(SchemaError, match=f"labels.parquet row 1: column '{col}' holds"):
        data.load(tmp_path / "labels.parquet")


def test_integer_ids_in_parquet_are_text(tmp_path):
    pq.write_table(pa.table({"item_id": [1, 2], "annotator_id": [7, 7], "label": [0, 1]}),
                   tmp_path / "labels.parquet")
    ds = data.load(tmp_path / "labels.parquet")
    assert ds.labels["item_id"].tolist() == ["1", "2"] and ds.label_set == ["0", "1"]


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_infinite_costs(tmp_path, value):
    p = write(tmp_path, "labels.csv", f"item_id,annotator_id,label,cost\ni1,a1,ok,0.1\n"
              f"i2,a1,ok,{value}\n")
    with pytest.raises(SchemaError, match="row 2: column 'cost'.*finite non-negative"):
        data.load(p)


def test_gold_without_labels_warns_once(tmp_path):
    write(tmp_path, "labels.csv", "item_id,annotator_id,label\ni1,a1,ok\n")
    write(tmp_path, "gold.csv", "item_id,label\ni1,ok\ni8,ok\ni9,spam\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data.load(tmp_path)
    msgs = [str(w.message) for w in caught if w.category is GoldWithoutLabelsWarning]
    assert len(msgs) == 1 and "2 gold answer(s)" in msgs[0] and "'i8'" in msgs[0]


def test_gold_label_no_judgment_uses_warns_with_its_row(tmp_path):
    write(tmp_path, "labels.csv", "item_id,annotator_id,label\ni1,a1,ok\ni2,a1,spam\n")
    write(tmp_path, "gold.csv", "item_id,label\ni1,ok\ni2,Spam\n")
    with pytest.warns(GoldClassNotJudgedWarning, match=r"row 2: gold label 'Spam' is in no "
                      r"judgment \(1 gold answer"):
        ds = data.load(tmp_path)
    assert ds.label_set == ["Spam", "ok", "spam"]  # documented: the union, so say so
    with warnings.catch_warnings():  # a declared label set: the label is an error instead
        warnings.simplefilter("error", GoldClassNotJudgedWarning)
        with pytest.raises(SchemaError, match="Spam"):
            data.load(tmp_path, label_set=["ok", "spam"])


def test_gold_pointing_at_a_folder(tmp_path):
    p = write(tmp_path, "labels.csv", "item_id,annotator_id,label\ni1,a1,ok\n")
    with pytest.raises(SchemaError, match="is a directory; expected a gold file"):
        data.load(p, gold=tmp_path)


def test_prepared_encoding_equals_a_fresh_one(tmp_path):
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame({"item_id": [f" i{k}" for k in rng.integers(0, 90, n)],
                       "annotator_id": [f"a{k}" for k in rng.integers(0, 9, n)],
                       "label": rng.choice(["x", "y", "z"], n)})
    df.to_csv(tmp_path / "labels.csv", index=False)
    pd.DataFrame({"item_id": ["i3", "i5"], "label": ["y", "x"]}).to_csv(tmp_path / "gold.csv",
                                                                       index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = data.load(tmp_path)
    pre = ds.encode()
    fresh = data.encode(ds.labels, gold=ds.gold, classes=ds.label_set)
    for name in ("item_ids", "annotator_ids", "classes", "item", "annotator", "label", "gold"):
        np.testing.assert_array_equal(getattr(pre, name), getattr(fresh, name))


def test_items_text_with_quoted_line_breaks(tmp_path):
    write(tmp_path, "labels.csv", "item_id,annotator_id,label\ni1,a1,ok\ni2,a1,ok\n")
    write(tmp_path, "items.csv", 'item_id,text\ni1,"two\nlines"\ni2,plain\n')
    ds = data.load(tmp_path)
    assert ds.items.set_index("item_id").loc["i1", "text"] == "two\nlines"


def test_duplicate_parquet_columns(tmp_path):
    t = pa.Table.from_arrays([pa.array(["i1"]), pa.array(["a1"]), pa.array(["x"]),
                              pa.array(["y"])], names=["item_id", "annotator_id", "label",
                                                       "label"])
    pq.write_table(t, tmp_path / "labels.parquet")
    with pytest.raises(SchemaError, match="labels.parquet schema: column 'label' appears twice"):
        data.load(tmp_path / "labels.parquet")


def test_mapping_onto_an_existing_contract_column_is_refused(tmp_path):
    p = write(tmp_path, "labels.csv", "item_id,item,annotator_id,label\ni1,x,a1,ok\n")
    with pytest.raises(SchemaError, match="has both the column 'item_id' and 'item'"):
        data.load(p, columns={"item_id": "item"})


def test_market_encoding_holds_only_its_own_annotators_and_items(tmp_path):
    p = write(tmp_path, "labels.csv", USER_LOG)
    ds = data.load(p, columns=MAP, market="MY")
    enc = ds.encode()
    assert sorted(enc.annotator_ids) == ["w3", "w4"] and list(enc.item_ids) == ["i3"]
    fresh = data.encode(ds.labels, classes=ds.label_set)
    np.testing.assert_array_equal(enc.annotator_ids, fresh.annotator_ids)
    np.testing.assert_array_equal(enc.annotator, fresh.annotator)
