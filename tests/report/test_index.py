"""index.html: every completed market of the folder, relative quoted links, escaped text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from insights.report.index import completed_markets, write_index
from insights.report.render import MarketResult


def completed(out: Path, market: str, **summary) -> None:
    """What a completed market leaves: its page and ``tables/summary.json``."""
    (out / market / "tables").mkdir(parents=True)
    (out / f"{market}.html").write_text("<html></html>")
    (out / market / "tables" / "summary.json").write_text(json.dumps(
        {"period": "p", "flags": [], "scale": {"items": 3, "judgments": 9}, **summary}))


def test_index_counts_every_alert_and_lists_the_first(tmp_path):
    flags = [f"trends: <b>finding {i}</b>" for i in range(5)]
    r = MarketResult(market="ZZ", status="ok", html_path=str(tmp_path / "ZZ.html"),
                     summary={"flags": flags, "scale": {}, "period": "p"})
    page = write_index(tmp_path, [r], max_flags=3).read_text()
    assert "<td>5</td>" in page  # the alert count is all of them
    assert page.count("&lt;b&gt;finding") == 3 and "and 2 more in the report" in page
    assert "<b>finding" not in page


def test_lists_markets_completed_by_earlier_runs(tmp_path):
    completed(tmp_path, "AA")
    completed(tmp_path, "BB", scale={"items": 1234, "judgments": 5})
    (tmp_path / "CC" / "tables").mkdir(parents=True)  # started, never completed
    (tmp_path / "CC.html").write_text("<html></html>")
    (tmp_path / "DD" / "tables").mkdir(parents=True)  # tables but no page
    (tmp_path / "DD" / "tables" / "summary.json").write_text("{}")
    assert [r.market for r in completed_markets(tmp_path)] == ["AA", "BB"]
    this_run = MarketResult(market="AA", status="failed", html_path=str(tmp_path / "AA.html"),
                            error="ValueError: x", seconds=2.0)
    page = write_index(tmp_path, [this_run]).read_text()
    rows = re.findall(r"<tr class=\"(\w+)\"><td>(.*?)</td><td>(.*?)</td>", page)
    assert [(c, s) for c, _, s in rows] == [("failed", "FAILED"), ("ok", "ok (earlier run)")]
    assert "1,234" in page and "CC" not in page and "DD" not in page


def test_links_are_relative_and_quoted(tmp_path):
    r = MarketResult(market="de-1.x", status="ok", html_path=str(tmp_path / "de-1.x.html"))
    page = write_index(tmp_path, [r]).read_text()
    assert set(re.findall(r'href="([^"]*)"', page)) == {"./de-1.x.html", "./de-1.x/tables/"}


@pytest.mark.parametrize("name", ["javascript:alert(1)", "../x", "/abs", "a b", "x/../../y",
                                  "data:text/html,<b>"])
def test_a_bad_market_name_is_never_a_link(tmp_path, name):
    r = MarketResult(market=name, status="failed", html_path=str(tmp_path / "x.html"),
                     error="refused")
    page = write_index(tmp_path, [r]).read_text()
    assert "<a " not in page
    assert "<b>" not in page and "javascript:alert(1)</a>" not in page
