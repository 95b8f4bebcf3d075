"""Model and LLM annotators on the planted operation."""

from __future__ import annotations


def test_model_disagreement_found(report):
    result = report.sections["model"]
    pairs = result.data["pairs"]
    top = pairs.iloc[0]
    # planted: the model calls 40% of 'spam' items 'ok'
    assert (top["consensus"], top["model_label"]) == ("spam", "ok")
    assert 0.2 < top["share"] < 0.6  # ~60 spam items: sd of the share ~0.065
    assert len(result.data["examples"]) >= 1
    scores = result.tables["Scores of the model and LLM annotators"]
    assert list(scores["Annotator"]) == ["AA-llm"]


def test_gap_pack_flags_the_planted_blind_spot(report):
    """The gap pack behind the section: the planted spam -> ok cell is a gap at the report's
    alpha, the only one, and its sentence is a headline finding."""
    result = report.sections["model"]
    cells = result.data["gap_cells"]
    gaps = cells[cells["gap"]]
    assert set(zip(gaps["consensus_label"], gaps["model_label"], strict=True)) == {("spam", "ok")}
    assert (gaps["q"] <= report.params.alpha).all()
    assert any("spam" in f.text and f.q <= 0.05 for f in result.findings)
