"""Accuracy against gold on the shared real datasets (skipped when they are absent).

Protocol (as ``../shared/datasets/ds_check.csv`` and ``summary.csv``): fit without gold on all
labels (repeated (item, annotator) rows kept as the source has them), then score the gold items
that have at least one judgment; an item whose top posterior is shared by ``m`` classes counts
``1/m`` if gold is among them (expected accuracy under a uniformly random tie-break).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from insights.reliability import (
    GLAD,
    MACE,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    Wawa,
)
from tests.shared import SHARED_DATASETS, load_shared, shared_dataset_names

WITH_GOLD = shared_dataset_names(with_gold=True)

# Published Dawid-Skene accuracies (%): Zheng et al. PVLDB 2017 Table 6 (D_Product,
# D_PosSent); Zhang, Chen, Zhou & Jordan NIPS 2014 Table 2 (bluebirds: Opt-D&S error 10.09;
# RTE: 7.12), as listed in each dataset's SOURCE.md.
PUBLISHED_DS = {"vldb_d_product": 93.66, "vldb_d_possent": 96.00, "bluebirds": 89.9,
                "snow_rte": 92.9}
# Published GLAD accuracies (%), Zheng et al. PVLDB 2017 Table 6.
PUBLISHED_GLAD = {"vldb_d_product": 92.2, "vldb_d_possent": 95.2}


def expected_accuracy(probas: pd.DataFrame, gold: pd.DataFrame) -> tuple[float, int]:
    g = gold.drop_duplicates("item_id").set_index("item_id")["label"]
    common = probas.index.intersection(g.index)
    p = probas.loc[common].to_numpy()
    is_max = p >= p.max(axis=1, keepdims=True) - 1e-12
    col = pd.Index(probas.columns).get_indexer(g.loc[common].to_numpy())
    hit = np.where(col >= 0, is_max[np.arange(len(common)), np.maximum(col, 0)], False)
    return float((hit / is_max.sum(axis=1)).mean()), len(common)


def _table(name: str) -> pd.DataFrame:
    path = SHARED_DATASETS / name
    if not path.exists():
        pytest.skip(f"{path} not found")
    return pd.read_csv(path).set_index("name")


_cache: dict[tuple[str, str], tuple[float, int]] = {}


def accuracy(name: str, method: str) -> tuple[float, int]:
    if (name, method) not in _cache:
        labels, gold = load_shared(name)
        est = {"mv": MajorityVote(), "ds": DawidSkene(), "wawa": Wawa(),
               "one-coin": OneCoinDawidSkene(), "glad": GLAD(), "mace": MACE(),
               "mace-vb": MACE(variational=True)}[method]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence is checked elsewhere
            est.fit(labels)
        _cache[(name, method)] = expected_accuracy(est.probas_, gold)
    return _cache[(name, method)]


@pytest.mark.parametrize("name", WITH_GOLD)
def test_majority_vote_reproduces_summary(name):
    """Our MV and scoring protocol give exactly the independent check in summary.csv."""
    summary = _table("summary.csv")
    acc, n = accuracy(name, "mv")
    assert acc == pytest.approx(summary.loc[name, "acc_mv_expected"], abs=1e-9)
    assert n == summary.loc[name, "gold_items_covered"]
    labels, gold = load_shared(name)
    det = MajorityVote().fit(labels).labels_  # first class in sorted order wins a tie
    g = gold.set_index("item_id")["label"]
    common = det.index.intersection(g.index)
    assert (det.loc[common] == g.loc[common]).mean() == pytest.approx(
        summary.loc[name, "acc_mv_det"], abs=1e-9)


@pytest.mark.parametrize("name", WITH_GOLD)
def test_dawid_skene_at_least_ds_check(name):
    ds_check = _table("ds_check.csv")
    if name not in ds_check.index or pd.isna(ds_check.loc[name, "acc_ds_expected"]):
        pytest.skip(f"no ds_check row for {name}")
    acc, _ = accuracy(name, "ds")
    assert acc >= ds_check.loc[name, "acc_ds_expected"] - 0.005


@pytest.mark.parametrize("name", sorted(PUBLISHED_DS))
def test_dawid_skene_at_least_published(name):
    """Published numbers are rounded percentages (bluebirds' 10.09 % error is not even a whole
    number of its 108 items: 89.9 % is 97.09 items), so we allow half an item: the count of
    correct items must be at least the published accuracy rounded to a whole item."""
    acc, n = accuracy(name, "ds")
    assert 100 * acc >= PUBLISHED_DS[name] - 50.0 / n


@pytest.mark.parametrize("method", ["wawa", "mace", "mace-vb"])
@pytest.mark.parametrize("name", WITH_GOLD)
def test_weighted_vote_and_mace_not_below_majority(name, method):
    """Wawa reweights the vote and MACE beats MV on every set of its paper: allow 1 point
    (a few items on the smaller sets)."""
    assert accuracy(name, method)[0] >= accuracy(name, "mv")[0] - 0.01


@pytest.mark.parametrize("method", ["one-coin", "glad"])
@pytest.mark.parametrize("name", WITH_GOLD)
def test_symmetric_noise_models_near_majority(name, method):
    """One-coin DS and GLAD assume wrong answers are spread evenly over the other classes.
    Where annotators are mildly class-biased (face4, cf_weather) that costs under a point
    against the vote; on bluebirds, where Welinder et al. (2010) show annotators with
    opposite biases, the symmetric model falls below the vote itself, which is why the
    recommended default is a full-confusion model. The limitation is asserted so that it
    stays visible."""
    acc = accuracy(name, method)[0]
    mv = accuracy(name, "mv")[0]
    if name == "bluebirds":
        assert acc < mv < accuracy(name, "ds")[0]
    else:
        assert acc >= mv - 0.01


@pytest.mark.parametrize("name", sorted(PUBLISHED_GLAD))
def test_glad_near_published(name):
    """Within a point of Zheng et al.'s GLAD (their implementation's priors and M-step
    schedule differ from ours; 1 point is 83 items on D_Product, 10 on D_PosSent)."""
    labels, _ = load_shared(name)
    assert 100 * accuracy(name, "glad")[0] >= PUBLISHED_GLAD[name] - 1.0


@pytest.mark.parametrize("name", WITH_GOLD)
def test_dawid_skene_is_near_best_everywhere(name):
    """Smoothed DS (the default before the selecting default, see test_auto.py) is never
    below the expected majority vote and within 1 point of the best of the other methods on
    every dataset (plain DS is 8 points below MV on cf_weather, where the median annotator
    gave 2 labels)."""
    ds = accuracy(name, "ds")[0]
    others = [accuracy(name, m)[0] for m in ("mv", "wawa", "one-coin", "glad", "mace",
                                             "mace-vb")]
    assert ds >= accuracy(name, "mv")[0]
    assert ds >= max(others) - 0.01
