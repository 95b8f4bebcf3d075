"""Report tables (insights.summary) on a small hand-planted operation with known truth."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insights import data, summary

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


@pytest.fixture(scope="module")
def operation(tmp_path_factory) -> Path:
    return write_operation(tmp_path_factory.mktemp("op"))


@pytest.fixture(scope="module")
def report(operation) -> summary.MarketReport:
    return summary.build_report("AA", data_source=str(operation), since="2026-03-02",
                                until="2026-04-06", method="dawid-skene", min_gold=30,
                                pseudonymize_ids=False, params={"market": "AA"})


def test_default_period_is_last_complete_weeks():
    # data from Monday 2 March to Wednesday 8 April: the last complete week ends Sunday 5 April
    t = pd.Series(pd.date_range("2026-03-02", "2026-04-08 12:00", freq="6h", tz="UTC"))
    since, until = summary.default_period(t, weeks=2)
    assert until == pd.Timestamp("2026-04-06", tz="UTC") and until.day_of_week == 0
    assert since == pd.Timestamp("2026-03-23", tz="UTC")
    # data ending on a Sunday evening: that week is complete
    since, until = summary.default_period(t[t < pd.Timestamp("2026-04-06", tz="UTC")], weeks=1)
    assert until == pd.Timestamp("2026-04-06", tz="UTC")


def test_pseudonyms_are_stable_salted_and_distinct(operation):
    ds = data.load(operation, market="AA")
    a = summary.pseudonymize(ds, "salt-1")
    b = summary.pseudonymize(ds, "salt-1")
    c = summary.pseudonymize(ds, "salt-2")
    assert a.labels["annotator_id"].equals(b.labels["annotator_id"])
    assert not a.labels["annotator_id"].equals(c.labels["annotator_id"])
    assert a.labels["annotator_id"].str.fullmatch(r"ann-[0-9a-f]{8}").all()
    # a bijection: as many pseudonyms as annotators, and the annotators table follows
    assert a.labels["annotator_id"].nunique() == ds.labels["annotator_id"].nunique()
    assert set(a.labels["annotator_id"]) <= set(a.annotators["annotator_id"])
    assert not set(ds.labels["annotator_id"]) & set(a.labels["annotator_id"])


def test_scorecard_ranks_planted_teams(report):
    card = report.scorecard.set_index("team")
    assert set(card.index) == {"good", "mid", "gap", "model"}
    # 'good' is 95% accurate on every class, 'mid' 85%: good must outrank mid
    assert card.loc["good", "rank"] < card.loc["mid", "rank"]
    # intervals contain the point, and the rank band contains the rank
    ok = card["accuracy_gold"].notna()
    assert (card.loc[ok, "accuracy_gold_low"] <= card.loc[ok, "accuracy_gold"]).all()
    assert (card.loc[ok, "accuracy_gold"] <= card.loc[ok, "accuracy_gold_high"]).all()
    assert ((card["rank_best"] <= card["rank"]) & (card["rank"] <= card["rank_worst"])).all()
    # ~80 gold items x 3 human judgments spread over 12 annotators: team 'mid' has ~60 gold
    # judgments, so its 95% interval half-width is ~0.09; 0.85 must fall inside it
    assert card.loc["mid", "accuracy_gold_low"] < 0.85 < card.loc["mid", "accuracy_gold_high"]
    assert card["judgments"].sum() == len(report.dataset.labels)
    assert (card["cost_per_judgment"] > 0).all()


def test_knowledge_gap_found_with_examples(report):
    gaps = report.gaps
    assert len(gaps) >= 1
    top = gaps.iloc[0]
    # planted: team 'gap' labels 60% of 'hate' items as 'ok' (others about 2.5%)
    assert (top["team"], top["true"], top["given"]) == ("gap", "hate", "ok")
    assert 0.4 < top["team_rate"] < 0.8  # ~90 hate judgments by the team: sd of the rate ~0.05
    # one notion of gap: every gap shown is significant after the run's FDR control
    assert (gaps["q"] <= report.trends.alpha).all()
    assert (gaps["effect_lo"] <= gaps["effect"]).all() and (gaps["effect"] <= gaps["effect_hi"]).all()
    ex = report.gap_examples
    ex_gap = ex[(ex["team"] == "gap") & (ex["true"] == "hate")]
    assert 1 <= len(ex_gap) <= 3
    assert ex_gap["text"].str.startswith("post ").all()
    # the examples are items the team labelled 'ok'
    lab = report.dataset.labels
    team_ok = lab[(lab["team"] == "gap") & (lab["label"] == "ok")]["item_id"]
    assert set(ex_gap["item_id"]) <= set(team_ok)
    # the heatmaps put the gap team first
    assert summary.heatmap_teams(report)[0] == "gap"


def test_team_confusions_rows_are_distributions(report):
    conf = report.confusions
    rows = conf.groupby(["team", "true"])["rate"].sum()
    np.testing.assert_allclose(rows.to_numpy(), 1.0, atol=1e-9)
    assert "model" not in set(conf["team"])  # model annotators have their own section
    hate_ok = conf.set_index(["team", "true", "given"]).loc[("gap", "hate", "ok"), "rate"]
    assert hate_ok > 0.35  # planted 0.6; the soft reference dilutes it a little


def test_model_disagreement_found(report):
    pairs = report.disagreements
    # planted: the model calls 40% of 'spam' items 'ok'
    top = pairs.iloc[0]
    assert (top["consensus"], top["model_label"]) == ("spam", "ok")
    assert 0.2 < top["share"] < 0.6  # ~60 spam items: sd of the share ~0.065
    assert len(report.disagreement_examples) >= 1


def test_findings_most_important_first_and_link_to_sections(report):
    f = report.findings
    order = f["severity"].map({"alert": 0, "watch": 1, "info": 2})
    assert order.is_monotonic_increasing
    assert set(f["section"]) <= set(summary.SECTIONS)
    assert any("gap" in s and "`hate`" in s and sec == "gaps"
               for s, sec in zip(f["finding"], f["section"], strict=True))
    out = summary.findings_html(f)
    for sec in f["section"]:
        assert f'href="#{summary.anchor(sec)}"' in out


def test_html_table_escapes_data():
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    df = pd.DataFrame({"item_id": [evil], "rate": [0.5]})
    out = summary.html_table(df)
    assert "<script>" not in out and "<img" not in out
    assert html.escape(evil) in out
    assert "50.0%" in out


def test_item_confidence_and_tables_written(report, tmp_path):
    items = report.items
    assert len(items) == report.scale["items"]
    p = items.filter(like="p_").to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert (items["confidence"] >= 1 / 3 - 1e-12).all()
    s = summary.write_tables(report, tmp_path)
    tables = report.tables()
    assert {"scorecard", "findings", "item_confidence", "annotator_quality", "knowledge_gaps",
            "trend_tests", "trend_series", "calibration", "team_accuracy", "review_list",
            "forecast"} <= set(tables)
    for name, table in tables.items():
        csv = pd.read_csv(tmp_path / f"{name}.csv")
        pq = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert len(csv) == len(pq) == len(table), name
    assert json.loads((tmp_path / "summary.json").read_text())["market"] == "AA" == s["market"]


def test_same_inputs_same_numbers(operation, report):
    again = summary.build_report("AA", data_source=str(operation), since="2026-03-02",
                                 until="2026-04-06", pseudonymize_ids=False,
                                 params={"market": "AA"})
    for name, table in report.tables().items():
        pd.testing.assert_frame_equal(table, again.tables()[name], obj=name)


def test_scorecard_model_intervals_come_from_the_hierarchical_model(report):
    card = report.scorecard.set_index("team")
    teams = report.confidence.model.team_accuracy_
    np.testing.assert_allclose(card["accuracy_estimated"], teams.loc[card.index, "accuracy"])
    np.testing.assert_allclose(card["accuracy_estimated_low"], teams.loc[card.index, "lower"])
    assert (card["accuracy_estimated_low"] <= card["accuracy_estimated"]).all()
    assert (card["accuracy_estimated"] <= card["accuracy_estimated_high"]).all()
    # planted: 'good' answers 95% right, 'mid' 85%; with ~240 judgments per team the 95%
    # credible intervals are about +-4 points: each must hold its team's planted accuracy,
    # and the point estimates must be in the planted order
    assert card.loc["good", "accuracy_estimated"] > card.loc["mid", "accuracy_estimated"]
    for team, truth in (("good", 0.95), ("mid", 0.85)):
        assert card.loc[team, "accuracy_estimated_low"] < truth < card.loc[
            team, "accuracy_estimated_high"]


def test_confidence_section_calibrates_against_gold(report):
    cs = report.confidence
    cal = cs.calibration
    assert {"majority", "dawid-skene", "hierarchical"} <= set(cal.index)
    n_gold = report.dataset.gold["item_id"].isin(report.dataset.labels["item_id"]).sum()
    assert (cal["n"] == n_gold).all()
    assert ((0 <= cal["errors_caught"]) & (cal["errors_caught"] <= cal["errors_total"])).all()
    # posteriors that did not see the gold: not every model is 100% right on gold items
    # (3 judgments per item, one 85%-accurate team: majority vote errs on ~5% of items)
    assert cal.loc["majority", "accuracy"] < 1.0
    # the models beat majority vote on gold (they weigh the annotators; planted 0.85-0.95)
    assert cal.loc["hierarchical", "accuracy"] >= cal.loc["majority", "accuracy"]
    assert set(cs.reliability) == set(cal.index)
    # team table: best first, P(better than next) is a probability
    t = cs.teams
    assert t["accuracy"].is_monotonic_decreasing
    p = t["p_more_accurate_than_next"].dropna()
    assert ((0 <= p) & (p <= 1)).all() and len(p) == len(t) - 1
    # re-review list: non-gold items, most expected errors removed first
    r = cs.review
    assert not set(r["item_id"]) & set(report.dataset.gold["item_id"])
    assert r["expected_errors_removed"].is_monotonic_decreasing
    assert r["text"].str.startswith("post ").all()
    items = report.items
    assert items["confidence_lower"].le(items["confidence_hierarchical"] + 1e-9).all()
    text = summary.calibration_sentence(cs)
    h = cal.loc["hierarchical"]
    assert f"On {int(h['n']):,} gold items" in text and f"{h['accuracy']:.1%}" in text
    assert f"catch {int(h['errors_caught'])} of its {int(h['errors_total'])} errors" in text


def test_unclamped_posteriors_leave_gold_out(report):
    post = report.posterior
    free = post.unclamped().to_numpy()
    np.testing.assert_allclose(free.sum(axis=1), 1.0, atol=1e-9)
    gold = post.enc.gold >= 0
    # clamped posteriors are one-hot on gold items; the unclamped ones are not all one-hot
    assert np.allclose(post.probas[gold].max(axis=1), 1.0)
    assert free[gold].max(axis=1).min() < 0.99
    # off gold, one E-step with the fitted parameters gives the model's own labels
    assert (free[~gold].argmax(axis=1) == post.labels[~gold]).mean() > 0.99


def test_trends_section_states_fdr_control(report):
    tr = report.trends
    text = summary.fdr_statement(tr)
    assert f"{tr.n_tests} hypotheses" in text and "Benjamini-Hochberg" in text
    assert tr.n_tests == int(tr.tests["q"].notna().sum()) > 0
    view = summary.trend_tests_view(tr)
    assert len(view) == len(tr.tests)
    assert (view["significant"] == "yes").sum() == len(tr.findings)
    # every significant trend is a headline finding (up to the cap) linking to Trends
    f = report.findings
    trend_sentences = set(tr.findings.loc[tr.findings["kind"] == "trend", "sentence"])
    shown = set(f.loc[f["section"] == "trends", "finding"])
    assert len(shown & trend_sentences) == min(len(trend_sentences), 6)


def test_forecast_and_staffing(report):
    fc = report.forecast
    assert set(fc["step"]) == {1, 2, 3, 4}
    assert ((fc["volume_lo"] <= fc["volume"]) & (fc["volume"] <= fc["volume_hi"])).all()
    assert ((fc["hours_lo"] <= fc["hours"]) & (fc["hours"] <= fc["hours_hi"])).all()
    weekly = fc.groupby("step")["volume"].sum().mean()
    assert f"about {weekly:,.0f} items a week" in report.staffing
    assert len(report.volume_history) > 0
    assert any(r == "forecast" for r in report.findings["section"])


def test_sentences_are_escaped_and_names_shown_as_code():
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    findings = pd.DataFrame({"severity": ["alert"], "section": ["gaps"], "value": [0.5],
                             "finding": [f"Team X labels `{evil}` as `ok` (q = 0.01)."]})
    out = summary.findings_html(findings) + summary.sentences_html([f"`{evil}` rose"]) \
        + summary.paragraph(f"`{evil}`") + summary.details("<b>x</b>", evil)
    assert "<script" not in out and "<img" not in out
    assert f"<code>{html.escape(evil)}</code>" in out
    assert "<code>ok</code>" in out


def test_no_timestamps_means_no_trends_and_no_forecast(operation, tmp_path):
    lab = pd.read_csv(operation / "labels.csv").drop(columns=["labeled_at"])
    for name in ("gold", "annotators", "items"):
        (tmp_path / f"{name}.csv").write_bytes((operation / f"{name}.csv").read_bytes())
    lab.to_csv(tmp_path / "labels.csv", index=False)
    r = summary.build_report("AA", data_source=str(tmp_path), pseudonymize_ids=False)
    assert r.trends.n_tests == 0 and r.gaps.empty and r.forecast.empty
    assert "No trend" in summary.fdr_statement(r.trends)
    assert r.staffing.startswith("No forecast")


@pytest.mark.slow
def test_default_scenario_de_headlines_the_planted_drop(tmp_path_factory):
    # the default scenario at full scale: DE-T2's accuracy drops 15 points in week 7
    synthetic = pytest.importorskip("insights.synthetic")
    sc = synthetic.SCENARIOS["default"]
    drop = next(d for d in sc.accuracy_drops if d.market == "DE")
    r = summary.build_report("DE", data_source="simulated", scenario="default", seed=0,
                             data_dir=str(tmp_path_factory.mktemp("data")),
                             pseudonymize_ids=False)
    f = r.trends.findings
    hit = f[(f["team"] == drop.team) & (f["kind"] == "trend") & (f["direction"] == "decreasing")
            & f["metric"].isin(["gold_accuracy", "est_accuracy", "agreement"])]
    assert len(hit), f"no significant fall for {drop.team}: {f['sentence'].tolist()}"
    # located within one week of the planted start
    planted = sc.week_start(drop.week)
    assert (hit["since"] - planted).abs().min() <= pd.Timedelta(weeks=1)
    headline = r.findings[r.findings["section"] == "trends"]
    assert set(hit["sentence"]) & set(headline["finding"])
    assert (headline["severity"] == "alert").any()


def test_new_figures_have_titles_labels_and_alt_text(report):
    from insights import plots

    trends_fig = plots.team_trends(report.trends.series, report.trends.findings)
    fc_fig = plots.volume_forecast(report.volume_history, report.forecast)
    for f, title in ((trends_fig, "Weekly quality per vendor team"),
                     (fc_fig, "Weekly items per queue: history and forecast")):
        assert f.fig._suptitle.get_text() == title
        axes = [ax for ax in f.fig.axes if ax.axison]
        assert axes and all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
        assert len(f.alt) > 60
        html_out = plots.figure_html(f)
        assert html_out.count("<img") == 1 and 'alt="' in html_out
    teams = set(report.trends.series.query("level == 'market/team'")["team"])
    assert all(f"team {t}" in trends_fig.alt for t in teams)
    # empty inputs give a figure that says so, not an error
    empty = plots.team_trends(report.trends.series.iloc[:0])
    assert "no weekly series" in empty.alt


def test_confidence_model_convergence_is_in_the_provenance(report):
    model = report.confidence.model
    row = report.provenance.set_index("field").loc["confidence model", "value"]
    assert summary.convergence_note(model) in row
    assert str(model.n_iter_) in row


def test_hierarchical_report_model_is_reused_for_confidence(operation):
    r = summary.build_report("AA", data_source=str(operation), since="2026-03-02",
                             until="2026-04-06", method="hierarchical", pseudonymize_ids=False)
    assert r.confidence.model is r.posterior.model  # fitted once
    assert set(r.confidence.teams["team"]) == set(r.scorecard["team"])
    assert "hierarchical" in r.confidence.calibration.index


def test_gold_calibration_step_fixes_overconfidence_out_of_sample():
    """Posteriors that claim 95 % but are right 75 % of the time (as correlated errors on hard
    items make them): the gold-fitted step, scored by cross-fitting on gold it did not see,
    brings the calibration error from ~0.2 to the sampling noise of 600 items (~0.03)."""
    from insights.confidence import calibration_table

    rng = np.random.default_rng(5)
    n, classes = 600, ["a", "b", "c"]
    truth = pd.Series(rng.choice(classes, n), index=[f"i{k}" for k in range(n)])
    stated = rng.uniform(0.9, 1.0, n)
    right = rng.random(n) < stated - 0.2          # 20 points less often right than stated
    chosen = np.where(right, truth.to_numpy(),
                      [rng.choice([c for c in classes if c != t]) for t in truth])
    p = np.full((n, 3), 0.0)
    for k, c in enumerate(classes):
        p[:, k] = np.where(chosen == c, stated, (1 - stated) / 2)
    probas = pd.DataFrame(p, index=truth.index, columns=classes)
    calibrator, cross = summary.gold_calibration(probas, truth, seed=0)
    table = calibration_table({"raw": probas, "calibrated": cross}, truth)
    assert table.loc["raw", "ece"] > 0.15
    assert table.loc["calibrated", "ece"] < 0.05
    # the labels (argmax) are unchanged, only the confidence moves
    assert (calibrator.transform(probas).idxmax(axis=1) == probas.idxmax(axis=1)).all()


def test_write_tables_without_a_folder_writes_nothing(report, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert summary.write_tables(report, "") is None
    assert list(tmp_path.iterdir()) == []
