"""False alarms of insights.trends.analyze on operations with nothing planted.

Simulates ``--runs`` operations of the ``null`` scenario (identical teams, same class mix
everywhere, flat volumes), runs the whole analysis at FDR level ``--alpha`` and prints:

* the p-value calibration per test family: the share of raw ``p < 0.05`` (and ``p < 0.01``)
  over every hypothesis of that family in every run. Under the null a valid test has a share
  at most the nominal level; a family above it has anti-conservative p-values, which no FDR
  procedure can repair;
* the share of runs with any finding (under the complete null, BH's FDR equals this
  family-wise rate, so it should be near or below alpha);
* the mean per-run false discovery proportion V / max(R, 1) (every finding is false here);
* the number of hypotheses per run and the findings that did appear.

Usage: ``python benchmarks/trends_false_alarms.py [--runs 20] [--alpha 0.05] [--method bh]
[--save DIR]`` (``--save`` writes every run's tests table to ``DIR/tests.parquet``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from insights import synthetic, trends


def family(tests: pd.DataFrame) -> pd.Series:
    """Test family of each row: ``kind:metric`` with the per-class shares pooled."""
    metric = tests["metric"].astype(str).str.replace(r"^share_.*", "share", regex=True)
    return tests["kind"].astype(str) + ":" + metric


def calibration(tests: pd.DataFrame) -> pd.DataFrame:
    """Per family (and per method within it): tests, share of p < 0.05 and p < 0.01, its
    binomial standard error, and the smallest p."""
    t = tests[np.isfinite(tests["p"])].assign(family=family)
    out = []
    for keys in (["family"], ["family", "method"]):
        g = t.groupby(keys, sort=True)["p"]
        c = pd.DataFrame({"n": g.size(), "p<0.05": g.apply(lambda p: np.mean(p < 0.05)),
                          "p<0.01": g.apply(lambda p: np.mean(p < 0.01)),
                          "min_p": g.min()}).reset_index()
        if "method" not in c:
            c["method"] = "(all)"
        out.append(c)
    c = pd.concat(out, ignore_index=True).sort_values(["family", "method"], kind="stable")
    c["se"] = np.sqrt(0.05 * 0.95 / c["n"])
    return c[["family", "method", "n", "p<0.05", "se", "p<0.01", "min_p"]]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--method", default="bh", choices=["bh", "by"])
    ap.add_argument("--scenario", default="null")
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--save", default=None, help="directory for tests.parquet")
    args = ap.parse_args(argv)
    any_finding, fdp, n_tests, examples, tables = [], [], [], [], []
    t0 = time.perf_counter()
    for run in range(args.runs):
        seed = args.first_seed + run
        sim = synthetic.simulate(args.scenario, seed=seed)
        rep = trends.analyze(sim.dataset(), alpha=args.alpha, method=args.method)
        r = len(rep.findings)
        any_finding.append(r > 0)
        fdp.append(r / max(r, 1))            # nothing planted: every finding is false
        n_tests.append(rep.n_tests)
        examples += [f"seed {seed}: {s}" for s in rep.findings["sentence"]]
        tables.append(rep.tests.drop(columns=["sentence"]).assign(seed=seed))
        print(f"run {run + 1:2d}/{args.runs}: {rep.n_tests} tests, {r} findings, "
              f"min p {np.nanmin(rep.tests['p']):.2g}", flush=True)
    tests = pd.concat(tables, ignore_index=True)
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        tests.to_parquet(Path(args.save) / "tests.parquet")
    print()
    print(f"scenario={args.scenario} runs={args.runs} alpha={args.alpha} method={args.method} "
          f"({time.perf_counter() - t0:.0f} s)")
    print("p-value calibration under the null (share of raw p below 0.05 / 0.01 per family;"
          " se = binomial sd of a valid 5% share):")
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        print(calibration(tests).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"hypotheses per run (mean)            {np.mean(n_tests):.0f}")
    print(f"share of runs with any finding       {np.mean(any_finding):.3f}")
    print(f"mean false discovery proportion      {np.mean(fdp):.3f}   (target <= {args.alpha})")
    for e in examples:
        print("  ", e)


if __name__ == "__main__":
    main()
