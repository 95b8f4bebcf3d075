"""What every command shares: the one-line error, the data options, loading, checking ``--out``.

A command that reads labels calls :func:`add_data_options` on its sub-parser (``--label-set``,
``--columns``, ``--repeats``, ``--encoding``, ``--date-format``) and :func:`load_args` to load
them, so every command reads the user's log the same way.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["CommandError", "add_data_options", "configure_logging", "load_args", "load_data",
           "out_path", "parse_columns", "parse_label_set"]


class CommandError(Exception):
    """A failure to report on stderr as one line (exit status 1)."""


def configure_logging(level: int = logging.DEBUG) -> None:
    """Log ``insights.*`` at ``level`` to stderr, each line with a millisecond timestamp
    (``-v`` of a command; idempotent)."""
    log = logging.getLogger("insights")
    log.setLevel(level)
    if not any(getattr(h, "_insights_cli", False) for h in log.handlers):
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(name)s: %(message)s",
                                         "%H:%M:%S"))
        h._insights_cli = True  # type: ignore[attr-defined]
        log.addHandler(h)


def parse_columns(text: str | None) -> dict[str, str] | None:
    """``item_id=item,annotator_id=worker`` -> ``{"item_id": "item", "annotator_id": "worker"}``."""
    if not text:
        return None
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise CommandError(f"--columns: {part.strip()!r} is not CONTRACT=YOURS; expected "
                               f"e.g. --columns item_id=item,annotator_id=worker")
        key, value = (s.strip() for s in part.split("=", 1))
        out[key] = value
    return out


def parse_label_set(text: str | None) -> list[str] | None:
    """``"ok, spam"`` -> ``["ok", "spam"]`` (stripped; empty entries dropped)."""
    if not text:
        return None
    labels = [s.strip() for s in text.split(",") if s.strip()]
    if not labels:
        raise CommandError(f"--label-set {text!r}: expected comma-separated labels")
    return labels


def add_data_options(p: argparse.ArgumentParser, *, label_set: bool = True) -> None:
    """Add the options that say how to read the user's tables."""
    if label_set:
        p.add_argument("--label-set", help="comma-separated declared label set")
    p.add_argument("--columns", metavar="CONTRACT=YOURS,...",
                   help="your column names, e.g. item_id=item,annotator_id=worker (applied to "
                        "every table that has your column)")
    p.add_argument("--repeats", choices=["keep", "last", "first", "error"], default="keep",
                   help="an annotator who judged an item again with a different answer: keep "
                        "every answer (default), only the last or first (by labeled_at, else "
                        "file order), or error")
    p.add_argument("--duplicates", choices=["drop", "keep"], default="drop",
                   help="identical repeated judgments (same item, annotator, label): drop "
                        "them with a warning (default) or keep them as independent ratings "
                        "(with --repeats keep: Dawid & Skene's counts)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of CSV files "
                   "(default utf-8)")
    p.add_argument("--date-format", help="strftime format of timestamps (default ISO 8601), "
                                         "e.g. %%d/%%m/%%Y")


def load_data(path: str, gold: str | None = None, annotators: str | None = None,
              label_set: str | None = None, *, columns: str | None = None,
              repeats: str = "keep", encoding: str = "utf-8", date_format: str | None = None,
              market: str | None = None, duplicates: str = "drop"):
    """:func:`insights.data.load` with the command line's options (comma lists as text)."""
    from insights import data

    return data.load(
        path, gold=gold, annotators=annotators,
        label_set=parse_label_set(label_set), label_set_origin="--label-set",
        columns=parse_columns(columns), repeats=repeats, encoding=encoding,
        date_format=date_format, market=market, duplicates=duplicates,
    )


def load_args(args: argparse.Namespace, path: str, *, gold: str | None = None,
              annotators: str | None = None):
    """:func:`load_data` with the options :func:`add_data_options` added."""
    return load_data(path, gold=gold, annotators=annotators,
                     label_set=getattr(args, "label_set", None),
                     columns=getattr(args, "columns", None),
                     repeats=getattr(args, "repeats", "keep") or "keep",
                     encoding=getattr(args, "encoding", "utf-8") or "utf-8",
                     date_format=getattr(args, "date_format", None),
                     duplicates=getattr(args, "duplicates", "drop") or "drop")


def _input_files(inputs: Iterable[str | os.PathLike | None]) -> list[Path]:
    files: list[Path] = []
    for p in inputs:
        if p is None:
            continue
        p = Path(p)
        if p.is_dir():
            files += [q for q in p.iterdir() if q.is_file()]
        elif p.exists():
            files.append(p)
    return files


def out_path(path: str, inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """``--out`` as a path: a ``.csv`` or ``.parquet`` file name, not an input, writable.

    ``inputs`` are the command's input files or directories (a directory's files count).
    """
    out = Path(path)
    if out.suffix not in (".csv", ".parquet", ".pq"):
        raise CommandError(f"--out {path}: expected a .csv or .parquet file name")
    if out.is_dir():
        raise CommandError(f"--out {path}: is a directory; expected a file name")
    for f in _input_files(inputs):
        same = out.exists() and os.path.samefile(out, f)
        if same or out.resolve() == f.resolve():
            raise CommandError(f"--out {path}: is an input of this command ({f}); refusing "
                               f"to overwrite it, choose another file name")
    ancestor = out.resolve().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise CommandError(f"--out {path}: {ancestor} is a file, not a directory; cannot "
                           f"write there")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise CommandError(f"--out {path}: cannot write to {ancestor} (permission denied)")
    return out
