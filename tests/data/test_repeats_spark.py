"""SparkDawidSkene reads repeated judgments as counts (E-step of the count tensor)."""

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
from insights.scale.spark import SparkDawidSkene, local_session  # noqa: E402
from tests.data.test_repeats import count_tensor, e_step, repeated  # noqa: E402,F401


@pytest.fixture(scope="module")
def spark():
    session = local_session("insights-tests-repeats", conf={
        "spark.sql.shuffle.partitions": "3", "spark.default.parallelism": "2",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "100"})
    yield session
    session.stop()


def test_spark_dawid_skene_counts_repeats(spark, repeated):  # noqa: F811
    model = SparkDawidSkene().fit(spark.createDataFrame(repeated))
    probas = model.read_probas()
    enc = data.encode(repeated, classes=list(probas.columns))
    n = count_tensor(enc)[pd.Index(enc.item_ids).get_indexer(probas.index)]
    order = pd.Index(model.annotator_ids_).get_indexer(enc.annotator_ids)
    log_conf = np.log(np.maximum(model.confusions_, 1e-300))[order]
    log_prior = np.log(np.asarray(model.priors_, dtype=float))
    np.testing.assert_allclose(probas.to_numpy(), e_step(n, log_conf, log_prior), atol=1e-6)
    assert np.abs(probas.to_numpy() - e_step((n > 0) * 1.0, log_conf, log_prior)).max() > 1e-3
