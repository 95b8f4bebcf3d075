"""Dawid-Skene at scale: out-of-core streaming over Parquet, and Apache Spark.

Both paths run the EM of :class:`insights.reliability.DawidSkene` with its own E-step and
M-step code (:mod:`insights.scale._kernel`), on chunks of whole items:

* :func:`~insights.scale.streaming.encode_parquet` and
  :class:`~insights.scale.streaming.StreamingDawidSkene`: one machine, bounded memory,
  the judgments streamed from an item-sorted Parquet file each iteration;
* :class:`~insights.scale.spark.SparkDawidSkene`: a pyspark DataFrame partitioned by item,
  the small annotator parameters broadcast each iteration (pyspark is optional and imported
  only when used); :func:`~insights.scale.spark.local_session` starts Spark on one machine.
"""

from __future__ import annotations

from insights.scale.streaming import (
    EncodedParquet,
    StreamingDawidSkene,
    encode_parquet,
    iter_item_chunks,
)

__all__ = ["EncodedParquet", "StreamingDawidSkene", "encode_parquet", "iter_item_chunks",
           "SparkDawidSkene", "local_session"]


def __getattr__(name: str):
    if name in ("SparkDawidSkene", "local_session"):
        from insights.scale import spark
        return getattr(spark, name)
    raise AttributeError(name)
