"""Scale and quality at a glance: items, judgments, annotators, gold, accuracy, cost."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.report.html import format_value, table
from insights.report.sections import Finding, SectionResult

KEY = "scale"
TITLE = "Scale and quality at a glance"
ORDER = 20

#: number -> (label, kind)
LABELS = {
    "items": ("Items labeled", "count"),
    "judgments": ("Judgments", "count"),
    "judgments_per_item": ("Judgments per item", "number"),
    "annotators": ("Human annotators", "count"),
    "model_annotators": ("Model/LLM annotators", "count"),
    "teams": ("Vendor teams", "count"),
    "gold_items": ("Gold items", "count"),
    "gold_coverage": ("Gold coverage", "percent"),
    "label_accuracy_estimated": ("Estimated accuracy of final labels", "interval"),
    "cost_total": ("Total cost", "currency"),
    "cost_per_final_label": ("Cost per final label", "currency"),
}


def numbers(ctx) -> dict:
    """The market's headline numbers (costs only when some cost is known)."""
    enc = ctx.posterior.enc
    kinds = ctx.annotator_table["kind"]
    table_ = ctx.annotator_table
    teams = table_.loc[table_["kind"] != "model"].get("team")
    acc = ctx.accuracy
    gold_items = int(enc.has_gold.sum())
    out = {
        "items": int(enc.n_items),
        "judgments": int(enc.n_judgments),
        "judgments_per_item": float(enc.n_judgments / max(enc.n_items, 1)),
        "annotators": int((kinds != "model").sum()),
        "model_annotators": int((kinds == "model").sum()),
        "teams": int(teams.nunique()) if teams is not None else 0,
        "gold_items": gold_items,
        "gold_coverage": float(gold_items / max(enc.n_items, 1)),
        "label_accuracy_estimated": acc.estimate,
        "label_accuracy_lower": acc.lower,
        "label_accuracy_upper": acc.upper,
        "label_accuracy_calibrated": bool(acc.calibrated),
    }
    if ctx.has_costs:
        cost = ctx.cost_per_judgment()
        out["cost_total"] = float(np.nansum(cost))
        out["cost_per_final_label"] = float(np.nansum(cost) / max(enc.n_items, 1))
    return out


def build(ctx) -> SectionResult:
    n = numbers(ctx)
    currency = ctx.params.currency
    rows = []
    for key, (label, kind) in LABELS.items():
        if key not in n:
            continue
        if key == "label_accuracy_estimated":
            v = (n[key], n["label_accuracy_lower"], n["label_accuracy_upper"])
            text = (format_value(v, kind) if n["label_accuracy_calibrated"]
                    else "not estimated (too little gold)")
        else:
            text = format_value(n[key], kind)
        if kind == "currency":
            text = f"{text} {currency}"
        if key == "teams" and not ctx.has_teams:
            text = "none in the data"
        rows.append((label, text))
    view = table(pd.DataFrame(rows, columns=["Measure", "Value"]),
                 {"Measure": "text", "Value": "text"})
    acc = ctx.accuracy
    cost = (f", at {n['cost_per_final_label']:,.3f} {currency} per final label"
            if "cost_per_final_label" in n else "")
    if acc.calibrated:
        quality = (f"the final labels are an estimated {acc.estimate:.1%} accurate "
                   f"({acc.level:.0%} interval {acc.lower:.1%} to {acc.upper:.1%}, calibrated "
                   f"against gold)")
    elif acc.n_items:
        quality = (f"the accuracy of the final labels cannot be estimated honestly with "
                   f"{acc.n_gold} gold items (at least {acc.min_gold} needed)")
    else:
        quality = "every final label comes from gold"
    finding = Finding("info", f"{n['items']:,} items received {n['judgments']:,} judgments; "
                      f"{quality}{cost}.", KEY, value=acc.estimate)
    tables = {"numbers": pd.DataFrame([{k: v for k, v in n.items()}])}
    return SectionResult(KEY, TITLE, sentences=[acc.sentence()], tables={"": view},
                         findings=[finding], data={"numbers": n, "accuracy": acc,
                                                   "tables": {"scale": tables["numbers"]}})
