"""Session fixtures; dataset helpers live in tests/shared.py (``from tests.shared import ...``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared import SHARED_DATASETS


@pytest.fixture(scope="session")
def shared_datasets_dir() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"{SHARED_DATASETS} not present")
    return SHARED_DATASETS
