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
