"""Simulated operations shared by the operations tests (module-scoped, seeded)."""

from __future__ import annotations

import pytest

from insights.operations.simulate import simulate_operations
from insights.reliability import DawidSkene


def fitted(scenario: str, seed: int, **kw):
    """A simulated operation, its Dataset and Dawid-Skene posteriors."""
    sim = simulate_operations(scenario, seed=seed, **kw)
    ds = sim.dataset()
    return sim, ds, DawidSkene().fit(ds).probas_


@pytest.fixture(scope="session")
def small_ops():
    return fitted("small", 1)
