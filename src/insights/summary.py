"""Report tables: everything the market report notebook shows, computed in one place.

The notebook ``notebooks/market_report.ipynb`` only loads, calls and shows; the logic lives here
so that it is tested. :func:`build_report` loads one market's data for a period, fits the
aggregation model and assembles the tables of the report sections (DESIGN.md, "The per-market
report"):

1. headline findings (:func:`headline_findings`), plain sentences, most important first, each
   linking to the section that holds its evidence;
2. scale and quality at a glance (:func:`scale_numbers`);
3. the vendor team scorecard (:func:`team_scorecard`);
4. knowledge gaps: per-team confusion matrices with example items (:func:`knowledge_gaps`);
8. the model/LLM annotator's disagreements with the human consensus
   (:func:`model_disagreements`);
10. methods and provenance (:func:`provenance`).

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
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insights import __version__
from insights import data as _data
from insights._io import write_table, write_text

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
    "knowledge_gaps",
    "model_disagreements",
    "item_confidence",
    "headline_findings",
    "findings_html",
    "html_table",
    "provenance",
    "MarketReport",
    "build_report",
    "write_tables",
    "PARAMETER_NAMES",
    "notebook_params",
    "report_header",
    "scorecard_view",
    "heatmap_teams",
]

#: Report sections: key -> heading text used in the notebook (the anchors derive from it).
SECTIONS = {
    "findings": "Headline findings",
    "scale": "Scale and quality at a glance",
    "scorecard": "Vendor team scorecard",
    "gaps": "Knowledge gaps",
    "model": "Model and LLM annotators",
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

    ``probas`` is items x classes (rows sum to 1), ``confusions`` annotators x K x K
    (true class x given label, rows sum to 1), ``priors`` the class prevalence.
    """

    enc: _data.Encoded
    probas: np.ndarray
    confusions: np.ndarray
    priors: np.ndarray
    method: str

    @property
    def labels(self) -> np.ndarray:
        return self.probas.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        return self.probas.max(axis=1)


def _confusions_from(enc: _data.Encoded, probas: np.ndarray, smoothing: float = 1.0) -> np.ndarray:
    """M-step: expected confusion counts sum_i p_ik [label_ij = l] per annotator, smoothed."""
    k = enc.n_classes
    counts = (enc.incidence_t @ probas).reshape(enc.n_annotators, k, k)  # [j, l, k]
    counts = counts.transpose(0, 2, 1) + smoothing / k  # [j, k(true), l(given)]
    return counts / counts.sum(axis=2, keepdims=True)


def fit_model(ds: _data.Dataset, method: str = "dawid-skene") -> Posterior:
    """Fit the aggregation model named ``method`` (``insights.reliability.make_aggregator``).

    Falls back to majority vote when ``insights.reliability`` is not available. Confusion
    matrices come from the model when it has them, otherwise from one M-step on its posteriors.
    """
    enc = ds.encode()
    probas = confusions = priors = None
    try:
        from insights import reliability
    except ImportError:  # pragma: no cover - the package core always has it
        reliability = None
    if reliability is not None and hasattr(reliability, "make_aggregator"):
        model = reliability.make_aggregator(method)
        model.fit(enc)
        p = model.probas_
        if isinstance(p, pd.DataFrame):
            p = p.reindex(index=enc.item_ids, columns=enc.classes).to_numpy(float)
        probas = np.asarray(p, dtype=float)
        conf = getattr(model, "confusions_", None)
        ann = getattr(model, "annotator_ids_", None)
        if conf is not None and ann is not None and len(ann) == enc.n_annotators:
            order = pd.Index(np.asarray(ann, dtype=object)).get_indexer(enc.annotator_ids)
            if (order >= 0).all():
                confusions = np.asarray(conf, float)[order]
        pri = getattr(model, "priors_", None)
        if pri is not None:
            priors = np.asarray(pri, float).reshape(-1)
    else:
        method = "majority"
        counts = enc.item_counts.toarray()
        probas = counts / counts.sum(axis=1, keepdims=True)
    if confusions is None:
        confusions = _confusions_from(enc, probas)
    if priors is None or len(priors) != enc.n_classes:
        priors = probas.mean(axis=0)
    return Posterior(enc=enc, probas=probas, confusions=confusions, priors=priors, method=method)


# --------------------------------------------------------------------------------------------
# quality tables
# --------------------------------------------------------------------------------------------
def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (Wilson 1927) for k successes in n trials; NaN where n = 0."""
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z**2 / n
        mid = (p + z**2 / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return np.where(n > 0, mid - half, np.nan), np.where(n > 0, mid + half, np.nan)


def annotator_quality(ds: _data.Dataset, post: Posterior) -> pd.DataFrame:
    """One row per annotator (:func:`insights.quality.annotator_quality`, the table of
    ``insights annotators``): team, market, kind, n_labels, accuracy vs gold with Wilson
    interval (``accuracy_gold_low``/``_high``), model-estimated accuracy
    (``accuracy_estimated``), bias-corrected quality (``quality_bias_corrected``, Ipeirotis et
    al. 2010: 1 for a perfect annotator, 0 for a spammer) and Cohen's kappa vs the consensus
    (``kappa_consensus``)."""
    from insights import quality as _quality

    q = _quality.annotator_quality(post.enc, post.probas, annotators=ds.annotator_table(),
                                   confusions=post.confusions, priors=post.priors)
    q = q.rename(columns={"accuracy_gold_lo": "accuracy_gold_low",
                          "accuracy_gold_hi": "accuracy_gold_high",
                          "estimated_accuracy": "accuracy_estimated",
                          "quality": "quality_bias_corrected",
                          "agreement": "kappa_consensus"})
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
                   default_cost: float = 0.0, min_gold: int = 30) -> pd.DataFrame:
    """One row per vendor team, ranked by accuracy vs gold (model estimate where gold is thin).

    Columns: team, annotators, judgments, items, gold judgments, accuracy vs gold with a Wilson
    interval (pooled over the team's gold judgments), model-estimated accuracy, bias-corrected
    quality and kappa vs consensus (judgment-weighted means over the team's annotators),
    throughput (judgments per active day), median handle time, cost per judgment, and the
    best/worst rank compatible with the intervals.
    """
    lab = ds.labels
    enc = post.enc
    team_of = quality.set_index("annotator_id")["team"]
    teams = lab["annotator_id"].map(team_of).fillna("(no team)").to_numpy()
    g = enc.gold[enc.item]
    correct = (enc.label == g) & (g >= 0)
    frame = pd.DataFrame({
        "team": teams, "item": enc.item, "annotator": enc.annotator,
        "on_gold": g >= 0, "correct": correct,
        "cost": _cost_per_judgment(ds, default_cost),
        "est": post.probas[enc.item, enc.label],
    })
    if "labeled_at" in lab.columns:
        frame["day"] = lab["labeled_at"].dt.floor("D").to_numpy()
    if "handle_seconds" in lab.columns:
        frame["handle"] = lab["handle_seconds"].to_numpy(float)
    grp = frame.groupby("team", sort=True)
    out = pd.DataFrame({
        "annotators": grp["annotator"].nunique(),
        "judgments": grp.size(),
        "items": grp["item"].nunique(),
        "gold_judgments": grp["on_gold"].sum().astype(int),
        "gold_correct": grp["correct"].sum().astype(int),
        "accuracy_estimated": grp["est"].mean(),
        "cost_per_judgment": grp["cost"].mean(),
        "cost_total": grp["cost"].sum(),
    })
    w = quality.assign(w=quality["n_labels"])
    for col in ("quality_bias_corrected", "kappa_consensus"):
        v = w.dropna(subset=[col])
        out[col] = (v[col] * v["w"]).groupby(v["team"]).sum() / v.groupby("team")["w"].sum()
    out["throughput_per_day"] = (grp.size() / grp["day"].nunique()) if "day" in frame else np.nan
    out["median_handle_seconds"] = grp["handle"].median() if "handle" in frame else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        out["accuracy_gold"] = np.where(out["gold_judgments"] > 0,
                                        out["gold_correct"] / out["gold_judgments"], np.nan)
    lo, hi = _wilson(out["gold_correct"].to_numpy(), out["gold_judgments"].to_numpy())
    out["accuracy_gold_low"], out["accuracy_gold_high"] = lo, hi
    enough = out["gold_judgments"].to_numpy() >= min_gold
    out["ranked_by"] = np.where(enough, "gold", "model estimate")
    key = np.where(enough, out["accuracy_gold"], out["accuracy_estimated"])
    out["rank_key"] = key
    out = out.reset_index().sort_values(["rank_key", "team"], ascending=[False, True])
    out = out.reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    best, worst = rank_bands(out["rank_key"].to_numpy(),
                             np.where(out["ranked_by"] == "gold", out["accuracy_gold_low"], np.nan),
                             np.where(out["ranked_by"] == "gold", out["accuracy_gold_high"], np.nan))
    out["rank_best"], out["rank_worst"] = best, worst
    cols = ["rank", "team", "annotators", "judgments", "items", "gold_judgments",
            "accuracy_gold", "accuracy_gold_low", "accuracy_gold_high", "accuracy_estimated",
            "quality_bias_corrected", "kappa_consensus", "throughput_per_day",
            "median_handle_seconds", "cost_per_judgment", "cost_total", "ranked_by",
            "rank_best", "rank_worst"]
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


def team_confusions(ds: _data.Dataset, post: Posterior, *, use_gold: bool = False) -> pd.DataFrame:
    """Long table of per-team confusion rates of human annotators: team, true, given, n, rate.

    The reference class of an item is the model's posterior (soft: each judgment counts with the
    item's posterior weights), so every judgment informs the matrix, not only gold ones; with
    ``use_gold`` only gold items count, with their trusted answer. ``rate`` is the share of the
    team's judgments on true class ``true`` that said ``given`` (rows sum to 1).
    """
    enc = post.enc
    k = enc.n_classes
    team_of = ds.annotator_table()["team"] if "team" in ds.annotator_table() else None
    teams = (pd.Series(enc.annotator_ids).map(team_of).fillna("(no team)").to_numpy()
             if team_of is not None else np.full(enc.n_annotators, "(no team)", dtype=object))
    kinds = ds.annotator_table()["kind"].reindex(enc.annotator_ids).fillna("human").to_numpy()
    human = kinds[enc.annotator] != "model"  # model annotators have their own section
    t_codes, t_names = pd.factorize(teams[enc.annotator][human], sort=True)
    if use_gold:
        keep = (enc.gold[enc.item] >= 0)[human]
        w = np.zeros((keep.sum(), k))
        w[np.arange(keep.sum()), enc.gold[enc.item][human][keep]] = 1.0
    else:
        keep = np.ones(int(human.sum()), bool)
        w = post.probas[enc.item[human]]
    counts = np.zeros((len(t_names), k, k))
    for true in range(k):
        np.add.at(counts[:, true, :], (t_codes[keep], enc.label[human][keep]), w[:, true])
    rows = counts.sum(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(rows > 0, counts / rows, np.nan)
    tt, kk, ll = np.meshgrid(np.arange(len(t_names)), np.arange(k), np.arange(k), indexing="ij")
    return pd.DataFrame({
        "team": np.asarray(t_names, dtype=object)[tt.ravel()].astype(str),
        "true": enc.classes[kk.ravel()].astype(str),
        "given": enc.classes[ll.ravel()].astype(str),
        "n": counts.ravel(),
        "rate": rate.ravel(),
    })


def knowledge_gaps(confusions: pd.DataFrame, *, threshold: float = 0.15,
                   min_n: float = 20.0, margin: float = 0.05) -> pd.DataFrame:
    """Off-diagonal confusions where a team stands out: team, true, given, rate, others, n.

    A gap is a (team, true class, given label) whose rate is at least ``threshold``, exceeds the
    other teams' pooled rate by at least ``margin``, and rests on at least ``min_n`` (expected)
    judgments of that true class. Sorted by excess over the other teams.
    """
    off = confusions[confusions["true"] != confusions["given"]].copy()
    per_row = confusions.groupby(["team", "true"])["n"].sum().rename("row_n")
    off = off.join(per_row, on=["team", "true"])
    tot = off.groupby(["true", "given"])[["n"]].sum().rename(columns={"n": "all_n"})
    rows_all = confusions.groupby("true")["n"].sum().rename("all_row_n")
    off = off.join(tot, on=["true", "given"]).join(rows_all, on="true")
    with np.errstate(invalid="ignore", divide="ignore"):
        off["others"] = (off["all_n"] - off["n"]) / (off["all_row_n"] - off["row_n"])
    off["excess"] = off["rate"] - off["others"].fillna(0.0)
    gaps = off[(off["rate"] >= threshold) & (off["excess"] >= margin) & (off["row_n"] >= min_n)]
    gaps = gaps.sort_values(["excess", "team"], ascending=[False, True])
    return gaps[["team", "true", "given", "rate", "others", "excess", "row_n"]].rename(
        columns={"row_n": "n"}).reset_index(drop=True)


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
    """Example items for each gap: judgments by the team that said ``given`` on items whose
    reference (gold, else the model's label) is ``true``, most confident references first."""
    enc = post.enc
    if gaps.empty:
        return pd.DataFrame(columns=["team", "true", "given", "item_id", "reference_from",
                                     "confidence", "text"])
    team_of = ds.annotator_table()["team"]
    teams = pd.Series(enc.annotator_ids).map(team_of).fillna("(no team)").to_numpy()[enc.annotator]
    ref = np.where(enc.gold >= 0, enc.gold, post.labels)
    cls = {c: i for i, c in enumerate(enc.classes)}
    out = []
    for gap in gaps.itertuples(index=False):
        hit = np.flatnonzero((teams == gap.team) & (enc.label == cls[gap.given])
                             & (ref[enc.item] == cls[gap.true]))
        items = pd.unique(enc.item[hit])
        conf = np.where(enc.gold[items] >= 0, 1.0, post.confidence[items])
        items = items[np.lexsort((enc.item_ids[items].astype(str), -conf))][:n_examples]
        for it in items:
            out.append({"team": gap.team, "true": gap.true, "given": gap.given,
                        "item_id": str(enc.item_ids[it]),
                        "reference_from": "gold" if enc.gold[it] >= 0 else "model",
                        "confidence": 1.0 if enc.gold[it] >= 0 else float(post.confidence[it])})
    ex = pd.DataFrame(out)
    ex["text"] = _item_text(ds, ex["item_id"].tolist())
    return ex


def model_disagreements(ds: _data.Dataset, post: Posterior, n_examples: int = 5
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Where each model/LLM annotator disagrees with the human consensus.

    The human consensus of an item is the majority of its human judgments (ties broken toward
    the model's posterior). Returns ``(pairs, examples)``: per model annotator and
    (consensus, model label) pair the number of items and its share of the model's judgments
    on items with that consensus; and example items of the most frequent disagreements.
    """
    enc = post.enc
    kinds = ds.annotator_table()["kind"].reindex(enc.annotator_ids).fillna("human").to_numpy()
    is_model = kinds[enc.annotator] == "model"
    cols = ["annotator_id", "consensus", "model_label", "items", "share"]
    if not is_model.any() or is_model.all():
        return pd.DataFrame(columns=cols), pd.DataFrame(
            columns=["annotator_id", "consensus", "model_label", "item_id", "text"])
    k = enc.n_classes
    hum = ~is_model
    votes = np.zeros((enc.n_items, k))
    np.add.at(votes, (enc.item[hum], enc.label[hum]), 1.0)
    has_h = votes.sum(axis=1) > 0
    cons = (votes + 1e-6 * post.probas).argmax(axis=1)
    pairs, examples = [], []
    for j in np.unique(enc.annotator[is_model]):
        sel = (enc.annotator == j) & has_h[enc.item]
        c, m = cons[enc.item[sel]], enc.label[sel]
        mat = np.zeros((k, k))
        np.add.at(mat, (c, m), 1.0)
        rows = mat.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(rows > 0, mat / rows, np.nan)
        for a in range(k):
            for b in range(k):
                if a != b and mat[a, b] > 0:
                    pairs.append({"annotator_id": str(enc.annotator_ids[j]),
                                  "consensus": str(enc.classes[a]),
                                  "model_label": str(enc.classes[b]),
                                  "items": int(mat[a, b]), "share": float(share[a, b])})
    pairs = pd.DataFrame(pairs, columns=cols).sort_values(
        ["items", "annotator_id", "consensus", "model_label"],
        ascending=[False, True, True, True]).reset_index(drop=True)
    cls = {c: i for i, c in enumerate(enc.classes)}
    ann = {a: i for i, a in enumerate(enc.annotator_ids.astype(str))}
    for row in pairs.head(3).itertuples(index=False):
        sel = ((enc.annotator == ann[row.annotator_id]) & (enc.label == cls[row.model_label])
               & (cons[enc.item] == cls[row.consensus]) & has_h[enc.item])
        items = np.sort(enc.item_ids[enc.item[sel]].astype(str))[:n_examples]
        for it in items:
            examples.append({"annotator_id": row.annotator_id, "consensus": row.consensus,
                             "model_label": row.model_label, "item_id": it})
    ex = pd.DataFrame(examples, columns=["annotator_id", "consensus", "model_label", "item_id"])
    ex["text"] = _item_text(ds, ex["item_id"].tolist())
    return pairs, ex


def item_confidence(post: Posterior) -> pd.DataFrame:
    """Per item: final label, its posterior probability, gold when known, one p_<class> column
    per class."""
    enc = post.enc
    out = pd.DataFrame({
        "item_id": enc.item_ids.astype(str),
        "label": enc.classes[post.labels].astype(str),
        "confidence": post.confidence,
        "gold": np.where(enc.gold >= 0, enc.classes[np.maximum(enc.gold, 0)].astype(str), ""),
    })
    for c, name in enumerate(enc.classes):
        out[f"p_{name}"] = post.probas[:, c]
    return out


# --------------------------------------------------------------------------------------------
# findings
# --------------------------------------------------------------------------------------------
def headline_findings(scale: Mapping[str, float], scorecard: pd.DataFrame, gaps: pd.DataFrame,
                      disagreements: pd.DataFrame, *, accuracy_target: float = 0.9,
                      min_gold: int = 30, currency: str = "USD") -> pd.DataFrame:
    """Plain-sentence findings, most important first.

    Columns: ``severity`` (``alert``/``watch``/``info``), ``finding`` (a sentence, plain
    text), ``section`` (the key of the section holding the evidence, see :data:`SECTIONS`),
    ``value`` (the number behind it). Order: alerts, then watch items, then context.
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
    for r in gaps.head(3).itertuples(index=False):
        rows.append({"severity": "alert" if r.excess >= 0.2 else "watch", "section": "gaps",
                     "value": r.rate,
                     "finding": (f"Team {r.team} labels {r.rate:.0%} of '{r.true}' items as "
                                 f"'{r.given}', against {r.others:.0%} for the other teams.")})
    if len(disagreements):
        d = disagreements.iloc[0]
        rows.append({"severity": "watch" if d["share"] >= 0.15 else "info", "section": "model",
                     "value": d["share"],
                     "finding": (f"Model annotator {d['annotator_id']} labels {d['share']:.0%} "
                                 f"of the items humans call '{d['consensus']}' as "
                                 f"'{d['model_label']}' ({d['items']:,} items).")})
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
    rows.append({"severity": "info", "section": "scale",
                 "value": scale["label_accuracy_estimated"],
                 "finding": (f"{scale['items']:,} items received {scale['judgments']:,} "
                             f"judgments; the final labels are an estimated "
                             f"{scale['label_accuracy_estimated']:.1%} accurate, at "
                             f"{scale['cost_per_final_label']:,.3f} {currency} per final "
                             f"label.")})
    order = {"alert": 0, "watch": 1, "info": 2}
    out = pd.DataFrame(rows, columns=["severity", "finding", "section", "value"])
    out = out.sort_values("severity", key=lambda s: s.map(order), kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


_SEVERITY_STYLE = {"alert": "#b3261e", "watch": "#8a5a00", "info": "#1d4f91"}


def findings_html(findings: pd.DataFrame) -> str:
    """The findings as an ordered HTML list; sentences are escaped, each links to its section."""
    items = []
    for r in findings.itertuples(index=False):
        color = _SEVERITY_STYLE.get(r.severity, "#333")
        items.append(
            f'<li><strong style="color:{color}">{html.escape(str(r.severity).upper())}</strong> '
            f"{html.escape(str(r.finding))} "
            f'<a href="#{html.escape(anchor(r.section), quote=True)}">'
            f"(evidence: {html.escape(SECTIONS.get(r.section, r.section))})</a></li>")
    return '<ol class="insights-findings">' + "".join(items) + "</ol>"


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


def provenance(ds: _data.Dataset, params: Mapping[str, Any], method: str) -> pd.DataFrame:
    """Methods and provenance as a (field, value) table: model, fingerprint, versions."""
    import matplotlib
    import scipy
    import seaborn
    import sklearn

    rows = [
        ("aggregation model", method),
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
    scale: dict
    quality: pd.DataFrame
    scorecard: pd.DataFrame
    confusions: pd.DataFrame
    gaps: pd.DataFrame
    gap_examples: pd.DataFrame
    disagreements: pd.DataFrame
    disagreement_examples: pd.DataFrame
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

    def flags(self) -> list[str]:
        """Short flags for the index page: one per alert finding."""
        return [f"{r.section}: {r.finding}" for r in self.findings.itertuples(index=False)
                if r.severity == "alert"]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tidy tables written beside the HTML."""
        return {"scorecard": self.scorecard, "findings": self.findings,
                "item_confidence": self.items, "annotator_quality": self.quality,
                "knowledge_gaps": self.gaps}


def build_report(market: str, *, data_source: str = "", scenario: str = "default",
                 seed: int = 0, data_dir: str = "", since: str = "", until: str = "",
                 weeks: int = 8, label_set: Sequence[str] | None = None,
                 method: str = "dawid-skene", accuracy_target: float = 0.9,
                 min_gold: int = 30, gap_threshold: float = 0.15, gap_min_n: float = 20.0,
                 cost_per_label: float = 0.0, currency: str = "USD", n_examples: int = 3,
                 pseudonymize_ids: bool = True, pseudonym_salt: str = "insights",
                 params: Mapping[str, Any] | None = None) -> MarketReport:
    """Load one market for a period and compute every table of its report.

    Parameters mirror the notebook's ``parameters`` cell (``params/defaults.yaml``); ``params``
    is the full parameter dictionary, shown in the provenance section.
    """
    src = resolve_data(data_source, scenario=scenario, seed=seed, data_dir=data_dir)
    ds = _data.load(src, label_set=list(label_set) if label_set else None,
                    label_set_origin="params (label_set)", market=market)
    s = pd.Timestamp(since, tz="UTC") if since else None
    u = pd.Timestamp(until, tz="UTC") if until else None
    if "labeled_at" in ds.labels.columns and (s is None or u is None):
        d_s, d_u = default_period(ds.labels["labeled_at"], weeks)
        s, u = (s or d_s), (u or d_u)
    if s is not None or u is not None:
        # data.Dataset.subset localizes to UTC itself: hand it naive UTC times
        ds = ds.subset(since=None if s is None else s.tz_localize(None),
                       until=None if u is None else u.tz_localize(None))
        if len(ds.labels) == 0:
            raise _data.SchemaError(f"market {market!r} has no judgments between {s} and {u}")
    if pseudonymize_ids:
        ds = pseudonymize(ds, pseudonym_salt)
    post = fit_model(ds, method)
    quality = annotator_quality(ds, post)
    scorecard = team_scorecard(ds, post, quality, default_cost=cost_per_label, min_gold=min_gold)
    scale = scale_numbers(ds, post, default_cost=cost_per_label)
    conf = team_confusions(ds, post)
    gaps = knowledge_gaps(conf, threshold=gap_threshold, min_n=gap_min_n)
    examples = gap_examples(ds, post, gaps, n_examples=n_examples)
    pairs, dis_ex = model_disagreements(ds, post, n_examples=n_examples)
    findings = headline_findings(scale, scorecard, gaps, pairs, accuracy_target=accuracy_target,
                                 min_gold=min_gold, currency=currency)
    params = dict(params or {})
    return MarketReport(
        market=market, since=s, until=u, dataset=ds, posterior=post, scale=scale,
        quality=quality, scorecard=scorecard, confusions=conf, gaps=gaps, gap_examples=examples,
        disagreements=pairs, disagreement_examples=dis_ex, items=item_confidence(post),
        findings=findings, provenance=provenance(ds, params, post.method), params=params)


def write_tables(report: MarketReport, tables_dir: str | Path) -> dict[str, Any]:
    """Write the report's tidy tables as CSV and Parquet plus ``summary.json`` (headline
    numbers and flags for the index page); returns the summary."""
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
    "label_set", "method", "accuracy_target", "min_gold", "gap_threshold", "gap_min_n",
    "cost_per_label", "currency", "n_examples", "max_heatmaps", "pseudonymize",
    "pseudonym_salt", "tables_dir",
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

    return pd.DataFrame({
        "rank": card["rank"],
        "team": card["team"],
        "rank range (95%)": card.apply(band, axis=1) if len(card) else [],
        "annotators": card["annotators"],
        "judgments": card["judgments"],
        "gold judgments": card["gold_judgments"],
        "accuracy vs gold (95% interval)": card.apply(interval, axis=1) if len(card) else [],
        "estimated accuracy": card["accuracy_estimated"],
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
