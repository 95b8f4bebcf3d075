"""A report on the minimal log (item_id, annotator_id, label; optional gold) renders whole.

Tiny hand-made logs: five annotators (four ~90 % right, one always says 'b') on 60 items, three
judgments per item. No market column, no teams, no timestamps, no costs: every section either
shows its evidence or says in one sentence what would enable it; never an empty table, a
placeholder figure or an exception.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from insights.report.build import build_report, write_tables
from insights.report.html import section_html
from insights.report.params import ReportParams


def minimal_log(folder, *, gold: bool = False, teams: int = 0, times: bool = False,
                seed: int = 3):
    rng = np.random.default_rng(seed)
    classes = np.array(["a", "b", "c"])
    truth = rng.integers(0, 3, 60)
    rows = []
    for i, t in enumerate(truth):
        for a in rng.choice(5, size=3, replace=False):
            lab = 1 if a == 4 else (t if rng.random() < 0.9 else rng.integers(0, 3))
            row = {"item_id": f"i{i:02d}", "annotator_id": f"w{a}", "label": classes[lab]}
            if teams:
                row["team"] = f"T{a % teams}"
            if times:
                row["labeled_at"] = (pd.Timestamp("2026-01-05", tz="UTC")
                                     + pd.Timedelta(hours=int(i) * 20)).isoformat()
            rows.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    if gold:
        pd.DataFrame({"item_id": [f"i{i:02d}" for i in range(0, 60, 2)],
                      "label": classes[truth[::2]]}).to_csv(folder / "gold.csv", index=False)
    return folder


def render(folder, **params):
    report = build_report(ReportParams(data_source=str(folder), pseudonymize=False, **params))
    pages = {k: section_html(s) for k, s in report.sections.items()}
    assert not {k: s.data["error"] for k, s in report.sections.items() if "error" in s.data}
    for key, page in pages.items():
        assert page, f"section {key} shows nothing"
        # never a table with a header and no rows
        for tbl in re.findall(r"<table.*?</table>", page, flags=re.S):
            assert "<td" in tbl, f"{key}: header-only table"
    return report, pages


@pytest.mark.parametrize("gold", [False, True], ids=["no-gold", "gold"])
def test_minimal_log_renders_every_section(tmp_path, gold):
    report, pages = render(minimal_log(tmp_path / "log", gold=gold))
    assert report.market == "all"  # no market column: one market
    n = report.sections["scale"].data["numbers"]
    assert n["items"] == 60 and n["judgments"] == 180
    # no teams: the scorecard ranks annotators, and says so
    card = report.sections["scorecard"].data["card"]
    assert set(card["annotator"]) == {f"w{a}" for a in range(5)}
    assert "annotators are ranked instead" in pages["scorecard"]
    # the spammer who always says 'b' ranks last (4 annotators ~90% right against one at ~33%)
    assert card["annotator"].iat[-1] == "w4"
    alerts = report.findings[report.findings["severity"] == "alert"]["finding"]
    assert any(f.startswith("Annotator w4 is below") for f in alerts), alerts.tolist()
    assert not any(f.startswith(("Annotator w0", "Annotator w1")) for f in alerts)
    # no timestamps: trends and forecast say in one sentence which column enables them
    for key in ("trends", "forecast"):
        note = report.sections[key].note
        assert "labeled_at" in note and note.count(".") == 1
        assert not report.sections[key].tables and not report.sections[key].figures
    # no cost data and no cost_per_label: no cost anywhere
    assert "cost_total" not in n
    assert "Cost" not in pages["scale"] and "Cost" not in pages["scorecard"]
    assert not any("USD" in f for f in report.findings["finding"])
    # 30 gold items (every other item): just enough to calibrate; none: no accuracy claimed
    acc = report.sections["scale"].data["accuracy"]
    assert acc.calibrated is gold
    if not gold:
        assert "not estimated" in pages["scale"]


def test_cost_per_label_parameter_prices_judgments(tmp_path):
    report, pages = render(minimal_log(tmp_path / "log"), cost_per_label=0.05)
    n = report.sections["scale"].data["numbers"]
    assert n["cost_total"] == pytest.approx(180 * 0.05)
    assert "Cost per final label" in pages["scale"]


def test_named_market_without_market_column(tmp_path, monkeypatch):
    report, _ = render(minimal_log(tmp_path / "log"), market="SG")
    assert report.market == "SG" and report.sections["scale"].data["numbers"]["items"] == 60
    summary = write_tables(report, tmp_path / "tables")
    assert summary["market"] == "SG" and summary["scale"]["items"] == 60


@pytest.mark.parametrize("teams", [1, 2], ids=["one-team", "two-teams"])
def test_few_teams_with_timestamps(tmp_path, teams):
    # one team used to crash confidence_summary ("All arrays must be of the same length")
    report, pages = render(minimal_log(tmp_path / "log", gold=True, teams=teams, times=True))
    card = report.sections["scorecard"].data["card"]
    assert len(card) == teams and card["team"].tolist()[0].startswith("T")
    cs = report.sections["confidence"].data["summary"]
    assert len(cs.teams) in (0, teams)
