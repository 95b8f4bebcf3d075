"""Knowledge gaps: which team confuses which class for which, with example items."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights import quality as _quality
from insights.report.html import table
from insights.report.sections import Finding, SectionResult
from insights.report.sections._util import effect_text

KEY = "gaps"
TITLE = "Knowledge gaps"
ORDER = 40

GAP_COLUMNS = ["team", "true", "given", "team_rate", "rest_rate", "effect", "effect_lo",
               "effect_hi", "p", "q", "team_n", "sentence", "examples"]


def knowledge_gaps(trend) -> pd.DataFrame:
    """The gaps of a :class:`insights.trends.TrendReport` significant after the run's
    false-discovery control (``q <= alpha``), most significant first (:data:`GAP_COLUMNS`)."""
    g = trend.gaps
    if g is None or g.empty or "significant" not in g:
        return pd.DataFrame(columns=GAP_COLUMNS)
    return g.loc[g["significant"].astype(bool), GAP_COLUMNS].reset_index(drop=True)


def gap_examples(ctx, gaps: pd.DataFrame) -> pd.DataFrame:
    """Example items of each gap (a team member gave ``given`` where ``true`` is the most
    likely truth, most certain first), where the reference comes from (gold or the model), its
    confidence and the item text."""
    cols = ["team", "true", "given", "item_id", "reference_from", "confidence", "text"]
    post = ctx.posterior_history
    enc = post.enc
    index = pd.Index(enc.item_ids.astype(str))
    out = []
    for gap in gaps.itertuples(index=False):
        ids = [str(i) for i in list(gap.examples)[:ctx.params.n_examples]]
        for it, pos in zip(ids, index.get_indexer(ids), strict=True):
            gold = pos >= 0 and enc.gold[pos] >= 0
            conf = 1.0 if gold else (float(post.confidence[pos]) if pos >= 0 else np.nan)
            out.append({"team": gap.team, "true": gap.true, "given": gap.given, "item_id": it,
                        "reference_from": "gold" if gold else "model", "confidence": conf})
    ex = pd.DataFrame(out, columns=cols[:-1])
    ex["text"] = ctx.item_text(ex["item_id"].tolist(), ctx.history)
    return ex


def team_confusions(ctx) -> pd.DataFrame:
    """Per-team confusion rates of human annotators in the period: team, true, given, n, rate
    (expected confusion counts under the model's posteriors summed over the team; ``rate``
    is the share of the team's judgments on true class ``true`` that said ``given``)."""
    post = ctx.posterior
    enc = post.enc
    k = enc.n_classes
    meta = ctx.annotator_table.reindex(enc.annotator_ids)
    teams = meta["team"].fillna("(no team)").astype(str).to_numpy() if "team" in meta else \
        np.full(enc.n_annotators, "(no team)", dtype=object)
    human = (meta["kind"].fillna("human") != "model").to_numpy()
    counts = _quality.annotator_confusions(enc, post.probas, normalize=False)[human]
    t_codes, t_names = pd.factorize(teams[human], sort=True)
    per_team = np.zeros((len(t_names), k, k))
    np.add.at(per_team, t_codes, counts)
    rows = per_team.sum(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(rows > 0, per_team / rows, np.nan)
    tt, kk, ll = np.meshgrid(np.arange(len(t_names)), np.arange(k), np.arange(k), indexing="ij")
    return pd.DataFrame({
        "team": np.asarray(t_names, dtype=object)[tt.ravel()].astype(str),
        "true": enc.classes[kk.ravel()].astype(str),
        "given": enc.classes[ll.ravel()].astype(str),
        "n": per_team.ravel(),
        "rate": rate.ravel(),
    })


def heatmap_teams(ctx, confusions: pd.DataFrame, gaps: pd.DataFrame) -> list[str]:
    """Teams drawn as heatmaps: teams with gaps first, then by judgments (humans only)."""
    q = ctx.quality
    human = q[q["kind"] != "model"]
    by_size = human.groupby("team")["n_labels"].sum().sort_values(ascending=False, kind="stable")
    order = list(dict.fromkeys([*gaps["team"], *by_size.index]))
    return [t for t in order if t in by_size.index][:ctx.params.max_heatmaps]


def view(gaps: pd.DataFrame) -> pd.DataFrame:
    return table(pd.DataFrame({
        "Team": gaps["team"].astype(str),
        "True class": gaps["true"].astype(str),
        "Labelled as": gaps["given"].astype(str),
        "Team rate": gaps["team_rate"].astype(float),
        "Rest of market rate": gaps["rest_rate"].astype(float),
        "Difference (95% interval)": [effect_text(e, lo, hi, "rate") for e, lo, hi in zip(
            gaps["effect"], gaps["effect_lo"], gaps["effect_hi"], strict=True)],
        "q": gaps["q"].astype(float),
        "Team judgments of the class": gaps["team_n"].astype(float),
    }), {"Team": "text", "True class": "text", "Labelled as": "text", "Team rate": "percent",
         "Rest of market rate": "percent", "Difference (95% interval)": "text", "q": "pvalue",
         "Team judgments of the class": "count"})


def examples_view(ex: pd.DataFrame) -> pd.DataFrame:
    return table(pd.DataFrame({
        "Team": ex["team"], "True class": ex["true"], "Labelled as": ex["given"],
        "Item": ex["item_id"], "Reference from": ex["reference_from"],
        "Confidence of the reference": ex["confidence"].astype(float), "Text": ex["text"]}),
        {"Team": "text", "True class": "text", "Labelled as": "text", "Item": "text",
         "Reference from": "text", "Confidence of the reference": "percent", "Text": "text"})


def build(ctx) -> SectionResult:
    from insights import plots

    if not ctx.has_teams:
        return SectionResult(KEY, TITLE, note=(
            "Knowledge gaps compare each vendor team with the rest of its market: they need a "
            "team column (in labels or annotators)."))
    if not ctx.has_times:
        return SectionResult(KEY, TITLE, note=(
            "Knowledge gaps are tested with the trends over weeks of judgments: they need the "
            "labels column labeled_at."))
    trend = ctx.trend
    gaps = knowledge_gaps(trend)
    t = ctx.annotator_table
    human_teams = set(t.loc[t["kind"] != "model", "team"].dropna().astype(str))
    gaps = gaps[gaps["team"].astype(str).isin(human_teams)].reset_index(drop=True)
    ex = gap_examples(ctx, gaps)
    conf = team_confusions(ctx)
    findings = []
    for r in gaps.head(3).itertuples(index=False):
        findings.append(Finding("alert" if r.effect >= 0.2 else "watch", r.sentence, KEY,
                                value=float(r.team_rate), q=float(r.q)))
    if len(gaps) > 3:
        findings.append(Finding("watch", f"{len(gaps) - 3} further knowledge gaps are "
                                f"significant.", KEY, value=float(len(gaps)),
                                q=float(gaps["q"].iat[3])))
    sentences = [] if len(gaps) else [
        "No team confuses a class for another significantly more often than the rest of its "
        "market, after false-discovery control across everything tested (see Trends)."]
    teams = heatmap_teams(ctx, conf, gaps)
    figures = [plots.confusion_heatmaps(conf, teams)] if teams else []
    tables = {}
    if len(gaps):
        tables["Knowledge gaps (team rate above the rest of the market)"] = view(gaps)
    if len(ex):
        tables["Example items"] = examples_view(ex)
    export = gaps.assign(examples=[" ".join(map(str, e)) for e in gaps["examples"]])
    return SectionResult(KEY, TITLE, sentences=sentences, tables=tables, figures=figures,
                         findings=findings,
                         data={"gaps": gaps, "examples": ex, "confusions": conf,
                               "tables": {"knowledge_gaps": export}})
