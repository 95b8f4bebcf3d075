"""Vendor team scorecard: accuracy vs gold and model-estimated, with intervals, ranked.

Human annotators only, grouped by vendor team (model and LLM annotators have their own table
in the Model section). A log without teams ranks annotators instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights import quality as _quality
from insights.report.html import table
from insights.report.sections import Finding, SectionResult
from insights.report.sections._util import intervals, unit_words

KEY = "scorecard"
TITLE = "Vendor team scorecard"
ORDER = 30

COLUMNS = ["rank", "team", "annotators", "judgments", "items", "gold_judgments",
           "accuracy_gold", "accuracy_gold_low", "accuracy_gold_high", "accuracy_estimated",
           "accuracy_estimated_low", "accuracy_estimated_high", "quality_bias_corrected",
           "kappa_consensus", "throughput_per_day", "median_handle_seconds",
           "cost_per_judgment", "cost_total", "ranked_by", "rank_best", "rank_worst"]


def rank_bands(point: np.ndarray, low: np.ndarray, high: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Best and worst rank (1 = best) compatible with the intervals.

    A group is certainly behind another only when its upper bound is below the other's lower
    bound; otherwise the two could be in either order. Groups without an interval get NaN.
    """
    low = np.asarray(low, float)
    high = np.asarray(high, float)
    ok = ~(np.isnan(low) | np.isnan(high))
    best = np.full(len(low), np.nan)
    worst = np.full(len(low), np.nan)
    m = int(ok.sum())
    for t in np.flatnonzero(ok):
        best[t] = 1 + np.sum(low[ok] > high[t])
        worst[t] = m - np.sum(high[ok] < low[t])
    return best, worst


def _model_accuracy(ctx, unit: str) -> pd.DataFrame | None:
    """The hierarchical model's accuracy per team (or annotator) with its credible interval,
    None when the model has no such level (one team: the level is dropped)."""
    model = ctx.hierarchical
    ta = model.team_accuracy_ if unit == "team" else getattr(model, "annotator_accuracy_", None)
    if ta is None or not len(ta):
        return None
    return ta.set_axis(ta.index.astype(str))


def scorecard(ctx) -> pd.DataFrame:
    """One row per vendor team (or annotator), human annotators only, ranked by accuracy vs
    gold (model estimate where gold is thin).

    Accuracy vs gold (Wilson interval over the group's pooled gold judgments), bias-corrected
    quality and kappa vs consensus (judgment-weighted means over the group's annotators) come
    from :func:`insights.quality.rollup`; the model-estimated accuracy and its credible
    interval from the hierarchical model (``team_accuracy_``), else from the rollup
    (bootstrap over annotators). Also throughput (judgments per active day), median handle
    time, cost per judgment (NaN without cost data) and the rank band (:func:`rank_bands`).
    """
    unit, _ = unit_words(ctx)
    p = ctx.params
    lab = ctx.dataset.labels
    enc = ctx.posterior.enc
    quality = ctx.quality
    human_q = quality[quality["kind"] != "model"].copy()
    if unit == "annotator":
        human_q["team"] = human_q["annotator_id"]
    group_of = human_q.set_index("annotator_id")["team"]
    frame = pd.DataFrame({"team": lab["annotator_id"].astype(str).map(group_of).to_numpy(),
                          "item": enc.item, "cost": ctx.cost_per_judgment()})
    if "labeled_at" in lab.columns:
        frame["day"] = lab["labeled_at"].dt.floor("D").to_numpy()
    if "handle_seconds" in lab.columns:
        frame["handle"] = lab["handle_seconds"].to_numpy(float)
    frame = frame[frame["team"].notna()]
    grp = frame.groupby("team", sort=True)
    roll = _quality.rollup(human_q, by="team").sort_index()
    out = pd.DataFrame({
        "annotators": roll["annotators"],
        "judgments": roll["judgments"],
        "items": grp["item"].nunique(),
        "gold_judgments": roll["n_gold"].astype(int),
        "accuracy_gold": roll["accuracy_gold"],
        "accuracy_gold_low": roll["accuracy_gold_lo"],
        "accuracy_gold_high": roll["accuracy_gold_hi"],
        "cost_per_judgment": grp["cost"].mean(),
        "cost_total": grp["cost"].sum(min_count=1),
        "quality_bias_corrected": roll["quality"],
        "kappa_consensus": roll["agreement"],
    })
    ta = _model_accuracy(ctx, unit)
    if ta is not None and set(out.index) <= set(ta.index):
        ta = ta.reindex(out.index)
        out["accuracy_estimated"] = ta["accuracy"].astype(float)
        out["accuracy_estimated_low"] = ta["lower"].astype(float)
        out["accuracy_estimated_high"] = ta["upper"].astype(float)
    else:
        out["accuracy_estimated"] = roll["estimated_accuracy"]
        out["accuracy_estimated_low"] = roll["estimated_accuracy_lo"]
        out["accuracy_estimated_high"] = roll["estimated_accuracy_hi"]
    out["throughput_per_day"] = (grp.size() / grp["day"].nunique()) if "day" in frame else np.nan
    out["median_handle_seconds"] = grp["handle"].median() if "handle" in frame else np.nan
    enough = out["gold_judgments"].to_numpy() >= p.min_gold
    out["ranked_by"] = np.where(enough, "gold", "model estimate")
    out["rank_key"] = np.where(enough, out["accuracy_gold"], out["accuracy_estimated"])
    out["band_lo"] = np.where(enough, out["accuracy_gold_low"], out["accuracy_estimated_low"])
    out["band_hi"] = np.where(enough, out["accuracy_gold_high"], out["accuracy_estimated_high"])
    out = out.rename_axis("team").reset_index().sort_values(["rank_key", "team"],
                                                            ascending=[False, True])
    out = out.reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["rank_best"], out["rank_worst"] = rank_bands(
        out["rank_key"].to_numpy(float), out["band_lo"].to_numpy(float),
        out["band_hi"].to_numpy(float))
    out = out[COLUMNS]
    if unit == "annotator":
        out = out.rename(columns={"team": "annotator"})
    return out


def view(card: pd.DataFrame, ctx) -> pd.DataFrame:
    """The scorecard as shown: human headers, intervals in one cell, kinds declared."""
    unit, Unit = unit_words(ctx)
    rank = [f"{r}" if pd.isna(b) or b == w else f"{r} ({b:.0f}–{w:.0f})"
            for r, b, w in zip(card["rank"], card["rank_best"], card["rank_worst"], strict=True)]
    cols = {
        "Rank (range)": rank,
        Unit: card[unit].astype(str),
        "Annotators" if unit == "team" else None: card["annotators"].astype(int),
        "Judgments": card["judgments"].astype(int),
        "Gold judgments": card["gold_judgments"].astype(int),
        "Accuracy vs gold (95% interval)": intervals(card["accuracy_gold"],
                                                     card["accuracy_gold_low"],
                                                     card["accuracy_gold_high"]),
        "Model-estimated accuracy (95% credible interval)": intervals(
            card["accuracy_estimated"], card["accuracy_estimated_low"],
            card["accuracy_estimated_high"]),
        "Bias-corrected quality (0-1)": card["quality_bias_corrected"].astype(float),
        "Kappa vs consensus": card["kappa_consensus"].astype(float),
    }
    kinds = {"Rank (range)": "text", Unit: "text", "Annotators": "count",
             "Judgments": "count", "Gold judgments": "count",
             "Accuracy vs gold (95% interval)": "interval",
             "Model-estimated accuracy (95% credible interval)": "interval",
             "Bias-corrected quality (0-1)": "score", "Kappa vs consensus": "score"}
    if card["throughput_per_day"].notna().any():
        cols["Judgments per active day"] = card["throughput_per_day"].astype(float)
        kinds["Judgments per active day"] = "number"
    if card["median_handle_seconds"].notna().any():
        cols["Median handle seconds"] = card["median_handle_seconds"].astype(float)
        kinds["Median handle seconds"] = "number"
    if card["cost_per_judgment"].notna().any():
        name = f"Cost per judgment ({ctx.params.currency})"
        cols[name] = card["cost_per_judgment"].astype(float)
        kinds[name] = "currency"
    cols["Ranked by"] = card["ranked_by"].astype(str)
    kinds["Ranked by"] = "text"
    cols.pop(None, None)
    df = pd.DataFrame(cols)
    return table(df, {k: v for k, v in kinds.items() if k in df.columns})


def findings(card: pd.DataFrame, ctx) -> list[Finding]:
    """Groups whose whole interval is below the accuracy target (alert; by the model's
    credible interval for groups with too little gold, at most three), thin gold (watch), the
    most and least accurate groups (info)."""
    unit, Unit = unit_words(ctx)
    target = ctx.params.accuracy_target
    min_gold = ctx.params.min_gold
    out: list[Finding] = []
    gold_ok = card[card["ranked_by"] == "gold"]
    below = gold_ok[gold_ok["accuracy_gold_high"] < target].sort_values("accuracy_gold")
    if unit == "annotator" and len(below) > 3:
        names = ", ".join(below[unit].astype(str).head(3))
        out.append(Finding("alert", f"{len(below)} annotators are below the {target:.0%} "
                           f"accuracy target on gold (whole 95% interval below it), among them "
                           f"{names}.", KEY, value=float(len(below))))
    else:
        for r in below.itertuples(index=False):
            name = getattr(r, unit)
            out.append(Finding("alert", (
                f"{Unit} {name} is below the {target:.0%} accuracy target: "
                f"{r.accuracy_gold:.1%} on {r.gold_judgments:,} gold judgments (95% interval "
                f"{r.accuracy_gold_low:.1%} to {r.accuracy_gold_high:.1%})."), KEY,
                value=float(r.accuracy_gold)))
    thin_below = card[(card["ranked_by"] != "gold")
                      & (card["accuracy_estimated_high"] < target)].sort_values(
                          "accuracy_estimated")
    for r in thin_below.head(3).itertuples(index=False):
        out.append(Finding("alert", (
            f"{Unit} {getattr(r, unit)} is below the {target:.0%} accuracy target by the model's "
            f"estimate: {r.accuracy_estimated:.1%} (95% credible interval "
            f"{r.accuracy_estimated_low:.1%} to {r.accuracy_estimated_high:.1%}); it has too "
            f"few gold judgments ({r.gold_judgments:,}) to be checked on gold."), KEY,
            value=float(r.accuracy_estimated)))
    if len(gold_ok) >= 2:
        top, bottom = gold_ok.iloc[0], gold_ok.iloc[-1]
        sure = top["accuracy_gold_low"] > bottom["accuracy_gold_high"]
        out.append(Finding("info", (
            f"{Unit} {top[unit]} is the most accurate ({top['accuracy_gold']:.1%} on gold) and "
            f"{unit} {bottom[unit]} the least ({bottom['accuracy_gold']:.1%}); "
            + ("the difference is beyond sampling noise." if sure
               else "their intervals overlap.")), KEY,
            value=float(top["accuracy_gold"] - bottom["accuracy_gold"])))
    thin = card[card["gold_judgments"] < min_gold]
    if len(thin):
        names = ", ".join(thin[unit].astype(str).head(10)) + (", ..." if len(thin) > 10 else "")
        out.append(Finding("watch", (
            f"{len(thin)} {unit}(s) have fewer than {min_gold} gold judgments ({names}); "
            f"they are ranked by the model estimate instead."), KEY, value=float(len(thin))))
    return out


def build(ctx) -> SectionResult:
    from insights import plots

    unit, Unit = unit_words(ctx)
    card = scorecard(ctx)
    sentences = []
    if unit == "annotator":
        sentences.append("The data has no vendor teams (no team column in labels or "
                         "annotators): annotators are ranked instead.")
    if not len(card):
        return SectionResult(KEY, TITLE, note="No human annotator judged in this period.",
                             data={"tables": {"scorecard": card,
                                              "annotator_quality": ctx.quality}})
    figures = []
    if unit == "team":
        figures.append(plots.scorecard(card, target=ctx.params.accuracy_target))
    return SectionResult(
        KEY, TITLE, sentences=sentences, tables={"": view(card, ctx)}, figures=figures,
        findings=findings(card, ctx),
        data={"card": card, "tables": {"scorecard": card, "annotator_quality": ctx.quality}})
