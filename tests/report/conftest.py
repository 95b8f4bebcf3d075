"""Fixtures of the report tests: the planted operation and its report (built once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from insights.report.build import build_report
from insights.report.params import ReportParams
from tests.report.operation import write_operation


@pytest.fixture(scope="session")
def operation(tmp_path_factory) -> Path:
    return write_operation(tmp_path_factory.mktemp("op"))


def aa_params(operation: Path, **overrides) -> ReportParams:
    values = dict(market="AA", data_source=str(operation), since="2026-03-02",
                  until="2026-04-06", method="dawid-skene", min_gold=30, pseudonymize=False)
    values.update(overrides)
    return ReportParams(**values)


@pytest.fixture(scope="session")
def report(operation):
    return build_report(aa_params(operation))
