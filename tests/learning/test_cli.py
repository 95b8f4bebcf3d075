"""``insights learn``, ``predict`` and ``gaps`` end to end on a small simulated operation."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from insights import synthetic
from insights.cli import main


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    sim = synthetic.simulate("small", seed=3, n_features=3, feature_signal=1.5)
    sim.write(root / "data")
    # a held-out test set: a fifth of the items with their true class, judgments dropped
    test_ids = sim.items["item_id"].iloc[::5]
    lab = sim.labels[~sim.labels["item_id"].isin(test_ids)]
    lab.to_csv(root / "train_labels.csv", index=False)
    test = sim.items[sim.items["item_id"].isin(test_ids)].copy()
    test["label"] = sim.truth.true_labels.reindex(test["item_id"]).to_numpy()
    test.to_csv(root / "test.csv", index=False)
    return root, sim


def test_learn_predict_outputs(small, capsys):
    root, sim = small
    out = root / "learn"
    rc = main(["learn", str(root / "train_labels.csv"), "--items", str(root / "data/items.csv"),
               "--text-column", "text", "--gold", str(root / "data/gold.csv"),
               "--test", str(root / "test.csv"), "--method", "soft", "--out", str(out)])
    assert rc == 0
    for name in ("oof.csv", "consensus.csv", "relabel.csv", "model.skops", "model.json",
                 "metrics.json"):
        assert (out / name).exists(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["method"] == "soft"
    # the text hints at the class in ~95 % of items: a model far above the 5-class majority
    assert m["test_accuracy"] > 80
    for key in ("majority_vote", "dawid_skene", "train_gold"):
        assert 0 <= m["baselines"][key]["test_accuracy"] <= 100
    relabel = pd.read_csv(out / "relabel.csv")
    assert set(relabel["status"]) == {"labeled", "unlabeled"}  # the test items have no labels
    assert relabel["value"].is_monotonic_decreasing
    pred_file = root / "pred.csv"
    assert main(["predict", str(out), str(root / "test.csv"), "--out", str(pred_file)]) == 0
    pred = pd.read_csv(pred_file)
    test = pd.read_csv(root / "test.csv")
    assert (pred["label"] == test["label"]).mean() * 100 == pytest.approx(m["test_accuracy"],
                                                                           abs=0.01)


def test_learn_on_feature_columns_glob(small):
    root, _ = small
    out = root / "learn_f"
    assert main(["learn", str(root / "train_labels.csv"), "--items",
                 str(root / "data/items.csv"), "--feature-columns", "f*", "--method",
                 "majority", "--out", str(out)]) == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["feature_columns"] == ["f1", "f2", "f3"]


def test_errors_are_one_line(small, capsys):
    root, _ = small
    rc = main(["learn", str(root / "train_labels.csv"), "--items",
               str(root / "data/items.csv"), "--feature-columns", "g*", "--out",
               str(root / "x")])
    assert rc == 1
    err = capsys.readouterr().err.strip()
    assert "'g*' matches no column" in err and "\n" not in err
    assert main(["predict", str(root / "nowhere"), str(root / "test.csv"), "--out",
                 str(root / "p.csv")]) == 1


def test_gaps_command(small, capsys):
    root, _ = small
    out = root / "gaps"
    assert main(["gaps", str(root / "data"), "--annotator", "llm-judge", "--out", str(out)]) == 0
    assert "adult" in capsys.readouterr().out  # the planted adult -> ok blind spot
    for name in ("gaps.csv", "examples.csv", "examples.jsonl", "trainset.csv",
                 "trainset.jsonl", "summary.json"):
        assert (out / name).exists(), name


def test_parser_method_choices_match_the_package():
    """The CLI writes the methods out (building the parser must not import scikit-learn)."""
    import subprocess
    import sys

    from insights import learning
    from insights.cli import learning as cli_learning

    assert cli_learning.METHODS == tuple(learning.METHODS)
    assert cli_learning.DEFAULT_METHOD == learning.DEFAULT_METHOD
    code = ("import sys; from insights.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'pymc')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
