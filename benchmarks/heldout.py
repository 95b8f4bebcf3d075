"""Held-out judgments on every shared real dataset: which model's annotators predict best.

For every dataset in ``../shared/datasets``: hold out 20 % of the judgments at random (three
splits, the same rows for every model), fit on the rest and report the mean log posterior
predictive probability of the held-out judgments
(:func:`insights.confidence.heldout_log_likelihood`; higher is better) -- the comparison of
annotation models without gold of Paun et al. (2018). The last column is the hierarchical
model's gain over DawidSkene per judgment.

    python benchmarks/heldout.py
    python benchmarks/heldout.py --splits 5 --datasets snow_rte,zhou_dog
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

import pandas as pd

from insights.confidence import HierarchicalDawidSkene, heldout_log_likelihood
from insights.reliability import DawidSkene, OneCoinDawidSkene

DATASETS = Path(os.environ.get("INSIGHTS_DATASETS",
                               Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", type=int, default=3)
    ap.add_argument("--datasets", help="comma-separated names (default: all with labels)")
    args = ap.parse_args(argv)
    if not DATASETS.is_dir():
        raise SystemExit(f"no shared datasets at {DATASETS}")
    names = (args.datasets.split(",") if args.datasets else
             sorted(p.name for p in DATASETS.iterdir() if (p / "labels.csv").exists()))
    models = {"OneCoin": OneCoinDawidSkene(), "DS": DawidSkene(),
              "hierarchical": HierarchicalDawidSkene()}
    rows = []
    for name in names:
        labels = pd.read_csv(DATASETS / name / "labels.csv", dtype=str,
                             keep_default_na=False).rename(
            columns={"item": "item_id", "annotator": "annotator_id"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = heldout_log_likelihood(models, labels, n_splits=args.splits)
        mean = res.groupby("model", sort=False)["mean_log_lik"].mean()
        row = {"dataset": name, "judgments": len(labels), **mean.round(4).to_dict()}
        row["gain_vs_DS"] = round(mean["hierarchical"] - mean["DS"], 4)
        rows.append(row)
        print(pd.DataFrame(rows).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
