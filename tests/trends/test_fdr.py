"""Benjamini-Hochberg / Yekutieli on the 1995 paper's example and against statsmodels."""

import numpy as np
import pytest

from insights.trends.fdr import adjust, reject

# Benjamini & Hochberg (1995), section 4: 15 p-values from a multiple-endpoint study.
BH95 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240,
        0.4262, 0.5719, 0.6528, 0.7590, 1.0000]


def test_bh_1995_example_four_rejections():
    rej = reject(BH95, 0.05, "bh")
    assert rej.sum() == 4                        # the paper rejects the 4 smallest
    assert rej[:4].all()


def test_by_is_more_conservative():
    assert reject(BH95, 0.05, "by").sum() <= 4
    assert np.all(adjust(BH95, "by") >= adjust(BH95, "bh"))


def test_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(0).uniform(size=50) ** 2
    for ours, theirs in (("bh", "fdr_bh"), ("by", "fdr_by")):
        ref = sm.multipletests(p, method=theirs)[1]
        np.testing.assert_allclose(adjust(p, ours), ref, rtol=1e-12)


def test_nan_not_counted():
    q = adjust([0.01, np.nan, 0.04])
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2]], [0.02, 0.04])
