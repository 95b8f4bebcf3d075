"""False alarms of insights.trends.analyze on operations with nothing planted.

Simulates ``--runs`` operations of the ``null`` scenario (identical teams, same class mix
everywhere, flat volumes), runs the whole analysis at FDR level ``--alpha`` and prints:

* the share of runs with any finding (under the complete null, BH's FDR equals this
  family-wise rate, so it should be near or below alpha);
* the mean per-run false discovery proportion V / max(R, 1) (every finding is false here);
* the number of hypotheses per run and the findings that did appear.

Usage: ``python benchmarks/trends_false_alarms.py [--runs 20] [--alpha 0.05] [--method bh]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from insights import synthetic, trends


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--method", default="bh", choices=["bh", "by"])
    ap.add_argument("--scenario", default="null")
    args = ap.parse_args(argv)
    any_finding, fdp, n_tests, examples = [], [], [], []
    t0 = time.perf_counter()
    for seed in range(args.runs):
        sim = synthetic.simulate(args.scenario, seed=1000 + seed)
        rep = trends.analyze(sim.dataset(), alpha=args.alpha, method=args.method)
        r = len(rep.findings)
        any_finding.append(r > 0)
        fdp.append(r / max(r, 1))            # nothing planted: every finding is false
        n_tests.append(rep.n_tests)
        examples += [f"seed {1000 + seed}: {s}" for s in rep.findings["sentence"]]
        print(f"run {seed + 1:2d}/{args.runs}: {rep.n_tests} tests, {r} findings", flush=True)
    print()
    print(f"scenario={args.scenario} runs={args.runs} alpha={args.alpha} method={args.method} "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"hypotheses per run (mean)            {np.mean(n_tests):.0f}")
    print(f"share of runs with any finding       {np.mean(any_finding):.3f}")
    print(f"mean false discovery proportion      {np.mean(fdp):.3f}   (target <= {args.alpha})")
    for e in examples:
        print("  ", e)


if __name__ == "__main__":
    main()
