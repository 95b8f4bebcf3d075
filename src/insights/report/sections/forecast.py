"""Forecast: next weeks' volume per queue and the annotator hours it implies."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.report.html import table
from insights.report.sections import Finding, SectionResult
from insights.report.sections._util import intervals

KEY = "forecast"
TITLE = "Forecast"
ORDER = 90

NO_TIMES = ("A forecast needs the time of each judgment: add the labels column labeled_at to "
            "forecast weekly volume and staffing.")


def volume_forecast(ctx, level: float = 0.8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(history, forecast)`` of weekly item volume per queue over the trends' history."""
    from insights import forecast

    return (forecast.weekly_volume(ctx.history),
            forecast.forecast_volume(ctx.history, horizon=int(ctx.params.horizon),
                                     level=level))


def staffing_sentence(fc: pd.DataFrame, market: str) -> str:
    """The forecast in one plain sentence: items a week and the annotator hours they imply."""
    weekly = fc.groupby("step")[["volume", "volume_lo", "volume_hi", "hours", "hours_lo",
                                 "hours_hi"]].sum(min_count=1).mean()
    level = float(fc["level"].iat[0])
    h = int(fc["step"].max())
    hours = ("" if not np.isfinite(weekly["hours"]) else
             f", which at the current redundancy and median handle time takes about "
             f"{weekly['hours']:,.0f} annotator hours a week ({weekly['hours_lo']:,.0f} to "
             f"{weekly['hours_hi']:,.0f}), or {weekly['hours'] / 40:,.1f} full-time annotators")
    return (f"Over the next {h} weeks market {market} should receive about "
            f"{weekly['volume']:,.0f} items a week ({weekly['volume_lo']:,.0f} to "
            f"{weekly['volume_hi']:,.0f}: the queues' {level:.0%} prediction intervals added "
            f"up, so a conservative range){hours}.")


def view(fc: pd.DataFrame) -> pd.DataFrame:
    lvl = f"{float(fc['level'].iat[0]):.0%}"
    cols = {
        "Queue": fc["queue"].astype(str),
        "Week of": fc["week_start"],
        f"Items ({lvl} interval)": intervals(fc["volume"], fc["volume_lo"], fc["volume_hi"]),
    }
    kinds = {"Queue": "text", "Week of": "date", f"Items ({lvl} interval)": "count_interval"}
    if fc["hours"].notna().any():
        cols[f"Annotator hours ({lvl} interval)"] = intervals(fc["hours"], fc["hours_lo"],
                                                               fc["hours_hi"])
        kinds[f"Annotator hours ({lvl} interval)"] = "number_interval"
    cols["Judgments per item"] = fc["redundancy"].to_numpy(float)
    cols["Model"] = fc["model"].astype(str)
    kinds.update({"Judgments per item": "number", "Model": "text"})
    return table(pd.DataFrame(cols).reset_index(drop=True), kinds)


def build(ctx) -> SectionResult:
    from insights import plots

    if not ctx.has_times:
        return SectionResult(KEY, TITLE, note=NO_TIMES)
    if ctx.params.horizon <= 0:
        return SectionResult(KEY, TITLE, note="No forecast was asked for (horizon = 0).")
    history, fc = volume_forecast(ctx)
    if fc is None or fc.empty:
        return SectionResult(KEY, TITLE, note=(
            "Too few weeks of judgments to forecast: the forecast needs several weeks of "
            "history."), data={"tables": {"forecast": pd.DataFrame()}})
    staffing = staffing_sentence(fc, ctx.market)
    return SectionResult(
        KEY, TITLE, sentences=[staffing], tables={"": view(fc)},
        figures=[plots.volume_forecast(history, fc)],
        findings=[Finding("info", staffing, KEY)],
        data={"history": history, "forecast": fc, "staffing": staffing,
              "tables": {"forecast": fc}})
