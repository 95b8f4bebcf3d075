"""Model and LLM annotators: their scores, and where they depart from the human consensus."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights import quality as _quality
from insights.report.html import table
from insights.report.sections import Finding, SectionResult
from insights.report.sections._util import intervals

KEY = "model"
TITLE = "Model and LLM annotators"
ORDER = 80

NO_MODELS = ("No model or LLM annotator judged in this period (an annotators table with "
             "kind = model marks them).")


def disagreements(ctx) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(pairs, examples)``: per model annotator and (consensus, model label) pair the number
    of items and its share of the model's judgments on items with that consensus (from
    :func:`insights.quality.model_disagreements`; the human consensus is the model's posterior
    given the human judgments only), and the most confident examples of the three most
    frequent pairs."""
    post = ctx.posterior
    enc = post.enc
    pair_cols = ["annotator_id", "consensus", "model_label", "items", "share"]
    ex_cols = ["annotator_id", "consensus", "model_label", "item_id", "consensus_confidence",
               "gold", "text"]
    tbl = ctx.annotator_table
    rows = _quality.model_disagreements(enc, post.probas, annotators=tbl, top=None,
                                        confusions=post.confusions, priors=post.priors)
    if rows.empty:
        return pd.DataFrame(columns=pair_cols), pd.DataFrame(columns=ex_cols)
    rows = rows.rename(columns={"model_annotator": "annotator_id", "consensus_label": "consensus"})
    for c in ("annotator_id", "consensus", "model_label", "item_id"):
        rows[c] = rows[c].astype(str)
    kinds = tbl["kind"].reindex(enc.annotator_ids).fillna("human").to_numpy()
    is_model = kinds[enc.annotator] == "model"
    n_human = np.bincount(enc.item[~is_model], minlength=enc.n_items)
    sel = is_model & (n_human[enc.item] > 0)
    judged = pd.DataFrame({"annotator_id": enc.annotator_ids[enc.annotator[sel]].astype(str),
                           "item_id": enc.item_ids[enc.item[sel]].astype(str),
                           "label": enc.classes[enc.label[sel]].astype(str)})
    judged = judged.merge(rows[["annotator_id", "item_id", "consensus"]], how="left",
                          on=["annotator_id", "item_id"])
    judged["consensus"] = judged["consensus"].fillna(judged["label"])
    per_consensus = judged.groupby(["annotator_id", "consensus"]).size().rename("n")
    pairs = rows.groupby(["annotator_id", "consensus", "model_label"]).size().rename("items")
    pairs = pairs.reset_index().join(per_consensus, on=["annotator_id", "consensus"])
    pairs["share"] = pairs["items"] / pairs["n"]
    pairs = pairs.sort_values(["items", "annotator_id", "consensus", "model_label"],
                              ascending=[False, True, True, True])[pair_cols]
    pairs = pairs.reset_index(drop=True)
    top = pairs.head(3)[["annotator_id", "consensus", "model_label"]]
    ex = rows.merge(top, on=["annotator_id", "consensus", "model_label"])
    ex = ex.groupby(["annotator_id", "consensus", "model_label"], sort=False).head(
        ctx.params.n_examples)
    ex = ex[ex_cols[:-1]].reset_index(drop=True)
    ex["text"] = ctx.item_text(ex["item_id"].tolist())
    return pairs, ex


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
    pairs, ex = disagreements(ctx)
    findings = []
    if len(pairs):
        d = pairs.iloc[0]
        findings.append(Finding(
            "watch" if d["share"] >= 0.15 else "info",
            f"Model annotator {d['annotator_id']} labels {d['share']:.0%} of the items humans "
            f"call `{d['consensus']}` as `{d['model_label']}` ({d['items']:,} items).", KEY,
            value=float(d["share"])))
    tables = {"Scores of the model and LLM annotators": scores_view(ctx)}
    figures, sentences = [], []
    if len(pairs):
        figures.append(plots.model_disagreement(pairs))
        tables["Disagreements with the human consensus"] = pairs_view(pairs)
    else:
        sentences.append("The model annotators agree with the confident human consensus on every "
                     "item both judged.")
    if len(ex):
        tables["Example items"] = examples_view(ex)
    return SectionResult(KEY, TITLE, sentences=sentences, tables=tables, figures=figures,
                         findings=findings,
                         data={"pairs": pairs, "examples": ex,
                               "tables": {"model_disagreements": pairs}})
