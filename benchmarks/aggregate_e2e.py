"""``insights aggregate`` end to end on ten million judgments with repeats, from Parquet.

Usage (from the repository root)::

    python benchmarks/aggregate_e2e.py                    # 1e7 judgments, dawid-skene + default
    python benchmarks/aggregate_e2e.py --size 1e6 --methods dawid-skene

Data: the model of ``_synth.py`` (K = 5 classes, 5 judgments per item from distinct
annotators, 5000 annotators with good/mediocre/biased/spammer confusions and log-normal
activity) plus re-labels: ``--repeat-share`` (default 5 %) of the judgments are given again
by the same annotator on the same item, the answer drawn again from their confusion row (so
most re-labels repeat the first answer and some differ, as in real logs). One Parquet file
with string ids (``item_id``, ``annotator_id``, ``label``), rows shuffled, written once to
``data/bench/`` (ignored by git) and reused.

Each command runs in its own child process (``python -m insights aggregate LOG --method M
--out OUT.parquet``: load, validate, encode, fit, write); the script reports its wall
time, CPU time (user + system) and peak resident memory (``getrusage(RUSAGE_CHILDREN)`` measured
by a launcher process, so only that command counts) and, for this checkout, the command's
``-v`` lines: the time of each phase (read, validate and encode, fit, write). Timings on a
shared machine are noisy: compare the numbers of one run; CPU time suffers less from other
processes than wall time.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

K = 5
PER_ITEM = 5
N_ANNOTATORS = 5000
CHUNK_ITEMS = 500_000


def generate(n: int, out: Path, repeat_share: float = 0.05, seed: int = 0) -> Path:
    """Write about ``n * (1 + repeat_share)`` judgments to ``out`` (once)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from _synth import CLASS_PRIOR, _assign, _confusions

    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    rng = np.random.default_rng(seed)
    cm, _ = _confusions(rng, N_ANNOTATORS, K)
    weights = rng.lognormal(0.0, 1.0, size=N_ANNOTATORS)
    prior = np.asarray(CLASS_PRIOR[:K]) / np.sum(CLASS_PRIOR[:K])
    cum = np.cumsum(cm, axis=2)
    cum[:, :, -1] = 1.0
    n_items = n // PER_ITEM

    def ids(prefix, codes, width):
        s = pc.utf8_lpad(pa.array(codes).cast(pa.string()), width=width, padding="0")
        return pc.binary_join_element_wise(prefix, s, "")

    writer = None
    for start in range(0, n_items, CHUNK_ITEMS):
        m = min(CHUNK_ITEMS, n_items - start)
        true = rng.choice(K, size=m, p=prior)
        ann = _assign(rng, m, PER_ITEM, weights).ravel()
        item = np.repeat(np.arange(start, start + m, dtype=np.int64), PER_ITEM)
        t = np.repeat(true, PER_ITEM)
        again = rng.random(len(item)) < repeat_share            # re-labels
        item = np.concatenate([item, item[again]])
        ann = np.concatenate([ann, ann[again]])
        t = np.concatenate([t, t[again]])
        label = (rng.random(len(item))[:, None] >= cum[ann, t]).sum(axis=1)
        order = rng.permutation(len(item))
        table = pa.table({"item_id": ids("i", item[order], 10),
                          "annotator_id": ids("w", ann[order], 4),
                          "label": pc.binary_join_element_wise(
                              "c", pa.array(label[order]).cast(pa.string()), "")})
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
    writer.close()
    tmp.rename(out)
    return out


def child(argv: list[str]) -> None:
    """Launcher: run ``argv``, print its wall time and peak RSS as JSON."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                      "peak_mb": peak, "status": proc.returncode,
                      "stdout": proc.stdout[-2000:], "stderr": proc.stderr[-2000:]}))


def measure(log: Path, method: str | None, out: Path, src: Path | None = None) -> dict:
    """Run the command with ``src`` first on the path (default: this checkout's src/, with
    ``-v``: each phase's time on stderr)."""
    import os

    cmd = [sys.executable, "-m", "insights", "aggregate", str(log), "--out", str(out)]
    if method:
        cmd += ["--method", method]
    if src is None:
        cmd += ["-v"]
    env = {**os.environ, "PYTHONPATH": str(src or ROOT / "src")}
    env_cmd = [sys.executable, __file__, "--child", json.dumps(cmd)]
    res = subprocess.run(env_cmd, capture_output=True, text=True, cwd=ROOT, check=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _row(label: str, rows: int, r: dict) -> None:
    print(f"| {label} | {rows:,} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
          f"{r['peak_mb'] / 1024:.2f} | {r['status']} |", flush=True)
    if r["status"] != 0:
        print("    " + " ".join(r["stderr"].split())[-400:], flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=1e7, help="judgments before re-labels")
    ap.add_argument("--repeat-share", type=float, default=0.05)
    ap.add_argument("--methods", default="dawid-skene,default",
                    help="comma list of --method values ('default': no --method)")
    ap.add_argument("--data-dir", default=str(ROOT / "data" / "bench"))
    ap.add_argument("--baseline", help="another checkout's src/ (e.g. /work/main/src): also "
                    "time it and this checkout on a log without re-labels (which the baseline "
                    "may refuse), --method dawid-skene, for a ratio in the same run")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    n = int(args.size)
    log = Path(args.data_dir) / f"labels_{n}_rep{args.repeat_share:g}.parquet"
    t0 = time.perf_counter()
    generate(n, log, args.repeat_share)
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(log).metadata.num_rows
    print(f"log: {log} ({rows:,} judgments, {log.stat().st_size / 2**20:.0f} MiB; ready in "
          f"{time.perf_counter() - t0:.1f} s)")
    print(f"machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}")
    print()
    print("| command | judgments | wall time (s) | CPU time (s) | peak RSS (GB) | status |")
    print("|---|---:|---:|---:|---:|---|")
    for method in args.methods.split(","):
        m = None if method == "default" else method
        out = Path(args.data_dir) / f"aggregate_{method}.parquet"
        r = measure(log, m, out)
        label = f"`aggregate --method {m}`" if m else "`aggregate` (default method)"
        _row(label + f", {args.repeat_share:.0%} re-labels", rows, r)
        if r["status"] == 0:
            for line in r["stderr"].splitlines():
                print(f"    stderr: {line}")
    if args.baseline:
        plain = Path(args.data_dir) / f"labels_{n}_rep0.parquet"
        generate(n, plain, 0.0)
        plain_rows = pq.ParquetFile(plain).metadata.num_rows
        out = Path(args.data_dir) / "aggregate_plain.parquet"
        ours = measure(plain, "dawid-skene", out)
        base = measure(plain, "dawid-skene", out, src=Path(args.baseline))
        _row("`aggregate --method dawid-skene`, no re-labels, this checkout", plain_rows, ours)
        _row(f"same, baseline {args.baseline}", plain_rows, base)
        if ours["status"] == 0 and base["status"] == 0:
            print(f"\nbaseline / this checkout: wall time x{base['wall_s'] / ours['wall_s']:.2f}, "
                  f"CPU time x{base['cpu_s'] / ours['cpu_s']:.2f}, "
                  f"peak RSS x{base['peak_mb'] / ours['peak_mb']:.2f} (same run)")


if __name__ == "__main__":
    main()
