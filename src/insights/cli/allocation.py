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


DEFAULT_POLICIES = ("agree:2:3,margin:2:7,posterior:0.99:1:10,posterior:auto:1:10,"
                    "posterior:auto:1:10:budget=3,kg:3")


def _item_priors(path: str | None):
    if not path:
        return None
    import pandas as pd

    frame = pd.read_parquet(path) if path.endswith((".parquet", ".pq")) else pd.read_csv(path)
    if "item_id" not in frame.columns:
        raise CommandError(f"--item-priors {path}: expected a column 'item_id' and one "
                           f"probability column per class (p_<class> or <class>)")
    frame = frame.set_index(frame["item_id"].astype(str)).drop(columns=["item_id"])
    cols = [c for c in frame.columns if str(c).startswith("p_")]
    if cols:
        frame = frame[cols].rename(columns=lambda c: str(c)[2:])
    return frame.apply(pd.to_numeric, errors="raise")


def cmd_policies(args: argparse.Namespace) -> int:
    from insights import _io
    from insights.allocation.replay import replay

    out = out_path(args.out)
    specs = [p for p in args.policies.split(",") if p.strip()]
    if args.scenario:
        from insights import synthetic
        from insights.allocation.simulation import draw_judgments

        sim = synthetic.simulate(args.scenario, seed=args.seed)
        labels, gold = draw_judgments(sim, args.per_item, n_items=args.n_items, seed=args.seed)
        source = f"scenario {args.scenario!r} ({args.per_item} fresh judgments per item)"
    else:
        if not args.labels:
            raise CommandError("give LABELS (a log with many judgments per item) or --scenario")
        ds = load_data(args.labels, gold=args.gold, label_set=args.label_set)
        if ds.gold is None:
            raise CommandError("policies need gold answers (--gold or gold.* in the "
                               "directory): each policy is scored against gold")
        labels, gold = ds, None
        source = args.labels
    result = replay(labels, gold, specs, reference=args.reference, seeds=args.seeds,
                    folds=args.folds, item_priors=_item_priors(args.item_priors),
                    seed=args.seed)
    _io.write_table(result.table, out)
    print(f"{len(result.table)} policies replayed on {source} "
          f"({result.table['n_items'].iat[0]:,} gold items x {args.seeds} seeds) -> {out}")
    for row in result.table.itertuples():
        print(f"  {row.policy:40s} {row.labels_per_item:5.2f}/item  acc {row.accuracy:6.2f}%  "
              f"saved {row.labels_saved:6.1f}% [{row.labels_saved_low:.1f}, "
              f"{row.labels_saved_high:.1f}]")
    return 0


def _read(path: str, what: str):
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{what} {path}: no such file")
    if p.suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    return pd.read_csv(p, dtype={"item_id": str, "annotator_id": str})


def cmd_allocate(args: argparse.Namespace) -> int:
    from insights import _io
    from insights.allocation.assignment import (
        assign,
        assign_milp,
        build_problem,
        frontier,
        plot_frontier,
    )

    out = out_path(args.out)
    chosen = [x for x in (args.quality_target, args.budget, args.lam) if x is not None]
    if len(chosen) > 1:
        raise CommandError("give at most one of --quality-target, --budget, --lambda")
    pending = _read(args.pending, "PENDING")
    annotators = _read(args.annotators, "ANNOTATORS")
    features = history = None
    if args.labels:
        from insights.allocation import labeler_features

        ds = load_data(args.labels, gold=args.gold)
        features = labeler_features(ds, annotators=annotators).annotators.reset_index()
        history = ds.labels[["item_id", "annotator_id"]]
    caps = None
    if args.vendor_caps:
        caps = {}
        for part in args.vendor_caps.split(","):
            team, _, cap = part.partition("=")
            if not cap:
                raise CommandError(f"--vendor-caps {args.vendor_caps}: expected TEAM=CAP,...")
            caps[team.strip()] = int(cap)
    problem = build_problem(pending, annotators, features=features, history=history,
                            redundancy=args.redundancy, horizon_days=args.horizon_days,
                            vendor_caps=caps)
    if args.min_vendors > 1:
        lam = args.lam if args.lam is not None else 0.0
        if args.quality_target is not None or args.budget is not None:
            lam = assign(problem, quality_target=args.quality_target,
                         budget=args.budget).summary["lambda"]
        result = assign_milp(problem, lam, min_vendors=args.min_vendors)
    else:
        result = assign(problem, lam=args.lam, quality_target=args.quality_target,
                        budget=args.budget)
    _io.write_table(result.table, out)
    s = result.summary
    print(f"{s['judgments']:,} judgments on {s['items']:,} items ({s['unassigned']:,} could not "
          f"be assigned), cost {s['total_cost']:.2f} ({s['cost_per_item']:.4f}/item), mean "
          f"accuracy {100 * s['mean_quality']:.2f}%, lambda {s['lambda']:.4g}, "
          f"{s['days_to_finish']:.2f} days at capacity ({s['solver']}) -> {out}")
    if s.get("target_met") is False:
        print("warning: the target cannot be met; this is the closest assignment",
              file=__import__("sys").stderr)
    if args.frontier:
        table = frontier(problem, n_points=args.frontier_points,
                         progress=problem.n_items >= 10_000)
        _io.write_table(table, out_path(args.frontier))
        if args.frontier_plot:
            import matplotlib.pyplot as plt

            ax = plot_frontier(table, chosen=s)
            with _io.atomic_path(args.frontier_plot) as tmp:
                ax.figure.savefig(tmp, format=Path(args.frontier_plot).suffix.lstrip(".") or
                                  "png", dpi=120, bbox_inches="tight")
            plt.close(ax.figure)
        print(f"frontier of {len(table)} points -> {args.frontier}")
    return 0


def cmd_abtest(args: argparse.Namespace) -> int:
    from insights import _io
    from insights.allocation.experiments import ab_analysis, power_table

    out = out_path(args.out)
    ds = load_data(args.labels, gold=args.gold, label_set=args.label_set)
    table = ab_analysis(ds, args.arm_column, control=args.control,
                        confidence=args.confidence)
    _io.write_table(table, out)
    arms = table["arm"].nunique()
    print(f"{arms} arms of {args.arm_column!r} compared on {table['metric'].nunique()} "
          f"metrics -> {out}")
    for row in table.dropna(subset=["diff"]).itertuples():
        print(f"  {row.metric:30s} {row.arm} - {row.control}: {row.diff:+.3f} "
              f"[{row.diff_low:+.3f}, {row.diff_high:+.3f}] p={row.p_value:.3g}")
    acc = table[(table["metric"] == "accuracy_gold") & (table["arm"] == table["control"])]
    if len(acc) and args.power_diffs:
        p0 = float(acc["mean"].iat[0]) / 100
        diffs = [float(x) for x in args.power_diffs.split(",")]
        pw = power_table(min(p0, 0.999), diffs, alpha=1 - args.confidence, power=args.power)
        print(f"power {args.power:.0%} at alpha {1 - args.confidence:.2g} from the control's "
              f"gold accuracy {100 * p0:.1f}%:")
        for r in pw.itertuples():
            print(f"  +{100 * r.difference:.1f} points: {r.items_per_arm:,} gold items per arm")
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

    s = sub.add_parser("policies", help="replay redundancy policies against a reference")
    s.add_argument("labels", metavar="LABELS", nargs="?",
                   help="a labels file or a directory of tables (many judgments per item)")
    s.add_argument("--gold", help="gold file (used only to score)")
    s.add_argument("--label-set", help="comma-separated declared label set")
    s.add_argument("--policies", default=DEFAULT_POLICIES,
                   help=f"comma-separated policy specs (default: {DEFAULT_POLICIES})")
    s.add_argument("--reference", default="fixed:5", help="reference policy (default fixed:5, "
                                                          "Dawid-Skene on 5 judgments)")
    s.add_argument("--seeds", type=int, default=5, help="stream orders replayed (default 5)")
    s.add_argument("--folds", type=int, default=5, help="folds of the cross-fitted skills")
    s.add_argument("--item-priors", help="classifier probabilities per item (item_id, p_<class>)"
                                         " for the assisted policy")
    s.add_argument("--scenario", help="replay on the simulator instead: judgments drawn on "
                                      "demand from this scenario's truth")
    s.add_argument("--per-item", type=int, default=20, help="simulated judgments per item")
    s.add_argument("--n-items", type=int, help="simulated items (default: all)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True, help="output .csv or .parquet")
    s.set_defaults(func=cmd_policies)

    s = sub.add_parser("allocate", help="assign pending items to annotators (min-cost flow)")
    s.add_argument("pending", metavar="PENDING", help="pending items (item_id, market, queue)")
    s.add_argument("annotators", metavar="ANNOTATORS",
                   help="annotators (annotator_id, team, market, queues, cost_per_label, "
                        "capacity_per_day[, quality])")
    s.add_argument("--labels", help="label history: quality from the labeler features, and "
                                    "already-judged pairs excluded")
    s.add_argument("--gold", help="gold file for the history")
    s.add_argument("--redundancy", type=int, default=3, help="judgments per item (default 3)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--quality-target", type=float,
                   help="mean accuracy of the assigned judgments to reach (0-1)")
    g.add_argument("--budget", type=float, help="total cost not to exceed")
    g.add_argument("--lambda", dest="lam", type=float,
                   help="price of one expected correct judgment (default 0: cheapest)")
    s.add_argument("--min-vendors", type=int, default=1,
                   help="at least this many vendors per item (>1 solves a MILP with HiGHS)")
    s.add_argument("--vendor-caps", help="TEAM=CAP,... most judgments per vendor")
    s.add_argument("--horizon-days", type=float, default=1.0,
                   help="days of capacity available (default 1)")
    s.add_argument("--frontier", help="also write the quality-cost frontier table here")
    s.add_argument("--frontier-points", type=int, default=20)
    s.add_argument("--frontier-plot", help="and its plot (.png or .svg)")
    s.add_argument("--out", required=True, help="output .csv or .parquet (one row per judgment)")
    s.set_defaults(func=cmd_allocate)

    s = sub.add_parser("abtest", help="A/B analysis of the arms of a live experiment")
    s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
    s.add_argument("--arm-column", required=True, help="column naming each judgment's arm")
    s.add_argument("--gold", help="gold file (accuracy on gold audits)")
    s.add_argument("--control", help="control arm (default: the first in sorted order)")
    s.add_argument("--label-set", help="comma-separated declared label set")
    s.add_argument("--confidence", type=float, default=0.95)
    s.add_argument("--power", type=float, default=0.8, help="power of the sample-size lines")
    s.add_argument("--power-diffs", default="0.01,0.02,0.05",
                   help="accuracy differences for the sample-size lines (default "
                        "0.01,0.02,0.05; empty: none)")
    s.add_argument("--out", required=True, help="output .csv or .parquet")
    s.set_defaults(func=cmd_abtest)


__all__ = ["register", "CommandError"]
