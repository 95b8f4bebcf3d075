"""Replay of every redundancy policy on 1e6 judgments (simulated, with truth), and the
headline table on the shared real datasets.

Usage (from the repository root)::

    python benchmarks/allocation_replay.py                # 1e6 simulated judgments + real sets
    python benchmarks/allocation_replay.py --judgments 2e5 --no-real

The simulated log: the default scenario's items (all markets), 20 fresh judgments per item drawn
from the annotators' true confusion matrices (:func:`insights.allocation.draw_judgments`), as
many items as needed for ``--judgments``; scored against the true labels. Times are wall-clock
and CPU on a shared machine (noisy). The real-data table is the one in the README (10 stream
orders per dataset, reference ``fixed:5`` Dawid-Skene).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from insights import synthetic
from insights.allocation import draw_judgments, replay

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POLICIES = ["fixed:3", "agree:2:3", "margin:2:7", "posterior:0.99:1:10",
            "posterior:0.99:1:10:onecoin", "posterior:auto:1:10",
            "posterior:auto:1:10:budget=3", "posterior:auto:1:10:budget=3:skills=crossfit-gold",
            "kg:3"]
HEADLINE = ["margin:2:7", "posterior:auto:1:10", "posterior:auto:1:10:budget=3",
            "posterior:auto:1:10:budget=3:skills=crossfit-gold",
            "posterior:0.99:1:10:skills=full"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--judgments", type=float, default=1e6)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--no-real", action="store_true")
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    cols = ["policy", "labels_per_item", "accuracy", "accuracy_diff", "accuracy_diff_low",
            "accuracy_diff_high", "labels_saved", "labels_saved_low", "labels_saved_high",
            "mcnemar_p"]
    sim = synthetic.simulate("default", seed=0)
    per_item = 20
    n_items = int(args.judgments // per_item)
    reps = []
    while sum(len(r[0]) for r in reps) < args.judgments:
        s = len(reps)
        lab, truth = draw_judgments(sim, per_item, seed=s)
        lab["item_id"] = f"r{s}-" + lab["item_id"]
        truth["item_id"] = f"r{s}-" + truth["item_id"]
        reps.append((lab, truth))
    labels = pd.concat([r[0] for r in reps], ignore_index=True)
    gold = pd.concat([r[1] for r in reps], ignore_index=True)
    keep = gold["item_id"].iloc[:n_items]
    labels = labels[labels["item_id"].isin(set(keep))]
    gold = gold[gold["item_id"].isin(set(keep))]
    t, c = time.perf_counter(), time.process_time()
    res = replay(labels, gold, POLICIES, seeds=args.seeds)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"simulated: {len(labels):,} judgments, {len(gold):,} items, {len(POLICIES) + 1} "
          f"policies x {args.seeds} seeds: {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(res.table[cols].round(2).to_string(index=False), flush=True)
    if args.no_real:
        return
    from tests.shared import load_shared

    for name in ("sp_amt", "vldb_d_possent", "snow_rte", "snow_temp"):
        lab, g = load_shared(name)
        t = time.perf_counter()
        r = replay(lab, g, HEADLINE, seeds=10)
        print(f"\n{name} ({len(lab):,} judgments, {time.perf_counter() - t:.1f} s)")
        print(r.table[cols].round(2).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
