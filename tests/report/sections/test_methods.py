"""Methods and provenance: once, as a table, with relative paths."""

from __future__ import annotations

from insights.report.fitting import convergence_note


def test_provenance_is_one_table_without_absolute_paths(report, operation):
    prov = report.sections["methods"].data["tables"]["provenance"].set_index("field")
    model = report.context.hierarchical
    assert convergence_note(model) in prov.loc["confidence model", "value"]
    assert str(model.n_iter_) in prov.loc["confidence model", "value"]
    text = " ".join(prov["value"].astype(str))
    assert str(operation) not in text and "/tmp" not in text  # no absolute path
    assert "{" not in text  # no JSON dump
    assert prov.loc["parameter: market", "value"] == "AA"
