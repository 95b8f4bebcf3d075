"""Trends, drift and knowledge gaps, with false-discovery control across a whole run.

:func:`analyze` is the entry point of ``insights trends`` and of the report's Trends and
Knowledge-gaps sections::

    from insights import data, trends
    ds = data.load("data/")
    rep = trends.analyze(ds)            # Dawid-Skene posteriors fitted unless given
    rep.findings[["sentence", "q"]]     # significant findings, most significant first
    rep.series                          # weekly table per market x queue x team
    rep.gaps                            # knowledge gaps with example item ids

Modules: :mod:`~insights.trends.series` (weekly series), :mod:`~insights.trends.mann_kendall`,
:mod:`~insights.trends.rates`, :mod:`~insights.trends.steps`,
:mod:`~insights.trends.changepoints`,
:mod:`~insights.trends.mix`, :mod:`~insights.trends.fdr`, :mod:`~insights.trends.findings`,
:mod:`~insights.trends.gaps`, :mod:`~insights.trends.analysis` (:func:`analyze`).
"""

from __future__ import annotations

from insights.trends import fdr
from insights.trends.analysis import TEST_LEVELS, TrendReport, analyze
from insights.trends.fdr import adjust
from insights.trends.mann_kendall import mann_kendall, seasonal_mann_kendall, sens_slope
from insights.trends.mix import market_vs_rest, mix_test
from insights.trends.rates import cochran_armitage, rate_trend
from insights.trends.series import LEVELS, weekly_series
from insights.trends.steps import step_change

__all__ = ["TrendReport", "analyze", "TEST_LEVELS", "mann_kendall", "seasonal_mann_kendall",
           "sens_slope", "cochran_armitage", "rate_trend", "step_change", "mix_test", "market_vs_rest",
           "adjust", "fdr", "weekly_series", "LEVELS"]
