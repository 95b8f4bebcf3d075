"""Assignment at scale: min-cost flow (OR-Tools) on 100k items x 5k annotators x 10 eligible
annotators per item, 3 judgments per item; the 1M-item instance; a 20-point frontier; and the
MILP (>= 2 vendors per item) on a smaller instance.

Usage (from the repository root)::

    python benchmarks/allocation_assign.py                    # 1e5 items (+ frontier, MILP)
    python benchmarks/allocation_assign.py --sizes 1e5,1e6    # also the 1M-item instance

The instance: annotators in groups of 10 per market (5 000 annotators -> 500 markets at
1e5 items; 50 000 / 5 000 markets at 1e6 so every item still has 10 eligible), 3 vendors,
costs uniform in [0.02, 0.12], accuracies in [0.6, 0.98], capacity 60..120 per day (enough for
3 judgments per item with slack). Times are wall-clock on a shared 2-core machine (noisy): "build"
is ``build_problem`` from the two DataFrames (eligibility by a pandas merge on the market, the
arrays of the network), "solve" one min-cost flow at lambda = 0.5 including the network's
construction inside OR-Tools and the assignment table; ``total_cpu_s`` is the CPU time of both
(what the run costs on an idle core; wall time grows with the machine's load).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from insights.allocation.assignment import assign, assign_milp, build_problem, frontier


def instance(n_items: int, seed: int = 0, per_group: int = 10):
    rng = np.random.default_rng(seed)
    n_ann = max(5000, n_items // 20)
    groups = n_ann // per_group
    ann = pd.DataFrame({
        "annotator_id": [f"a{j}" for j in range(n_ann)],
        "team": [f"v{j % 3}" for j in range(n_ann)],
        "market": [f"m{j % groups}" for j in range(n_ann)],
        "cost_per_label": rng.uniform(0.02, 0.12, n_ann).round(4),
        "capacity_per_day": rng.integers(60, 121, n_ann),
        "quality": rng.uniform(0.6, 0.98, n_ann).round(4),
    })
    pend = pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items)],
                         "market": [f"m{i % groups}" for i in range(n_items)]})
    return pend, ann


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e5")
    ap.add_argument("--frontier-points", type=int, default=20)
    ap.add_argument("--milp-items", type=int, default=2000)
    args = ap.parse_args()
    rows = []
    for n in [int(float(s)) for s in args.sizes.split(",")]:
        pend, ann = instance(n)
        t0, c0 = time.perf_counter(), time.process_time()
        p = build_problem(pend, ann, redundancy=3)
        t1, c1 = time.perf_counter(), time.process_time()
        res = assign(p, lam=0.5)
        t2, c2 = time.perf_counter(), time.process_time()
        s = res.summary
        rows.append({"items": n, "annotators": len(ann), "arcs": len(p.arc_item),
                     "build_s": t1 - t0, "solve_s": t2 - t1, "total_s": t2 - t0,
                     "build_cpu_s": c1 - c0, "total_cpu_s": c2 - c0,
                     "judgments": s["judgments"], "unassigned": s["unassigned"],
                     "mean_quality": s["mean_quality"], "cost_per_item": s["cost_per_item"]})
        print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False), flush=True)
        if n == 100_000:
            t = time.perf_counter()
            f = frontier(p, n_points=args.frontier_points)
            print(f"frontier of {len(f)} points on {n:,} items: {time.perf_counter() - t:.1f} s")
            print(f[["lambda", "cost_per_item", "mean_quality", "days_to_finish"]]
                  .round(4).to_string(index=False))
    rng = np.random.default_rng(1)
    n_ann = args.milp_items // 10
    ann = pd.DataFrame({"annotator_id": [f"a{j}" for j in range(n_ann)],
                        "team": [f"v{j % 3}" for j in range(n_ann)],
                        "market": [f"m{j % (n_ann // 10)}" for j in range(n_ann)],
                        "cost_per_label": rng.uniform(0.02, 0.12, n_ann).round(4),
                        "capacity_per_day": rng.integers(40, 61, n_ann),
                        "quality": rng.uniform(0.6, 0.98, n_ann).round(4)})
    pend = pd.DataFrame({"item_id": [f"i{i}" for i in range(args.milp_items)],
                         "market": [f"m{i % (n_ann // 10)}" for i in range(args.milp_items)]})
    p = build_problem(pend, ann, redundancy=3)
    t = time.perf_counter()
    flow = assign(p, lam=0.5)
    t_flow = time.perf_counter() - t
    t = time.perf_counter()
    milp = assign_milp(p, lam=0.5, min_vendors=2)
    t_milp = time.perf_counter() - t
    print(f"\nMILP (>= 2 vendors per item) on {len(pend):,} items x {len(ann):,} annotators "
          f"({len(p.arc_item):,} arcs): {t_milp:.2f} s vs flow {t_flow:.2f} s "
          f"(ratio {t_milp / t_flow:.1f}x); cost per item {milp.summary['cost_per_item']:.4f} "
          f"vs {flow.summary['cost_per_item']:.4f} without the constraint")
    print("\n" + pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
