"""Benchmark of insights.confidence.HierarchicalDawidSkene: NUTS and EM, time and quality.

Runs on simulated operations with known truth (``insights.confidence.simulate_operation``,
K=3, 2 markets x 3 teams, log-normal annotator volumes, 8% spammers, 5% gold) and prints one
table: wall time, ESS per second of the variance components (NUTS), accuracy and ECE of item
confidence vs truth, next to Dawid-Skene on the same data. NUTS rows also fit the EM mode on
the same data and report how closely it matches the NUTS posterior (``em_*`` columns: share
of equal item labels, mean and max absolute difference of item posteriors, mean absolute
difference of annotator accuracies, and the annotator spread sigma, EM/NUTS).

    python benchmarks/confidence.py                 # NUTS 2k + 20k items, EM 1e5 + 1e6 judgments
    python benchmarks/confidence.py --quick         # NUTS 2k, EM 1e5
    python benchmarks/confidence.py --plan nuts:20000:600   # one row (mode:items:annotators)
    python benchmarks/confidence.py --shared        # EM on every shared dataset < 30k judgments

Targets on the 2-core machine (issue 4): 20k items NUTS < 5 min; 1e6 judgments EM < 60 s.
NUTS uses the estimator's defaults (chains=2, cores=2, draws scaled to the problem: 2500 at 2k
items, 1000 at 20k -- the ``draws`` column -- and tune max(600, 0.4 draws)); Numba's cache is
``insights.confidence.numba_cache_dir()``.
``cpu_s`` is the process CPU time of the fit (all threads): on a shared machine, compare it
with ``wall_s`` to see how much of the wall time was spent waiting for a core.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from insights.confidence import (
    HierarchicalDawidSkene,
    confidence_and_correct,
    expected_calibration_error,
    simulate_operation,
)
from insights.reliability import DawidSkene


def _quality(model, op) -> tuple[float, float]:
    conf, corr = confidence_and_correct(model.probas_, op.truth)
    return float(corr.mean()), expected_calibration_error(conf, corr)


def run(kind: str, n_items: int, n_annotators: int, seed: int = 0) -> dict:
    op = simulate_operation(n_items=n_items, n_annotators=n_annotators, seed=seed)
    n_j = len(op.labels)
    t = time.perf_counter()
    ds = DawidSkene().fit(op.labels, gold=op.gold)
    t_ds = time.perf_counter() - t
    acc_ds, ece_ds = _quality(ds, op)
    t = time.perf_counter()
    c = time.process_time()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m = HierarchicalDawidSkene(inference=kind).fit(op.labels, gold=op.gold,
                                                       annotators=op.annotators)
    wall = time.perf_counter() - t
    cpu = time.process_time() - c
    acc, ece = _quality(m, op)
    row = {"mode": kind, "items": n_items, "judgments": n_j, "annotators": n_annotators,
           "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
           "sampler_s": round(m.sampling_time_, 1),
           "accuracy": round(acc, 4), "ece": round(ece, 4),
           "ds_accuracy": round(acc_ds, 4), "ds_ece": round(ece_ds, 4),
           "ds_s": round(t_ds, 2), "warnings": len(w)}
    if kind == "nuts":
        d = m.diagnostics_
        sig = d.loc[d.index.str.startswith("sigma_"), "ess_bulk"]
        row.update({"draws": m.draws_, "tune": m.tune_, "min_ess_sigma": round(float(sig.min())),
                    "ess_per_s": round(float(sig.min()) / m.sampling_time_, 2),
                    "max_rhat": round(float(d["r_hat"].max()), 4),
                    "max_rhat_var": d["r_hat"].idxmax(),
                    "divergences": m.n_divergences_})
        row.update(_em_vs_nuts(m, op))
    return row


def _em_vs_nuts(nuts: HierarchicalDawidSkene, op) -> dict:
    """How closely the EM mode matches the NUTS posterior on the same data: item labels,
    item posteriors, annotator accuracies and the annotator spread."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = HierarchicalDawidSkene(inference="em").fit(op.labels, gold=op.gold,
                                                         annotators=op.annotators)
    dp = (em.probas_ - nuts.probas_).abs().to_numpy()
    acc_e = em.annotator_accuracy_["accuracy"]
    acc_n = nuts.annotator_accuracy_["accuracy"]
    vc_e, vc_n = em.variance_components_["sigma"], nuts.variance_components_["sigma"]
    return {"em_label_agree": round(float((em.labels_ == nuts.labels_).mean()), 4),
            "em_mean_abs_dp": round(float(dp.mean()), 4),
            "em_max_abs_dp": round(float(dp.max()), 3),
            "em_ann_acc_mad": round(float((acc_e - acc_n).abs().mean()), 4),
            "sigma_annotator_em_nuts": f"{vc_e['annotator']:.2f}/{vc_n['annotator']:.2f}"}


def shared(max_judgments: int = 30_000, repeat: int = 3) -> pd.DataFrame:
    """The EM mode on every shared real dataset below ``max_judgments`` (no team/market,
    no gold given): judgments, classes, annotators, best-of-``repeat`` wall seconds of the
    whole fit (EM, draws, summaries), CPU seconds, EM steps, accuracy against gold."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from tests.shared import load_shared, shared_dataset_names

    rows = []
    for name in shared_dataset_names(with_gold=False):
        labels, gold = load_shared(name)
        if len(labels) >= max_judgments:
            continue
        best = None
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = HierarchicalDawidSkene(inference="em").fit(labels)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            if best is None or wall < best[0]:
                best = (wall, cpu)
        acc = np.nan
        if gold is not None:
            g = gold.set_index("item_id")["label"]
            acc = float((m.labels_.reindex(g.index) == g).mean())
        rows.append({"dataset": name, "judgments": len(labels), "K": len(m.classes_),
                     "annotators": len(m.annotator_ids_), "wall_s": round(best[0], 3),
                     "cpu_s": round(best[1], 3), "em_steps": m.n_iter_,
                     "converged": m.converged_, "accuracy": round(acc, 4)})
        print(pd.DataFrame(rows).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--plan", help="comma-separated mode:items:annotators rows to run instead")
    ap.add_argument("--shared", action="store_true",
                    help="instead: the EM mode on every shared dataset below 30k judgments")
    ap.add_argument("--repeat", type=int, default=3, help="--shared: fits per dataset (best)")
    args = ap.parse_args(argv)
    if args.shared:
        return shared(repeat=args.repeat)
    # judgments ~ 4 per item: 1e5 judgments ~ 25k items, 1e6 ~ 250k items
    plan = [("nuts", 2000, 120), ("em", 25_000, 600)]
    if not args.quick:
        plan += [("nuts", 20_000, 600), ("em", 250_000, 3000)]
    if args.plan:
        plan = [(m, int(n), int(a)) for m, n, a in
                (row.split(":") for row in args.plan.split(","))]
    rows = []
    for kind, n_items, n_ann in plan:
        rows.append(run(kind, n_items, n_ann))
        print(pd.DataFrame(rows).to_string(index=False), flush=True)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
