"""Seaborn figures of the market report, each with a title, axis labels and alt text.

The functions behave like ArviZ's and seaborn's: a single-panel plot takes ``ax=None`` (draw
into that Axes, else into a new figure), a multi-panel one ``fig=None`` (fill that empty
matplotlib figure, else a new one), and every one returns a :class:`Figure` holding the
matplotlib figure, the Axes drawn (``.ax`` / ``.axes``) and the alt text. Nothing global is
touched: no backend is chosen at import, figures are made without :mod:`matplotlib.pyplot`
(so none piles up in pyplot's registry), and styles are applied with
:func:`seaborn.axes_style` / :func:`matplotlib.rc_context` around the drawing only.

Strings from the data (teams, queues, classes, annotator ids) are shortened with an ellipsis by
:func:`plot_label` and never parsed as mathtext, so a team named ``$x^$`` or a label of 100k
characters neither crashes a plot nor exhausts memory.

:func:`figure_html` (or ``Figure._repr_html_`` in a notebook) renders a figure as an ``<img>``
with the PNG embedded (base64) and the alt text escaped, so reports work offline and screen
readers get a description.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import matplotlib as mpl
import matplotlib.dates as mdates
import matplotlib.figure as mfigure
import matplotlib.text as mtext
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

__all__ = ["Figure", "figure_html", "plot_label", "scorecard", "confusion_heatmaps",
           "model_disagreement", "team_trends", "volume_forecast", "label_mix", "TREND_METRICS"]

_DPI = 96
#: Widest figure (inches) that the report shows unscaled (1,100 px page at 96 dpi, less
#: padding): text sizes chosen here are the sizes the reader sees.
MAX_WIDTH = 10.0
_RC = {"text.parse_math": False, "svg.fonttype": "none"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def plot_label(value: object, max_len: int = 40) -> str:
    """A data string fit for a plot: one line, at most ``max_len`` characters.

    Control characters (newlines, tabs) become spaces and a longer string is cut with an
    ellipsis. The string is shown literally (the plots never parse mathtext).

    Examples
    --------
    >>> plot_label("team $x^$")
    'team $x^$'
    >>> plot_label("a" * 100, max_len=8)
    'aaaaaaa…'
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    s = str(value)[: 4 * max_len + 8]  # bound the work on huge strings before cleaning
    s = _CONTROL.sub(" ", s).strip()
    return s if len(s) <= max_len else s[: max_len - 1].rstrip() + "…"


@contextlib.contextmanager
def _style(style: str = "whitegrid") -> Iterator[None]:
    """Seaborn style and context plus literal text, for the duration of the drawing only."""
    with sns.axes_style(style), sns.plotting_context("notebook"), mpl.rc_context(_RC):
        yield


@dataclass
class Figure:
    """A rendered figure, the Axes drawn and the alt text.

    Attributes
    ----------
    fig : matplotlib.figure.Figure
    alt : str
        Text alternative for screen readers (also the ``<img alt>`` in reports).
    caption : str
    axes : list of matplotlib.axes.Axes
        The Axes the function drew into (``ax`` is the first).
    """

    fig: mfigure.Figure
    alt: str
    caption: str = ""
    axes: list = field(default_factory=list)

    @property
    def ax(self):
        """The (first) Axes drawn into."""
        return self.axes[0] if self.axes else (self.fig.axes[0] if self.fig.axes else None)

    def png(self) -> bytes:
        """The figure as PNG bytes (no timestamp in the metadata: same data, same bytes)."""
        buf = io.BytesIO()
        with mpl.rc_context(_RC):  # tick labels created at draw time stay literal too
            self.fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight",
                             metadata={"Software": None})
        return buf.getvalue()

    def _repr_html_(self) -> str:
        return figure_html(self)


def figure_html(figure: Figure) -> str:
    """``<figure><img alt=...></figure>`` with the PNG inlined; releases the figure."""
    data = base64.b64encode(figure.png()).decode("ascii")
    _release(figure.fig)
    cap = (f"<figcaption>{html.escape(figure.caption)}</figcaption>" if figure.caption else "")
    return (f'<figure class="insights-figure"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(figure.alt, quote=True)}" style="max-width:100%"/>{cap}</figure>')


def _release(fig) -> None:
    """Close ``fig`` in pyplot (a figure the caller made there); ours are not registered."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close(fig)  # a no-op for a figure pyplot does not manage


def _new_figure(figsize, **kwargs) -> mfigure.Figure:
    return mfigure.Figure(figsize=(min(figsize[0], MAX_WIDTH), figsize[1]), dpi=_DPI, **kwargs)


def _axes(ax, figsize):
    """``(figure, ax, owned)``: the caller's Axes, or a new figure with one Axes."""
    if ax is not None:
        return ax.get_figure(root=True), ax, False
    fig = _new_figure(figsize)
    return fig, fig.add_subplot(), True


def _literal(fig) -> None:
    """Every text of ``fig`` drawn literally (no mathtext), whatever the caller's rcParams."""
    for t in fig.findobj(mtext.Text):
        t.set_parse_math(False)


def _done(fig, axes, alt: str, owned: bool, **layout) -> Figure:
    _literal(fig)
    if owned:
        fig.tight_layout(**layout)
    return Figure(fig, alt=alt, axes=list(axes))


def _empty(title: str, message: str, ax=None) -> Figure:
    with _style():
        fig, ax, owned = _axes(ax, (6, 1.6))
        ax.set_title(title)
        ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    return _done(fig, [ax], f"{title}: {message}", owned)


def scorecard(card: pd.DataFrame, *, target: float | None = None, ax=None) -> Figure:
    """Accuracy vs gold per team with 95% Wilson intervals, and the model estimate.

    Teams are in scorecard rank order (best at the top). Draws into ``ax`` if given.
    """
    title = "Vendor team accuracy"
    if card.empty:
        return _empty(title, "no teams in this period", ax)
    teams = [plot_label(t) for t in card["team"]]
    y = np.arange(len(teams))
    with _style("whitegrid"):
        fig, ax, owned = _axes(ax, (7.5, 0.5 * len(teams) + 1.6))
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
            ax.scatter(est, y, marker="D", s=45, color=pal[1], zorder=3,
                       label="model-estimated accuracy")
        if target is not None:
            ax.axvline(target, color="0.4", linestyle="--", linewidth=1,
                       label=f"target {target:.0%}")
        ax.set_yticks(y, teams)
        ax.set_ylim(len(teams) - 0.5, -0.5)  # best at the top
        ax.set_xlabel("share of judgments correct")
        ax.set_ylabel("vendor team (ranked)")
        ax.set_title(title)
        ax.xaxis.set_major_formatter(mticker.PercentFormatter(1.0))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize="small",
                  frameon=False)
    parts = []
    for r, name in zip(card.itertuples(index=False), teams, strict=True):
        g = ("no gold" if np.isnan(r.accuracy_gold) else
             f"{r.accuracy_gold:.1%} on gold ({r.accuracy_gold_low:.1%} to "
             f"{r.accuracy_gold_high:.1%})")
        m = f"model estimate {r.accuracy_estimated:.1%}"
        if np.isfinite(getattr(r, "accuracy_estimated_low", np.nan)):
            m += f" ({r.accuracy_estimated_low:.1%} to {r.accuracy_estimated_high:.1%})"
        parts.append(f"{name}: {g}, {m}")
    alt = ("Dot plot of accuracy per vendor team, best first, with 95% intervals. "
           + "; ".join(parts) + ".")
    return _done(fig, [ax], alt, owned)


def _grid(fig, n: int, ncol: int, figsize, layout=None, **kwargs):
    """``(figure, 2-D axes, owned)``: ``n`` panels in rows of ``ncol``, in ``fig`` or a new one."""
    ncol = max(1, min(ncol, n))
    nrow = int(np.ceil(n / ncol))
    owned = fig is None
    if owned:
        fig = _new_figure(figsize(nrow, ncol), layout=layout)
    axes = fig.subplots(nrow, ncol, squeeze=False, **kwargs)
    return fig, axes, owned


def confusion_heatmaps(confusions: pd.DataFrame, teams: list[str] | None = None, *,
                       max_teams: int = 6, fig=None) -> Figure:
    """One heatmap per team: rows the reference class, columns the label given (row shares).

    Cells are at least about half an inch at the report's width, so the shares written in
    them are 9 pt as read; with more classes than fit, the numbers are left out and a colour
    bar gives the scale. Draws into the empty matplotlib figure ``fig`` if given.
    """
    title = "Confusion by vendor team"
    if teams is None:
        teams = sorted(confusions["team"].unique())
    teams = list(teams)[:max_teams]
    if not teams:
        return _empty(title, "no teams in this period")
    classes = list(dict.fromkeys(confusions["true"]))
    names = [plot_label(c, 18) for c in classes]
    k = max(len(classes), 1)
    cell = min(0.5, 7.0 / k)            # inches; 0.5 in holds "100%" at 9 pt with margins
    annot = cell >= 0.42
    side = cell * k
    margin = 0.4 + 0.075 * max(len(n) for n in names)   # tick labels at 9 pt
    panel_w = side + margin + 0.3
    ncol = max(1, min(3, int(MAX_WIDTH // panel_w)))
    alt_parts = []
    with _style("white"):
        fig, axes, owned = _grid(fig, len(teams), ncol,
                                 lambda r, c: (panel_w * c + (0 if annot else 1.0),
                                               (side + margin + 0.5) * r + 0.6),
                                 layout="constrained")
        for ax, team in zip(axes.ravel(), teams, strict=False):
            sub = confusions[confusions["team"] == team]
            mat = sub.pivot_table(index="true", columns="given", values="rate",
                                  aggfunc="first").reindex(index=classes, columns=classes)
            sns.heatmap(mat.to_numpy(float), vmin=0, vmax=1, cmap="rocket_r", annot=annot,
                        fmt=".0%", cbar=False, ax=ax,
                        annot_kws={"fontsize": 9}, xticklabels=names, yticklabels=names)
            ax.tick_params(labelsize=9)
            ax.set_title(f"team {plot_label(team, 30)}", fontsize=10)
            ax.set_xlabel("label given")
            ax.set_ylabel("reference class")
            off = sub[sub["true"] != sub["given"]].sort_values("rate", ascending=False)
            if len(off) and not np.isnan(off["rate"].iat[0]):
                w = off.iloc[0]
                alt_parts.append(f"team {plot_label(team)} most often labels "
                                 f"'{plot_label(w['true'])}' as '{plot_label(w['given'])}' "
                                 f"({w['rate']:.0%})")
        for ax in axes.ravel()[len(teams):]:
            ax.set_axis_off()
        if not annot and len(axes.ravel()):
            fig.colorbar(axes.ravel()[0].collections[0], ax=list(axes.ravel()),
                         format=mticker.PercentFormatter(1.0), label="share of the row")
        fig.suptitle(title)
    alt = ("Heatmaps of the share of each reference class given each label, one per vendor "
           "team; the diagonal is agreement. " + "; ".join(alt_parts) + ".")
    used = list(axes.ravel()[: len(teams)])
    return _done(fig, used, alt, owned=False)  # constrained layout already


def model_disagreement(pairs: pd.DataFrame, top: int = 10, *, ax=None) -> Figure:
    """Bar chart of the model annotators' most frequent disagreements with human consensus."""
    title = "Model annotator disagreements with human consensus"
    if pairs.empty:
        return _empty(title, "no model annotator, or no disagreement, in this period", ax)
    d = pairs.head(top).copy()
    d["pair"] = [f"humans '{plot_label(c, 20)}' -> model '{plot_label(m, 20)}'"
                 for c, m in zip(d["consensus"], d["model_label"], strict=True)]
    d["annotator"] = [plot_label(a, 30) for a in d["annotator_id"]]
    with _style("whitegrid"):
        fig, ax, owned = _axes(ax, (7.5, 0.4 * len(d) + 1.5))
        sns.barplot(data=d, x="items", y="pair", hue="annotator", ax=ax, dodge=False)
        ax.set_title(title)
        ax.set_xlabel("items")
        ax.set_ylabel("consensus -> model label")
        ax.legend(title="model annotator", fontsize="small", loc="upper left",
                  bbox_to_anchor=(1.01, 1), frameon=False)
    alt = ("Bar chart of the most frequent disagreements: " + "; ".join(
        f"{a} says '{plot_label(r.model_label)}' where humans say '{plot_label(r.consensus)}' "
        f"on {r.items} items ({r.share:.0%})"
        for r, a in zip(d.itertuples(index=False), d["annotator"], strict=True)) + ".")
    return _done(fig, [ax], alt, owned)


def _finish_panels(fig, axes, n: int, title: str, bottom: float, owned: bool) -> None:
    """Hide unused panels, one legend under the grid (from the first panel), title, layout."""
    for ax in axes.ravel()[n:]:
        ax.set_axis_off()
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize="small", frameon=False)
    fig.suptitle(title)
    _literal(fig)
    if owned:
        fig.tight_layout(rect=(0, bottom, 1, 1))


def _week_numbers(week_start: pd.Series) -> np.ndarray:
    """Week starts as matplotlib date numbers (plain floats: no date units machinery)."""
    return mdates.date2num(pd.to_datetime(week_start).dt.tz_localize(None))


def _weekly_axis(ax, title: str, ylabel: str, weeks: np.ndarray, max_ticks: int = 6) -> None:
    """Title, labels and fixed week ticks (``9 Mar``); a fixed locator is much cheaper to draw
    than matplotlib's automatic date locator."""
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("week starting")
    ax.set_ylabel(ylabel)
    weeks = np.unique(weeks)
    if len(weeks):
        ticks = weeks[::max(1, int(np.ceil(len(weeks) / max_ticks)))]
        ax.set_xticks(ticks, [f"{d.day} {d:%b}" for d in mdates.num2date(ticks)])
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)


def _mark_change(ax, when: pd.Timestamp, text: str, x_range: tuple[float, float]) -> None:
    """A dashed line at ``when`` with its label kept inside the panel.

    The label goes right of the line in the left half of the panel and left of it in the right
    half, and is clipped to the panel, so it never runs into the next one.
    """
    wx = mdates.date2num(when)
    ax.axvline(wx, color="0.25", linestyle="--", linewidth=1.2)
    lo, hi = x_range
    right_half = hi > lo and (wx - lo) / (hi - lo) > 0.5
    ann = ax.annotate(text, (wx, 1.0), xycoords=("data", "axes fraction"),
                      xytext=(-3 if right_half else 3, -12), textcoords="offset points",
                      ha="right" if right_half else "left", fontsize=7, parse_math=False,
                      bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                            "alpha": 0.8})
    ann.set_clip_on(True)


#: Weekly quality series drawn per team: column -> (legend label, interval columns or None).
TREND_METRICS = {
    "gold_accuracy": ("accuracy on gold (95% interval)", ("gold_lo", "gold_hi")),
    "est_accuracy": ("model-estimated accuracy", None),
    "agreement": ("agreement", None),
}


def team_trends(series: pd.DataFrame, findings: pd.DataFrame | None = None, *,
                level: str = "market/team", max_panels: int = 8, fig=None) -> Figure:
    """Weekly quality series, one panel per team, with located changes marked.

    Parameters
    ----------
    series : pandas.DataFrame
        :func:`insights.trends.weekly_series` (``TrendReport.series``): rows of ``level``
        with ``week_start`` and the columns of :data:`TREND_METRICS`.
    findings : pandas.DataFrame, optional
        ``TrendReport.findings``: each significant trend of a panel's team with a ``since``
        date is drawn as a dashed vertical line at the start of the change.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw the panels into (default: a new one).
    """
    title = "Weekly quality per vendor team"
    s = series[series["level"] == level] if len(series) else series
    if s.empty:
        return _empty(title, "no weekly series in this period")
    teams = sorted(s["team"].astype(str).unique())[:max_panels]
    parts = []
    with _style("whitegrid"):
        fig, axes, owned = _grid(fig, len(teams), 2, lambda r, c: (5 * c, 3.2 * r + 0.6),
                                 sharey=True)
        pal = sns.color_palette("colorblind")
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
                             & (findings["team"].astype(str) == team)
                             & findings["since"].notna()
                             & findings["metric"].isin(list(TREND_METRICS))]
                for since, grp in f.groupby("since", sort=True):
                    when = pd.Timestamp(since).tz_localize(None)
                    what = ", ".join(sorted(set(grp["metric"].map(
                        lambda m: TREND_METRICS[m][0].split(" (")[0]))))
                    _mark_change(ax, when, f"change: {what}", (x.min(), x.max()))
                    marks.append(f"{what} changed from the week of {when:%d %b %Y}")
            name = plot_label(team, 30)
            _weekly_axis(ax, f"team {name}", "share", x)
            ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
            first, last = t.iloc[0], t.iloc[-1]
            parts.append(f"team {name}: model-estimated accuracy {first['est_accuracy']:.0%} in "
                         f"the first week and {last['est_accuracy']:.0%} in the last"
                         + (f"; {'; '.join(marks)}" if marks else "; no significant change"))
        _finish_panels(fig, axes, len(teams), title, 0.05, owned)
    alt = ("Line charts of weekly accuracy on gold, model-estimated accuracy and agreement, one "
           "panel per vendor team; dashed lines mark where a significant change starts. "
           + ". ".join(parts) + ".")
    return Figure(fig, alt=alt, axes=list(axes.ravel()[: len(teams)]))


def volume_forecast(history: pd.DataFrame, forecast: pd.DataFrame, *, fig=None) -> Figure:
    """Weekly item volume per queue: the history and the forecast with its interval.

    Parameters
    ----------
    history : pandas.DataFrame
        :func:`insights.forecast.weekly_volume` (``queue``, ``week_start``, ``volume``).
    forecast : pandas.DataFrame
        :func:`insights.forecast.forecast_volume` (``queue``, ``week_start``, ``volume``,
        ``volume_lo``, ``volume_hi``, ``level``).
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw the panels into (default: a new one).
    """
    title = "Weekly items per queue: history and forecast"
    if forecast is None or forecast.empty:
        return _empty(title, "no forecast for this period")
    queues = sorted(forecast["queue"].astype(str).unique())
    level = float(forecast["level"].iat[0])
    parts = []
    with _style("whitegrid"):
        fig, axes, owned = _grid(fig, len(queues), 3, lambda r, c: (3.3 * c, 3.0 * r + 0.6))
        pal = sns.color_palette("colorblind")
        for ax, q in zip(axes.ravel(), queues, strict=False):
            h = history[history["queue"].astype(str) == q].sort_values("week_start")
            f = forecast[forecast["queue"].astype(str) == q].sort_values("week_start")
            hx = _week_numbers(h["week_start"])
            fx = _week_numbers(f["week_start"])
            ax.plot(hx, h["volume"], marker="o", markersize=3, color=pal[0],
                    label="items (history)")
            ax.plot(fx, f["volume"], marker="o", markersize=3, linestyle="--", color=pal[1],
                    label="forecast (median)")
            ax.fill_between(fx, f["volume_lo"], f["volume_hi"], color=pal[1], alpha=0.2,
                            linewidth=0, label=f"{level:.0%} prediction interval")
            ax.set_ylim(bottom=0)
            name = plot_label(q, 30)
            _weekly_axis(ax, f"queue {name}", "items", np.concatenate([hx, fx]))
            last = h["volume"].iat[-1] if len(h) else float("nan")
            parts.append(f"queue {name}: {last:,.0f} items in the last week, forecast "
                         f"{f['volume'].iat[0]:,.0f} ({f['volume_lo'].iat[0]:,.0f} to "
                         f"{f['volume_hi'].iat[0]:,.0f}) next week and "
                         f"{f['volume'].iat[-1]:,.0f} ({f['volume_lo'].iat[-1]:,.0f} to "
                         f"{f['volume_hi'].iat[-1]:,.0f}) in {len(f)} weeks")
        _finish_panels(fig, axes, len(queues), title, 0.07, owned)
    alt = ("Line charts of weekly items per queue with the forecast and its "
           f"{level:.0%} prediction interval shaded. " + "; ".join(parts) + ".")
    return Figure(fig, alt=alt, axes=list(axes.ravel()[: len(queues)]))


def _share_cells(series: pd.DataFrame, findings: pd.DataFrame | None, max_panels: int):
    """Cells (level, market, queue) to draw: those with a label-share change, else markets."""
    cells = []
    if findings is not None and len(findings) and "metric" in findings:
        f = findings[(findings["kind"] == "trend")
                     & findings["metric"].astype(str).str.startswith("share_")]
        cells = list(dict.fromkeys(zip(f["level"], f["market"], f["queue"], strict=True)))
    if not cells:
        m = series[series["level"] == "market"]
        cells = [("market", mk, "*") for mk in sorted(m["market"].astype(str).unique())]
    return cells[:max_panels]


def label_mix(series: pd.DataFrame, findings: pd.DataFrame | None = None, *,
              max_classes: int = 6, max_panels: int = 4, fig=None, ax=None) -> Figure:
    """Weekly share of final labels per class, with the label-share changes found marked.

    One panel per market (or market/queue) in which a class's share of final labels changed
    significantly (``findings`` rows of kind ``trend`` and metric ``share_<class>``), or one
    per market when there is none. The ``max_classes`` most frequent classes get a line each
    (a changed class always does; the rest are summed into "other"); a changed class is drawn
    thicker, with a dashed line at the week its change starts.

    Parameters
    ----------
    series : pandas.DataFrame
        ``TrendReport.series`` (:func:`insights.trends.weekly_series`): ``final_<class>`` and
        ``n_final`` on levels without a team.
    findings : pandas.DataFrame, optional
        ``TrendReport.findings``.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw the panels into (default: a new one).
    ax : matplotlib.axes.Axes, optional
        Draw only the first panel, into this Axes.
    """
    title = "Weekly label mix (share of final labels)"
    has = len(series) and "n_final" in series and series["n_final"].notna().any()
    cells = _share_cells(series, findings, 1 if ax is not None else max_panels) if has else []
    if not cells:
        return _empty(title, "no weekly label mix in this period", ax)
    finals = [c for c in series.columns if c.startswith("final_")]
    # one colour per class in every panel, the most frequent classes first
    order = series[finals].sum().sort_values(ascending=False, kind="stable").index
    colours = dict(zip(order, sns.color_palette("colorblind", len(order)), strict=True))
    parts = []
    with _style("whitegrid"):
        single = ax
        if single is not None:
            fig, axes, owned = single.get_figure(root=True), np.array([[single]]), False
        else:
            fig, axes, owned = _grid(fig, len(cells), 2, lambda r, c: (5 * c, 3.2 * r + 0.8),
                                     sharey=True)
        for ax, (level, market, queue) in zip(axes.ravel(), cells, strict=False):
            t = series[(series["level"] == level) & (series["market"].astype(str) == str(market))
                       & (series["queue"].astype(str) == str(queue))].sort_values("week_start")
            t = t[t["n_final"] > 0]
            x = _week_numbers(t["week_start"])
            changed = pd.DataFrame()
            if findings is not None and len(findings):
                changed = findings[(findings["kind"] == "trend")
                                   & findings["metric"].astype(str).str.startswith("share_")
                                   & (findings["level"] == level)
                                   & (findings["market"].astype(str) == str(market))
                                   & (findings["queue"].astype(str) == str(queue))]
            hot = [f"final_{k}" for k in changed.get("klass", pd.Series(dtype=str)).astype(str)]
            totals = t[finals].sum().sort_values(ascending=False, kind="stable")
            keep = list(dict.fromkeys([c for c in hot if c in t]
                                      + list(totals.index)))[:max(max_classes, len(hot))]
            shares = t[keep].div(t["n_final"], axis=0)
            rest = 1 - shares.sum(axis=1)
            for col in keep:
                ax.plot(x, shares[col], color=colours[col], marker="o", markersize=3,
                        linewidth=2.6 if col in hot else 1.2,
                        label=plot_label(col.removeprefix("final_"), 24))
            if len(keep) < len(finals):
                ax.plot(x, rest, color="0.6", linewidth=1, linestyle=":", label="other")
            dated = changed[changed["since"].notna()] if len(changed) else changed
            for since, grp in (dated.groupby("since", sort=True) if len(dated) else ()):
                when = pd.Timestamp(since).tz_localize(None)
                ks = [plot_label(k, 20) for k in grp["klass"]]
                _mark_change(ax, when, "change: " + ", ".join(ks), (x.min(), x.max()))
                for r, k in zip(grp.itertuples(index=False), ks, strict=True):
                    parts.append(f"{plot_label(r.where)}: the share of items labelled {k} went "
                                 f"from {r.before:.0%} to {r.after:.0%} from the week of "
                                 f"{when:%d %b %Y}")
            where = f"market {plot_label(market, 20)}" + (
                "" if str(queue) == "*" else f", queue {plot_label(queue, 20)}")
            _weekly_axis(ax, where, "share of final labels", x)
            ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
            ax.set_ylim(0, 1)
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
            if changed.empty:
                parts.append(f"{where}: no significant change of label shares")
        for spare in axes.ravel()[len(cells):]:
            spare.set_axis_off()
        if single is None:
            fig.suptitle(title)
    alt = ("Line charts of the weekly share of final labels per class, one panel per market or "
           "queue; thick lines and dashed markers show where a class's share changed. "
           + "; ".join(parts) + ".")
    return _done(fig, list(axes.ravel()[: len(cells)]), alt, owned)
