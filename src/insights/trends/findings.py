"""Findings: every test of a run in one tidy table, and a plain sentence per finding.

The table has one row per hypothesis tested (trend of a weekly metric in one cell, a team's
class confusion against its market, a market's label mix against the others):

``kind`` (``trend``/``gap``/``mix``), ``metric``, ``level``, ``market``, ``queue``, ``team``,
``klass`` (true class or class label), ``given`` (for gaps), ``where`` (words), ``test``,
``method`` (which variant judged it: ``quasi-binomial``, ``hamed-rao``, ...),
``direction``, ``before``, ``after``, ``effect`` with ``effect_lo``/``effect_hi`` and
``effect_unit``, ``since`` (Monday of the first changed week) and ``since_week``, ``p``
(two-sided), ``q`` (FDR-adjusted across the whole run), ``significant`` (``q <= alpha``),
``dispersion``, ``n`` and ``sentence``.

Effect sizes
------------
* Rates: ``after - before``, the pooled rates of the weeks after and before the located
  change, with Newcombe's (1998, method 10) hybrid score interval built from Wilson intervals
  of effective counts ``x/phi, n/phi`` (the quasi-likelihood reading of overdispersion
  ``phi >= 1``: the rate carries the information of ``n/phi`` independent labels).
* Continuous metrics: Sen's slope per week with its 95% interval; ``before``/``after`` are the
  medians of the weeks before/after the located change.
* Gaps: team rate minus rest-of-market rate (same interval construction).
* Label mix: Cramér's V with its noncentral chi-square interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.stats import wilson_interval
from insights.trends.changepoints import (
    best_split,
    rate_changepoints,
    series_changepoints,
)
from insights.trends.mann_kendall import mann_kendall
from insights.trends.rates import rate_trend
from insights.trends.steps import step_change

__all__ = ["COLUMNS", "RATE_TESTS", "RATE_METRICS", "VALUE_METRICS", "newcombe_difference", "trend_tests",
           "sentence", "finalize", "fmt_q", "fmt_week"]

COLUMNS = ["kind", "metric", "level", "market", "queue", "team", "klass", "given", "where",
           "test", "method", "direction", "before", "after", "effect", "effect_lo",
           "effect_hi", "effect_unit", "since", "since_week", "p", "q", "significant",
           "dispersion", "n", "sentence"]

#: metric -> (successes column, totals column, words)
RATE_METRICS: dict[str, tuple[str, str, str]] = {
    "gold_accuracy": ("gold_correct", "gold_checked", "accuracy on gold items"),
    "est_accuracy": ("est_correct", "est_n", "model-estimated accuracy"),
    "agreement": ("agree", "agree_pairs", "agreement"),
}
#: Tests of a weekly rate: ``"step"`` (:func:`insights.trends.steps.step_change`, default) and
#: ``"trend"`` (:func:`insights.trends.rates.rate_trend`, the logit-GLM slope).
RATE_TESTS = ("step", "trend")

#: metric -> words
VALUE_METRICS: dict[str, str] = {
    "volume": "weekly volume",
    "handle_median": "median handle time",
    "cost_per_final_label": "cost per final label",
}


def newcombe_difference(x1, n1, x2, n2, confidence: float = 0.95, dispersion: float = 1.0):
    """``p2 - p1`` with Newcombe's hybrid score interval (1998, method 10).

    With Wilson limits :math:`(l_i, u_i)` of each rate,
    :math:`\\delta = \\hat p_2 - \\hat p_1`,
    :math:`\\delta - \\sqrt{(\\hat p_2 - l_2)^2 + (u_1 - \\hat p_1)^2}` to
    :math:`\\delta + \\sqrt{(u_2 - \\hat p_2)^2 + (\\hat p_1 - l_1)^2}`. Counts are divided by
    ``dispersion`` (floored at 1) first.
    """
    phi = max(float(dispersion) if np.isfinite(dispersion) else 1.0, 1.0)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1 / phi, n1 / phi, confidence)
    l2, u2 = wilson_interval(x2 / phi, n2 / phi, confidence)
    d = p2 - p1
    lo = d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    hi = d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return float(d), float(lo), float(hi)


def fmt_week(ts) -> str:
    """``2026-03-09`` -> ``"9 Mar"``."""
    t = pd.Timestamp(ts)
    return f"{t.day} {t.strftime('%b')}"


def fmt_q(q: float) -> str:
    if not np.isfinite(q):
        return "q = n/a"
    if q < 0.001:
        return "q < 0.001"
    return f"q = {q:.2g}" if q < 0.01 else f"q = {q:.2f}"


def _where(level: str, market: str, queue: str, team: str) -> str:
    if level == "market":
        return f"Market {market}"
    if level == "market/queue":
        return f"{market} {queue} queue"
    if level == "market/team":
        return f"Team {team}"
    return f"Team {team} on {queue}"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%" if np.isfinite(v) else "n/a"


def _num(v: float, metric: str) -> str:
    if not np.isfinite(v):
        return "n/a"
    if metric == "handle_median":
        return f"{v:.0f} s"
    if metric == "cost_per_final_label":
        return f"{v:.3f}"
    return f"{v:,.0f}"


def sentence(row) -> str:
    """The plain sentence of one findings row (see the module docstring for the fields)."""
    q = fmt_q(row["q"])
    since = f" starting the week of {fmt_week(row['since'])}" if pd.notna(row["since"]) else ""
    if row["kind"] == "gap":
        return (f"{row['where']} labels `{row['klass']}` as `{row['given']}` "
                f"{_pct(row['after'])} of the time, against {_pct(row['before'])} in the rest "
                f"of {row['market']} ({q}).")
    if row["kind"] == "mix":
        return (f"{row['where']}'s label mix differs from the other markets (Cramér's V = "
                f"{row['effect']:.2f} [{row['effect_lo']:.2f}, {row['effect_hi']:.2f}]); the "
                f"largest gap is `{row['klass']}`: {_pct(row['after'])} against "
                f"{_pct(row['before'])} elsewhere ({q}).")
    verb = {"increasing": "rose", "decreasing": "fell"}.get(row["direction"], "changed")
    if row["effect_unit"] == "rate":
        what = row["metric_words"]
        if row["klass"]:
            what = f"{what} on `{row['klass']}`" if row["metric"].startswith(("gold", "est")) \
                else f"share of items labelled `{row['klass']}`"
        return (f"{row['where']}'s {what} {verb} from {_pct(row['before'])} to "
                f"{_pct(row['after'])}{since} ({q}).")
    return (f"{row['where']}'s {row['metric_words']} {verb} from "
            f"{_num(row['before'], row['metric'])} to {_num(row['after'], row['metric'])}"
            f"{since} ({q}).")


def _locate_rate(x, n, phi, direction):
    cps = rate_changepoints(x, n, dispersion=phi)
    best, best_gap = None, 0.0
    bounds = [0, *cps, len(x)]
    for i, k in enumerate(cps):
        a, b = bounds[i], bounds[i + 2]
        before = x[a:k].sum() / n[a:k].sum()
        after = x[k:b].sum() / n[k:b].sum()
        gap = (after - before) * (1 if direction == "increasing" else -1)
        if gap > best_gap:
            best, best_gap = k, gap
    return best if best is not None else best_split(x, n)


def _locate_value(y, direction):
    cps = series_changepoints(y)
    best, best_gap = None, 0.0
    bounds = [0, *cps, len(y)]
    for i, k in enumerate(cps):
        gap = (np.median(y[k:bounds[i + 2]]) - np.median(y[bounds[i]:k])) * \
            (1 if direction == "increasing" else -1)
        if gap > best_gap:
            best, best_gap = k, gap
    return best if best is not None else best_split(y)


def _cells(series: pd.DataFrame, levels):
    names = {"/".join(lv) for lv in levels}
    sub = series[series["level"].isin(names)]
    return sub.groupby(["level", "market", "queue", "team"], sort=True)


def trend_tests(series: pd.DataFrame, *, levels, classes, min_weeks: int = 4,
                min_total: float = 30.0, min_week_total: float = 1.0,
                max_lag: int | None = None, hamed_rao_from: int = 24,
                rate_tests=("step",), n_sim: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Test every metric of every cell of ``series`` (from :func:`weekly_series`).

    * Rates (:data:`RATE_METRICS`, and each class's share of final labels on levels without a
      team), by each test named in ``rate_tests`` (:data:`RATE_TESTS`; every test is one row,
      and every row counts in the run's FDR adjustment):

      - ``"step"`` (default): :func:`insights.trends.steps.step_change`, the most significant
        split week against week-to-week variation, its p-value paying for the search over
        splits (``n_sim`` bootstrap draws, ``seed``); ``since`` is the split week and
        ``before``/``after`` the pooled rates on either side;
      - ``"trend"``: :func:`insights.trends.rates.rate_trend` (dispersion-chosen logit GLM
        slope); ``since`` from PELT (below).

      Cells with fewer than ``min_weeks`` weeks of at least ``min_week_total`` counts, or fewer
      than ``min_total`` counts in all, are not tested.
    * Values (:data:`VALUE_METRICS`; volume is items, or judgments on team levels):
      :func:`insights.trends.mann_kendall.mann_kendall`, exact or continuity-corrected normal;
      with at least ``hamed_rao_from`` weeks, the Hamed-Rao correction with ``max_lag`` lags.

    The week a change starts is located with PELT on the same series (see
    :mod:`insights.trends.changepoints`), or the best single split when PELT finds none.
    """
    rows = []
    for (level, market, queue, team), cell in _cells(series, levels):
        cell = cell.sort_values("week")
        base = {"kind": "trend", "level": level, "market": market, "queue": queue,
                "team": team, "where": _where(level, market, queue, team), "given": ""}
        specs = [(m, *RATE_METRICS[m], "") for m in RATE_METRICS]
        if "team" not in level and "n_final" in cell:
            specs += [(f"share_{c}", f"final_{c}", "n_final", "share of items labelled", c)
                      for c in classes]
        for metric, xs, ns, words, klass in specs:
            x = cell[xs].to_numpy(float)
            n = cell[ns].to_numpy(float)
            w = cell["week"].to_numpy(float)
            ok = np.isfinite(x) & np.isfinite(n) & (n >= min_week_total)
            if ok.sum() < min_weeks or n[ok].sum() < min_total:
                continue
            x, n, w = x[ok], n[ok], w[ok]
            common = {**base, "metric": metric, "metric_words": words, "klass": klass,
                      "effect_unit": "rate", "n": float(n.sum())}
            if "step" in rate_tests:
                st = step_change(x, n, w, min_weeks=min_weeks, n_sim=n_sim, seed=seed)
                if np.isfinite(st.p):
                    k = st.position
                    d, lo, hi = newcombe_difference(x[:k].sum(), n[:k].sum(), x[k:].sum(),
                                                    n[k:].sum(), dispersion=st.dispersion)
                    rows.append({**common, "test": "step change (max over split weeks)",
                                 "method": st.method, "direction": st.direction,
                                 "before": st.before, "after": st.after, "effect": d,
                                 "effect_lo": lo, "effect_hi": hi,
                                 "since": cell["week_start"].to_numpy()[ok][k],
                                 "since_week": int(w[k]), "p": st.p,
                                 "dispersion": st.dispersion})
            if "trend" not in rate_tests:
                continue
            r = rate_trend(x, n, w, min_weeks=min_weeks)
            if not np.isfinite(r.p):
                continue
            k = _locate_rate(x, n, r.dispersion, r.direction)
            if k is None:
                k = len(x) // 2
            d, lo, hi = newcombe_difference(x[:k].sum(), n[:k].sum(), x[k:].sum(), n[k:].sum(),
                                            dispersion=r.dispersion)
            since = cell["week_start"].to_numpy()[ok][k]
            rows.append({**common, "test": "rate trend (logit GLM)", "method": r.method,
                         "direction": r.direction, "before": x[:k].sum() / n[:k].sum(),
                         "after": x[k:].sum() / n[k:].sum(), "effect": d, "effect_lo": lo,
                         "effect_hi": hi, "since": since, "since_week": int(w[k]), "p": r.p,
                         "dispersion": r.dispersion})
        for metric, words in VALUE_METRICS.items():
            col = metric if metric != "volume" else (
                "n_judgments" if "team" in level else "n_items")
            y = cell[col].to_numpy(float)
            w = cell["week"].to_numpy(float)
            ok = np.isfinite(y)
            if ok.sum() < min_weeks:
                continue
            y, w = y[ok], w[ok]
            corr = "hamed-rao" if len(y) >= hamed_rao_from else None
            r = mann_kendall(y, w, correction=corr, max_lag=max_lag)
            k = _locate_value(y, r.direction) if r.s != 0 else None
            k = len(y) // 2 if k is None else k
            rows.append({**base, "metric": metric, "metric_words": words, "klass": "",
                         "test": "Mann-Kendall", "method": r.method,
                         "direction": r.direction, "before": float(np.median(y[:k])),
                         "after": float(np.median(y[k:])), "effect": r.slope,
                         "effect_lo": r.slope_lo, "effect_hi": r.slope_hi,
                         "effect_unit": "per week",
                         "since": cell["week_start"].to_numpy()[ok][k],
                         "since_week": int(w[k]), "p": r.p, "dispersion": np.nan,
                         "n": float(len(y))})
    return pd.DataFrame(rows)


def finalize(table: pd.DataFrame, q: np.ndarray, alpha: float) -> tuple[pd.DataFrame,
                                                                         pd.DataFrame]:
    """Attach q-values and sentences; return ``(all tests, findings)`` where findings are the
    significant rows, most significant first (then largest absolute effect)."""
    t = table.copy()
    t["q"] = q
    t["significant"] = t["q"] <= alpha
    if "metric_words" not in t:
        t["metric_words"] = ""
    t["since"] = pd.to_datetime(t["since"], utc=True)
    t["sentence"] = [sentence(r) for _, r in t.iterrows()] if len(t) else []
    for c in COLUMNS:
        if c not in t:
            t[c] = np.nan
    t = t[COLUMNS]
    f = t[t["significant"]].copy()
    f["_abs"] = f["effect"].abs()
    f = f.sort_values(["q", "_abs"], ascending=[True, False], kind="stable").drop(
        columns="_abs").reset_index(drop=True)
    return t.reset_index(drop=True), f
