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
