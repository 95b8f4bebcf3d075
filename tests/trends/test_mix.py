"""Label-mix chi-square / G-test and Cramér's V."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from insights.trends.mix import market_vs_rest, mix_test


def test_matches_scipy_and_definition():
    tab = pd.DataFrame([[120, 30, 50], [90, 60, 50], [100, 45, 55]], columns=["ok", "spam", "hate"])
    r = mix_test(tab)
    chi2, p, dof, _ = stats.chi2_contingency(tab.to_numpy(), correction=False)
    assert r.chi2 == pytest.approx(chi2) and r.p == pytest.approx(p) and r.dof == dof
    assert r.cramers_v == pytest.approx(np.sqrt(chi2 / (tab.to_numpy().sum() * 2)))
    assert r.v_lo <= r.cramers_v <= r.v_hi
    assert r.largest_residual_class == "spam"     # 30 vs 60 is the biggest departure


def test_same_mix_gives_v_zero():
    r = mix_test([[50, 30, 20], [100, 60, 40]])
    assert r.chi2 == pytest.approx(0) and r.p == pytest.approx(1) and r.cramers_v == 0


def test_market_vs_rest_names_the_shifted_market():
    counts = pd.DataFrame({"ok": [800, 790, 600], "spam": [100, 110, 300]}, index=["A", "B", "C"])
    out = market_vs_rest(counts).set_index("market")
    assert out["p"].idxmin() == "C"
    assert out.loc["C", "rate"] > out.loc["C", "rest_rate"]
