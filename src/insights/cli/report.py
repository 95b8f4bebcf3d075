"""Command ``report``: per-market HTML reports and the index.

Exit status: 0 when every market completed; 1 when any failed (the one-line reason names
them; each failed page shows its error and ``<out>/<M>/run.log`` has the traceback), when the
output folder is locked by another run, or for bad parameters; 128 + the signal number when
SIGINT/SIGTERM stopped the run (workers and kernels stopped, temporary files removed).
"""

from __future__ import annotations

import argparse
import logging
import sys

from insights.cli._common import CommandError


def cmd_report(args: argparse.Namespace) -> int:
    from insights.report import render, runs

    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    runs.configure_logging(level)
    try:
        run = render.run_reports(
            markets=args.market or None, params_dir=args.params, out_dir=args.out,
            since=args.since, until=args.until, jobs=args.jobs, cell_timeout=args.timeout,
            progress=False if args.quiet else None,
        )
    except runs.RunLocked as exc:
        raise CommandError(str(exc)) from None
    except runs.OutsideOutput as exc:
        raise CommandError(f"refused: {exc}") from None
    except runs.RunInterrupted as exc:
        print(f"insights report: interrupted by {exc}; workers and kernels stopped, "
              f"temporary files removed", file=sys.stderr)
        return 128 + exc.signum
    if run.failed:
        raise CommandError(
            f"{len(run.failed)} of {len(run.results)} market report(s) failed: "
            f"{', '.join(run.failed)} (each page shows its error, <out>/<market>/run.log has "
            f"the details; index: {run.index_path})")
    return 0


def register(sub) -> None:
    """Add ``report``."""
    s = sub.add_parser(
        "report", help="render per-market HTML reports and the index",
        description="Render one HTML report per market (notebooks/market_report.ipynb run by "
                    "papermill) and OUT/index.html. Markets run in parallel; one market's "
                    "failure never stops the others (exit status 1 names the failed ones).")
    s.add_argument("--market", action="append", metavar="M",
                   help="market to render (repeatable; default: every market in the data and "
                        "every params/<M>.yaml; a log without a market column is one market)")
    s.add_argument("--params", default="params", metavar="DIR",
                   help="params directory with defaults.yaml and <M>.yaml (default: params)")
    s.add_argument("--out", default="reports", metavar="DIR",
                   help="output directory, locked during the run (default: reports)")
    s.add_argument("--since", metavar="DATE",
                   help="period start, inclusive, ISO date (default: from params)")
    s.add_argument("--until", metavar="DATE",
                   help="period end, exclusive, ISO date (default: from params)")
    s.add_argument("--jobs", type=int, metavar="N",
                   help="markets rendered in parallel (default and maximum: usable cores)")
    s.add_argument("--timeout", type=float, default=600, metavar="SECONDS",
                   help="seconds one notebook cell may run before its market fails "
                        "(default: 600)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true",
                   help="only warnings and errors; no progress bar")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="debug logging (timestamped, on stderr)")
    s.set_defaults(func=cmd_report)
