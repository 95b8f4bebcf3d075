"""Commands ``calibration``, ``arbitration``, ``confusions``, ``onboarding`` and ``impact``
(BPO operations, :mod:`insights.operations`)."""

from __future__ import annotations

import argparse

from insights.cli._common import CommandError, load_data, out_path

CALIBRATION_TABLES = ("annotators", "teams", "sessions", "items", "classes", "trends")
ARBITRATION_TABLES = ("queue", "teams", "labels", "time")
ONBOARDING_TABLES = ("fits", "curves", "annotators")


def _load(args):
    return load_data(args.labels, gold=args.gold, annotators=args.annotators,
                     label_set=args.label_set)


def _posteriors(ds, method: str | None):
    from insights import reliability

    return reliability.make_aggregator(method).fit(ds).probas_


def _write(table, out, what: str) -> None:
    from insights import _io

    _io.write_table(table, out)
    print(f"{len(table):,} {what} -> {out}")


def cmd_calibration(args: argparse.Namespace) -> int:
    from insights.operations import calibration as cal

    out = out_path(args.out)
    ds = _load(args)
    j = cal.calibration_judgments(ds)
    if len(j) == 0:
        raise CommandError("no calibration sessions: the gold needs rows with source = "
                           "'calibration' (and a 'session' column or 'decided_at')")
    classes = ds.label_set
    if args.table in ("annotators", "teams", "trends"):
        by = "team" if args.table == "teams" or args.by == "team" else "annotator"
        table = cal.calibration_scores(j, by, classes, seed=args.seed)
        if args.table == "trends":
            table = cal.calibration_trend(table)
    elif args.table == "sessions":
        table = cal.session_agreement(j, classes, seed=args.seed)
    elif args.table == "items":
        table = cal.disagreement_items(j, top=args.top)
    else:
        table = cal.disagreement_classes(j)
    _write(table, out, f"rows ({args.table}, {j['session'].nunique()} sessions)")
    return 0


def cmd_arbitration(args: argparse.Namespace) -> int:
    from insights.operations import arbitration as arb

    out = out_path(args.out)
    ds = _load(args)
    if args.table == "queue":
        table = arb.arbitration_queue(ds, _posteriors(ds, args.method), top=args.top)
        _write(table, out, "items in the arbitration queue")
        return 0
    j = arb.arbitration_judgments(ds)
    if len(j) == 0:
        raise CommandError("no arbitration outcomes: the gold needs rows with source = "
                           "'arbitration'")
    if args.table == "time":
        table = arb.time_to_decision(j, by="team")
        if len(table) == 0:
            raise CommandError("time to decision needs 'labeled_at' in labels and "
                               "'decided_at' in gold")
    else:
        table = arb.overturn_rates(j, "team" if args.table == "teams" else "label")
    _write(table, out, f"rows ({args.table})")
    return 0


def cmd_confusions(args: argparse.Namespace) -> int:
    from insights.operations.confusions import confusion_tests

    out = out_path(args.out)
    ds = _load(args)
    table = confusion_tests(ds, _posteriors(ds, args.method), alpha=args.q)
    found = table[table["finding"] != ""]
    _write(table if args.all else found, out,
           f"rows ({len(found)} finding(s) among {len(table):,} tests, BH q <= {args.q})")
    for sentence in found["sentence"].head(10):
        print(f"  - {sentence}")
    return 0


def cmd_onboarding(args: argparse.Namespace) -> int:
    from insights.operations import onboarding as ob

    out = out_path(args.out)
    ds = _load(args)
    j = ob.onboarding_judgments(ds, _posteriors(ds, args.method))
    if args.table == "fits":
        fits = ob.ramp_fits(j, target=args.target, n_boot=args.n_boot, seed=args.seed)
        if len(fits) == 0:
            raise CommandError("no new team: every team's first judgment is within one week "
                               "of the data's first judgment")
        behind = ob.behind_the_curve(j, fits)
        table = fits.merge(behind, on="team", how="left")
        what = f"new teams (target accuracy {args.target:g})"
    else:
        level = "team" if args.table == "curves" else "annotator"
        table = ob.learning_curves(j, level, by=args.by, bin_size=args.bin_size)
        what = f"rows ({level} learning curves by {args.by})"
    _write(table, out, what)
    return 0


def cmd_impact(args: argparse.Namespace) -> int:
    from insights.operations.impact import impact_analysis

    out = out_path(args.out)
    ds = _load(args)
    try:
        table = impact_analysis(ds, args.event, name=args.name, weeks=args.weeks)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"--event {args.event}: {exc}") from None
    sig = table[table["q"] <= 0.05]
    _write(table, out, f"rows ({len(sig)} with q <= 0.05)")
    return 0


def register(sub) -> None:
    """Add ``calibration``, ``arbitration``, ``confusions``, ``onboarding`` and ``impact``."""

    def common(s, method=False):
        s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
        s.add_argument("--gold", help="gold file (source: benchmark, calibration, arbitration)")
        s.add_argument("--annotators", help="annotators file (team, market, kind)")
        s.add_argument("--label-set", help="comma-separated declared label set")
        if method:
            s.add_argument("--method", help="aggregator for the consensus posteriors "
                                            "(default: the recommended one)")
        s.add_argument("--out", required=True, help="output .csv or .parquet")

    s = sub.add_parser("calibration", help="calibration sessions: agreement with the expert "
                                           "and each other, disagreement, trends")
    common(s)
    s.add_argument("--table", choices=CALIBRATION_TABLES, default="annotators",
                   help="which table to write (default: annotators, per session)")
    s.add_argument("--by", choices=["annotator", "team"], default="annotator",
                   help="entity of --table trends (default: annotator)")
    s.add_argument("--top", type=int, default=20, help="items in --table items (default 20)")
    s.add_argument("--seed", type=int, default=0, help="bootstrap seed of kappa intervals")
    s.set_defaults(func=cmd_calibration)

    s = sub.add_parser("arbitration", help="arbitration queue, overturn rates, time to decision")
    common(s, method=True)
    s.add_argument("--table", choices=ARBITRATION_TABLES, default="queue",
                   help="queue (default), overturn rates by teams or labels, or time")
    s.add_argument("--top", type=int, default=50, help="length of the queue (default 50)")
    s.set_defaults(func=cmd_arbitration)

    s = sub.add_parser("confusions", help="systemic (policy) vs team-specific confusions")
    common(s, method=True)
    s.add_argument("--q", type=float, default=0.05, help="false discovery rate (default 0.05)")
    s.add_argument("--all", action="store_true", help="write every test, not only findings")
    s.set_defaults(func=cmd_confusions)

    s = sub.add_parser("onboarding", help="new teams' ramp-up and time to proficiency")
    common(s, method=True)
    s.add_argument("--table", choices=ONBOARDING_TABLES, default="fits",
                   help="fits (default: one row per new team), curves (teams) or annotators")
    s.add_argument("--target", type=float, default=0.85, help="accuracy target (default 0.85)")
    s.add_argument("--by", choices=["weeks", "judgments"], default="weeks",
                   help="x axis of learning curves (default weeks)")
    s.add_argument("--bin-size", type=int, default=50,
                   help="judgments per bin with --by judgments (default 50)")
    s.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates (default 200)")
    s.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    s.set_defaults(func=cmd_onboarding)

    s = sub.add_parser("impact", help="before/after an event, difference-in-differences")
    common(s)
    s.add_argument("--event", required=True, metavar="DATE", help="when the change happened")
    s.add_argument("--name", default="event", help="the event's name, copied to every row")
    s.add_argument("--weeks", type=float, help="only judgments within this many weeks")
    s.set_defaults(func=cmd_impact)
