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

__all__ = ["Figure", "figure_html", "scorecard", "confusion_heatmaps", "model_disagreement"]

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
    sns.scatterplot(x=card["accuracy_estimated"].to_numpy(float), y=y, marker="D", s=45,
                    color=pal[1], ax=ax, label="model-estimated accuracy", zorder=3)
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
        parts.append(f"{r.team}: {g}, model estimate {r.accuracy_estimated:.1%}")
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
