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
