"""Onboarding: ramp-up fits recover planted curves; new teams behind the curve are flagged."""

import numpy as np
import pandas as pd
import pytest

from insights.operations import onboarding as ob
from insights.operations.simulate import ramp_accuracy, weeks_to_target
from tests.operations.conftest import fitted

T0 = pd.Timestamp("2026-01-05", tz="UTC")


def _judgments(teams: dict, rng, n=3000, weeks=8.0):
    """Teams -> (start week, A0, Ainf, tau); hard 0/1 correctness drawn from the curve."""
    rows = []
    for team, (start, a0, a1, tau) in teams.items():
        t = rng.uniform(0, weeks, n)
        c = (rng.random(n) < ramp_accuracy(t, a0, a1, tau)).astype(float)
        ann = rng.integers(0, 6, n)
        rows.append(pd.DataFrame({
            "team": team, "annotator_id": [f"{team}-a{a}" for a in ann], "correct": c,
            "team_weeks": t, "labeled_at": T0 + pd.to_timedelta((start + t) * 7, unit="D")}))
    j = pd.concat(rows, ignore_index=True)
    j["annotator_n"] = j.groupby("annotator_id").cumcount()
    j["annotator_weeks"] = j["team_weeks"]
    return j


def test_time_to_target_formula():
    # tau ln((0.92 - 0.62) / (0.92 - 0.85)) = 1.5 ln(30/7)
    assert ob.time_to_target(0.62, 0.92, 1.5, 0.85) == pytest.approx(1.5 * np.log(30 / 7))
    assert ob.time_to_target(0.9, 0.95, 1.0, 0.85) == 0.0
    assert ob.time_to_target(0.6, 0.8, 1.0, 0.85) == np.inf
    assert weeks_to_target(0.62, 0.92, 1.5, 0.85) == ob.time_to_target(0.62, 0.92, 1.5, 0.85)


def test_fit_ramp_recovers_parameters():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 8, 6000)
    c = rng.random(6000) < ramp_accuracy(t, 0.6, 0.9, 2.0)
    a0, a1, tau = ob.fit_ramp(t, c)
    # 6000 Bernoulli judgments: the asymptote is known to about +-0.01, the start to +-0.03
    assert a0 == pytest.approx(0.6, abs=0.05) and a1 == pytest.approx(0.9, abs=0.02)
    assert tau == pytest.approx(2.0, rel=0.3)


def test_ramp_fits_interval_and_behind_the_curve():
    rng = np.random.default_rng(1)
    j = _judgments({"OLD": (0, 0.9, 0.9, 1.0), "N1": (1, 0.6, 0.92, 1.5),
                    "N2": (2, 0.6, 0.92, 1.5), "N3": (3, 0.6, 0.92, 4.0)}, rng)
    assert ob.new_groups(j).index.tolist() == ["N1", "N2", "N3"]
    fits = ob.ramp_fits(j, n_boot=100).set_index("team")
    true = weeks_to_target(0.6, 0.92, 1.5, 0.85)
    assert abs(fits.loc["N1", "weeks_to_target"] - true) < 1.0
    assert fits.loc["N1", "weeks_to_target_lo"] <= fits.loc["N1", "weeks_to_target"] \
        <= fits.loc["N1", "weeks_to_target_hi"]
    assert fits.loc["N3", "weeks_to_target"] > fits.loc["N1", "weeks_to_target"]
    behind = ob.behind_the_curve(j, fits.reset_index()).set_index("team")
    assert behind.index.tolist() == ["N2", "N3"]          # N1 has no earlier new team
    assert behind.loc["N3", "behind"] and not behind.loc["N2", "behind"]
    assert behind.loc["N3", "reference"] == "N1, N2"


def test_learning_curves_counts():
    rng = np.random.default_rng(2)
    j = _judgments({"OLD": (0, 0.9, 0.9, 1.0), "N1": (2, 0.6, 0.92, 1.5)}, rng, n=400)
    lc = ob.learning_curves(j)
    assert set(lc["team"]) == {"N1"} and lc["n"].sum() == 400
    wk0 = j[(j.team == "N1") & (j.team_weeks < 1)]
    assert lc.iloc[0]["accuracy"] == pytest.approx(wk0["correct"].mean())
    by_n = ob.learning_curves(j, by="judgments", bin_size=100)
    assert by_n["n"].tolist() == [100, 100, 100, 100]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_time_to_proficiency_recovered(seed):
    sim, ds, post = fitted("default", seed)
    j = ob.onboarding_judgments(ds, post)
    fits = ob.ramp_fits(j, n_boot=50).set_index("team")
    planted = {p["team"]: p for p in sim.truth.planted if p["effect"] == "new_team"}
    assert set(fits.index) == set(planted)
    for team, p in planted.items():
        assert abs(fits.loc[team, "weeks_to_target"] - p["weeks_to_target"]) < 1.0, team
    behind = ob.behind_the_curve(j, fits.reset_index()).set_index("team")
    slow = max(planted, key=lambda t: planted[t]["tau_weeks"])
    assert behind.loc[slow, "behind"]
    assert not behind.drop(index=slow)["behind"].any()
