"""Command ``report``: per-market HTML reports and the index."""

from __future__ import annotations

import argparse

from insights.cli._common import CommandError


def cmd_report(args: argparse.Namespace) -> int:
    from insights import reporting

    run = reporting.run_reports(
        markets=args.market or None, params_dir=args.params, out_dir=args.out,
        since=args.since, until=args.until, jobs=args.jobs,
    )
    if run.failed:
        raise CommandError(
            f"{len(run.failed)} market report(s) failed: {', '.join(run.failed)} "
            f"(their HTML shows the error; index: {run.index_path})")
    return 0


def register(sub) -> None:
    """Add ``report``."""
    s = sub.add_parser("report", help="render per-market HTML reports and the index")
    s.add_argument("--market", action="append", help="market to render (repeatable; "
                   "default: every market with a params file)")
    s.add_argument("--params", default="params", help="params directory (default: params)")
    s.add_argument("--out", default="reports", help="output directory (default: reports)")
    s.add_argument("--since", help="period start, inclusive (default: from params)")
    s.add_argument("--until", help="period end, exclusive (default: from params)")
    s.add_argument("--jobs", type=int, help="parallel markets (default: number of cores)")
    s.set_defaults(func=cmd_report)
