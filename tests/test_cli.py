"""The command line as DESIGN.md writes it: outputs, exit status, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from insights import synthetic
from insights.cli import main


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    assert main(["simulate", "--scenario", "small", "--seed", "3", "--out", str(out)]) == 0
    return out


def test_simulate_writes_the_tables_and_truth(sim_dir):
    for name in ("labels.csv", "gold.csv", "annotators.csv", "items.csv"):
        assert (sim_dir / name).stat().st_size > 0
    sim = synthetic.simulate("small", seed=3)
    labels = pd.read_csv(sim_dir / "labels.csv", dtype=str)
    assert len(labels) == len(sim.labels)


def test_validate_ok(sim_dir, capsys):
    assert main(["validate", str(sim_dir)]) == 0
    out = capsys.readouterr().out
    assert "ok:" in out and "fingerprint: sha256:" in out


def test_validate_reports_one_line_reason(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("item_id,annotator_id,label\ni1,a1,ok\ni2,,ok\n")
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "row 2" in err and "annotator_id" in err


def test_validate_declared_label_set(sim_dir, capsys):
    assert main(["validate", str(sim_dir), "--label-set", "ok,spam"]) == 1
    assert "not in the label set" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["majority", "dawid-skene", "hierarchical", None])
def test_aggregate_output_contract(sim_dir, tmp_path, method):
    out = tmp_path / "agg.csv"
    args = ["aggregate", str(sim_dir), "--out", str(out)]
    if method:
        args += ["--method", method]
    assert main(args) == 0
    table = pd.read_csv(out, dtype={"item_id": str, "label": str})
    pcols = [c for c in table.columns if c.startswith("p_")]
    assert list(table.columns[:3]) == ["item_id", "label", "confidence"] and pcols
    np.testing.assert_allclose(table[pcols].sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(table["confidence"], table[pcols].max(axis=1))
    truth = pd.read_csv(sim_dir / "truth_labels.csv", dtype=str).set_index("item_id")["label"]
    acc = (table.set_index("item_id")["label"] == truth.reindex(table["item_id"]).to_numpy()).mean()
    assert acc > 0.8   # small scenario, 1-5 labels per item from mostly competent annotators


def test_aggregate_parquet_and_unknown_method(sim_dir, tmp_path, capsys):
    assert main(["aggregate", str(sim_dir), "--out", str(tmp_path / "a.parquet")]) == 0
    assert len(pd.read_parquet(tmp_path / "a.parquet")) > 0
    assert main(["aggregate", str(sim_dir), "--method", "nope", "--out",
                 str(tmp_path / "b.csv")]) == 1
    assert "nope" in capsys.readouterr().err
    assert not (tmp_path / "b.csv").exists()


def test_annotators_table(sim_dir, tmp_path):
    out = tmp_path / "ann.csv"
    assert main(["annotators", str(sim_dir), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    for col in ("annotator_id", "team", "market", "n_labels", "accuracy_gold", "quality"):
        assert col in table.columns
    assert table["n_labels"].sum() == len(pd.read_csv(sim_dir / "labels.csv"))


def test_module_entry_point_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "insights", "validate", str(tmp_path / "none")],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_trends_findings_table(tmp_path):
    sim_dir = tmp_path / "default"
    assert main(["simulate", "--seed", "1", "--out", str(sim_dir)]) == 0
    out = tmp_path / "findings.csv"
    assert main(["trends", str(sim_dir), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    for col in ("p", "q", "sentence"):
        assert col in table.columns
    assert (table["q"] <= 0.05).all()
    # the default scenario plants an accuracy drop for team DE-T2
    assert table["sentence"].str.contains("DE-T2").any()


def test_trends_without_gold_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text(
        "item_id,annotator_id,label,labeled_at\ni1,a1,ok,2026-03-02T10:00:00Z\n")
    assert main(["trends", str(tmp_path), "--out", str(tmp_path / "f.csv")]) == 1
    assert "gold" in capsys.readouterr().err
