"""Security regressions (issue 10 item 5). The report-level cases (paths, links, error page)
are added by the report package; this file holds the library-level ones."""

from __future__ import annotations

import hashlib

import pytest

from insights import privacy

FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter"]
# the name list an attacker would try: the real ids are among 19 x 21 = 399 candidates
CANDIDATES = [f"{n}.{i:02d}" for n in FIRST for i in range(21)]
REAL_IDS = CANDIDATES[::31]  # 13 annotators, as in the issue


def _old_pseudonym(annotator_id: str, salt: str = "insights") -> str:
    """The scheme insights used before: sha256(public salt + id), 32 bits."""
    return "ann-" + hashlib.sha256((salt + annotator_id).encode()).hexdigest()[:8]


def _dictionary_attack(shown: set[str], salt: str) -> dict[str, str]:
    """Everything an attacker without the key can compute from a candidate name."""
    found = {}
    for name in CANDIDATES:
        guesses = {_old_pseudonym(name, salt), _old_pseudonym(name, ""),
                   "ann-" + hashlib.sha256(name.encode()).hexdigest()[:16],
                   privacy.pseudonym(name, bytes(32)),  # a guessed all-zero key
                   privacy.pseudonym(name, salt.encode().ljust(16, b"\0"))}  # salt as key
        for g in guesses & shown:
            found[g] = name
    return found


def test_dictionary_attack_worked_on_the_old_scheme():
    shown = {_old_pseudonym(i) for i in REAL_IDS}
    recovered = _dictionary_attack(shown, salt="insights")
    assert sorted(recovered.values()) == sorted(REAL_IDS)  # 13 of 13 reversed


def test_dictionary_attack_without_the_key_recovers_none(tmp_path):
    key = privacy.load_key(tmp_path / "k.key")
    shown = set(privacy.pseudonym_map(REAL_IDS, key).values())
    assert _dictionary_attack(shown, salt="insights") == {}
    # with the key the same attack works: the secrecy is in the key, nothing else
    assert len({privacy.pseudonym(n, key) for n in CANDIDATES} & shown) == len(REAL_IDS)


def test_pseudonym_collisions_are_never_silently_merged():
    with pytest.raises(privacy.PseudonymCollision):
        privacy.pseudonym_map([f"id{i}" for i in range(100)], bytes(32), bits=4)


def test_error_text_is_scrubbed():
    m = privacy.pseudonym_map(REAL_IDS, bytes(32))
    msg = f"labels.csv row 12: annotator_id {REAL_IDS[3]!r} judged i9 twice ({REAL_IDS[0]})"
    out = privacy.scrub(msg, m)
    assert not any(i in out for i in REAL_IDS)
    assert m[REAL_IDS[3]] in out and m[REAL_IDS[0]] in out


def test_csv_outputs_cannot_run_formulas(tmp_path):
    import csv

    import pandas as pd

    from insights import _io

    df = pd.DataFrame({"annotator_id": ["=cmd|' /C calc'!A0", "@x", "bob"], "n": [-1, 2, 3]})
    path = _io.write_table(df, tmp_path / "annotators.csv")
    with open(path, newline="") as fh:
        cells = [r[0] for r in list(csv.reader(fh))[1:]]
    assert cells == ["'=cmd|' /C calc'!A0", "'@x", "bob"]


@pytest.mark.parametrize("name", ["$x^$", "$\\frac{1}{0", "L" * 100_000])
def test_plots_survive_hostile_team_and_class_names(name):
    import pandas as pd

    from insights import plots

    card = pd.DataFrame({"team": [name], "accuracy_gold": [0.9], "accuracy_gold_low": [0.8],
                         "accuracy_gold_high": [0.95], "accuracy_estimated": [0.9]})
    conf = pd.DataFrame([{"team": name, "true": t, "given": g, "rate": 0.5}
                         for t in ("ok", name) for g in ("ok", name)])
    for fig in (plots.scorecard(card), plots.confusion_heatmaps(conf)):
        png = fig.png()  # mathtext parsing of "$x^$" would raise; a 100k label would be huge
        assert png[:4] == b"\x89PNG" and len(png) < 1_000_000
        assert len(fig.alt) < 2_000


# ============================================================================================
# Report runner (render engineer): market names, paths inside --out, index links, error page.
# The runs use the seconds-fast probe notebook of tests/report/probe.py.
# ============================================================================================
def _probe_project(root, rows):
    from tests.report.probe import make_params, write_probe_log, write_probe_notebook

    write_probe_notebook(root)
    return make_params(root, write_probe_log(root / "data", rows), [])


@pytest.mark.parametrize("market", ["../../x", "/abs", "javascript:alert(1)", "a/b", "..",
                                    ".hidden", "file:///etc/passwd"])
def test_report_refuses_a_market_name_that_is_a_path_or_a_link(tmp_path, capsys, market):
    from pathlib import Path

    from insights.cli import main

    params = _probe_project(tmp_path, {"AA": ["ok"]})
    out = tmp_path / "deep" / "reports"
    rc = main(["report", "--market", market, "--params", str(params), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "not a valid market name" in err[0]
    written = {p for p in tmp_path.rglob("*") if p.is_file()} - {
        p for p in tmp_path.rglob("*") if p.is_file() and out not in p.parents
        and p.parent.name in ("params", "data", "notebooks")}
    assert {p.name for p in written} <= {".insights-report.lock", "pseudonym.key"}
    assert not (tmp_path / "x").exists() and not Path("/abs").exists()


def test_report_never_writes_through_a_symlink_out_of_the_folder(tmp_path):
    from insights.report import render

    params = _probe_project(tmp_path, {"AA": ["ok"], "BB": ["ok"]})
    out = tmp_path / "reports"
    out.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.html").write_text("untouched")
    (out / "AA.html").symlink_to(outside / "victim.html")  # a planted link to elsewhere
    (out / "BB").symlink_to(outside, target_is_directory=True)
    run = render.run_reports(params_dir=params, out_dir=out, jobs=1)
    assert run.failed == ["AA", "BB"]
    assert "outside the output folder" in run.results["AA"].error
    assert (outside / "victim.html").read_text() == "untouched"
    assert sorted(p.name for p in outside.iterdir()) == ["victim.html"]


def test_market_names_from_the_data_are_never_paths_or_links(tmp_path):
    import re

    from insights.report import render

    params = _probe_project(tmp_path, {"AA": ["ok"], "javascript:alert(1)": ["ok"],
                                       "../evil": ["ok"]})
    run = render.run_reports(params_dir=params, out_dir=tmp_path / "reports", jobs=1)
    assert list(run.results) == ["AA"]  # the others are skipped with a warning
    index = run.index_path.read_text()
    assert re.findall(r'href="([^"]*)"', index) == ["./AA.html", "./AA/tables/"]
    assert "javascript:" not in index and not (tmp_path / "evil.html").exists()


def test_report_error_page_pseudonymizes_and_keeps_the_traceback_in_the_log(tmp_path):
    from pathlib import Path

    from insights.report import render

    params = _probe_project(tmp_path, {"AA": ["ok", "BOOM"]})
    run = render.run_reports(params_dir=params, out_dir=tmp_path / "reports", jobs=1)
    page = Path(run.results["AA"].html_path).read_text()
    key = privacy.load_key(tmp_path / "pseudonym.key")
    assert "AA-ann-1" not in page and privacy.pseudonym("AA-ann-1", key) in page
    assert "Traceback" not in page and "raise ValueError" not in page
    log = (tmp_path / "reports" / "AA" / "run.log").read_text()
    assert "Traceback" in log and "AA-ann-1" in log
    assert "AA-ann-1" not in run.index_path.read_text()
