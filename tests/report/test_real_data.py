"""Every shared real dataset through ``insights report`` from its own column names.

The datasets of ``../shared/datasets`` (skipped when absent) have ``item,annotator,label``
columns, no market, teams, timestamps or costs: the minimal log. One run reports them all, one
market per ``params/<dataset>.yaml`` (each naming its folder), with ``columns:`` mapping the
names in ``defaults.yaml``. Every market must complete (exit status 0), and no page may show a
table header without rows. Which sections had evidence and which said in one sentence what
they lack is written to ``$INSIGHTS_REAL_DATA_SECTIONS`` when set (the README's table).
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from tests.shared import SHARED_DATASETS, shared_dataset_names

pytestmark = pytest.mark.slow


class Sections(HTMLParser):
    """Per h2 section of a report page: tables (with their body rows), images, notes."""

    def __init__(self, text: str):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.empty_tables: list[str] = []
        self._cur: dict | None = None
        self._in_h2 = False
        self._title: list[str] = []
        self._table: dict | None = None
        self._note = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "h2" and a.get("id"):
            self._in_h2, self._title = True, []
        elif tag == "table":
            self._table = {"th": 0, "td": 0}
        elif tag in ("th", "td") and self._table is not None:
            self._table[tag] += 1
        elif tag == "img" and self._cur is not None:
            self._cur["figures"] += 1
        elif "insights-note" in (a.get("class") or "") and self._cur is not None:
            self._note = True

    def handle_endtag(self, tag):
        if tag == "h2" and self._in_h2:
            self._in_h2 = False
            title = "".join(self._title).replace("¶", "").strip()
            self._cur = self.sections.setdefault(title, {"tables": 0, "figures": 0,
                                                         "notes": []})
        elif tag == "table" and self._table is not None:
            if self._table["th"] and not self._table["td"]:
                self.empty_tables.append(next(reversed(self.sections), "?"))
            elif self._cur is not None and self._table["td"]:
                self._cur["tables"] += 1
            self._table = None

    def handle_data(self, data):
        if self._in_h2:
            self._title.append(data)
        elif self._note and self._cur is not None:
            self._cur["notes"].append(data.strip())
            self._note = False


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    names = shared_dataset_names(with_gold=False)
    if not names:
        pytest.skip(f"no shared datasets under {SHARED_DATASETS}")
    root = tmp_path_factory.mktemp("real")
    params = root / "params"
    params.mkdir()
    (params / "defaults.yaml").write_text(yaml.safe_dump({
        "columns": {"item_id": "item", "annotator_id": "annotator"},
        "pseudonym_key_file": str(root / "key")}))
    for name in names:
        (params / f"{name}.yaml").write_text(yaml.safe_dump(
            {"data_source": str(SHARED_DATASETS / name)}))
    from insights.cli import main

    status = main(["report", "--params", str(params), "--out", str(root / "reports"), "-q"])
    return status, names, root / "reports"


def test_every_real_dataset_reports(real_run):
    status, names, out = real_run
    failed = {n: (out / n / "run.log").read_text()[-300:] for n in names
              if not (out / n / "tables" / "summary.json").exists()}
    assert status == 0 and failed == {}, failed
    index = (out / "index.html").read_text()
    assert all(f'href="./{n}.html"' in index for n in names)


def test_no_real_dataset_page_has_an_empty_table_or_an_error(real_run):
    _, names, out = real_run
    rows = []
    for name in names:
        page = (out / f"{name}.html").read_text()
        parsed = Sections(page)
        assert parsed.empty_tables == [], (name, parsed.empty_tables)
        assert "Traceback" not in page and "could not be completed" not in page, name
        # every item has gold on most shared datasets: no "re-review list ranks the 0 items"
        assert "ranks the 0 items" not in page, name
        assert len(parsed.sections) >= 8, (name, list(parsed.sections))
        shown = [t for t, s in parsed.sections.items()
                 if (s["tables"] or s["figures"]) and t not in ("Methods and provenance",
                                                               "Glossary")]
        said = [t for t, s in parsed.sections.items()
                if not (s["tables"] or s["figures"]) and s["notes"]]
        rows.append(f"| {name} | {', '.join(shown)} | {', '.join(said) or '-'} |")
    target = os.environ.get("INSIGHTS_REAL_DATA_SECTIONS")
    if target:
        Path(target).write_text("| dataset | sections with evidence | sections that say what "
                                "they lack |\n|---|---|---|\n" + "\n".join(rows) + "\n")
    assert re.search(r"Vendor team scorecard|Confidence", "".join(rows))
