"""Which markets a run covers: the data's and the params files', validated."""

from __future__ import annotations

import pandas as pd
import pytest

from insights.report import markets
from insights.report.params import ParamsError
from tests.report.probe import make_params, write_probe_log


def test_union_of_the_data_and_the_params_files(tmp_path):
    data = write_probe_log(tmp_path / "data", {"AA": ["ok"], "BB": ["ok"]})
    params = make_params(tmp_path, data, ["CC"])  # CC has a file but no rows
    assert markets.plan(None, params, tmp_path, {}) == ["AA", "BB", "CC"]


def test_market_column_renamed_by_the_mapping(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame({"item": ["i1", "i2"], "worker": ["a", "b"], "label": ["x", "y"],
                  "country": [" DE", "SG "]}).to_csv(data / "labels.csv", index=False)
    params = make_params(tmp_path, data, [], columns={"item_id": "item",
                                                      "annotator_id": "worker",
                                                      "market": "country"})
    assert markets.plan(None, params, tmp_path, {}) == ["DE", "SG"]


def test_without_a_market_column(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame({"item_id": ["i"], "annotator_id": ["a"], "label": ["x"]}).to_csv(
        data / "labels.csv", index=False)
    assert markets.plan(None, make_params(tmp_path, data, []), tmp_path, {}) == ["all"]
    params = make_params(tmp_path, data, ["snow"])
    assert markets.plan(None, params, tmp_path, {}) == ["snow"]


def test_requested_markets_are_validated_and_deduplicated():
    assert markets.choose_markets(["DE", "SG", "DE"], [], None) == ["DE", "SG"]
    for bad in ("../x", "/abs", "javascript:alert(1)", ""):
        with pytest.raises(ParamsError):
            markets.choose_markets([bad], [], None)


def test_bad_names_in_the_data_are_skipped(caplog):
    assert markets.choose_markets(None, ["US"], ["DE", "../x", "javascript:alert(1)"]) == [
        "DE", "US"]
    assert "skipped market" in caplog.text


def test_market_files_with_their_own_data_leave_the_demo_out(tmp_path):
    # defaults.yaml without a data_source means the built-in simulated operation; a user who
    # points one market file at a real log must not get the demo's four markets beside it
    data = write_probe_log(tmp_path / "mine", {"AA": ["ok"]})
    params = tmp_path / "params"
    params.mkdir()
    (params / "defaults.yaml").write_text("weeks: 4\n")
    (params / "mine.yaml").write_text(f"data_source: {data}\n")
    assert markets.plan(None, params, tmp_path, {}) == ["mine"]
    # a market file without its own data (tuning a demo market) keeps the demo's markets
    (params / "mine.yaml").write_text("weeks: 6\n")
    assert markets.plan(None, params, tmp_path, {"scenario": "small"}) == ["DE", "SG", "mine"]
