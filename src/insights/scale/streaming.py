"""Out-of-core Dawid-Skene: encode a Parquet labels dataset with DuckDB, stream EM over it.

Two steps, both with bounded memory:

1. :func:`encode_parquet` turns a (multi-file, possibly 1e8-row) labels dataset into dense
   integer codes with DuckDB under ``SET memory_limit`` (spilling to a temp directory): item,
   annotator and label dictionaries, and one ``judgments.parquet`` sorted by item code.
2. :class:`StreamingDawidSkene` reads that file chunk by chunk with
   :func:`iter_item_chunks`, which only ever yields whole items, and runs the EM of
   :class:`~insights.reliability.DawidSkene` by accumulating the M-step statistics over the
   chunks (see :mod:`insights.scale._kernel`). Only the J x K x K parameters and one chunk are
   in memory; item posteriors are written to Parquet at the end.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.base import BaseEstimator

from insights.data import SchemaError
from insights.reliability.em import argmax_first
from insights.scale._kernel import ChunkStats, Driver, chunk_encoded, chunk_stats

__all__ = ["EncodedParquet", "encode_parquet", "iter_item_chunks", "StreamingDawidSkene"]

META = "meta.json"


@dataclass(frozen=True)
class EncodedParquet:
    """A directory written by :func:`encode_parquet`.

    Files: ``judgments.parquet`` (int64 ``item``, int32 ``annotator``, int16 ``label``,
    sorted by ``item``), ``items.parquet`` (``item_id``, ``code``; row ``r`` has code ``r``),
    ``annotators.parquet`` (``annotator_id``, ``code``), ``meta.json`` (classes, sizes) and,
    with gold, ``gold.npy`` (int16 gold class code per item code, -1 = none).
    """

    path: Path
    classes: tuple[str, ...]
    n_items: int
    n_annotators: int
    n_judgments: int
    has_gold: bool

    @property
    def judgments(self) -> Path:
        return self.path / "judgments.parquet"

    @property
    def items(self) -> Path:
        return self.path / "items.parquet"

    @property
    def annotators(self) -> Path:
        return self.path / "annotators.parquet"

    @property
    def gold(self) -> Path:
        return self.path / "gold.npy"

    def annotator_ids(self) -> np.ndarray:
        t = pq.read_table(self.annotators, columns=["annotator_id"])
        return np.asarray(t.column(0).to_pylist(), dtype=object)

    @classmethod
    def open(cls, path: str | os.PathLike) -> EncodedParquet:
        path = Path(path)
        meta = json.loads((path / META).read_text())
        return cls(path, tuple(meta["classes"]), meta["n_items"], meta["n_annotators"],
                   meta["n_judgments"], meta["has_gold"])


def _sources(source) -> list[str]:
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files: list[str] = []
    for s in items:
        s = str(s)
        if os.path.isdir(s):
            found = sorted(glob.glob(os.path.join(s, "**", "*.parquet"), recursive=True))
        elif any(ch in s for ch in "*?["):
            found = sorted(glob.glob(s, recursive=True))
        else:
            found = [s] if os.path.exists(s) else []
        if not found:
            raise FileNotFoundError(f"no Parquet files found at {s!r}")
        files += found
    return files


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_list(values: Sequence[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def encode_parquet(source, out_dir: str | os.PathLike, *, item_col: str = "item_id",
                   annotator_col: str = "annotator_id", label_col: str = "label",
                   gold=None, classes: Sequence[str] | None = None,
                   memory_limit: str = "2GB", temp_dir: str | os.PathLike | None = None,
                   threads: int | None = None, row_group_rows: int = 1_000_000
                   ) -> EncodedParquet:
    """Encode a labels Parquet dataset to integer codes, out of core, with DuckDB.

    Parameters
    ----------
    source : path, glob or list of them
        Parquet file(s); a directory means every ``*.parquet`` below it.
    out_dir : path
        Output directory (created; see :class:`EncodedParquet` for its files).
    item_col, annotator_col, label_col : str
        Column names in ``source``.
    gold : path or DataFrame, optional
        Gold labels (``item_id``, ``label``): a Parquet/CSV file or a small DataFrame. Gold
        for items without judgments is ignored.
    classes : sequence of str, optional
        The label set, in order. Default: sorted labels found (and gold labels).
    memory_limit : str, default "2GB"
        DuckDB ``memory_limit``; larger intermediates spill to ``temp_dir``.
    temp_dir : path, optional
        DuckDB spill directory (default: ``out_dir/_duckdb_tmp``, removed at the end).
    threads : int, optional
        DuckDB threads (default: DuckDB's).
    row_group_rows : int, default 1_000_000
        Row-group size of ``judgments.parquet`` (the granularity of chunked reads).

    Returns
    -------
    EncodedParquet

    Notes
    -----
    Codes: items and annotators are numbered in the sort order of their ids (so the output
    does not depend on file order); classes in ``classes`` order. ``judgments.parquet`` is
    sorted by item code, so a reader cutting it at item boundaries gets whole items
    (:func:`iter_item_chunks`).
    """
    import duckdb

    files = _sources(source)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(temp_dir) if temp_dir is not None else out / "_duckdb_tmp"
    db = out / "_encode.duckdb"
    if db.exists():
        db.unlink()
    con = duckdb.connect(str(db))
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{tmp}'")
        con.execute("SET preserve_insertion_order = true")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_list(files)}, "
                           "union_by_name = true)").fetchall()
        names = {c[0] for c in cols}
        for want in (item_col, annotator_col, label_col):
            if want not in names:
                raise SchemaError(f"labels Parquet {files[0]}: missing required column "
                                  f"{want!r} (found {sorted(names)})", column=want)
        con.execute(
            f"CREATE VIEW src AS SELECT {_q(item_col)} AS item_id, "
            f"{_q(annotator_col)} AS annotator_id, CAST({_q(label_col)} AS VARCHAR) AS label "
            f"FROM read_parquet({_sql_list(files)}, union_by_name = true)")
        if gold is not None:
            if isinstance(gold, pd.DataFrame):
                g = gold[["item_id", "label"]].astype({"label": str})
                con.register("gold_df", g)
                con.execute("CREATE TABLE gold AS SELECT item_id, CAST(label AS VARCHAR) "
                            "AS label FROM gold_df")
            else:
                reader = "read_csv_auto" if str(gold).endswith(".csv") else "read_parquet"
                con.execute(f"CREATE TABLE gold AS SELECT item_id, CAST(label AS VARCHAR) AS "
                            f"label FROM {reader}('{gold}')")
        found = [r[0] for r in con.execute(
            "SELECT DISTINCT label FROM src" + (" UNION SELECT label FROM gold"
                                                if gold is not None else "")).fetchall()]
        if any(v is None for v in found):
            raise SchemaError(f"labels Parquet: column {label_col!r} has missing values",
                              column=label_col)
        if classes is None:
            classes = sorted(found)
        classes = [str(c) for c in classes]
        unknown = sorted(set(found) - set(classes))
        if unknown:
            raise SchemaError(f"labels Parquet: column {label_col!r} has {unknown[0]!r}, which "
                              f"is not in the label set {classes} (the classes argument)",
                              column=label_col, value=unknown[0])
        con.register("classes_df", pd.DataFrame({"label": classes,
                                                 "code": np.arange(len(classes))}))
        con.execute("CREATE TABLE labels AS SELECT label, CAST(code AS SMALLINT) AS code "
                    "FROM classes_df")
        con.execute("CREATE TABLE annotators AS SELECT annotator_id, CAST(row_number() OVER "
                    "(ORDER BY annotator_id) - 1 AS INTEGER) AS code FROM "
                    "(SELECT DISTINCT annotator_id FROM src)")
        con.execute("CREATE TABLE items AS SELECT item_id, CAST(row_number() OVER "
                    "(ORDER BY item_id) - 1 AS BIGINT) AS code FROM "
                    "(SELECT DISTINCT item_id FROM src)")
        con.execute(f"COPY (SELECT * FROM annotators ORDER BY code) TO "
                    f"'{out / 'annotators.parquet'}' (FORMAT parquet)")
        con.execute(f"COPY (SELECT * FROM items ORDER BY code) TO '{out / 'items.parquet'}' "
                    f"(FORMAT parquet, ROW_GROUP_SIZE {int(row_group_rows)})")
        con.execute(
            "COPY (SELECT i.code AS item, a.code AS annotator, l.code AS label FROM src "
            "JOIN items i USING (item_id) JOIN annotators a USING (annotator_id) "
            "JOIN labels l USING (label) ORDER BY i.code) "
            f"TO '{out / 'judgments.parquet'}' "
            f"(FORMAT parquet, ROW_GROUP_SIZE {int(row_group_rows)})")
        n_items = con.execute("SELECT count(*) FROM items").fetchone()[0]
        n_ann = con.execute("SELECT count(*) FROM annotators").fetchone()[0]
        n_jud = con.execute(f"SELECT count(*) FROM read_parquet('{out / 'judgments.parquet'}')"
                            ).fetchone()[0]
        has_gold = gold is not None
        if has_gold:
            mm = np.lib.format.open_memmap(out / "gold.npy", mode="w+", dtype=np.int16,
                                           shape=(n_items,))
            mm[:] = -1
            rel = con.execute("SELECT i.code, l.code FROM gold g JOIN items i USING (item_id) "
                              "JOIN labels l USING (label)")
            while True:
                batch = rel.fetchmany(1_000_000)
                if not batch:
                    break
                arr = np.asarray(batch, dtype=np.int64)
                mm[arr[:, 0]] = arr[:, 1]
            mm.flush()
            del mm
        meta = {"classes": classes, "n_items": int(n_items), "n_annotators": int(n_ann),
                "n_judgments": int(n_jud), "has_gold": has_gold, "sources": files,
                "columns": {"item": item_col, "annotator": annotator_col, "label": label_col}}
        (out / META).write_text(json.dumps(meta, indent=1))
    finally:
        con.close()
        db.unlink(missing_ok=True)
        Path(str(db) + ".wal").unlink(missing_ok=True)
        if temp_dir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return EncodedParquet.open(out)


def iter_item_chunks(path: str | os.PathLike, chunk_rows: int
                     ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Stream ``(item, annotator, label)`` code arrays of whole items from an item-sorted file.

    Reads ``chunk_rows`` judgments at a time and holds back the rows of the last item of each
    read until the next one, so every yielded chunk holds all judgments of its items. Memory:
    about ``chunk_rows`` plus the largest item's judgments.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    pf = pq.ParquetFile(path)
    carry: tuple[np.ndarray, ...] | None = None
    for batch in pf.iter_batches(batch_size=chunk_rows, columns=["item", "annotator", "label"]):
        cols = tuple(batch.column(c).to_numpy() for c in range(3))
        if carry is not None:
            cols = tuple(np.concatenate([a, b]) for a, b in zip(carry, cols, strict=True))
        item = cols[0]
        cut = int(np.searchsorted(item, item[-1], side="left"))
        if cut == 0:  # one item spans everything read so far
            carry = cols
            continue
        yield tuple(c[:cut] for c in cols)
        carry = tuple(c[cut:] for c in cols)
    if carry is not None and len(carry[0]):
        yield carry


class _IdStream:
    """Sequential reader of ``items.parquet``'s ``item_id`` column, ``take(n)`` at a time."""

    def __init__(self, path: Path, batch_rows: int):
        self._it = pq.ParquetFile(path).iter_batches(batch_size=batch_rows,
                                                     columns=["item_id", "code"])
        self._ids: list[pa.Array] = []
        self._codes: list[np.ndarray] = []
        self._n = 0

    def take(self, n: int, first_code: int) -> pa.Array:
        while self._n < n:
            b = next(self._it)
            self._ids.append(b.column(0))
            self._codes.append(b.column(1).to_numpy())
            self._n += len(b)
        ids = pa.concat_arrays(self._ids)
        codes = np.concatenate(self._codes)
        if codes[0] != first_code or codes[n - 1] != first_code + n - 1:
            raise RuntimeError("items.parquet is not aligned with judgments.parquet")
        self._ids, self._codes, self._n = [ids.slice(n)], [codes[n:]], len(ids) - n
        return ids.slice(0, n)


class StreamingDawidSkene(BaseEstimator):
    """Dawid-Skene EM over an item-sorted Parquet stream, in bounded memory.

    The model, parameters and results are those of
    :class:`~insights.reliability.DawidSkene` (same start, M-step, E-step, gold clamping and
    stopping rule, sharing its code; see :mod:`insights.scale._kernel`). Each EM iteration is
    one pass over the judgments: per chunk of whole items, the E-step with the current
    parameters and the accumulation of the expected counts
    :math:`C_j[k, t] = \\sum_i N_{ijk} T_{it}` and :math:`\\sum_i T_{it}` for the next M-step.
    A first pass accumulates the soft-majority start; a last pass writes the posteriors of the
    final parameters to Parquet. Memory: the J x K x K parameters plus one chunk.

    Parameters
    ----------
    max_iter, tol, alpha, shrinkage, acceleration
        As in :class:`~insights.reliability.DawidSkene` (``acceleration="squarem"``, the
        default, needs fewer passes over the data; ``None`` is plain EM).
    chunk_rows : int, default 2_000_000
        Judgments read per chunk (a chunk is extended to end on an item boundary).
    memory_limit : str, default "2GB"
        DuckDB memory limit when ``fit`` has to encode raw Parquet first.

    Attributes
    ----------
    confusions_ : ndarray (n_annotators, K, K)
        ``confusions_[j, t, k]`` = P(annotator ``annotator_ids_[j]`` says k | true class t).
    priors_ : Series
    accuracies_ : Series
    classes_, annotator_ids_ : ndarray
        Annotators in sorted-id order (the encoding's).
    n_items_, n_judgments_, n_iter_ : int
    converged_ : bool
    log_likelihood_ : list of float
    posteriors_path_ : Path
        Parquet file: ``item_id``, one float column per class, ``label`` (the argmax, first
        class on exact ties), items in sorted-id order.
    encoded_ : EncodedParquet
    timings_ : dict
        ``encode_s`` (0 if given an encoded directory), ``iter_s`` (per pass: the start,
        then every E-step),
        ``write_s`` (posterior pass).

    Examples
    --------
    >>> enc = encode_parquet("labels/*.parquet", "work/enc")        # doctest: +SKIP
    >>> model = StreamingDawidSkene().fit(enc)                       # doctest: +SKIP
    >>> model.read_labels().head()                                   # doctest: +SKIP
    """

    def __init__(self, max_iter: int = 100, tol: float = 1e-6, alpha: float = 0.01,
                 shrinkage: float = 0.5, acceleration: str | None = "squarem",
                 chunk_rows: int = 2_000_000, memory_limit: str = "2GB"):
        self.max_iter = max_iter
        self.tol = tol
        self.alpha = alpha
        self.shrinkage = shrinkage
        self.acceleration = acceleration
        self.chunk_rows = chunk_rows
        self.memory_limit = memory_limit

    def fit(self, source, gold=None, classes=None, *, out_dir=None,
            posteriors_path=None) -> StreamingDawidSkene:
        """Fit on an encoded directory, or on raw labels Parquet (encoded first).

        Parameters
        ----------
        source : EncodedParquet, encoded directory, or Parquet path/glob/list
        gold, classes
            Passed to :func:`encode_parquet` when ``source`` is raw Parquet (an encoded
            directory brings its own).
        out_dir : path, optional
            Where to encode raw Parquet (default: a new temporary directory).
        posteriors_path : path, optional
            Output file (default: ``<encoded dir>/posteriors.parquet``).

        Returns
        -------
        self
        """
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        t0 = time.perf_counter()
        encode_s = 0.0
        if isinstance(source, EncodedParquet):
            enc = source
        elif isinstance(source, (str, os.PathLike)) and (Path(source) / META).exists():
            enc = EncodedParquet.open(source)
        else:
            out_dir = out_dir or tempfile.mkdtemp(prefix="insights_enc_")
            enc = encode_parquet(source, out_dir, gold=gold, classes=classes,
                                 memory_limit=self.memory_limit)
            encode_s = time.perf_counter() - t0
        if enc.n_judgments == 0:
            raise ValueError("no judgments to aggregate")
        self.encoded_ = enc
        self.classes_ = np.asarray(enc.classes, dtype=object)
        self.annotator_ids_ = enc.annotator_ids()
        self.n_items_, self.n_judgments_ = enc.n_items, enc.n_judgments
        gold_mm = np.load(enc.gold, mmap_mode="r") if enc.has_gold else None

        driver = Driver(self.max_iter, self.tol, self.alpha, self.shrinkage, self.acceleration)
        iter_s: list[float] = []

        def e_pass(params):  # one pass over the judgments (None: the soft-majority start)
            t = time.perf_counter()
            stats = self._pass(enc, gold_mm, *(params or (None, None)))
            iter_s.append(time.perf_counter() - t)
            return stats

        log_conf, log_prior = driver.run(e_pass, enc.n_judgments, enc.n_annotators,
                                         len(enc.classes))
        t = time.perf_counter()
        path = Path(posteriors_path) if posteriors_path else enc.path / "posteriors.parquet"
        self._pass(enc, gold_mm, log_conf, log_prior, write_to=path)
        write_s = time.perf_counter() - t

        self.posteriors_path_ = path
        self.timings_ = {"encode_s": encode_s, "iter_s": iter_s, "write_s": write_s}
        driver.set_results(self)
        return self

    def _pass(self, enc: EncodedParquet, gold_mm, log_conf, log_prior, write_to=None
              ) -> ChunkStats:
        J, K = enc.n_annotators, len(enc.classes)
        total = ChunkStats.zeros(J, K)
        writer = ids = None
        if write_to is not None:
            schema = pa.schema([pa.field("item_id", pq.read_schema(enc.items).field(
                "item_id").type)] + [pa.field(str(c), pa.float64()) for c in self.classes_]
                + [pa.field("label", pa.string())])
            tmp_path = Path(str(write_to) + ".tmp")
            writer = pq.ParquetWriter(tmp_path, schema)
            ids = _IdStream(enc.items, self.chunk_rows)
        try:
            for item, ann, lab in iter_item_chunks(enc.judgments, self.chunk_rows):
                first = int(item[0])
                local = (item - first).astype(np.int32)
                n = int(local[-1]) + 1
                gold = None if gold_mm is None else np.asarray(gold_mm[first:first + n],
                                                               dtype=np.int64)
                cenc = chunk_encoded(local, ann, lab, J, K, gold)
                if cenc.n_items != n:
                    raise RuntimeError("judgments.parquet item codes are not contiguous")
                st, post = chunk_stats(cenc, log_conf, log_prior)
                total += st
                if writer is not None:
                    cols = [ids.take(n, first)] + [pa.array(post[:, k]) for k in range(K)]
                    cols.append(pa.array(self.classes_[argmax_first(post)].astype(str)))
                    writer.write_table(pa.Table.from_arrays(cols, schema=writer.schema))
        except BaseException:
            if writer is not None:  # nothing half-written is left behind
                writer.close()
                tmp_path.unlink(missing_ok=True)
            raise
        if writer is not None:
            writer.close()
            os.replace(tmp_path, write_to)
        return total

    def read_probas(self) -> pd.DataFrame:
        """The item x class posteriors from ``posteriors_path_`` (loads them into memory)."""
        df = pd.read_parquet(self.posteriors_path_).set_index("item_id")
        return df[[str(c) for c in self.classes_]].rename_axis(columns="class")

    def read_labels(self) -> pd.Series:
        """item_id -> most probable class, from ``posteriors_path_``."""
        df = pd.read_parquet(self.posteriors_path_, columns=["item_id", "label"])
        return df.set_index("item_id")["label"]
