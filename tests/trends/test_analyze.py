"""analyze() on simulated operations: the planted effects are found.

One default-scenario operation (4 markets, 12 weeks) is analysed once per module. The
planted accuracy drop (DE-T2 from week 7), knowledge gap (SG-T1 hate -> ok) and class-mix
shift (BR spam x2 from week 6) are each large against the weekly noise of ~1000 judgments per
team-week (estimated accuracy) or ~1000 items per market-week (class shares).
"""

import numpy as np
import pandas as pd
import pytest

from insights import synthetic, trends
from insights.stats import wilson_interval
from insights.trends.findings import COLUMNS


@pytest.fixture(scope="module")
def sim():
    return synthetic.simulate("default", seed=1)


@pytest.fixture(scope="module")
def report(sim):
    return trends.analyze(sim.dataset())


def _planted(sim, effect):
    return next(p for p in sim.truth.planted if p["effect"] == effect)


def test_accuracy_drop_found_with_start_week(sim, report):
    drop = _planted(sim, "accuracy_drop")
    f = report.findings
    hit = f[(f["kind"] == "trend") & (f["team"] == drop["team"]) & (f["level"] == "market/team")
            & f["metric"].isin(["gold_accuracy", "est_accuracy", "agreement"])
            & (f["direction"] == "decreasing")]
    assert len(hit) >= 1
    # start week located within one week of the planted one
    assert (np.abs(hit["since_week"] - drop["week"]) <= 1).all()
    row = hit.iloc[0]
    assert row["after"] < row["before"]
    assert row["effect_lo"] < row["effect"] < row["effect_hi"] < 0
    assert "fell from" in row["sentence"] and drop["team"] in row["sentence"]


def _drop_rows(sim, report):
    """Tests of the planted drop's team on the accuracy-like rates, most significant first."""
    drop = _planted(sim, "accuracy_drop")
    t = report.tests
    hit = t[(t["kind"] == "trend") & (t["team"] == drop["team"]) & (t["level"] == "market/team")
            & t["metric"].isin(["gold_accuracy", "est_accuracy", "agreement"])]
    return drop, hit.sort_values("q")


@pytest.mark.slow
def test_accuracy_drop_is_clear_on_two_seeds(sim, report):
    # The step test (insights.trends.steps) finds the planted 15-point drop at q < 0.01 with
    # its start week within one week. Measured over default seeds 0..5 (best q of the three
    # rates): 0.0007, 0.0056, 0.00009, 0.00001, 0.0037, 0.027 — week 7 every time; seeds 0
    # and 1 are tested, where the linear GLM trend test it replaced gave 0.016 and 0.045.
    for s, rep_sim in ((1, (sim, report)), (0, None)):
        if rep_sim is None:
            other = synthetic.simulate("default", seed=s)
            rep_sim = (other, trends.analyze(other.dataset()))
        drop, hit = _drop_rows(*rep_sim)
        best = hit.iloc[0]
        assert best["q"] < 0.01, f"seed {s}: q = {best['q']:.3g}"
        assert best["direction"] == "decreasing"
        assert abs(int(best["since_week"]) - drop["week"]) <= 1
        assert best["test"].startswith("step change")


def test_knowledge_gap_found_with_examples(sim, report):
    gap = _planted(sim, "knowledge_gap")
    g = report.gaps
    hit = g[(g["team"] == gap["team"]) & (g["true"] == gap["true"]) & (g["given"] == gap["given"])
            & g["significant"]]
    assert len(hit) == 1
    row = hit.iloc[0]
    # estimated rates near the planted ones (soft counts from ~100 hate items: +-0.1)
    assert abs(row["team_rate"] - gap["team_rate"]) < 0.1
    assert abs(row["rest_rate"] - gap["rest_of_market_rate"]) < 0.1
    truth = sim.truth.true_labels
    ex = row["examples"]
    assert 1 <= len(ex) <= 3
    assert np.mean([truth[i] == gap["true"] for i in ex]) >= 2 / 3


def test_class_mix_shift_found(sim, report):
    shift = _planted(sim, "mix_shift")
    f = report.findings
    hit = f[(f["market"] == shift["market"]) & (f["level"] == "market")
            & (f["metric"] == f"share_{shift['label']}") & (f["direction"] == "increasing")]
    assert len(hit) == 1
    assert abs(int(hit["since_week"].iat[0]) - shift["week"]) <= 1
    assert hit["after"].iat[0] == pytest.approx(shift["rate_after"], abs=0.04)


def test_findings_table_shape_and_fdr(report):
    f, t = report.findings, report.tests
    assert list(f.columns) == COLUMNS and list(t.columns) == COLUMNS
    assert (f["q"] <= report.alpha).all() and f["q"].is_monotonic_increasing
    assert (t["q"] >= t["p"] - 1e-15).all()           # adjusted values never below raw p
    assert report.n_tests == len(t)
    assert f["sentence"].str.contains(r"\(q [=<] ").all()


def test_series_rates_carry_wilson_intervals(report):
    s = report.series
    s = s[s["gold_checked"] > 0]
    lo, hi = wilson_interval(s["gold_correct"], s["gold_checked"])
    np.testing.assert_allclose(s["gold_lo"], lo)
    assert ((s["gold_lo"] <= s["gold_accuracy"]) & (s["gold_accuracy"] <= s["gold_hi"])).all()
    assert {"market", "market/queue", "market/team", "market/queue/team"} <= set(s["level"])
    # true week index: consecutive Mondays
    assert (pd.to_datetime(s["week_start"]).dt.day_of_week == 0).all()


@pytest.mark.slow
def test_by_is_never_more_liberal(sim, report):
    by = trends.analyze(sim.dataset(), method="by",
                        posteriors=_posteriors(sim))
    assert len(by.findings) <= len(report.findings)


def _posteriors(sim):
    from insights.trends.series import posteriors_for
    return posteriors_for(sim.dataset())


def test_newcombe_wilson_reference():
    # Newcombe (1998), Table I: 81/263 -> 0.2553 to 0.3662 (Wilson, no continuity correction)
    lo, hi = wilson_interval(81, 263)
    assert round(float(lo), 4) == 0.2553 and round(float(hi), 4) == 0.3662
