"""Knowledge gaps on the planted operation."""

from __future__ import annotations

import numpy as np

from insights.report.sections.gaps import heatmap_teams


def test_knowledge_gap_found_with_examples(report):
    result = report.sections["gaps"]
    gaps = result.data["gaps"]
    assert len(gaps) >= 1
    top = gaps.iloc[0]
    # planted: team 'gap' labels 60% of 'hate' items as 'ok' (others about 2.5%)
    assert (top["team"], top["true"], top["given"]) == ("gap", "hate", "ok")
    assert 0.4 < top["team_rate"] < 0.8  # ~90 hate judgments by the team: sd of the rate ~0.05
    assert (gaps["q"] <= report.context.trend.alpha).all()
    # the model annotator's own confusion is shown in the Model section, not as a team's gap
    assert "model" not in set(gaps["team"])
    ex = result.data["examples"]
    ex_gap = ex[(ex["team"] == "gap") & (ex["true"] == "hate")]
    assert 1 <= len(ex_gap) <= 3
    assert ex_gap["text"].str.startswith("post ").all()
    lab = report.dataset.labels
    team_ok = lab[(lab["team"] == "gap") & (lab["label"] == "ok")]["item_id"]
    assert set(ex_gap["item_id"]) <= set(team_ok)
    assert heatmap_teams(report.context, result.data["confusions"], gaps)[0] == "gap"


def test_team_confusions_rows_are_distributions(report):
    conf = report.sections["gaps"].data["confusions"]
    rows = conf.groupby(["team", "true"])["rate"].sum()
    np.testing.assert_allclose(rows.to_numpy(), 1.0, atol=1e-9)
    assert "model" not in set(conf["team"])
    hate_ok = conf.set_index(["team", "true", "given"]).loc[("gap", "hate", "ok"), "rate"]
    assert hate_ok > 0.35  # planted 0.6; the soft reference dilutes it a little
