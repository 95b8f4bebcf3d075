"""Commands ``simulate``, ``validate``, ``aggregate``, ``annotators`` and ``trends``."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from typing import TYPE_CHECKING

from insights.cli._common import (
    CommandError,
    add_data_options,
    configure_logging,
    load_args,
    out_path,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("insights.cli")


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
        ds = load_args(args, args.data)
    for w in caught:
        print(f"warning: {' '.join(str(w.message).split())}", file=sys.stderr)
    lab = ds.labels
    print(f"ok: {len(lab):,} judgments, {lab['item_id'].nunique():,} items, "
          f"{lab['annotator_id'].nunique():,} annotators, labels {ds.label_set}")
    st = ds.repeat_stats
    print(f"repeats: {st.repeats:,} repeated judgment(s) with a different answer on "
          f"{st.repeated_pairs:,} (item, annotator) pair(s) (--repeats {st.policy}"
          + (f": {st.dropped:,} dropped" if st.dropped else "") + f"); {st.duplicates:,} "
          f"identical duplicate(s) " + ("kept (--duplicates keep)" if st.duplicates_kept
                                        else "dropped"))
    for name in ("gold", "annotators", "items"):
        table = getattr(ds, name)
        if table is not None:
            print(f"ok: {name}: {len(table):,} rows")
    print(f"fingerprint: sha256:{ds.fingerprint}")
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    import importlib
    import time
    from concurrent.futures import ThreadPoolExecutor

    from insights import _io

    if args.verbose:
        configure_logging()
    out = out_path(args.out, inputs=(args.labels, args.gold))
    logger.debug("aggregate %s -> %s", args.labels, out)
    with ThreadPoolExecutor(1) as pool:
        # the models' imports (scikit-learn, SciPy: a second or two of Python) run while the
        # data loads, which is mostly Arrow and numpy work without the GIL
        models = pool.submit(importlib.import_module, "insights.reliability")
        ds = load_args(args, args.labels, gold=args.gold)
        reliability = models.result()
    method = args.method or reliability.RECOMMENDED
    params = {}
    if args.gold_sample == "class-skewed":
        if method != "auto":
            raise CommandError(f"--gold-sample class-skewed: only the auto method uses the gold "
                               f"to choose a model (got --method {method}); drop one of them")
        params["weight_gold"] = True
    t0 = time.perf_counter()
    model = reliability.make_aggregator(method, **params).fit(ds)  # a Dataset brings gold
    logger.debug("fitted %s in %.2f s", method, time.perf_counter() - t0)
    if getattr(model, "reason_", None):
        print(f"{method}: {model.reason_}", file=sys.stderr)
        method = model.chosen_
    table = aggregate_table(model)
    enc = ds.encode()
    gold_items = enc.item_ids[enc.has_gold]
    table["from_gold"] = table["item_id"].isin(gold_items).to_numpy()
    table["model"] = method  # the model that made the labels (auto's choice)
    t0 = time.perf_counter()
    _io.write_table(table, out)
    logger.debug("wrote %s: %s rows in %.2f s", out, f"{len(table):,}", time.perf_counter() - t0)
    n_gold = int(table["from_gold"].sum())
    print(f"{n_gold:,} of {len(table):,} items took their label from gold (from_gold column); "
          f"the other labels are inferred by {method}", file=sys.stderr)
    print(f"{method}: {len(table):,} items -> {out}")
    return 0


def cmd_annotators(args: argparse.Namespace) -> int:
    from insights import _io, quality, reliability

    out = out_path(args.out, inputs=(args.labels, args.gold, args.annotators))
    ds = load_args(args, args.labels, gold=args.gold, annotators=args.annotators)
    method = args.method or reliability.RECOMMENDED
    model = reliability.make_aggregator(method).fit(ds)
    table = quality.annotator_quality(ds.encode(), model, annotators=ds.annotator_table())
    _io.write_table(table.reset_index(), out)
    print(f"{len(table):,} annotators ({method}) -> {out}")
    return 0


def cmd_trends(args: argparse.Namespace) -> int:
    from insights import _io, trends

    if not 0.0 < args.q < 1.0:
        raise CommandError(f"--q {args.q}: expected a false discovery rate strictly between 0 "
                           f"and 1, e.g. 0.05")
    out = out_path(args.out, inputs=(args.labels, args.gold, args.annotators))
    ds = load_args(args, args.labels, gold=args.gold, annotators=args.annotators)
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


def register(sub) -> None:
    """Add ``simulate``, ``validate``, ``aggregate``, ``annotators`` and ``trends``."""

    s = sub.add_parser("simulate", help="write a simulated operation (labels, gold, ... + truth)")
    s.add_argument("--scenario", default="default", help="scenario name (default: default)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", required=True, help="output directory")
    s.set_defaults(func=cmd_simulate)

    s = sub.add_parser("validate", help="check a dataset against the data contract")
    s.add_argument("data", metavar="DATA", help="a labels file or a directory of tables")
    add_data_options(s)
    s.set_defaults(func=cmd_validate)

    methods = "auto, majority, wawa, dawid-skene, one-coin, glad, mace, ebcc, hierarchical"
    s = sub.add_parser("aggregate", help="infer each item's label with confidence")
    s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
    s.add_argument("--gold", help="gold file (clamped during inference)")
    s.add_argument("--gold-sample", choices=["random", "class-skewed"], default="random",
                   help="how the gold items were drawn from the log: class-skewed (e.g. audits "
                   "of a rare class) weights them to the log's estimated class mix when auto "
                   "chooses the model by gold accuracy (default: random)")
    s.add_argument("--method", help=f"one of {methods} (default: the recommended one)")
    add_data_options(s)
    s.add_argument("--out", required=True, help="output .csv or .parquet (item_id, label, "
                   "confidence, p_<class>..., from_gold)")
    s.add_argument("-v", "--verbose", action="store_true",
                   help="log each phase (read, validate, fit, write) with its time on stderr")
    s.set_defaults(func=cmd_aggregate)

    s = sub.add_parser("annotators", help="per-annotator reliability and quality")
    s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
    s.add_argument("--gold", help="gold file")
    s.add_argument("--annotators", help="annotators file (team, market, kind)")
    s.add_argument("--method", help=f"aggregator for estimated quality: {methods}")
    add_data_options(s)
    s.add_argument("--out", required=True, help="output .csv or .parquet")
    s.set_defaults(func=cmd_annotators)

    s = sub.add_parser("trends", help="trend, change and knowledge-gap findings with FDR control")
    s.add_argument("labels", metavar="LABELS", help="a labels file or a directory of tables")
    s.add_argument("--gold", help="gold file")
    s.add_argument("--annotators", help="annotators file (team, market, kind)")
    add_data_options(s)
    s.add_argument("--q", type=float, default=0.05, help="false discovery rate (default 0.05)")
    s.add_argument("--fdr", choices=["bh", "by"], default="bh",
                   help="Benjamini-Hochberg (default) or Benjamini-Yekutieli")
    s.add_argument("--all", action="store_true", help="write every test, not only findings")
    s.add_argument("--out", required=True, help="output .csv or .parquet")
    s.set_defaults(func=cmd_trends)

