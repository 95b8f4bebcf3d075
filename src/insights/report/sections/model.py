"""Model and LLM annotators: their scores, and where they depart from the human consensus."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.report.html import table
from insights.report.sections import Finding, SectionResult
from insights.report.sections._util import intervals

KEY = "model"
TITLE = "Model and LLM annotators"
ORDER = 80

#: Consensus posterior an item needs to count in the decision-gap pack (a module constant, not
#: a ReportParams field: a new field would need a matching line in the report notebook's
#: parameters cell).
GAP_CONFIDENCE = 0.9

NO_MODELS = ("No model or LLM annotator judged in this period (an annotators table with "
             "kind = model marks them).")


def disagreements(ctx) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(pairs, examples, cells)`` from the decision-gap pack of every model annotator
    (:func:`insights.learning.gap_pack`).

    ``cells``: per model annotator and (confident human consensus -> model answer) pair, the
    model's rate against the humans' own (each human judgment compared with the consensus
    without it), Wilson intervals, a one-sided Fisher test and BH q-values (the report's
    ``alpha``); ``pairs`` the same as ``annotator_id, consensus, model_label, items, share``
    (gaps first); ``examples`` the most confident items of each gap (``n_examples`` each).
    """
    from insights.learning import gap_pack

    pair_cols = ["annotator_id", "consensus", "model_label", "items", "share"]
    ex_cols = ["annotator_id", "consensus", "model_label", "item_id", "consensus_confidence",
               "gold", "text"]
    tbl = ctx.annotator_table
    ds = ctx.dataset
    judged = set(ds.labels["annotator_id"].astype(str))
    cells, examples = [], []
    for aid in tbl.index[tbl["kind"] == "model"]:
        if str(aid) not in judged:
            continue
        try:
            pack = gap_pack(ds, str(aid), min_confidence=GAP_CONFIDENCE,
                            fdr=ctx.params.alpha, max_examples=None, content_columns=[])
        except ValueError:  # no human judgments beside the model's
            continue
        c = pack.cells.copy()
        c.insert(0, "annotator_id", str(aid))
        cells.append(c)
        ex = pack.examples.copy()
        ex.insert(0, "annotator_id", str(aid))
        examples.append(ex.groupby(["consensus_label", "model_label"], sort=False)
                        .head(ctx.params.n_examples))
    if not cells:
        return (pd.DataFrame(columns=pair_cols), pd.DataFrame(columns=ex_cols),
                pd.DataFrame())
    cells = pd.concat(cells, ignore_index=True)
    cells = cells[cells["model_count"] > 0].sort_values(
        ["gap", "q", "model_count"], ascending=[False, True, False], kind="stable")
    cells = cells.reset_index(drop=True)
    pairs = pd.DataFrame({"annotator_id": cells["annotator_id"],
                          "consensus": cells["consensus_label"].astype(str),
                          "model_label": cells["model_label"].astype(str),
                          "items": cells["model_count"].astype(int),
                          "share": cells["model_rate"].astype(float)})
    ex = pd.concat(examples, ignore_index=True).rename(columns={"consensus_label": "consensus"})
    if "gold" not in ex:
        ex["gold"] = np.nan
    ex["text"] = ctx.item_text(ex["item_id"].tolist())
    return pairs, ex[ex_cols], cells


def cells_view(cells: pd.DataFrame) -> pd.DataFrame:
    return table(pd.DataFrame({
        "Annotator": cells["annotator_id"], "Human consensus": cells["consensus_label"],
        "Model label": cells["model_label"],
        "Model rate (95% interval)": intervals(cells["model_rate"], cells["model_low"],
                                               cells["model_high"]),
        "Humans' own rate (95% interval)": intervals(cells["human_rate"], cells["human_low"],
                                                     cells["human_high"]),
        "q (BH)": cells["q"].astype(float),
        "Gap": np.where(cells["gap"], "yes", ""),
    }), {"Annotator": "text", "Human consensus": "text", "Model label": "text",
         "Model rate (95% interval)": "interval", "Humans' own rate (95% interval)": "interval",
         "q (BH)": "pvalue", "Gap": "text"}, max_rows=10)


def scores_view(ctx) -> pd.DataFrame:
    """The model annotators' own scores (the same measures as the team scorecard)."""
    q = ctx.quality
    q = q[q["kind"] == "model"]
    if not len(q):
        return pd.DataFrame()
    from insights.stats import wilson_interval

    lo, hi = zip(*[wilson_interval(int(c), int(n)) for c, n in zip(
        q["gold_correct"], q["n_gold"], strict=True)], strict=True)
    return table(pd.DataFrame({
        "Annotator": q["annotator_id"].astype(str),
        "Judgments": q["n_labels"].astype(int),
        "Gold judgments": q["n_gold"].astype(int),
        "Accuracy vs gold (95% interval)": intervals(q["accuracy_gold"], lo, hi),
        "Model-estimated accuracy": q["estimated_accuracy"].astype(float),
        "Bias-corrected quality (0-1)": q["quality"].astype(float),
        "Kappa vs consensus": q["agreement"].astype(float),
    }), {"Annotator": "text", "Judgments": "count", "Gold judgments": "count",
         "Accuracy vs gold (95% interval)": "interval", "Model-estimated accuracy": "percent",
         "Bias-corrected quality (0-1)": "score", "Kappa vs consensus": "score"})


def pairs_view(pairs: pd.DataFrame) -> pd.DataFrame:
    return table(pd.DataFrame({
        "Annotator": pairs["annotator_id"], "Human consensus": pairs["consensus"],
        "Model label": pairs["model_label"], "Items": pairs["items"].astype(int),
        "Share of the consensus class": pairs["share"].astype(float)}),
        {"Annotator": "text", "Human consensus": "text", "Model label": "text",
         "Items": "count", "Share of the consensus class": "percent"}, max_rows=10)


def examples_view(ex: pd.DataFrame) -> pd.DataFrame:
    return table(pd.DataFrame({
        "Annotator": ex["annotator_id"], "Human consensus": ex["consensus"],
        "Model label": ex["model_label"], "Item": ex["item_id"],
        "Consensus confidence": ex["consensus_confidence"].astype(float),
        "Gold": ex["gold"].fillna("").astype(str), "Text": ex["text"]}),
        {"Annotator": "text", "Human consensus": "text", "Model label": "text",
         "Item": "text", "Consensus confidence": "percent", "Gold": "text", "Text": "text"})


def build(ctx) -> SectionResult:
    from insights import plots

    kinds = ctx.annotator_table["kind"]
    if not (kinds == "model").any():
        return SectionResult(KEY, TITLE, note=NO_MODELS,
                             data={"tables": {"model_disagreements": pd.DataFrame()}})
    pairs, ex, cells = disagreements(ctx)
    gaps = cells[cells["gap"]] if len(cells) else cells
    findings, sentences = [], []
    conf = GAP_CONFIDENCE
    for r in gaps.itertuples():
        text = (f"Where confident human consensus says `{r.consensus_label}`, model annotator "
                f"{r.annotator_id} answers `{r.model_label}` {r.model_rate:.0%} of the time "
                f"(95% interval {r.model_low:.0%} to {r.model_high:.0%}), against "
                f"{r.human_rate:.1%} for the humans themselves.")
        sentences.append(text)
        findings.append(Finding("watch" if r.model_rate - r.human_rate >= 0.1 else "info",
                                text, KEY, value=float(r.model_rate), q=float(r.q)))
    if len(cells) and not len(gaps):
        sentences.append(f"No model annotator departs from confident human consensus "
                         f"(posterior >= {conf:.0%}) more often than the humans themselves "
                         f"(BH q <= {ctx.params.alpha}).")
    if len(cells):
        sentences.append(
            f"Each judge is compared with a human consensus it did not shape (the model is left "
            f"out of it; a human's own judgment is left out of theirs), on items whose "
            f"consensus is at least {conf:.0%} sure. `insights gaps` exports the examples and "
            f"a training set with soft labels; `insights learn` trains a content model on the "
            f"crowd's labels and adds it to the consensus.")
    tables = {"Scores of the model and LLM annotators": scores_view(ctx)}
    figures = []
    if len(pairs):
        figures.append(plots.model_disagreement(pairs))
        tables["Decision gaps against the human consensus"] = cells_view(cells)
    else:
        sentences.append("The model annotators agree with the confident human consensus on every "
                         "item both judged.")
    if len(ex):
        tables["Example items"] = examples_view(ex)
    return SectionResult(KEY, TITLE, sentences=sentences, tables=tables, figures=figures,
                         findings=findings,
                         data={"pairs": pairs, "examples": ex, "gap_cells": cells,
                               "tables": {"model_disagreements": pairs, "model_gaps": cells}})
