"""Validation of one table against the data contract, with Arrow compute (not row-wise pandas).

:func:`validate_arrow` checks an Arrow table and returns the clean pandas table; for a labels
table it also returns the integer codes it computed on the way (items, annotators, labels),
so :func:`insights.data.load` hands models an encoding without hashing the ids twice.
:func:`validate` is the pandas entry point.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from insights.data.contract import (
    ANNOTATOR_KINDS,
    GOLD_SOURCES,
    ID_COLUMNS,
    MISSING_LABELS,
    NUMBER_COLUMNS,
    REQUIRED,
    TABLES,
    TIME_COLUMNS,
    Names,
    SchemaError,
    where,
)
from insights.data.repeats import RepeatStats, check_duplicates, check_policy, resolve_repeats

__all__ = ["LabelCodes", "validate", "validate_arrow", "validate_labels", "validate_gold",
           "validate_annotators", "validate_items"]

#: Labels tables at least this long encode their item column in a second thread.
THREADED_ROWS = 200_000


@dataclass(frozen=True)
class LabelCodes:
    """Codes of a validated labels table (first-appearance order), as :func:`encode` makes."""

    item: np.ndarray
    item_ids: np.ndarray
    annotator: np.ndarray
    annotator_ids: np.ndarray
    label: np.ndarray          # codes into label_values
    label_values: np.ndarray
    stats: RepeatStats
    item_order: np.ndarray | None = None  #: positions grouped by item, file order within


def _value(col: pa.ChunkedArray, pos: int):
    return col[pos].as_py()


def _row(table: pa.Table, pos: int) -> int:
    return int(table.column("_row")[pos].as_py())


def _first_true(mask) -> int:
    return int(pc.index(mask, True).as_py())


def _as_text(table: pa.Table, col: str, source: str, names: Names) -> pa.ChunkedArray:
    """An id or label column as Arrow strings; integers are written in decimal."""
    arr = table.column(col)
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = pc.cast(arr, t.value_type)
        t = arr.type
    if pa.types.is_string(t):
        return arr
    if pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_integer(t):
        return pc.cast(arr, pa.string())
    if pa.types.is_null(t):
        return pc.cast(arr, pa.string())
    valid = pc.is_valid(arr)
    pos = _first_true(valid) if pc.any(valid).as_py() else 0
    example = _value(arr, pos) if len(arr) else None
    hint = (" (a float id or label such as 1.0 does not equal the text '1': write the column "
            "as strings or integers)" if pa.types.is_floating(t) else "")
    raise SchemaError(
        f"{where(source, _row(table, pos))}: column {names.show(col)} holds {t} values "
        f"({example!r}); expected text (strings or integers){hint}",
        source=source, row=_row(table, pos), column=names.user(col), value=example)


def _empty_error(table: pa.Table, col: str, pos: int, source: str, names: Names, what: str
                 ) -> SchemaError:
    value = _value(table.column(col), pos)
    return SchemaError(
        f"{where(source, _row(table, pos))}: column {names.show(col)} is empty; expected "
        f"a non-empty {what}", source=source, row=_row(table, pos), column=names.user(col),
        value=value)


@dataclass(frozen=True)
class _Coded:
    """An id/label column as codes: ``values[codes]`` (``arrow`` the same values as Arrow
    large strings); ``column``: the column itself when stripping changed nothing (else None)."""

    codes: np.ndarray
    values: np.ndarray
    arrow: pa.Array
    column: pa.ChunkedArray | None = None

    def take(self, keep: np.ndarray) -> _Coded:
        column = None if self.column is None else self.column.take(pa.array(keep))
        return _Coded(self.codes[keep], self.values, self.arrow, column)

    def text(self) -> pa.Array | pa.ChunkedArray:
        """The column as text (stripped)."""
        return self.column if self.column is not None else self.arrow.take(pa.array(self.codes))


def _encode_text(table: pa.Table, col: str, source: str, names: Names, what: str) -> _Coded:
    """An id/label column as codes over its distinct stripped values, hashing each string once.

    The strings are dictionary-encoded as they are (a column read as a dictionary already is),
    then only the distinct values are stripped: values equal once stripped merge, in order of
    first appearance (the codes of stripping every value first). A null or empty value is an
    error at its first row.

    On 2M distinct item ids in 10.5M rows this strips 2M strings instead of 10.5M; when
    stripping changes no value (the usual case) the column is kept as read, not rebuilt from
    the codes, and the stripped values are not hashed again.
    """
    arr = table.column(col)
    column = None
    if pa.types.is_dictionary(arr.type):
        dic = arr.combine_chunks()  # read_raw unified the chunks' dictionaries
        if isinstance(dic, pa.ChunkedArray):  # pragma: no cover - pyarrow < 17
            dic = dic.chunk(0)
        indices = dic.indices
        indices = (pc.fill_null(indices, -1) if indices.null_count else indices
                   ).to_numpy(zero_copy_only=False)
        values = dic.dictionary
        if not pa.types.is_string(values.type):
            values = _as_text(pa.table({col: values, "_row": pa.array(
                np.zeros(len(values), dtype=np.int64))}), col, source, names)
            values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    else:
        column = _as_text(table, col, source, names)
        indices, values = _memo_encode(column)
    trimmed = pc.utf8_trim_whitespace(values)
    if pc.all(pc.equal(trimmed, values)).as_py() is not False:  # distinct already
        uniq, codes = values, indices
        empty = pc.equal(uniq, "").to_numpy(zero_copy_only=False)
        if empty.any():
            codes = np.where(empty[codes] | (codes < 0), np.int32(-1), codes)
    else:
        column = None
        merged = trimmed.dictionary_encode()
        uniq = merged.dictionary
        remap = merged.indices.to_numpy(zero_copy_only=False).astype(np.int32)
        empty = pc.equal(uniq, "").to_numpy(zero_copy_only=False)
        if empty.any():
            remap[empty[remap]] = -1
        codes = np.append(remap, np.int32(-1))[indices]     # a null's index -1 -> code -1
    if (empty.any() or indices.min(initial=0) < 0) and codes.min() < 0:
        raise _empty_error(table, col, int(np.argmax(codes < 0)), source, names, what)
    if pa.types.is_dictionary(arr.type):  # (an unused "" too)
        used = np.bincount(codes, minlength=len(uniq)) > 0
        if not used.all():  # values of rows filtered out (another market): not this table's
            codes = (np.cumsum(used) - 1).astype(np.int32)[codes]
            uniq = uniq.filter(pa.array(used))
    return _Coded(codes, uniq.to_numpy(zero_copy_only=False).astype(object),
                  uniq.cast(pa.large_string()), column)


def _check_labels(table: pa.Table, codes: np.ndarray, values: np.ndarray, source: str,
                  names: Names, label_set: Sequence[str] | None, origin: str) -> None:
    """Missing-value strings and labels outside the declared set, checked on the distinct
    values, then located at their first row."""
    declared = None if label_set is None else {str(x) for x in label_set}
    used = np.bincount(codes, minlength=len(values)) > 0  # a dictionary may hold unused values
    missing = used & np.array([str(v).lower() in MISSING_LABELS
                               and (declared is None or v not in declared) for v in values],
                              dtype=bool)
    if missing.any():
        pos = int(np.flatnonzero(np.isin(codes, np.flatnonzero(missing)))[0])
        v = values[codes[pos]]
        raise SchemaError(
            f"{where(source, _row(table, pos))}: column {names.show('label')} has {v!r}, which "
            f"means a missing answer, not a class; expected a label (remove the row, or "
            f"declare {v!r} in the label set if it is a class)",
            source=source, row=_row(table, pos), column=names.user("label"), value=v)
    if declared is not None:
        outside = used & np.array([v not in declared for v in values], dtype=bool)
        if outside.any():
            pos = int(np.flatnonzero(np.isin(codes, np.flatnonzero(outside)))[0])
            v = values[codes[pos]]
            raise SchemaError(
                f"{where(source, _row(table, pos))}: column {names.show('label')} has {v!r}, "
                f"which is not in the label set {sorted(declared)} declared in {origin}",
                source=source, row=_row(table, pos), column=names.user("label"), value=v)


def _memo_encode(arr: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Indices (int32, -1 for a null) and distinct values of a string column, in order of
    first appearance.

    A chunked column is encoded chunk by chunk with one memo table (Arrow gives every chunk
    the dictionary built so far, so each is a prefix of the last and the codes agree across
    chunks): 2.6 s instead of 3.7-5.5 s for concatenating first, on 2M distinct item ids in
    10.5M rows."""
    def indices_of(c: pa.DictionaryArray) -> np.ndarray:
        ind = c.indices
        return (pc.fill_null(ind, -1) if ind.null_count else ind
                ).to_numpy(zero_copy_only=False)

    def whole(a: pa.Array) -> tuple[np.ndarray, pa.Array]:
        enc = a.dictionary_encode()
        return indices_of(enc), enc.dictionary

    if arr.num_chunks <= 1:
        indices, dictionary = whole(arr.chunk(0) if arr.num_chunks else arr.combine_chunks())
    else:
        enc = arr.dictionary_encode()
        dictionary = enc.chunk(enc.num_chunks - 1).dictionary
        first = enc.chunk(0).dictionary
        if first.equals(dictionary.slice(0, len(first))):
            indices = np.concatenate([indices_of(c) for c in enc.chunks])
        else:  # pragma: no cover - only if Arrow stops sharing the memo table across chunks
            indices, dictionary = whole(arr.combine_chunks())
    return indices.astype(np.int32, copy=False), dictionary


def _parse_times(table: pa.Table, col: str, source: str, names: Names,
                 date_format: str | None) -> pd.Series:
    arr = table.column(col)
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = pc.cast(arr, t.value_type)
        t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        out = pd.Series(pd.to_datetime(arr.to_pandas()))
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        text = arr.to_pandas().astype(object)
        blank = (text.isna() | (text.astype(str).str.strip() == "")).to_numpy()
        values = text.where(~blank, None)
        fmt = date_format or "ISO8601"
        out = pd.to_datetime(values, errors="coerce", utc=True, format=fmt)
        bad = (out.isna().to_numpy() & ~blank)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            v = text.iat[pos]
            if date_format:
                expected = f"a timestamp in the declared format {date_format!r} (--date-format)"
            else:
                expected = ("ISO 8601 such as 2026-03-09T14:05:00Z (dates like 03/04/2026 are "
                            "ambiguous: convert them, or declare the format with --date-format "
                            "'%d/%m/%Y' / date_format= in data.load)")
            raise SchemaError(
                f"{where(source, _row(table, pos))}: column {names.show(col)} has {v!r}, which "
                f"is not a timestamp; expected {expected}",
                source=source, row=_row(table, pos), column=names.user(col), value=v)
    else:
        valid = pc.is_valid(arr)
        pos = _first_true(valid) if pc.any(valid).as_py() else 0
        v = _value(arr, pos)
        raise SchemaError(
            f"{where(source, _row(table, pos))}: column {names.show(col)} holds {t} values "
            f"({v!r}); expected timestamps (a Parquet timestamp column or ISO 8601 text): a "
            f"number is ambiguous (seconds, milliseconds or days since when?)",
            source=source, row=_row(table, pos), column=names.user(col), value=v)
    out = pd.Series(out).reset_index(drop=True)
    if getattr(out.dt, "tz", None) is None:
        out = out.dt.tz_localize("UTC")
    return out.dt.tz_convert("UTC").reset_index(drop=True)


def _parse_numbers(table: pa.Table, col: str, source: str, names: Names) -> np.ndarray:
    arr = table.column(col)
    t = arr.type
    raw = None
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        out = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        raw = arr.to_pandas().astype(object)
        blank = (raw.isna() | (raw.astype(str).str.strip() == "")).to_numpy()
        out = pd.to_numeric(raw.where(~blank, None), errors="coerce").astype(float).to_numpy()
        bad = np.isnan(out) & ~blank
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise SchemaError(
                f"{where(source, _row(table, pos))}: column {names.show(col)} has "
                f"{raw.iat[pos]!r}, which is not a number; expected a non-negative number",
                source=source, row=_row(table, pos), column=names.user(col), value=raw.iat[pos])
    else:
        raise SchemaError(f"{source}: column {names.show(col)} holds {t} values; expected "
                          f"numbers", source=source, column=names.user(col))
    bad = np.isinf(out) | (out < 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        v = raw.iat[pos] if raw is not None else out[pos]
        raise SchemaError(
            f"{where(source, _row(table, pos))}: column {names.show(col)} has {v!r}; expected "
            f"a finite non-negative number", source=source, row=_row(table, pos),
            column=names.user(col), value=v)
    return out


def _check_choice(df: pd.DataFrame, col: str, choices: Sequence[str], source: str,
                  names: Names, *, blank_ok: bool) -> None:
    values = df[col].astype(object).fillna("").astype(str).str.strip().str.lower()
    ok = values.isin(choices) | ((values == "") if blank_ok else False)
    bad = ~ok.to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        row = int(df["_row"].iat[pos])
        raise SchemaError(
            f"{where(source, row)}: column {names.show(col)} has {df[col].iat[pos]!r}; expected "
            f"one of {list(choices)}", source=source, row=row, column=names.user(col),
            value=df[col].iat[pos])
    df[col] = values.to_numpy(dtype=object)


def _check_unique_key(df: pd.DataFrame, key: str, source: str, names: Names) -> None:
    dup = df[key].duplicated(keep="first").to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        value = df[key].iat[pos]
        first = int(df["_row"].iat[int(np.flatnonzero((df[key] == value).to_numpy())[0])])
        row = int(df["_row"].iat[pos])
        raise SchemaError(
            f"{where(source, row)}: column {names.show(key)} has {value!r} again (first at row "
            f"{first:,}); expected one row per {key}", source=source, row=row,
            column=names.user(key), value=value)


def _check_gold(df: pd.DataFrame, source: str, names: Names) -> pd.DataFrame:
    dup = df.duplicated("item_id", keep=False).to_numpy()
    if not dup.any():
        return df
    sub = df.loc[dup]
    n = sub.groupby("item_id", sort=False)["label"].transform("nunique").to_numpy()
    if (n > 1).any():
        conflict = sub.loc[n > 1]
        item = conflict["item_id"].iat[0]
        rows = conflict[conflict["item_id"] == item]
        pairs = ", ".join(f"row {r:,}: {lab!r}"
                          for r, lab in zip(rows["_row"], rows["label"], strict=True))
        k = int(np.flatnonzero((rows["label"] != rows["label"].iat[0]).to_numpy())[0])
        raise SchemaError(
            f"{where(source, int(rows['_row'].iat[k]))}: gold for item {item!r} contradicts "
            f"itself ({pairs}); expected one trusted answer per item",
            source=source, row=int(rows["_row"].iat[k]), column=names.user("label"),
            value=rows["label"].iat[k])
    return df.loc[~df.duplicated("item_id", keep="first").to_numpy()]


def check_required(table: pa.Table, kind: str, source: str, names: Names) -> None:
    """A missing required column is an error naming it (as the user calls it)."""
    missing = [c for c in REQUIRED[kind] if c not in table.column_names]
    if missing:
        found = [c if c not in names.mapping else names.user(c)
                 for c in table.column_names if c != "_row"]
        raise SchemaError(
            f"{source}: missing required column {names.show(missing[0])} (found columns "
            f"{found}; a {kind} table needs {[names.user(c) for c in REQUIRED[kind]]})",
            source=source, column=names.user(missing[0]))


def validate_arrow(
    table: pa.Table,
    kind: str,
    *,
    source: str,
    names: Names | None = None,
    label_set: Sequence[str] | None = None,
    label_set_origin: str = "the label_set parameter",
    repeats: str | None = "keep",
    date_format: str | None = None,
    stacklevel: int = 2,
    duplicates: str | None = "drop",
) -> tuple[pd.DataFrame, LabelCodes | None]:
    """Validate an Arrow table of the given kind (columns already mapped, ``_row`` present).

    Returns the clean pandas table (ids and labels stripped strings, times
    ``datetime64[ns, UTC]``, numbers float) and, for labels, their :class:`LabelCodes`.
    """
    if kind not in REQUIRED:
        raise ValueError(f"kind must be one of {TABLES}, got {kind!r}")
    names = names or Names()
    policy = check_policy(repeats)
    duplicates = check_duplicates(duplicates)
    if "_row" not in table.column_names:
        table = table.add_column(0, "_row", pa.array(np.arange(1, table.num_rows + 1)))
    if table.num_rows == 0:
        raise SchemaError(f"{source} is empty: expected at least one row with columns "
                          f"{', '.join(names.user(c) for c in REQUIRED[kind])}", source=source)
    check_required(table, kind, source, names)
    columns = list(table.column_names)
    text_cols = (*ID_COLUMNS[kind], *(("label",) if "label" in REQUIRED[kind] else ()))

    def encoded(c: str) -> _Coded:
        return _encode_text(table, c, source, names, c)

    def parse_rest() -> tuple[dict, dict]:
        return ({c: _parse_times(table, c, source, names, date_format)
                 for c in TIME_COLUMNS[kind] if c in table.column_names},
                {c: _parse_numbers(table, c, source, names)
                 for c in NUMBER_COLUMNS[kind] if c in table.column_names})

    lab_codes = lab_values = None
    if kind == "labels" and table.num_rows >= THREADED_ROWS:
        # the item ids (the most distinct strings) are hashed in a second thread (Arrow
        # releases the GIL) while this one does the other columns; errors in column order
        with ThreadPoolExecutor(1) as pool:
            fut = pool.submit(encoded, "item_id")
            try:
                coded = {c: encoded(c) for c in text_cols[1:]}
                lab_codes, lab_values = coded["label"].codes, coded["label"].values
                _check_labels(table, lab_codes, lab_values, source, names, label_set,
                              label_set_origin)
                times, numbers = parse_rest()
            except SchemaError:
                fut.result()  # an item_id error is the first one
                raise
            coded = {"item_id": fut.result(), **coded}
    else:
        coded = {c: encoded(c) for c in text_cols}
        if "label" in coded:
            lab_codes, lab_values = coded["label"].codes, coded["label"].values
            _check_labels(table, lab_codes, lab_values, source, names, label_set,
                          label_set_origin)
        times, numbers = parse_rest()
    codes = None
    if kind == "labels":
        item, item_ids = coded["item_id"].codes, coded["item_id"].values
        ann, ann_ids = coded["annotator_id"].codes, coded["annotator_id"].values
        t = times.get("labeled_at")
        keep, stats, item_order = resolve_repeats(
            item, ann, lab_codes, table.column("_row").to_numpy(),
            n_annotators=len(ann_ids), n_labels=len(lab_values), item_ids=item_ids,
            annotator_ids=ann_ids, label_values=lab_values,
            times=None if t is None else t.array.as_unit("ns").asi8,
            policy=policy, duplicates=duplicates, source=source, names=names,
            stacklevel=stacklevel + 1, return_item_order=True)
        if keep is not None:
            table = table.drop_columns(list(coded)).take(pa.array(keep))
            coded = {c: v.take(keep) for c, v in coded.items()}
            item, ann = coded["item_id"].codes, coded["annotator_id"].codes
            lab_codes = coded["label"].codes
            times = {c: s.iloc[keep].reset_index(drop=True) for c, s in times.items()}
            numbers = {c: v[keep] for c, v in numbers.items()}
        codes = LabelCodes(item, item_ids, ann, ann_ids, lab_codes, lab_values, stats,
                           item_order)
    order = [c for c in columns if c in table.column_names or c in coded]
    for c, v in coded.items():  # the tables hold strings
        decoded = v.text()
        if c in table.column_names:
            table = table.set_column(table.column_names.index(c), c, decoded)
        else:
            table = table.append_column(c, decoded)
    table = table.select(order)
    df = table.drop_columns([*times, *numbers]).to_pandas()
    for c, s in times.items():
        df[c] = s.array
    for c, v in numbers.items():
        df[c] = v
    df = df[order]
    if kind == "annotators" and "kind" in df.columns:
        _check_choice(df, "kind", ANNOTATOR_KINDS, source, names, blank_ok=False)
    if kind == "gold":
        df = _check_gold(df, source, names)
        if "source" in df.columns:
            _check_choice(df, "source", GOLD_SOURCES, source, names, blank_ok=True)
    elif kind in ("annotators", "items"):
        _check_unique_key(df, ID_COLUMNS[kind][0], source, names)
    return df.reset_index(drop=True), codes


def _from_pandas(df: pd.DataFrame, kind: str) -> pa.Table:
    """An Arrow table of a pandas table (any column pyarrow cannot type becomes text)."""
    text_cols = (*ID_COLUMNS[kind], "label")
    cols, fields = [], []
    for name in df.columns:
        s = df[name]
        if name in text_cols and (s.dtype == object or isinstance(s.dtype, pd.CategoricalDtype)):
            s = s.astype("string")
        try:
            arr = pa.array(s, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            arr = pa.array(s.astype("string"), from_pandas=True)
        cols.append(arr)
        fields.append(str(name))
    return pa.table(cols, names=fields)


def validate(df: pd.DataFrame, kind: str, *, source: str | None = None,
             label_set: Sequence[str] | None = None,
             label_set_origin: str = "the label_set parameter",
             allow_repeats: bool | None = None, repeats: str | None = None,
             date_format: str | None = None, duplicates: str = "drop") -> pd.DataFrame:
    """Validate a pandas table of the given kind; returns a clean copy (inputs are not touched).

    Parameters
    ----------
    df : pandas.DataFrame
    kind : {"labels", "gold", "annotators", "items"}
    source : str, optional
        Name used in messages (default: ``"<kind> table"``).
    label_set : sequence of str, optional
        Declared labels; any other label is an error.
    label_set_origin : str
        Where the label set was declared, quoted in error messages.
    repeats : {"keep", "last", "first", "error"}, default "keep"
        Policy for an annotator who judged an item more than once with different answers
        (see :mod:`insights.data.repeats`).
    allow_repeats : bool, optional
        Deprecated spelling: ``True`` is ``repeats="keep"``, ``False`` is ``"error"``.
    date_format : str, optional
        ``strftime`` format of text timestamps (default ISO 8601 only).
    duplicates : {"drop", "keep"}, default "drop"
        Identical repeated judgments: dropped with a warning, or kept as independent ratings.
    """
    if repeats is None:
        repeats = "keep" if allow_repeats is None or allow_repeats else "error"
    table = _from_pandas(df, kind)
    out, _ = validate_arrow(table, kind, source=source or f"{kind} table", label_set=label_set,
                            label_set_origin=label_set_origin, repeats=repeats,
                            date_format=date_format, stacklevel=3, duplicates=duplicates)
    return out


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
