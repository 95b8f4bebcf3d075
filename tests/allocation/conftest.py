"""Fixtures of the allocation tests: one simulated operation (default scenario), built once."""

from __future__ import annotations

import pytest

from insights import synthetic


@pytest.fixture(scope="session")
def sim():
    return synthetic.simulate("default", seed=0)
