"""Knowledge-gap test on a hand-built pool."""

import numpy as np
import pandas as pd

from insights.trends.gaps import gap_tests, truth_weights


def _pool(rate_team, rng, n=200):
    rows = []
    for team, rate in (("T1", rate_team), ("T2", 0.05), ("T3", 0.05)):
        for a in range(4):
            ann = f"{team}-a{a}"
            for i in range(n):
                true = "hate" if i % 2 else "ok"
                lab = true
                if true == "hate" and rng.uniform() < rate:
                    lab = "ok"
                rows.append((f"{ann}-{i}", ann, lab, "M", team, true))
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label", "market", "team",
                                       "true"])


def test_gap_found_and_null_not():
    rng = np.random.default_rng(0)
    for rate, expect in ((0.4, True), (0.05, False)):
        j = _pool(rate, rng)
        gold = j[["item_id", "true"]].rename(columns={"true": "label"})
        w = truth_weights(j, gold, None, ["ok", "hate"])
        out = gap_tests(j, w, ["ok", "hate"])
        row = out[(out.team == "T1") & (out["true"] == "hate") & (out.given == "ok")].iloc[0]
        assert bool(row["p"] < 1e-3) == expect
        # 400 hate judgments per team: rate within ~3 binomial sd (0.025)
        assert abs(row["team_rate"] - rate) < 0.075
        assert abs(row["rest_rate"] - 0.05) < 0.04
        if expect:
            assert row["effect_lo"] > 0 and len(row["examples"]) == 3


def test_model_annotator_outside_the_pool():
    # A very accurate model annotator judging every item would pull the "rest" rate down and
    # make an ordinary human team look like a gap; outside_pool keeps it out of the rest.
    rng = np.random.default_rng(3)
    j = _pool(0.05, rng)
    hate = j[j["true"] == "hate"]
    model = hate.assign(annotator_id="llm", team="llm", label="hate")   # never confuses
    j = pd.concat([j, model, model.assign(item_id=model["item_id"] + "-b")],
                  ignore_index=True)
    gold = j[["item_id", "true"]].drop_duplicates("item_id").rename(columns={"true": "label"})
    w = truth_weights(j, gold, None, ["ok", "hate"])
    with_model = gap_tests(j, w, ["ok", "hate"])
    without = gap_tests(j, w, ["ok", "hate"], outside_pool=["llm"])
    key = (with_model.team == "T1") & (with_model["true"] == "hate")
    assert with_model[key]["rest_rate"].iat[0] < 0.02        # diluted by 2400 perfect labels
    row = without[(without.team == "T1") & (without["true"] == "hate")].iloc[0]
    assert abs(row["rest_rate"] - 0.05) < 0.02 and row["rest_annotators"] == 8
    assert row["p"] > 0.01


def test_gap_p_values_calibrated_on_identical_annotators():
    # 3 teams x 4 identical annotators (rate 0.05, 100 hate items each): over 150 pools the
    # one-sided 5% test of T1 rejects at most ~5% (binomial sd 1.8 points: allow 10%).
    rng = np.random.default_rng(7)
    p = []
    for _ in range(150):
        j = _pool(0.05, rng)
        gold = j[["item_id", "true"]].rename(columns={"true": "label"})
        out = gap_tests(j, truth_weights(j, gold, None, ["ok", "hate"]), ["ok", "hate"])
        p.append(out[(out.team == "T1") & (out["true"] == "hate")]["p"].iat[0])
    assert np.mean(np.array(p) < 0.05) <= 0.10


def test_leave_one_out_weights_drop_the_own_vote():
    # Two items, each judged by a and b. Posterior from both votes; leaving out a's vote on
    # item 1 (a says hate, b says ok) must move the weight towards b's answer.
    j = pd.DataFrame({"item_id": ["i1", "i1", "i2", "i2"], "annotator_id": ["a", "b", "a", "b"],
                      "label": ["hate", "ok", "ok", "ok"]})
    post = pd.DataFrame({"ok": [0.5, 0.99], "hate": [0.5, 0.01]}, index=["i1", "i2"])
    w_in = truth_weights(j, None, post, ["ok", "hate"], leave_one_out=False)
    w_loo = truth_weights(j, None, post, ["ok", "hate"])
    np.testing.assert_allclose(w_loo.sum(axis=1), 1.0)
    assert w_loo[0, 0] > w_in[0, 0]          # a's hate vote removed: ok more likely
    assert w_loo[1, 1] > w_in[1, 1]          # b's ok vote removed: hate more likely
