"""SparkDawidSkene in Spark's local mode equals the in-memory DawidSkene."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytestmark = [
    # starting the JVM and the Python workers costs ~20 s once; the file takes ~45 s
    pytest.mark.slow,
    # pyspark 4.x warns that it does not fully support pandas 3 yet (the conversions used
    # here work; the equality tests below check the numbers)
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'pyspark>=4')")


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


if _java() is None:
    pytest.skip("no Java runtime (pyspark 4 needs Java 17+): install a JDK or set JAVA_HOME",
                allow_module_level=True)


import pandas as pd  # noqa: E402

from insights import data  # noqa: E402
from insights.data import SchemaError  # noqa: E402
from insights.reliability import ConvergenceWarning, DawidSkene  # noqa: E402
from insights.scale.spark import SparkDawidSkene, local_session  # noqa: E402
from tests.data.test_repeats import count_tensor, e_step, repeated  # noqa: E402,F401
from tests.scale.test_streaming import assert_same_fit  # noqa: E402
from tests.shared import load_shared  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    session = local_session("insights-tests", conf={
        "spark.sql.shuffle.partitions": "3", "spark.default.parallelism": "2",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # small Arrow batches: partitions arrive in several batches that cut items
        "spark.sql.execution.arrow.maxRecordsPerBatch": "100"})
    yield session
    session.stop()


@pytest.mark.parametrize("acceleration", ["squarem", None])
def test_matches_dawid_skene_simulated(spark, simulated, acceleration):
    labels, gold = simulated
    ref = DawidSkene(acceleration=acceleration).fit(labels, gold=gold)
    model = SparkDawidSkene(acceleration=acceleration).fit(spark.createDataFrame(labels),
                                                           gold=gold)
    assert model.n_items_ == labels["item_id"].nunique()
    assert model.n_judgments_ == len(labels)
    assert_same_fit(model, ref)


def test_matches_dawid_skene_real(spark):
    labels, gold = load_shared("snow_rte")
    ref = DawidSkene().fit(labels, gold=gold)
    model = SparkDawidSkene(n_partitions=4).fit(spark.createDataFrame(labels),
                                                 gold=spark.createDataFrame(gold))
    assert_same_fit(model, ref)


def test_partitioning_does_not_matter(spark, simulated):
    # one partition (everything in one E-step) vs five: the same numbers to rounding
    # (a few iterations suffice: every iterate is compared, through the log-likelihoods)
    labels, _ = simulated
    df = spark.createDataFrame(labels)
    with pytest.warns(ConvergenceWarning):
        one = SparkDawidSkene(n_partitions=1, max_iter=3).fit(df)
    with pytest.warns(ConvergenceWarning):
        five = SparkDawidSkene(n_partitions=5, max_iter=3).fit(df)
    assert one.n_iter_ == five.n_iter_
    np.testing.assert_allclose(one.confusions_, five.confusions_, atol=1e-12, rtol=0)
    np.testing.assert_allclose(one.log_likelihood_, five.log_likelihood_, rtol=1e-12)


def test_unknown_label_is_a_schema_error(spark, simulated):
    labels, _ = simulated
    with pytest.raises(SchemaError, match="not in the label set"):
        SparkDawidSkene().fit(spark.createDataFrame(labels), classes=["c0", "c1"])


def test_spark_dawid_skene_counts_repeats(spark, repeated):  # noqa: F811
    """Repeated judgments are counts: the posteriors are an E-step of the count tensor."""
    model = SparkDawidSkene().fit(spark.createDataFrame(repeated))
    probas = model.read_probas()
    enc = data.encode(repeated, classes=list(probas.columns))
    n = count_tensor(enc)[pd.Index(enc.item_ids).get_indexer(probas.index)]
    order = pd.Index(model.annotator_ids_).get_indexer(enc.annotator_ids)
    log_conf = np.log(np.maximum(model.confusions_, 1e-300))[order]
    log_prior = np.log(np.asarray(model.priors_, dtype=float))
    np.testing.assert_allclose(probas.to_numpy(), e_step(n, log_conf, log_prior), atol=1e-6)
    assert np.abs(probas.to_numpy() - e_step((n > 0) * 1.0, log_conf, log_prior)).max() > 1e-3
