"""The vendor team scorecard on the planted operation."""

from __future__ import annotations

import numpy as np


def test_scorecard_ranks_planted_teams(report):
    card = report.sections["scorecard"].data["card"].set_index("team")
    # human vendor teams only: the model annotator is scored in the Model section
    assert set(card.index) == {"good", "mid", "gap"}
    # 'good' is 95% accurate on every class, 'mid' 85%: good must outrank mid
    assert card.loc["good", "rank"] < card.loc["mid", "rank"]
    ok = card["accuracy_gold"].notna()
    assert (card.loc[ok, "accuracy_gold_low"] <= card.loc[ok, "accuracy_gold"]).all()
    assert (card.loc[ok, "accuracy_gold"] <= card.loc[ok, "accuracy_gold_high"]).all()
    assert ((card["rank_best"] <= card["rank"]) & (card["rank"] <= card["rank_worst"])).all()
    # ~80 gold items x 3 human judgments spread over 12 annotators: team 'mid' has ~60 gold
    # judgments, so its 95% interval half-width is ~0.09; 0.85 must fall inside it
    assert card.loc["mid", "accuracy_gold_low"] < 0.85 < card.loc["mid", "accuracy_gold_high"]
    lab = report.dataset.labels
    assert card["judgments"].sum() == (lab["team"] != "model").sum()
    assert (card["cost_per_judgment"] > 0).all()


def test_scorecard_model_intervals_come_from_the_hierarchical_model(report):
    card = report.sections["scorecard"].data["card"].set_index("team")
    teams = report.context.hierarchical.team_accuracy_
    np.testing.assert_allclose(card["accuracy_estimated"], teams.loc[card.index, "accuracy"])
    np.testing.assert_allclose(card["accuracy_estimated_low"], teams.loc[card.index, "lower"])
    # planted: 'good' answers 95% right, 'mid' 85%; with ~240 judgments per team the 95%
    # credible intervals are about +-4 points: each must hold its team's planted accuracy
    assert card.loc["good", "accuracy_estimated"] > card.loc["mid", "accuracy_estimated"]
    for team, truth in (("good", 0.95), ("mid", 0.85)):
        assert card.loc[team, "accuracy_estimated_low"] < truth < card.loc[
            team, "accuracy_estimated_high"]


def test_scorecard_view_is_readable(report):
    view = report.sections["scorecard"].tables[""]
    kinds = view.attrs["kinds"]
    assert all(c[0].isupper() and "_" not in c for c in view.columns)  # human headers
    assert kinds["Bias-corrected quality (0-1)"] == "score"  # a 0-1 score, not a percent
    assert kinds["Accuracy vs gold (95% interval)"] == "interval"  # one cell per interval
    assert kinds["Judgments"] == "count"
    assert len(view.columns) <= 14
