"""Runs that die leave nothing behind; one run per output folder; logging and --help.

These tests start ``insights report`` in a subprocess on a seconds-fast probe notebook
(:func:`tests.report.operation.write_probe_notebook`), so what they check is the runner: the
process tree, signals, locks and temporary files, not the report's content.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from insights.report import runs
from tests.report.probe import make_params, write_probe_log, write_probe_notebook

SRC = Path(__file__).resolve().parents[2] / "src"
REPO = SRC.parent


def probe_project(root: Path, rows: dict[str, list[str]]) -> Path:
    """A project folder: params/ (one file per market), notebooks/ (the probe), data/."""
    write_probe_notebook(root)
    data = write_probe_log(root / "data", rows)
    return make_params(root, data, list(rows), pseudonymize=False)


def report_cmd(params: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "insights", "report", "--params", str(params), "--out",
            str(out), *extra]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(REPO)])}


def leftovers(out: Path, pid: int) -> list[Path]:
    """Temporary files in ``out`` and kernel sockets/connection files of run ``pid``."""
    tmp = [p for p in out.rglob(".*") if ".tmp" in p.name]
    ipc = list(Path(tempfile.gettempdir()).glob(f"{runs.IPC_PREFIX}{pid}-*"))
    return tmp + ipc


def wait_for_kernels(proc: subprocess.Popen, n: int, timeout: float = 120) -> list[int]:
    """Pids of the run's process tree once ``n`` kernels are running."""
    deadline = time.monotonic() + timeout
    parent = psutil.Process(proc.pid)
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before its kernels started"
        tree = parent.children(recursive=True)
        kernels = []
        for p in tree:
            try:
                if "ipykernel_launcher" in " ".join(p.cmdline()):
                    kernels.append(p)
            except psutil.Error:
                pass
        if len(kernels) >= n:
            time.sleep(3)  # let the kernels reach the sleeping cell
            return [p.pid for p in parent.children(recursive=True)]
        time.sleep(0.3)
    raise AssertionError(f"{n} kernels did not start in {timeout} s")


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(gone(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if not gone(p)]


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT to the process group"])
def test_a_stopped_run_stops_its_workers_and_kernels_and_cleans_up(tmp_path, how):
    params = probe_project(tmp_path, {"AA": ["ok", "SLEEP"], "BB": ["SLEEP"]})
    out = tmp_path / "reports"
    proc = subprocess.Popen(report_cmd(params, out, "--jobs", "2"), env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        tree = wait_for_kernels(proc, 2)
        assert len(tree) >= 4  # two workers, two kernels
        if how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
            sig = signal.SIGTERM
        else:  # what Ctrl-C in a terminal does: every process of the foreground group
            os.killpg(proc.pid, signal.SIGINT)
            sig = signal.SIGINT
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert f"interrupted by {sig.name}" in err
    assert wait_gone(tree, 10) == []  # every worker and kernel
    assert leftovers(out, proc.pid) == []
    assert not (out / "AA.html").exists()  # never a half-written report
    assert "0 market(s)" in (out / "index.html").read_text()  # what completed: nothing


def test_a_killed_run_leaves_no_process_and_the_next_run_cleans_its_files(tmp_path):
    params = probe_project(tmp_path, {"AA": ["SLEEP"], "BB": ["SLEEP"]})
    out = tmp_path / "reports"
    proc = subprocess.Popen(report_cmd(params, out, "--jobs", "2"), env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        tree = wait_for_kernels(proc, 2)
    finally:
        proc.kill()  # SIGKILL: no handler runs
        proc.wait()
    # workers die with their parent (PR_SET_PDEATHSIG), kernels poll theirs every second
    assert wait_gone(tree, 15) == []
    dead = leftovers(out, proc.pid)
    assert dead, "expected the killed run's temporary files and sockets"
    write_probe_log(tmp_path / "data", {"AA": ["ok"], "BB": ["ok"]})
    done = subprocess.run(report_cmd(params, out, "-q"), env=env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [p for p in dead if p.exists()] == []
    assert leftovers(out, proc.pid) == []


def test_two_runs_into_one_folder_do_not_interleave(tmp_path):
    params = probe_project(tmp_path, {"AA": ["ok"]})
    out = tmp_path / "reports"
    out.mkdir()
    with runs.RunLock(out):
        busy = subprocess.run(report_cmd(params, out), env=env(), capture_output=True,
                              text=True, timeout=120)
    assert busy.returncode == 1
    lines = busy.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pid {os.getpid()}" in lines[0], busy.stderr
    assert not (out / "AA.html").exists()
    # released: the next run goes through
    ok = subprocess.run(report_cmd(params, out, "-q"), env=env(), capture_output=True,
                        text=True, timeout=300)
    assert ok.returncode == 0 and ok.stderr == "", ok.stderr
    assert (out / "AA.html").exists()


def test_verbose_logs_each_market_with_timestamps_and_failures_name_the_market(tmp_path):
    params = probe_project(tmp_path, {"AA": ["ok"], "BB": ["BOOM"]})
    out = tmp_path / "reports"
    run = subprocess.run(report_cmd(params, out, "-v"), env=env(), capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 1
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* "
    for line in ("AA: started", "AA: completed in", "BB: started", "BB: FAILED"):
        assert re.search(stamp + r"\w+ [\w.]+: " + line, run.stderr), (line, run.stderr)
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("insights report: error: 1 of 2 market report(s) failed: BB")
    assert "Traceback" in (out / "BB" / "run.log").read_text()  # the details go to the log
    assert "Traceback" not in (out / "BB.html").read_text()


def test_help_lists_every_option():
    from insights.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["report"]
    text = sub.format_help()
    for action in sub._actions:
        for opt in action.option_strings:
            assert opt in text
    for opt in ("--market", "--params", "--out", "--since", "--until", "--jobs", "--timeout",
                "--quiet", "--verbose"):
        assert opt in text
