"""Command line: ``insights simulate | validate | aggregate | annotators | trends | report``.

The interface is stable (DESIGN.md): scheduled jobs rely on it. Exit status 0 on success;
otherwise non-zero with a one-line reason on stderr (1: the data or a run failed, 2: usage).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from insights import __version__

if TYPE_CHECKING:
    import pandas as pd


class CommandError(Exception):
    """A failure to report on stderr as one line (exit status 1)."""


def _load(path: str, gold: str | None = None, annotators: str | None = None,
          label_set: str | None = None):
    from insights import data

    return data.load(
        path, gold=gold, annotators=annotators,
        label_set=label_set.split(",") if label_set else None,
        label_set_origin="--label-set",
    )


def _out_path(path: str) -> Path:
    out = Path(path)
    if out.suffix not in (".csv", ".parquet", ".pq"):
        raise CommandError(f"--out {path}: expected a .csv or .parquet file name")
    return out


def aggregate_table(model) -> pd.DataFrame:
    """``item_id, label, confidence, p_<class>...`` from a fitted aggregator's ``probas_``."""
    import pandas as pd

    probas = model.probas_
    table = pd.DataFrame({
        "item_id": probas.index.to_numpy(),
        "label": model.labels_.reindex(probas.index).to_numpy(),
        "confidence": probas.to_numpy().max(axis=1),
    })
    for cls in probas.columns:
        table[f"p_{cls}"] = probas[cls].to_numpy()
    return table


def cmd_simulate(args: argparse.Namespace) -> int:
    from insights import synthetic

    sim = synthetic.simulate(args.scenario, seed=args.seed)
    written = sim.write(args.out)
    print(f"wrote {len(sim.labels):,} judgments on {sim.labels['item_id'].nunique():,} items "
          f"({args.scenario!r}, seed {args.seed}): {len(written)} files in {args.out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = _load(args.data, label_set=args.label_set)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    lab = ds.labels
    print(f"ok: {len(lab):,} judgments, {lab['item_id'].nunique():,} items, "
          f"{lab['annotator_id'].nunique():,} annotators, labels {ds.label_set}")
    for name in ("gold", "annotators", "items"):
        table = getattr(ds, name)
        if table is not None:
            print(f"ok: {name}: {len(table):,} rows")
    print(f"fingerprint: sha256:{ds.fingerprint}")
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    from insights import _io, reliability

    out = _out_path(args.out)
    ds = _load(args.labels, gold=args.gold, label_set=args.label_set)
    method = args.method or reliability.RECOMMENDED
    model = reliability.make_aggregator(method).fit(ds)  # a Dataset brings gold and teams
    table = aggregate_table(model)
    _io.write_table(table, out)
    print(f"{method}: {len(table):,} items -> {out}")
    return 0


def cmd_annotators(args: argparse.Namespace) -> int:
    from insights import _io, quality, reliability

    out = _out_path(args.out)
    ds = _load(args.labels, gold=args.gold, annotators=args.annotators,
               label_set=args.label_set)
    method = args.method or reliability.RECOMMENDED
    model = reliability.make_aggregator(method).fit(ds)
    table = quality.annotator_quality(ds.encode(), model, annotators=ds.annotator_table())
    _io.write_table(table.reset_index(), out)
    print(f"{len(table):,} annotators ({method}) -> {out}")
    return 0


def cmd_trends(args: argparse.Namespace) -> int:
    from insights import _io, trends

    out = _out_path(args.out)
    ds = _load(args.labels, gold=args.gold, annotators=args.annotators,
               label_set=args.label_set)
    if ds.gold is None:
        raise CommandError("trends need gold answers (--gold or gold.* in the directory): "
                           "accuracy trends are measured against gold")
    result = trends.analyze(ds, alpha=args.q, method=args.fdr)
    table = result.tests if args.all else result.findings
    _io.write_table(table.drop(columns=["examples"], errors="ignore"), out)
    print(f"{len(result.findings):,} finding(s) among {result.n_tests:,} tests "
          f"({args.fdr.upper()} q <= {args.q}) -> {out}")
    for sentence in result.findings.get("sentence", [])[:10]:
        print(f"  - {sentence}")
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="insights",
        description="Quality, confidence and trends for content-labeling operations.",
    )
    p.add_argument("--version", action="version", version=f"insights {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("simulate", help="write a simulated operation (labels, gold, ... + truth)")
    s.add_argument("--scenario", default="default", help="scenario name (default: default)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True, help="output directory")
    s.set_defaults(func=cmd_simulate)

    s = sub.add_parser("validate", help="check a dataset against the data contract")
    s.add_argument("data", metavar="DATA", help="a labels file or a directory of tables")
    s.add_argument("--label-set", help="comma-separated declared label set")
    s.set_defaults(func=cmd_validate)

    methods = "majority, wawa, dawid-skene, one-coin, glad, mace, hierarchical"
    s = sub.add_parser("aggregate", help="infer each item's label with confidence")
    s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
    s.add_argument("--gold", help="gold file (clamped during inference)")
    s.add_argument("--method", help=f"one of {methods} (default: the recommended one)")
    s.add_argument("--label-set", help="comma-separated declared label set")
    s.add_argument("--out", required=True, help="output .csv or .parquet")
    s.set_defaults(func=cmd_aggregate)

    s = sub.add_parser("annotators", help="per-annotator reliability and quality")
    s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
    s.add_argument("--gold", help="gold file")
    s.add_argument("--annotators", help="annotators file (team, market, kind)")
    s.add_argument("--method", help=f"aggregator for estimated quality: {methods}")
    s.add_argument("--label-set", help="comma-separated declared label set")
    s.add_argument("--out", required=True, help="output .csv or .parquet")
    s.set_defaults(func=cmd_annotators)

    s = sub.add_parser("trends", help="trend, change and knowledge-gap findings with FDR control")
    s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
    s.add_argument("--gold", help="gold file")
    s.add_argument("--annotators", help="annotators file (team, market, kind)")
    s.add_argument("--label-set", help="comma-separated declared label set")
    s.add_argument("--q", type=float, default=0.05, help="false discovery rate (default 0.05)")
    s.add_argument("--fdr", choices=["bh", "by"], default="bh",
                   help="Benjamini-Hochberg (default) or Benjamini-Yekutieli")
    s.add_argument("--all", action="store_true", help="write every test, not only findings")
    s.add_argument("--out", required=True, help="output .csv or .parquet")
    s.set_defaults(func=cmd_trends)

    s = sub.add_parser("report", help="render per-market HTML reports and the index")
    s.add_argument("--market", action="append", help="market to render (repeatable; "
                   "default: every market with a params file)")
    s.add_argument("--params", default="params", help="params directory (default: params)")
    s.add_argument("--out", default="reports", help="output directory (default: reports)")
    s.add_argument("--since", help="period start, inclusive (default: from params)")
    s.add_argument("--until", help="period end, exclusive (default: from params)")
    s.add_argument("--jobs", type=int, help="parallel markets (default: number of cores)")
    s.set_defaults(func=cmd_report)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``insights`` command; returns the exit status."""
    from insights.data import SchemaError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (SchemaError, CommandError, FileNotFoundError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        print(f"insights {args.command}: error: {reason}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
