"""A/B analysis: a planted accuracy difference is found with an interval that covers it; A/A
splits do not find one more often than the level allows; power matches Cohen's table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower

from insights.allocation.experiments import AB_COLUMNS, ab_analysis, items_per_arm, power_table
from insights.cli import main


def test_power_matches_cohens_table():
    # Cohen (1988), Table 6.4.1: h = 0.2, two-sided alpha 0.05, power 0.80 -> n = 392 per group
    # (h = 0.2 is e.g. p = 0.5 vs 0.5 + sin(asin(sqrt(.5)) + .1)^2 - .5)
    p1 = 0.5
    p2 = np.sin(np.arcsin(np.sqrt(p1)) + 0.1) ** 2
    assert round(items_per_arm(p1, p2)) == 392
    # h = 0.5 -> 63 and h = 0.8 -> 25 in the same table
    for h, n in ((0.5, 63), (0.8, 25)):
        p2 = np.sin(np.arcsin(np.sqrt(p1)) + h / 2) ** 2
        assert round(items_per_arm(p1, p2)) == n
    # and the closed form of the normal approximation; statsmodels also counts rejections in
    # the wrong tail (probability ~1e-6 here), which moves n by ~1e-3 items: rel 1e-5
    z = 1.959963984540054 + 0.8416212335729143
    assert items_per_arm(0.5, np.sin(np.arcsin(np.sqrt(.5)) + .1) ** 2) == pytest.approx(
        2 * (z / 0.2) ** 2, rel=1e-5)
    t = power_table(0.9, [0.02, 0.05])
    assert (t["items_per_arm"].diff().dropna() < 0).all()   # bigger effects need fewer items
    assert t["items_per_arm"].iloc[0] == int(np.ceil(NormalIndPower().solve_power(
        abs(2 * np.arcsin(np.sqrt(.92)) - 2 * np.arcsin(np.sqrt(.9))), alpha=.05, power=.8)))


def _experiment(sim, effect: float, seed: int) -> pd.DataFrame:
    """Arms by annotator (half the pool each); arm B's judgments on gold items are corrected
    with probability ``effect`` (raising its gold accuracy by ~effect x error rate)."""
    rng = np.random.default_rng(seed)
    lab = sim.labels.copy()
    anns = lab["annotator_id"].unique()
    arm_b = set(rng.choice(anns, len(anns) // 2, replace=False))
    lab["arm"] = np.where(lab["annotator_id"].isin(arm_b), "B", "A")
    if effect:
        gold = sim.gold.set_index("item_id")["label"]
        gl = gold.reindex(lab["item_id"]).to_numpy()
        fix = (lab["arm"] == "B").to_numpy() & pd.notna(gl) & (rng.random(len(lab)) < effect)
        lab.loc[fix, "label"] = gl[fix]
    return lab


def test_planted_difference_is_found(sim):
    base = _experiment(sim, 0.0, 1)
    lab = _experiment(sim, 0.8, 1)
    res = ab_analysis(lab, "arm", gold=sim.gold)
    assert list(res.columns) == AB_COLUMNS
    acc = res[(res["metric"] == "accuracy_gold") & (res["arm"] == "B")].iloc[0]
    # the planted effect: 80 % of arm B's gold errors corrected (about +10 points); arms are
    # whole annotators, so the clustered test has ~58 clusters a side and between-annotator
    # spread of several points: p < 0.01 is what such an effect must reach
    gold = sim.gold.set_index("item_id")["label"]
    on = base["item_id"].isin(gold.index) & (base["arm"] == "B")
    err_b = 100 * (base.loc[on, "label"].to_numpy() != gold.reindex(base.loc[on, "item_id"])
                   .to_numpy()).mean()
    acc_a = res[(res["metric"] == "accuracy_gold") & (res["arm"] == "A")]["mean"].iat[0]
    assert acc["p_value"] < 0.01
    base_res = ab_analysis(base, "arm", gold=sim.gold)
    base_diff = base_res[(base_res["metric"] == "accuracy_gold") & (base_res["arm"] == "B")]
    planted = base_diff["diff"].iat[0] + 0.8 * err_b
    assert acc["diff_low"] <= planted <= acc["diff_high"]
    assert acc_a > 0
    assert set(res["metric"]) >= {"agreement", "handle_seconds", "cost_per_item",
                                  "judgments_per_item", "throughput_per_annotator_day"}


@pytest.mark.slow
def test_aa_splits_rarely_reject(sim):
    # 20 random annotator splits without effect: a 95 % test rejects ~1 of them; more than 5
    # has probability < 0.0003 under the null (binomial 20, 0.05), unless the clustering is wrong
    rejections = 0
    for seed in range(20):
        lab = _experiment(sim, 0.0, 100 + seed)
        res = ab_analysis(lab, "arm", gold=sim.gold)
        row = res[(res["metric"] == "accuracy_gold") & (res["arm"] == "B")].iloc[0]
        rejections += row["p_value"] < 0.05
    assert rejections <= 5


def test_bad_arm_column(sim):
    with pytest.raises(ValueError, match="no column 'nope'"):
        ab_analysis(sim.labels, "nope")
    with pytest.raises(ValueError, match="one arm"):
        ab_analysis(sim.labels.assign(arm="x"), "arm")


def test_cli_abtest(sim, tmp_path):
    lab = _experiment(sim, 0.3, 3)
    lab.to_csv(tmp_path / "labels.csv", index=False)
    sim.gold.to_csv(tmp_path / "gold.csv", index=False)
    out = tmp_path / "ab.csv"
    assert main(["abtest", str(tmp_path / "labels.csv"), "--arm-column", "arm", "--gold",
                 str(tmp_path / "gold.csv"), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert set(table["arm"]) == {"A", "B"}
