"""The Confidence section: calibration against gold, team accuracy, re-review list."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.report.sections.confidence import calibration_sentence, gold_calibration


def test_confidence_section_calibrates_against_gold(report):
    cs = report.sections["confidence"].data["summary"]
    cal = cs.calibration
    assert {"majority", "dawid-skene", "hierarchical"} <= set(cal.index)
    ds = report.dataset
    n_gold = ds.gold["item_id"].isin(ds.labels["item_id"]).sum()
    assert (cal["n"] == n_gold).all()
    assert ((0 <= cal["errors_caught"]) & (cal["errors_caught"] <= cal["errors_total"])).all()
    # posteriors that did not see the gold: majority vote errs on some gold items
    # (3 judgments per item, one 85%-accurate team: about 5% of items)
    assert cal.loc["majority", "accuracy"] < 1.0
    assert cal.loc["hierarchical", "accuracy"] >= cal.loc["majority", "accuracy"]
    assert set(cs.reliability) == set(cal.index)
    t = cs.teams
    assert t["accuracy"].is_monotonic_decreasing
    assert "model" not in set(t["team"])  # the LLM's team is not a vendor team
    p = t["p_more_accurate_than_next"].dropna()
    assert ((0 <= p) & (p <= 1)).all() and len(p) == len(t) - 1
    r = cs.review
    assert not set(r["item_id"]) & set(ds.gold["item_id"])
    assert r["expected_errors_removed"].is_monotonic_decreasing
    assert r["text"].str.startswith("post ").all()
    items = report.sections["confidence"].data["tables"]["item_confidence"]
    assert items["confidence_lower"].le(items["confidence_hierarchical"] + 1e-9).all()
    assert len(items) == report.sections["scale"].data["numbers"]["items"]
    np.testing.assert_allclose(items.filter(like="p_").to_numpy().sum(axis=1), 1.0, atol=1e-9)
    text = calibration_sentence(cs)
    h = cal.loc["hierarchical"]
    assert f"On {int(h['n']):,} gold items" in text and f"{h['accuracy']:.1%}" in text
    assert f"catch {int(h['errors_caught'])} of its {int(h['errors_total'])} errors" in text


def test_unclamped_posteriors_leave_gold_out(report):
    post = report.context.posterior
    free = post.unclamped().to_numpy()
    np.testing.assert_allclose(free.sum(axis=1), 1.0, atol=1e-9)
    gold = post.enc.gold >= 0
    assert np.allclose(post.probas[gold].max(axis=1), 1.0)
    assert free[gold].max(axis=1).min() < 0.99
    assert (free[~gold].argmax(axis=1) == post.labels[~gold]).mean() > 0.99


def test_gold_calibration_step_fixes_overconfidence_out_of_sample():
    """Posteriors that claim 95 % but are right 75 % of the time: the gold-fitted step, scored
    by cross-fitting on gold it did not see, brings the calibration error from ~0.2 to the
    sampling noise of 600 items (~0.03)."""
    from insights.confidence import calibration_table

    rng = np.random.default_rng(5)
    n, classes = 600, ["a", "b", "c"]
    truth = pd.Series(rng.choice(classes, n), index=[f"i{k}" for k in range(n)])
    stated = rng.uniform(0.9, 1.0, n)
    right = rng.random(n) < stated - 0.2
    chosen = np.where(right, truth.to_numpy(),
                      [rng.choice([c for c in classes if c != t]) for t in truth])
    p = np.full((n, 3), 0.0)
    for k, c in enumerate(classes):
        p[:, k] = np.where(chosen == c, stated, (1 - stated) / 2)
    probas = pd.DataFrame(p, index=truth.index, columns=classes)
    calibrator, cross = gold_calibration(probas, truth, seed=0)
    table = calibration_table({"raw": probas, "calibrated": cross}, truth)
    assert table.loc["raw", "ece"] > 0.15
    assert table.loc["calibrated", "ece"] < 0.05
    assert (calibrator.transform(probas).idxmax(axis=1) == probas.idxmax(axis=1)).all()
