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
import sys
from collections.abc import Sequence

from insights import __version__
from insights.cli._common import CommandError, load_data, out_path

__all__ = ["COMMAND_MODULES", "CommandError", "build_parser", "load_data", "main", "out_path"]

#: Modules of this package that register commands, in ``--help`` order.
COMMAND_MODULES = (
    "insights.cli.core",
    "insights.cli.report",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``insights`` command; returns the exit status."""
    from insights.data import SchemaError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (SchemaError, CommandError, FileNotFoundError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        print(f"insights {args.command}: error: {reason}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
