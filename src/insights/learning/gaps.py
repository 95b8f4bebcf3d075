"""LLM decision-gap pack: where a model annotator departs from confident human consensus.

For a model annotator ``M`` (e.g. an LLM judge):

1. The human consensus leaves every model out: :class:`~insights.reliability.DawidSkene` fitted
   on the human judgments only.
2. Each judge is compared with a consensus it did not shape. ``M`` never enters it; for a
   human judgment the consensus is the leave-that-judgment-out posterior
   :math:`p_{-r}(t) \\propto p(t) / \\pi_j[t, y_r]` (one division per judgment, the
   confusion matrices held at their fitted values).
3. Only confident consensus counts: posterior of the consensus class >= ``min_confidence``.
4. Per cell (consensus class ``c`` -> answer ``a != c``), the model's rate
   :math:`x_M/n_M` against the humans' own rate :math:`x_H/n_H`, Wilson intervals for both, a
   one-sided Fisher exact test (is the model's rate higher?) and Benjamini-Hochberg q-values
   across all cells. A *gap* is a cell with ``q <= fdr`` and a model rate above the humans'.
5. Examples: the model's judgments in gap cells, with the item's content, ranked by
   consensus confidence; and a training/evaluation set of confident consensus items with their
   soft labels. Both export to CSV and JSON Lines for the algorithm team.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from insights import _io
from insights.data import Dataset, as_encoded
from insights.reliability import DawidSkene
from insights.reliability.em import safe_log
from insights.stats import wilson_interval
from insights.trends.fdr import bh

__all__ = ["GapPack", "gap_pack", "GAP_COLUMNS"]

GAP_COLUMNS = ["consensus_label", "model_label", "model_n", "model_count", "model_rate",
               "model_low", "model_high", "human_n", "human_count", "human_rate",
               "human_low", "human_high", "p", "q", "gap"]


@dataclass
class GapPack:
    """The gap pack of one model annotator.

    Attributes
    ----------
    annotator : str
    cells : DataFrame
        :data:`GAP_COLUMNS`, one row per (consensus class -> other answer), gaps first
        (by q), then the rest by the model's rate.
    examples : DataFrame
        The model's judgments in gap cells: ``item_id``, ``consensus_label``,
        ``model_label``, ``consensus_confidence``, ``n_human_labels``, ``gold`` and the
        content columns; ranked by consensus confidence (descending).
    trainset : DataFrame
        Confident consensus items: ``item_id``, ``label``, ``confidence``, ``p_<class>``,
        ``n_human_labels``, ``model_label`` (the model's answer, if it judged the item) and
        the content columns.
    summary : dict
        Counts, parameters, the gaps in plain words.
    """

    annotator: str
    cells: pd.DataFrame
    examples: pd.DataFrame
    trainset: pd.DataFrame
    summary: dict = field(default_factory=dict)

    @property
    def gaps(self) -> pd.DataFrame:
        """The cells found to be gaps."""
        return self.cells[self.cells["gap"]]

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``gaps.csv``, ``examples.csv``/``.jsonl``, ``trainset.csv``/``.jsonl`` and
        ``summary.json`` (each atomically) into ``out_dir``."""
        out = Path(out_dir)
        written = {"gaps": _io.write_table(self.cells, out / "gaps.csv")}
        for name in ("examples", "trainset"):
            frame = getattr(self, name)
            written[name] = _io.write_table(frame, out / f"{name}.csv")
            written[f"{name}_jsonl"] = _io.write_text(out / f"{name}.jsonl", _jsonl(frame))
        written["summary"] = _io.write_text(out / "summary.json",
                                            json.dumps(self.summary, indent=2) + "\n")
        return written


def _jsonl(frame: pd.DataFrame) -> str:
    if len(frame) == 0:
        return ""
    text = frame.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    return text.rstrip("\n") + "\n"


def gap_pack(labels, annotator: str, *, items: pd.DataFrame | None = None,
             annotators: pd.DataFrame | None = None, gold: pd.DataFrame | None = None,
             content_columns: list[str] | None = None, min_confidence: float = 0.9,
             fdr: float = 0.05, max_examples: int | None = 200) -> GapPack:
    """Build the decision-gap pack of model annotator ``annotator``.

    Parameters
    ----------
    labels : DataFrame or Dataset
        The judgment log (a Dataset brings its items, annotators and gold).
    annotator : str
        The model annotator's id.
    items : DataFrame, optional
        ``item_id`` and content (``text`` by default) shown with the examples.
    annotators : DataFrame, optional
        ``annotator_id``, ``kind``: every ``kind == "model"`` annotator is left out of the
        human consensus (``annotator`` always is).
    gold : DataFrame, optional
        Shown beside the examples (never used to fit the consensus).
    content_columns : list of str, optional
        Item columns copied to the examples and the training set (default: ``text`` when
        present).
    min_confidence : float, default 0.9
        Consensus posterior needed for an item (or a human judgment's leave-one-out
        consensus) to count.
    fdr : float, default 0.05
        Benjamini-Hochberg false-discovery rate for calling a cell a gap.
    max_examples : int or None, default 200
        Examples kept (None: all).

    Returns
    -------
    GapPack
    """
    if isinstance(labels, Dataset):
        items = labels.items if items is None else items
        annotators = labels.annotators if annotators is None else annotators
        gold = labels.gold if gold is None else gold
        classes = labels.label_set
        labels = labels.labels
    else:
        classes = None
    if not 0.5 <= min_confidence < 1.0:
        raise ValueError(f"min_confidence must be in [0.5, 1), got {min_confidence!r}")
    enc = as_encoded(labels, classes=classes)
    ann_ids = pd.Index(enc.annotator_ids)
    m = ann_ids.get_indexer([annotator])[0]
    if m < 0:
        raise ValueError(f"labels: annotator {annotator!r} has no judgments; annotators with "
                         f"the most are {list(pd.Series(enc.annotator).value_counts().index[:5].map(lambda j: enc.annotator_ids[j]))}")
    is_model = np.zeros(enc.n_annotators, bool)
    is_model[m] = True
    if annotators is not None and "kind" in annotators.columns:
        kinds = annotators.set_index("annotator_id")["kind"].reindex(ann_ids)
        is_model |= (kinds == "model").to_numpy()
    human = ~is_model[enc.annotator]
    lab = labels.iloc[np.flatnonzero(human)] if human.any() else None
    if lab is None or len(lab) == 0:
        raise ValueError("labels: no human judgments to form a consensus")
    K = enc.n_classes
    cls = np.asarray(enc.classes, dtype=object)
    ds = DawidSkene().fit(lab, classes=list(cls))
    post = ds.probas_  # human items x class
    P = post.to_numpy()
    item_pos = post.index.get_indexer(pd.Index(enc.item_ids))  # enc item -> post row (-1)
    # the model's judgments on items with a human consensus
    mj = np.flatnonzero(enc.annotator == m)
    mj = mj[item_pos[enc.item[mj]] >= 0]
    rows_m = item_pos[enc.item[mj]]
    cons_m, conf_m = P[rows_m].argmax(1), P[rows_m].max(1)
    ok_m = conf_m >= min_confidence
    # human judgments against their leave-one-out consensus
    hj = np.flatnonzero(human)
    rows_h = item_pos[enc.item[hj]]
    dj = pd.Index(ds.annotator_ids_).get_indexer(enc.annotator_ids[enc.annotator[hj]])
    log_loo = safe_log(P[rows_h]) - safe_log(ds.confusions_[dj, :, enc.label[hj]])
    log_loo -= log_loo.max(axis=1, keepdims=True)
    loo = np.exp(log_loo)
    loo /= loo.sum(axis=1, keepdims=True)
    cons_h, conf_h = loo.argmax(1), loo.max(1)
    ok_h = conf_h >= min_confidence
    nM = np.bincount(cons_m[ok_m] * K + enc.label[mj][ok_m], minlength=K * K).reshape(K, K)
    nH = np.bincount(cons_h[ok_h] * K + enc.label[hj][ok_h], minlength=K * K).reshape(K, K)
    recs = []
    for c in range(K):
        for a in range(K):
            if a == c:
                continue
            xm, n_m, xh, n_h = nM[c, a], nM[c].sum(), nH[c, a], nH[c].sum()
            if n_m == 0:
                continue
            p = (stats.fisher_exact([[xm, n_m - xm], [xh, n_h - xh]],
                                    alternative="greater").pvalue if n_h > 0 else np.nan)
            recs.append((cls[c], cls[a], n_m, xm, n_h, xh, p))
    cells = pd.DataFrame(recs, columns=["consensus_label", "model_label", "model_n",
                                        "model_count", "human_n", "human_count", "p"])
    cells = _finish_cells(cells, fdr)
    n_hum_item = np.bincount(enc.item[hj], minlength=enc.n_items)
    content = _content(items, content_columns)
    examples = _examples(enc, cells, mj, rows_m, cons_m, conf_m, ok_m, cls, post, n_hum_item,
                         gold, content, max_examples)
    trainset = _trainset(post, min_confidence, enc, m, n_hum_item, content)
    gaps = cells[cells["gap"]]
    summary = {
        "annotator": annotator,
        "min_confidence": min_confidence,
        "fdr": fdr,
        "model_judgments": int(mj.size),
        "model_judgments_on_confident_items": int(ok_m.sum()),
        "human_judgments_on_confident_items": int(ok_h.sum()),
        "model_agreement_on_confident_items": (float((enc.label[mj][ok_m] == cons_m[ok_m])
                                                     .mean()) if ok_m.any() else None),
        "human_agreement_on_confident_items": (float((enc.label[hj][ok_h] == cons_h[ok_h])
                                                     .mean()) if ok_h.any() else None),
        "n_gaps": int(len(gaps)),
        "gaps": [
            {"consensus_label": r.consensus_label, "model_label": r.model_label,
             "model_rate": float(r.model_rate), "human_rate": float(r.human_rate),
             "q": float(r.q),
             "text": (f"When confident human consensus says {r.consensus_label!r}, "
                      f"{annotator} answers {r.model_label!r} {100 * r.model_rate:.0f} % of "
                      f"the time (95 % CI {100 * r.model_low:.0f}-{100 * r.model_high:.0f} %) "
                      f"against {100 * r.human_rate:.1f} % for the humans (q = {r.q:.2g}).")}
            for r in gaps.itertuples()],
        "n_trainset": int(len(trainset)),
    }
    return GapPack(annotator=annotator, cells=cells, examples=examples, trainset=trainset,
                   summary=summary)


def _finish_cells(cells: pd.DataFrame, fdr: float) -> pd.DataFrame:
    cells["model_rate"] = cells["model_count"] / cells["model_n"]
    cells["human_rate"] = cells["human_count"] / cells["human_n"].where(cells["human_n"] > 0)
    cells["model_low"], cells["model_high"] = wilson_interval(cells["model_count"].to_numpy(),
                                                              cells["model_n"].to_numpy())
    cells["human_low"], cells["human_high"] = wilson_interval(cells["human_count"].to_numpy(),
                                                              cells["human_n"].to_numpy())
    p = cells["p"].to_numpy(dtype=float)
    q = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        q[tested] = bh(p[tested])
    cells["q"] = q
    cells["gap"] = (cells["q"] <= fdr) & (cells["model_rate"] > cells["human_rate"])
    cells = cells.sort_values(["gap", "q", "model_rate"], ascending=[False, True, False],
                              kind="stable", na_position="last")
    return cells[GAP_COLUMNS].reset_index(drop=True)


def _content(items: pd.DataFrame | None, columns: list[str] | None) -> pd.DataFrame | None:
    if items is None:
        return None
    if columns is None:
        columns = [c for c in ("text",) if c in items.columns]
    missing = [c for c in columns if c not in items.columns]
    if missing:
        raise ValueError(f"items: missing content column {missing[0]!r}; columns are "
                         f"{list(items.columns)}")
    return items.drop_duplicates("item_id").set_index("item_id")[columns]


def _examples(enc, cells, mj, rows_m, cons_m, conf_m, ok_m, cls, post, n_hum_item, gold,
              content, max_examples) -> pd.DataFrame:
    gap_pairs = {(r.consensus_label, r.model_label) for r in cells[cells["gap"]].itertuples()}
    sel = np.array([ok and (cls[c], cls[a]) in gap_pairs
                    for ok, c, a in zip(ok_m, cons_m, enc.label[mj], strict=True)], dtype=bool)
    idx = mj[sel] if mj.size else mj
    ex = pd.DataFrame({
        "item_id": enc.item_ids[enc.item[idx]],
        "consensus_label": cls[cons_m[sel]] if sel.any() else np.array([], dtype=object),
        "model_label": cls[enc.label[idx]],
        "consensus_confidence": conf_m[sel],
        "n_human_labels": n_hum_item[enc.item[idx]],
    })
    if gold is not None and len(gold):
        g = gold.drop_duplicates("item_id").set_index("item_id")["label"].astype(str)
        ex["gold"] = g.reindex(ex["item_id"]).to_numpy()
    if content is not None:
        for c in content.columns:
            ex[c] = content[c].reindex(ex["item_id"]).to_numpy()
    ex = ex.sort_values(["consensus_confidence", "n_human_labels", "item_id"],
                        ascending=[False, False, True], kind="stable").reset_index(drop=True)
    return ex if max_examples is None else ex.head(max_examples)


def _trainset(post: pd.DataFrame, min_confidence, enc, m, n_hum_item, content) -> pd.DataFrame:
    P = post.to_numpy()
    keep = P.max(1) >= min_confidence
    ids = post.index.to_numpy(dtype=object)[keep]
    cls = np.asarray(post.columns, dtype=object)
    out = pd.DataFrame({"item_id": ids, "label": cls[P[keep].argmax(1)],
                        "confidence": P[keep].max(1)})
    for k, c in enumerate(cls):
        out[f"p_{c}"] = P[keep, k]
    pos = pd.Index(enc.item_ids).get_indexer(ids)
    out["n_human_labels"] = n_hum_item[pos]
    mj = np.flatnonzero(enc.annotator == m)
    model_ans = pd.Series(cls[enc.label[mj]], index=enc.item_ids[enc.item[mj]])
    model_ans = model_ans[~model_ans.index.duplicated(keep="last")]
    out["model_label"] = model_ans.reindex(ids).to_numpy()
    if content is not None:
        for c in content.columns:
            out[c] = content[c].reindex(ids).to_numpy()
    return out
