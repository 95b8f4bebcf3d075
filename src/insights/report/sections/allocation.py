"""Allocation: the recommended redundancy policy with its savings at equal quality (replayed on
the market's own judgments, scored on gold), and the quality-cost frontier of routing a week of
the market's items to its annotators (:mod:`insights.allocation`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.report.html import table
from insights.report.sections import Finding, SectionResult
from insights.report.sections._util import intervals

__all__ = ["KEY", "TITLE", "ORDER", "build", "recommend", "replay_view", "frontier_view"]

KEY = "allocation"
TITLE = "Allocation"
ORDER = 70


NO_GOLD = ("The redundancy replay needs gold answers on items with several judgments: add a "
           "gold table (item_id, label) that covers some of them.")
NO_COSTS = ("The quality-cost frontier needs the annotators' cost_per_label and "
            "capacity_per_day columns (annotators table).")


def replay_view(t: pd.DataFrame) -> pd.DataFrame:
    view = pd.DataFrame({
        "Policy": t["policy"].astype(str),
        "Judgments per item": t["labels_per_item"].to_numpy(float),
        "Accuracy on gold (95% interval)": intervals(t["accuracy"] / 100, t["accuracy_low"] / 100,
                                                     t["accuracy_high"] / 100),
        "Accuracy difference, points": intervals(t["accuracy_diff"], t["accuracy_diff_low"],
                                                 t["accuracy_diff_high"]),
        "Judgments saved, %": intervals(t["labels_saved"], t["labels_saved_low"],
                                        t["labels_saved_high"]),
        "McNemar p": t["mcnemar_p"].to_numpy(float),
    })
    return table(view, {"Policy": "text", "Judgments per item": "number",
                        "Accuracy on gold (95% interval)": "interval",
                        "Accuracy difference, points": "number_interval",
                        "Judgments saved, %": "number_interval", "McNemar p": "pvalue"})


def recommend(t: pd.DataFrame) -> pd.Series | None:
    """The policy saving most judgments among those at least as accurate as the reference
    (point estimate); None when no policy is."""
    cand = t[(~t["reference"]) & (t["accuracy_diff"] >= 0) & (t["labels_saved"] > 0)]
    if cand.empty:
        return None
    return cand.sort_values(["labels_saved", "accuracy_diff"], ascending=False).iloc[0]


def _replay(ctx):
    from insights.allocation.replay import replay_log

    p = ctx.params
    if ctx.dataset.gold is None or not len(ctx.dataset.gold):
        return None, NO_GOLD
    try:
        return replay_log(ctx.dataset, p.allocation_policies, k=int(p.allocation_reference_k),
                          min_gold=int(p.min_gold), seeds=int(p.allocation_seeds),
                          seed=int(p.seed)), ""
    except ValueError as exc:
        return None, f"The redundancy replay could not run: {exc}."


def _frontier(ctx):
    from insights.allocation import labeler_features
    from insights.allocation.assignment import assign, frontier, problem_from_log

    ds = ctx.dataset
    if ds.annotators is None or not {"cost_per_label", "capacity_per_day"} <= set(
            ds.annotators.columns):
        return None, NO_COSTS
    k = int(ctx.params.allocation_redundancy)
    feats = labeler_features(ds).annotators.reset_index()
    problem, recent = problem_from_log(ds, features=feats, redundancy=k, days=7.0)
    table_f = frontier(problem, n_points=20)
    # today's routing: the mean accuracy and cost of the judgments the week actually got
    q = feats.set_index("annotator_id")["accuracy_model"]
    cost = ctx.cost_per_judgment()
    week = ds.labels.index.isin(recent.index)
    now_q = float(q.reindex(recent["annotator_id"]).mean())
    now_cost = float(np.nanmean(cost[week])) * k
    chosen = assign(problem, quality_target=now_q)
    return {"frontier": table_f, "chosen": chosen.summary, "now_quality": now_q,
            "now_cost_per_item": now_cost, "items": problem.n_items}, ""


def frontier_view(f: pd.DataFrame) -> pd.DataFrame:
    view = pd.DataFrame({
        "Price of quality (lambda)": f["lambda"].to_numpy(float),
        "Cost per item": f["cost_per_item"].to_numpy(float),
        "Mean judgment accuracy": f["mean_quality"].to_numpy(float),
        "Unassigned judgments": f["unassigned"].to_numpy(int),
        "Annotator hours": f["hours"].to_numpy(float),
        "Days to finish at capacity": f["days_to_finish"].to_numpy(float),
    })
    return table(view, {"Price of quality (lambda)": "number", "Cost per item": "currency",
                        "Mean judgment accuracy": "percent", "Unassigned judgments": "count",
                        "Annotator hours": "number", "Days to finish at capacity": "number"},
                 collapsed=True)


def build(ctx) -> SectionResult:
    from insights.allocation.assignment import plot_frontier

    sentences, tables, figures, findings, notes = [], {}, [], [], []
    data: dict = {"tables": {}}
    result, note = _replay(ctx)
    if result is None:
        notes.append(note)
    else:
        t = result.table
        data["replay"] = t
        data["tables"]["allocation_policies"] = t
        tables["Redundancy policies replayed on the market's judgments (reference first)"] = \
            replay_view(t)
        ref = t.iloc[0]
        best = recommend(t)
        if best is None:
            text = (f"No replayed policy matched the accuracy of {ref['policy']} "
                    f"({ref['accuracy']:.1f}% on {int(ref['n_items'])} gold items) with fewer "
                    f"judgments; keep the current redundancy.")
            close = t[(~t["reference"]) & (t["accuracy_diff_high"] >= 0)
                      & (t["labels_saved"] > 0)]
            if len(close):
                c = close.sort_values("labels_saved", ascending=False).iloc[0]
                text += (f" {c['policy']} would save {c['labels_saved']:.0f}% of the "
                         f"judgments at {c['accuracy_diff']:+.1f} points "
                         f"({c['accuracy_diff_low']:+.1f} to {c['accuracy_diff_high']:+.1f}): "
                         f"more gold items would tell whether it loses accuracy.")
            sentences.append(text)
        else:
            text = (f"Recommended redundancy policy: {best['policy']}. Replayed on this "
                    f"period's judgments it would have used {best['labels_per_item']:.2f} "
                    f"judgments per item instead of {ref['labels_per_item']:.2f}, saving "
                    f"{best['labels_saved']:.0f}% ({best['labels_saved_low']:.0f}% to "
                    f"{best['labels_saved_high']:.0f}%) at an accuracy of "
                    f"{best['accuracy']:.1f}% against {ref['accuracy']:.1f}% on "
                    f"{int(ref['n_items'])} gold items (difference "
                    f"{best['accuracy_diff']:+.1f} points, {best['accuracy_diff_low']:+.1f} "
                    f"to {best['accuracy_diff_high']:+.1f}).")
            sentences.append(text)
            findings.append(Finding("info", text, KEY, value=float(best["labels_saved"])))
            data["recommended"] = best
    try:
        front, note = _frontier(ctx)
    except (ValueError, RuntimeError) as exc:
        front, note = None, f"The quality-cost frontier could not be computed ({exc})."
    if front is None:
        notes.append(note)
    else:
        f = front["frontier"]
        c = front["chosen"]
        data.update(front)
        data["tables"]["allocation_frontier"] = f
        sentences.append(
            f"Routing the last week's {front['items']:,} items with "
            f"{ctx.params.allocation_redundancy} judgments each to the annotators best placed "
            f"for them would reach today's mean judgment accuracy "
            f"({100 * front['now_quality']:.1f}%, model-estimated) at "
            f"{c['cost_per_item']:.3f} per item, against {front['now_cost_per_item']:.3f} at "
            f"today's mix; the frontier below trades cost for accuracy "
            f"({f['cost_per_item'].min():.3f} to {f['cost_per_item'].max():.3f} per item).")
        tables["Quality-cost frontier (one assignment per price of quality)"] = frontier_view(f)
        figures.append(plot_frontier(f, chosen=c).figure)
    if not sentences:
        return SectionResult(KEY, TITLE, note=" ".join(notes), data=data)
    sentences += notes
    return SectionResult(KEY, TITLE, sentences=sentences, tables=tables, figures=figures,
                         findings=findings, data=data)
