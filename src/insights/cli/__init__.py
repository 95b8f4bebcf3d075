"""Command line: ``insights COMMAND ...`` (``insights --help`` lists the commands).

The interface is stable (DESIGN.md): scheduled jobs rely on it. Exit status 0 on success;
otherwise non-zero with a one-line reason on stderr (1: the data or a run failed, 2: usage).

Each family of commands lives in its own module of this package with a ``register(sub)``
function that adds its sub-parsers (each sets ``func``); :data:`COMMAND_MODULES` lists them in
the order ``--help`` shows them. A new command is a new module and one line here.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from insights import __version__
from insights.cli._common import (
    CommandError,
    add_data_options,
    load_args,
    load_data,
    out_path,
)

__all__ = ["COMMAND_MODULES", "CommandError", "add_data_options", "build_parser", "load_args",
           "load_data", "main", "out_path"]

#: Modules of this package that register commands, in ``--help`` order.
COMMAND_MODULES = (
    "insights.cli.core",
    "insights.cli.report",
    "insights.cli.operations",
    "insights.cli.allocation",
    "insights.cli.learning",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``insights`` argument parser with every command of :data:`COMMAND_MODULES`."""
    p = argparse.ArgumentParser(
        prog="insights",
        description="Quality, confidence, trends, allocation and learning for content-labeling "
                    "operations.",
    )
    p.add_argument("--version", action="version", version=f"insights {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return p


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for the command line: ``warning: <message>`` on one line."""
    stream = file if file is not None else sys.stderr
    try:
        stream.write(f"warning: {' '.join(str(message).split())}\n")
    except (OSError, ValueError):  # stderr closed: nothing to tell
        pass


def _quiet_broken_pipe() -> int:
    """stdout's reader went away (``insights ... | head``): stop quietly, like other tools."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail
    except (OSError, ValueError, AttributeError):
        pass
    return 141  # 128 + SIGPIPE, the status of a tool stopped by a closed pipe


#: Allocator settings of a command's process (environment variable -> value), applied when
#: numpy and pyarrow are not imported yet and the variable is not set by the user. Large
#: arrays are faster in 4 KiB pages: numpy's and Arrow's mimalloc's transparent huge pages
#: (``madvise(MADV_HUGEPAGE)``; mimalloc reserves 1 GiB arenas) made the kernel zero 2 MiB
#: pages on first touch, 6-9 s of system time of ``insights aggregate`` on 10.5M judgments
#: on the 2-core benchmark VM (18-19 s wall; 11 s with these settings, the fitted labels
#: unchanged: benchmarks/aggregate_e2e.py). Both are documented switches
#: (numpy.org "Global state"; Arrow "Memory management").
ALLOCATOR_ENV = {"NUMPY_MADVISE_HUGEPAGE": "0", "ARROW_DEFAULT_MEMORY_POOL": "system"}


def configure_allocators() -> bool:
    """Apply :data:`ALLOCATOR_ENV` if this process has not imported numpy or pyarrow yet.

    Returns whether the settings were applied (a program that imported them first, such as
    a test calling :func:`main`, keeps its own allocators). A variable the user set wins.
    """
    if "numpy" in sys.modules or "pyarrow" in sys.modules:
        return False
    for name, value in ALLOCATOR_ENV.items():
        os.environ.setdefault(name, value)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``insights`` command; returns the exit status.

    Every Python warning raised while a command runs is printed as one ``warning: ...``
    line on stderr; errors are one ``insights COMMAND: error: ...`` line (status 1); a
    closed stdout pipe ends the command quietly (status 141). A fresh process gets the
    allocator settings of :func:`configure_allocators`.
    """
    configure_allocators()
    from insights.data import SchemaError

    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        parser = build_parser()
        args = parser.parse_args(argv)
        try:
            return args.func(args)
        except BrokenPipeError:
            return _quiet_broken_pipe()
        except (SchemaError, CommandError, ValueError, OSError) as exc:
            reason = " ".join(str(exc).split())
            try:
                print(f"insights {args.command}: error: {reason}", file=sys.stderr)
            except (OSError, ValueError):
                pass
            return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
