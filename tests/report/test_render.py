"""The report runner: papermill execution, HTML export (contents, run footer, error page),
tables beside the page, isolation of markets, same data = same page.

Fast tests use the probe notebook (tests/report/operation.py); the ``evil_run`` fixture runs
the project's real report notebook on a tiny planted operation.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from insights import privacy
from insights.report import render
from insights.report.params import ReportParams
from tests.report.operation import write_operation
from tests.report.probe import PROBE_HEADINGS, make_params, write_probe_log, write_probe_notebook

REPO = Path(__file__).resolve().parents[2]
EVIL_TEXT = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
EVIL_LABEL = '"><img src=y onerror=alert(2)><script>alert(3)</script>'


class Page(HTMLParser):
    """Every element id, every in-page link, and the h2/h3 texts of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.ids: set[str] = set()
        self.toc: list[str] = []
        self._in_nav = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "nav":
            self._in_nav = True
        if tag == "a" and self._in_nav:
            self.toc.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_nav = False


def strip_run_times(page: str) -> str:
    """The page without its run footer (start/end times differ between runs)."""
    return re.sub(r'<footer class="insights-run".*?</footer>', "", page, flags=re.S)


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory):
    """The probe notebook on two markets: AA completes, BB raises naming an annotator."""
    root = tmp_path_factory.mktemp("probe")
    write_probe_notebook(root)
    data = write_probe_log(root / "data", {"AA": ["ok", "spam"], "BB": ["ok", "BOOM"]})
    params = make_params(root, data, ["AA"])  # BB has no params file: found in the data
    run = render.run_reports(params_dir=params, out_dir=root / "reports", jobs=2,
                             cell_timeout=120)
    return run, root


def test_every_market_in_the_data_is_reported_and_one_failure_is_isolated(probe_run):
    run, _ = probe_run
    assert list(run.results) == ["AA", "BB"] and run.failed == ["BB"]
    assert run.results["AA"].summary["scale"]["judgments"] == 2


def test_contents_links_resolve_to_the_headings(probe_run):
    run, _ = probe_run
    page = Page(Path(run.results["AA"].html_path).read_text())
    assert len(page.toc) == len(PROBE_HEADINGS)
    for href in page.toc:
        assert href.startswith("#") and href[1:] in page.ids, (href, page.ids)
    # computed as nbconvert does for plain text headings
    assert f"#{render.heading_id(PROBE_HEADINGS[0])}" in page.toc


def test_failed_page_shows_one_line_without_traceback_or_raw_ids(probe_run):
    run, root = probe_run
    bb = run.results["BB"]
    page = Path(bb.html_path).read_text()
    banner = re.search(r'<div class="insights-banner" role="alert">(.*?)</div>', page,
                       flags=re.S)[1]
    assert "ValueError" in banner and "\n" not in html.unescape(banner)
    assert "Traceback" not in page and "\x1b[" not in page and "raise ValueError" not in page
    assert "BB-ann-1" not in page
    key = privacy.load_key(root / "pseudonym.key")
    assert privacy.pseudonym("BB-ann-1", key) in banner  # the id, pseudonymized
    log = (root / "reports" / "BB" / "run.log").read_text()
    assert "Traceback" in log and "BB-ann-1" in log
    assert not (root / "reports" / "BB" / "tables" / "summary.json").exists()
    assert "This report could not be completed" in page
    footer = re.search(r'<footer class="insights-run".*?</footer>', page, flags=re.S)[0]
    assert "failed" in footer


def test_run_footer_states_the_run_facts_once(probe_run):
    run, _ = probe_run
    page = Path(run.results["AA"].html_path).read_text()
    footer = re.search(r'<footer class="insights-run".*?</footer>', page, flags=re.S)[0]
    for fact in ("completed", "started (UTC)", "finished (UTC)", "insights version",
                 "git commit", "f" * 64):
        assert fact in footer
    assert page.count('class="insights-run"') == 1
    assert "<script" not in page.lower() and "cdnjs" not in page


def test_params_of_one_market_invalid_fails_only_that_market(tmp_path):
    write_probe_notebook(tmp_path)
    data = write_probe_log(tmp_path / "data", {"AA": ["ok"], "BB": ["ok"]})
    params = make_params(tmp_path, data, ["AA", "BB"])
    (params / "BB.yaml").write_text("market: BB\nwekes: 3\n")
    run = render.run_reports(params_dir=params, out_dir=tmp_path / "out", jobs=1)
    assert run.failed == ["BB"]
    assert "did you mean 'weeks'" in run.results["BB"].error
    assert "did you mean" in (tmp_path / "out" / "BB.html").read_text()


def test_a_log_without_market_column_is_one_market(tmp_path):
    write_probe_notebook(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame({"item_id": ["i1", "i2"], "annotator_id": ["a", "b"],
                  "label": ["x", "y"]}).to_csv(data / "labels.csv", index=False)
    params = make_params(tmp_path, data, [])
    run = render.run_reports(params_dir=params, out_dir=tmp_path / "out")
    assert list(run.results) == ["all"] and not run.failed
    assert run.results["all"].summary["scale"]["judgments"] == 2


def test_heading_id_matches_nbconvert():
    nbconvert = pytest.importorskip("nbconvert.filters.strings")
    for text in ["Vendor team scorecard", "Ünïcode & «quotes», 50%", "a/b?c#d"]:
        assert render.heading_id(text) == nbconvert._convert_header_id(text)


# --------------------------------------------------------------------------------------------
# the project's report notebook
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def evil_run(tmp_path_factory):
    """One shared data source: market AA's item texts and one label try to inject markup;
    market BB has one bad row (an empty item id), which must fail BB only."""
    root = tmp_path_factory.mktemp("evil")
    op = write_operation(root / "op", markets=("AA", "BB"), n_items=200,
                         item_text=lambda i: f"{EVIL_TEXT} #{i}", extra_label=EVIL_LABEL)
    labels = pd.read_csv(op / "labels.csv", dtype=str, keep_default_na=False)
    bad = labels[labels["market"] == "BB"].index[5]
    labels.loc[bad, "item_id"] = ""
    labels.to_csv(op / "labels.csv", index=False)
    params = make_params(root, op, ["AA", "BB"], pseudonymize=False)
    run = render.run_reports(params_dir=params, out_dir=root / "reports", jobs=2,
                             notebook=REPO / "notebooks" / "market_report.ipynb",
                             cell_timeout=300)
    return run, root, bad


def test_real_notebook_one_markets_bad_row_fails_only_that_market(evil_run):
    run, _, bad = evil_run
    assert run.failed == ["BB"], {m: r.error for m, r in run.results.items()}
    error = run.results["BB"].error
    # the data row (1-based, header not counted) of the whole shared file
    assert "item_id" in error and f"labels.csv row {bad + 1}:" in error.replace(",", ""), error
    page = Path(run.results["BB"].html_path).read_text()
    assert "could not be completed" in page and "Traceback" not in page
    index = run.index_path.read_text()
    assert "FAILED" in index and 'href="./AA.html"' in index and 'href="./BB.html"' in index


def test_real_notebook_report_is_complete_and_offline(evil_run):
    run, _, _ = evil_run
    aa = run.results["AA"]
    assert aa.ok and aa.error is None
    text = Path(aa.html_path).read_text()
    page = Page(text)
    assert len(page.toc) >= 5 and all(h[1:] in page.ids for h in page.toc)
    assert "<title>AA labeling quality report, " in text
    imgs = re.findall(r"<img [^>]*>", text)
    assert sum('src="data:image/png;base64,' in i for i in imgs) >= 3
    assert 'class="jp-InputPrompt' not in text  # no code
    assert "<script src=" not in text and "cdnjs" not in text and "mathjax" not in text.lower()
    assert aa.summary["fingerprint"] in text
    assert not list(Path(aa.html_path).parent.rglob(".*.tmp*"))


def test_real_notebook_tables_beside_the_page(evil_run):
    run, _, _ = evil_run
    tables = Path(run.results["AA"].tables_dir)
    csvs = sorted(tables.glob("*.csv"))
    assert len(csvs) >= 3
    for csv in csvs:
        assert len(pd.read_csv(csv, keep_default_na=False)) == len(
            pd.read_parquet(csv.with_suffix(".parquet")))
    assert json.loads((tables / "summary.json").read_text())["scale"]["judgments"] > 0


def test_real_notebook_data_strings_are_escaped_never_markup(evil_run):
    run, _, _ = evil_run
    page = Path(run.results["AA"].html_path).read_text()
    for raw in (EVIL_TEXT, EVIL_LABEL, "<script>alert", "<img src=x", "<img src=y"):
        assert raw not in page
    assert "&lt;script&gt;alert(" in page  # shown, as text
    assert "<script" not in page.lower()
    assert "<script" not in run.index_path.read_text().lower()


def test_real_notebook_rerun_gives_the_same_report(evil_run, tmp_path):
    run, root, _ = evil_run
    again = render.run_reports(["AA"], params_dir=root / "params", out_dir=tmp_path, jobs=1,
                               notebook=REPO / "notebooks" / "market_report.ipynb")
    first = strip_run_times(Path(run.results["AA"].html_path).read_text())
    second = strip_run_times(Path(again.results["AA"].html_path).read_text())
    assert first == second


def test_notebook_parameters_are_the_report_params():
    """What papermill injects is exactly the validated model (plus the tables folder)."""
    p = ReportParams(market="DE", weeks=3)
    assert set(p.notebook_parameters()) == set(ReportParams.model_fields)
