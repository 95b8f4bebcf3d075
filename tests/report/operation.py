"""Test helpers for the report runner: a tiny planted operation and a params folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CLASSES = ["hate", "ok", "spam"]
#: Parameters that keep a test report small and fast (every key a ReportParams field).
SMALL = {"since": "", "until": "", "weeks": 8, "n_examples": 2, "n_review": 5, "horizon": 2,
         "cost_per_label": 0.05}


def make_params(root: Path, data_source: Path | str, markets: list[str], **extra) -> Path:
    """A params folder: ``defaults.yaml`` pointing at ``data_source`` (+ ``extra``), one
    ``<M>.yaml`` per market."""
    params = root / "params"
    params.mkdir(parents=True, exist_ok=True)
    defaults = {**SMALL, "data_source": str(data_source), **extra}
    (params / "defaults.yaml").write_text(yaml.safe_dump(defaults))
    for m in markets:
        (params / f"{m}.yaml").write_text(yaml.safe_dump({"market": m}))
    return params


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


PROBE_SOURCE = '''\
import json, time
from pathlib import Path

import pandas as pd

labels = pd.read_csv(Path(data_source) / "labels.csv", dtype=str)
mine = labels[labels["market"] == market] if "market" in labels.columns else labels
for _, row in mine.iterrows():
    if row["label"] == "BOOM":
        raise ValueError(f"judgment by {row['annotator_id']} on {row['item_id']} is BOOM")
    if row["label"] == "SLEEP":
        time.sleep(120)
if tables_dir:
    Path(tables_dir).mkdir(parents=True, exist_ok=True)
    summary = {"period": "probe period", "fingerprint": "f" * 64, "flags": [],
               "scale": {"items": int(mine["item_id"].nunique()), "judgments": len(mine)}}
    (Path(tables_dir) / "summary.json").write_text(json.dumps(summary))
print(f"{market}: {len(mine)} judgments")
'''
#: Headings whose ids nbconvert percent-encodes or strips markup from.
PROBE_HEADINGS = ["Scale and quality at a glance", "Ünïcode & «quotes», 50% <i>sure</i>",
                  "Costs (in *USD*)"]


def write_probe_notebook(root: Path) -> Path:
    """``<root>/notebooks/market_report.ipynb``: a seconds-fast stand-in for the report
    notebook that exercises the runner. It reads ``<data_source>/labels.csv``, raises naming
    the annotator when one of its market's labels is ``BOOM``, sleeps 120 s on ``SLEEP``,
    writes ``summary.json`` to ``tables_dir`` and has the :data:`PROBE_HEADINGS`."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from insights.report.params import ReportParams

    params = new_code_cell("\n".join(f"{k} = {v!r}" for k, v in
                                     ReportParams().notebook_parameters().items()))
    params.metadata["tags"] = ["parameters"]
    cells = [new_markdown_cell("# Probe report"), params, new_code_cell(PROBE_SOURCE)]
    for h in PROBE_HEADINGS:
        cells += [new_markdown_cell(f"## {h}\n\nText."), new_code_cell("print('shown')")]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                            "display_name": "Python 3",
                                                            "language": "python"}})
    path = root / "notebooks" / "market_report.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def write_probe_log(out: Path, rows: dict[str, list[str]]) -> Path:
    """``<out>/labels.csv`` with, per market, one judgment per given label (annotator
    ``<M>-ann-<i>``)."""
    out.mkdir(parents=True, exist_ok=True)
    recs = [{"item_id": f"{m}-item-{i}", "annotator_id": f"{m}-ann-{i}", "label": lab,
             "market": m} for m, labs in rows.items() for i, lab in enumerate(labs)]
    pd.DataFrame(recs).to_csv(out / "labels.csv", index=False)
    return out
