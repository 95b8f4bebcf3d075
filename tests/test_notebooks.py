"""The report notebook, the params files and ReportParams agree with each other."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill as pm
import pytest
import yaml

from insights.report.build import section_modules
from insights.report.params import ReportParams

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "market_report.ipynb"
PARAMS = REPO / "params"
PARAM_FILES = sorted(PARAMS.glob("*.yaml"))


@pytest.fixture(scope="module")
def notebook_parameters() -> dict:
    return pm.inspect_notebook(str(NOTEBOOK))


@pytest.mark.parametrize("path", PARAM_FILES, ids=[p.name for p in PARAM_FILES])
def test_every_params_key_is_a_report_parameter(path, notebook_parameters):
    # papermill only warns about unknown parameters: a typo would silently use the default
    content = yaml.safe_load(path.read_text()) or {}
    unknown = sorted(set(content) - set(ReportParams.model_fields))
    assert not unknown, f"{path.name}: {unknown} are not ReportParams fields"
    assert set(content) <= set(notebook_parameters)
    ReportParams.from_mapping(content, origin=path.name)  # every value valid too


def test_every_default_market_has_a_params_file():
    synthetic = pytest.importorskip("insights.synthetic")
    markets = synthetic.SCENARIOS["default"].markets
    have = {p.stem for p in PARAM_FILES} - {"defaults"}
    assert set(markets) == have
    for m in markets:
        assert yaml.safe_load((PARAMS / f"{m}.yaml").read_text())["market"] == m


def test_defaults_cover_the_stakeholder_settings():
    d = yaml.safe_load((PARAMS / "defaults.yaml").read_text())
    assert d["pseudonymize"] is True
    assert d["data_source"] in ("", "simulated")
    assert d["cost_per_label"] is None  # no invented costs
    for key in ("weeks", "label_set", "accuracy_target", "seed"):
        assert key in d


def test_notebook_parameters_are_the_report_parameters(notebook_parameters):
    # one assignment per ReportParams field, in the model's order, and nothing else
    assert list(notebook_parameters) == list(ReportParams.model_fields)


def test_committed_without_outputs_and_one_parameters_cell():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "papermill" not in nb.metadata
    for c in nb.cells:
        assert "papermill" not in c.metadata and "execution" not in c.metadata
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_paired_script_matches_the_notebook():
    jupytext = pytest.importorskip("jupytext")
    script = jupytext.read(REPO / "notebooks" / "market_report.py")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert [(c.cell_type, c.source) for c in script.cells] == [
        (c.cell_type, c.source) for c in nb.cells]


def test_one_heading_and_one_show_cell_per_section():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    headings = [line[3:].strip() for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    for mod in section_modules():
        assert mod.TITLE in headings, f"no '## {mod.TITLE}' heading"
        assert sum(f'show(report.sections["{mod.KEY}"])' in s for s in code) == 1, mod.KEY
