"""Systemic vs team-specific confusions: a hand-built pool and simulated operations."""

import numpy as np
import pandas as pd
import pytest

from insights.data import Dataset
from insights.operations.confusions import confusion_tests
from insights.operations.simulate import OperationsPlan
from tests.operations.conftest import fitted


def _pool(rates: dict, rng, n=150):
    """Markets x 3 teams x 4 annotators, n items each (half hate); hate -> ok at the rate of
    ``rates[(market, team)]`` (default 0.05). Gold on every item."""
    rows = []
    for market in ("M1", "M2", "M3"):
        for t in ("T1", "T2", "T3"):
            team = f"{market}-{t}"
            rate = rates.get(team, 0.05)
            for a in range(4):
                ann = f"{team}-a{a}"
                for i in range(n):
                    true = "hate" if i % 2 else "ok"
                    lab = "ok" if true == "hate" and rng.uniform() < rate else true
                    rows.append((f"{ann}-{i}", ann, lab, market, team, true))
    df = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label", "market", "team",
                                     "true"])
    gold = df[["item_id", "true"]].rename(columns={"true": "label"})
    return Dataset(labels=df.drop(columns="true"), gold=gold, label_set=["hate", "ok"])


def _row(ct, scope, market, team="*", true="hate", given="ok"):
    sel = ct[(ct.scope == scope) & (ct.market == market) & (ct.team == team)
             & (ct["true"] == true) & (ct.given == given)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_systemic_and_team_gap_told_apart():
    rng = np.random.default_rng(0)
    # M1: every team at 0.35 (systemic); M2: only M2-T1 at 0.35 (a team gap); M3: baseline
    ds = _pool({"M1-T1": 0.35, "M1-T2": 0.35, "M1-T3": 0.35, "M2-T1": 0.35}, rng)
    ct = confusion_tests(ds)
    m1 = _row(ct, "market", "M1")
    assert m1["finding"] == "policy clarification" and m1["q"] <= 0.05
    assert m1["teams_elevated"] == 3 == m1["teams_tested"]
    # the systemic confusion is not reported as team gaps of M1
    assert not ct[(ct.scope == "team") & (ct.market == "M1")]["significant"].any()
    gap = _row(ct, "team", "M2", "M2-T1")
    assert gap["finding"] == "knowledge gap" and gap["q"] <= 0.05
    assert len(gap["examples"].split("; ")) == 3
    # M2's market excess is carried by one team of three: not systemic
    assert _row(ct, "market", "M2")["finding"] != "policy clarification"
    # one FDR family over both kinds of test; q >= p everywhere
    assert (ct["q"] >= ct["p"] - 1e-15).all()
    assert set(ct.loc[ct.finding != "", "finding"]) == {"policy clarification",
                                                         "knowledge gap"}


def test_nothing_planted_nothing_found():
    rng = np.random.default_rng(1)
    ct = confusion_tests(_pool({}, rng))
    assert len(ct) > 0 and (ct["finding"] == "").all()


def test_one_market_runs_team_tests_only():
    rng = np.random.default_rng(2)
    ds = _pool({"M1-T1": 0.35}, rng)
    lab = ds.labels[ds.labels.market == "M1"]
    one = Dataset(labels=lab, gold=ds.gold[ds.gold.item_id.isin(lab.item_id)],
                  label_set=ds.label_set)
    ct = confusion_tests(one)
    assert set(ct["scope"]) == {"team"}
    assert _row(ct, "team", "M1", "M1-T1")["finding"] == "knowledge gap"


def test_small_simulation(small_ops):
    # ~200 judgments of the class per team in "small": enough to see the market's excess,
    # too few to show that each team has it (the default scenario's slow tests below do)
    sim, ds, post = small_ops
    ct = confusion_tests(ds, post)
    sy = next(p for p in sim.truth.planted if p["effect"] == "systemic_confusion")
    row = _row(ct, "market", sy["market"], true=sy["true"], given=sy["given"])
    assert row["q"] <= 0.05 and row["rate"] > row["baseline_rate"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_systemic_and_gap_on_default(seed):
    sim, ds, post = fitted("default", seed)
    ct = confusion_tests(ds, post)
    sy = next(p for p in sim.truth.planted if p["effect"] == "systemic_confusion")
    row = _row(ct, "market", sy["market"], true=sy["true"], given=sy["given"])
    assert row["finding"] == "policy clarification" and row["q"] <= 0.05
    same = ct[(ct.scope == "team") & (ct.market == sy["market"]) & (ct["true"] == sy["true"])
              & (ct.given == sy["given"])]
    assert (same["finding"] == "").all()          # not reported as team gaps
    gap = next(p for p in sim.truth.planted if p["effect"] == "knowledge_gap")
    g = _row(ct, "team", gap["market"], gap["team"], gap["true"], gap["given"])
    assert g["finding"] == "knowledge gap" and g["q"] <= 0.05
    assert _row(ct, "market", gap["market"], true=gap["true"], given=gap["given"])[
        "finding"] != "policy clarification"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_null_scenario_no_finding(seed):
    _, ds, post = fitted("null", seed, plan=OperationsPlan(calibration=None,
                                                           arbitration_share=0))
    ct = confusion_tests(ds, post)
    assert len(ct) > 100 and (ct["finding"] == "").all()
