"""Every real public crowd-label log in ../shared/datasets through ``insights aggregate``.

Each folder is read from its OWN column names through the command line's mapping
(``--columns item_id=item,annotator_id=annotator`` where the folder says item/annotator),
with its repeated (item, annotator) pairs as the source has them (the default
``--repeats keep``), and aggregated by every method: exit status 0, one output row per
labeled item, no NaN, the gold items marked ``from_gold``. Skips cleanly when the datasets
are absent.
"""

from __future__ import annotations

import pandas as pd
import pytest

from insights.cli import main
from tests.shared import SHARED_DATASETS

METHODS = ("majority", "wawa", "dawid-skene", "one-coin", "glad", "mace", "hierarchical")
#: cf_weather (461 annotators, 1,720 judgments) takes the hierarchical EM ~35 s; the others
#: take under 4 s each.
SLOW = {("hierarchical", "cf_weather")}


def folders() -> list[str]:
    if not SHARED_DATASETS.is_dir():
        return []
    return sorted(p.name for p in SHARED_DATASETS.iterdir() if (p / "labels.csv").exists())


def cases():
    names = folders()
    if not names:
        return [pytest.param(None, None, marks=pytest.mark.skip(
            reason=f"shared datasets not found under {SHARED_DATASETS}"))]
    return [pytest.param(name, method, id=f"{name}-{method}",
                         marks=[pytest.mark.slow] if (method, name) in SLOW else [])
            for name in names for method in METHODS]


@pytest.fixture(scope="module")
def own_columns():
    """Per folder: its labels header, its --columns mapping, its items and gold items."""
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            folder = SHARED_DATASETS / name
            labels = pd.read_csv(folder / "labels.csv", dtype=str, keep_default_na=False)
            mapping = {"item_id": "item", "annotator_id": "annotator"}
            mapping = {k: v for k, v in mapping.items() if v in labels.columns}
            items = set(labels[mapping.get("item_id", "item_id")])
            gold_items: set[str] = set()
            if (folder / "gold.csv").exists():
                gold = pd.read_csv(folder / "gold.csv", dtype=str, keep_default_na=False)
                gold_items = set(gold[mapping.get("item_id", "item_id")]) & items
            cache[name] = (mapping, items, gold_items)
        return cache[name]

    return get


@pytest.mark.parametrize("name,method", cases())
def test_aggregate_every_real_log_with_every_method(name, method, own_columns, tmp_path,
                                                    capsys):
    mapping, items, gold_items = own_columns(name)
    out = tmp_path / "out.csv"
    args = ["aggregate", str(SHARED_DATASETS / name), "--method", method, "--out", str(out)]
    if mapping:
        args += ["--columns", ",".join(f"{k}={v}" for k, v in mapping.items())]
    status = main(args)
    err = capsys.readouterr().err
    assert status == 0, err
    table = pd.read_csv(out, dtype={"item_id": str, "label": str}, keep_default_na=False)
    assert len(table) == len(items) and set(table["item_id"]) == items
    numeric = [c for c in table.columns if c == "confidence" or c.startswith("p_")]
    assert not table[numeric].isna().any().any() and (table["label"] != "").all()
    assert set(table.loc[table["from_gold"], "item_id"]) == gold_items
    assert all(line.startswith("warning: ") or "took their label from gold" in line
               for line in err.strip().splitlines())
