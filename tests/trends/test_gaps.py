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
