"""The report runner end to end: papermill execution, HTML export, tables, index, failures."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from insights import reporting
from tests.test_summary import write_operation

REPO = Path(__file__).resolve().parents[1]
EVIL_TEXT = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
EVIL_LABEL = '"><img src=y onerror=alert(2)><script>alert(3)</script>'
SECTIONS = ["Headline findings", "Scale and quality at a glance", "Vendor team scorecard",
            "Knowledge gaps", "Trends", "Confidence", "Model and LLM annotators", "Forecast",
            "Methods and provenance"]


def make_params(root: Path, data_source: Path, markets: list[str], **extra) -> Path:
    """A params folder: the repository's defaults pointed at ``data_source``, one file per
    market."""
    params = root / "params"
    params.mkdir(parents=True)
    defaults = yaml.safe_load((REPO / "params" / "defaults.yaml").read_text())
    defaults.update(data_source=str(data_source), since="", until="", **extra)
    (params / "defaults.yaml").write_text(yaml.safe_dump(defaults))
    for m in markets:
        (params / f"{m}.yaml").write_text(yaml.safe_dump({"market": m}))
    return params


def strip_run_times(page: str) -> str:
    """The page without its provenance footer (start/end times differ between runs)."""
    return re.sub(r'<footer class="insights-provenance".*?</footer>', "", page, flags=re.S)


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory):
    """Market AA: item texts and a label that try to inject markup; market BB: broken data."""
    root = tmp_path_factory.mktemp("evil")
    op = write_operation(root / "op", markets=("AA",), item_text=lambda i: f"{EVIL_TEXT} #{i}",
                         extra_label=EVIL_LABEL)
    broken = root / "broken"
    broken.mkdir()
    (broken / "labels.csv").write_text("item_id,annotator\nx,y\n")  # no 'label' column
    params = make_params(root, op, ["AA", "BB"], pseudonymize=False)
    lines: list[str] = []
    run = reporting.run_reports(params_dir=params, out_dir=root / "reports", jobs=2,
                                progress=lines.append, per_market={"BB": {"data_source":
                                                                          str(broken)}},
                                cell_timeout=120)
    return run, root, lines


def test_failed_market_is_reported_and_shows_its_error(evil_run):
    run, root, lines = evil_run
    assert run.failed == ["BB"]
    bb = run.results["BB"]
    page = Path(bb.html_path).read_text()
    assert "could not be completed" in page
    assert "SchemaError" in page and "missing required column" in page
    assert "label" in bb.error
    assert any(line.startswith("[BB] FAILED") for line in lines)
    assert any(line.startswith("[AA] ok") for line in lines)
    index = run.index_path.read_text()
    assert "FAILED" in index and 'href="AA.html"' in index and 'href="BB.html"' in index


def test_other_market_report_is_complete(evil_run):
    run, root, _ = evil_run
    aa = run.results["AA"]
    assert aa.ok and aa.error is None
    page = Path(aa.html_path).read_text()
    for heading in SECTIONS:
        assert f'id="{heading.replace(" ", "-")}"' in page
    assert "<title>AA labeling quality report, " in page
    imgs = re.findall(r"<img [^>]*>", page)
    assert sum('src="data:image/png;base64,' in i for i in imgs) >= 3
    assert sum(bool(re.search(r'alt="[^"]{20,}"', i)) for i in imgs) >= 3
    # no code, no external scripts: the page works offline
    assert "build_report(" not in page and "class=\"jp-InputPrompt" not in page
    assert "<script src=" not in page and "cdnjs" not in page and "mathjax" not in page.lower()
    footer = re.search(r'<footer class="insights-provenance".*?</footer>', page, flags=re.S)[0]
    assert aa.summary["fingerprint"] in footer and "git commit" in footer
    # no half-written leftovers
    assert not list(Path(aa.html_path).parent.rglob(".*.tmp*"))


def test_tables_written_as_csv_and_parquet(evil_run):
    run, _, _ = evil_run
    tables = Path(run.results["AA"].tables_dir)
    for name in ("scorecard", "findings", "item_confidence", "annotator_quality"):
        csv = pd.read_csv(tables / f"{name}.csv", keep_default_na=False)
        pq = pd.read_parquet(tables / f"{name}.parquet")
        assert len(csv) == len(pq) > 0
    items = pd.read_parquet(tables / "item_confidence.parquet")
    assert items["item_id"].str.startswith("AA-item-").all()
    s = json.loads((tables / "summary.json").read_text())
    assert s["scale"]["items"] == len(items)


def test_data_strings_are_escaped_never_markup(evil_run):
    run, _, _ = evil_run
    page = Path(run.results["AA"].html_path).read_text()
    # the raw strings never appear; their escaped forms do (item text in the examples tables)
    for raw in (EVIL_TEXT, EVIL_LABEL, "<script>alert", "<img src=x", "<img src=y"):
        assert raw not in page
    assert "&lt;script&gt;alert(" in page and "&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    # the evil item texts reach the new sections' example tables (gap examples, re-review
    # list), escaped; the evil label is a class of the trend tests table, escaped
    for caption in ("Example items", "Items to re-review"):
        table = page[page.index(caption):]
        table = table[:table.index("</table>")]
        assert "&lt;script&gt;alert(" in table
    assert "onerror=alert(2)" in html.unescape(page)  # the label is shown, as text
    # the only <script> tags are none at all
    assert "<script" not in page.lower()
    index = run.index_path.read_text()
    assert "<script" not in index.lower()


def test_rerun_gives_the_same_report(evil_run, tmp_path):
    run, root, _ = evil_run
    again = reporting.run_reports(["AA"], params_dir=root / "params", out_dir=tmp_path,
                                  jobs=1, progress=None)
    first = strip_run_times(Path(run.results["AA"].html_path).read_text())
    second = strip_run_times(Path(again.results["AA"].html_path).read_text())
    assert first == second


def test_pseudonyms_replace_annotator_ids(tmp_path):
    op = write_operation(tmp_path / "op", markets=("AA",), n_items=120)
    params = make_params(tmp_path, op, ["AA"], pseudonymize=True, pseudonym_salt="s3cret")
    run = reporting.run_reports(params_dir=params, out_dir=tmp_path / "reports", jobs=1,
                                progress=None)
    assert not run.failed
    quality = pd.read_parquet(Path(run.results["AA"].tables_dir) / "annotator_quality.parquet")
    assert quality["annotator_id"].str.fullmatch(r"ann-[0-9a-f]{8}").all()
    page = Path(run.results["AA"].html_path).read_text()
    assert "AA-good-0" not in page and "AA-llm" not in page


def test_params_merge_and_market_listing(tmp_path):
    params = make_params(tmp_path, tmp_path, ["XX", "YY"], weeks=3)
    (params / "YY.yaml").write_text("market: YY\nweeks: 5\nsince: 2026-01-05\n")
    assert reporting.available_markets(params) == ["XX", "YY"]
    assert reporting.load_params(params, "XX")["weeks"] == 3
    yy = reporting.load_params(params, "YY", until="2026-02-02")
    assert (yy["weeks"], yy["since"], yy["until"]) == (5, "2026-01-05", "2026-02-02")


def test_pool_never_larger_than_cores():
    assert 1 <= reporting.usable_cores()


@pytest.fixture(scope="module")
def default_markets_run(tmp_path_factory):
    synthetic = pytest.importorskip("insights.synthetic")
    root = tmp_path_factory.mktemp("default")
    sc = synthetic.SCENARIOS["default"]
    # the default scenario's markets, at a fraction of the volume (small settings)
    sim = synthetic.simulate("default", seed=0, market_scale=(0.12,) * len(sc.markets))
    sim.write(root / "data")
    params = make_params(root, root / "data", list(sc.markets))
    run = reporting.run_reports(params_dir=params, out_dir=root / "reports", progress=None,
                                cell_timeout=300)
    return run, sc.markets


@pytest.mark.slow
@pytest.mark.parametrize("market", ["DE", "SG", "BR", "US"])
def test_each_default_market_renders(default_markets_run, market):
    run, markets = default_markets_run
    if market not in markets:
        pytest.skip(f"{market} is not a market of the default scenario")
    r = run.results[market]
    assert r.ok, r.error
    page = Path(r.html_path).read_text()
    for heading in SECTIONS:
        assert f'id="{heading.replace(" ", "-")}"' in page
    assert r.summary["scale"]["judgments"] > 0
    assert f'href="{market}.html"' in run.index_path.read_text()


def test_lists_every_market_and_copes_without_params(tmp_path):
    with pytest.raises(FileNotFoundError, match="params directory"):
        reporting.available_markets(tmp_path / "nope")
    shutil.copytree(REPO / "params", tmp_path / "params")
    assert reporting.available_markets(tmp_path / "params") == sorted(
        p.stem for p in (REPO / "params").glob("*.yaml") if p.stem != "defaults")


def test_index_counts_every_alert_and_lists_the_first(tmp_path):
    flags = [f"trends: <b>finding {i}</b>" for i in range(5)]
    r = reporting.MarketResult(market="ZZ", status="ok", html_path=str(tmp_path / "ZZ.html"),
                               summary={"flags": flags, "scale": {}, "period": "p"})
    page = reporting.write_index([r], tmp_path, max_flags=3).read_text()
    assert "<td>5</td>" in page  # the alert count is all of them
    assert page.count("&lt;b&gt;finding") == 3 and "and 2 more in the report" in page
    assert "<b>finding" not in page
