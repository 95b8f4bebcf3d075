"""Trends: weekly series per market, queue and team; trend and change tests under FDR control."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.report.html import table
from insights.report.sections import Finding, SectionResult
from insights.report.sections._util import effect_text, model_team_words, model_teams

KEY = "trends"
TITLE = "Trends"
ORDER = 50

#: Trend metrics whose fall is an alert (label quality), and their rise good news.
QUALITY_METRICS = ("gold_accuracy", "est_accuracy", "agreement")
FDR_NAMES = {"bh": "Benjamini-Hochberg (1995)", "by": "Benjamini-Yekutieli (2001)"}
NO_TIMES = ("Trends need the time of each judgment: add the labels column labeled_at to see "
            "weekly series, trend tests and located changes.")


def fdr_statement(trend) -> str:
    """How many hypotheses were tested, how false discovery is controlled, how many survive."""
    n = int(trend.n_tests)
    if n == 0:
        return ("No trend or knowledge-gap test could be run for this period (it needs "
                "enough weeks of judgments).")
    kinds = trend.tests.loc[trend.tests["q"].notna(), "kind"].value_counts()
    parts = [f"{kinds.get('trend', 0)} trend tests of weekly series per market, queue and team",
             f"{kinds.get('gap', 0)} knowledge-gap tests per team and class pair"]
    if kinds.get("mix", 0):
        parts.append(f"{kinds['mix']} label-mix tests between markets")
    k = len(trend.findings)
    return (f"{n} hypotheses were tested for this market and period ({'; '.join(parts)}). "
            f"The false discovery rate is controlled across all of them at once with the "
            f"{FDR_NAMES.get(trend.method, trend.method)} procedure at q ≤ {trend.alpha:g}: "
            f"{k} {'is' if k == 1 else 'are'} significant, and on average at most "
            f"{trend.alpha:.0%} of the significant findings are expected to be false "
            f"discoveries. The q value of each test is its adjusted p-value.")


def tests_view(trend) -> pd.DataFrame:
    """Everything tested, most significant first."""
    t = trend.tests
    if t is None or t.empty:
        return pd.DataFrame()
    t = t.sort_values(["q", "p"], kind="stable", na_position="last")
    given = t["given"].fillna("").astype(str)
    df = pd.DataFrame({
        "Where": t["where"].astype(str),
        "What": t["metric"].astype(str),
        "Class": np.where(given != "", t["klass"].astype(str) + " → " + given,
                          t["klass"].fillna("").astype(str)),
        "Direction": t["direction"].astype(str),
        "Effect (95% interval)": [effect_text(e, lo, hi, u) for e, lo, hi, u in zip(
            t["effect"], t["effect_lo"], t["effect_hi"], t["effect_unit"], strict=True)],
        "Since": t["since"],
        "Test": t["test"].astype(str) + " (" + t["method"].astype(str) + ")",
        "p": t["p"].astype(float),
        "q": t["q"].astype(float),
        "Significant": np.where(t["significant"].astype(bool), "yes", ""),
    }).reset_index(drop=True)
    return table(df, {"Where": "text", "What": "text", "Class": "text", "Direction": "text",
                      "Effect (95% interval)": "text", "Since": "date", "Test": "text",
                      "p": "pvalue", "q": "pvalue", "Significant": "text"},
                 max_rows=40, collapsed=True)


def findings(trend, max_trends: int = 6, machines: set[str] = frozenset()) -> list[Finding]:
    """Significant trends: falls of label quality first (alerts), then the others (watch);
    ``machines``: teams of model annotators (worded as such)."""
    out: list[Finding] = []
    if not len(trend.findings):
        return out
    tf = trend.findings[trend.findings["kind"] == "trend"]
    falls = tf["metric"].isin(QUALITY_METRICS) & (tf["direction"] == "decreasing")
    tf = pd.concat([tf[falls], tf[~falls]])
    for _, r in tf.head(max_trends).iterrows():
        bad = r["metric"] in QUALITY_METRICS and r["direction"] == "decreasing"
        out.append(Finding("alert" if bad else "watch",
                           model_team_words(str(r["sentence"]), set(machines)), KEY,
                           value=float(r["effect"]), q=float(r["q"])))
    if len(tf) > max_trends:
        out.append(Finding("watch", f"{len(tf) - max_trends} further significant changes are "
                           f"listed in the Trends section.", KEY,
                           value=float(len(tf) - max_trends), q=float(tf["q"].iat[max_trends])))
    return out


def build(ctx) -> SectionResult:
    from insights import plots

    if not ctx.has_times:
        return SectionResult(KEY, TITLE, note=NO_TIMES)
    trend = ctx.trend
    machines = model_teams(ctx)
    view = tests_view(trend)
    sentences = [fdr_statement(trend)]
    figures = []
    if trend.series is not None and len(trend.series):
        series = trend.series
        if machines and "team" in series:  # vendor teams only (models have their section)
            series = series[~series["team"].astype(str).isin(machines)]
        if len(series):
            figures.append(plots.team_trends(series, trend.findings))
        shares = trend.findings["metric"].astype(str).str.startswith("share_")
        if shares.any():  # label-share changes get their own plot
            figures.append(plots.label_mix(trend.series, trend.findings))
    tables = {}
    if len(view):
        tables[f"Everything tested ({trend.n_tests} tests), most significant first"] = view
    return SectionResult(KEY, TITLE, sentences=sentences, tables=tables, figures=figures,
                         findings=findings(trend, machines=machines),
                         items=[model_team_words(s, machines)
                                for s in trend.findings["sentence"].astype(str)],
                         data={"trend": trend, "tables": {"trend_tests": trend.tests,
                                                          "trend_series": trend.series}})
