"""Weekly series: counts add up, partial weeks dropped, true week index."""

import numpy as np
import pandas as pd
import pytest

from insights import synthetic
from insights.trends.series import posteriors_for, prepare_judgments, weekly_series


@pytest.fixture(scope="module")
def small():
    return synthetic.simulate("small", seed=3).dataset()


def test_counts_add_up_across_levels(small):
    s = weekly_series(small, posteriors_for(small, "majority"))
    j = prepare_judgments(small)
    for level in ("market", "market/team", "market/queue/team"):
        sub = s[s["level"] == level]
        assert sub["n_judgments"].sum() == len(j)
        assert sub["gold_checked"].sum() == j["on_gold"].sum()
    m = s[s["level"] == "market"]
    label_cols = [c for c in s.columns if c.startswith("label_")]
    np.testing.assert_array_equal(m[label_cols].sum(axis=1), m["n_judgments"])
    assert ((m["est_accuracy"] >= 0) & (m["est_accuracy"] <= 1)).all()


def test_partial_trailing_week_dropped(small):
    j = prepare_judgments(small)
    last = j["week_start"].max()
    assert j["labeled_at"].max() >= last + pd.Timedelta(days=6)
    raw_last = small.labels["labeled_at"].max()
    assert raw_last > j["labeled_at"].max()            # the simulator spills into a 7th week


def test_agreement_by_hand():
    from insights.data import Dataset
    t = pd.Timestamp("2026-03-09T10:00Z")
    labels = pd.DataFrame({
        "item_id": ["a", "a", "a", "b", "b"], "annotator_id": ["x", "y", "z", "x", "y"],
        "label": ["p", "p", "q", "p", "q"], "labeled_at": [t] * 5})
    s = weekly_series(Dataset(labels=labels, label_set=["p", "q"]), levels=(("market",),),
                      drop_partial=False)
    # pairs: item a: x-y agree (2 ordered), x-z, y-z disagree (4 ordered); b: 2 disagree
    assert s["agree"].iat[0] == 2 and s["agree_pairs"].iat[0] == 8
    assert s["week_start"].iat[0] == pd.Timestamp("2026-03-09", tz="UTC")
    assert np.isnan(s["est_accuracy"].iat[0])
