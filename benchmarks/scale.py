"""Dawid-Skene at scale: the streaming (DuckDB + chunked EM) path and the Spark local path.

Usage (from the repository root)::

    python benchmarks/scale.py                            # streaming at 1e7, Spark at 1e6
    python benchmarks/scale.py --sizes 1e7,3e7,1e8 --spark-size 1e6 --iters 5
    python benchmarks/scale.py --in-memory                # also DawidSkene in memory

Data: the model of ``_synth.py`` (K = 5 classes, 5 judgments per item from distinct
annotators, 5000 annotators with good/mediocre/biased/spammer confusions and log-normal
activity), generated item chunk by item chunk with numpy and written with pyarrow as several
Parquet files (string ids, rows shuffled within a file), so generation never holds the whole
dataset. Cached in ``--data-dir``.

Every stage runs in its own child process, which reports its wall time and peak resident
memory (``getrusage(RUSAGE_SELF).ru_maxrss``; DuckDB's buffers are in-process, so they are
counted):

* ``encode``: :func:`insights.scale.encode_parquet` (DuckDB ``memory_limit`` ``--duckdb-mem``);
* ``stream``: :class:`insights.scale.StreamingDawidSkene` on the encoded directory with
  ``max_iter=--iters`` (the timing per EM pass is what scales; a full fit is about
  ``n_iter`` passes: run with a large ``--iters`` to see it), plus the start pass and the
  posterior-writing pass;
* ``memory``: :class:`insights.reliability.DawidSkene` on the same data read into pandas
  (``--in-memory``), for comparison;
* ``spark``: :class:`insights.scale.SparkDawidSkene` in ``local[2]`` on the Parquet files.

Prints a markdown table (one row per size and path) for the README.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

K = 5
PER_ITEM = 5
N_ANNOTATORS = 5000
ROWS_PER_FILE = 5_000_000


def generate(n: int, out: Path, seed: int = 0) -> Path:
    """Write ``n`` simulated judgments as Parquet files under ``out`` (once)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from _synth import CLASS_PRIOR, _assign, _confusions

    if (out / "_SUCCESS").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    cm, _ = _confusions(rng, N_ANNOTATORS, K)
    weights = rng.lognormal(0.0, 1.0, size=N_ANNOTATORS)
    prior = np.asarray(CLASS_PRIOR[:K]) / np.sum(CLASS_PRIOR[:K])
    cum = np.cumsum(cm, axis=2)
    cum[:, :, -1] = 1.0
    n_items = n // PER_ITEM
    items_per_file = ROWS_PER_FILE // PER_ITEM
    for f, start in enumerate(range(0, n_items, items_per_file)):
        m = min(items_per_file, n_items - start)
        true = rng.choice(K, size=m, p=prior)
        ann = _assign(rng, m, PER_ITEM, weights).ravel()
        item = np.repeat(np.arange(start, start + m, dtype=np.int64), PER_ITEM)
        u = rng.random(len(item))
        label = (u[:, None] >= cum[ann, np.repeat(true, PER_ITEM)]).sum(axis=1)
        order = rng.permutation(len(item))
        item, ann, label = item[order], ann[order], label[order]

        def ids(prefix, codes, width):
            s = pc.utf8_lpad(pa.array(codes).cast(pa.string()), width=width, padding="0")
            return pc.binary_join_element_wise(prefix, s, "")

        table = pa.table({"item_id": ids("i", item, 10), "annotator_id": ids("w", ann, 4),
                          "label": pc.binary_join_element_wise("c", pa.array(label).cast(
                              pa.string()), "")})
        pq.write_table(table, out / f"part-{f:04d}.parquet")
        del table, item, ann, label, u
    (out / "_SUCCESS").write_text(str(n))
    return out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _descendants_peak_mb() -> float:
    """Sum of the peak RSS (``VmHWM``) of this process's live descendants (the Spark JVM and
    its Python workers): an upper bound on their joint peak."""
    parent: dict[int, int] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
                parent[int(p.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    todo, found = [os.getpid()], []
    while todo:
        pid = todo.pop()
        kids = [c for c, pp in parent.items() if pp == pid]
        found += kids
        todo += kids
    total = 0.0
    for pid in found:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def stage(args: argparse.Namespace) -> dict:
    """Run one stage in this (child) process; return its measurements."""
    import warnings

    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    if args.stage == "gen":
        generate(args.n, Path(args.data))
        return {"gen_s": time.perf_counter() - t0, "peak_mb": _peak_mb()}
    if args.stage == "encode":
        from insights.scale import encode_parquet

        enc = encode_parquet(args.data, args.enc, memory_limit=args.duckdb_mem, threads=2)
        return {"encode_s": time.perf_counter() - t0, "peak_mb": _peak_mb(),
                "n_items": enc.n_items, "n_annotators": enc.n_annotators,
                "n_judgments": enc.n_judgments}
    if args.stage == "stream":
        from insights.scale import StreamingDawidSkene

        m = StreamingDawidSkene(max_iter=args.iters, chunk_rows=args.chunk_rows).fit(args.enc)
        it = m.timings_["iter_s"]
        return {"fit_s": time.perf_counter() - t0, "start_pass_s": it[0],
                "iter_s": float(np.median(it[1:])), "write_s": m.timings_["write_s"],
                "n_iter": m.n_iter_, "converged": m.converged_, "peak_mb": _peak_mb()}
    if args.stage == "memory":
        import pandas as pd

        from insights.reliability import DawidSkene

        labels = pd.read_parquet(args.data)
        t1 = time.perf_counter()
        m = DawidSkene(max_iter=args.iters).fit(labels)
        return {"read_s": t1 - t0, "fit_s": time.perf_counter() - t1, "n_iter": m.n_iter_,
                "converged": m.converged_, "peak_mb": _peak_mb()}
    if args.stage == "spark":
        from insights.scale.spark import SparkDawidSkene, local_session

        spark = local_session("insights-bench", conf={"spark.driver.memory": "4g",
                                                      "spark.sql.shuffle.partitions": "8"})
        t_session = time.perf_counter() - t0
        df = spark.read.parquet(str(Path(args.data) / "*.parquet"))
        t1 = time.perf_counter()
        m = SparkDawidSkene(max_iter=args.iters).fit(df)
        fit_s = time.perf_counter() - t1
        it = m.timings_["iter_s"]
        jvm_mb = _descendants_peak_mb()
        spark.stop()
        return {"session_s": t_session, "fit_s": fit_s, "encode_s": m.timings_["encode_s"],
                "start_pass_s": it[0], "iter_s": float(np.median(it[1:])),
                "n_iter": m.n_iter_, "peak_mb": _peak_mb(), "jvm_workers_peak_mb": jvm_mb}
    raise ValueError(args.stage)


def child(argv: list[str]) -> dict:
    """Run ``stage`` in a fresh interpreter; return its JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--stage", *argv]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e7", help="streaming sizes (judgments), e.g. 1e7,3e7")
    ap.add_argument("--spark-size", default="1e6", help="Spark size ('0' to skip)")
    ap.add_argument("--iters", type=int, default=5, help="EM iterations timed per fit")
    ap.add_argument("--chunk-rows", type=int, default=2_000_000)
    ap.add_argument("--duckdb-mem", default="2GB")
    ap.add_argument("--in-memory", action="store_true", help="also time in-memory DawidSkene")
    ap.add_argument("--data-dir", default="/tmp/insights-scale-bench")
    ap.add_argument("--keep", action="store_true", help="keep encoded directories")
    # child-process mode
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--enc", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        print(json.dumps(stage(args)))
        return

    import duckdb
    import pyarrow

    root = Path(args.data_dir)
    print(f"# machine: {platform.platform()}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.2f}; python {platform.python_version()}, duckdb "
          f"{duckdb.__version__}, pyarrow {pyarrow.__version__}")
    print(f"# K={K}, {PER_ITEM} judgments/item, {N_ANNOTATORS} annotators; "
          f"{args.iters} EM iterations timed; chunk_rows={args.chunk_rows:,}; "
          f"DuckDB memory_limit={args.duckdb_mem}, 2 threads\n")
    rows = []
    common = ["--iters", str(args.iters), "--chunk-rows", str(args.chunk_rows),
              "--duckdb-mem", args.duckdb_mem]
    for size in [int(float(s)) for s in args.sizes.split(",") if s]:
        data = root / f"n{size}"
        g = child(["gen", "--n", str(size), "--data", str(data)])
        enc_dir = root / f"n{size}_enc"
        e = child(["encode", "--data", str(data), "--enc", str(enc_dir), *common])
        s = child(["stream", "--enc", str(enc_dir), *common])
        row = {"path": "streaming", "n": size, "gen_s": g["gen_s"], "parquet_mb": _du_mb(data),
               "encoded_mb": _du_mb(enc_dir), **{f"enc_{k}": v for k, v in e.items()},
               **s}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        if args.in_memory:
            m = child(["memory", "--data", str(data), *common])
            rows.append({"path": "in-memory DawidSkene", "n": size, **m})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        if not args.keep:
            shutil.rmtree(enc_dir, ignore_errors=True)
    spark_n = int(float(args.spark_size))
    if spark_n:
        data = root / f"n{spark_n}"
        child(["gen", "--n", str(spark_n), "--data", str(data)])
        sp = child(["spark", "--data", str(data), *common])
        rows.append({"path": "Spark local[2]", "n": spark_n, **sp})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    print("| path | judgments | encode s | start pass s | s / EM iteration | posterior "
          "write s | peak RSS MB | notes |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        if r["path"] == "streaming":
            print(f"| streaming | {r['n']:.0e} | {r['enc_encode_s']:.1f} | "
                  f"{r['start_pass_s']:.1f} | {r['iter_s']:.2f} | {r['write_s']:.1f} | "
                  f"encode {r['enc_peak_mb']:.0f} / EM {r['peak_mb']:.0f} | "
                  f"{r['enc_n_items']:,} items; Parquet {r['parquet_mb']:.0f} MB, encoded "
                  f"{r['encoded_mb']:.0f} MB |")
        elif r["path"].startswith("in-memory"):
            print(f"| in-memory | {r['n']:.0e} | read {r['read_s']:.1f} | | "
                  f"{r['fit_s'] / r['n_iter']:.2f} (fit {r['fit_s']:.1f} incl. encoding) | | "
                  f"{r['peak_mb']:.0f} | DawidSkene, {r['n_iter']} iterations |")
        else:
            print(f"| Spark local[2] | {r['n']:.0e} | {r['encode_s']:.1f} | "
                  f"{r['start_pass_s']:.1f} | {r['iter_s']:.2f} | (lazy) | driver "
                  f"{r['peak_mb']:.0f} + JVM/workers {r['jvm_workers_peak_mb']:.0f} | "
                  f"session start {r['session_s']:.1f} s; encode = dictionaries, start pass "
                  "includes the shuffle by item |")


if __name__ == "__main__":
    main()
