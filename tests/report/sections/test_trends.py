"""The Trends section states its false-discovery control."""

from __future__ import annotations

from insights.report.sections.trends import fdr_statement


def test_trends_section_states_fdr_control(report):
    tr = report.context.trend
    text = fdr_statement(tr)
    assert f"{tr.n_tests} hypotheses" in text and "Benjamini-Hochberg" in text
    assert tr.n_tests == int(tr.tests["q"].notna().sum()) > 0
    result = report.sections["trends"]
    (view,) = result.tables.values()
    assert len(view) == len(tr.tests) and view.attrs["collapsed"]
    assert (view["Significant"] == "yes").sum() == len(tr.findings)
    f = report.findings
    trend_sentences = set(tr.findings.loc[tr.findings["kind"] == "trend", "sentence"])
    shown = set(f.loc[f["section"] == "trends", "finding"])
    assert len(shown & trend_sentences) == min(len(trend_sentences), 6)


def test_model_annotators_are_never_called_a_team(report):
    result = report.sections["trends"]
    texts = [*result.items, *(f.text for f in result.findings)]
    assert texts and not any(t.startswith("Team model") for t in texts)
