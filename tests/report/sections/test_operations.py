"""The BPO operations section on a simulated operation with calibration, arbitration, new
teams and a systemic confusion, and its note on data without them."""

from pathlib import Path

import pytest

from insights.operations.simulate import simulate_operations
from insights.report.build import build_context
from insights.report.html import section_html
from insights.report.params import ReportParams
from insights.report.sections import operations


@pytest.fixture(scope="module")
def ops_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ops-report")
    sim = simulate_operations("small", seed=1)
    sim.write(d)
    return d


def _section(data_dir: Path, market: str, **kw):
    ctx = build_context(ReportParams(market=market, data_source=str(data_dir),
                                     pseudonymize=False, **kw))
    return operations.build(ctx)


def test_section_on_simulated_operations(ops_dir):
    res = _section(ops_dir, "SG", ops_event="2026-01-26", ops_event_name="policy <v2>")
    assert not res.note
    assert any("calibration sessions" in s for s in res.sentences)
    assert any("arbitrated" in s for s in res.sentences)
    assert "Calibration sessions" in res.tables
    assert "Arbitration: share of each team's judgments overturned" in res.tables
    assert "impact" in res.data and len(res.data["impact"])
    assert {"operations_calibration_sessions", "operations_impact"} <= set(res.data["tables"])
    html = section_html(res)
    assert "policy &lt;v2&gt;" in html and "policy <v2>" not in html   # data strings escaped


def test_section_new_team(ops_dir):
    res = _section(ops_dir, "DE")                     # DE-N1 joins in week 1
    assert "New teams: ramp-up" in res.tables
    assert any(s.startswith("New team DE-N1 started at") for s in res.items)


def test_section_without_calibration_or_arbitration(tmp_path):
    from insights import synthetic

    synthetic.simulate("small", seed=1, gold_share=0.0).write(tmp_path)
    res = _section(tmp_path, "DE")
    assert "Calibration sessions" not in res.tables
    assert any("No calibration or arbitration outcomes in the data" in s
               for s in res.sentences)
    assert "Arbitration queue (most expected errors removed first)" in res.tables
