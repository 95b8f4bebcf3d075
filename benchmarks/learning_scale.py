"""``insights learn`` at scale: wall time and peak memory on items with text.

Builds an operation with known truth (``--items`` items with a 5-word text whose words hint
at the true class with probability ``--text-signal``, ``--judgments`` judgments from a pool of
annotators with confusion matrices: good, mediocre and spammers), writes it as CSV, then runs
``insights learn LABELS --items ITEMS --text-column text --out DIR`` in a child process and
reports its wall time and peak resident memory (``ru_maxrss`` of the child), plus the
accuracy against the truth of the out-of-fold model and of the consensus with and without it.
There is no peer: no crowd-learning package handles a judgment log of this size (crowd-kit
aggregates but trains no content model). The machine is shared: times are noisy, and the
header prints the load average.

Usage::

    python benchmarks/learning_scale.py [--items 100000] [--judgments 1000000]
                                        [--method raykar] [--seed 0] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CLASSES = ("ok", "spam", "hate", "adult", "violence")


def make_data(n_items: int, n_judgments: int, signal: float, seed: int, out: Path) -> pd.Series:
    rng = np.random.default_rng(seed)
    K = len(CLASSES)
    true = rng.choice(K, n_items, p=[0.6, 0.15, 0.1, 0.08, 0.07])
    banks = np.array([[f"{c}{j}" for j in range(30)] for c in CLASSES])
    neutral = np.array([f"w{j}" for j in range(400)])
    hint = rng.random((n_items, 5)) < signal
    words = np.where(hint, banks[true[:, None], rng.integers(0, 30, (n_items, 5))],
                     neutral[rng.integers(0, 400, (n_items, 5))])
    text = pd.Series([" ".join(w) for w in words])
    ids = np.array([f"i{i:07d}" for i in range(n_items)], dtype=object)
    n_ann = max(50, int(2 * np.sqrt(n_judgments)))
    acc = np.clip(rng.normal(0.8, 0.08, n_ann), 0.4, 0.98)
    conf = np.empty((n_ann, K, K))
    for j in range(n_ann):
        conf[j] = (1 - acc[j]) / (K - 1)
        np.fill_diagonal(conf[j], acc[j])
    spam = rng.random(n_ann) < 0.1
    conf[spam] = 1.0 / K
    weight = np.exp(rng.normal(0, 1.0, n_ann))
    j_item = rng.integers(0, n_items, n_judgments)
    j_ann = rng.choice(n_ann, n_judgments, p=weight / weight.sum())
    cum = conf[j_ann, true[j_item]].cumsum(axis=1)
    given = (rng.random(n_judgments)[:, None] > cum).sum(axis=1).clip(0, K - 1)
    labels = pd.DataFrame({"item_id": ids[j_item], "annotator_id": [f"a{j}" for j in j_ann],
                           "label": np.asarray(CLASSES, dtype=object)[given]})
    labels.drop_duplicates(["item_id", "annotator_id"]).to_csv(out / "labels.csv", index=False)
    pd.DataFrame({"item_id": ids, "text": text}).to_csv(out / "items.csv", index=False)
    return pd.Series(np.asarray(CLASSES, dtype=object)[true], index=ids)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=float, default=1e5)
    ap.add_argument("--judgments", type=float, default=1e6)
    ap.add_argument("--text-signal", type=float, default=0.3)
    ap.add_argument("--method", default="raykar")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", help="keep the data and outputs here (default: a temp dir)")
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="insights-learn-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}")
    t = time.perf_counter()
    truth = make_data(int(args.items), int(args.judgments), args.text_signal, args.seed, work)
    n_lab = sum(1 for _ in open(work / "labels.csv")) - 1
    print(f"data: {len(truth):,} items, {n_lab:,} judgments ({time.perf_counter() - t:.1f} s)")
    cmd = [sys.executable, "-m", "insights", "learn", str(work / "labels.csv"), "--items",
           str(work / "items.csv"), "--text-column", "text", "--method", args.method,
           "--out", str(work / "out")]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime
    cons = pd.read_csv(work / "out" / "consensus.csv", dtype={"item_id": str})
    oof = pd.read_csv(work / "out" / "oof.csv", dtype={"item_id": str})
    tr = truth.reindex(cons["item_id"]).to_numpy()
    res = {
        "method": args.method, "items": len(truth), "judgments": n_lab,
        "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
        "peak_rss_mb": round(peak_mb),
        "consensus_accuracy": round(100 * (cons["label"].to_numpy() == tr).mean(), 2),
        "crowd_only_accuracy": round(100 * (cons["crowd_label"].to_numpy() == tr).mean(), 2),
        "oof_model_accuracy": round(100 * (oof["label"].to_numpy()
                                           == truth.reindex(oof["item_id"]).to_numpy()).mean(),
                                    2),
        "load_average_after": os.getloadavg(),
    }
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
