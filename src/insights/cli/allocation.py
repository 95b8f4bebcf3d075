"""Commands ``features``, ``policies``, ``allocate`` and ``abtest`` (:mod:`insights.allocation`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from insights.cli._common import CommandError, load_data, out_path


def _side_path(out: Path, suffix: str) -> Path:
    return out.with_name(f"{out.stem}_{suffix}{out.suffix}")


def cmd_features(args: argparse.Namespace) -> int:
    from insights import _io
    from insights.allocation import labeler_features

    out = out_path(args.out)
    ds = load_data(args.labels, gold=args.gold, annotators=args.annotators,
                   label_set=args.label_set)
    feats = labeler_features(ds, half_life_days=args.half_life_days,
                             recent_days=args.recent_days)
    _io.write_table(feats.annotators.reset_index(), out)
    by_class = Path(args.by_class) if args.by_class else _side_path(out, "by_class")
    by_queue = Path(args.by_queue) if args.by_queue else _side_path(out, "by_queue")
    _io.write_table(feats.by_class, by_class)
    _io.write_table(feats.by_queue, by_queue)
    print(f"{len(feats.annotators):,} annotators -> {out} (per class: {by_class}; "
          f"per queue: {by_queue})")
    return 0


def register(sub) -> None:
    """Add ``features``, ``policies``, ``allocate`` and ``abtest``."""
    s = sub.add_parser("features", help="labeler feature table (one row per annotator)")
    s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
    s.add_argument("--gold", help="gold file")
    s.add_argument("--annotators", help="annotators file (team, market, kind, cost_per_label, "
                                        "capacity_per_day)")
    s.add_argument("--label-set", help="comma-separated declared label set")
    s.add_argument("--half-life-days", type=float, default=14.0,
                   help="half-life of the recency-weighted accuracy (default 14)")
    s.add_argument("--recent-days", type=float, default=28.0,
                   help="window of the recent trend (default 28)")
    s.add_argument("--by-class", help="long form per annotator x class (default: "
                                      "OUT_by_class.<ext>)")
    s.add_argument("--by-queue", help="long form per annotator x queue (default: "
                                      "OUT_by_queue.<ext>)")
    s.add_argument("--out", required=True, help="output .csv or .parquet")
    s.set_defaults(func=cmd_features)


__all__ = ["register", "CommandError"]
