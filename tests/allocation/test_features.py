"""The labeler feature table recovers what the simulator planted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.allocation import labeler_features
from insights.cli import main


@pytest.fixture(scope="module")
def feats(sim):
    return labeler_features(sim.dataset())


def test_estimated_accuracy_tracks_true_accuracy(sim, feats):
    table = feats.annotators
    truth = sim.truth.true_accuracy.reindex(table.index)
    # annotators give 200-25 000 judgments; DS error on the accuracy is a few points, so the
    # ranking must be nearly the truth's
    assert np.corrcoef(truth, table["estimated_accuracy"])[0, 1] > 0.95
    inside = (table["accuracy_model_lo"] <= table["accuracy_model"]) & (
        table["accuracy_model"] <= table["accuracy_model_hi"])
    assert inside.all()


def test_recall_is_the_confusion_diagonal(sim, feats):
    bc = feats.by_class.set_index(["annotator_id", "class"])
    err = []
    for a, conf in sim.truth.confusions.items():
        if a not in feats.annotators.index:
            continue
        for k, cls in enumerate(sim.truth.label_set):
            err.append(abs(bc.loc[(a, cls), "recall"] - conf[k, k]))
    # rare classes (adult ~ 5 % of items) leave ~10-20 judgments per annotator and class:
    # sampling error ~0.1, so look at the median over all cells
    assert np.median(err) < 0.05
    assert ((feats.by_class["precision"] >= 0) & (feats.by_class["precision"] <= 1)).all()


def test_recent_trend_finds_the_planted_drop(sim, feats):
    drop = next(p for p in sim.truth.planted if p["effect"] == "accuracy_drop")
    by_team = feats.annotators.groupby("team")["recent_trend"].median()
    # the team loses ~15 points from week 7 of 12; the 28-day window is after the drop
    assert by_team[drop["team"]] < -0.07
    others = by_team.drop(drop["team"])
    assert (others.abs() < 0.04).all()


def test_time_and_cost_columns(sim, feats):
    t = feats.annotators
    assert (t["tenure_days"] >= 0).all() and (t["days_since_last"] >= 0).all()
    assert (t["throughput_per_active_day"] * t["active_days"]).round(6).equals(
        t["n_labels"].astype(float).round(6))
    assert (t["cost_per_correct"] >= t["cost_per_judgment"]).all()
    med = sim.labels.groupby("annotator_id")["handle_seconds"].median()
    assert np.allclose(t["median_handle_seconds"], med.reindex(t.index))
    q = feats.by_queue
    assert set(q["queue"]) == set(sim.labels["queue"])
    assert q["n_labels"].sum() == len(sim.labels)


def test_cli_features(sim, tmp_path):
    sim.write(tmp_path / "data")
    out = tmp_path / "features.csv"
    assert main(["features", str(tmp_path / "data"), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == sim.labels["annotator_id"].nunique()
    assert (tmp_path / "features_by_class.csv").exists()
    assert (tmp_path / "features_by_queue.csv").exists()
