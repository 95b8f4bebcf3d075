"""Time the whole default report run: every market of the default simulated scenario.

    python benchmarks/report_run.py [--jobs N] [--out DIR]

Prints one line per market (seconds, wall and per market) and the total. The simulated data is
generated once into data/simulated/default-0/ (not timed; the first line says how long it took).
Target (issue 3): at most 10 s per market on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from insights.report import markets, render
from insights.report.params import load_params

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    args = ap.parse_args()
    t = time.perf_counter()
    markets.resolve_data(load_params(REPO / "params", "DE"), REPO)
    print(f"data ready in {time.perf_counter() - t:.1f} s (generated once, then reused)")
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="insights-bench-"))
    run = render.run_reports(params_dir=REPO / "params", out_dir=out, jobs=args.jobs,
                             progress=False)
    n = len(run.results)
    cores = render.usable_cores()
    print(f"{'market':<8}{'status':<8}{'seconds':>9}{'judgments':>12}")
    for m, r in run.results.items():
        judg = r.summary.get("scale", {}).get("judgments", 0)
        print(f"{m:<8}{r.status:<8}{r.seconds:>9.1f}{judg:>12,}")
    print(f"total {run.seconds:.1f} s wall for {n} markets on {cores} core(s): "
          f"{run.seconds / n:.1f} s per market (target <= 10 s per market on 2 cores)")
    print(f"reports: {run.index_path}")


if __name__ == "__main__":
    main()
