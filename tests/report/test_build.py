"""build_report on the planted operation: sections, findings, tables, reproducibility."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from insights.report import build
from insights.report.build import build_report, default_period, section_modules, write_tables
from insights.report.sections import SectionResult
from tests.report.conftest import aa_params


def test_default_period_is_last_complete_weeks():
    # data from Monday 2 March to Wednesday 8 April: the last complete week ends Sunday 5 April
    t = pd.Series(pd.date_range("2026-03-02", "2026-04-08 12:00", freq="6h", tz="UTC"))
    since, until = default_period(t, weeks=2)
    assert until == pd.Timestamp("2026-04-06", tz="UTC") and until.day_of_week == 0
    assert since == pd.Timestamp("2026-03-23", tz="UTC")
    # data ending on a Sunday evening: that week is complete
    since, until = default_period(t[t < pd.Timestamp("2026-04-06", tz="UTC")], weeks=1)
    assert until == pd.Timestamp("2026-04-06", tz="UTC")


def test_every_section_module_follows_the_contract(report):
    mods = section_modules()
    keys = [m.KEY for m in mods]
    assert {"scale", "scorecard", "gaps", "trends", "confidence", "model", "forecast",
            "methods"} <= set(keys) and keys[-1] == "methods"
    assert len(set(keys)) == len(keys)
    for m in mods:
        assert isinstance(m.TITLE, str) and m.TITLE
        result = report.sections[m.KEY]
        assert isinstance(result, SectionResult) and result.key == m.KEY
        for caption, df in result.tables.items():
            assert len(df), f"{m.KEY}: empty table {caption!r}"


def test_a_failing_section_says_so_and_the_others_render(operation, monkeypatch, caplog):
    from insights.report.sections import forecast

    def broken(ctx):
        raise RuntimeError("annotator AA-good-1 broke it")

    monkeypatch.setattr(forecast, "build", broken)
    r = build_report(aa_params(operation, method="majority"))
    result = r.sections["forecast"]
    assert result.data["error"] == "RuntimeError" and "could not be computed" in result.note
    assert "AA-good-1" not in result.note  # the exception text stays in the log
    assert "AA-good-1" in caplog.text
    assert r.sections["scorecard"].tables  # the others are there


def test_every_shown_table_has_human_headers_and_declared_kinds(report):
    for key, result in report.sections.items():
        for caption, df in result.tables.items():
            kinds = df.attrs.get("kinds", {})
            for col in df.columns:
                assert "_" not in str(col), f"{key}/{caption}: snake_case header {col!r}"
                assert col in kinds, f"{key}/{caption}: no kind declared for {col!r}"


def test_findings_most_important_first_and_link_to_sections(report):
    f = report.findings
    order = f["severity"].map({"alert": 0, "watch": 1, "info": 2})
    assert order.is_monotonic_increasing
    assert set(f["section"]) <= set(report.sections)
    assert any("gap" in s and "`hate`" in s and sec == "gaps"
               for s, sec in zip(f["finding"], f["section"], strict=True))
    out = report.findings_html()
    for sec in f["section"]:
        assert f'href="#{report.titles[sec].replace(" ", "-")}"' in out


def test_flags_are_plain_text(report):
    flags = report.flags()
    assert flags and not any("`" in f for f in flags)
    assert any("'hate'" in f for f in flags)


def test_tables_written_with_the_index_keys(report, tmp_path):
    s = write_tables(report, tmp_path)
    tables = report.tables()
    assert {"scorecard", "findings", "item_confidence", "annotator_quality", "knowledge_gaps",
            "trend_tests", "trend_series", "calibration", "team_accuracy", "review_list",
            "forecast", "provenance"} <= set(tables)
    for name, table in tables.items():
        pq = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert len(pq) == len(table), name
        if len(table):
            assert len(pd.read_csv(tmp_path / f"{name}.csv")) == len(table), name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {"market", "period", "since", "until", "fingerprint", "method", "scale", "flags",
            "findings", "params"} <= set(summary)
    assert summary["market"] == "AA" == s["market"]
    assert summary["scale"]["items"] == report.sections["scale"].data["numbers"]["items"]
    assert "tables_dir" not in summary["params"]


def test_write_tables_without_a_folder_writes_nothing(report, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert write_tables(report, "") is None
    assert write_tables(report) is None  # params.tables_dir is ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_same_inputs_same_numbers(operation, report):
    again = build_report(aa_params(operation))
    for name, table in report.tables().items():
        pd.testing.assert_frame_equal(table, again.tables()[name], obj=name)


def test_a_period_without_judgments_is_a_located_error(operation):
    with pytest.raises(build._data.SchemaError, match="no judgments between 2030-01-01"):
        build.build_context(aa_params(operation, since="2030-01-01", until="2030-02-01"))


def test_hierarchical_report_model_is_reused_for_confidence(operation):
    r = build_report(aa_params(operation, method="hierarchical"))
    cs = r.sections["confidence"].data["summary"]
    assert cs.model is r.context.posterior.model  # fitted once
    assert set(cs.teams["team"]) == set(r.sections["scorecard"].data["card"]["team"])
    assert "hierarchical" in cs.calibration.index


@pytest.mark.slow
def test_default_scenario_de_headlines_the_planted_drop(tmp_path_factory):
    # the default scenario at full scale: DE-T2's accuracy drops 15 points in week 7
    synthetic = pytest.importorskip("insights.synthetic")
    from insights.report.params import ReportParams

    sc = synthetic.SCENARIOS["default"]
    drop = next(d for d in sc.accuracy_drops if d.market == "DE")
    r = build_report(ReportParams(market="DE", data_source="simulated", scenario="default",
                                  seed=0, data_dir=str(tmp_path_factory.mktemp("data")),
                                  pseudonymize=False))
    f = r.context.trend.findings
    hit = f[(f["team"] == drop.team) & (f["kind"] == "trend") & (f["direction"] == "decreasing")
            & f["metric"].isin(["gold_accuracy", "est_accuracy", "agreement"])]
    assert len(hit), f"no significant fall for {drop.team}: {f['sentence'].tolist()}"
    planted = sc.week_start(drop.week)
    assert (hit["since"] - planted).abs().min() <= pd.Timedelta(weeks=1)
    headline = r.findings[r.findings["section"] == "trends"]
    assert set(hit["sentence"]) & set(headline["finding"])
    assert (headline["severity"] == "alert").any()
    # the LLM judge is scored in its own section, never as a vendor team
    card = r.sections["scorecard"].data["card"]
    kinds = r.context.annotator_table
    model_teams = set(kinds.loc[kinds["kind"] == "model", "team"].dropna())
    assert not model_teams & set(card["team"])
