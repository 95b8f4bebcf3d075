"""The entry point of ``insights trends``: :func:`analyze` runs every test of a period (weekly
series, trend and change tests, knowledge gaps, the between-market label mix) and adjusts them
together for the false discovery rate; :class:`TrendReport` holds what it found."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insights.trends.fdr import adjust
from insights.trends.findings import RATE_TESTS, finalize, trend_tests
from insights.trends.gaps import gap_tests, truth_weights
from insights.trends.mix import market_vs_rest
from insights.trends.series import LEVELS, posteriors_for, prepare_judgments, weekly_series

__all__ = ["TrendReport", "analyze", "TEST_LEVELS"]

#: Levels whose cells are tested by default (the finest, market/queue/team, is in the series).
TEST_LEVELS = (("market",), ("market", "queue"), ("market", "team"))


@dataclass
class TrendReport:
    """What :func:`analyze` found.

    Attributes
    ----------
    findings : pandas.DataFrame
        Significant rows of ``tests`` (``q <= alpha``), most significant first, with a
        ``sentence`` column; columns :data:`insights.trends.findings.COLUMNS`.
    tests : pandas.DataFrame
        Every hypothesis tested in the run with its p and q.
    series : pandas.DataFrame
        :func:`insights.trends.series.weekly_series`.
    gaps : pandas.DataFrame
        Knowledge gaps (team rate above the rest of its market) with ``q``, ``significant``,
        ``sentence`` and ``examples`` (item ids), most significant first.
    mix : pandas.DataFrame
        Each market's final-label mix against the other markets, with ``q``.
    alpha : float
    method : str
        ``"bh"`` or ``"by"``.
    n_tests : int
    """

    findings: pd.DataFrame
    tests: pd.DataFrame
    series: pd.DataFrame
    gaps: pd.DataFrame
    mix: pd.DataFrame
    alpha: float = 0.05
    method: str = "bh"
    n_tests: int = 0
    params: dict = field(default_factory=dict)


def analyze(dataset, *, alpha: float = 0.05, method: str = "bh", posteriors=None,
            aggregator: str = "dawid-skene", levels=TEST_LEVELS, min_weeks: int = 4,
            min_total: float = 30.0, gap_min_count: float = 20.0,
            max_lag: int | None = None, rate_tests=("step",)) -> TrendReport:
    """Weekly series, trend/change tests, knowledge gaps and label-mix tests, with one FDR
    adjustment over everything tested.

    Parameters
    ----------
    dataset : insights.data.Dataset
        Needs ``labeled_at``; gold, ``market``/``queue``/``team``, ``handle_seconds`` and
        ``cost`` are used when present.
    alpha : float, default 0.05
        FDR level.
    method : {"bh", "by"}
        Benjamini-Hochberg (default) or Benjamini-Yekutieli.
    posteriors : pandas.DataFrame, optional
        item_id x class posteriors; default: ``aggregator`` fitted with the gold.
    aggregator : str, default "dawid-skene"
        Method name of :func:`insights.reliability.make_aggregator`.
    levels : sequence of tuples
        Cells tested (see :data:`TEST_LEVELS`).
    min_weeks, min_total : see :func:`insights.trends.findings.trend_tests`.
    gap_min_count : see :func:`insights.trends.gaps.gap_tests` (``min_count``).
    max_lag : int, optional
        Lag bound of the Hamed-Rao correction for long series.
    rate_tests : sequence of {"step", "trend"}, default ("step",)
        Tests of each weekly rate (:data:`insights.trends.findings.RATE_TESTS`): the step
        change at the most significant split week (:func:`step_change`) and/or the logit-GLM
        slope (:func:`rate_trend`). Each test is a row of ``tests`` and counts in the FDR.

    Returns
    -------
    TrendReport
    """
    rate_tests = tuple(rate_tests)
    if not rate_tests or set(rate_tests) - set(RATE_TESTS):
        raise ValueError(f"rate_tests={rate_tests!r}: expected a non-empty subset of "
                         f"{RATE_TESTS} (insights.trends.findings.RATE_TESTS)")
    if posteriors is None:
        posteriors = posteriors_for(dataset, aggregator)
    classes = [str(c) for c in (dataset.label_set or list(posteriors.columns))]
    series = weekly_series(dataset, posteriors, levels=tuple(dict.fromkeys((*LEVELS,
                                                                            *levels))))
    trends = trend_tests(series, levels=levels, classes=classes, min_weeks=min_weeks,
                         min_total=min_total, max_lag=max_lag, rate_tests=rate_tests)
    # knowledge gaps
    judg = prepare_judgments(dataset, posteriors)
    kinds = dataset.annotator_table()["kind"].astype(str)
    gaps = gap_tests(judg, truth_weights(judg, dataset.gold, posteriors, classes), classes,
                     min_count=gap_min_count, outside_pool=kinds.index[kinds == "model"])
    gap_rows = pd.DataFrame()
    if len(gaps):
        gap_rows = pd.DataFrame({
            "kind": "gap", "metric": "confusion rate", "level": "market/team",
            "market": gaps["market"], "queue": "*", "team": gaps["team"],
            "klass": gaps["true"], "given": gaps["given"],
            "where": "Team " + gaps["team"].astype(str), "test": "team vs rest of market",
            "method": gaps["method"],
            "direction": np.where(gaps["team_rate"] > gaps["rest_rate"], "increasing",
                                  "decreasing"),
            "before": gaps["rest_rate"], "after": gaps["team_rate"], "effect": gaps["effect"],
            "effect_lo": gaps["effect_lo"], "effect_hi": gaps["effect_hi"],
            "effect_unit": "rate", "since": pd.NaT, "since_week": np.nan, "p": gaps["p"],
            "dispersion": gaps["dispersion"], "n": gaps["team_n"]})
    # between-market label mix (final labels, one per item)
    first = judg.drop_duplicates("item_id")
    mix = pd.DataFrame()
    mix_rows = pd.DataFrame()
    if first["market"].nunique() > 1 and first["final"].notna().any():
        counts = pd.crosstab(first["market"], first["final"]).reindex(columns=classes,
                                                                       fill_value=0)
        mix = market_vs_rest(counts)
        mix_rows = pd.DataFrame({
            "kind": "mix", "metric": "label mix", "level": "market", "market": mix["market"],
            "queue": "*", "team": "*", "klass": mix["class"], "given": "",
            "where": "Market " + mix["market"].astype(str), "test": "chi-square (vs rest)",
            "method": "pearson", "direction": "none", "before": mix["rest_rate"],
            "after": mix["rate"], "effect": mix["cramers_v"], "effect_lo": mix["v_lo"],
            "effect_hi": mix["v_hi"], "effect_unit": "Cramér's V", "since": pd.NaT,
            "since_week": np.nan, "p": mix["p"], "dispersion": np.nan, "n": mix["n"]})
    table = pd.concat([f for f in (trends, gap_rows, mix_rows) if len(f)], ignore_index=True)
    q = adjust(table["p"].to_numpy(float), method)
    tests, findings = finalize(table, q, alpha)
    if len(gaps):
        gq = tests[tests["kind"] == "gap"]
        gaps = gaps.assign(q=gq["q"].to_numpy(), significant=gq["significant"].to_numpy(),
                           sentence=gq["sentence"].to_numpy())
        gaps = gaps[gaps["team_rate"] > gaps["rest_rate"]].sort_values(
            ["q", "effect"], ascending=[True, False], kind="stable").reset_index(drop=True)
    if len(mix):
        mix = mix.assign(q=tests[tests["kind"] == "mix"]["q"].to_numpy())
    return TrendReport(findings=findings, tests=tests, series=series, gaps=gaps, mix=mix,
                       alpha=alpha, method=method, n_tests=int(np.isfinite(q).sum()),
                       params={"aggregator": aggregator, "levels": ["/".join(lv) for lv in
                                                                     levels],
                               "min_weeks": min_weeks, "min_total": min_total,
                               "gap_min_count": gap_min_count, "max_lag": max_lag,
                               "rate_tests": list(rate_tests)})
