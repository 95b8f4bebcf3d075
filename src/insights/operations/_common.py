"""Shared helpers of :mod:`insights.operations`: judgments with team and market, gold by source."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.data import Dataset


def judgments(ds: Dataset) -> pd.DataFrame:
    """The labels with ``team``, ``market`` and ``kind`` filled from the annotators table where
    the labels lack them (``"*"`` when nobody says). The input is not modified."""
    lab = ds.labels
    ann = ds.annotator_table()
    df = lab.copy()
    for col in ("team", "market", "kind"):
        if col in df.columns and col != "kind":
            vals = df[col]
            if col in ann.columns:
                vals = vals.where(vals.notna(), df["annotator_id"].map(ann[col]))
        elif col in ann.columns:
            vals = df["annotator_id"].map(ann[col])
        else:
            vals = pd.Series(None, index=df.index, dtype=object)
        default = "human" if col == "kind" else "*"
        df[col] = vals.astype(object).where(vals.notna(), default).astype(str)
    return df


def gold_of(ds: Dataset, source: str | None = None) -> pd.DataFrame:
    """Gold rows, optionally those of one ``source`` (an empty frame when there are none).

    Rows without a ``source`` column count as ``benchmark`` (the data contract's default kind
    of gold).
    """
    g = ds.gold
    if g is None or len(g) == 0:
        return pd.DataFrame(columns=["item_id", "label", "source"])
    src = (g["source"].astype(object).where(g["source"].notna(), "benchmark").astype(str)
           .str.strip().str.lower().replace("", "benchmark")
           if "source" in g.columns else pd.Series("benchmark", index=g.index))
    g = g.assign(source=src.to_numpy())
    if source is not None:
        g = g[g["source"] == source]
    return g.reset_index(drop=True)


def votes_text(labels: pd.Series) -> str:
    """``"ok x2, spam x1"``: the votes of one item, most frequent first, ties by name."""
    counts = labels.astype(str).value_counts()
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    return ", ".join(f"{lab} x{n}" for lab, n in counts.items())


def median_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Median with its distribution-free order-statistic interval.

    The number of observations below the population median is Binomial(n, 1/2), so
    ``[x_(l), x_(u)]`` with ``l = F^{-1}(a/2)`` and ``u = n - l + 1`` (1-based order
    statistics) covers the median with probability at least ``confidence`` (Conover 1999,
    section 3.2). ``nan`` limits when ``n`` is too small for any interval at that level.
    """
    from scipy import stats

    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return np.nan, np.nan, np.nan
    med = float(np.median(x))
    a = (1.0 - confidence) / 2.0
    lo_k = int(stats.binom.ppf(a, n, 0.5))  # P(B <= lo_k - 1) <= a
    if stats.binom.cdf(lo_k, n, 0.5) > a:
        lo_k -= 1
    # lo_k is now the largest k with P(B <= k) <= a; the interval is [x_(k+1), x_(n-k)]
    if lo_k < 0:
        return med, np.nan, np.nan
    return med, float(x[lo_k]), float(x[n - lo_k - 1])
