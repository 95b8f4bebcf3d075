"""Figures of the report's Confidence section (each with a title, axis labels and alt text).

Each function takes ``ax=None`` (draw into that Axes, else a new figure) and returns an
:class:`insights.plots.Figure` (the matplotlib figure, the Axes drawn and the alt text),
rendered in reports by :func:`insights.plots.figure_html`. Method and group names are shown
literally (no mathtext) and shortened by :func:`insights.plots.plot_label`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from insights.plots import Figure, _axes, _done, _style, plot_label

__all__ = ["reliability_diagram", "review_curve", "team_accuracy_intervals"]


def reliability_diagram(tables: dict, *, title: str = "Reliability of item confidence",
                        ax=None) -> Figure:
    """Observed accuracy against stated confidence, one line per method.

    Both axes are fixed to [0, 1] (the diagonal is perfect calibration, so it stays the
    diagonal whatever the data); each bin's point has an area proportional to its number of
    items, and the legend sits to the right of the axes, outside the data.

    Parameters
    ----------
    tables : dict
        Method name -> :func:`insights.confidence.reliability_table` output (add an ``ece``
        attribute via ``table.attrs["ece"]`` to show it in the legend).
    ax : matplotlib.axes.Axes, optional
    """
    parts = []
    with _style("whitegrid"):
        fig, ax, owned = _axes(ax, (7.5, 4.6))
        ax.plot([0, 1], [0, 1], color="0.5", linestyle="--", linewidth=1,
                label="perfect calibration")
        pal = sns.color_palette("colorblind")
        n_max = max([float(t["n"].max()) for t in tables.values() if len(t) and "n" in t],
                    default=1.0)
        for (name, t), col in zip(tables.items(), pal, strict=False):
            ece = t.attrs.get("ece")
            name = plot_label(name, 30)
            lab = name if ece is None else f"{name} (calibration error {ece:.3f})"
            ax.errorbar(t["confidence"], t["accuracy"],
                        yerr=[t["accuracy"] - t["acc_lower"], t["acc_upper"] - t["accuracy"]],
                        fmt="-", color=col, capsize=2, linewidth=1.2, label=lab)
            if "n" in t:
                sizes = 12 + 220 * t["n"].to_numpy(float) / max(n_max, 1.0)
                ax.scatter(t["confidence"], t["accuracy"], s=sizes, color=col, alpha=0.8,
                           edgecolor="white", linewidth=0.5, zorder=3, clip_on=False)
            worst = t.loc[t["gap"].abs().idxmax()] if len(t) else None
            parts.append(f"{lab}: largest gap {worst['gap']:+.1%} at confidence "
                         f"{worst['confidence']:.0%}" if worst is not None else lab)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("stated confidence (mean in bin)")
        ax.set_ylabel("observed accuracy (95% interval)")
        ax.set_title(title)
        handles, labels = ax.get_legend_handles_labels()
        if any("n" in t for t in tables.values()):
            handles.append(ax.scatter([], [], s=120, color="0.6"))
            labels.append("point area: items in the bin")
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  fontsize="small", frameon=False)
    alt = ("Reliability diagram: observed accuracy against stated confidence per bin, both "
           "from 0 to 1, point area by items in the bin; points on the diagonal are "
           "calibrated. " + "; ".join(parts) + ".")
    return _done(fig, [ax], alt, owned)


def review_curve(curves: dict, *, title: str = "Errors caught by re-reviewing least confident "
                 "items", ax=None) -> Figure:
    """Share of wrong labels caught against share of items reviewed (least confident first).

    Parameters
    ----------
    curves : dict
        Method name -> (confidence array, correct array) on items with a known answer.
    ax : matplotlib.axes.Axes, optional
    """
    parts = []
    with _style("whitegrid"):
        fig, ax, owned = _axes(ax, (6, 4.5))
        for (name, (conf, corr)), col in zip(curves.items(), sns.color_palette("colorblind"),
                                             strict=False):
            name = plot_label(name, 30)
            order = np.argsort(np.asarray(conf, float), kind="stable")
            wrong = ~np.asarray(corr, bool)[order]
            tot = max(wrong.sum(), 1)
            x = np.arange(1, len(order) + 1) / len(order)
            y = np.cumsum(wrong) / tot
            ax.plot(x, y, color=col, label=name)
            k = int(np.ceil(0.1 * len(order))) - 1
            parts.append(f"{name}: {y[k]:.0%} of errors in the 10% least confident" if k >= 0
                         else name)
        ax.axvline(0.1, color="0.5", linestyle=":", linewidth=1)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("share of items re-reviewed (least confident first)")
        ax.set_ylabel("share of wrong labels caught")
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize="small")
    return _done(fig, [ax], "Curve of wrong labels caught against items re-reviewed. "
                 + "; ".join(parts) + ".", owned)


def team_accuracy_intervals(table: pd.DataFrame, *, level: str = "team", ax=None) -> Figure:
    """Posterior accuracy of each group with its credible interval (``team_accuracy_``)."""
    t = table.sort_values("accuracy", ascending=False)
    names = [plot_label(i) for i in t.index]
    with _style("whitegrid"):
        fig, ax, owned = _axes(ax, (6.5, 0.45 * len(t) + 1.5))
        y = np.arange(len(t))
        ax.errorbar(t["accuracy"], y,
                    xerr=[t["accuracy"] - t["lower"], t["upper"] - t["accuracy"]],
                    fmt="o", capsize=3, color=sns.color_palette("colorblind")[0])
        ax.set_yticks(y, names)
        ax.set_ylim(len(t) - 0.5, -0.5)  # best at the top
        ax.set_xlabel("estimated accuracy (credible interval)")
        ax.set_ylabel(level)
        ax.set_title(f"Hierarchical model: accuracy per {level}")
    alt = (f"Accuracy per {level} with credible intervals, best first: "
           + "; ".join(f"{n}: {r.accuracy:.1%} ({r.lower:.1%} to {r.upper:.1%})"
                       for n, (_, r) in zip(names, t.iterrows(), strict=True)) + ".")
    return _done(fig, [ax], alt, owned)
