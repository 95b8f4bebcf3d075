"""Report tables: everything the market report notebook shows, computed in one place.

The notebook ``notebooks/market_report.ipynb`` only loads, calls and shows; the logic lives here
so that it is tested. :func:`build_report` loads one market's data for a period, fits the
aggregation model and calls the package's modules for every section of the report (DESIGN.md,
"The per-market report"):

1. headline findings (:func:`headline_findings`), plain sentences, most important first, each
   linking to the section that holds its evidence (the significant trends and gaps included);
2. scale and quality at a glance (:func:`scale_numbers`);
3. the vendor team scorecard (:func:`team_scorecard`: :func:`insights.quality.rollup` of
   :func:`insights.quality.annotator_quality`, with the model-estimated accuracy and its
   credible interval from :class:`insights.confidence.HierarchicalDawidSkene`);
4. knowledge gaps: the FDR-tested gaps of :func:`insights.trends.analyze` with example items,
   and per-team confusion heatmaps (:func:`team_confusions`, :func:`knowledge_gaps`);
5. trends: :func:`insights.trends.analyze` (weekly series, trend and change tests, one
   Benjamini-Hochberg/Yekutieli adjustment across everything tested; :func:`fdr_statement`);
6. confidence: :func:`confidence_summary` (calibration against gold of majority vote,
   Dawid-Skene and the hierarchical model; team accuracy with credible intervals; the
   re-review list);
8. the model/LLM annotator's disagreements with the human consensus
   (:func:`model_disagreements`, from :func:`insights.quality.model_disagreements`);
9. forecast: :func:`insights.forecast.forecast_volume` and :func:`staffing_sentence`;
10. methods and provenance (:func:`provenance`).

(7, allocation, has no module yet and is not in the report.)

Safety: every string that comes from data is escaped before it becomes HTML
(:func:`html_table`, :func:`findings_html`); annotator ids can be replaced by stable salted
pseudonyms (:func:`pseudonymize`).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insights import __version__
from insights import data as _data
from insights import quality as _quality
from insights._io import write_table, write_text
from insights.reliability._base import soft_majority

__all__ = [
    "SECTIONS",
    "anchor",
    "project_root",
    "resolve_data",
    "default_period",
    "pseudonym",
    "pseudonymize",
    "fit_model",
    "Posterior",
    "annotator_quality",
    "team_scorecard",
    "rank_bands",
    "scale_numbers",
    "team_confusions",
    "analyze_trends",
    "knowledge_gaps",
    "gap_examples",
    "fdr_statement",
    "trend_tests_view",
    "fit_confidence",
    "convergence_note",
    "ConfidenceSummary",
    "confidence_summary",
    "staffing_sentence",
    "model_disagreements",
    "item_confidence",
    "headline_findings",
    "findings_html",
    "html_table",
    "details",
    "paragraph",
    "sentences_html",
    "calibration_view",
    "calibration_sentence",
    "scale_table",
    "forecast_view",
    "volume_forecast",
    "GAP_COLUMNS",
    "provenance",
    "MarketReport",
    "build_report",
    "write_tables",
    "PARAMETER_NAMES",
    "notebook_params",
    "report_header",
    "scorecard_view",
    "gaps_view",
    "team_accuracy_view",
    "heatmap_teams",
]

#: Report sections: key -> heading text used in the notebook (the anchors derive from it).
SECTIONS = {
    "findings": "Headline findings",
    "scale": "Scale and quality at a glance",
    "scorecard": "Vendor team scorecard",
    "gaps": "Knowledge gaps",
    "trends": "Trends",
    "confidence": "Confidence",
    "model": "Model and LLM annotators",
    "forecast": "Forecast",
    "methods": "Methods and provenance",
}


def anchor(section: str) -> str:
    """HTML id of a section heading, as nbconvert derives it (spaces become ``-``)."""
    return SECTIONS.get(section, section).replace(" ", "-")


# --------------------------------------------------------------------------------------------
# data location, period, pseudonyms
# --------------------------------------------------------------------------------------------
def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``params/`` or
    ``pyproject.toml``; ``start`` itself when there is none."""
    here = Path(start or os.getcwd()).resolve()
    for p in (here, *here.parents):
        if (p / "pyproject.toml").exists() or (p / "params" / "defaults.yaml").exists():
            return p
    return here


def resolve_data(data_source: str | Path | None = "", *, scenario: str = "default",
                 seed: int = 0, data_dir: str | Path | None = "") -> Path:
    """Where the data of a run lives.

    ``data_source`` empty or ``"simulated"`` means the built-in simulated operation: it is
    generated once (``insights.synthetic.simulate(scenario, seed)``) into
    ``<data_dir>/simulated/<scenario>-<seed>/`` (``data_dir`` defaults to ``<project>/data``)
    and reused afterwards. Generation writes to a temporary folder renamed at the end, so
    concurrent or killed runs never see a half-written dataset. Any other value is a directory
    or labels file (relative paths are taken from the project root).
    """
    root = project_root()
    if data_source not in (None, "", "simulated"):
        p = Path(data_source)
        return p if p.is_absolute() else root / p
    base = Path(data_dir) if data_dir else root / "data"
    folder = base / "simulated" / f"{scenario}-{seed}"
    if (folder / "labels.csv").exists():
        return folder
    from insights import synthetic  # the simulator is only needed the first time

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        synthetic.simulate(scenario=scenario, seed=int(seed)).write(tmp)
        try:
            os.replace(tmp, folder)
        except OSError:  # another run got there first
            if not (folder / "labels.csv").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def default_period(labeled_at: pd.Series, weeks: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last ``weeks`` complete ISO weeks (Monday to Sunday, UTC) of the data.

    A week counts as complete when the data reaches its last day; ``until`` is the Monday
    after it (exclusive), ``since`` is ``weeks`` weeks earlier.
    """
    t = pd.to_datetime(labeled_at, utc=True)
    end_day = t.max().normalize() + pd.Timedelta(days=1)  # first midnight after the last judgment
    until = end_day - pd.Timedelta(days=end_day.day_of_week)  # Monday at or before it
    if until <= t.min().normalize():  # less than one complete week: take everything
        until = end_day
    since = until - pd.Timedelta(weeks=int(weeks))
    return since, until


def pseudonym(annotator_id: str, salt: str) -> str:
    """Stable salted pseudonym: ``"ann-"`` + the first 8 hex digits of sha256(salt + id)."""
    return "ann-" + hashlib.sha256((str(salt) + str(annotator_id)).encode()).hexdigest()[:8]


def pseudonymize(ds: _data.Dataset, salt: str) -> _data.Dataset:
    """The dataset with every annotator id replaced by :func:`pseudonym`."""
    ids = pd.unique(pd.concat([
        ds.labels["annotator_id"],
        *([] if ds.annotators is None else [ds.annotators["annotator_id"]]),
    ]).astype(str))
    mapping = {a: pseudonym(a, salt) for a in ids}
    labels = ds.labels.assign(annotator_id=ds.labels["annotator_id"].map(mapping))
    annotators = None if ds.annotators is None else ds.annotators.assign(
        annotator_id=ds.annotators["annotator_id"].map(mapping))
    return _data.Dataset(labels=labels, gold=ds.gold, annotators=annotators, items=ds.items,
                         label_set=ds.label_set, fingerprint=ds.fingerprint, sources=ds.sources)


# --------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------
@dataclass
class Posterior:
    """Item posteriors of an aggregation model, in the encoding of ``enc``.

    ``probas`` is items x classes (rows sum to 1; gold items clamped to their gold answer),
    ``confusions`` annotators x K x K (true class x given label, rows sum to 1), ``priors`` the
    class prevalence, ``model`` the fitted estimator.
    """

    enc: _data.Encoded
    probas: np.ndarray
    confusions: np.ndarray
    priors: np.ndarray
    method: str
    model: Any = None

    @property
    def labels(self) -> np.ndarray:
        return self.probas.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        return self.probas.max(axis=1)

    def frame(self) -> pd.DataFrame:
        """``probas`` as an item_id x class DataFrame (an estimator's ``probas_``)."""
        return pd.DataFrame(self.probas, index=pd.Index(self.enc.item_ids, name="item_id"),
                            columns=pd.Index(self.enc.classes, name="class"))

    def unclamped(self) -> pd.DataFrame:
        """Posteriors from the judgments alone (gold answers not clamped): one E-step with the
        fitted confusions and priors. Calibration against gold needs these, otherwise gold
        items look perfectly calibrated (the same convention as
        ``HierarchicalDawidSkene.gold_probas_``)."""
        from insights.reliability._base import log_likelihood_matrix, log_normalize

        log_c = np.log(np.clip(self.confusions, 1e-300, None))
        log_p = np.log(np.clip(self.priors, 1e-300, None))
        p, _ = log_normalize(log_likelihood_matrix(self.enc, log_c, log_p))
        return pd.DataFrame(p, index=pd.Index(self.enc.item_ids, name="item_id"),
                            columns=pd.Index(self.enc.classes, name="class"))


def fit_model(ds: _data.Dataset, method: str = "dawid-skene") -> Posterior:
    """Fit the aggregation model named ``method`` (``insights.reliability.make_aggregator``).

    Confusion matrices come from the model when it has them, otherwise from the expected
    confusions under its posteriors (:func:`insights.quality.annotator_confusions`, one
    pseudo-judgment spread over each row).
    """
    from insights import reliability

    enc = ds.encode()
    model = reliability.make_aggregator(method)
    model.fit(ds)  # shares ds's encoding; the hierarchical model also reads its teams
    p = model.probas_
    if isinstance(p, pd.DataFrame):
        p = p.reindex(index=enc.item_ids, columns=enc.classes).to_numpy(float)
    probas = np.asarray(p, dtype=float)
    confusions = priors = None
    conf = getattr(model, "confusions_", None)
    ann = getattr(model, "annotator_ids_", None)
    if conf is not None and ann is not None and len(ann) == enc.n_annotators:
        order = pd.Index(np.asarray(ann, dtype=object)).get_indexer(enc.annotator_ids)
        if (order >= 0).all():
            confusions = np.asarray(conf, float)[order]
    if confusions is None:
        confusions = _quality.annotator_confusions(enc, probas, smoothing=1.0 / enc.n_classes)
    pri = getattr(model, "priors_", None)
    if pri is not None:
        priors = np.asarray(pri, float).reshape(-1)
    if priors is None or len(priors) != enc.n_classes:
        priors = probas.mean(axis=0)
    return Posterior(enc=enc, probas=probas, confusions=confusions, priors=priors,
                     method=method, model=model)


# --------------------------------------------------------------------------------------------
# quality tables
# --------------------------------------------------------------------------------------------
def annotator_quality(ds: _data.Dataset, post: Posterior) -> pd.DataFrame:
    """:func:`insights.quality.annotator_quality` (the table of ``insights annotators``) with
    the model's confusions and priors, as a flat table sorted by team and annotator."""
    q = _quality.annotator_quality(post.enc, post.probas, annotators=ds.annotator_table(),
                                   confusions=post.confusions, priors=post.priors)
    q = q.rename_axis("annotator_id").reset_index()
    q["annotator_id"] = q["annotator_id"].astype(str)
    q["team"] = q["team"].fillna("(no team)").astype(str)
    return q.sort_values(["team", "annotator_id"]).reset_index(drop=True)


def _cost_per_judgment(ds: _data.Dataset, default_cost: float) -> np.ndarray:
    lab = ds.labels
    if "cost" in lab.columns:
        cost = lab["cost"].to_numpy(float)
    else:
        cost = np.full(len(lab), np.nan)
    if ds.annotators is not None and "cost_per_label" in ds.annotators.columns:
        per = lab["annotator_id"].map(ds.annotators.set_index("annotator_id")["cost_per_label"])
        cost = np.where(np.isnan(cost), per.to_numpy(float), cost)
    return np.where(np.isnan(cost), float(default_cost), cost)


def rank_bands(point: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best and worst rank (1 = best) compatible with the intervals.

    A team is certainly behind another only when its upper bound is below the other's lower
    bound; otherwise the two could be in either order. Teams without an interval get NaN.
    """
    low = np.asarray(low, float)
    high = np.asarray(high, float)
    ok = ~(np.isnan(low) | np.isnan(high))
    best = np.full(len(low), np.nan)
    worst = np.full(len(low), np.nan)
    m = int(ok.sum())
    for t in np.flatnonzero(ok):
        surely_better = np.sum(low[ok] > high[t])
        surely_worse = np.sum(high[ok] < low[t])
        best[t] = 1 + surely_better
        worst[t] = m - surely_worse
    return best, worst


def team_scorecard(ds: _data.Dataset, post: Posterior, quality: pd.DataFrame, *,
                   team_accuracy: pd.DataFrame | None = None, default_cost: float = 0.0,
                   min_gold: int = 30) -> pd.DataFrame:
    """One row per vendor team, ranked by accuracy vs gold (model estimate where gold is thin).

    Accuracy vs gold (Wilson interval over the team's pooled gold judgments), bias-corrected
    quality and kappa vs consensus (judgment-weighted means over the team's annotators) come
    from :func:`insights.quality.rollup` of ``quality``; the model-estimated accuracy and its
    interval from ``team_accuracy`` (``HierarchicalDawidSkene.team_accuracy_``: posterior mean
    and credible interval), else from the rollup (bootstrap over annotators). Also:
    throughput (judgments per active day), median handle time, cost per judgment, and the
    best/worst rank compatible with the intervals (:func:`rank_bands`).
    """
    lab = ds.labels
    enc = post.enc
    team_of = quality.set_index("annotator_id")["team"]
    frame = pd.DataFrame({
        "team": lab["annotator_id"].map(team_of).fillna("(no team)").to_numpy(),
        "item": enc.item, "cost": _cost_per_judgment(ds, default_cost)})
    if "labeled_at" in lab.columns:
        frame["day"] = lab["labeled_at"].dt.floor("D").to_numpy()
    if "handle_seconds" in lab.columns:
        frame["handle"] = lab["handle_seconds"].to_numpy(float)
    grp = frame.groupby("team", sort=True)
    roll = _quality.rollup(quality, by="team").sort_index()
    out = pd.DataFrame({
        "annotators": roll["annotators"],
        "judgments": roll["judgments"],
        "items": grp["item"].nunique(),
        "gold_judgments": roll["n_gold"].astype(int),
        "accuracy_gold": roll["accuracy_gold"],
        "accuracy_gold_low": roll["accuracy_gold_lo"],
        "accuracy_gold_high": roll["accuracy_gold_hi"],
        "cost_per_judgment": grp["cost"].mean(),
        "cost_total": grp["cost"].sum(),
        "quality_bias_corrected": roll["quality"],
        "kappa_consensus": roll["agreement"],
    })
    if team_accuracy is not None and len(team_accuracy):
        ta = team_accuracy.reindex(out.index)
        out["accuracy_estimated"] = ta["accuracy"].astype(float)
        out["accuracy_estimated_low"] = ta["lower"].astype(float)
        out["accuracy_estimated_high"] = ta["upper"].astype(float)
    else:
        out["accuracy_estimated"] = roll["estimated_accuracy"]
        out["accuracy_estimated_low"] = roll["estimated_accuracy_lo"]
        out["accuracy_estimated_high"] = roll["estimated_accuracy_hi"]
    out["throughput_per_day"] = (grp.size() / grp["day"].nunique()) if "day" in frame else np.nan
    out["median_handle_seconds"] = grp["handle"].median() if "handle" in frame else np.nan
    enough = out["gold_judgments"].to_numpy() >= min_gold
    out["ranked_by"] = np.where(enough, "gold", "model estimate")
    out["rank_key"] = np.where(enough, out["accuracy_gold"], out["accuracy_estimated"])
    lo = np.where(enough, out["accuracy_gold_low"], out["accuracy_estimated_low"])
    hi = np.where(enough, out["accuracy_gold_high"], out["accuracy_estimated_high"])
    out["band_lo"], out["band_hi"] = lo, hi
    out = out.rename_axis("team").reset_index().sort_values(["rank_key", "team"],
                                                            ascending=[False, True])
    out = out.reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["rank_best"], out["rank_worst"] = rank_bands(
        out["rank_key"].to_numpy(float), out["band_lo"].to_numpy(float),
        out["band_hi"].to_numpy(float))
    cols = ["rank", "team", "annotators", "judgments", "items", "gold_judgments",
            "accuracy_gold", "accuracy_gold_low", "accuracy_gold_high", "accuracy_estimated",
            "accuracy_estimated_low", "accuracy_estimated_high", "quality_bias_corrected",
            "kappa_consensus", "throughput_per_day", "median_handle_seconds",
            "cost_per_judgment", "cost_total", "ranked_by", "rank_best", "rank_worst"]
    return out[cols]


def scale_numbers(ds: _data.Dataset, post: Posterior, *, default_cost: float = 0.0) -> dict:
    """Headline scale and quality numbers of a market."""
    enc = post.enc
    kinds = ds.annotator_table()["kind"]
    cost = _cost_per_judgment(ds, default_cost)
    # (no "final label accuracy on gold": the models clamp gold items to their gold answer)
    gold_items = int(enc.has_gold.sum())
    table = ds.annotator_table()
    teams = table.loc[table["kind"] != "model"].get("team")
    return {
        "items": int(enc.n_items),
        "judgments": int(enc.n_judgments),
        "judgments_per_item": float(enc.n_judgments / max(enc.n_items, 1)),
        "annotators": int((kinds == "human").sum()),
        "model_annotators": int((kinds == "model").sum()),
        "teams": int(teams.nunique()) if teams is not None else 0,
        "gold_items": gold_items,
        "gold_coverage": float(gold_items / max(enc.n_items, 1)),
        "label_accuracy_estimated": float(post.confidence.mean()),
        "cost_total": float(cost.sum()),
        "cost_per_final_label": float(cost.sum() / max(enc.n_items, 1)),
    }


SCALE_LABELS = {
    "items": "Items labeled",
    "judgments": "Judgments",
    "judgments_per_item": "Judgments per item",
    "annotators": "Human annotators",
    "model_annotators": "Model/LLM annotators",
    "teams": "Vendor teams",
    "gold_items": "Gold items",
    "gold_coverage": "Gold coverage",
    "label_accuracy_estimated": "Estimated accuracy of final labels",
    "cost_total": "Total cost",
    "cost_per_final_label": "Cost per final label",
}


def scale_table(scale: Mapping[str, float], currency: str = "USD") -> pd.DataFrame:
    """The scale numbers as a two-column table with readable formatting."""
    rows = []
    for key, label in SCALE_LABELS.items():
        v = scale[key]
        if key in ("gold_coverage", "label_accuracy_estimated"):
            text = "n/a" if pd.isna(v) else f"{v:.1%}"
        elif key.startswith("cost"):
            text = f"{v:,.{3 if key == 'cost_per_final_label' else 0}f} {currency}"
        elif key == "judgments_per_item":
            text = f"{v:.2f}"
        else:
            text = f"{int(v):,}"
        rows.append((label, text))
    return pd.DataFrame(rows, columns=["measure", "value"])


def team_confusions(ds: _data.Dataset, post: Posterior) -> pd.DataFrame:
    """Long table of per-team confusion rates of human annotators: team, true, given, n, rate.

    The expected confusion counts of every annotator under the model's posteriors
    (:func:`insights.quality.annotator_confusions`, unnormalised: every judgment informs the
    matrix, not only gold ones) summed over the team; ``rate`` is the share of the team's
    judgments on true class ``true`` that said ``given`` (rows sum to 1). Model annotators have
    their own section and are left out.
    """
    enc = post.enc
    k = enc.n_classes
    meta = ds.annotator_table().reindex(enc.annotator_ids)
    teams = meta["team"].fillna("(no team)").astype(str).to_numpy()
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


# --------------------------------------------------------------------------------------------
# trends and knowledge gaps (insights.trends)
# --------------------------------------------------------------------------------------------
def analyze_trends(ds: _data.Dataset, post: Posterior, *, alpha: float = 0.05,
                   method: str = "bh", gap_min_n: float = 20.0):
    """:func:`insights.trends.analyze` on the report's period with the report model's item
    posteriors (not refitted). Without timestamps there is nothing to trend: an empty
    :class:`insights.trends.TrendReport` (no tests, no gaps)."""
    from insights import trends
    from insights.trends.findings import COLUMNS

    if "labeled_at" not in ds.labels.columns:
        empty = pd.DataFrame(columns=COLUMNS)
        return trends.TrendReport(findings=empty, tests=empty, series=pd.DataFrame(),
                                  gaps=pd.DataFrame(), mix=pd.DataFrame(), alpha=alpha,
                                  method=method, n_tests=0)
    return trends.analyze(ds, alpha=alpha, method=method, posteriors=post.frame(),
                          gap_min_count=gap_min_n)


GAP_COLUMNS = ["team", "true", "given", "team_rate", "rest_rate", "effect", "effect_lo",
               "effect_hi", "p", "q", "team_n", "sentence", "examples"]


def knowledge_gaps(trend) -> pd.DataFrame:
    """The knowledge gaps of a :class:`insights.trends.TrendReport` that are significant after
    the run's false-discovery control (``q <= alpha``), most significant first.

    Columns :data:`GAP_COLUMNS`: the team's rate of labelling ``true`` as ``given`` against the
    rest of its market's pool, the difference with its 95% interval, ``p``, ``q``, the team's
    (soft) judgments of the class, the plain sentence and example item ids.
    """
    g = trend.gaps
    if g is None or g.empty or "significant" not in g:
        return pd.DataFrame(columns=GAP_COLUMNS)
    return g.loc[g["significant"].astype(bool), GAP_COLUMNS].reset_index(drop=True)


def _item_text(ds: _data.Dataset, item_ids: Sequence[str]) -> np.ndarray:
    if ds.items is None:
        return np.full(len(item_ids), "", dtype=object)
    col = next((c for c in ("text", "content", "title") if c in ds.items.columns), None)
    if col is None:
        return np.full(len(item_ids), "", dtype=object)
    txt = ds.items.set_index("item_id")[col].reindex(list(item_ids)).fillna("").astype(str)
    return txt.to_numpy(dtype=object)


def gap_examples(ds: _data.Dataset, post: Posterior, gaps: pd.DataFrame,
                 n_examples: int = 3) -> pd.DataFrame:
    """Example items of each gap (the ``examples`` that :func:`insights.trends.analyze` picked:
    a team member gave ``given`` where ``true`` is the most likely truth, most certain first),
    with where the reference comes from (gold or the model), its confidence and the item text.
    """
    cols = ["team", "true", "given", "item_id", "reference_from", "confidence", "text"]
    enc = post.enc
    index = pd.Index(enc.item_ids.astype(str))
    out = []
    for gap in gaps.itertuples(index=False):
        ids = [str(i) for i in list(gap.examples)[:n_examples]]
        for it, pos in zip(ids, index.get_indexer(ids), strict=True):
            gold = pos >= 0 and enc.gold[pos] >= 0
            conf = 1.0 if gold else (float(post.confidence[pos]) if pos >= 0 else np.nan)
            out.append({"team": gap.team, "true": gap.true, "given": gap.given, "item_id": it,
                        "reference_from": "gold" if gold else "model", "confidence": conf})
    ex = pd.DataFrame(out, columns=cols[:-1])
    ex["text"] = _item_text(ds, ex["item_id"].tolist())
    return ex


_FDR_NAMES = {"bh": "Benjamini-Hochberg (1995)", "by": "Benjamini-Yekutieli (2001)"}


def fdr_statement(trend) -> str:
    """One plain paragraph: how many hypotheses were tested, how false discovery is controlled
    across all of them, and how many findings survive."""
    n = int(trend.n_tests)
    if n == 0:
        return ("No trend or knowledge-gap test could be run for this period (it needs "
                "timestamps and enough weeks of judgments).")
    kinds = trend.tests.loc[trend.tests["q"].notna(), "kind"].value_counts()
    parts = [f"{kinds.get('trend', 0)} trend tests of weekly series per market, queue and team",
             f"{kinds.get('gap', 0)} knowledge-gap tests per team and class pair"]
    if kinds.get("mix", 0):
        parts.append(f"{kinds['mix']} label-mix tests between markets")
    k = len(trend.findings)
    return (f"{n} hypotheses were tested for this market and period ({'; '.join(parts)}). "
            f"The false discovery rate is controlled across all of them at once with the "
            f"{_FDR_NAMES.get(trend.method, trend.method)} procedure at q ≤ {trend.alpha:g}: "
            f"{k} {'is' if k == 1 else 'are'} significant, and on average at most "
            f"{trend.alpha:.0%} of the significant findings are expected to be false "
            f"discoveries. q is the adjusted p-value of each test.")


def _effect_text(effect: float, lo: float, hi: float, unit: str) -> str:
    if not np.isfinite(effect):
        return "–"
    if unit == "rate":
        return f"{100 * effect:+.1f} pp ({100 * lo:+.1f} to {100 * hi:+.1f})"
    return f"{effect:+.3g} ({lo:.3g} to {hi:.3g}) {unit}"


def _p_text(p: float) -> str:
    if not np.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def trend_tests_view(trend, max_rows: int | None = None) -> pd.DataFrame:
    """Everything tested, most significant first: where, what, direction, effect with its 95%
    interval, since when, the test used, p and q."""
    t = trend.tests
    if t is None or t.empty:
        return pd.DataFrame(columns=["where", "what", "class", "direction", "effect (95% interval)",
                                     "since", "test", "p", "q", "significant"])
    t = t.sort_values(["q", "p"], kind="stable", na_position="last")
    if max_rows is not None:
        t = t.head(max_rows)
    given = t["given"].fillna("").astype(str)
    return pd.DataFrame({
        "where": t["where"].astype(str),
        "what": t["metric"].astype(str),
        "class": np.where(given != "", t["klass"].astype(str) + " → " + given,
                          t["klass"].fillna("").astype(str)),
        "direction": t["direction"].astype(str),
        "effect (95% interval)": [_effect_text(e, lo, hi, u) for e, lo, hi, u in zip(
            t["effect"], t["effect_lo"], t["effect_hi"], t["effect_unit"], strict=True)],
        "since": [f"{s:%Y-%m-%d}" if pd.notna(s) else "" for s in t["since"]],
        "test": t["test"].astype(str) + " (" + t["method"].astype(str) + ")",
        "p": [_p_text(p) for p in t["p"]],
        "q": [_p_text(q) for q in t["q"]],
        "significant": np.where(t["significant"].astype(bool), "yes", ""),
    }).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# confidence (insights.confidence)
# --------------------------------------------------------------------------------------------
def fit_confidence(ds: _data.Dataset, post: Posterior, *, seed: int = 0,
                   credible_level: float = 0.95):
    """The hierarchical model (:class:`insights.confidence.HierarchicalDawidSkene`, EM mode):
    the report model itself when it is the hierarchical one, else fitted on the dataset (gold
    items clamped; annotators pooled within team and market). The EM fit's convergence is
    reported in the provenance table (:func:`convergence_note`), not as a warning on the
    stakeholders' page."""
    from sklearn.exceptions import ConvergenceWarning

    from insights.confidence import HierarchicalDawidSkene

    if isinstance(post.model, HierarchicalDawidSkene):
        return post.model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return HierarchicalDawidSkene(inference="em", random_seed=int(seed),
                                      credible_level=credible_level).fit(ds)


def convergence_note(model) -> str:
    """How an iterative model's fit ended, in words (``n_iter_``, ``converged_``)."""
    n_iter, ok = getattr(model, "n_iter_", None), getattr(model, "converged_", None)
    if n_iter is None or ok is None:
        return "not iterative"
    if ok:
        return f"converged in {n_iter} iterations"
    return (f"stopped after {n_iter} iterations without meeting the tolerance "
            f"({getattr(model, 'tol', '?')}); its estimates are the last iterate")


@dataclass
class ConfidenceSummary:
    """The Confidence section: see :func:`confidence_summary`."""

    model: Any
    calibration: pd.DataFrame
    reliability: dict
    teams: pd.DataFrame
    review: pd.DataFrame
    fraction: float = 0.1
    calibrator: Any = None


#: Row name of the gold-calibrated hierarchical model in the calibration table.
CALIBRATED = "hierarchical, gold-calibrated"


def gold_calibration(probas: pd.DataFrame, truth: pd.Series, *, folds: int = 5, seed: int = 0,
                     method: str = "isotonic"):
    """A calibration step fitted on gold items, with an honest estimate of its effect.

    Returns ``(calibrator, cross_fitted)``: a
    :class:`insights.confidence.GoldCalibrator` fitted on every gold item (to apply to all
    items), and the gold items' calibrated posteriors from ``folds``-fold cross-fitting (each
    gold item calibrated by a calibrator that did not see it), so that the calibration table's
    row for the calibrated model is not scored on its own training data.
    """
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


def _gold_truth(ds: _data.Dataset) -> pd.Series:
    if ds.gold is None or ds.gold.empty:
        return pd.Series(dtype=object)
    g = ds.gold.drop_duplicates("item_id")
    return pd.Series(g["label"].astype(str).to_numpy(), index=g["item_id"].astype(str))


def confidence_summary(ds: _data.Dataset, post: Posterior, model, *, n_review: int = 20,
                       fraction: float = 0.1, n_bins: int = 10, tolerance: float = 0.02,
                       min_gold: int = 100, seed: int = 0) -> ConfidenceSummary:
    """Calibration against gold, team accuracy with credible intervals, the re-review list.

    * ``calibration``: :func:`insights.confidence.calibration_table` of majority vote (vote
      shares), the report model and the hierarchical model against the gold answers, each on
      posteriors that did not see the gold (``Posterior.unclamped``, ``gold_probas_``):
      accuracy, expected calibration error, Brier score and the errors caught by reviewing the
      ``fraction`` least confident items.
    * when the hierarchical model is overconfident on gold by more than ``tolerance`` (correlated
      errors on hard items make posteriors so) and there are at least ``min_gold`` gold items:
      a calibration step fitted on gold (:func:`gold_calibration`, isotonic), reported as its
      own row (``CALIBRATED``, cross-fitted) and kept in ``calibrator`` to apply to all items.
    * ``reliability``: method -> :func:`insights.confidence.reliability_table` (ECE in
      ``attrs``), for :func:`insights.confidence.plots.reliability_diagram`.
    * ``teams``: ``team_accuracy_`` best first, with the posterior probability that each team
      is more accurate than the next one (``prob_more_accurate``).
    * ``review``: the model's ``review_list`` (items ordered by expected errors removed per
      review; gold items excluded), first ``n_review`` items, with their text.
    """
    from insights import confidence as _conf

    enc = post.enc
    truth = _gold_truth(ds)
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
                                                          seed=seed)
        calibration = _conf.calibration_table(probas, truth, n_bins=n_bins, fraction=fraction)
    reliability = {}
    for name, p in probas.items():
        conf, correct = _conf.confidence_and_correct(p, truth)
        if len(conf):
            table = _conf.reliability_table(conf, correct, n_bins=n_bins)
            table.attrs["ece"] = float(calibration.loc[name, "ece"])
            reliability[name] = table
    ta = model.team_accuracy_.sort_values("accuracy", ascending=False, kind="stable")
    names = [str(t) for t in ta.index]
    p_next = [model.prob_more_accurate(a, b) for a, b in zip(names, names[1:], strict=False)]
    teams = pd.DataFrame({
        "team": names, "accuracy": ta["accuracy"].to_numpy(float),
        "accuracy_low": ta["lower"].to_numpy(float), "accuracy_high": ta["upper"].to_numpy(float),
        "annotators": ta["n_annotators"].to_numpy(int), "judgments": ta["n_judgments"].to_numpy(int),
        "next_team": [*names[1:], ""], "p_more_accurate_than_next": [*p_next, np.nan]})
    review = model.review_list(budget=n_review).rename_axis("item_id").reset_index()
    review["item_id"] = review["item_id"].astype(str)
    review = review[["item_id", "label", "confidence", "lower", "expected_errors_removed",
                     "cumulative_errors_removed"]]
    review["text"] = _item_text(ds, review["item_id"].tolist())
    return ConfidenceSummary(model=model, calibration=calibration, reliability=reliability,
                             teams=teams, review=review, fraction=fraction,
                             calibrator=calibrator)


def calibration_sentence(cs: ConfidenceSummary, model: str = "hierarchical",
                         tolerance: float = 0.02) -> str:
    """The calibration of ``model`` in plain words: accuracy and mean confidence on gold items
    (posteriors computed without the gold answer), over- or under-confidence beyond
    ``tolerance``, and the errors caught by reviewing the least confident items, against
    majority vote."""
    c = cs.calibration
    if model not in c.index or not c.loc[model, "n"]:
        return "No gold items in this period: the confidence cannot be checked against gold."
    r = c.loc[model]
    gap = r["mean_confidence"] - r["accuracy"]
    verdict = ("about right" if abs(gap) <= tolerance else
               f"{'over' if gap > 0 else 'under'}confident by {abs(gap):.1%}")
    text = (f"On {int(r['n']):,} gold items, judged without their gold answer, the {model} model "
            f"is right {r['accuracy']:.1%} of the time and {r['mean_confidence']:.1%} confident "
            f"on average: its confidence is {verdict} (expected calibration error "
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
    """The calibration table with readable column names."""
    c = cs.calibration
    return pd.DataFrame({
        "method": c.index.astype(str),
        "gold items": c["n"].to_numpy(),
        "accuracy on gold": c["accuracy"].to_numpy(float),
        "mean confidence": c["mean_confidence"].to_numpy(float),
        "calibration error (ECE)": c["ece"].to_numpy(float),
        "Brier score": c["brier"].to_numpy(float),
        f"errors caught by reviewing the {cs.fraction:.0%} least confident":
            [f"{int(a)} of {int(b)}" for a, b in zip(c["errors_caught"], c["errors_total"],
                                                     strict=True)],
    })


# --------------------------------------------------------------------------------------------
# forecast (insights.forecast)
# --------------------------------------------------------------------------------------------
def volume_forecast(ds: _data.Dataset, horizon: int = 4, level: float = 0.8
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(history, forecast)``: weekly item volume per queue
    (:func:`insights.forecast.weekly_volume`) and :func:`insights.forecast.forecast_volume`
    for the next ``horizon`` weeks; empty frames without timestamps."""
    if "labeled_at" not in ds.labels.columns or horizon <= 0:
        return pd.DataFrame(), pd.DataFrame()
    from insights import forecast

    return (forecast.weekly_volume(ds),
            forecast.forecast_volume(ds, horizon=int(horizon), level=level))


def staffing_sentence(fc: pd.DataFrame, market: str) -> str:
    """The forecast in one plain sentence: items a week and the annotator hours they imply."""
    if fc is None or fc.empty:
        return "No forecast: the period has no timestamps or too few weeks."
    weekly = fc.groupby("step")[["volume", "volume_lo", "volume_hi", "hours", "hours_lo",
                                 "hours_hi"]].sum().mean()
    level = float(fc["level"].iat[0])
    h = int(fc["step"].max())
    hours = ("" if not np.isfinite(weekly["hours"]) else
             f", which at the current redundancy and median handle time takes about "
             f"{weekly['hours']:,.0f} annotator hours a week ({weekly['hours_lo']:,.0f} to "
             f"{weekly['hours_hi']:,.0f}), or {weekly['hours'] / 40:,.1f} full-time annotators")
    return (f"Over the next {h} weeks market {market} should receive about "
            f"{weekly['volume']:,.0f} items a week ({weekly['volume_lo']:,.0f} to "
            f"{weekly['volume_hi']:,.0f}: the queues' {level:.0%} prediction intervals added "
            f"up, so a conservative range){hours}.")


def forecast_view(fc: pd.DataFrame) -> pd.DataFrame:
    """The forecast per queue and week with intervals written out."""
    if fc is None or fc.empty:
        return pd.DataFrame(columns=["queue", "week of", "items", "annotator hours", "model"])
    lvl = f"{float(fc['level'].iat[0]):.0%}"
    return pd.DataFrame({
        "queue": fc["queue"].astype(str),
        "week of": [f"{w:%Y-%m-%d}" for w in fc["week_start"]],
        f"items ({lvl} interval)": [f"{v:,.0f} ({lo:,.0f} to {hi:,.0f})" for v, lo, hi in zip(
            fc["volume"], fc["volume_lo"], fc["volume_hi"], strict=True)],
        f"annotator hours ({lvl} interval)": [
            f"{v:,.1f} ({lo:,.1f} to {hi:,.1f})" for v, lo, hi in zip(
                fc["hours"], fc["hours_lo"], fc["hours_hi"], strict=True)],
        "judgments per item": fc["redundancy"].to_numpy(float),
        "model": fc["model"].astype(str),
    })


# --------------------------------------------------------------------------------------------
# model annotators (insights.quality.model_disagreements)
# --------------------------------------------------------------------------------------------
def model_disagreements(ds: _data.Dataset, post: Posterior, n_examples: int = 5
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Where each model/LLM annotator disagrees with the human consensus.

    The per-item disagreements come from :func:`insights.quality.model_disagreements` (the
    human consensus is the model's posterior given the human judgments only). Returns
    ``(pairs, examples)``: per model annotator and (consensus, model label) pair the number of
    items and its share of the model's judgments on items with that consensus (where the model
    agrees, the consensus is its own label); and the most confident examples of the three most
    frequent pairs.
    """
    enc = post.enc
    pair_cols = ["annotator_id", "consensus", "model_label", "items", "share"]
    ex_cols = ["annotator_id", "consensus", "model_label", "item_id", "consensus_confidence",
               "gold", "text"]
    table = ds.annotator_table()
    rows = _quality.model_disagreements(enc, post.probas, annotators=table, top=None,
                                        confusions=post.confusions, priors=post.priors)
    if rows.empty:
        return pd.DataFrame(columns=pair_cols), pd.DataFrame(columns=ex_cols)
    rows = rows.rename(columns={"model_annotator": "annotator_id", "consensus_label": "consensus"})
    for c in ("annotator_id", "consensus", "model_label", "item_id"):
        rows[c] = rows[c].astype(str)
    kinds = table["kind"].reindex(enc.annotator_ids).fillna("human").to_numpy()
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
    ex = ex.groupby(["annotator_id", "consensus", "model_label"], sort=False).head(n_examples)
    ex = ex[ex_cols[:-1]].reset_index(drop=True)
    ex["text"] = _item_text(ds, ex["item_id"].tolist())
    return pairs, ex


def item_confidence(post: Posterior, model=None, calibrator=None) -> pd.DataFrame:
    """Per item: final label, its posterior probability, gold when known, one p_<class> column
    per class; with the hierarchical ``model``, its confidence in the same label
    (``confidence_hierarchical``) and the lower end of its credible interval
    (``confidence_lower``)."""
    enc = post.enc
    out = pd.DataFrame({
        "item_id": enc.item_ids.astype(str),
        "label": enc.classes[post.labels].astype(str),
        "confidence": post.confidence,
        "gold": np.where(enc.gold >= 0, enc.classes[np.maximum(enc.gold, 0)].astype(str), ""),
    })
    if model is not None:
        hp = model.probas_.set_axis(model.probas_.index.astype(str)).reindex(out["item_id"])
        cols = hp.columns.get_indexer(out["label"])
        out["confidence_hierarchical"] = hp.to_numpy(float)[np.arange(len(out)), cols]
        low = model.confidence_["lower"]
        out["confidence_lower"] = low.set_axis(low.index.astype(str)).reindex(
            out["item_id"]).to_numpy(float)
        if calibrator is not None:  # the gold-fitted calibration step (confidence_summary)
            cal = calibrator.transform(hp.fillna(0.0))
            out["confidence_calibrated"] = cal.to_numpy(float)[np.arange(len(out)), cols]
    for c, name in enumerate(enc.classes):
        out[f"p_{name}"] = post.probas[:, c]
    return out


# --------------------------------------------------------------------------------------------
# findings
# --------------------------------------------------------------------------------------------
#: Trend metrics whose fall is an alert (label quality), and their rise good news.
_QUALITY_METRICS = ("gold_accuracy", "est_accuracy", "agreement")


def headline_findings(scale: Mapping[str, float], scorecard: pd.DataFrame, gaps: pd.DataFrame,
                      disagreements: pd.DataFrame, *, trend=None,
                      confidence: ConfidenceSummary | None = None, staffing: str = "",
                      accuracy_target: float = 0.9, min_gold: int = 30, currency: str = "USD",
                      max_trends: int = 6, max_gaps: int = 3) -> pd.DataFrame:
    """Plain-sentence findings, most important first.

    Columns: ``rank``, ``severity`` (``alert``/``watch``/``info``), ``finding`` (a sentence,
    plain text; class names in backticks), ``section`` (the key of the section holding the
    evidence, see :data:`SECTIONS`), ``value`` (the number behind it), ``q`` (for tested
    findings). Alerts: teams whose whole interval is below the accuracy target, significant
    falls of accuracy or agreement, large knowledge gaps (20 points or more above the rest of
    the market). Watch: other significant trends and gaps, the model annotator's most frequent
    disagreement, thin gold. Info: context (best and worst team, confidence, forecast, scale).
    Within a severity, untested findings come first, then by ``q``.
    """
    rows: list[dict[str, Any]] = []
    sc = scorecard
    gold_ok = sc[sc["ranked_by"] == "gold"]
    below = gold_ok[gold_ok["accuracy_gold_high"] < accuracy_target]
    for r in below.sort_values("accuracy_gold").itertuples(index=False):
        rows.append({"severity": "alert", "section": "scorecard", "value": r.accuracy_gold,
                     "finding": (f"Team {r.team} is below the {accuracy_target:.0%} accuracy "
                                 f"target: {r.accuracy_gold:.1%} on {r.gold_judgments:,} gold "
                                 f"judgments (95% interval {r.accuracy_gold_low:.1%} to "
                                 f"{r.accuracy_gold_high:.1%}).")})
    if trend is not None and len(trend.findings):
        tf = trend.findings[trend.findings["kind"] == "trend"]
        falls = tf["metric"].isin(_QUALITY_METRICS) & (tf["direction"] == "decreasing")
        tf = pd.concat([tf[falls], tf[~falls]])  # quality falls first, each part by q
        for _, r in tf.head(max_trends).iterrows():
            bad = r["metric"] in _QUALITY_METRICS and r["direction"] == "decreasing"
            rows.append({"severity": "alert" if bad else "watch", "section": "trends",
                         "value": r["effect"], "q": r["q"], "finding": r["sentence"]})
        if len(tf) > max_trends:
            rows.append({"severity": "watch", "section": "trends",
                         "value": float(len(tf) - max_trends), "q": tf["q"].iat[max_trends],
                         "finding": (f"{len(tf) - max_trends} further significant changes are "
                                     f"listed in the Trends section.")})
    for r in gaps.head(max_gaps).itertuples(index=False):
        rows.append({"severity": "alert" if r.effect >= 0.2 else "watch", "section": "gaps",
                     "value": r.team_rate, "q": r.q, "finding": r.sentence})
    if len(gaps) > max_gaps:
        rows.append({"severity": "watch", "section": "gaps", "value": float(len(gaps)),
                     "q": gaps["q"].iat[max_gaps],
                     "finding": f"{len(gaps) - max_gaps} further knowledge gaps are significant."})
    if len(disagreements):
        d = disagreements.iloc[0]
        rows.append({"severity": "watch" if d["share"] >= 0.15 else "info", "section": "model",
                     "value": d["share"],
                     "finding": (f"Model annotator {d['annotator_id']} labels {d['share']:.0%} "
                                 f"of the items humans call `{d['consensus']}` as "
                                 f"`{d['model_label']}` ({d['items']:,} items).")})
    if len(gold_ok) >= 2:
        top, bottom = gold_ok.iloc[0], gold_ok.iloc[-1]
        sure = top["accuracy_gold_low"] > bottom["accuracy_gold_high"]
        rows.append({"severity": "info", "section": "scorecard",
                     "value": top["accuracy_gold"] - bottom["accuracy_gold"],
                     "finding": (f"Team {top['team']} is the most accurate "
                                 f"({top['accuracy_gold']:.1%} on gold) and team "
                                 f"{bottom['team']} the least ({bottom['accuracy_gold']:.1%}); "
                                 + ("the difference is beyond sampling noise."
                                    if sure else "their intervals overlap."))})
    thin = sc[sc["gold_judgments"] < min_gold]
    if len(thin):
        rows.append({"severity": "watch", "section": "scorecard", "value": float(len(thin)),
                     "finding": (f"{len(thin)} team(s) have fewer than {min_gold} gold "
                                 f"judgments ({', '.join(thin['team'].astype(str))}); they are "
                                 f"ranked by the model estimate instead.")})
    if confidence is not None and "hierarchical" in confidence.calibration.index:
        c = confidence.calibration.loc["hierarchical"]
        if c["n"] > 0 and c["errors_total"] > 0:
            rows.append({"severity": "info", "section": "confidence", "value": c["share_caught"],
                         "finding": (f"On {int(c['n']):,} gold items, the hierarchical model's "
                                     f"{confidence.fraction:.0%} least confident labels hold "
                                     f"{int(c['errors_caught'])} of its {int(c['errors_total'])} "
                                     f"errors; its confidence is off by {c['ece']:.1%} on "
                                     f"average (ECE). The re-review list ranks the "
                                     f"{len(confidence.review)} items where a review removes "
                                     f"the most expected errors.")})
    if staffing and not staffing.startswith("No forecast"):
        rows.append({"severity": "info", "section": "forecast", "value": np.nan,
                     "finding": staffing})
    rows.append({"severity": "info", "section": "scale",
                 "value": scale["label_accuracy_estimated"],
                 "finding": (f"{scale['items']:,} items received {scale['judgments']:,} "
                             f"judgments; the final labels are an estimated "
                             f"{scale['label_accuracy_estimated']:.1%} accurate, at "
                             f"{scale['cost_per_final_label']:,.3f} {currency} per final "
                             f"label.")})
    order = {"alert": 0, "watch": 1, "info": 2}
    out = pd.DataFrame(rows, columns=["severity", "finding", "section", "value", "q"])
    out["q"] = out["q"].astype(float)
    out = out.assign(_s=out["severity"].map(order), _q=out["q"].fillna(-1.0))
    out = out.sort_values(["_s", "_q"], kind="stable").drop(columns=["_s", "_q"])
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


_SEVERITY_STYLE = {"alert": "#b3261e", "watch": "#8a5a00", "info": "#1d4f91"}


def _sentence_html(text: str) -> str:
    """A sentence escaped, with `backticked` names shown as code (after escaping, so data can
    never become markup)."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(str(text)))


def findings_html(findings: pd.DataFrame) -> str:
    """The findings as an ordered HTML list; sentences are escaped, each links to its section."""
    items = []
    for r in findings.itertuples(index=False):
        color = _SEVERITY_STYLE.get(r.severity, "#333")
        items.append(
            f'<li><strong style="color:{color}">{html.escape(str(r.severity).upper())}</strong> '
            f"{_sentence_html(r.finding)} "
            f'<a href="#{html.escape(anchor(r.section), quote=True)}">'
            f"(evidence: {html.escape(SECTIONS.get(r.section, r.section))})</a></li>")
    return '<ol class="insights-findings">' + "".join(items) + "</ol>"


def sentences_html(sentences: Sequence[str]) -> str:
    """Plain sentences (e.g. a TrendReport's findings) as an escaped bulleted list."""
    if not len(sentences):
        return '<p class="insights-note">Nothing significant at the run\'s FDR level.</p>'
    return ('<ul class="insights-findings">'
            + "".join(f"<li>{_sentence_html(s)}</li>" for s in sentences) + "</ul>")


def paragraph(text: str) -> str:
    """Plain text as an escaped HTML paragraph (`backticked` names shown as code)."""
    return f"<p>{_sentence_html(text)}</p>"


def details(inner_html: str, summary_text: str) -> str:
    """``inner_html`` collapsed under a ``<details>`` element (``summary_text`` escaped)."""
    return (f"<details><summary>{html.escape(summary_text)}</summary>{inner_html}"
            f"</details>")


def _fmt(v: Any, col: str) -> str:
    if isinstance(v, float | np.floating):
        if np.isnan(v):
            return "–"
        if any(s in col for s in ("accuracy", "quality", "rate", "share", "others", "excess",
                                  "coverage", "confidence")):
            return f"{v:.1%}"
        if col.startswith("rank_"):
            return f"{v:.0f}"
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    if isinstance(v, int | np.integer):
        return f"{v:,}"
    return str(v)


def html_table(df: pd.DataFrame, *, max_rows: int = 50, caption: str | None = None) -> str:
    """An HTML table with every cell escaped (data never becomes markup); numbers formatted."""
    show = df.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in show.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v, str(c)))}</td>"
                         for c, v in zip(show.columns, row, strict=False)) + "</tr>"
        for row in show.itertuples(index=False, name=None))
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    more = (f'<p class="insights-note">Showing {max_rows} of {len(df):,} rows; the full table '
            f"is in the report's tables folder.</p>" if len(df) > max_rows else "")
    return (f'<table class="insights-table dataframe">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>{more}")


# --------------------------------------------------------------------------------------------
# provenance, the whole report, tables on disk
# --------------------------------------------------------------------------------------------
def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(ds: _data.Dataset, params: Mapping[str, Any], method: str,
               models: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Methods and provenance as a (field, value) table: models, fingerprint, versions."""
    import matplotlib
    import scipy
    import seaborn
    import sklearn

    rows = [
        ("aggregation model", method),
        *((k, v) for k, v in (models or {}).items()),
        ("data fingerprint (sha256)", ds.fingerprint),
        ("data sources", "; ".join(f"{k}: {Path(v).name}" for k, v in sorted(ds.sources.items()))),
        ("insights version", __version__),
        ("git commit", _git_commit(project_root())),
        ("python", platform.python_version()),
        ("numpy / pandas / scipy", f"{np.__version__} / {pd.__version__} / {scipy.__version__}"),
        ("scikit-learn / matplotlib / seaborn",
         f"{sklearn.__version__} / {matplotlib.__version__} / {seaborn.__version__}"),
    ]
    rows += [(f"parameter: {k}", json.dumps(v, default=str)) for k, v in sorted(params.items())]
    return pd.DataFrame(rows, columns=["field", "value"])


@dataclass
class MarketReport:
    """Everything one market's report shows (see :func:`build_report`)."""

    market: str
    since: pd.Timestamp | None
    until: pd.Timestamp | None
    dataset: _data.Dataset
    posterior: Posterior
    history: _data.Dataset
    scale: dict
    quality: pd.DataFrame
    scorecard: pd.DataFrame
    confusions: pd.DataFrame
    gaps: pd.DataFrame
    gap_examples: pd.DataFrame
    trends: Any
    confidence: ConfidenceSummary
    disagreements: pd.DataFrame
    disagreement_examples: pd.DataFrame
    volume_history: pd.DataFrame
    forecast: pd.DataFrame
    staffing: str
    items: pd.DataFrame
    findings: pd.DataFrame
    provenance: pd.DataFrame
    params: dict = field(default_factory=dict)

    @property
    def period(self) -> str:
        if self.since is None:
            return "all dates"
        last = self.until - pd.Timedelta(days=1)
        return f"{self.since:%Y-%m-%d} to {last:%Y-%m-%d}"

    @property
    def history_period(self) -> str:
        """The dates of the trends' and the forecast's history (``trend_weeks``)."""
        t = self.history.labels.get("labeled_at")
        if t is None or not len(t):
            return "all dates"
        return f"{t.min():%Y-%m-%d} to {t.max():%Y-%m-%d}"

    def flags(self) -> list[str]:
        """Short flags for the index page: one per alert finding."""
        return [f"{r.section}: {r.finding}" for r in self.findings.itertuples(index=False)
                if r.severity == "alert"]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tidy tables written beside the HTML."""
        gaps = self.gaps.assign(examples=[" ".join(map(str, e)) for e in self.gaps["examples"]])
        return {"scorecard": self.scorecard, "findings": self.findings,
                "item_confidence": self.items, "annotator_quality": self.quality,
                "knowledge_gaps": gaps, "trend_tests": self.trends.tests,
                "trend_series": self.trends.series,
                "calibration": self.confidence.calibration.reset_index(),
                "team_accuracy": self.confidence.teams, "review_list": self.confidence.review,
                "forecast": self.forecast}


def _subset(ds: _data.Dataset, since: pd.Timestamp | None, until: pd.Timestamp | None
            ) -> _data.Dataset:
    # data.Dataset.subset localizes to UTC itself: hand it naive UTC times
    return ds.subset(since=None if since is None else since.tz_localize(None),
                     until=None if until is None else until.tz_localize(None))


def build_report(market: str, *, data_source: str = "", scenario: str = "default",
                 seed: int = 0, data_dir: str = "", since: str = "", until: str = "",
                 weeks: int = 8, label_set: Sequence[str] | None = None,
                 method: str = "dawid-skene", accuracy_target: float = 0.9,
                 min_gold: int = 30, alpha: float = 0.05, fdr_method: str = "bh",
                 gap_min_n: float = 20.0, cost_per_label: float = 0.0, currency: str = "USD",
                 n_examples: int = 3, n_review: int = 20, horizon: int = 4,
                 trend_weeks: int = 12,
                 pseudonymize_ids: bool = True, pseudonym_salt: str = "insights",
                 params: Mapping[str, Any] | None = None) -> MarketReport:
    """Load one market for a period and compute every table of its report.

    Parameters mirror the notebook's ``parameters`` cell (``params/defaults.yaml``); ``params``
    is the full parameter dictionary, shown in the provenance section.

    The period's sections use the aggregation model fitted on the period; trends, knowledge
    gaps and the forecast look at the ``trend_weeks`` weeks up to the period's end (the same
    model fitted on that history, or the period's own fit when the two coincide), so a change
    has weeks before and after it. Model disagreements reuse the period's posteriors, and the
    hierarchical confidence model is fitted once (EM mode) for the scorecard's intervals and
    the Confidence section.
    """
    src = resolve_data(data_source, scenario=scenario, seed=seed, data_dir=data_dir)
    ds = _data.load(src, label_set=list(label_set) if label_set else None,
                    label_set_origin="params (label_set)", market=market)
    s = pd.Timestamp(since, tz="UTC") if since else None
    u = pd.Timestamp(until, tz="UTC") if until else None
    if "labeled_at" in ds.labels.columns and (s is None or u is None):
        d_s, d_u = default_period(ds.labels["labeled_at"], weeks)
        s, u = (s or d_s), (u or d_u)
    if pseudonymize_ids:
        ds = pseudonymize(ds, pseudonym_salt)
    history = ds
    if s is not None or u is not None:
        # trends and the forecast look further back than the period: trend_weeks up to its end
        h_s = s if u is None else u - pd.Timedelta(weeks=max(int(trend_weeks), 0))
        h_s = s if (s is not None and (h_s is None or s < h_s)) else h_s
        history = _subset(ds, h_s, u)
        ds = _subset(history, s, u)
        if len(ds.labels) == 0:
            raise _data.SchemaError(f"market {market!r} has no judgments between {s} and {u}")
    post = fit_model(ds, method)
    post_history = post if len(history.labels) == len(ds.labels) else fit_model(history, method)
    hier = fit_confidence(ds, post, seed=seed)
    quality = annotator_quality(ds, post)
    scorecard = team_scorecard(ds, post, quality, team_accuracy=hier.team_accuracy_,
                               default_cost=cost_per_label, min_gold=min_gold)
    scale = scale_numbers(ds, post, default_cost=cost_per_label)
    trend = analyze_trends(history, post_history, alpha=alpha, method=fdr_method,
                           gap_min_n=gap_min_n)
    gaps = knowledge_gaps(trend)
    examples = gap_examples(history, post_history, gaps, n_examples=n_examples)
    conf = confidence_summary(ds, post, hier, n_review=n_review, seed=seed)
    pairs, dis_ex = model_disagreements(ds, post, n_examples=n_examples)
    volume, fc = volume_forecast(history, horizon=horizon)
    staffing = staffing_sentence(fc, market)
    findings = headline_findings(scale, scorecard, gaps, pairs, trend=trend, confidence=conf,
                                 staffing=staffing, accuracy_target=accuracy_target,
                                 min_gold=min_gold, currency=currency)
    params = dict(params or {})
    return MarketReport(
        market=market, since=s, until=u, dataset=ds, posterior=post, history=history,
        scale=scale,
        quality=quality, scorecard=scorecard, confusions=team_confusions(ds, post), gaps=gaps,
        gap_examples=examples, trends=trend, confidence=conf, disagreements=pairs,
        disagreement_examples=dis_ex, volume_history=volume, forecast=fc, staffing=staffing,
        items=item_confidence(post, hier, conf.calibrator), findings=findings,
        provenance=provenance(ds, params, post.method, models={
            "confidence model": (f"hierarchical Dawid-Skene ({hier.inference}), "
                                 f"{hier.credible_level:.0%} credible intervals, "
                                 f"{convergence_note(hier)}"),
            "trend tests": (f"{trend.n_tests} tests, false discovery rate "
                            f"{_FDR_NAMES.get(trend.method, trend.method)} at q <= "
                            f"{trend.alpha:g}"),
            "forecast model": (str(fc["model"].iat[0]) if len(fc) else "none")}),
        params=params)


def write_tables(report: MarketReport, tables_dir: str | Path) -> dict[str, Any] | None:
    """Write the report's tidy tables as CSV and Parquet plus ``summary.json`` (headline
    numbers and flags for the index page); returns the summary. An empty ``tables_dir`` (an
    analyst's interactive run) writes nothing and returns None."""
    if not str(tables_dir):
        return None
    out = Path(tables_dir)
    for name, df in report.tables().items():
        write_table(df, out / f"{name}.csv")
        write_table(df, out / f"{name}.parquet")
    summary = {
        "market": report.market,
        "period": report.period,
        "since": None if report.since is None else str(report.since.date()),
        "until": None if report.until is None else str(report.until.date()),
        "fingerprint": report.dataset.fingerprint,
        "method": report.posterior.method,
        "scale": {k: (None if pd.isna(v) else v) for k, v in report.scale.items()},
        "flags": report.flags(),
        "findings": report.findings["finding"].tolist(),
        "params": report.params,
    }
    write_text(out / "summary.json", json.dumps(summary, indent=2, default=str))
    return summary


#: The market report notebook's parameters (its ``parameters`` cell; tests keep them in sync).
PARAMETER_NAMES = (
    "market", "data_source", "scenario", "seed", "data_dir", "since", "until", "weeks",
    "label_set", "method", "accuracy_target", "min_gold", "alpha", "fdr_method", "gap_min_n",
    "cost_per_label", "currency", "n_examples", "n_review", "horizon", "trend_weeks",
    "max_heatmaps",
    "pseudonymize", "pseudonym_salt", "tables_dir",
)


def notebook_params(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The parameter values found in a notebook's namespace (for the provenance table)."""
    return {k: namespace[k] for k in PARAMETER_NAMES if k in namespace and k != "tables_dir"}


def report_header(report: MarketReport) -> str:
    """One escaped line under the title: market, period, scale, model."""
    s = report.scale
    text = (f"Market {report.market} · {report.period} · {s['items']:,} items · "
            f"{s['judgments']:,} judgments · model: {report.posterior.method}")
    return f'<p class="insights-header"><strong>{html.escape(text)}</strong></p>'


def scorecard_view(card: pd.DataFrame, currency: str = "USD") -> pd.DataFrame:
    """The scorecard with readable column names and intervals written out."""
    def interval(r) -> str:
        if pd.isna(r["accuracy_gold"]):
            return "no gold"
        return (f"{r['accuracy_gold']:.1%} ({r['accuracy_gold_low']:.1%} to "
                f"{r['accuracy_gold_high']:.1%})")

    def band(r) -> str:
        if pd.isna(r["rank_best"]):
            return "–"
        return f"{r['rank_best']:.0f} to {r['rank_worst']:.0f}"

    def estimated(r) -> str:
        if pd.isna(r["accuracy_estimated_low"]):
            return _fmt(r["accuracy_estimated"], "accuracy")
        return (f"{r['accuracy_estimated']:.1%} ({r['accuracy_estimated_low']:.1%} to "
                f"{r['accuracy_estimated_high']:.1%})")

    return pd.DataFrame({
        "rank": card["rank"],
        "team": card["team"],
        "rank range": card.apply(band, axis=1) if len(card) else [],
        "annotators": card["annotators"],
        "judgments": card["judgments"],
        "gold judgments": card["gold_judgments"],
        "accuracy vs gold (95% interval)": card.apply(interval, axis=1) if len(card) else [],
        "model-estimated accuracy (95% credible interval)":
            card.apply(estimated, axis=1) if len(card) else [],
        "bias-corrected quality": card["quality_bias_corrected"],
        "kappa vs consensus": card["kappa_consensus"],
        "judgments per active day": card["throughput_per_day"],
        "median handle seconds": card["median_handle_seconds"],
        f"cost per judgment ({currency})": card["cost_per_judgment"],
        "ranked by": card["ranked_by"],
    })


def heatmap_teams(report: MarketReport, max_teams: int = 6) -> list[str]:
    """Teams to draw as confusion heatmaps: teams with gaps first, then by judgments; human
    teams only (model annotators have their own section)."""
    q = report.quality
    human = q[q["kind"] != "model"]
    by_size = human.groupby("team")["n_labels"].sum().sort_values(ascending=False, kind="stable")
    order = list(dict.fromkeys([*report.gaps["team"], *by_size.index]))
    return [t for t in order if t in by_size.index][:max_teams]


def gaps_view(gaps: pd.DataFrame) -> pd.DataFrame:
    """The significant knowledge gaps with readable columns and intervals written out."""
    from insights.trends.findings import fmt_q

    return pd.DataFrame({
        "team": gaps["team"].astype(str),
        "true class": gaps["true"].astype(str),
        "labelled as": gaps["given"].astype(str),
        "team rate": gaps["team_rate"].astype(float),
        "rest of market rate": gaps["rest_rate"].astype(float),
        "difference (95% interval)": [_effect_text(e, lo, hi, "rate") for e, lo, hi in zip(
            gaps["effect"], gaps["effect_lo"], gaps["effect_hi"], strict=True)],
        "q": [fmt_q(q) for q in gaps["q"]],
        "team judgments of the class": gaps["team_n"].astype(float).round(0),
    })


def team_accuracy_view(teams: pd.DataFrame) -> pd.DataFrame:
    """The hierarchical model's team accuracy with its credible interval and the probability
    that each team is more accurate than the next one."""
    return pd.DataFrame({
        "team": teams["team"],
        "accuracy (95% credible interval)": [
            f"{a:.1%} ({lo:.1%} to {hi:.1%})" for a, lo, hi in zip(
                teams["accuracy"], teams["accuracy_low"], teams["accuracy_high"], strict=True)],
        "annotators": teams["annotators"],
        "judgments": teams["judgments"],
        "P(more accurate than the next team)": [
            "" if not n else f"{p:.0%} vs {n}" for p, n in zip(
                teams["p_more_accurate_than_next"], teams["next_team"], strict=True)],
    })
