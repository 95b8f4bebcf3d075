"""The simulated operation: determinism, the data contract, and planted effects visible in the
raw data against the known truth.

Tolerances are a few binomial standard errors of the quantity checked (stated per test), so a
test fails only when the simulator does not do what it says, not by sampling bad luck.
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from insights import data
from insights.synthetic import (
    SCENARIOS,
    AccuracyDrop,
    KnowledgeGap,
    MixShift,
    Scenario,
    Simulation,
    simulate,
)

CONTRACT = {
    "labels": ["item_id", "annotator_id", "label", "market", "queue", "team", "labeled_at",
               "handle_seconds", "cost"],
    "gold": ["item_id", "label", "source", "decided_at"],
    "annotators": ["annotator_id", "team", "market", "kind", "cost_per_label",
                   "capacity_per_day"],
    "items": ["item_id", "market", "queue", "created_at", "text"],
}


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate("default", seed=0)


@pytest.fixture(scope="module")
def small() -> Simulation:
    return simulate("small", seed=0)


def with_truth(s: Simulation) -> pd.DataFrame:
    """Labels with the true class, the annotator's type and a correctness flag."""
    lab = s.labels
    true = s.truth.true_labels.reindex(lab["item_id"]).to_numpy()
    return lab.assign(
        true=true,
        correct=lab["label"].to_numpy() == true,
        type=s.truth.annotator_types.reindex(lab["annotator_id"]).to_numpy(),
    )


# --------------------------------------------------------------------------------------------
# determinism, speed, scenarios
# --------------------------------------------------------------------------------------------
def test_same_seed_gives_identical_frames():
    a, b = simulate("small", seed=7), simulate("small", seed=7)
    for kind in CONTRACT:
        pd.testing.assert_frame_equal(getattr(a, kind), getattr(b, kind))
    pd.testing.assert_series_equal(a.truth.true_labels, b.truth.true_labels)
    assert a.truth.planted == b.truth.planted
    assert all(np.array_equal(a.truth.confusions[k], b.truth.confusions[k])
               for k in a.truth.confusions)
    assert a.dataset().fingerprint == b.dataset().fingerprint
    c = simulate("small", seed=8)
    assert not c.labels["label"].equals(a.labels["label"])
    assert c.dataset().fingerprint != a.dataset().fingerprint


def test_default_is_fast_and_sized_for_the_reports():
    t0 = time.perf_counter()
    s = simulate("default", seed=1)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0  # measured ~0.3 s; the brief's budget is "well under 5 s"
    per_market = s.labels.groupby("market").agg(n=("item_id", "size"),
                                                 items=("item_id", "nunique"))
    assert len(per_market) >= 3
    assert per_market["items"].between(5_000, 15_000).all(), per_market
    assert per_market["n"].between(15_000, 50_000).all(), per_market


def test_registry_and_overrides():
    assert {"default", "small", "null", "sparse"} <= set(SCENARIOS)
    assert all(isinstance(s, Scenario) for s in SCENARIOS.values())
    s = simulate("small", seed=0, weeks=8)
    assert s.scenario.weeks == 8 and s.truth.volume["week"].max() == 7
    s2 = simulate(SCENARIOS["small"], seed=0)
    pd.testing.assert_frame_equal(s2.labels, simulate("small", seed=0).labels)
    assert 1_000 <= len(simulate("small", seed=0).items) <= 2_000
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        simulate("nope")
    with pytest.raises(ValueError, match="market 'XX'"):
        simulate("small", mix_shifts=(MixShift(market="XX", week=2, label="spam", factor=2),))
    with pytest.raises(ValueError, match="team 'SG-T9'"):
        simulate("small", knowledge_gaps=(KnowledgeGap("SG", "SG-T9", "hate", "ok", 0.4),))
    with pytest.raises(ValueError, match="week 0"):
        simulate("small", accuracy_drops=(AccuracyDrop("DE", "DE-T1", 0, 0.1),))
    with pytest.raises(ValueError, match="class probabilities"):
        simulate("small", label_set=("a", "b"))


# --------------------------------------------------------------------------------------------
# the data contract
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["default", "small", "null", "sparse"])
def test_tables_follow_the_contract_and_validate(name):
    s = simulate(name, seed=2)
    for kind, cols in CONTRACT.items():
        df = getattr(s, kind)
        assert list(df.columns) == cols, kind
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no duplicate judgments either
            data.validate(df, kind, label_set=s.truth.label_set)
    ds = s.dataset()
    assert isinstance(ds, data.Dataset)
    assert ds.label_set == list(s.scenario.label_set)
    assert ds.fingerprint == data.fingerprint_frames(labels=s.labels, gold=s.gold,
                                                     annotators=s.annotators, items=s.items)
    assert len(ds.labels) == len(s.labels)
    # every judged item and every annotator is described
    assert set(s.labels["item_id"]) == set(s.items["item_id"])
    assert set(s.labels["annotator_id"]) <= set(s.annotators["annotator_id"])
    assert set(s.gold["item_id"]) <= set(s.items["item_id"])
    enc = ds.encode()
    assert enc.n_judgments == len(s.labels) and enc.has_gold.sum() == len(s.gold)


def test_ids_are_readable(sim):
    assert sim.items["item_id"].str.fullmatch(r"[A-Z]{2}-item-\d{6}").all()
    humans = sim.annotators[sim.annotators["kind"] == "human"]
    assert humans["annotator_id"].str.fullmatch(r"[A-Z]{2}-T\d-a\d{2}").all()
    assert (humans["team"] == humans["annotator_id"].str[:5]).all()
    assert (humans["market"] == humans["annotator_id"].str[:2]).all()
    assert sim.items["text"].str.len().between(10, 200).all()


def test_consistent_columns(sim):
    lab = sim.labels
    items = sim.items.set_index("item_id")
    ann = sim.annotators.set_index("annotator_id")
    assert (lab["market"].to_numpy() == items["market"].reindex(lab["item_id"]).to_numpy()).all()
    assert (lab["queue"].to_numpy() == items["queue"].reindex(lab["item_id"]).to_numpy()).all()
    assert (lab["team"].to_numpy() == ann["team"].reindex(lab["annotator_id"]).to_numpy()).all()
    assert np.allclose(lab["cost"], ann["cost_per_label"].reindex(lab["annotator_id"]))
    created = items["created_at"].reindex(lab["item_id"]).to_numpy()
    assert (lab["labeled_at"].to_numpy() > created).all()
    start = sim.scenario.start_ts
    end = sim.scenario.week_start(sim.scenario.weeks) + pd.Timedelta(days=7)
    assert lab["labeled_at"].min() >= start and lab["labeled_at"].max() < end
    assert sim.items["created_at"].max() < sim.scenario.week_start(sim.scenario.weeks)
    assert (lab["handle_seconds"] > 0).all()
    # team prices differ, and costs come from the team's price
    assert ann.loc[ann["kind"] == "human"].groupby("team")["cost_per_label"].nunique().eq(1).all()
    assert ann.loc[ann["kind"] == "human", "cost_per_label"].nunique() > 3


def test_redundancy_one_to_five_distinct_humans(sim):
    humans = sim.labels[sim.labels["team"] != "llm"]
    per_item = humans.groupby("item_id")["annotator_id"].agg(["size", "nunique"])
    assert per_item["size"].between(1, 5).all()
    assert (per_item["size"] == per_item["nunique"]).all()
    assert per_item["size"].nunique() == 5
    # 1..5 with probabilities .15 .25 .40 .15 .05 -> mean 2.7; 40k items: SE < 0.01
    assert abs(per_item["size"].mean() - 2.7) < 0.05


def test_hard_items_take_longer(sim):
    humans = sim.labels[sim.labels["team"] != "llm"]
    d = sim.truth.item_difficulty.reindex(humans["item_id"]).to_numpy()
    r = np.corrcoef(d, np.log(humans["handle_seconds"].to_numpy()))[0, 1]
    assert r > 0.2  # difficulty is 0.35 of ~0.55 log-sd per judgment: r is about 0.6


def test_weekly_volume_matches_truth_and_trends(sim):
    items = sim.items.assign(week=(sim.items["created_at"] - sim.scenario.start_ts).dt.days // 7)
    counts = items.groupby(["market", "queue", "week"]).size().rename("n")
    vol = sim.truth.volume.set_index(["market", "queue", "week"])
    assert (counts.reindex(vol.index, fill_value=0) == vol["n_items"]).all()
    # Poisson around its mean: 5 standard deviations
    assert (np.abs(vol["n_items"] - vol["mean"]) < 5 * np.sqrt(vol["mean"]) + 1).all()
    # a growth trend: the last four weeks are bigger than the first four in most series
    first = vol[vol.index.get_level_values("week") < 4].groupby(level=[0, 1])["expected"].sum()
    last = vol[vol.index.get_level_values("week") >= 8].groupby(level=[0, 1])["expected"].sum()
    assert (last > first).mean() >= 0.75


# --------------------------------------------------------------------------------------------
# truth and annotators
# --------------------------------------------------------------------------------------------
def test_confusions_are_stochastic_and_match_empirical_accuracy(sim):
    t = sim.truth
    k = len(t.label_set)
    for aid, c in t.confusions.items():
        assert c.shape == (k, k)
        assert np.allclose(c.sum(1), 1.0) and (c >= 0).all(), aid
    lab = with_truth(sim)
    emp = lab.groupby("annotator_id")["correct"].agg(["mean", "size"])
    emp = emp[emp["size"] >= 300]
    true = t.true_accuracy.reindex(emp.index)
    se = np.sqrt(true * (1 - true) / emp["size"])
    # 4 binomial SEs plus 0.03 for the realised class mix differing from the market average
    assert (np.abs(emp["mean"] - true) < 4 * se + 0.03).all()


def test_annotator_types_present(sim):
    types = sim.truth.annotator_types
    assert {"good", "mediocre", "biased", "new_hire", "spammer_uniform", "spammer_constant",
            "model"} <= set(types)
    n = sim.labels["annotator_id"].value_counts()
    new = n.reindex(types.index[types == "new_hire"]).fillna(0)
    good = n.reindex(types.index[types == "good"])
    # weight 0.25 for at most the last 3 of 12 weeks: ~6% of a typical annotator's volume
    assert new.median() < 0.15 * good.median() and new.quantile(0.75) < 150


def test_spammers_are_at_chance(sim):
    lab = with_truth(sim)
    k = len(sim.truth.label_set)
    uni = lab[lab["type"] == "spammer_uniform"]
    acc = uni.groupby("annotator_id")["correct"].mean()
    assert len(acc) >= 2
    # ~600-1900 labels each: SE <= 0.017; 0.05 is 3 SEs
    assert (np.abs(acc - 1 / k) < 0.05).all()
    const = lab[lab["type"] == "spammer_constant"]
    assert (const.groupby("annotator_id")["label"].nunique() == 1).all()
    # accuracy of always answering one label = that label's share among the items they saw
    share = const.groupby("annotator_id").apply(
        lambda d: (d["true"] == d["label"].iat[0]).mean(), include_groups=False)
    assert np.allclose(const.groupby("annotator_id")["correct"].mean(), share)


def test_gold_is_hidden_benchmark_with_true_answers(sim):
    gold = sim.gold
    assert (gold["source"] == "benchmark").all()
    assert (gold["label"].to_numpy() == sim.truth.true_labels.reindex(gold["item_id"])).all()
    share = (gold.assign(market=gold["item_id"].str[:2]).groupby("market").size()
             / sim.items.groupby("market").size())
    # 4% per item; ~10k items per market: SE 0.002
    assert share.between(0.03, 0.05).all(), share
    created = sim.items.set_index("item_id")["created_at"].reindex(gold["item_id"]).to_numpy()
    assert (gold["decided_at"].to_numpy() < created).all()
    assert gold["item_id"].isin(sim.labels["item_id"]).all()


def test_model_annotator_has_blind_spots(sim):
    ann = sim.annotators
    model = ann[ann["kind"] == "model"]
    assert list(model["annotator_id"]) == ["llm-judge"]
    assert sim.truth.annotator_types["llm-judge"] == "model"
    lab = with_truth(sim)
    m = lab[lab["annotator_id"] == "llm-judge"]
    assert m["market"].nunique() == len(sim.scenario.markets)
    for true, given, rate in sim.scenario.model_blind_spots:
        rows = m[m["true"] == true]
        # ~1.2k-2k items of that class: SE ~ 0.014; 0.05 is > 3 SEs
        assert abs((rows["label"] == given).mean() - rate) < 0.05
    blind = {t for t, _, _ in sim.scenario.model_blind_spots}
    other = m[~m["true"].isin(blind)]
    assert other["correct"].mean() > 0.95


# --------------------------------------------------------------------------------------------
# planted effects
# --------------------------------------------------------------------------------------------
def planted(s: Simulation, effect: str) -> dict:
    found = [p for p in s.truth.planted if p["effect"] == effect]
    assert len(found) == 1
    return found[0]


def test_planted_record_is_complete(sim):
    effects = {p["effect"] for p in sim.truth.planted}
    assert effects == {"accuracy_drop", "knowledge_gap", "mix_shift"}
    for p in sim.truth.planted:
        ws = pd.Timestamp(p["week_start"], tz="UTC")
        assert ws == sim.scenario.week_start(p["week"]) and ws.day_of_week == 0
        assert p["market"] in sim.scenario.markets
    json.dumps(sim.truth.planted)  # serialisable as written to planted.json


def test_accuracy_drop_is_visible(sim):
    p = planted(sim, "accuracy_drop")
    cut = pd.Timestamp(p["week_start"], tz="UTC")
    lab = with_truth(sim)
    lab = lab[lab["market"] == p["market"]]
    after = lab["labeled_at"] >= cut
    per = (lab.assign(after=after).groupby(["team", "annotator_id", "after"])["correct"]
           .agg(["mean", "size"]).unstack("after"))
    per = per[(per["size"] >= 100).all(axis=1)]
    drop = (per["mean"][False] - per["mean"][True]).groupby(level="team").mean()
    members = set(p["annotators"])
    drop_team = (per["mean"][False] - per["mean"][True])[
        per.index.get_level_values("annotator_id").isin(members)]
    assert len(drop_team) >= 4
    # every member's accuracy falls by exactly the magnitude in expectation; per-annotator SE
    # ~0.027 with >= 100 labels per side, so the mean over >= 4 members has SE <= 0.014
    assert abs(drop_team.mean() - p["magnitude"]) < 0.045
    for team, d in drop.items():
        if team != p["team"]:
            assert abs(d) < 0.045, team
    # the team's recorded expected accuracy matches the data, before and after
    team = lab[lab["team"] == p["team"]]
    before_emp = team.loc[~after.loc[team.index], "correct"].mean()
    after_emp = team.loc[after.loc[team.index], "correct"].mean()
    assert abs(before_emp - p["accuracy_before"]) < 0.03  # ~6k labels: SE 0.005 + mix
    assert abs(after_emp - p["accuracy_after"]) < 0.03
    assert p["accuracy_before"] - p["accuracy_after"] > 0.1
    # truth holds before/after matrices for exactly these annotators
    t = sim.truth
    assert set(t.confusions_before) == members == set(t.confusions_after)
    for aid in members:
        assert np.allclose(np.diag(t.confusions_before[aid]) - np.diag(t.confusions_after[aid]),
                           p["magnitude"])


def test_knowledge_gap_is_visible(sim):
    p = planted(sim, "knowledge_gap")
    lab = with_truth(sim)
    lab = lab[(lab["market"] == p["market"]) & (lab["true"] == p["true"])
              & ~lab["type"].str.startswith("spammer").to_numpy() & (lab["team"] != "llm")]
    in_team = lab["team"] == p["team"]
    rate_team = (lab.loc[in_team, "label"] == p["given"]).mean()
    rate_rest = (lab.loc[~in_team, "label"] == p["given"]).mean()
    # ~400 judgments of that class in the team: SE ~0.025; 0.08 is > 3 SEs
    assert abs(rate_team - p["rate"]) < 0.08
    # the rest of the market errs ~0.1 on this class (more when a biased annotator's random
    # confusion happens to be the same pair), so the gap stands out by well over 0.1
    assert rate_team - rate_rest > 0.1
    assert p["team_rate"] - p["rest_of_market_rate"] > 0.1
    a, b = (sim.truth.label_set.index(x) for x in (p["true"], p["given"]))
    for aid in sim.annotators.loc[sim.annotators["team"] == p["team"], "annotator_id"]:
        if not sim.truth.annotator_types[aid].startswith("spammer"):
            assert np.isclose(sim.truth.confusions[aid][a, b], p["rate"])


def test_mix_shift_is_visible(sim):
    p = planted(sim, "mix_shift")
    cut = pd.Timestamp(p["week_start"], tz="UTC")
    items = sim.items.assign(true=sim.truth.true_labels.reindex(sim.items["item_id"]).to_numpy(),
                             after=sim.items["created_at"] >= cut)
    rates = (items.assign(hit=items["true"] == p["label"])
             .groupby(["market", "after"])["hit"].mean().unstack("after"))
    shifted = rates.loc[p["market"]]
    # ~6k items per side: SE ~0.005; 0.025 also absorbs queue-volume weighting
    assert abs(shifted[False] - p["rate_before"]) < 0.025
    assert abs(shifted[True] - p["rate_after"]) < 0.025
    assert shifted[True] / shifted[False] > 0.7 * p["factor"]
    others = rates.drop(index=p["market"])
    assert (np.abs(others[True] - others[False]) < 0.025).all()
    mix = sim.truth.class_mix
    m = mix[(mix["market"] == p["market"])].assign(after=lambda d: d["week"] >= p["week"])
    per_queue = m.groupby(["queue", "after"])[p["label"]].agg(["min", "max"]).unstack("after")
    assert (per_queue[("min", True)] > per_queue[("max", False)]).all()
    assert np.allclose(per_queue[("min", True)] / per_queue[("max", False)], p["factor"])


def test_small_scenario_plants_every_effect(small):
    assert {p["effect"] for p in small.truth.planted} == {"accuracy_drop", "knowledge_gap",
                                                         "mix_shift"}


# --------------------------------------------------------------------------------------------
# null and sparse
# --------------------------------------------------------------------------------------------
def test_null_plants_nothing():
    s = simulate("null", seed=0)
    t = s.truth
    assert t.planted == [] and t.confusions_before == {} and t.confusions_after == {}
    humans = t.annotator_types.index[t.annotator_types != "model"]
    first = t.confusions[humans[0]]
    assert all(np.allclose(t.confusions[a], first) for a in humans)
    for _, mix in t.class_mix.groupby("queue"):  # queues differ; markets and weeks do not
        classes = mix[t.label_set].to_numpy()
        assert np.allclose(classes, classes[0])
    assert np.allclose(t.volume.groupby(["market", "queue"])["expected"].std(), 0.0)  # flat
    # the model annotator is right at the same rate on every class
    diag = np.diag(t.confusions["llm-judge"])
    assert np.allclose(diag, diag[0])


def test_sparse_has_many_low_volume_annotators_and_spammers():
    s = simulate("sparse", seed=0)
    n = s.labels["annotator_id"].value_counts()
    types = s.truth.annotator_types
    assert len(n) >= 100
    assert (n < 30).mean() > 0.4
    assert types.str.startswith("spammer").sum() >= 10
    assert len(s.truth.label_set) == 3
    assert 1_500 <= len(s.items) <= 3_000
    assert (s.annotators["kind"] == "human").all()


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------
def test_write_then_load_round_trip(small, tmp_path):
    written = small.write(tmp_path / "sim")
    out = tmp_path / "sim"
    for name in ("labels", "gold", "annotators", "items", "truth_labels", "truth_annotators",
                 "confusions", "confusion_changes", "class_mix", "volume"):
        assert (out / f"{name}.csv").exists() and written[name] == out / f"{name}.csv"
    assert not list(out.glob(".*tmp"))  # no temporary files left behind
    ds = data.load(out, label_set=small.truth.label_set)
    assert len(ds.labels) == len(small.labels) and len(ds.gold) == len(small.gold)
    pd.testing.assert_series_equal(ds.labels["labeled_at"].astype("datetime64[ns, UTC]"),
                                   small.labels["labeled_at"].astype("datetime64[ns, UTC]"))
    assert (ds.labels["label"].to_numpy() == small.labels["label"].to_numpy()).all()
    assert np.allclose(ds.labels["cost"], small.labels["cost"])
    assert (ds.annotators["kind"].to_numpy() == small.annotators["kind"].to_numpy()).all()
    truth = pd.read_csv(out / "truth_labels.csv", dtype=str)
    assert (truth["label"].to_numpy() == small.truth.true_labels.to_numpy()).all()
    conf = pd.read_csv(out / "confusions.csv")
    assert list(conf.columns) == ["annotator_id", "true", "given", "p"]
    assert np.allclose(conf.groupby(["annotator_id", "true"])["p"].sum(), 1.0, atol=1e-5)
    aid = conf["annotator_id"].iat[0]
    back = conf[conf["annotator_id"] == aid].pivot(index="true", columns="given", values="p")
    lbl = small.truth.label_set
    assert np.allclose(back.loc[lbl, lbl].to_numpy(), small.truth.confusions[aid], atol=1e-6)
    changes = pd.read_csv(out / "confusion_changes.csv")
    assert set(changes["period"]) == {"before", "after"}
    meta = json.loads((out / "planted.json").read_text())
    assert meta["scenario"] == "small" and meta["seed"] == 0
    assert meta["planted"] == json.loads(json.dumps(small.truth.planted))


def test_variants_without_gold_model_or_spammers(tmp_path):
    s = simulate("small", seed=0, gold_share=0.0, model_annotator=False, spammers_per_market=0)
    assert len(s.gold) == 0 and s.dataset().gold is None
    assert (s.annotators["kind"] == "human").all()
    assert not s.truth.annotator_types.str.startswith("spammer").any()
    s.write(tmp_path)
    assert not (tmp_path / "gold.csv").exists()
    assert len(data.load(tmp_path).labels) == len(s.labels)
