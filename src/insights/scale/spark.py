"""Dawid-Skene EM on Apache Spark: items partitioned across executors, parameters broadcast.

The same kernel as the streaming path (:mod:`insights.scale._kernel`): the judgments are
encoded once (annotator and label codes from small broadcast-joined dictionaries), hash
partitioned by item and cached; every EM iteration broadcasts the log-confusions
(J x K x K) and log-priors (K), runs the E-step of
:class:`~insights.reliability.DawidSkene` on each partition with ``mapInPandas`` (a
partition holds whole items), and returns one row of additive statistics per partition
(expected counts, posterior sums, log-likelihood) that the driver sums before the shared
M-step. pyspark is imported only here (``pip install pyspark``; needs Java 17+).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from insights.data import SchemaError
from insights.reliability.em import argmax_first
from insights.scale._kernel import ChunkStats, Driver, chunk_encoded, chunk_stats

__all__ = ["SparkDawidSkene", "local_session"]

_STATS_SCHEMA = ("counts array<double>, post_sum array<double>, log_lik double, "
                 "n_items long, n_judgments long")


def local_session(app_name: str = "insights", cores: int = 2,
                  conf: Mapping[str, str] | None = None):
    """A local-mode SparkSession for one machine (an analyst's laptop, CI, this package's
    tests and benchmarks).

    ``local[cores]``, the web UI off, the driver bound to the loopback interface (so no
    network set-up or hostname resolution is needed), Python workers running this interpreter
    (which has insights, NumPy and pyarrow), logging at ERROR; ``conf`` adds or overrides
    Spark settings (e.g. ``{"spark.sql.shuffle.partitions": "8"}``). On a cluster, build the
    session as the cluster requires instead.
    """
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    settings = {"spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.pyspark.python": sys.executable, **dict(conf or {})}
    builder = SparkSession.builder.master(f"local[{int(cores)}]").appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, str(value))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _partition_encoded(pdf: pd.DataFrame, J: int, K: int):
    """Chunk encoding of one partition (rows sorted by item): local item codes, gold per item."""
    codes, uniques = pd.factorize(pdf["item_id"], sort=False)
    gold = np.full(len(uniques), -1, dtype=np.int64)
    gold[codes] = pdf["g"].to_numpy()
    return chunk_encoded(codes, pdf["a"].to_numpy(), pdf["l"].to_numpy(), J, K, gold), uniques


def _concat(batches: Iterator[pd.DataFrame]) -> pd.DataFrame | None:
    # mapInPandas hands a partition over in Arrow batches that may cut an item in two: the
    # whole partition (whole items, by the item partitioning) is assembled first
    parts = [b for b in batches if len(b)]
    return pd.concat(parts, ignore_index=True) if parts else None


def _stats_fn(J: int, K: int, params):
    """mapInPandas function: one row of M-step statistics per partition. ``params`` is a
    broadcast (or plain) ``(log_conf, log_prior)``, or None for the soft-majority start."""

    def fn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        pdf = _concat(batches)
        if pdf is None:
            return
        enc, _ = _partition_encoded(pdf, J, K)
        value = getattr(params, "value", params)
        log_conf, log_prior = value if value is not None else (None, None)
        st, _ = chunk_stats(enc, log_conf, log_prior)
        yield pd.DataFrame({"counts": [st.counts.ravel()], "post_sum": [st.post_sum],
                            "log_lik": [st.log_lik], "n_items": [st.n_items],
                            "n_judgments": [st.n_judgments]})

    return fn


def _posteriors_fn(J: int, K: int, log_conf, log_prior, classes: Sequence[str]):
    names = [str(c) for c in classes]
    cls = np.asarray(names, dtype=object)

    def fn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        pdf = _concat(batches)
        if pdf is None:
            return
        enc, uniques = _partition_encoded(pdf, J, K)
        _, post = chunk_stats(enc, log_conf, log_prior)
        out = pd.DataFrame(post, columns=names)
        out.insert(0, "item_id", np.asarray(uniques))
        out["label"] = cls[argmax_first(post)]
        yield out

    return fn


class SparkDawidSkene(BaseEstimator):
    """Dawid-Skene EM on a pyspark DataFrame, partitioned by item.

    Same model, hyper-parameters, start, E-step, M-step (shared code), gold clamping and
    stopping rule as :class:`~insights.reliability.DawidSkene`; one Spark job per EM
    iteration. Memory per task: one partition's judgments; on the driver: the J x K x K
    statistics of each partition (collected, then summed).

    Parameters
    ----------
    max_iter, tol, alpha, shrinkage, acceleration
        As in :class:`~insights.reliability.DawidSkene` (``acceleration="squarem"``, the
        default, needs fewer Spark jobs; ``None`` is plain EM).
    n_partitions : int, optional
        Item partitions (default ``spark.sql.shuffle.partitions``).

    Attributes
    ----------
    confusions_ : ndarray (n_annotators, K, K)
        In ``annotator_ids_`` order (sorted ids).
    priors_, accuracies_ : Series
    classes_, annotator_ids_ : ndarray
    n_items_, n_judgments_, n_iter_ : int
    converged_ : bool
    log_likelihood_ : list of float
    posteriors_ : pyspark.sql.DataFrame
        ``item_id``, one column per class, ``label`` (lazy: evaluated by the caller's
        actions, from the final parameters).
    timings_ : dict
        ``encode_s``, ``iter_s`` (per Spark job: the soft-majority start, then every E-step).

    References
    ----------
    Dawid & Skene (1979), Applied Statistics 28(1), 20-28.
    """

    def __init__(self, max_iter: int = 100, tol: float = 1e-6, alpha: float = 0.01,
                 shrinkage: float = 0.5, acceleration: str | None = "squarem",
                 n_partitions: int | None = None):
        self.max_iter = max_iter
        self.tol = tol
        self.alpha = alpha
        self.shrinkage = shrinkage
        self.acceleration = acceleration
        self.n_partitions = n_partitions

    def fit(self, df, gold=None, classes: Sequence[str] | None = None, *,
            item_col: str = "item_id", annotator_col: str = "annotator_id",
            label_col: str = "label") -> SparkDawidSkene:
        """Fit on a pyspark DataFrame of judgments.

        Parameters
        ----------
        df : pyspark.sql.DataFrame
            One row per judgment with ``item_col``, ``annotator_col``, ``label_col``.
        gold : pyspark or pandas DataFrame, optional
            ``item_id``, ``label``; gold items are clamped to their class during EM.
        classes : sequence of str, optional
            The label set, in order (default: sorted labels found).

        Returns
        -------
        self
        """
        from pyspark.sql import functions as F

        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        t0 = time.perf_counter()
        spark = df.sparkSession
        missing = [c for c in (item_col, annotator_col, label_col) if c not in df.columns]
        if missing:
            raise SchemaError(f"labels DataFrame: missing required column {missing[0]!r} "
                              f"(found {df.columns})", column=missing[0])
        df = df.select(F.col(item_col).alias("item_id"),
                       F.col(annotator_col).alias("annotator_id"),
                       F.col(label_col).cast("string").alias("label"))
        if gold is not None:
            if isinstance(gold, pd.DataFrame):
                item_type = df.schema["item_id"].dataType.simpleString()
                gold = spark.createDataFrame(
                    gold[["item_id", "label"]].astype({"label": str}),
                    schema=f"item_id {item_type}, label string")
            gold = gold.select("item_id", F.col("label").cast("string").alias("label"))
        # one job for both small dictionaries
        row = df.agg(F.collect_set("label").alias("labels"),
                     F.collect_set("annotator_id").alias("annotators"),
                     F.count(F.lit(1)).alias("n"), F.count("label").alias("n_label")).first()
        if row["n_label"] < row["n"]:
            raise SchemaError(f"labels DataFrame: column {label_col!r} has missing values",
                              column=label_col)
        found = set(row["labels"])
        if gold is not None:
            found |= {r[0] for r in gold.select("label").distinct().collect()}
        classes = [str(c) for c in (sorted(found) if classes is None else classes)]
        unknown = sorted(found - set(classes))
        if unknown:
            raise SchemaError(f"labels DataFrame: column {label_col!r} has {unknown[0]!r}, "
                              f"which is not in the label set {classes} (the classes "
                              "argument)", column=label_col, value=unknown[0])
        annotators = sorted(row["annotators"])
        n_judgments = int(row["n"])
        J, K = len(annotators), len(classes)
        if J == 0:
            raise ValueError("no judgments to aggregate")
        ann_type = df.schema["annotator_id"].dataType.simpleString()
        amap = spark.createDataFrame(list(zip(annotators, range(J), strict=True)),
                                     schema=f"annotator_id {ann_type}, a int")
        lmap = spark.createDataFrame(list(zip(classes, range(K), strict=True)),
                                     schema="label string, l int")
        enc = df.join(F.broadcast(amap), "annotator_id").join(F.broadcast(lmap), "label")
        if gold is not None:
            gmap = gold.join(F.broadcast(lmap), "label").select(
                "item_id", F.col("l").alias("g")).dropDuplicates(["item_id"])
            enc = enc.join(gmap, "item_id", "left")
            enc = enc.select("item_id", "a", "l", F.coalesce("g", F.lit(-1)).alias("g"))
        else:
            enc = enc.select("item_id", "a", "l", F.lit(-1).alias("g"))
        n_part = self.n_partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))
        # whole items per partition; a fixed row order makes the sums reproducible
        enc = (enc.repartition(n_part, "item_id").sortWithinPartitions("item_id", "a", "l")
               .cache())  # materialised by the first EM pass
        encode_s = time.perf_counter() - t0

        driver = Driver(self.max_iter, self.tol, self.alpha, self.shrinkage, self.acceleration)
        iter_s: list[float] = []

        def e_pass(params):  # one Spark job over the judgments (None: the majority start)
            t = time.perf_counter()
            stats = self._pass(enc, J, K, params)
            iter_s.append(time.perf_counter() - t)
            return stats

        try:
            log_conf, log_prior = driver.run(e_pass, n_judgments, J, K)
        finally:
            enc.unpersist()
        stats = driver.last
        if stats.n_judgments != n_judgments:  # e.g. annotator ids that are null
            raise SchemaError(f"labels DataFrame: EM used {stats.n_judgments} of "
                              f"{n_judgments} judgments (null item or annotator ids?)")

        self.classes_ = np.asarray(classes, dtype=object)
        self.annotator_ids_ = np.asarray(annotators, dtype=object)
        self.n_items_, self.n_judgments_ = stats.n_items, n_judgments
        self.timings_ = {"encode_s": encode_s, "iter_s": iter_s}
        item_field = enc.schema["item_id"].dataType.simpleString()
        schema = ", ".join([f"item_id {item_field}"]
                           + [f"`{c.replace('`', '``')}` double" for c in classes]
                           + ["label string"])
        self.posteriors_ = enc.mapInPandas(
            _posteriors_fn(J, K, log_conf, log_prior, classes), schema)
        driver.set_results(self)
        return self

    @staticmethod
    def _pass(enc, J: int, K: int, params) -> ChunkStats:
        sc = getattr(enc.sparkSession, "sparkContext", None)
        bc = sc.broadcast(params) if (sc is not None and params is not None) else params
        try:
            rows = enc.mapInPandas(_stats_fn(J, K, bc), _STATS_SCHEMA).collect()
        finally:
            if bc is not params:
                bc.destroy()
        total = ChunkStats.zeros(J, K)
        for r in rows:  # partition order: a fixed summation order
            total += ChunkStats(np.asarray(r["counts"]).reshape(J, K, K),
                                np.asarray(r["post_sum"]), r["log_lik"], r["n_items"],
                                r["n_judgments"])
        return total

    def read_probas(self) -> pd.DataFrame:
        """The item x class posteriors, collected to the driver."""
        df = self.posteriors_.drop("label").toPandas().set_index("item_id")
        return df.rename_axis(columns="class")

    def read_labels(self) -> pd.Series:
        """item_id -> most probable class, collected to the driver."""
        return self.posteriors_.select("item_id", "label").toPandas().set_index(
            "item_id")["label"]
