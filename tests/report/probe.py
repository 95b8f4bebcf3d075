"""Test helpers of the runner tests: a params folder and a seconds-fast probe notebook."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

#: Parameters that keep a test report small and fast (every key a ReportParams field).
SMALL = {"since": "", "until": "", "weeks": 8, "n_examples": 2, "n_review": 5, "horizon": 2,
         "cost_per_label": 0.05}


def make_params(root: Path, data_source: Path | str, markets: list[str], **extra) -> Path:
    """A params folder: ``defaults.yaml`` pointing at ``data_source`` (+ ``extra``; the
    pseudonym key in ``root``, never the user's), one ``<M>.yaml`` per market."""
    params = root / "params"
    params.mkdir(parents=True, exist_ok=True)
    defaults = {**SMALL, "data_source": str(data_source),
                "pseudonym_key_file": str(root / "pseudonym.key"), **extra}
    (params / "defaults.yaml").write_text(yaml.safe_dump(defaults))
    for m in markets:
        (params / f"{m}.yaml").write_text(yaml.safe_dump({"market": m}))
    return params


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
