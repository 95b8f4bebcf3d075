"""Loading a dataset: read, map columns, select a market, validate, encode once."""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from insights.data.contract import (
    TABLES,
    GoldClassNotJudgedWarning,
    GoldWithoutLabelsWarning,
    Names,
    SchemaError,
    check_columns_mapping,
)
from insights.data.dataset import Dataset, fingerprint_frames, sha256_files
from insights.data.encoding import Encoded, gold_codes
from insights.data.read import apply_columns, read_raw, resolve_paths
from insights.data.repeats import RepeatStats, check_duplicates, check_policy
from insights.data.validation import LabelCodes, check_required, validate_arrow

__all__ = ["load", "read_table"]

logger = logging.getLogger(__name__)


def read_table(path: str | Path, kind: str, *, label_set: Sequence[str] | None = None,
               label_set_origin: str = "the label_set parameter",
               columns: Mapping[str, str] | None = None, encoding: str = "utf-8",
               date_format: str | None = None, repeats: str | None = "keep",
               duplicates: str = "drop") -> pd.DataFrame:
    """Read one table from CSV (optionally gzip) or Parquet and validate it.

    Parameters
    ----------
    path : str or Path
    kind : {"labels", "gold", "annotators", "items"}
    label_set : sequence of str, optional
        Declared labels; any other label is an error.
    label_set_origin : str
        Where the label set was declared, quoted in error messages.
    columns, encoding, date_format, repeats, duplicates
        As in :func:`load`.

    Returns
    -------
    pandas.DataFrame
        Validated table; ids and labels are strings, times are ``datetime64[ns, UTC]``.

    Raises
    ------
    SchemaError
        With file, row, column, value and expectation.
    """
    columns = check_columns_mapping(columns)
    table, names = read_raw(path, kind, columns=columns, encoding=encoding)
    df, _ = validate_arrow(table, kind, source=Path(path).name, names=names,
                           label_set=label_set, label_set_origin=label_set_origin,
                           repeats=repeats, date_format=date_format, stacklevel=3,
                           duplicates=duplicates)
    return df


def _key_text(table: pa.Table, col: str) -> pa.ChunkedArray | None:
    """A column as stripped text for matching (None when it cannot be text)."""
    arr = table.column(col)
    try:
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            if not (pa.types.is_integer(arr.type) or pa.types.is_dictionary(arr.type)
                    or pa.types.is_string_view(arr.type)):
                return None
            arr = pc.cast(arr, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pc.utf8_trim_whitespace(arr)


def _keep_in(table: pa.Table, col: str, values) -> pa.Table:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    key = _key_text(table, col)
    if key is None:  # e.g. float ids: validation reports them
        return table
    return table.filter(pc.fill_null(pc.is_in(key, value_set=values), False))


def _select_market(raw: dict[str, pa.Table], market: str, names: Names) -> dict[str, pa.Table]:
    """Only market ``market``'s rows of every table, before any validation (isolation)."""
    lab = raw["labels"]
    market = str(market).strip()

    def in_market(table: pa.Table) -> pa.ChunkedArray:
        col = _key_text(table, "market")
        if col is None:
            col = pc.utf8_trim_whitespace(pc.cast(table.column("market"), pa.string()))
        return pc.fill_null(pc.equal(col, market), False)

    def present(table: pa.Table) -> list[str]:
        col = _key_text(table, "market")
        col = col if col is not None else pc.cast(table.column("market"), pa.string())
        return sorted(v for v in pc.unique(col.drop_null()).to_pylist() if v)

    if "market" in lab.column_names:
        sel, found = lab.filter(in_market(lab)), present(lab)
    else:
        for kind, key in (("items", "item_id"), ("annotators", "annotator_id")):
            table = raw.get(kind)
            if table is not None and "market" in table.column_names and key in table.column_names:
                ids = _key_text(table.filter(in_market(table)), key)
                if key not in lab.column_names or ids is None:
                    sel = lab
                else:
                    sel = _keep_in(lab, key, ids)
                found = present(table)
                break
        else:
            raise SchemaError(
                f"cannot select market {market!r}: no {names.show('market')} column in labels, "
                f"items or annotators", column=names.user("market"))
    if sel.num_rows == 0:
        raise SchemaError(f"no labels for market {market!r}; markets present: {found}",
                          column=names.user("market"), value=market)
    out = dict(raw)
    out["labels"] = sel
    for kind, key in (("gold", "item_id"), ("items", "item_id"),
                      ("annotators", "annotator_id")):
        table = raw.get(kind)
        if table is None or key not in table.column_names or key not in sel.column_names:
            continue
        ids = _key_text(sel, key)
        if ids is not None:
            out[kind] = _keep_in(table, key, pc.unique(ids))
    return out


def _prepared_encoding(codes: LabelCodes, classes: Sequence[str], gold: pd.DataFrame | None
                       ) -> Encoded:
    classes = np.asarray([str(c) for c in classes], dtype=object)
    lab_map = pd.Index(classes).get_indexer(codes.label_values).astype(np.int32)
    enc = Encoded(item_ids=codes.item_ids, annotator_ids=codes.annotator_ids, classes=classes,
                  item=codes.item, annotator=codes.annotator, label=lab_map[codes.label],
                  gold=gold_codes(codes.item_ids, classes, gold))
    return enc if codes.item_order is None else enc._with_item_order(codes.item_order)


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
    columns: Mapping[str, str] | None = None,
    repeats: str = "keep",
    encoding: str = "utf-8",
    date_format: str | None = None,
    duplicates: str = "drop",
) -> Dataset:
    """Load and validate a dataset.

    Parameters
    ----------
    source : str or Path, optional
        A directory holding ``labels.*`` (and optionally ``gold.*``, ``annotators.*``,
        ``items.*``; CSV, gzip CSV or Parquet), or a single labels file.
    labels, gold, annotators, items : str or Path, optional
        Explicit files; they override what ``source`` provides.
    query : str, optional
        A DuckDB SQL query whose result is the labels table, e.g.
        ``"SELECT * FROM 'logs/*.parquet' WHERE market = 'SG'"``.
    label_set : sequence of str, optional
        Declared label set; labels or gold outside it are errors.
    market : str, optional
        Keep only this market: the labels' ``market`` column, else the items', else the
        annotators'. Only this market's rows are validated, so another market's bad row or
        out-of-set label does not fail it.
    since, until : date-like, optional
        Keep only judgments with ``since <= labeled_at < until``.
    columns : mapping, optional
        Contract column name -> the user's column name, e.g.
        ``{"item_id": "item", "annotator_id": "worker"}``; applied to every table that has
        the user's column. Errors name the user's column.
    repeats : {"keep", "last", "first", "error"}, default "keep"
        What to do when an annotator judged the same item more than once with different
        answers (see :mod:`insights.data.repeats`). Identical repeats are always dropped
        with a warning that counts them.
    encoding : str, default "utf-8"
        Text encoding of CSV files.
    date_format : str, optional
        ``strftime`` format of text timestamps (e.g. ``"%d/%m/%Y"``); default: ISO 8601 only,
        so an ambiguous date such as ``03/04/2026`` is an error rather than a guess.
    duplicates : {"drop", "keep"}, default "drop"
        Identical repeats (same item, annotator and label): dropped with a warning that
        counts them (DESIGN.md), or kept as independent ratings. With ``repeats="keep"``,
        ``duplicates="keep"`` gives Dawid & Skene's (1979) counts exactly (their anaesthesia
        data has observer 1 rating each patient three times); ``"drop"`` under-counts the
        answer an annotator repeated.

    Returns
    -------
    Dataset
        With its integer encoding already made (``Dataset.encode()`` is free).

    Raises
    ------
    SchemaError
        The first problem found, located by file, row and column.

    Warns
    -----
    RepeatedJudgmentWarning, DuplicateJudgmentWarning, GoldWithoutLabelsWarning,
    GoldClassNotJudgedWarning
        One line each, with counts.
    """
    columns = check_columns_mapping(columns)
    check_policy(repeats)
    check_duplicates(duplicates)
    paths = resolve_paths(source, labels=labels, gold=gold, annotators=annotators,
                          items=items, need_labels=query is None)
    names = Names(columns)
    raw: dict[str, pa.Table] = {}
    sources = {k: str(v) for k, v in paths.items()}
    for kind, p in paths.items():
        if kind == "labels" and query is not None:
            continue
        t0 = time.perf_counter()
        raw[kind], _ = read_raw(p, kind, columns=columns, encoding=encoding)
        logger.debug("read %s: %s rows in %.2f s", Path(p).name, f"{raw[kind].num_rows:,}",
                    time.perf_counter() - t0)
    if query is not None:
        import duckdb

        try:
            rel = duckdb.sql(query)
            table = (rel.to_arrow_table() if hasattr(rel, "to_arrow_table")
                     else rel.fetch_arrow_table())
        except duckdb.Error as exc:
            raise SchemaError(f"DuckDB query failed: {exc}", source="query") from None
        table = apply_columns(table, columns, "query result")
        raw["labels"] = table.add_column(0, "_row", pa.array(np.arange(1, table.num_rows + 1)))
        sources["labels"] = query
    if "labels" not in raw:
        raise SchemaError("no labels given: pass a directory, a labels file or a query")
    source_name = {k: (Path(v).name if k in paths and not (k == "labels" and query is not None)
                       else "query result") for k, v in sources.items()}
    for kind, table in raw.items():
        check_required(table, kind, source_name[kind], names)
    if market is not None:
        raw = _select_market(raw, market, names)
    tables: dict[str, pd.DataFrame | None] = dict.fromkeys(TABLES)
    codes = None
    for kind in ("labels", "gold", "annotators", "items"):
        if kind not in raw:
            continue
        t0 = time.perf_counter()
        tables[kind], c = validate_arrow(
            raw[kind], kind, source=source_name[kind], names=names,
            label_set=label_set if kind in ("labels", "gold") else None,
            label_set_origin=label_set_origin, repeats=repeats, date_format=date_format,
            stacklevel=3, duplicates=duplicates)
        logger.debug("validated and encoded %s: %s rows in %.2f s", source_name[kind],
                    f"{len(tables[kind]):,}", time.perf_counter() - t0)
        raw[kind] = None  # free the Arrow copy
        if kind == "labels":
            codes = c
    assert codes is not None
    if label_set is None:
        used = np.bincount(codes.label, minlength=len(codes.label_values)) > 0
        found = set(codes.label_values[used])
        if tables["gold"] is not None:
            _warn_gold_classes_not_judged(tables["gold"], found, source_name["gold"])
            found |= set(tables["gold"]["label"])
        label_set = sorted(found)
    enc = _prepared_encoding(codes, label_set, tables["gold"])
    if tables["gold"] is not None and market is None:
        _warn_gold_without_labels(tables["gold"], enc, source_name["gold"])
    file_paths = [p for k, p in paths.items() if not (k == "labels" and query is not None)]
    fp = sha256_files(file_paths)
    if query is not None:
        fp = hashlib.sha256((fp + fingerprint_frames(labels=tables["labels"])).encode()
                            ).hexdigest()
    ds = Dataset(
        labels=tables["labels"], gold=tables["gold"], annotators=tables["annotators"],
        items=tables["items"], label_set=[str(x) for x in label_set], fingerprint=fp,
        sources=sources, repeat_stats=codes.stats if codes is not None else RepeatStats(),
    )
    ds._encoded = (ds.labels, ds.gold, tuple(ds.label_set), enc)
    if since is not None or until is not None:
        ds = ds.subset(since=since, until=until)
    return ds


def _warn_gold_classes_not_judged(gold: pd.DataFrame, judged: set, source: str) -> None:
    new = ~gold["label"].isin(judged).to_numpy()
    if new.any():
        pos = int(np.flatnonzero(new)[0])
        extra = sorted(set(gold["label"][new]))
        warnings.warn(
            f"{source} row {int(gold['_row'].iat[pos]):,}: gold label "
            f"{gold['label'].iat[pos]!r} is in no judgment ({int(new.sum()):,} gold answer(s), "
            f"labels {', '.join(map(repr, extra[:5]))}{' ...' if len(extra) > 5 else ''}); "
            f"each becomes a class of its own -- declare the label set (--label-set, "
            f"label_set) if that is not meant", GoldClassNotJudgedWarning, stacklevel=4)


def _warn_gold_without_labels(gold: pd.DataFrame, enc: Encoded, source: str) -> None:
    where = pd.Index(enc.item_ids).get_indexer(gold["item_id"].to_numpy())
    lost = where < 0
    if lost.any():
        pos = int(np.flatnonzero(lost)[0])
        warnings.warn(
            f"{source}: {int(lost.sum()):,} gold answer(s) for items nobody labeled are not "
            f"used (first: item {gold['item_id'].iat[pos]!r}, row {int(gold['_row'].iat[pos]):,})",
            GoldWithoutLabelsWarning, stacklevel=3)
