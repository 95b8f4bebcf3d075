"""The LLM decision-gap pack finds the simulator's planted blind spots and nothing else."""

from __future__ import annotations

import json

import pytest

from insights import synthetic
from insights.learning import gap_pack


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["default", "null"])
def test_planted_blind_spots_found_and_nothing_on_null(scenario, tmp_path):
    """The default scenario's llm-judge answers 'ok' for 40 % of adult and 25 % of violence
    items (its other errors are 0.75 % per cell); the null scenario's has no blind spot. The
    gaps must be exactly the planted cells at q <= 0.05 (BH over all cells), none on null."""
    sim = synthetic.simulate(scenario, seed=0)
    pack = gap_pack(sim.dataset(), "llm-judge")
    found = {(g.consensus_label, g.model_label) for g in pack.gaps.itertuples()}
    planted = {(t, g) for t, g, _ in sim.scenario.model_blind_spots}
    assert found == planted
    assert (pack.gaps["q"] <= 0.05).all()
    if planted:
        # the measured rates cover the planted ones (95 % Wilson intervals)
        rates = dict(((t, g), r) for t, g, r in sim.scenario.model_blind_spots)
        for g in pack.gaps.itertuples():
            assert g.model_low <= rates[(g.consensus_label, g.model_label)] <= g.model_high
        ex = pack.examples
        assert len(ex) > 0 and ex["consensus_confidence"].is_monotonic_decreasing
        assert set(zip(ex.consensus_label, ex.model_label, strict=True)) <= planted
        assert ex["text"].notna().all()
    written = pack.write(tmp_path)
    lines = (tmp_path / "trainset.jsonl").read_text().splitlines()
    assert len(lines) == len(pack.trainset) > 0
    row = json.loads(lines[0])
    assert abs(sum(v for k, v in row.items() if k.startswith("p_")) - 1) < 1e-9
    assert (pack.trainset["confidence"] >= 0.9).all()
    assert set(written) >= {"gaps", "examples", "examples_jsonl", "trainset", "summary"}


def test_unknown_annotator_is_named():
    sim = synthetic.simulate("small", seed=1)
    with pytest.raises(ValueError, match="annotator 'gpt-x' has no judgments"):
        gap_pack(sim.dataset(), "gpt-x")
