"""Atomic writes: the target appears whole or not at all, with normal permissions."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from insights import _io


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), _io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_written_files_are_shareable(tmp_path):
    old = os.umask(0o022)
    try:
        p = _io.write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    finally:
        os.umask(old)
    assert oct(p.stat().st_mode & 0o777) == oct(0o644)
    assert pd.read_parquet(p)["a"].tolist() == [1]


# --------------------------------------------------------------------------------------------
# CSV formula neutralization (issue 10 item 5; OWASP "CSV injection")
# --------------------------------------------------------------------------------------------
DANGEROUS = ['=HYPERLINK("http://evil","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
             "\t=1", "\r=1"]
SAFE = ["ok", "-1", "+0.5", "1e-3", "a=b", " =1", ""]


def _read_cells(path):
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("dtype", [object, "string", "category"])
def test_csv_text_cells_that_would_run_get_a_quote(tmp_path, dtype):
    cells = DANGEROUS + SAFE
    df = pd.DataFrame({"label": pd.Series(cells, dtype=dtype), "n": range(-3, len(cells) - 3)})
    before = df.copy()
    rows = _read_cells(_io.write_table(df, tmp_path / "t.csv"))
    got = [r[0] for r in rows[1:]]
    assert got == ["'" + c for c in DANGEROUS] + SAFE
    assert [int(r[1]) for r in rows[1:]] == list(range(-3, len(cells) - 3))  # numbers untouched
    pd.testing.assert_frame_equal(df, before)  # input not modified


def test_csv_mixed_object_column_and_header(tmp_path):
    df = pd.DataFrame({"=p_spam": [0.5, -0.25], "x": ["-inf?", None], "y": [1.5, "=2"]})
    rows = _read_cells(_io.write_table(df, tmp_path / "t.csv"))
    assert rows[0] == ["'=p_spam", "x", "y"]
    assert rows[1] == ["0.5", "'-inf?", "1.5"] and rows[2] == ["-0.25", "", "'=2"]


def test_parquet_and_opt_out_are_untouched(tmp_path):
    df = pd.DataFrame({"label": DANGEROUS})
    assert pd.read_parquet(_io.write_table(df, tmp_path / "t.parquet"))["label"].tolist() \
        == DANGEROUS
    rows = _read_cells(_io.write_table(df, tmp_path / "raw.csv", neutralize=False))
    assert [r[0] for r in rows[1:]] == DANGEROUS


def test_parquet_float_columns_without_dictionary_pages(tmp_path):
    import pyarrow.parquet as pq

    df = pd.DataFrame({"item_id": ["a", "b", "a"], "p": [0.25, 0.5, 0.25], "n": [1, 2, 1]})
    path = _io.write_table(df, tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), df)
    meta = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(3)}
    assert not any("DICTIONARY" in e for e in encodings["p"])
    assert any("DICTIONARY" in e for e in encodings["item_id"])


def test_carriage_return_in_a_cell_cannot_split_a_row(tmp_path):
    # a bare CR would start a new row in every reader: injected rows in a shared CSV
    df = pd.DataFrame({"item_id": ["a\rfake,row", "b"], "n": [1, 2]})
    path = _io.write_table(df, tmp_path / "t.csv")
    back = pd.read_csv(path)
    assert back["item_id"].tolist() == ["a\rfake,row", "b"] and back["n"].tolist() == [1, 2]
