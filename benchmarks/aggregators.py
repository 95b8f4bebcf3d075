"""Speed and accuracy of our aggregators against crowd-kit's, on the same simulated data.

Usage (from the repository root, in an environment with crowd-kit, e.g. ``nox -s bench``)::

    python benchmarks/aggregators.py                       # 1e4 .. 1e7 judgments, all methods
    python benchmarks/aggregators.py --sizes 1e4,1e5 --methods DawidSkene,MajorityVote
    python benchmarks/aggregators.py --peer-timeout 120 --repeat 3 --out results.csv
    python benchmarks/aggregators.py --sizes "" --shapes 3e5:4:3:1000 --methods DawidSkene

For every size the data (K = 5 classes, 5 judgments per item, a pool of simulated annotators
with known confusion matrices, see ``_synth.py``) is simulated once per seed and cached as
Parquet. ``--shapes`` adds other shapes (``judgments:K:judgments per item:annotators``; by
default 300k judgments on 100k items by 1,000 annotators with K = 4, items >> annotators).
Every fit runs in its own child process that reads the Parquet file into a long pandas
DataFrame and then times ``DataFrame -> labels`` (so our time includes the integer encoding,
crowd-kit's its own pandas work). The child reports the accuracy against the true labels and
its peak resident memory (``getrusage(RUSAGE_SELF).ru_maxrss``: the DataFrame plus the fit,
nothing else). A crowd-kit fit that exceeds ``--peer-timeout`` seconds is stopped; the table
then shows ``> T s`` and the speed ratio as a lower bound.

Without crowd-kit the script prints our numbers only, with a note.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import os
import platform
import queue
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

METHODS = ("MajorityVote", "Wawa", "DawidSkene", "OneCoinDawidSkene", "GLAD", "MACE")
DEFAULT_SIZES = "1e4,1e5,1e6,1e7"
#: extra shapes ``judgments:K:judgments per item:annotators``; the default is the issue-12 shape
#: "items >> annotators" (300k judgments on 100k items by 1k annotators, K = 4)
DEFAULT_SHAPES = "3e5:4:3:1000"


@dataclass(frozen=True)
class Shape:
    """A simulated data set: judgments, classes, judgments per item, annotators (None: the
    default pool ``2 sqrt(n)``)."""

    n: int
    k: int = 5
    per_item: int = 5
    n_annotators: int | None = None

    @classmethod
    def parse(cls, spec: str) -> Shape:
        parts = [p for p in spec.split(":")]
        n = int(float(parts[0]))
        if len(parts) == 1:
            return cls(n)
        if len(parts) != 4:
            raise ValueError(f"shape {spec!r}: expected judgments:K:per_item:annotators")
        return cls(n, int(parts[1]), int(parts[2]), int(float(parts[3])))

    @property
    def default(self) -> bool:
        return (self.k, self.per_item, self.n_annotators) == (5, 5, None)

    def label(self) -> str:
        if self.default:
            return fmt_size(self.n)
        return (f"{fmt_size(self.n)} (K={self.k}, {fmt_size(self.n // self.per_item)} items, "
                f"{self.n_annotators:,} annotators)")


# --------------------------------------------------------------------------------------------
# settings shared by both sides
# --------------------------------------------------------------------------------------------
def our_params(method: str, max_iter: int, tol: float) -> dict:
    """Constructor arguments for our estimator (only those its signature accepts)."""
    from insights import reliability

    cls = getattr(reliability, method)
    wanted = {"max_iter": max_iter, "tol": tol}
    accepted = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in wanted.items() if k in accepted}


def peer_params(method: str, max_iter: int, tol: float) -> dict:
    """Constructor arguments for crowd-kit's estimator."""
    if method in ("MajorityVote", "Wawa"):
        return {}
    if method == "MACE":            # crowd-kit's MACE has no tolerance; keeps its 10 restarts
        return {"n_iter": max_iter}
    return {"n_iter": max_iter, "tol": tol}


# --------------------------------------------------------------------------------------------
# child process: read the data, fit, report JSON lines on stdout
# --------------------------------------------------------------------------------------------
def _emit(**kw) -> None:
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _maxrss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 / 1024 if sys.platform == "darwin" else r / 1024  # bytes on macOS, KiB else


def worker(args: argparse.Namespace) -> None:
    import warnings

    import pandas as pd

    warnings.simplefilter("ignore")
    labels = pd.read_parquet(args.labels)
    truth = pd.read_parquet(args.truth).set_index("item_id")["label"]
    if args.side == "peer":
        from crowdkit import aggregation as ck

        labels = labels.rename(columns={"item_id": "task", "annotator_id": "worker"})
        cls = getattr(ck, args.method)
        params = peer_params(args.method, args.max_iter, args.tol)

        def fit():
            model = cls(**params)
            pred = model.fit_predict(labels)
            hist = getattr(model, "loss_history_", None)
            return pred, (len(hist) if hist else None)
    else:
        from insights import reliability

        cls = getattr(reliability, args.method)
        params = our_params(args.method, args.max_iter, args.tol)

        def fit():
            model = cls(**params).fit(labels)
            return model.labels_, getattr(model, "n_iter_", None)

    _emit(event="loaded", rss_mb=_maxrss_mb(), params=params)
    for r in range(args.repeat):
        t0, c0 = time.perf_counter(), _cpu_seconds()
        pred, n_iter = fit()
        dt, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        pred = pd.Series(pred)
        pred.index = pred.index.astype(str)
        acc = float((pred.reindex(truth.index).astype(str) == truth.astype(str)).mean())
        del pred
        _emit(event="fit", seconds=dt, cpu_seconds=cpu, accuracy=acc, n_iter=n_iter,
              peak_mb=_maxrss_mb(), repeat=r)


# --------------------------------------------------------------------------------------------
# parent: run children with a time budget per fit
# --------------------------------------------------------------------------------------------
@dataclass
class Run:
    seconds: float | None = None          # best (minimum) fit time over completed repeats
    cpu_seconds: float | None = None      # CPU time (user + sys) of the best repeat
    timed_out: bool = False
    budget: float | None = None
    accuracy: float | None = None
    n_iter: int | None = None
    peak_mb: float | None = None
    data_mb: float | None = None
    params: dict = field(default_factory=dict)
    error: str | None = None


def run_child(python: str, side: str, method: str, lab: Path, truth: Path, ns: argparse.Namespace,
              budget: float) -> Run:
    cmd = [python, str(Path(__file__).resolve()), "_worker", "--side", side, "--method", method,
           "--labels", str(lab), "--truth", str(truth), "--repeat", str(ns.repeat),
           "--max-iter", str(ns.max_iter), "--tol", repr(ns.tol)]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    run = Run(budget=budget)
    times: list[tuple[float, float]] = []
    deadline = time.monotonic() + max(budget, 600.0)   # loading the data is not budgeted
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            proc.kill()
            proc.wait()
            if not times:
                run.timed_out = True
            break
        if line is None:
            break
        msg = json.loads(line)
        if msg["event"] == "loaded":
            run.data_mb, run.params = msg["rss_mb"], msg["params"]
        else:
            times.append((msg["seconds"], msg.get("cpu_seconds")))
            run.accuracy, run.n_iter, run.peak_mb = msg["accuracy"], msg["n_iter"], msg["peak_mb"]
        deadline = time.monotonic() + budget
    proc.wait()
    if times:
        run.seconds, run.cpu_seconds = min(times)
    elif not run.timed_out:
        err = proc.stderr.read().strip().splitlines()
        run.error = err[-1] if err else f"exit status {proc.returncode}"
    return run


def has_module(python: str, module: str) -> bool:
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def versions(python: str) -> dict:
    code = ("import json, importlib.metadata as m, platform\n"
            "out = {'python': platform.python_version()}\n"
            "for p in ['numpy', 'scipy', 'pandas', 'pyarrow', 'scikit-learn', 'crowd-kit',"
            " 'insights']:\n"
            "    try: out[p] = m.version(p)\n"
            "    except Exception: out[p] = None\n"
            "print(json.dumps(out))")
    res = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return json.loads(res.stdout) if res.returncode == 0 else {}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GB RAM, {platform.system()}"


def git_commit() -> str:
    res = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return res.stdout.strip() or "?"


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------
def fmt_size(n: int) -> str:
    e = len(str(n)) - 1
    return f"1e{e}" if n == 10**e else f"{n:,}"


def fmt_time(run: Run | None) -> str:
    if run is None:
        return "—"
    if run.timed_out:
        return f"> {run.budget:.0f}"
    if run.error:
        return "error"
    return f"{run.seconds:.3g}" if run.seconds < 100 else f"{run.seconds:.0f}"


def fmt_acc(run: Run | None) -> str:
    if run is None or run.accuracy is None:
        return "—"
    return f"{100 * run.accuracy:.2f}"


def fmt_ratio(ours: Run, peer: Run | None) -> str:
    if peer is None or not ours.seconds:
        return "—"
    if peer.timed_out:
        return f"> {peer.budget / ours.seconds:.0f}x"
    if peer.seconds is None:
        return "—"
    r = peer.seconds / ours.seconds
    return f"{r:.0f}x" if r >= 10 else f"{r:.1f}x"


def fmt_cpu_ratio(ours: Run, peer: Run | None) -> str:
    if peer is None or not ours.cpu_seconds or not peer.cpu_seconds:
        return "—"
    r = peer.cpu_seconds / ours.cpu_seconds
    return f"{r:.0f}x" if r >= 10 else f"{r:.1f}x"


def fmt_mem(run: Run) -> str:
    return "—" if run.peak_mb is None else f"{run.peak_mb:,.0f}"


HEADER = ("| judgments | method | accuracy ours (%) | accuracy crowd-kit (%) | fit ours (s) "
          "| fit crowd-kit (s) | crowd-kit / ours | peak memory ours (MB) | ratio of CPU time |")
RULE = "|---:|---|---:|---:|---:|---:|---:|---:|---:|"


def row(size: str, method: str, ours: Run, peer: Run | None) -> str:
    o_time = "error" if ours.error else fmt_time(ours)
    return (f"| {size} | {method} | {fmt_acc(ours)} | {fmt_acc(peer)} | {o_time} "
            f"| {fmt_time(peer)} | {fmt_ratio(ours, peer)} | {fmt_mem(ours)} "
            f"| {fmt_cpu_ratio(ours, peer)} |")


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    w = sub.add_parser("_worker", help=argparse.SUPPRESS)
    w.add_argument("--side", choices=["ours", "peer"], required=True)
    w.add_argument("--method", required=True)
    w.add_argument("--labels", required=True)
    w.add_argument("--truth", required=True)
    w.add_argument("--repeat", type=int, default=1)
    w.add_argument("--max-iter", type=int, default=100)
    w.add_argument("--tol", type=float, default=1e-5)
    p.add_argument("--sizes", default=DEFAULT_SIZES,
                   help=f"comma-separated judgment counts (default {DEFAULT_SIZES})")
    p.add_argument("--shapes", default=DEFAULT_SHAPES,
                   help="comma-separated extra shapes judgments:K:per_item:annotators, run "
                        f"after the sizes (default {DEFAULT_SHAPES}; '' for none)")
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated subset of {','.join(METHODS)}")
    p.add_argument("--peer-timeout", type=float, default=600.0,
                   help="seconds allowed per crowd-kit fit (default 600)")
    p.add_argument("--our-timeout", type=float, default=1800.0,
                   help="seconds allowed per fit of ours (default 1800)")
    p.add_argument("--repeat", type=int, default=1, help="fits per run; the minimum is kept")
    p.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    p.add_argument("--max-iter", type=int, default=100, help="EM iterations cap, both sides")
    p.add_argument("--tol", type=float, default=1e-5,
                   help="stop when the log-likelihood per judgment improves by less (both)")
    p.add_argument("--peer-python", default=sys.executable,
                   help="interpreter with crowd-kit (default: this one)")
    p.add_argument("--no-peer", action="store_true", help="skip crowd-kit")
    p.add_argument("--data-dir", default=os.environ.get("INSIGHTS_BENCH_DATA",
                                                         "/tmp/insights-bench-data"),
                   help="cache of simulated Parquet files")
    p.add_argument("--out", help="also write the results as CSV")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    ns = parse(argv)
    if ns.cmd == "_worker":
        worker(ns)
        return 0
    from _synth import load_or_simulate, n_annotators_for

    sizes = [Shape(int(float(s))) for s in ns.sizes.split(",") if s.strip()]
    sizes += [Shape.parse(s.strip()) for s in ns.shapes.split(",") if s.strip()]
    methods = [m.strip() for m in ns.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        print(f"unknown method(s) {unknown}; choose from {list(METHODS)}", file=sys.stderr)
        return 2
    from insights import reliability

    ours_available = [m for m in methods if hasattr(reliability, m)]
    peer = not ns.no_peer and has_module(ns.peer_python, "crowdkit")
    v = versions(sys.executable)
    vp = versions(ns.peer_python) if peer else {}
    print(f"# aggregators benchmark — insights {v.get('insights')} @ {git_commit()}")
    print(f"machine: {machine()}; load average at start: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("ours: " + ", ".join(f"{k} {v[k]}" for k in
                               ["python", "numpy", "scipy", "pandas", "pyarrow", "scikit-learn"]))
    if peer:
        print(f"crowd-kit {vp.get('crowd-kit')} (python {vp.get('python')}, pandas "
              f"{vp.get('pandas')}, scikit-learn {vp.get('scikit-learn')})")
    else:
        print("NOTE: crowd-kit is not installed in", ns.peer_python,
              "- printing our numbers only (run `nox -s bench` for the comparison).")
    print(f"data: K=5 classes, 5 judgments per item (the sizes; shapes as labelled), seed "
          f"{ns.seed}; settings: max_iter="
          f"{ns.max_iter}, tol={ns.tol:g} per judgment (crowd-kit: n_iter, tol on the ELBO per "
          f"judgment); peer budget {ns.peer_timeout:.0f} s per fit; best of {ns.repeat}")
    for m in methods:
        if m not in ours_available:
            print(f"  {m}: ours not available yet (insights.reliability has no {m})")
            continue
        line = f"  {m}: ours {our_params(m, ns.max_iter, ns.tol)}"
        if peer:
            line += f", crowd-kit {peer_params(m, ns.max_iter, ns.tol)}"
        print(line)
    print()
    print(HEADER)
    print(RULE)
    sys.stdout.flush()
    records = []
    for shape in sizes:
        n = shape.n
        lab, truth = load_or_simulate(n, ns.seed, ns.data_dir, k=shape.k,
                                      per_item=shape.per_item, n_annotators=shape.n_annotators)
        for m in ours_available:
            ours = run_child(sys.executable, "ours", m, lab, truth, ns, ns.our_timeout)
            theirs = (run_child(ns.peer_python, "peer", m, lab, truth, ns, ns.peer_timeout)
                      if peer else None)
            print(row(shape.label(), m, ours, theirs))
            sys.stdout.flush()
            for side, r in (("ours", ours), ("crowd-kit", theirs)):
                if r is None:
                    continue
                if r.error:
                    print(f"    ({side} {m} at {shape.label()} failed: {r.error})",
                          file=sys.stderr)
                records.append({
                    "n_judgments": n, "n_items": n // shape.per_item, "k": shape.k,
                    "n_annotators": shape.n_annotators or n_annotators_for(n),
                    "method": m, "side": side, "seconds": r.seconds,
                    "cpu_seconds": r.cpu_seconds, "timed_out": r.timed_out,
                    "budget_s": r.budget, "accuracy": r.accuracy, "n_iter": r.n_iter,
                    "peak_mb": r.peak_mb, "data_mb": r.data_mb, "params": json.dumps(r.params),
                    "error": r.error, "seed": ns.seed, "repeat": ns.repeat,
                })
    print()
    print("accuracy = share of items whose label equals the simulated true label; fit = "
          "seconds from the long DataFrame to labels (best of --repeat); peak memory = "
          "max RSS of a child process holding the DataFrame and fitting ours; ratio of CPU "
          "time = the same ratio on user+sys CPU seconds (less sensitive to other load).")
    if ns.out:
        with open(ns.out, "w", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=list(records[0]) if records else ["method"])
            wr.writeheader()
            wr.writerows(records)
        print(f"wrote {ns.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
