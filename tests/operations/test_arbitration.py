"""Arbitration queue and outcomes on hand-computed fixtures."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from insights.data import Dataset
from insights.operations._common import median_interval
from insights.operations.arbitration import (
    arbitration_judgments,
    arbitration_queue,
    overturn_rates,
    time_to_decision,
)

T0 = pd.Timestamp("2026-02-02 10:00", tz="UTC")
H = pd.Timedelta(hours=1)


def _dataset():
    rows = [
        ("x1", "a1", "ok", "A", 0), ("x1", "a2", "spam", "A", 1),
        ("x2", "a1", "ok", "A", 0), ("x2", "a3", "ok", "B", 2),
        ("x3", "a2", "spam", "A", 0), ("x3", "a3", "ok", "B", 0), ("x3", "a1", "ok", "A", 3),
        ("g1", "a1", "ok", "A", 0), ("g1", "a3", "spam", "B", 0),
        # arbitrated: y1 decided spam 10 h after its first judgment, y2 decided ok after 30 h
        ("y1", "a1", "ok", "A", 0), ("y1", "a2", "spam", "A", 1), ("y1", "a3", "ok", "B", 2),
        ("y2", "a1", "ok", "A", 0), ("y2", "a3", "spam", "B", 4),
    ]
    labels = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label", "team", "h"])
    labels["labeled_at"] = T0 + labels.pop("h") * H
    labels["market"] = "DE"
    gold = pd.DataFrame({"item_id": ["g1", "y1", "y2"], "label": ["ok", "spam", "ok"],
                         "source": ["benchmark", "arbitration", "arbitration"],
                         "decided_at": [T0, T0 + 10 * H, T0 + 30 * H]})
    return Dataset(labels=labels, gold=gold, label_set=["ok", "spam"])


def test_queue_ranked_by_expected_errors_removed():
    ds = _dataset()
    post = pd.DataFrame({"ok": [0.6, 0.9, 0.5, 0.99, 0.2, 0.8],
                         "spam": [0.4, 0.1, 0.5, 0.01, 0.8, 0.2]},
                        index=pd.Index(["x1", "x2", "x3", "g1", "y1", "y2"], name="item_id"))
    # gold items (g1 benchmark, y1/y2 already arbitrated) need no decision
    q = arbitration_queue(ds, post, top=None)
    assert q["item_id"].tolist() == ["x3", "x1", "x2"]
    assert q["expected_errors_removed"].tolist() == pytest.approx([0.5, 0.4, 0.1])
    assert q["rank"].tolist() == [1, 2, 3]
    x3 = q.iloc[0]
    assert x3["votes"] == "ok x2, spam x1" and x3["disputed"] and x3["n_votes"] == 3
    assert x3["annotators"] == "a1=ok; a2=spam; a3=ok"
    assert not q.set_index("item_id").loc["x2", "disputed"]
    assert len(arbitration_queue(ds, post, top=2)) == 2
    assert arbitration_queue(ds, post, min_expected=0.45)["item_id"].tolist() == ["x3"]


def test_overturn_rates_by_hand():
    arb = arbitration_judgments(_dataset())
    assert len(arb) == 5 and arb["overturned"].sum() == 3
    team = overturn_rates(arb, "team").set_index("team")
    # A: a1 ok on y1 (overturned), a2 spam on y1, a1 ok on y2 -> 1/3; B: 2/2
    assert team.loc["A", "overturned"] == 1 and team.loc["A", "n_judgments"] == 3
    assert team.loc["B", "rate"] == 1.0
    lo, hi = proportion_confint(1, 3, method="wilson")
    assert (team.loc["A", "rate_lo"], team.loc["A", "rate_hi"]) == pytest.approx((lo, hi))
    lab = overturn_rates(arb, "label").set_index("label")
    assert lab.loc["ok", "rate"] == pytest.approx(2 / 3) and lab.loc["spam", "rate"] == 0.5
    assert overturn_rates(arb, "team")["team"].tolist() == ["B", "A"]   # highest first


def test_time_to_decision_by_hand():
    arb = arbitration_judgments(_dataset())
    all_ = time_to_decision(arb, by=None).iloc[0]
    assert all_["n_items"] == 2 and all_["median_hours"] == pytest.approx(20.0)
    assert np.isnan(all_["median_lo"])           # two items: no 95 % order-statistic interval
    team = time_to_decision(arb).set_index("team")
    assert team.loc["B", "median_hours"] == pytest.approx(20.0)   # B judged y1 and y2


def test_median_interval_order_statistics():
    # n = 10: P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2), so the interval is [x_(2), x_(9)]
    med, lo, hi = median_interval(np.arange(1.0, 11.0))
    assert (med, lo, hi) == (5.5, 2.0, 9.0)
