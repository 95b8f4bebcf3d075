"""The headline list: severity first, untested before tested, then by q; ties keep order."""

from __future__ import annotations

import math

from insights.report.findings import headline
from insights.report.sections import Finding


def test_headline_orders_by_severity_then_q():
    f = [Finding("info", "scale", "scale"),
         Finding("watch", "trend q=0.04", "trends", q=0.04),
         Finding("alert", "gap q=0.01", "gaps", q=0.01),
         Finding("alert", "team below target", "scorecard"),
         Finding("watch", "model", "model"),
         Finding("alert", "trend q=0.001", "trends", q=0.001),
         Finding("info", "forecast", "forecast")]
    out = headline(f)
    assert out["finding"].tolist() == [
        "team below target", "trend q=0.001", "gap q=0.01", "model", "trend q=0.04", "scale",
        "forecast"]
    assert out["rank"].tolist() == list(range(1, 8))
    assert math.isnan(out["q"].iat[0]) and out["q"].iat[1] == 0.001


def test_no_findings_is_an_empty_table_with_the_columns():
    out = headline([])
    assert list(out.columns) == ["rank", "severity", "finding", "section", "value", "q"]
    assert out.empty
