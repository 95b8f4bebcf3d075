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


@pytest.fixture(scope="session", autouse=True)
def _pseudonym_key_file(tmp_path_factory):
    """Tests never create or read the user's real pseudonym key (~/.config/insights): every
    run gets its own key file (inherited by report kernels through the environment)."""
    import os

    from insights import privacy

    old = {k: os.environ.get(k) for k in (privacy.ENV_KEY, privacy.ENV_KEY_FILE)}
    os.environ.pop(privacy.ENV_KEY, None)
    os.environ[privacy.ENV_KEY_FILE] = str(tmp_path_factory.mktemp("key") / "pseudonym.key")
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
