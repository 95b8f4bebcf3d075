r"""Calibration sessions: every annotator labels the same items and an expert decides.

Gold rows with ``source = calibration`` are the expert's answers; the judgments on those items
are the session's ratings. A session is the gold's ``session`` column when there is one, else
the calendar date (UTC) of ``decided_at``, else one session ``"all"``.

Figures, per session:

* **agreement with the expert** of each annotator and team: the share of their judgments equal
  to the expert's answer, with a Wilson interval (:func:`insights.stats.wilson_interval`; the
  judgments of a team share items, so the team interval is a little optimistic);
* **agreement with each other**: for an annotator, the share of their pairs with the other
  raters of the same items that agree (Wilson interval over pairs); for a team and for the
  whole session, Fleiss' kappa (:func:`insights.agreement.fleiss_kappa`, Fleiss 1971) with a
  percentile bootstrap interval over items;
* the **items and expert classes with most disagreement**: an item's pairwise disagreement is
  :math:`1 - \sum_k n_k(n_k-1)/(n(n-1))` (one minus Fleiss' :math:`P_i`);
* each annotator's and team's **trend across sessions**, relative to the session's other
  raters (sessions differ in difficulty): the weighted least-squares slope of the accuracy
  difference per session (see :func:`calibration_trend`; the Cochran-Armitage trend test,
  :func:`insights.trends.rates.cochran_armitage`, for an entity alone in its sessions), with
  Benjamini-Hochberg q-values over the annotators (or teams) tested.

References
----------
Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
Bulletin 76(5), 378-382.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.agreement import fleiss_kappa
from insights.data import Dataset
from insights.operations._common import gold_of, judgments, votes_text
from insights.stats import wilson_interval
from insights.trends.fdr import adjust
from insights.trends.rates import cochran_armitage

__all__ = [
    "calibration_judgments",
    "session_agreement",
    "calibration_scores",
    "disagreement_items",
    "disagreement_classes",
    "calibration_trend",
    "kappa_interval",
]


def _sessions(gold: pd.DataFrame) -> pd.Series:
    if "session" in gold.columns and gold["session"].notna().any():
        s = gold["session"].astype(object)
        if "decided_at" in gold.columns:
            s = s.where(s.notna(), gold["decided_at"].dt.strftime("%Y-%m-%d"))
        return s.where(s.notna(), "all").astype(str)
    if "decided_at" in gold.columns and gold["decided_at"].notna().any():
        d = gold["decided_at"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d")
        return d.where(gold["decided_at"].notna(), "all").astype(str)
    return pd.Series("all", index=gold.index)


def calibration_judgments(ds: Dataset) -> pd.DataFrame:
    """One row per judgment on a calibration item, with the session and the expert's answer.

    Columns: ``session``, ``session_start`` (first ``decided_at`` of the session, else first
    ``labeled_at``, else NaT), ``item_id``, ``annotator_id``, ``team``, ``market``, ``label``,
    ``expert``, ``correct``. Empty when the gold has no ``source = calibration`` rows.
    """
    gold = gold_of(ds, "calibration")
    cols = ["session", "session_start", "item_id", "annotator_id", "team", "market", "label",
            "expert", "correct"]
    if len(gold) == 0:
        return pd.DataFrame(columns=cols)
    gold = gold.assign(session=_sessions(gold).to_numpy())
    j = judgments(ds)
    j = j[j["item_id"].isin(gold["item_id"])]
    g = gold.set_index("item_id")
    out = pd.DataFrame({
        "session": j["item_id"].map(g["session"]).to_numpy(),
        "item_id": j["item_id"].to_numpy(),
        "annotator_id": j["annotator_id"].to_numpy(),
        "team": j["team"].to_numpy(),
        "market": j["market"].to_numpy(),
        "label": j["label"].astype(str).to_numpy(),
        "expert": j["item_id"].map(g["label"]).astype(str).to_numpy(),
    })
    out["correct"] = out["label"] == out["expert"]
    if "decided_at" in gold.columns and gold["decided_at"].notna().any():
        start = gold.groupby("session")["decided_at"].min()
    elif "labeled_at" in j.columns:
        start = pd.Series(j["labeled_at"].to_numpy(), index=out.index).groupby(
            out["session"]).min()
    else:
        start = pd.Series(dtype="datetime64[ns, UTC]")
    out["session_start"] = out["session"].map(start)
    out = out[cols].sort_values(["session_start", "session", "item_id", "annotator_id"],
                                kind="stable")
    return out.reset_index(drop=True)


def _counts(cal: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """Items x classes vote counts of a calibration subset."""
    item, _ = pd.factorize(cal["item_id"])
    lab = pd.Index(classes).get_indexer(cal["label"])
    c = np.zeros((item.max() + 1 if len(item) else 0, len(classes)))
    np.add.at(c, (item, lab), 1.0)
    return c


def kappa_interval(counts: np.ndarray, *, n_boot: int = 1000, confidence: float = 0.95,
                   seed: int = 0) -> tuple[float, float, float]:
    """Fleiss' kappa of an items x classes count matrix and a percentile bootstrap interval
    (items resampled with replacement ``n_boot`` times; replicates where kappa is undefined are
    dropped). ``nan`` limits with fewer than two rated items."""
    counts = np.asarray(counts, float)
    counts = counts[counts.sum(1) >= 2]
    est = fleiss_kappa(counts) if len(counts) else np.nan
    if len(counts) < 2 or not np.isfinite(est):
        return float(est), np.nan, np.nan
    n_i = counts.sum(1)
    p_i = ((counts ** 2).sum(1) - n_i) / (n_i * (n_i - 1))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(counts), size=(n_boot, len(counts)))
    p_bar = p_i[idx].mean(1)
    col = counts[idx].sum(1)
    pk = col / col.sum(1, keepdims=True)
    pe = (pk ** 2).sum(1)
    ok = pe < 1 - 1e-12
    reps = (p_bar[ok] - pe[ok]) / (1 - pe[ok])
    a = (1 - confidence) / 2
    lo, hi = np.quantile(reps, [a, 1 - a]) if len(reps) else (np.nan, np.nan)
    return float(est), float(lo), float(hi)


def _classes(cal: pd.DataFrame, classes) -> list[str]:
    if classes is not None:
        return [str(c) for c in classes]
    return sorted(set(cal["label"]) | set(cal["expert"]))


def session_agreement(cal: pd.DataFrame, classes=None, *, n_boot: int = 1000,
                      seed: int = 0) -> pd.DataFrame:
    """One row per session: ``session, session_start, market, n_items, n_annotators,
    n_judgments, complete`` (every rater rated every item), ``accuracy`` vs the expert with
    ``accuracy_lo/hi`` (Wilson), ``kappa`` (Fleiss) with ``kappa_lo/hi`` (bootstrap over
    items)."""
    classes = _classes(cal, classes)
    rows = []
    for s, sub in cal.groupby("session", sort=False):
        counts = _counts(sub, classes)
        k, klo, khi = kappa_interval(counts, n_boot=n_boot, seed=seed)
        n_items, n_ann = sub["item_id"].nunique(), sub["annotator_id"].nunique()
        x, n = int(sub["correct"].sum()), len(sub)
        lo, hi = wilson_interval(x, n)
        rows.append({
            "session": s, "session_start": sub["session_start"].iat[0],
            "market": _mode(sub["market"]), "n_items": n_items, "n_annotators": n_ann,
            "n_judgments": n,
            "complete": bool(len(sub.drop_duplicates(["item_id", "annotator_id"]))
                             == n_items * n_ann),
            "accuracy": x / n, "accuracy_lo": float(lo), "accuracy_hi": float(hi),
            "kappa": k, "kappa_lo": klo, "kappa_hi": khi})
    return pd.DataFrame(rows)


def _mode(s: pd.Series):
    m = s.mode()
    return m.iat[0] if len(m) else None


def calibration_scores(cal: pd.DataFrame, by: str = "annotator", classes=None, *,
                       n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per session and annotator (``by="annotator"``) or team (``by="team"``): agreement with
    the expert and with the others.

    Columns: ``session, session_start, team, market`` (+ ``annotator_id``), ``n_items,
    n_judgments, correct, accuracy, accuracy_lo, accuracy_hi`` and, for annotators,
    ``peer_pairs, peer_agree, peer_agreement, peer_lo, peer_hi`` (agreement with the other
    raters of the same items), for teams ``n_annotators, kappa, kappa_lo, kappa_hi`` (Fleiss'
    kappa among the team's raters).
    """
    if by not in ("annotator", "team"):
        raise ValueError(f"by must be 'annotator' or 'team', got {by!r}")
    classes = _classes(cal, classes)
    keys = ["session", "team", "annotator_id"] if by == "annotator" else ["session", "team"]
    if len(cal) == 0:
        return pd.DataFrame(columns=[*keys, "accuracy"])
    df = cal.copy()
    n_item = df.groupby(["session", "item_id"])["label"].transform("size").to_numpy()
    n_same = df.groupby(["session", "item_id", "label"])["label"].transform("size").to_numpy()
    df["pairs"], df["agree"] = n_item - 1, n_same - 1
    g = df.groupby(keys, sort=False)
    out = pd.DataFrame({
        "session_start": g["session_start"].first(),
        "market": g["market"].agg(_mode),
        "n_items": g["item_id"].nunique(),
        "n_judgments": g.size(),
        "correct": g["correct"].sum().astype(int),
    }).reset_index()
    out["accuracy"] = out["correct"] / out["n_judgments"]
    lo, hi = wilson_interval(out["correct"], out["n_judgments"])
    out["accuracy_lo"], out["accuracy_hi"] = lo, hi
    if by == "annotator":
        out["peer_pairs"] = g["pairs"].sum().to_numpy().astype(int)
        out["peer_agree"] = g["agree"].sum().to_numpy().astype(int)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["peer_agreement"] = out["peer_agree"] / out["peer_pairs"]
        lo, hi = wilson_interval(out["peer_agree"], out["peer_pairs"])
        out["peer_lo"], out["peer_hi"] = lo, hi
    else:
        stats = []
        for _key, sub in df.groupby(keys, sort=False):
            k, klo, khi = kappa_interval(_counts(sub, classes), n_boot=n_boot, seed=seed)
            stats.append((sub["annotator_id"].nunique(), k, klo, khi))
        out[["n_annotators", "kappa", "kappa_lo", "kappa_hi"]] = pd.DataFrame(
            stats, index=out.index)
        out["n_annotators"] = out["n_annotators"].astype(int)
    return out.sort_values(["session_start", "session", *keys[1:]],
                           kind="stable").reset_index(drop=True)


def disagreement_items(cal: pd.DataFrame, top: int | None = 10) -> pd.DataFrame:
    """The calibration items with most disagreement, most first.

    Columns: ``session, item_id, expert, n_votes, agree_expert`` (share of votes equal to the
    expert's answer), ``disagreement`` (pairwise: one minus Fleiss' :math:`P_i`), ``votes``
    (``"ok x3, spam x2"``). Ties are broken by lower ``agree_expert``, then item id.
    """
    rows = []
    for (s, item), sub in cal.groupby(["session", "item_id"], sort=True):
        n = len(sub)
        nk = sub["label"].value_counts().to_numpy()
        dis = 1.0 - float((nk * (nk - 1)).sum()) / (n * (n - 1)) if n > 1 else np.nan
        rows.append({"session": s, "item_id": item, "expert": sub["expert"].iat[0],
                     "n_votes": n, "agree_expert": float(sub["correct"].mean()),
                     "disagreement": dis, "votes": votes_text(sub["label"])})
    out = pd.DataFrame(rows, columns=["session", "item_id", "expert", "n_votes",
                                      "agree_expert", "disagreement", "votes"])
    out = out.sort_values(["disagreement", "agree_expert", "item_id"],
                          ascending=[False, True, True], kind="stable", na_position="last")
    return (out.head(top) if top is not None else out).reset_index(drop=True)


def disagreement_classes(cal: pd.DataFrame) -> pd.DataFrame:
    """Per expert class: ``expert, n_items, n_judgments, accuracy`` with Wilson
    ``accuracy_lo/hi``, ``top_wrong`` (the most frequent wrong label), ``top_wrong_share``
    (its share of the class's judgments) and ``disagreement`` (mean pairwise disagreement of
    the class's items); least accurate first."""
    rows = []
    items = disagreement_items(cal, top=None)
    for cls, sub in cal.groupby("expert", sort=True):
        wrong = sub.loc[~sub["correct"], "label"].value_counts()
        wrong = wrong.sort_index().sort_values(ascending=False, kind="stable")
        x, n = int(sub["correct"].sum()), len(sub)
        lo, hi = wilson_interval(x, n)
        rows.append({"expert": cls, "n_items": sub["item_id"].nunique(), "n_judgments": n,
                     "accuracy": x / n, "accuracy_lo": float(lo), "accuracy_hi": float(hi),
                     "top_wrong": wrong.index[0] if len(wrong) else None,
                     "top_wrong_share": float(wrong.iat[0]) / n if len(wrong) else 0.0,
                     "disagreement": float(items.loc[items["expert"] == cls,
                                                     "disagreement"].mean())})
    out = pd.DataFrame(rows)
    if len(out):
        out = out.sort_values(["accuracy", "expert"], kind="stable").reset_index(drop=True)
    return out


def calibration_trend(scores: pd.DataFrame, *, min_sessions: int = 2) -> pd.DataFrame:
    r"""Each annotator's or team's calibration accuracy across sessions, against the session.

    Sessions differ in difficulty (their items differ), so the trend is that of the entity's
    accuracy *relative to the other raters of the same session*: with :math:`d_s = \hat p_s -
    \hat o_s` (the entity's and the others' accuracy in session :math:`s`) and its binomial
    variance :math:`v_s = \tilde p_s(1-\tilde p_s)/n_s + \tilde o_s(1-\tilde o_s)/m_s`
    (rates with half a success added, so a perfect session keeps a variance), the slope is the
    weighted (:math:`1/v_s`) least-squares slope of :math:`d_s` on the session order, with a
    two-sided normal test. An entity alone in its sessions is tested on its raw accuracy
    (Cochran-Armitage trend test).

    Parameters
    ----------
    scores : pandas.DataFrame
        :func:`calibration_scores` output (``by="annotator"`` or ``"team"``).
    min_sessions : int, default 2
        Entities seen in fewer sessions are not tested.

    Returns
    -------
    pandas.DataFrame
        One row per entity: ``team`` (+ ``annotator_id``), ``n_sessions, first, last``
        (accuracy in the first and last session), ``slope`` (change per session of the
        accuracy relative to the session's other raters; of the raw accuracy when alone),
        ``p`` and ``q`` (Benjamini-Hochberg over the rows).
    """
    from scipy import stats

    key = ["team", "annotator_id"] if "annotator_id" in scores.columns else ["team"]
    order = (scores[["session", "session_start"]].drop_duplicates("session")
             .sort_values(["session_start", "session"], kind="stable")["session"].tolist())
    rank = {s: i for i, s in enumerate(order)}
    tot_x = scores.groupby("session")["correct"].sum()
    tot_n = scores.groupby("session")["n_judgments"].sum()
    rows = []
    for k, sub in scores.groupby(key, sort=True):
        sub = sub.assign(_r=sub["session"].map(rank)).sort_values("_r")
        if len(sub) < min_sessions:
            continue
        x, n, s = (sub["correct"].to_numpy(float), sub["n_judgments"].to_numpy(float),
                   sub["_r"].to_numpy(float))
        ox = tot_x.reindex(sub["session"]).to_numpy(float) - x
        on = tot_n.reindex(sub["session"]).to_numpy(float) - n
        p_i = x / n
        if (on > 0).all():
            pt, po = (x + 0.5) / (n + 1), (ox + 0.5) / (on + 1)
            w = 1.0 / (pt * (1 - pt) / n + po * (1 - po) / on)
            d = p_i - ox / on
            sw = np.sum(w * s) / w.sum()
            den = np.sum(w * (s - sw) ** 2)
            slope = float(np.sum(w * (s - sw) * d) / den) if den > 0 else np.nan
            p = float(2 * stats.norm.sf(abs(slope) * np.sqrt(den))) if den > 0 else 1.0
        else:
            pbar = x.sum() / n.sum()
            sbar = np.sum(n * s) / n.sum()
            den = np.sum(n * (s - sbar) ** 2)
            slope = float(np.sum(n * (s - sbar) * (p_i - pbar)) / den) if den > 0 else np.nan
            p = float(cochran_armitage(x, n, s).p) if 0 < pbar < 1 and den > 0 else 1.0
        keys = dict(zip(key, k if isinstance(k, tuple) else (k,), strict=True))
        rows.append({**keys, "n_sessions": len(sub), "first": p_i[0], "last": p_i[-1],
                     "slope": slope, "p": p})
    out = pd.DataFrame(rows, columns=[*key, "n_sessions", "first", "last", "slope", "p"])
    out["q"] = adjust(out["p"].to_numpy()) if len(out) else []
    return out
