"""What every command shares: the one-line error, loading the data, checking ``--out``."""

from __future__ import annotations

from pathlib import Path


class CommandError(Exception):
    """A failure to report on stderr as one line (exit status 1)."""


def load_data(path: str, gold: str | None = None, annotators: str | None = None,
              label_set: str | None = None):
    """:func:`insights.data.load` with the command line's options (``--label-set`` is a comma
    list)."""
    from insights import data

    return data.load(
        path, gold=gold, annotators=annotators,
        label_set=label_set.split(",") if label_set else None,
        label_set_origin="--label-set",
    )


def out_path(path: str) -> Path:
    """``--out`` as a path, which must name a ``.csv`` or ``.parquet`` file."""
    out = Path(path)
    if out.suffix not in (".csv", ".parquet", ".pq"):
        raise CommandError(f"--out {path}: expected a .csv or .parquet file name")
    return out
