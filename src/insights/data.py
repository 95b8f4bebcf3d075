"""Data contract: loading, validation, fingerprinting and integer encoding.

The tables follow ``DESIGN.md``:

``labels``
    one row per judgment. Required ``item_id``, ``annotator_id``, ``label``; optional
    ``market``, ``queue``, ``team``, ``labeled_at``, ``handle_seconds``, ``cost``.
``gold``
    trusted answers. Required ``item_id``, ``label``; optional ``source``, ``decided_at``.
``annotators``
    optional. ``annotator_id``, ``team``, ``market``, ``kind`` (``human``/``model``),
    ``cost_per_label``, ``capacity_per_day``.
``items``
    optional. ``item_id``, ``market``, ``queue``, ``created_at`` and content fields.

Every problem found in an input is reported as a :class:`SchemaError` that names the file,
the row, the column, the value found and what was expected. Inputs are only ever read.

The tables are encoded once (:func:`encode`) into integer codes and a sparse
item x (annotator, label) incidence matrix; every EM-style model iterates on that encoding.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

__all__ = [
    "SchemaError",
    "DuplicateJudgmentWarning",
    "Dataset",
    "Encoded",
    "load",
    "read_table",
    "validate_labels",
    "validate_gold",
    "validate_annotators",
    "validate_items",
    "encode",
    "as_encoded",
    "fingerprint_frames",
    "TABLES",
]

TABLES = ("labels", "gold", "annotators", "items")
REQUIRED = {
    "labels": ("item_id", "annotator_id", "label"),
    "gold": ("item_id", "label"),
    "annotators": ("annotator_id",),
    "items": ("item_id",),
}
ID_COLUMNS = {
    "labels": ("item_id", "annotator_id"),
    "gold": ("item_id",),
    "annotators": ("annotator_id",),
    "items": ("item_id",),
}
TIME_COLUMNS = {
    "labels": ("labeled_at",),
    "gold": ("decided_at",),
    "annotators": (),
    "items": ("created_at",),
}
NUMBER_COLUMNS = {
    "labels": ("handle_seconds", "cost"),
    "gold": (),
    "annotators": ("cost_per_label", "capacity_per_day"),
    "items": (),
}
ANNOTATOR_KINDS = ("human", "model")
GOLD_SOURCES = ("benchmark", "calibration", "arbitration")
_SUFFIXES = (".csv", ".parquet", ".pq", ".csv.gz")
#: Labels tables at least this long encode their item column in a second thread.
_THREADED_ENCODE_ROWS = 200_000


class SchemaError(ValueError):
    """An input table breaks the data contract.

    The message names where (file, row, column), what was found and what was expected.
    ``row`` is the 1-based data row (the header is not counted), so a CSV's row ``r`` is on
    line ``r + 1`` of the file.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
    ):
        super().__init__(message)
        self.source = source
        self.row = row
        self.column = column
        self.value = value


class DuplicateJudgmentWarning(UserWarning):
    """Identical repeated judgments were dropped."""


def _where(source: str, row: int | None = None) -> str:
    if row is None:
        return source
    return f"{source} row {row:,}"


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _row_of(df: pd.DataFrame, pos: int) -> int:
    """1-based data row of positional index ``pos`` (``_row`` column if loaded from a file)."""
    if "_row" in df.columns:
        return int(df["_row"].iat[pos])
    return pos + 1


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def read_table(path: str | Path, kind: str, *, label_set: Sequence[str] | None = None,
               label_set_origin: str = "the label_set parameter") -> pd.DataFrame:
    """Read one table from CSV or Parquet and validate it.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (optionally gzip-compressed) or ``.parquet`` file.
    kind : {"labels", "gold", "annotators", "items"}
    label_set : sequence of str, optional
        Declared labels; any other label is an error.
    label_set_origin : str
        Where the label set was declared, quoted in error messages.

    Returns
    -------
    pandas.DataFrame
        Validated table; ids and labels are strings, times are ``datetime64[ns, UTC]``.

    Raises
    ------
    SchemaError
        With file, row, column, value and expectation.
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise SchemaError(f"{path}: file not found (expected the {kind} table)", source=name)
    if path.stat().st_size == 0:
        raise SchemaError(
            f"{name} is empty: expected a header row with columns "
            f"{', '.join(REQUIRED[kind])} and at least one row",
            source=name,
        )
    if path.suffix in (".parquet", ".pq"):
        df = pd.read_parquet(path)
        for col in df.columns:
            if col in ID_COLUMNS[kind] or col == "label":
                df[col] = df[col].astype("string").astype(object)
    else:
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
        except pd.errors.EmptyDataError:
            raise SchemaError(
                f"{name} is empty: expected a header row with columns "
                f"{', '.join(REQUIRED[kind])} and at least one row",
                source=name,
            ) from None
        except pd.errors.ParserError as exc:
            raise SchemaError(f"{name}: not a readable CSV table ({exc})", source=name) from None
    df.insert(0, "_row", np.arange(1, len(df) + 1))
    return validate(df, kind, source=name, label_set=label_set, label_set_origin=label_set_origin)


def validate(df: pd.DataFrame, kind: str, *, source: str | None = None,
             label_set: Sequence[str] | None = None,
             label_set_origin: str = "the label_set parameter",
             allow_repeats: bool = False) -> pd.DataFrame:
    """Validate a table of the given kind (see the module docstring); returns a clean copy."""
    if kind not in REQUIRED:
        raise ValueError(f"kind must be one of {TABLES}, got {kind!r}")
    source = source or f"{kind} table"
    df = df.copy()
    if "_row" not in df.columns:
        df.insert(0, "_row", np.arange(1, len(df) + 1))
    if len(df) == 0:
        raise SchemaError(
            f"{source} is empty: expected at least one row with columns "
            f"{', '.join(REQUIRED[kind])}",
            source=source,
        )
    missing = [c for c in REQUIRED[kind] if c not in df.columns]
    if missing:
        found = [c for c in df.columns if c != "_row"]
        raise SchemaError(
            f"{source}: missing required column {missing[0]!r} "
            f"(found columns {found}; a {kind} table needs {list(REQUIRED[kind])})",
            source=source,
            column=missing[0],
        )
    # ids and labels: non-empty strings
    for col in (*ID_COLUMNS[kind], *(("label",) if "label" in REQUIRED[kind] else ())):
        values = df[col]
        isna = values.isna().to_numpy()
        as_str = values.astype("string").fillna("").str.strip()
        bad = isna | (as_str == "").to_numpy(dtype=bool)
        if bad.any():
            pos = _first_bad(bad)
            raise SchemaError(
                f"{_where(source, _row_of(df, pos))}: column {col!r} is empty; "
                f"expected a non-empty {col}",
                source=source, row=_row_of(df, pos), column=col, value=values.iat[pos],
            )
        df[col] = as_str.to_numpy(dtype=object)
    for col in TIME_COLUMNS[kind]:
        if col in df.columns:
            df[col] = _parse_times(df, col, source)
    for col in NUMBER_COLUMNS[kind]:
        if col in df.columns:
            df[col] = _parse_numbers(df, col, source)
    if kind == "annotators" and "kind" in df.columns:
        kinds = df["kind"].astype(str).str.strip().str.lower()
        bad = ~kinds.isin(ANNOTATOR_KINDS).to_numpy()
        if bad.any():
            pos = _first_bad(bad)
            raise SchemaError(
                f"{_where(source, _row_of(df, pos))}: column 'kind' has "
                f"{df['kind'].iat[pos]!r}; expected one of {list(ANNOTATOR_KINDS)}",
                source=source, row=_row_of(df, pos), column="kind", value=df["kind"].iat[pos],
            )
        df["kind"] = kinds.to_numpy(dtype=object)
    if "label" in REQUIRED[kind] and label_set is not None:
        allowed = {str(x) for x in label_set}
        bad = ~df["label"].isin(allowed).to_numpy()
        if bad.any():
            pos = _first_bad(bad)
            raise SchemaError(
                f"{_where(source, _row_of(df, pos))}: column 'label' has "
                f"{df['label'].iat[pos]!r}, which is not in the label set "
                f"{sorted(allowed)} declared in {label_set_origin}",
                source=source, row=_row_of(df, pos), column="label", value=df["label"].iat[pos],
            )
    if kind == "labels":
        df = _check_repeats(df, source, allow_repeats)
    elif kind == "gold":
        df = _check_gold(df, source)
    elif kind in ("annotators", "items"):
        key = ID_COLUMNS[kind][0]
        dup = df[key].duplicated(keep="first").to_numpy()
        if dup.any():
            pos = _first_bad(dup)
            first = _row_of(df, int(np.flatnonzero((df[key] == df[key].iat[pos]).to_numpy())[0]))
            raise SchemaError(
                f"{_where(source, _row_of(df, pos))}: column {key!r} has "
                f"{df[key].iat[pos]!r} again (first at row {first:,}); expected one row per {key}",
                source=source, row=_row_of(df, pos), column=key, value=df[key].iat[pos],
            )
    return df.reset_index(drop=True)


def _parse_times(df: pd.DataFrame, col: str, source: str) -> pd.Series:
    raw = df[col]
    if pd.api.types.is_datetime64_any_dtype(raw):
        out = raw
    else:
        text = raw.astype(object)
        blank = text.isna() | (text.astype(str).str.strip() == "")
        values = text.where(~blank, None)
        # ISO 8601 (what the contract asks for) parses vectorised; anything else element-wise.
        out = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
        retry = (out.isna() & ~blank).to_numpy()
        if retry.any():
            out = out.copy()
            out[retry] = pd.to_datetime(values[retry], errors="coerce", utc=True, format="mixed")
        bad = (out.isna() & ~blank).to_numpy()
        if bad.any():
            pos = _first_bad(bad)
            raise SchemaError(
                f"{_where(source, _row_of(df, pos))}: column {col!r} has {raw.iat[pos]!r}, "
                f"which is not a timestamp; expected ISO 8601 such as 2026-03-09T14:05:00Z",
                source=source, row=_row_of(df, pos), column=col, value=raw.iat[pos],
            )
    if getattr(out.dt, "tz", None) is None:
        out = out.dt.tz_localize("UTC")
    return out.dt.tz_convert("UTC")


def _parse_numbers(df: pd.DataFrame, col: str, source: str) -> pd.Series:
    raw = df[col]
    if pd.api.types.is_numeric_dtype(raw):
        out = raw.astype(float)
    else:
        text = raw.astype(object)
        blank = text.isna() | (text.astype(str).str.strip() == "")
        out = pd.to_numeric(text.where(~blank, None), errors="coerce").astype(float)
        bad = (out.isna() & ~blank).to_numpy()
        if bad.any():
            pos = _first_bad(bad)
            raise SchemaError(
                f"{_where(source, _row_of(df, pos))}: column {col!r} has {raw.iat[pos]!r}, "
                f"which is not a number; expected a non-negative number",
                source=source, row=_row_of(df, pos), column=col, value=raw.iat[pos],
            )
    neg = (out < 0).to_numpy()
    if neg.any():
        pos = _first_bad(neg)
        raise SchemaError(
            f"{_where(source, _row_of(df, pos))}: column {col!r} has {raw.iat[pos]!r}; "
            f"expected a non-negative number",
            source=source, row=_row_of(df, pos), column=col, value=raw.iat[pos],
        )
    return out


def _check_repeats(df: pd.DataFrame, source: str, allow_repeats: bool) -> pd.DataFrame:
    key = ["item_id", "annotator_id"]
    dup_any = df.duplicated(key, keep=False).to_numpy()
    if not dup_any.any() or allow_repeats:
        return df
    sub = df.loc[dup_any, [*key, "label", "_row"]]
    n_labels = sub.groupby(key, sort=False)["label"].transform("nunique").to_numpy()
    if (n_labels > 1).any():
        conflict = sub.loc[n_labels > 1]
        item, ann = conflict["item_id"].iat[0], conflict["annotator_id"].iat[0]
        rows = conflict[(conflict["item_id"] == item) & (conflict["annotator_id"] == ann)]
        pairs = ", ".join(f"row {r:,}: {lab!r}" for r, lab in zip(rows["_row"], rows["label"], strict=True))
        k = int(np.flatnonzero((rows["label"] != rows["label"].iat[0]).to_numpy())[0])
        raise SchemaError(
            f"{_where(source, int(rows['_row'].iat[k]))}: annotator {ann!r} judged item "
            f"{item!r} more than once with different answers ({pairs}); expected one answer "
            f"per annotator and item (pass allow_repeats=True to keep repeated ratings as "
            f"independent judgments, as in Dawid & Skene 1979)",
            source=source, row=int(rows["_row"].iat[k]), column="label",
            value=rows["label"].iat[k],
        )
    drop = df.duplicated([*key, "label"], keep="first").to_numpy()
    warnings.warn(
        f"{source}: dropped {int(drop.sum()):,} duplicate identical judgment(s) "
        f"(same item_id, annotator_id and label)",
        DuplicateJudgmentWarning,
        stacklevel=4,
    )
    return df.loc[~drop]


def _check_gold(df: pd.DataFrame, source: str) -> pd.DataFrame:
    dup = df.duplicated("item_id", keep=False).to_numpy()
    if dup.any():
        sub = df.loc[dup]
        n = sub.groupby("item_id", sort=False)["label"].transform("nunique").to_numpy()
        if (n > 1).any():
            conflict = sub.loc[n > 1]
            item = conflict["item_id"].iat[0]
            rows = conflict[conflict["item_id"] == item]
            pairs = ", ".join(f"row {r:,}: {lab!r}" for r, lab in zip(rows["_row"], rows["label"], strict=True))
            k = int(np.flatnonzero((rows["label"] != rows["label"].iat[0]).to_numpy())[0])
            raise SchemaError(
                f"{_where(source, int(rows['_row'].iat[k]))}: gold for item {item!r} "
                f"contradicts itself ({pairs}); expected one trusted answer per item",
                source=source, row=int(rows["_row"].iat[k]), column="label",
                value=rows["label"].iat[k],
            )
        df = df.loc[~df.duplicated("item_id", keep="first").to_numpy()]
    if "source" in df.columns:
        src = df["source"].astype(str).str.strip().str.lower()
        bad = ~(src.isin(GOLD_SOURCES) | (src == "")).to_numpy()
        if bad.any():
            pos = _first_bad(bad)
            raise SchemaError(
                f"{_where(source, _row_of(df, pos))}: column 'source' has "
                f"{df['source'].iat[pos]!r}; expected one of {list(GOLD_SOURCES)}",
                source=source, row=_row_of(df, pos), column="source", value=df["source"].iat[pos],
            )
    return df


def validate_labels(df, **kw):
    """Validate a labels table (see :func:`validate`)."""
    return validate(df, "labels", **kw)


def validate_gold(df, **kw):
    """Validate a gold table (see :func:`validate`)."""
    return validate(df, "gold", **kw)


def validate_annotators(df, **kw):
    """Validate an annotators table (see :func:`validate`)."""
    return validate(df, "annotators", **kw)


def validate_items(df, **kw):
    """Validate an items table (see :func:`validate`)."""
    return validate(df, "items", **kw)


# --------------------------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------------------------
@dataclass
class Dataset:
    """The validated tables of one labeling operation (or one market of it).

    Attributes
    ----------
    labels, gold, annotators, items : pandas.DataFrame or None
    label_set : list of str
        Declared label set, or the sorted union of labels and gold labels.
    fingerprint : str
        sha256 over the input files' bytes (or a canonical serialisation of in-memory tables).
    sources : dict
        Table name -> file path or query it came from.
    """

    labels: pd.DataFrame
    gold: pd.DataFrame | None = None
    annotators: pd.DataFrame | None = None
    items: pd.DataFrame | None = None
    label_set: list[str] = field(default_factory=list)
    fingerprint: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    _encoded: tuple = field(default=(), init=False, repr=False, compare=False)

    def encode(self) -> Encoded:
        """Integer encoding of labels (and gold) over this dataset's label set.

        Computed once and reused (with its sparse incidence) while ``labels`` and ``gold``
        are the same objects and ``label_set`` the same values, so every model fitted on the
        Dataset shares one encoding (assigning new tables re-encodes; editing a table in
        place does not).
        """
        cached = self._encoded
        if not (cached and cached[0] is self.labels and cached[1] is self.gold
                and cached[2] == tuple(self.label_set)):
            enc = encode(self.labels, gold=self.gold, classes=self.label_set)
            self._encoded = cached = (self.labels, self.gold, tuple(self.label_set), enc)
        return cached[3]

    def annotator_table(self) -> pd.DataFrame:
        """One row per annotator seen in labels: ``team``, ``market``, ``kind``.

        The annotators table wins where it has a value; otherwise the most frequent value of
        the labels' own ``team``/``market`` columns is used; ``kind`` defaults to ``human``.
        """
        ids = pd.Index(pd.unique(self.labels["annotator_id"]), name="annotator_id")
        out = pd.DataFrame(index=ids)
        for col in ("team", "market"):
            if col in self.labels.columns:
                out[col] = (self.labels.groupby("annotator_id")[col]
                            .agg(lambda s: s.mode().iat[0] if len(s.mode()) else None))
        if self.annotators is not None:
            ann = self.annotators.set_index("annotator_id")
            for col in ("team", "market", "kind", "cost_per_label", "capacity_per_day"):
                if col in ann.columns:
                    vals = ann[col].reindex(ids)
                    out[col] = vals.where(vals.notna(), out[col]) if col in out else vals
        if "kind" not in out:
            out["kind"] = "human"
        out["kind"] = out["kind"].fillna("human")
        return out

    def subset(self, *, market: str | None = None, since=None, until=None) -> Dataset:
        """The same dataset restricted to one market and/or a ``labeled_at`` period.

        ``since`` is inclusive and ``until`` exclusive. The fingerprint is kept (it describes
        the inputs); the restriction is part of the run's parameters.
        """
        lab = self.labels
        if market is not None:
            lab = lab[_market_of_labels(self, lab) == market]
            if len(lab) == 0:
                raise SchemaError(f"no labels for market {market!r}; markets present: "
                                  f"{sorted(pd.unique(_market_of_labels(self, self.labels)))}")
        if since is not None or until is not None:
            if "labeled_at" not in lab.columns:
                raise SchemaError("a period (since/until) needs the labels column 'labeled_at'",
                                  column="labeled_at")
            t = lab["labeled_at"]
            keep = np.ones(len(lab), bool)
            if since is not None:
                keep &= (t >= _utc(since)).to_numpy()
            if until is not None:
                keep &= (t < _utc(until)).to_numpy()
            lab = lab[keep]
        items = set(lab["item_id"])
        return Dataset(
            labels=lab.reset_index(drop=True),
            gold=None if self.gold is None else
            self.gold[self.gold["item_id"].isin(items)].reset_index(drop=True),
            annotators=self.annotators,
            items=None if self.items is None else
            self.items[self.items["item_id"].isin(items)].reset_index(drop=True),
            label_set=self.label_set,
            fingerprint=self.fingerprint,
            sources=self.sources,
        )


def _utc(value) -> pd.Timestamp:
    """A timestamp in UTC: naive values are taken as UTC, aware ones converted."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _market_of_labels(ds: Dataset, lab: pd.DataFrame) -> pd.Series:
    if "market" in lab.columns:
        return lab["market"]
    if ds.items is not None and "market" in ds.items.columns:
        return lab["item_id"].map(ds.items.set_index("item_id")["market"])
    if ds.annotators is not None and "market" in ds.annotators.columns:
        return lab["annotator_id"].map(ds.annotators.set_index("annotator_id")["market"])
    raise SchemaError("cannot select a market: no 'market' column in labels, items or annotators",
                      column="market")


def _find_table(directory: Path, kind: str) -> Path | None:
    for suffix in _SUFFIXES:
        p = directory / f"{kind}{suffix}"
        if p.exists():
            return p
    return None


def _sha256_files(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda q: q.name):
        h.update(p.name.encode())
        h.update(b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def fingerprint_frames(**frames: pd.DataFrame | None) -> str:
    """sha256 of a canonical CSV serialisation of in-memory tables (None tables skipped)."""
    h = hashlib.sha256()
    for name in sorted(frames):
        df = frames[name]
        if df is None:
            continue
        h.update(name.encode() + b"\0")
        cols = [c for c in df.columns if c != "_row"]
        h.update(pd.util.hash_pandas_object(df[cols].astype(str), index=False).to_numpy()
                 .tobytes())
        h.update(",".join(map(str, cols)).encode())
    return h.hexdigest()


def load(
    source: str | Path | None = None,
    *,
    labels: str | Path | None = None,
    gold: str | Path | None = None,
    annotators: str | Path | None = None,
    items: str | Path | None = None,
    query: str | None = None,
    label_set: Sequence[str] | None = None,
    label_set_origin: str = "the label_set parameter",
    market: str | None = None,
    since=None,
    until=None,
) -> Dataset:
    """Load and validate a dataset.

    Parameters
    ----------
    source : str or Path, optional
        A directory holding ``labels.*`` (and optionally ``gold.*``, ``annotators.*``,
        ``items.*``; CSV or Parquet), or a single labels file.
    labels, gold, annotators, items : str or Path, optional
        Explicit files; they override what ``source`` provides.
    query : str, optional
        A DuckDB SQL query whose result is the labels table, e.g.
        ``"SELECT * FROM 'logs/*.parquet' WHERE market = 'SG'"``.
    label_set : sequence of str, optional
        Declared label set; labels or gold outside it are errors.
    market : str, optional
        Keep only this market (see :meth:`Dataset.subset`).
    since, until : date-like, optional
        Keep only judgments with ``since <= labeled_at < until``.

    Returns
    -------
    Dataset

    Raises
    ------
    SchemaError
        The first problem found, located by file, row and column.
    """
    paths: dict[str, Path] = {}
    if source is not None:
        src = Path(source)
        if src.is_dir():
            for kind in TABLES:
                p = _find_table(src, kind)
                if p is not None:
                    paths[kind] = p
            if "labels" not in paths and query is None:
                raise SchemaError(
                    f"{src}: no labels table found; expected labels.csv or labels.parquet "
                    f"in this directory", source=str(src))
        elif src.exists():
            paths["labels"] = src
        else:
            raise SchemaError(f"{src}: no such file or directory", source=str(src))
    for kind, p in (("labels", labels), ("gold", gold), ("annotators", annotators),
                    ("items", items)):
        if p is not None:
            paths[kind] = Path(p)
    tables: dict[str, pd.DataFrame | None] = dict.fromkeys(TABLES)
    sources = {k: str(v) for k, v in paths.items()}
    for kind, p in paths.items():
        if kind == "labels" and query is not None:
            continue
        tables[kind] = read_table(p, kind, label_set=label_set if kind in ("labels", "gold")
                                  else None, label_set_origin=label_set_origin)
    if query is not None:
        import duckdb

        try:
            df = duckdb.sql(query).df()
        except duckdb.Error as exc:
            raise SchemaError(f"DuckDB query failed: {exc}", source="query") from None
        tables["labels"] = validate(df, "labels", source="query result", label_set=label_set,
                                    label_set_origin=label_set_origin)
        sources["labels"] = query
    if tables["labels"] is None:
        raise SchemaError("no labels given: pass a directory, a labels file or a query")
    if label_set is None:
        found = set(tables["labels"]["label"])
        if tables["gold"] is not None:
            found |= set(tables["gold"]["label"])
        label_set = sorted(found)
    file_paths = [p for k, p in paths.items() if not (k == "labels" and query is not None)]
    fp = _sha256_files(file_paths)
    if query is not None:
        fp = hashlib.sha256((fp + fingerprint_frames(labels=tables["labels"])).encode()).hexdigest()
    ds = Dataset(
        labels=tables["labels"], gold=tables["gold"], annotators=tables["annotators"],
        items=tables["items"], label_set=[str(x) for x in label_set], fingerprint=fp,
        sources=sources,
    )
    if market is not None or since is not None or until is not None:
        ds = ds.subset(market=market, since=since, until=until)
    return ds


# --------------------------------------------------------------------------------------------
# encoding
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Encoded:
    """Integer encoding of a labels table.

    Attributes
    ----------
    item_ids, annotator_ids, classes : numpy.ndarray
        Code -> original id / label (``classes`` are strings, in the order of the declared or
        sorted label set).
    item, annotator, label : numpy.ndarray of int32
        Per-judgment codes.
    gold : numpy.ndarray of int
        Per item, the gold class code, or -1 where the item has no gold.
    """

    item_ids: np.ndarray
    annotator_ids: np.ndarray
    classes: np.ndarray
    item: np.ndarray
    annotator: np.ndarray
    label: np.ndarray
    gold: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_annotators(self) -> int:
        return len(self.annotator_ids)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_judgments(self) -> int:
        return len(self.item)

    @property
    def incidence(self) -> sp.csr_matrix:
        """Sparse item x (annotator * n_classes + label) matrix of judgment counts.

        One entry of 1 per judgment, rows in item order: a repeated (item, annotator, label)
        judgment is a second entry in the same cell, which every sparse product adds (the
        entries are deliberately not summed, since sorting them costs more than the whole
        conversion).
        """
        if "incidence" not in self._cache:
            n_cols = self.n_annotators * self.n_classes
            dtype = np.int32 if n_cols < np.iinfo(np.int32).max else np.int64
            cols = self.annotator.astype(dtype) * dtype(self.n_classes) + self.label
            coo = sp.coo_matrix((np.ones(self.n_judgments, dtype=np.float64), (self.item, cols)),
                                shape=(self.n_items, n_cols))
            coo.has_canonical_format = True  # tocsr: bucket rows, skip sorting/summing cells
            self._cache["incidence"] = coo.tocsr()
        return self._cache["incidence"]

    @property
    def incidence_t(self) -> sp.csr_matrix:
        """Transpose of :attr:`incidence`, stored row-major for fast M-steps."""
        if "incidence_t" not in self._cache:
            self._cache["incidence_t"] = self.incidence.T.tocsr()
        return self._cache["incidence_t"]

    @property
    def item_counts(self) -> sp.csr_matrix:
        """Sparse item x class matrix of vote counts (majority-vote tallies)."""
        if "item_counts" not in self._cache:
            m = sp.csr_matrix(
                (np.ones(self.n_judgments), (self.item, self.label)),
                shape=(self.n_items, self.n_classes),
            )
            m.sum_duplicates()
            self._cache["item_counts"] = m
        return self._cache["item_counts"]

    @property
    def has_gold(self) -> np.ndarray:
        return self.gold >= 0

    def labels_frame(self) -> pd.DataFrame:
        """Decode back to a long labels table."""
        return pd.DataFrame({
            "item_id": self.item_ids[self.item],
            "annotator_id": self.annotator_ids[self.annotator],
            "label": self.classes[self.label],
        })


def _factorize(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for missing) and uniques of a column, in order of first appearance.

    Arrow-backed columns (pandas' default string dtype) are dictionary-encoded by pyarrow and
    their int32 indices used as they are; anything else goes through :func:`pandas.factorize`.
    """
    arrow = getattr(col.array, "__arrow_array__", None)
    if arrow is None or isinstance(col.dtype, pd.CategoricalDtype):
        return pd.factorize(col, sort=False)
    encoded = pa.chunked_array(arrow()).dictionary_encode().combine_chunks()
    indices = encoded.indices
    if indices.null_count:
        indices = indices.fill_null(-1)
    return (indices.to_numpy(zero_copy_only=False),
            encoded.dictionary.to_numpy(zero_copy_only=False))


def encode(
    labels: pd.DataFrame,
    gold: pd.DataFrame | None = None,
    classes: Sequence[str] | None = None,
) -> Encoded:
    """Encode a labels table (and gold) to integer codes.

    Parameters
    ----------
    labels : DataFrame
        Columns ``item_id``, ``annotator_id``, ``label``. Repeated (item, annotator) pairs are
        kept as independent judgments (validate with :func:`validate_labels` first to reject
        them).
    gold : DataFrame, optional
        Columns ``item_id``, ``label``. Gold items without labels are ignored.
    classes : sequence of str, optional
        The label set, in order. Default: sorted union of labels and gold labels.

    Returns
    -------
    Encoded
    """
    missing = [c for c in REQUIRED["labels"] if c not in labels.columns]
    if missing:
        raise SchemaError(f"labels: missing required column {missing[0]!r}", column=missing[0])
    # Codes straight from pyarrow's dictionary encoding for Arrow-backed columns (no Python
    # object per judgment; it releases the GIL, so a large table's item column is encoded in a
    # second thread); labels map through their few distinct values.
    if len(labels) >= _THREADED_ENCODE_ROWS:
        with ThreadPoolExecutor(1) as pool:
            items = pool.submit(_factorize, labels["item_id"])
            ann_codes, ann_ids = _factorize(labels["annotator_id"])
            lab_codes_u, lab_u = _factorize(labels["label"])
            item_codes, item_ids = items.result()
    else:
        item_codes, item_ids = _factorize(labels["item_id"])
        ann_codes, ann_ids = _factorize(labels["annotator_id"])
        lab_codes_u, lab_u = _factorize(labels["label"])
    for col, codes in (("item_id", item_codes), ("annotator_id", ann_codes)):
        if (codes < 0).any():
            pos = int(np.flatnonzero(codes < 0)[0])
            raise SchemaError(f"labels row {pos + 1:,}: column {col!r} is empty; expected a "
                              f"non-empty {col}", row=pos + 1, column=col, value=None)
    lab_u = np.asarray(pd.Index(lab_u).astype(str), dtype=object)
    if classes is None:
        found = set(lab_u)
        if gold is not None:
            found |= set(gold["label"].astype(str))
        classes = sorted(found)
    classes = np.asarray([str(c) for c in classes], dtype=object)
    lab_index = pd.Index(classes)
    lab_codes = lab_index.get_indexer(lab_u)[lab_codes_u]
    if (lab_codes_u < 0).any() or (lab_codes < 0).any():
        pos = int(np.flatnonzero((lab_codes_u < 0) | (lab_codes < 0))[0])
        bad = labels["label"].iat[pos]
        raise SchemaError(
            f"labels row {pos + 1:,}: column 'label' has {bad!r}, which is not in the "
            f"label set {list(classes)}", row=pos + 1, column="label", value=bad)
    gold_codes = np.full(len(item_ids), -1, dtype=np.int64)
    if gold is not None and len(gold):
        g_items = pd.Index(item_ids).get_indexer(gold["item_id"].to_numpy())
        g_lab = lab_index.get_indexer(gold["label"].astype(str).to_numpy())
        if (g_lab < 0).any():
            pos = int(np.flatnonzero(g_lab < 0)[0])
            raise SchemaError(
                f"gold row {pos + 1:,}: column 'label' has {gold['label'].iat[pos]!r}, which is "
                f"not in the label set {list(classes)}", row=pos + 1, column="label",
                value=gold["label"].iat[pos])
        ok = g_items >= 0
        gold_codes[g_items[ok]] = g_lab[ok]
    return Encoded(
        item_ids=np.asarray(item_ids, dtype=object),
        annotator_ids=np.asarray(ann_ids, dtype=object),
        classes=classes,
        item=item_codes.astype(np.int32, copy=False),
        annotator=ann_codes.astype(np.int32, copy=False),
        label=lab_codes.astype(np.int32),
        gold=gold_codes,
    )


def as_encoded(labels, gold=None, classes=None) -> Encoded:
    """Accept an :class:`Encoded`, a :class:`Dataset` or a labels DataFrame; return Encoded.

    An :class:`Encoded` passed with a ``gold`` table gets that gold applied.
    """
    if isinstance(labels, Encoded):
        if gold is None:
            return labels
        g_items = pd.Index(labels.item_ids).get_indexer(gold["item_id"].to_numpy())
        g_lab = pd.Index(labels.classes).get_indexer(gold["label"].astype(str).to_numpy())
        codes = np.full(labels.n_items, -1, dtype=np.int64)
        ok = (g_items >= 0) & (g_lab >= 0)
        codes[g_items[ok]] = g_lab[ok]
        return Encoded(labels.item_ids, labels.annotator_ids, labels.classes, labels.item,
                       labels.annotator, labels.label, codes, labels._cache)
    if isinstance(labels, Dataset):
        if gold is None and classes is None:
            return labels.encode()
        return encode(labels.labels, gold=gold if gold is not None else labels.gold,
                      classes=classes if classes is not None else labels.label_set)
    return encode(labels, gold=gold, classes=classes)
