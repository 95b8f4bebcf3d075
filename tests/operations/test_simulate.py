"""Simulated operations: what is planted is in the data, with its truth."""

import numpy as np
import pandas as pd

from insights import synthetic
from insights.operations.simulate import OperationsPlan, simulate_operations


def test_scenario_flag_equals_simulate_operations():
    a = synthetic.simulate("small", seed=2, operations=True)
    b = simulate_operations("small", seed=2)
    pd.testing.assert_frame_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.gold, b.gold)
    assert "operations" in synthetic.SCENARIOS and a.scenario.operations


def test_empty_plan_adds_nothing():
    base = synthetic.simulate("small", seed=2)
    same = simulate_operations("small", seed=2,
                               plan=OperationsPlan(calibration=None, arbitration_share=0))
    pd.testing.assert_frame_equal(base.labels, same.labels)
    pd.testing.assert_frame_equal(base.gold, same.gold)


def test_planted_operations_with_truth(small_ops):
    sim, ds, _ = small_ops
    truth = sim.truth.true_labels
    gold = sim.gold
    assert set(gold["source"]) == {"benchmark", "calibration", "arbitration"}
    # every gold answer is the truth (the expert decides correctly)
    assert (gold["label"].to_numpy() == truth.reindex(gold["item_id"]).to_numpy()).all()
    cal = gold[gold["source"] == "calibration"]
    per = sim.labels[sim.labels["item_id"].isin(cal["item_id"])].groupby("item_id").size()
    assert per.min() >= 2 and cal["session"].notna().all()
    arb = gold[gold["source"] == "arbitration"]
    votes = sim.labels[sim.labels["item_id"].isin(arb["item_id"])].groupby("item_id")["label"]
    assert (votes.nunique() > 1).all()                  # only disputed items are arbitrated
    last = sim.labels.groupby("item_id")["labeled_at"].max().reindex(arb["item_id"])
    assert (arb["decided_at"].to_numpy() > last.to_numpy()).all()
    # the systemic confusion: measured rate after the change close to rate + (1 - rate) * base
    sy = next(p for p in sim.truth.planted if p["effect"] == "systemic_confusion")
    lab = sim.labels.assign(true=sim.labels["item_id"].map(truth))
    hum = lab[(lab["market"] == sy["market"]) & (lab["team"] != "llm") & (lab["true"] == sy["true"])]
    after = hum[hum["labeled_at"] >= pd.Timestamp(sy["week_start"], tz="UTC")]
    before = hum[hum["labeled_at"] < pd.Timestamp(sy["week_start"], tz="UTC")]
    base = (before["label"] == sy["given"]).mean()
    expected = sy["rate"] + (1 - sy["rate"]) * base
    n = len(after)
    # binomial sd of the after rate, plus the before rate's own sampling error
    assert abs((after["label"] == sy["given"]).mean() - expected) < 4 * np.sqrt(0.25 / n) + 0.05
    nt = [p for p in sim.truth.planted if p["effect"] == "new_team"]
    assert nt and all(set(p["members"]) <= set(ds.annotators["annotator_id"]) for p in nt)
    assert ds.labels["item_id"].isin(truth.index).all()
