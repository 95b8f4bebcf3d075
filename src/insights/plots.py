"""Seaborn figures of the market report, each with a title, axis labels and alt text.

Every function returns a :class:`Figure` holding the matplotlib figure and its alt text;
:func:`figure_html` (or ``Figure._repr_html_`` in a notebook) renders it as an ``<img>`` with
the PNG embedded (base64) and the alt text escaped, so reports work offline and screen readers
get a description.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # file output only; safe in worker processes and kernels

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

__all__ = ["Figure", "figure_html", "scorecard", "confusion_heatmaps", "model_disagreement",
           "team_trends", "volume_forecast", "TREND_METRICS"]

_DPI = 96


@dataclass
class Figure:
    """A rendered figure and its alt text."""

    fig: matplotlib.figure.Figure
    alt: str
    caption: str = ""

    def png(self) -> bytes:
        buf = io.BytesIO()
        # no timestamps in the metadata: the same data gives the same bytes
        self.fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight",
                         metadata={"Software": None})
        return buf.getvalue()

    def _repr_html_(self) -> str:
        return figure_html(self)


def figure_html(figure: Figure) -> str:
    """``<figure><img alt=...></figure>`` with the PNG inlined; closes the matplotlib figure."""
    data = base64.b64encode(figure.png()).decode("ascii")
    plt.close(figure.fig)
    cap = (f"<figcaption>{html.escape(figure.caption)}</figcaption>" if figure.caption else "")
    return (f'<figure class="insights-figure"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(figure.alt, quote=True)}" style="max-width:100%"/>{cap}</figure>')


def _empty(title: str, message: str) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 1.6))
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    ax.set_axis_off()
    return Figure(fig, alt=f"{title}: {message}")


def scorecard(card: pd.DataFrame, *, target: float | None = None) -> Figure:
    """Accuracy vs gold per team with 95% Wilson intervals, and the model estimate.

    Teams are in scorecard rank order (best at the top).
    """
    title = "Vendor team accuracy"
    if card.empty:
        return _empty(title, "no teams in this period")
    sns.set_theme(style="whitegrid", context="notebook")
    teams = card["team"].astype(str).tolist()
    y = np.arange(len(teams))
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(teams) + 1.6))
    acc = card["accuracy_gold"].to_numpy(float)
    lo = card["accuracy_gold_low"].to_numpy(float)
    hi = card["accuracy_gold_high"].to_numpy(float)
    pal = sns.color_palette("colorblind")
    ok = ~np.isnan(acc)
    ax.errorbar(acc[ok], y[ok], xerr=[acc[ok] - lo[ok], hi[ok] - acc[ok]], fmt="o",
                color=pal[0], capsize=3, label="accuracy vs gold (95% interval)")
    est = card["accuracy_estimated"].to_numpy(float)
    if "accuracy_estimated_low" in card:
        e_lo = card["accuracy_estimated_low"].to_numpy(float)
        e_hi = card["accuracy_estimated_high"].to_numpy(float)
        ax.errorbar(est, y + 0.15, xerr=[est - e_lo, e_hi - est], fmt="D", markersize=5,
                    color=pal[1], capsize=3, label="model-estimated accuracy (95% credible)")
    else:
        sns.scatterplot(x=est, y=y, marker="D", s=45, color=pal[1], ax=ax,
                        label="model-estimated accuracy", zorder=3)
    if target is not None:
        ax.axvline(target, color="0.4", linestyle="--", linewidth=1, label=f"target {target:.0%}")
    ax.set_yticks(y, teams)
    ax.invert_yaxis()
    ax.set_xlabel("share of judgments correct")
    ax.set_ylabel("vendor team (ranked)")
    ax.set_title(title)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize="small",
              frameon=False)
    parts = []
    for r in card.itertuples(index=False):
        g = ("no gold" if np.isnan(r.accuracy_gold) else
             f"{r.accuracy_gold:.1%} on gold ({r.accuracy_gold_low:.1%} to "
             f"{r.accuracy_gold_high:.1%})")
        m = f"model estimate {r.accuracy_estimated:.1%}"
        if np.isfinite(getattr(r, "accuracy_estimated_low", np.nan)):
            m += f" ({r.accuracy_estimated_low:.1%} to {r.accuracy_estimated_high:.1%})"
        parts.append(f"{r.team}: {g}, {m}")
    alt = ("Dot plot of accuracy per vendor team, best first, with 95% intervals. "
           + "; ".join(parts) + ".")
    fig.tight_layout()
    return Figure(fig, alt=alt)


def confusion_heatmaps(confusions: pd.DataFrame, teams: list[str] | None = None, *,
                       max_teams: int = 6) -> Figure:
    """One heatmap per team: rows the reference class, columns the label given (row shares)."""
    title = "Confusion by vendor team"
    if teams is None:
        teams = sorted(confusions["team"].unique())
    teams = list(teams)[:max_teams]
    if not teams:
        return _empty(title, "no teams in this period")
    sns.set_theme(style="white", context="notebook")
    classes = list(dict.fromkeys(confusions["true"]))
    ncol = min(3, len(teams))
    nrow = int(np.ceil(len(teams) / ncol))
    size = 1.0 + 0.55 * len(classes)
    fig, axes = plt.subplots(nrow, ncol, figsize=(size * ncol + 1, size * nrow + 0.8),
                             squeeze=False)
    alt_parts = []
    for ax, team in zip(axes.ravel(), teams, strict=False):
        sub = confusions[confusions["team"] == team]
        mat = sub.pivot(index="true", columns="given", values="rate").reindex(
            index=classes, columns=classes)
        sns.heatmap(mat, vmin=0, vmax=1, cmap="rocket_r", annot=len(classes) <= 8, fmt=".0%",
                    cbar=False, square=True, ax=ax, annot_kws={"fontsize": 7})
        ax.set_title(f"team {team}", fontsize=10)
        ax.set_xlabel("label given")
        ax.set_ylabel("reference class")
        off = sub[sub["true"] != sub["given"]].sort_values("rate", ascending=False)
        if len(off) and not np.isnan(off["rate"].iat[0]):
            w = off.iloc[0]
            alt_parts.append(f"team {team} most often labels '{w['true']}' as '{w['given']}' "
                             f"({w['rate']:.0%})")
    for ax in axes.ravel()[len(teams):]:
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    alt = ("Heatmaps of the share of each reference class given each label, one per vendor "
           "team; the diagonal is agreement. " + "; ".join(alt_parts) + ".")
    return Figure(fig, alt=alt)


def model_disagreement(pairs: pd.DataFrame, top: int = 10) -> Figure:
    """Bar chart of the model annotators' most frequent disagreements with human consensus."""
    title = "Model annotator disagreements with human consensus"
    if pairs.empty:
        return _empty(title, "no model annotator, or no disagreement, in this period")
    sns.set_theme(style="whitegrid", context="notebook")
    d = pairs.head(top).copy()
    d["pair"] = ("humans '" + d["consensus"].astype(str) + "' -> model '"
                 + d["model_label"].astype(str) + "'")
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * len(d) + 1.5))
    sns.barplot(data=d, x="items", y="pair", hue="annotator_id", ax=ax, dodge=False)
    ax.set_title(title)
    ax.set_xlabel("items")
    ax.set_ylabel("consensus -> model label")
    ax.legend(title="model annotator", fontsize="small")
    fig.tight_layout()
    alt = ("Bar chart of the most frequent disagreements: " + "; ".join(
        f"{r.annotator_id} says '{r.model_label}' where humans say '{r.consensus}' on "
        f"{r.items} items ({r.share:.0%})" for r in d.itertuples(index=False)) + ".")
    return Figure(fig, alt=alt)


def _panel_grid(n: int, max_cols: int, width: float, height: float, **kwargs):
    """A figure with ``n`` panels in rows of at most ``max_cols`` (``axes`` is 2-D)."""
    ncol = min(max_cols, n)
    nrow = int(np.ceil(n / ncol))
    return plt.subplots(nrow, ncol, figsize=(width * ncol, height * nrow + 0.6), squeeze=False,
                        **kwargs)


def _finish_panels(fig, axes, n: int, title: str, bottom: float) -> None:
    """Hide unused panels, one legend under the grid (from the first panel), title, layout."""
    for ax in axes.ravel()[n:]:
        ax.set_axis_off()
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize="small", frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, bottom, 1, 1))


def _week_numbers(week_start: pd.Series) -> np.ndarray:
    """Week starts as matplotlib date numbers (plain floats: no date units machinery)."""
    return matplotlib.dates.date2num(pd.to_datetime(week_start).dt.tz_localize(None))


def _weekly_axis(ax, title: str, ylabel: str, weeks: np.ndarray, max_ticks: int = 6) -> None:
    """Title, labels and fixed week ticks (``9 Mar``); a fixed locator is much cheaper to draw
    than matplotlib's automatic date locator."""
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("week starting")
    ax.set_ylabel(ylabel)
    weeks = np.unique(weeks)
    if len(weeks):
        ticks = weeks[::max(1, int(np.ceil(len(weeks) / max_ticks)))]
        ax.set_xticks(ticks, [f"{d.day} {d:%b}" for d in matplotlib.dates.num2date(ticks)])
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)


#: Weekly quality series drawn per team: column -> (legend label, interval columns or None).
TREND_METRICS = {
    "gold_accuracy": ("accuracy on gold (95% interval)", ("gold_lo", "gold_hi")),
    "est_accuracy": ("model-estimated accuracy", None),
    "agreement": ("agreement", None),
}


def team_trends(series: pd.DataFrame, findings: pd.DataFrame | None = None, *,
                level: str = "market/team", max_panels: int = 8) -> Figure:
    """Weekly quality series, one panel per team, with located changes marked.

    Parameters
    ----------
    series : pandas.DataFrame
        :func:`insights.trends.weekly_series` (``TrendReport.series``): rows of ``level``
        with ``week_start`` and the columns of :data:`TREND_METRICS`.
    findings : pandas.DataFrame, optional
        ``TrendReport.findings``: each significant trend of a panel's team with a ``since``
        date is drawn as a dashed vertical line at the start of the change.
    """
    title = "Weekly quality per vendor team"
    s = series[series["level"] == level] if len(series) else series
    if s.empty:
        return _empty(title, "no weekly series in this period")
    sns.set_theme(style="whitegrid", context="notebook")
    teams = sorted(s["team"].astype(str).unique())[:max_panels]
    fig, axes = _panel_grid(len(teams), 2, 6.2, 3.2, sharey=True)
    pal = sns.color_palette("colorblind")
    parts = []
    for ax, team in zip(axes.ravel(), teams, strict=False):
        t = s[s["team"].astype(str) == team].sort_values("week_start")
        x = _week_numbers(t["week_start"])
        for (col, (label, band)), colour in zip(TREND_METRICS.items(), pal, strict=False):
            if col not in t or t[col].isna().all():
                continue
            ax.plot(x, t[col], marker="o", markersize=3, color=colour, label=label)
            if band and all(b in t for b in band):
                ax.fill_between(x, t[band[0]], t[band[1]], color=colour, alpha=0.15,
                                linewidth=0)
        marks = []
        if findings is not None and len(findings):
            f = findings[(findings["kind"] == "trend") & (findings["level"] == level)
                         & (findings["team"].astype(str) == team) & findings["since"].notna()
                         & findings["metric"].isin(list(TREND_METRICS))]
            for since, grp in f.groupby("since", sort=True):
                when = pd.Timestamp(since).tz_localize(None)
                wx = matplotlib.dates.date2num(when)
                ax.axvline(wx, color="0.25", linestyle="--", linewidth=1.2)
                what = ", ".join(sorted(set(grp["metric"].map(
                    lambda m: TREND_METRICS[m][0].split(" (")[0]))))
                ax.annotate(f"change: {what}", (wx, 1.0),
                            xycoords=("data", "axes fraction"),
                            xytext=(3, -12), textcoords="offset points", fontsize=7)
                marks.append(f"{what} changed from the week of {when:%d %b %Y}")
        _weekly_axis(ax, f"team {team}", "share", x)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        first, last = t.iloc[0], t.iloc[-1]
        parts.append(f"team {team}: model-estimated accuracy {first['est_accuracy']:.0%} in the "
                     f"first week and {last['est_accuracy']:.0%} in the last"
                     + (f"; {'; '.join(marks)}" if marks else "; no significant change"))
    _finish_panels(fig, axes, len(teams), title, bottom=0.05)
    alt = ("Line charts of weekly accuracy on gold, model-estimated accuracy and agreement, one "
           "panel per vendor team; dashed lines mark where a significant change starts. "
           + ". ".join(parts) + ".")
    return Figure(fig, alt=alt)


def volume_forecast(history: pd.DataFrame, forecast: pd.DataFrame) -> Figure:
    """Weekly item volume per queue: the history and the forecast with its interval.

    Parameters
    ----------
    history : pandas.DataFrame
        :func:`insights.forecast.weekly_volume` (``queue``, ``week_start``, ``volume``).
    forecast : pandas.DataFrame
        :func:`insights.forecast.forecast_volume` (``queue``, ``week_start``, ``volume``,
        ``volume_lo``, ``volume_hi``, ``level``).
    """
    title = "Weekly items per queue: history and forecast"
    if forecast is None or forecast.empty:
        return _empty(title, "no forecast for this period")
    sns.set_theme(style="whitegrid", context="notebook")
    queues = sorted(forecast["queue"].astype(str).unique())
    fig, axes = _panel_grid(len(queues), 3, 4.6, 3.2)
    pal = sns.color_palette("colorblind")
    level = float(forecast["level"].iat[0])
    parts = []
    for ax, q in zip(axes.ravel(), queues, strict=False):
        h = history[history["queue"].astype(str) == q].sort_values("week_start")
        f = forecast[forecast["queue"].astype(str) == q].sort_values("week_start")
        hx = _week_numbers(h["week_start"])
        fx = _week_numbers(f["week_start"])
        ax.plot(hx, h["volume"], marker="o", markersize=3, color=pal[0], label="items (history)")
        ax.plot(fx, f["volume"], marker="o", markersize=3, linestyle="--", color=pal[1],
                label="forecast (median)")
        ax.fill_between(fx, f["volume_lo"], f["volume_hi"], color=pal[1], alpha=0.2,
                        linewidth=0, label=f"{level:.0%} prediction interval")
        ax.set_ylim(bottom=0)
        _weekly_axis(ax, f"queue {q}", "items", np.concatenate([hx, fx]))
        last = h["volume"].iat[-1] if len(h) else float("nan")
        parts.append(f"queue {q}: {last:,.0f} items in the last week, forecast "
                     f"{f['volume'].iat[0]:,.0f} ({f['volume_lo'].iat[0]:,.0f} to "
                     f"{f['volume_hi'].iat[0]:,.0f}) next week and {f['volume'].iat[-1]:,.0f} "
                     f"({f['volume_lo'].iat[-1]:,.0f} to {f['volume_hi'].iat[-1]:,.0f}) in "
                     f"{len(f)} weeks")
    _finish_panels(fig, axes, len(queues), title, bottom=0.07)
    alt = ("Line charts of weekly items per queue with the forecast and its "
           f"{level:.0%} prediction interval shaded. " + "; ".join(parts) + ".")
    return Figure(fig, alt=alt)
