"""Calibration sessions on a hand-computed fixture; Fleiss' kappa against statsmodels."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

from insights.data import Dataset
from insights.operations.calibration import (
    calibration_judgments,
    calibration_scores,
    calibration_trend,
    disagreement_classes,
    disagreement_items,
    kappa_interval,
    session_agreement,
)

T0 = pd.Timestamp("2026-02-02 10:00", tz="UTC")

# expert: i1 ok, i2 ok, i3 spam, i4 spam; a1, a2 in team A, a3 in team B
VOTES = {"i1": ("ok", "ok", "ok"), "i2": ("ok", "spam", "ok"),
         "i3": ("spam", "spam", "ok"), "i4": ("spam", "ok", "ok")}
EXPERT = {"i1": "ok", "i2": "ok", "i3": "spam", "i4": "spam"}


def _dataset(session_column=True):
    rows = [(item, f"a{k + 1}", lab, "A" if k < 2 else "B", "DE", T0)
            for item, labs in VOTES.items() for k, lab in enumerate(labs)]
    labels = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label", "team", "market",
                                         "labeled_at"])
    # a benchmark gold item that is not part of the session
    labels.loc[len(labels)] = ("b1", "a1", "ok", "A", "DE", T0)
    gold = pd.DataFrame({"item_id": [*EXPERT, "b1"], "label": [*EXPERT.values(), "ok"],
                         "source": ["calibration"] * 4 + ["benchmark"],
                         "decided_at": [T0 + pd.Timedelta(hours=2)] * 5})
    if session_column:
        gold["session"] = ["S1"] * 4 + [None]
    return Dataset(labels=labels, gold=gold, label_set=["ok", "spam"])


@pytest.fixture(scope="module")
def cal():
    return calibration_judgments(_dataset())


def test_judgments_only_calibration_items(cal):
    assert len(cal) == 12 and set(cal["session"]) == {"S1"}
    # without a session column the session is decided_at's date
    assert set(calibration_judgments(_dataset(False))["session"]) == {"2026-02-02"}


def test_annotator_and_team_accuracy_by_hand(cal):
    ann = calibration_scores(cal, "annotator").set_index("annotator_id")
    assert ann["correct"].to_dict() == {"a1": 4, "a2": 2, "a3": 2}
    assert ann.loc["a2", "accuracy"] == 0.5
    lo, hi = proportion_confint(2, 4, method="wilson")
    assert ann.loc["a2", "accuracy_lo"] == pytest.approx(lo)
    assert ann.loc["a2", "accuracy_hi"] == pytest.approx(hi)
    # each rater has 2 others on each of 4 items; a1 agrees with i1:2, i2:1, i3:1, i4:0
    assert ann.loc["a1", "peer_pairs"] == 8 and ann.loc["a1", "peer_agree"] == 4
    team = calibration_scores(cal, "team").set_index("team")
    assert team.loc["A", "correct"] == 6 and team.loc["A", "n_judgments"] == 8
    assert team.loc["B", "accuracy"] == 0.5
    # team A (a1, a2): counts (2,0), (1,1), (0,2), (1,1): P = 1/2, p_e = 1/2 -> kappa 0
    assert team.loc["A", "kappa"] == pytest.approx(0.0)
    assert np.isnan(team.loc["B", "kappa"])          # one rater: no pairs


def test_session_kappa_by_hand(cal):
    s = session_agreement(cal).iloc[0]
    # P_i = 1, 1/3, 1/3, 1/3 -> P = 1/2; p = (2/3, 1/3) -> p_e = 5/9; kappa = -1/8
    assert s["kappa"] == pytest.approx(-0.125)
    assert s["complete"] and s["n_items"] == 4 and s["n_annotators"] == 3
    assert s["accuracy"] == pytest.approx(8 / 12)
    assert s["kappa_lo"] <= s["kappa"] <= s["kappa_hi"]


def test_session_kappa_equals_statsmodels():
    # complete sessions: every rater rates every item, so Fleiss (1971) applies exactly
    rng = np.random.default_rng(7)
    for n_items, n_raters, k in ((12, 5, 3), (30, 8, 5), (7, 3, 2)):
        truth = rng.integers(0, k, n_items)
        labs = np.where(rng.random((n_items, n_raters)) < 0.7, truth[:, None],
                        rng.integers(0, k, (n_items, n_raters)))
        cal = pd.DataFrame({
            "session": "S", "session_start": T0,
            "item_id": np.repeat([f"i{i}" for i in range(n_items)], n_raters),
            "annotator_id": np.tile([f"a{j}" for j in range(n_raters)], n_items),
            "team": "A", "market": "DE", "label": labs.ravel().astype(str),
            "expert": np.repeat(truth.astype(str), n_raters)})
        cal["correct"] = cal["label"] == cal["expert"]
        counts = np.stack([np.bincount(r, minlength=k) for r in labs])
        ours = session_agreement(cal, [str(c) for c in range(k)])["kappa"].iat[0]
        assert ours == pytest.approx(sm_fleiss_kappa(counts, method="fleiss"), abs=1e-12)


def test_kappa_interval_reproducible_and_covers():
    counts = np.array([[3, 0], [2, 1], [0, 3], [3, 0], [1, 2], [0, 3]])
    a = kappa_interval(counts, seed=3)
    assert a == kappa_interval(counts, seed=3)
    assert a[1] <= a[0] <= a[2]


def test_disagreement_items_and_classes(cal):
    items = disagreement_items(cal, top=None)
    # i2, i3, i4: 1 - 2/6 = 2/3; i4 has the fewest votes for the expert's answer (1 of 3)
    assert items["item_id"].tolist() == ["i4", "i2", "i3", "i1"]
    assert items["disagreement"].tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 0.0])
    assert items["votes"].iat[0] == "ok x2, spam x1"
    cls = disagreement_classes(cal).set_index("expert")
    assert cls.index.tolist() == ["spam", "ok"]          # least accurate first
    assert cls.loc["spam", "accuracy"] == 0.5 and cls.loc["ok", "accuracy"] == pytest.approx(5 / 6)
    assert cls.loc["spam", "top_wrong"] == "ok" and cls.loc["spam", "top_wrong_share"] == 0.5


def _scores(correct, teams):
    n = len(correct) // len(teams)
    return pd.DataFrame({
        "session": [f"s{i + 1}" for i in range(n)] * len(teams),
        "session_start": list(pd.date_range("2026-01-05", periods=n, freq="7D",
                                            tz="UTC")) * len(teams),
        "team": [t for t in teams for _ in range(n)],
        "annotator_id": [f"{t.lower()}1" for t in teams for _ in range(n)],
        "correct": correct, "n_judgments": [10] * len(correct)})


def test_trend_alone_is_cochran_armitage():
    tr = calibration_trend(_scores([9, 7, 5], ["A"])).set_index("annotator_id")
    assert tr.loc["a1", "slope"] == pytest.approx(-0.2)       # 0.9, 0.7, 0.5
    # X^2 = [0*2 + 1*0 + 2*(-2)]^2 / (0.7 * 0.3 * (10 + 10)) = 16 / 4.2
    assert tr.loc["a1", "p"] == pytest.approx(stats.chi2.sf(16 / 4.2, 1))


def test_trend_relative_to_the_session_equals_wls():
    import statsmodels.api as sm

    scores = _scores([9, 7, 5, 6, 8, 8, 9, 4, 10], ["A", "B", "C"])
    tr = calibration_trend(scores).set_index("annotator_id")
    # a1 against b1 + c1 in each session: weights 1/v with half a success added
    x, n = np.array([9, 7, 5.0]), 10.0
    ox, on = np.array([15, 12, 18.0]), 20.0
    pt, po = (x + 0.5) / (n + 1), (ox + 0.5) / (on + 1)
    w = 1 / (pt * (1 - pt) / n + po * (1 - po) / on)
    ref = sm.WLS(x / n - ox / on, sm.add_constant([0.0, 1.0, 2.0]), weights=w).fit(
        cov_type="fixed scale")
    assert tr.loc["a1", "slope"] == pytest.approx(ref.params[1])
    assert tr.loc["a1", "p"] == pytest.approx(ref.pvalues[1])
    # a harder session lowers everyone: an entity that keeps its place has no trend
    flat = calibration_trend(_scores([9, 5, 9, 8, 4, 8], ["A", "B"])).set_index("annotator_id")
    assert abs(flat.loc["a1", "slope"]) < 0.02 and flat.loc["a1", "p"] > 0.5
    assert (tr["q"] >= tr["p"]).all()
