"""The Allocation section on the planted operation."""

from __future__ import annotations

import numpy as np

from insights.report.sections import allocation


def test_allocation_section(report):
    result = report.sections["allocation"]
    assert result.title == "Allocation"
    t = result.data.get("replay")
    if t is None:      # the operation has no gold on deep items: the note says what is missing
        assert "gold" in result.note
        return
    assert t["reference"].iat[0] and t["labels_saved"].iat[0] == 0
    best = allocation.recommend(t)
    if best is not None:
        assert best["accuracy_diff"] >= 0 and best["labels_saved"] > 0
        assert any("Recommended redundancy policy" in s for s in result.sentences)
    if "frontier" in result.data:
        f = result.data["frontier"]
        assert len(f) == 20
        assert (np.diff(f["mean_quality"]) >= -1e-12).all()


def test_recommend_picks_most_savings_at_equal_accuracy():
    import pandas as pd

    t = pd.DataFrame({"policy": ["ref", "a", "b", "c"], "reference": [True, False, False, False],
                      "accuracy_diff": [0.0, 0.5, -0.1, 0.0],
                      "labels_saved": [0.0, 20.0, 50.0, 30.0]})
    assert allocation.recommend(t)["policy"] == "c"
    assert allocation.recommend(t.iloc[[0, 2]]) is None
