"""A small hand-planted labeling operation with known truth (shared by the report tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CLASSES = ["hate", "ok", "spam"]


def write_operation(out: Path, *, markets=("AA", "BB"), n_items: int = 240, seed: int = 7,
                    item_text=None, extra_label: str | None = None) -> Path:
    """A tiny labeling operation with known truth, written in the data contract.

    Per market: three vendor teams of four annotators (``good`` ~95% accurate, ``mid`` ~85%,
    ``gap`` ~95% except that it labels 60% of 'hate' items as 'ok'), one model annotator that
    labels every item and calls 40% of 'spam' items 'ok', three human judgments per item,
    gold on a third of the items, judgments spread over five weeks starting on a Monday.
    ``item_text`` (a function of the item index) sets the items' text; ``extra_label`` adds a
    class whose name is used by one judgment and one gold answer.
    """
    rng = np.random.default_rng(seed)
    labels, gold, anns, items = [], [], [], []
    start = pd.Timestamp("2026-03-02", tz="UTC")  # a Monday
    for m in markets:
        teams = {"good": 0.95, "mid": 0.85, "gap": 0.95}
        members = {t: [f"{m}-{t}-{j}" for j in range(4)] for t in teams}
        for t, ids in members.items():
            anns += [{"annotator_id": a, "team": t, "market": m, "kind": "human",
                      "cost_per_label": 0.04} for a in ids]
        llm = f"{m}-llm"
        anns.append({"annotator_id": llm, "team": "model", "market": m, "kind": "model",
                     "cost_per_label": 0.001})
        truth = rng.choice(len(CLASSES), size=n_items, p=[0.3, 0.45, 0.25])
        for i in range(n_items):
            item = f"{m}-item-{i:04d}"
            t_true = truth[i]
            when = start + pd.Timedelta(minutes=int(rng.integers(0, 5 * 7 * 24 * 60)))
            text = item_text(i) if item_text else f"post {i} in {m}"
            items.append({"item_id": item, "market": m, "text": text})
            if i % 3 == 0:
                gold.append({"item_id": item, "label": CLASSES[t_true]})
            chosen = rng.choice([a for ids in members.values() for a in ids], size=3,
                                replace=False)
            for a in chosen:
                team = a.split("-")[1]
                if team == "gap" and t_true == 0 and rng.random() < 0.6:
                    lab = 1
                elif rng.random() < teams[team]:
                    lab = t_true
                else:
                    lab = int(rng.choice([c for c in range(3) if c != t_true]))
                labels.append({"item_id": item, "annotator_id": a, "label": CLASSES[lab],
                               "market": m, "team": team, "labeled_at": when.isoformat(),
                               "handle_seconds": float(rng.gamma(4, 5))})
            lab = 1 if (t_true == 2 and rng.random() < 0.4) else t_true
            labels.append({"item_id": item, "annotator_id": llm, "label": CLASSES[lab],
                           "market": m, "team": "model", "labeled_at": when.isoformat(),
                           "handle_seconds": 0.1})
    if extra_label:
        labels[0]["label"] = extra_label
        gold[0]["label"] = extra_label
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(labels).to_csv(out / "labels.csv", index=False)
    pd.DataFrame(gold).to_csv(out / "gold.csv", index=False)
    pd.DataFrame(anns).to_csv(out / "annotators.csv", index=False)
    pd.DataFrame(items).to_csv(out / "items.csv", index=False)
    return out
