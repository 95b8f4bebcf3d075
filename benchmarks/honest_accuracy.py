"""The report's estimated accuracy of final labels against gold it never saw.

For every shared dataset with gold (``../shared/datasets``): 10 % of the gold items are given
to the model, 90 % are kept back. The report's estimate
(:func:`insights.report.accuracy.estimate_accuracy`: Dawid-Skene confidence calibrated on the
given gold by cross-fitting) is compared with the accuracy of the final labels on the kept-back
gold, and with the number the report used to show (the mean uncalibrated posterior).

    PYTHONPATH=src python benchmarks/honest_accuracy.py [--splits 5] [--out FILE.csv]

The first split (seed 0) is the one ``tests/report/test_accuracy.py`` checks; further splits
give the mean absolute error and the coverage of the 95 % interval.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from insights import data as _data  # noqa: E402
from insights.report.accuracy import estimate_accuracy  # noqa: E402
from insights.report.fitting import fit_model  # noqa: E402
from tests.shared import load_shared, shared_dataset_names  # noqa: E402


def split_gold(gold: pd.DataFrame, given: float, seed: int):
    g = gold.drop_duplicates("item_id").reset_index(drop=True)
    mask = np.random.default_rng(seed).random(len(g)) < given
    return g[mask].reset_index(drop=True), g[~mask].reset_index(drop=True)


def evaluate(name: str, *, given: float = 0.1, seed: int = 0, method: str = "auto"
             ) -> dict:
    """One dataset, one split: the estimate and the kept-back accuracy."""
    labels, gold = load_shared(name)
    labels = labels[["item_id", "annotator_id", "label"]]
    gold = gold[gold["item_id"].isin(labels["item_id"])]
    shown, kept = split_gold(gold, given, seed)
    classes = sorted(set(labels["label"]) | set(gold["label"]))
    ds = _data.Dataset(labels=labels, gold=shown, label_set=classes)
    post = fit_model(ds, method)
    est = estimate_accuracy(ds, method, posterior=post, seed=seed)
    pos = pd.Index(post.enc.item_ids.astype(str)).get_indexer(kept["item_id"].astype(str))
    final = post.enc.classes[post.labels[pos]].astype(str)
    kept_acc = float((final == kept["label"].astype(str).to_numpy()).mean())
    return {"dataset": name, "seed": seed, "gold_given": len(shown), "gold_kept": len(kept),
            "old_headline": est.raw, "estimate": est.estimate, "lower": est.lower,
            "upper": est.upper, "kept_back_accuracy": kept_acc,
            "error": est.estimate - kept_acc,
            "covered": bool(est.lower <= kept_acc <= est.upper), "chosen": post.method}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--out", default="")
    ap.add_argument("--method", default="auto", help="aggregation model (the report's default: auto)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    rows = [evaluate(n, seed=s, method=args.method) for n in shared_dataset_names() for s in range(args.splits)]
    df = pd.DataFrame(rows)
    first = df[df["seed"] == 0].set_index("dataset")
    est = df[df["estimate"].notna()]
    print(f"method: {args.method}; chosen on the first split: "
          + ", ".join(f"{r.dataset} {r.chosen}" for r in df[df["seed"] == 0].itertuples()))
    agg = est.groupby("dataset").agg(mean_abs_error=("error", lambda e: e.abs().mean()),
                                     coverage=("covered", "mean"), splits=("seed", "size"))
    table = first[["gold_given", "old_headline", "estimate", "lower", "upper",
                   "kept_back_accuracy", "error"]].join(agg)
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731
    print("| dataset | gold given | old headline | estimate (95% interval) | kept-back "
          "accuracy | error (points) | mean abs. error, coverage over "
          f"{args.splits} splits |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in table.iterrows():
        if np.isnan(r.estimate):
            print(f"| {name} | {int(r.gold_given)} | {pct(r.old_headline)} | not estimated (< 30 "
                  f"gold) | {pct(r.kept_back_accuracy)} | – | – |")
            continue
        print(f"| {name} | {int(r.gold_given)} | {pct(r.old_headline)} | {pct(r.estimate)} "
              f"({pct(r.lower)} to {pct(r.upper)}) | {pct(r.kept_back_accuracy)} | "
              f"{100 * r.error:+.1f} | {100 * r.mean_abs_error:.1f}, "
              f"{r.coverage:.0%} |")
    if args.out:
        df.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
