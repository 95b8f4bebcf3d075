"""environment.yml mirrors pyproject.toml's runtime dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge spells a few packages differently from PyPI.
CONDA_NAMES = {"duckdb": "python-duckdb", "ortools": "ortools-python"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_every_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {CONDA_NAMES.get(_name(r), _name(r)) for r in project["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    missing = runtime - conda
    assert not missing, f"environment.yml lacks runtime packages {sorted(missing)}"
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    grouped = {CONDA_NAMES.get(_name(r), _name(r)) for g in groups.values() for r in g
               if isinstance(r, str)}
    extra = conda - runtime - grouped - {"python", "pip"}
    assert not extra, f"environment.yml lists packages pyproject does not: {sorted(extra)}"
    pip_part = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_part and pip_part[0]["pip"][-1] == "-e .", "environment.yml must end with pip: [-e .]"


def test_environment_yml_pins_the_same_python_floor():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.12"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.12" in env["dependencies"]


def test_runtime_versions_agree():
    """Where both files give a lower bound, it is the same bound."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d): d for d in env["dependencies"] if isinstance(d, str)}
    for req in project["dependencies"]:
        name = CONDA_NAMES.get(_name(req), _name(req))
        bound = re.search(r">=\s*([\w.]+)", req)
        if bound and name in conda:
            assert f">={bound.group(1)}" in conda[name], (req, conda[name])
