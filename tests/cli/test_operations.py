"""The BPO operations commands on a written simulated operation."""

import pandas as pd
import pytest

from insights.cli import main
from insights.operations.simulate import simulate_operations


@pytest.fixture(scope="module")
def ops_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ops")
    simulate_operations("small", seed=1).write(d)
    return d


@pytest.mark.parametrize("argv, columns", [
    (["calibration"], {"session", "annotator_id", "accuracy", "accuracy_lo", "peer_agreement"}),
    (["calibration", "--table", "sessions"], {"kappa", "kappa_lo", "kappa_hi", "complete"}),
    (["calibration", "--table", "trends", "--by", "team"], {"team", "slope", "p", "q"}),
    (["calibration", "--table", "items", "--top", "5"], {"item_id", "votes", "disagreement"}),
    (["calibration", "--table", "classes"], {"expert", "accuracy", "top_wrong"}),
    (["arbitration", "--top", "10"], {"rank", "item_id", "expected_errors_removed", "votes"}),
    (["arbitration", "--table", "teams"], {"team", "rate", "rate_lo", "rate_hi"}),
    (["arbitration", "--table", "time"], {"team", "median_hours", "median_lo"}),
    (["confusions", "--all"], {"finding", "scope", "q", "examples"}),
    (["onboarding", "--n-boot", "20"], {"team", "weeks_to_target", "weeks_to_target_lo",
                                        "behind"}),
    (["onboarding", "--table", "curves"], {"team", "x", "accuracy"}),
    (["impact", "--event", "2026-01-26", "--name", "policy v2"],
     {"group", "metric", "before", "after", "effect", "effect_low", "effect_high", "p", "q"}),
])
def test_commands_write_tables(ops_dir, tmp_path, argv, columns):
    out = tmp_path / "out.csv"
    assert main([argv[0], str(ops_dir), *argv[1:], "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) > 0 and columns <= set(table.columns)


def test_calibration_without_sessions_is_one_line_error(tmp_path, capsys):
    from insights import synthetic

    synthetic.simulate("small", seed=1).write(tmp_path / "plain")
    rc = main(["calibration", str(tmp_path / "plain"), "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "\n" not in err and "source = 'calibration'" in err
    assert not (tmp_path / "x.csv").exists()


def test_impact_bad_event_date(ops_dir, tmp_path, capsys):
    rc = main(["impact", str(ops_dir), "--event", "not-a-date", "--out", str(tmp_path / "i.csv")])
    assert rc == 1 and "--event not-a-date" in capsys.readouterr().err
