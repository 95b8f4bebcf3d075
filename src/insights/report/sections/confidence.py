"""Confidence: calibration against gold, team accuracy with credible intervals, re-review list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insights.report.html import table
from insights.report.sections import Finding, SectionResult
from insights.report.sections._util import intervals

KEY = "confidence"
TITLE = "Confidence"
ORDER = 60

#: Row name of the gold-calibrated hierarchical model in the calibration table.
CALIBRATED = "hierarchical, gold-calibrated"


@dataclass
class ConfidenceSummary:
    """The Confidence section's numbers (see :func:`confidence_summary`)."""

    model: Any
    calibration: pd.DataFrame
    reliability: dict
    teams: pd.DataFrame
    review: pd.DataFrame
    fraction: float = 0.1
    calibrator: Any = None


def gold_calibration(probas: pd.DataFrame, truth: pd.Series, *, folds: int = 5, seed: int = 0,
                     method: str = "isotonic"):
    """A calibration step fitted on gold items, with an honest estimate of its effect:
    ``(calibrator fitted on every gold item, the gold items' calibrated posteriors from
    folds-fold cross-fitting)``."""
    from insights.confidence import GoldCalibrator

    common = probas.index.intersection(truth.index)
    order = np.random.default_rng(seed).permutation(len(common))
    fold_of = np.empty(len(common), dtype=int)
    fold_of[order] = np.arange(len(common)) % folds
    parts = []
    for f in range(folds):
        train, test = common[fold_of != f], common[fold_of == f]
        if len(test) == 0 or len(train) == 0:
            continue
        cal = GoldCalibrator(method).fit(probas.loc[train], truth.loc[train])
        parts.append(cal.transform(probas.loc[test]))
    cross = pd.concat(parts).loc[common] if parts else probas.loc[common]
    return GoldCalibrator(method).fit(probas.loc[common], truth.loc[common]), cross


def gold_truth(ds) -> pd.Series:
    if ds.gold is None or ds.gold.empty:
        return pd.Series(dtype=object)
    g = ds.gold.drop_duplicates("item_id")
    return pd.Series(g["label"].astype(str).to_numpy(), index=g["item_id"].astype(str))


def human_team_accuracy(ctx, model) -> pd.DataFrame:
    """``team_accuracy_`` of the vendor teams (teams of model annotators left out: they have
    their own section); empty when the model has no team level (one team or none)."""
    ta = model.team_accuracy_
    if ta is None or not len(ta):
        return pd.DataFrame(columns=["accuracy", "lower", "upper", "n_annotators",
                                     "n_judgments"])
    t = ctx.annotator_table
    if "team" in t:
        human_teams = set(t.loc[t["kind"] != "model", "team"].dropna().astype(str))
        ta = ta[ta.index.astype(str).isin(human_teams)]
    return ta


def team_table(model, ta: pd.DataFrame) -> pd.DataFrame:
    """``ta`` (team accuracy) best first with P(more accurate than the next team)."""
    cols = ["team", "accuracy", "accuracy_low", "accuracy_high", "annotators", "judgments",
            "next_team", "p_more_accurate_than_next"]
    if ta is None or not len(ta):
        return pd.DataFrame(columns=cols)
    ta = ta.sort_values("accuracy", ascending=False, kind="stable")
    names = [str(t) for t in ta.index]
    p_next = [model.prob_more_accurate(a, b) for a, b in zip(names, names[1:], strict=False)]
    return pd.DataFrame({
        "team": names, "accuracy": ta["accuracy"].to_numpy(float),
        "accuracy_low": ta["lower"].to_numpy(float),
        "accuracy_high": ta["upper"].to_numpy(float),
        "annotators": ta["n_annotators"].to_numpy(int),
        "judgments": ta["n_judgments"].to_numpy(int),
        "next_team": [*names[1:], ""], "p_more_accurate_than_next": [*p_next, np.nan]},
        columns=cols)


def confidence_summary(ctx, *, fraction: float = 0.1, n_bins: int = 10,
                       tolerance: float = 0.02, min_gold: int = 100) -> ConfidenceSummary:
    """Calibration of majority vote, the report model and the hierarchical model against gold
    (each on posteriors that did not see the gold), a gold-fitted calibration step when the
    hierarchical model is overconfident by more than ``tolerance`` on at least ``min_gold``
    gold items, reliability tables, team accuracy, and the re-review list."""
    from insights import confidence as _conf
    from insights.reliability.em import soft_majority

    post, model, ds = ctx.posterior, ctx.hierarchical, ctx.dataset
    enc = post.enc
    truth = gold_truth(ds)
    votes = pd.DataFrame(soft_majority(enc),
                         index=pd.Index(enc.item_ids.astype(str), name="item_id"),
                         columns=pd.Index(enc.classes.astype(str), name="class"))
    probas = {post.method: post.unclamped(), "majority": votes,
              "hierarchical": model.gold_probas_}
    probas = {name: p.set_axis(p.index.astype(str)) for name, p in probas.items()}
    calibration = _conf.calibration_table(probas, truth, n_bins=n_bins, fraction=fraction)
    calibrator = None
    h = calibration.loc["hierarchical"] if "hierarchical" in calibration.index else None
    if (h is not None and h["n"] >= min_gold
            and h["mean_confidence"] - h["accuracy"] > tolerance):
        calibrator, probas[CALIBRATED] = gold_calibration(probas["hierarchical"], truth,
                                                          seed=ctx.params.seed)
        calibration = _conf.calibration_table(probas, truth, n_bins=n_bins, fraction=fraction)
    reliability = {}
    for name, p in probas.items():
        conf, correct = _conf.confidence_and_correct(p, truth)
        if len(conf):
            rt = _conf.reliability_table(conf, correct, n_bins=n_bins)
            rt.attrs["ece"] = float(calibration.loc[name, "ece"])
            reliability[name] = rt
    review = model.review_list(budget=ctx.params.n_review).rename_axis("item_id").reset_index()
    review["item_id"] = review["item_id"].astype(str)
    review = review[["item_id", "label", "confidence", "lower", "expected_errors_removed",
                     "cumulative_errors_removed"]]
    review["text"] = ctx.item_text(review["item_id"].tolist())
    return ConfidenceSummary(model=model, calibration=calibration, reliability=reliability,
                             teams=team_table(model, human_team_accuracy(ctx, model)), review=review, fraction=fraction,
                             calibrator=calibrator)


def calibration_sentence(cs: ConfidenceSummary, model: str = "hierarchical",
                         tolerance: float = 0.02) -> str:
    """The calibration of ``model`` in plain words."""
    c = cs.calibration
    if model not in c.index or not c.loc[model, "n"]:
        return "No gold items in this period: the confidence cannot be checked against gold."
    r = c.loc[model]
    gap = r["mean_confidence"] - r["accuracy"]
    verdict = ("about right" if abs(gap) <= tolerance else
               f"{'over' if gap > 0 else 'under'}confident by {abs(gap):.1%}")
    text = (f"On {int(r['n']):,} gold items, judged without their gold answer, the {model} model "
            f"is right {r['accuracy']:.1%} of the time and {r['mean_confidence']:.1%} confident "
            f"on average: its confidence is {verdict} (calibration error "
            f"{r['ece']:.3f}). Re-reviewing its {cs.fraction:.0%} least confident items would "
            f"catch {int(r['errors_caught'])} of its {int(r['errors_total'])} errors")
    if "majority" in c.index and model != "majority":
        m = c.loc["majority"]
        text += (f"; majority vote makes {int(m['errors_total'])} errors, "
                 f"{int(m['errors_caught'])} of them in its {cs.fraction:.0%} least confident")
    text += "."
    if cs.calibrator is not None and CALIBRATED in c.index:
        k = c.loc[CALIBRATED]
        text += (f" Because it is overconfident, a calibration step fitted on the gold items "
                 f"(isotonic regression of correctness on confidence) is applied: scored on gold "
                 f"items it did not see (5-fold cross-fitting), its calibration error is "
                 f"{k['ece']:.3f}; the item confidence table's column confidence_calibrated "
                 f"holds the calibrated values.")
    return text


def calibration_view(cs: ConfidenceSummary) -> pd.DataFrame:
    c = cs.calibration
    caught = f"Errors caught by reviewing the {cs.fraction:.0%} least confident"
    return table(pd.DataFrame({
        "Method": c.index.astype(str),
        "Gold items": c["n"].to_numpy(int),
        "Accuracy on gold": c["accuracy"].to_numpy(float),
        "Mean confidence": c["mean_confidence"].to_numpy(float),
        "Calibration error (ECE)": c["ece"].to_numpy(float),
        "Brier score": c["brier"].to_numpy(float),
        caught: [f"{int(a)} of {int(b)}" for a, b in zip(c["errors_caught"], c["errors_total"],
                                                         strict=True)],
    }), {"Method": "text", "Gold items": "count", "Accuracy on gold": "percent",
         "Mean confidence": "percent", "Calibration error (ECE)": "number",
         "Brier score": "number", caught: "text"})


def team_view(teams: pd.DataFrame) -> pd.DataFrame:
    return table(pd.DataFrame({
        "Team": teams["team"].astype(str),
        "Accuracy (95% credible interval)": intervals(teams["accuracy"], teams["accuracy_low"],
                                                      teams["accuracy_high"]),
        "Annotators": teams["annotators"].astype(int),
        "Judgments": teams["judgments"].astype(int),
        "P(more accurate than the next team)": [
            "" if not n else f"{p:.0%} vs {n}" for p, n in zip(
                teams["p_more_accurate_than_next"], teams["next_team"], strict=True)],
    }), {"Team": "text", "Accuracy (95% credible interval)": "interval", "Annotators": "count",
         "Judgments": "count", "P(more accurate than the next team)": "text"})


def review_view(review: pd.DataFrame) -> pd.DataFrame:
    return table(pd.DataFrame({
        "Item": review["item_id"], "Label": review["label"].astype(str),
        "Confidence": review["confidence"].astype(float),
        "Lower end of the 95% credible interval": review["lower"].astype(float),
        "Expected errors removed": review["expected_errors_removed"].astype(float),
        "Cumulative": review["cumulative_errors_removed"].astype(float),
        "Text": review["text"]}),
        {"Item": "text", "Label": "text", "Confidence": "percent",
         "Lower end of the 95% credible interval": "percent",
         "Expected errors removed": "number", "Cumulative": "number", "Text": "text"},
        max_rows=10)


def item_confidence(ctx, cs: ConfidenceSummary) -> pd.DataFrame:
    """Per item: final label, its posterior probability, gold when known, the hierarchical
    model's confidence in the same label and its lower credible bound (and the calibrated
    confidence when a calibration step is applied), one p_<class> column per class."""
    post, model = ctx.posterior, cs.model
    enc = post.enc
    out = pd.DataFrame({
        "item_id": enc.item_ids.astype(str),
        "label": enc.classes[post.labels].astype(str),
        "confidence": post.confidence,
        "gold": np.where(enc.gold >= 0, enc.classes[np.maximum(enc.gold, 0)].astype(str), ""),
    })
    hp = model.probas_.set_axis(model.probas_.index.astype(str)).reindex(out["item_id"])
    cols = hp.columns.get_indexer(out["label"])
    out["confidence_hierarchical"] = hp.to_numpy(float)[np.arange(len(out)), cols]
    low = model.confidence_["lower"]
    out["confidence_lower"] = low.set_axis(low.index.astype(str)).reindex(
        out["item_id"]).to_numpy(float)
    if cs.calibrator is not None:
        cal = cs.calibrator.transform(hp.fillna(0.0))
        out["confidence_calibrated"] = cal.to_numpy(float)[np.arange(len(out)), cols]
    for c, name in enumerate(enc.classes):
        out[f"p_{name}"] = post.probas[:, c]
    return out


def build(ctx) -> SectionResult:
    from insights.confidence import plots as confidence_plots

    cs = confidence_summary(ctx)
    findings = []
    if "hierarchical" in cs.calibration.index:
        c = cs.calibration.loc["hierarchical"]
        if c["n"] > 0 and c["errors_total"] > 0:
            all_gold = bool((ctx.posterior.enc.gold >= 0).all())
            review = ("There is nothing to re-review: every item's label comes from gold."
                      if all_gold else f"The re-review list ranks the {len(cs.review)} items "
                      f"where a review removes the most expected errors.")
            findings.append(Finding("info", (
                f"On {int(c['n']):,} gold items, the hierarchical model's {cs.fraction:.0%} "
                f"least confident labels hold {int(c['errors_caught'])} of its "
                f"{int(c['errors_total'])} errors; its confidence is off by {c['ece']:.1%} on "
                f"average (calibration error). {review}"), KEY,
                value=float(c["share_caught"])))
    tables, figures = {}, []
    if len(cs.calibration) and cs.calibration["n"].sum() > 0:
        tables["Calibration against gold"] = calibration_view(cs)
    if cs.reliability:
        figures.append(confidence_plots.reliability_diagram(cs.reliability))
    if len(cs.teams):
        figures.append(confidence_plots.team_accuracy_intervals(
            human_team_accuracy(ctx, cs.model)))
        tables["Team accuracy (hierarchical model)"] = team_view(cs.teams)
    if len(cs.review):
        tables["Items to re-review, most expected errors removed first"] = review_view(cs.review)
    items = item_confidence(ctx, cs)
    return SectionResult(
        KEY, TITLE, sentences=[calibration_sentence(cs)], tables=tables, figures=figures,
        findings=findings,
        data={"summary": cs, "tables": {
            "item_confidence": items, "calibration": cs.calibration.reset_index(),
            "team_accuracy": cs.teams, "review_list": cs.review}})
