"""Reading a table (CSV, gzip CSV or Parquet) into Arrow, with the user's column names mapped.

Nothing here validates values (see :mod:`insights.data.validation`); it only makes sure the
file is a readable table with unique column names, and reports anything else as one
located :class:`~insights.data.contract.SchemaError` line.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa

from insights.data.contract import REQUIRED, TABLES, Names, SchemaError

__all__ = ["SUFFIXES", "read_raw", "find_table", "resolve_paths", "markets"]

SUFFIXES = (".csv", ".parquet", ".pq", ".csv.gz")
_ENCODING_HINT = "--encoding in the command line, encoding= in data.load"


def find_table(directory: Path, kind: str) -> Path | None:
    """``directory/<kind>.csv|.parquet|.pq|.csv.gz``, the first that exists."""
    for suffix in SUFFIXES:
        p = directory / f"{kind}{suffix}"
        if p.exists():
            return p
    return None


def resolve_paths(source=None, *, labels=None, gold=None, annotators=None, items=None,
                  need_labels: bool = True) -> dict[str, Path]:
    """Table kind -> file, from a directory or labels file plus explicit files."""
    paths: dict[str, Path] = {}
    if source is not None:
        src = Path(source)
        if src.is_dir():
            for kind in TABLES:
                p = find_table(src, kind)
                if p is not None:
                    paths[kind] = p
            if "labels" not in paths and need_labels:
                raise SchemaError(
                    f"{src}: no labels table found; expected labels.csv, labels.csv.gz or "
                    f"labels.parquet in this directory", source=str(src))
        elif src.exists():
            paths["labels"] = src
        else:
            raise SchemaError(f"{src}: no such file or directory", source=str(src))
    for kind, p in (("labels", labels), ("gold", gold), ("annotators", annotators),
                    ("items", items)):
        if p is not None:
            paths[kind] = Path(p)
    return paths


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _is_gzip(path: Path) -> bool:
    return path.suffix.lower() == ".gz"


def _check_file(path: Path, kind: str) -> None:
    name = path.name
    if not path.exists():
        raise SchemaError(f"{path}: file not found (expected the {kind} table)", source=name)
    if path.is_dir():
        raise SchemaError(f"{path}: is a directory; expected a {kind} file (.csv, .csv.gz or "
                          f".parquet)", source=name)
    if path.stat().st_size == 0:
        raise SchemaError(
            f"{name} is empty: expected a header row with columns "
            f"{', '.join(REQUIRED[kind])} and at least one row", source=name)


def _gzip_error(path: Path) -> SchemaError | None:
    """A located error if ``path`` is not a complete gzip stream, else None."""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        return SchemaError(f"{path.name}: not a readable gzip file ({exc}); expected a "
                           f"complete .gz archive of a CSV table", source=path.name)
    return None


def _decode_error(path: Path, encoding: str) -> SchemaError | None:
    """A located error (line, byte offset) for the first byte sequence not in ``encoding``."""
    opener = gzip.open if _is_gzip(path) else open
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    with opener(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.start is relative to the bytes the decoder held plus this chunk
                held = len(exc.object) - len(chunk)
                at = max(exc.start - held, 0)
                line += chunk.count(b"\n", 0, at)
                bad = exc.object[exc.start:exc.end]
                return SchemaError(
                    f"{path.name} line {line:,}, byte offset {offset + at:,}: bytes {bad!r} are "
                    f"not valid {encoding}; expected {encoding} text (declare the file's "
                    f"encoding, e.g. latin-1 or cp1252: {_ENCODING_HINT})",
                    source=path.name, row=line - 1, value=bad)
            offset += len(chunk)
            line += chunk.count(b"\n")
    return None


def _csv_header(path: Path, encoding: str) -> list[str]:
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as fh:
        first = fh.readline()
    try:
        text = first.decode(encoding)
    except UnicodeDecodeError:
        raise _decode_error(path, encoding) from None
    except LookupError:
        raise SchemaError(f"{path.name}: unknown encoding {encoding!r} ({_ENCODING_HINT})",
                          source=path.name) from None
    text = text.lstrip("\ufeff")
    row = next(csv.reader(io.StringIO(text)), [])
    return [c.strip() for c in row]


def _check_unique(names: list[str], source: str, what: str) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in seen:
            raise SchemaError(
                f"{source} {what}: column {name!r} appears twice (columns {seen[name]} and "
                f"{i}); expected unique column names", source=source, column=name, value=name)
        seen[name] = i


#: Columns with few distinct values, read dictionary-encoded (no string per judgment).
DICTIONARY_COLUMNS = {"labels": ("annotator_id", "label")}
_DICT = pa.dictionary(pa.int32(), pa.string())


def _read_csv(path: Path, kind: str, encoding: str, dictionary: tuple[str, ...] = ()
              ) -> pa.Table:
    import pyarrow.csv as pacsv

    name = path.name
    if _is_gzip(path):
        err = _gzip_error(path)
        if err is not None:
            raise err
    header = _csv_header(path, encoding)
    if not any(header):
        raise SchemaError(f"{name} is empty: expected a header row with columns "
                          f"{', '.join(REQUIRED[kind])} and at least one row", source=name)
    _check_unique(header, name, "header")
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, column_names=header,
                                           skip_rows=1),
            # content tables may quote text with line breaks; labels stay on the fast path
            parse_options=pacsv.ParseOptions(newlines_in_values=kind != "labels"),
            convert_options=pacsv.ConvertOptions(
                column_types={c: _DICT if c in dictionary else pa.string() for c in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        msg = str(exc)
        if "UTF8" in msg or "utf8" in msg.lower() or isinstance(exc, UnicodeDecodeError):
            err = _decode_error(path, encoding)
            if err is not None:
                raise err from None
        reason = " ".join(msg.split())
        raise SchemaError(f"{name}: not a readable CSV table ({reason})", source=name) from None


def _read_parquet(path: Path, dictionary: tuple[str, ...] = ()) -> pa.Table:
    import pyarrow.parquet as pq

    name = path.name
    try:
        schema = pq.read_schema(path)
        _check_unique(list(schema.names), name, "schema")
        strings = [c for c in dictionary if c in schema.names
                   and (pa.types.is_string(schema.field(c).type)
                        or pa.types.is_large_string(schema.field(c).type))]
        return pq.read_table(path, read_dictionary=strings or None)
    except (pa.ArrowInvalid, OSError) as exc:
        reason = " ".join(str(exc).split())
        raise SchemaError(f"{name}: not a readable Parquet file ({reason})",
                          source=name) from None


def apply_columns(table: pa.Table, columns: dict[str, str], source: str) -> pa.Table:
    """Rename the user's columns to the contract's (only those the table has)."""
    if not columns:
        return table
    names = list(table.column_names)
    rename = {user: contract for contract, user in columns.items() if user in names}
    for user, contract in rename.items():
        if contract in names and contract != user:
            raise SchemaError(
                f"{source}: has both the column {contract!r} and {user!r}, which columns maps "
                f"to {contract!r}; expected one of them", source=source, column=user)
    if not rename:
        return table
    return table.rename_columns([rename.get(n, n) for n in names])


def read_raw(path: str | Path, kind: str, *, columns: dict[str, str] | None = None,
             encoding: str = "utf-8") -> tuple[pa.Table, Names]:
    """Read one table as Arrow (every CSV column a string), columns mapped, plus ``_row``.

    ``_row`` is the 1-based data row of the file (the header is not counted).
    """
    path = Path(path)
    _check_file(path, kind)
    columns = columns or {}
    dictionary = tuple(columns.get(c, c) for c in DICTIONARY_COLUMNS.get(kind, ()))
    table = (_read_parquet(path, dictionary) if _is_parquet(path)
             else _read_csv(path, kind, encoding, dictionary))
    if any(pa.types.is_dictionary(t) for t in table.schema.types):
        table = table.unify_dictionaries()
    table = apply_columns(table, columns, path.name)
    if "_row" in table.column_names:
        table = table.drop_columns(["_row"])
    table = table.add_column(0, "_row", pa.array(np.arange(1, table.num_rows + 1,
                                                           dtype=np.int64)))
    return table, Names(columns)


def _read_column(path: Path, column: str, encoding: str) -> pa.ChunkedArray | None:
    """One column of a table (None when the table has no such column)."""
    if _is_parquet(path):
        import pyarrow.parquet as pq

        if column not in pq.read_schema(path).names:
            return None
        return pq.read_table(path, columns=[column]).column(column)
    import pyarrow.csv as pacsv

    header = _csv_header(path, encoding)
    if column not in header:
        return None
    t = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding=encoding),
                       convert_options=pacsv.ConvertOptions(
                           include_columns=[column], column_types={column: pa.string()},
                           strings_can_be_null=False))
    return t.column(column)


def markets(source=None, *, labels=None, annotators=None, items=None,
            columns: dict[str, str] | None = None, encoding: str = "utf-8") -> list[str | None]:
    """The markets present in a data source, read cheaply (only the market column).

    The labels' ``market`` column if it has one, else the items', else the annotators'
    (the order :func:`insights.data.load` uses to select a market). Values are stripped;
    empty values are not a market.

    Parameters
    ----------
    source, labels, annotators, items
        As in :func:`insights.data.load`.
    columns : dict, optional
        Contract name -> the user's column name (e.g. ``{"market": "country"}``).
    encoding : str, default "utf-8"
        Text encoding of CSV files.

    Returns
    -------
    list
        Sorted market names; ``[None]`` when no table has a market column (the whole data
        is one market: load it with ``market=None``).
    """
    import pyarrow.compute as pc

    from insights.data.contract import check_columns_mapping

    columns = check_columns_mapping(columns)
    user = columns.get("market", "market")
    paths = resolve_paths(source, labels=labels, annotators=annotators, items=items)
    for kind in ("labels", "items", "annotators"):
        if kind not in paths:
            continue
        _check_file(paths[kind], kind)
        col = _read_column(paths[kind], user, encoding)
        if col is None:
            continue
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            col = pc.cast(col, pa.string())
        values = pc.unique(pc.utf8_trim_whitespace(col.drop_null())).to_pylist()
        return sorted(v for v in values if v)
    return [None]
