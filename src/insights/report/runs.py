"""What keeps a report run safe to start, stop and repeat.

* :func:`inside` -- every output path is resolved and must stay inside ``--out`` (a market
  name never chooses a path: ``../x``, ``/abs`` and symlinks pointing outside are refused).
* :class:`RunLock` -- one run per output folder (``fcntl.flock`` on ``<out>/.insights-report.lock``,
  released by the kernel when the process dies, so a killed run never blocks the next one);
  a second run fails at once with one line naming the first run's pid.
* :func:`remove_stale` -- temporary files of killed runs (``.*.tmp``, ``.*.tmp.ipynb``) in the
  output folder and IPC sockets / connection files of dead runs in the temp folder.
* :func:`stop_processes` -- terminate a run's worker processes and kernels (the whole tree),
  then kill what is left after a grace period.
* :func:`worker_init` -- a pool worker ignores SIGINT (the parent decides), dies with its
  parent (``PR_SET_PDEATHSIG``), and logs like the parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import logging
import os
import re
import signal
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import psutil

__all__ = ["IPC_PREFIX", "RunInterrupted", "RunLock", "RunLocked", "OutsideOutput", "inside",
           "ipc_prefix", "remove_stale", "stop_processes", "worker_init", "interrupt_signals"]

logger = logging.getLogger(__name__)

#: Kernel IPC sockets and connection files are ``<tmp>/insights-ipc-<run pid>-<hex>...``.
IPC_PREFIX = "insights-ipc-"
#: Environment variable naming the pid of the run that owns a worker's kernels.
RUN_PID_ENV = "INSIGHTS_REPORT_RUN_PID"
LOCK_NAME = ".insights-report.lock"
_STALE = ("*.tmp", "*.tmp.ipynb")


class OutsideOutput(ValueError):
    """An output path would leave the output folder."""


class RunLocked(RuntimeError):
    """Another run holds the output folder's lock."""


class RunInterrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """SIGTERM/SIGINT reached the run (``signum`` says which)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def inside(out: str | Path, *parts: str) -> Path:
    """``out / parts`` resolved (symlinks followed), refused unless it stays inside ``out``.

    >>> inside("/tmp/reports", "DE.html").name
    'DE.html'
    """
    base = Path(out).resolve()
    for part in parts:
        if not part or Path(part).is_absolute() or "\0" in part:
            raise OutsideOutput(f"{part!r}: not a relative path inside {base}")
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise OutsideOutput(f"{'/'.join(parts)!r} resolves to {path}, outside the output "
                            f"folder {base}")
    return path


class RunLock:
    """Exclusive lock of an output folder for one run (``fcntl.flock``, non-blocking).

    The lock file holds the owner's pid and start time, so a refused run can say who holds
    it. The kernel drops the lock when the owner dies, however it dies.
    """

    def __init__(self, out: str | Path):
        self.path = Path(out) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = ""
            with contextlib.suppress(OSError):
                owner = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            who = f" ({owner})" if owner else ""
            raise RunLocked(f"another insights report run{who} is writing to "
                            f"{self.path.parent}; wait for it to finish or use another --out"
                            ) from None
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {stamp}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def ipc_prefix() -> str:
    """A fresh kernel socket prefix tagged with the owning run's pid (short: Unix socket
    paths are limited to ~100 bytes)."""
    import uuid

    pid = os.environ.get(RUN_PID_ENV) or str(os.getpid())
    return os.path.join(tempfile.gettempdir(), f"{IPC_PREFIX}{pid}-{uuid.uuid4().hex[:12]}")


_IPC_FILE = re.compile(re.escape(IPC_PREFIX) + r"(\d+)-[0-9a-f]+")


def remove_stale(out: str | Path, *, own: bool = False) -> list[Path]:
    """Remove temporary files left in ``out`` by killed runs and kernel sockets of dead runs.

    Call it while holding :class:`RunLock` (then every temporary file in ``out`` is stale).
    Sockets and connection files in the temp folder are removed when the run that made them
    (the pid in their name) is gone, or, with ``own=True``, when they are this run's.
    """
    removed: list[Path] = []
    base = Path(out)
    for pattern in _STALE:
        for p in base.rglob(pattern):
            if p.is_file() and p.name.startswith("."):
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p)
    me = os.getpid()
    for p in Path(tempfile.gettempdir()).glob(f"{IPC_PREFIX}*"):
        m = _IPC_FILE.match(p.name)
        if not m:
            continue
        pid = int(m.group(1))
        if (own and pid == me) or (pid != me and not psutil.pid_exists(pid)):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    if removed:
        logger.debug("removed %d stale file(s): %s", len(removed),
                     ", ".join(str(p) for p in removed[:5]))
    return removed


def stop_processes(grace: float = 5.0) -> int:
    """Terminate every descendant of this process (workers and their kernels), wait up to
    ``grace`` seconds, kill the rest; return how many there were.

    The tree is listed before anything is signalled: kernels run in their own sessions and
    would be re-parented (and missed) once their worker is gone.
    """
    try:
        procs = psutil.Process().children(recursive=True)
    except psutil.Error:  # pragma: no cover - our own process
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=grace)
    if procs:
        logger.info("stopped %d worker/kernel process(es)%s", len(procs),
                    f" ({len(alive)} killed after {grace:g} s)" if alive else "")
    return len(procs)


@contextlib.contextmanager
def interrupt_signals():
    """While active, SIGTERM and SIGINT raise :class:`RunInterrupted` in the main thread."""
    def handler(signum, _frame):
        raise RunInterrupted(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent dies (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):  # pragma: no cover
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG


def worker_init(run_pid: int, level: int, threads: int | None) -> None:
    """Initializer of a pool worker (spawned): see the module docstring."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != run_pid:  # the parent died before we could ask
        os._exit(1)
    os.environ[RUN_PID_ENV] = str(run_pid)
    if threads:  # the kernels inherit these: parallel kernels must not oversubscribe cores
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(threads))
    configure_logging(level)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_DATEFMT = "%Y-%m-%dT%H:%M:%S%z"


def configure_logging(level: int) -> None:
    """Log ``insights.*`` at ``level`` (papermill's warnings too) to stderr with timestamps
    (idempotent)."""
    for name, lvl in (("insights", level), ("papermill", max(level, logging.WARNING))):
        log = logging.getLogger(name)
        log.setLevel(lvl)
        if not any(getattr(h, "_insights", False) for h in log.handlers):
            h = logging.StreamHandler(sys.stderr)
            h.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATEFMT))
            h._insights = True  # type: ignore[attr-defined]
            log.addHandler(h)
        log.propagate = False
