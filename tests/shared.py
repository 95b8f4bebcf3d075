"""The real datasets in ../shared/datasets, renamed to the data contract (skip when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("INSIGHTS_DATASETS", REPO.parent / "shared" / "datasets"))


def shared_dataset_names(with_gold: bool = True) -> list[str]:
    """Names of the shared crowd-label datasets present (with a gold.csv when ``with_gold``).

    The datasets of ``summary.csv`` (when it is there): folders that repeat another dataset's
    judgments with content for model training (``rodrigues_sentiment_text``) are not listed.
    """
    if not SHARED_DATASETS.is_dir():
        return []
    listed = None
    if (SHARED_DATASETS / "summary.csv").exists():
        listed = set(pd.read_csv(SHARED_DATASETS / "summary.csv")["name"].astype(str))
    return sorted(
        p.name for p in SHARED_DATASETS.iterdir()
        if (p / "labels.csv").exists() and (not with_gold or (p / "gold.csv").exists())
        and (listed is None or p.name in listed)
    )


def load_shared(name: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Labels and gold of a shared dataset, renamed to the package's data contract.

    Skips the calling test when ``../shared/datasets`` (or this dataset) is absent. Repeated
    (item, annotator) rows are kept, as the source has them.
    """
    folder = SHARED_DATASETS / name
    if not (folder / "labels.csv").exists():
        pytest.skip(f"shared dataset {name!r} not found under {SHARED_DATASETS}")
    labels = pd.read_csv(folder / "labels.csv", dtype=str, keep_default_na=False).rename(
        columns={"item": "item_id", "annotator": "annotator_id"})
    gold = None
    if (folder / "gold.csv").exists():
        gold = pd.read_csv(folder / "gold.csv", dtype=str, keep_default_na=False).rename(
            columns={"item": "item_id"})
    return labels, gold
