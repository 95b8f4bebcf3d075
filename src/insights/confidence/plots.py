"""Figures of the report's Confidence section (each with a title, axis labels and alt text).

Return :class:`insights.plots.Figure` objects, rendered in reports by
:func:`insights.plots.figure_html`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from insights.plots import Figure

__all__ = ["reliability_diagram", "review_curve", "team_accuracy_intervals"]


def reliability_diagram(tables: dict, *, title: str = "Reliability of item confidence"
                        ) -> Figure:
    """Observed accuracy against stated confidence, one line per method.

    Parameters
    ----------
    tables : dict
        Method name -> :func:`insights.confidence.reliability_table` output (add an ``ece``
        attribute via ``table.attrs["ece"]`` to show it in the legend).
    """
    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], color="0.5", linestyle="--", linewidth=1,
            label="perfect calibration")
    pal = sns.color_palette("colorblind")
    parts = []
    for (name, t), col in zip(tables.items(), pal, strict=False):
        ece = t.attrs.get("ece")
        lab = name if ece is None else f"{name} (ECE {ece:.3f})"
        ax.errorbar(t["confidence"], t["accuracy"],
                    yerr=[t["accuracy"] - t["acc_lower"], t["acc_upper"] - t["accuracy"]],
                    fmt="o-", color=col, capsize=2, label=lab, markersize=4)
        worst = t.loc[t["gap"].abs().idxmax()] if len(t) else None
        parts.append(f"{lab}: largest gap {worst['gap']:+.1%} at confidence "
                     f"{worst['confidence']:.0%}" if worst is not None else lab)
    lo = min(0.3, *(t["confidence"].min() for t in tables.values() if len(t)))
    ax.set_xlim(lo, 1.01)
    ax.set_ylim(lo, 1.01)
    ax.set_xlabel("stated confidence (mean in bin)")
    ax.set_ylabel("observed accuracy (95% interval)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    alt = ("Reliability diagram: observed accuracy against stated confidence per bin; points "
           "on the diagonal are calibrated. " + "; ".join(parts) + ".")
    return Figure(fig, alt=alt)


def review_curve(curves: dict, *, title: str = "Errors caught by re-reviewing least confident "
                 "items") -> Figure:
    """Share of wrong labels caught against share of items reviewed (least confident first).

    Parameters
    ----------
    curves : dict
        Method name -> (confidence array, correct array) on items with a known answer.
    """
    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    parts = []
    for (name, (conf, corr)), col in zip(curves.items(), sns.color_palette("colorblind"), strict=False):
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
    ax.set_xlabel("share of items re-reviewed (least confident first)")
    ax.set_ylabel("share of wrong labels caught")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return Figure(fig, alt="Curve of wrong labels caught against items re-reviewed. "
                  + "; ".join(parts) + ".")


def team_accuracy_intervals(table: pd.DataFrame, *, level: str = "team") -> Figure:
    """Posterior accuracy of each group with its credible interval (``team_accuracy_``)."""
    sns.set_theme(style="whitegrid", context="notebook")
    t = table.sort_values("accuracy", ascending=False)
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(t) + 1.5))
    y = np.arange(len(t))
    ax.errorbar(t["accuracy"], y, xerr=[t["accuracy"] - t["lower"], t["upper"] - t["accuracy"]],
                fmt="o", capsize=3, color=sns.color_palette("colorblind")[0])
    ax.set_yticks(y, [str(i) for i in t.index])
    ax.invert_yaxis()
    ax.set_xlabel("estimated accuracy (credible interval)")
    ax.set_ylabel(level)
    ax.set_title(f"Hierarchical model: accuracy per {level}")
    fig.tight_layout()
    alt = (f"Accuracy per {level} with credible intervals, best first: "
           + "; ".join(f"{i}: {r.accuracy:.1%} ({r.lower:.1%} to {r.upper:.1%})"
                       for i, r in t.iterrows()) + ".")
    return Figure(fig, alt=alt)
