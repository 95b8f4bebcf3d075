"""BPO operations: calibration sessions, arbitration outcomes, new teams' ramp-up, systemic
policy confusions and the impact of a recent policy change (:mod:`insights.operations`).

Calibration and arbitration read the market's gold (``source = calibration`` /
``arbitration``) over the trends' history. Systemic confusions compare the market with the
other markets and new teams with the new teams that started before them, so those two parts
load every market of the same data source for the same weeks (pseudonymized the same way).
The impact part runs when the parameter ``ops_event`` names a date.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from insights.report.html import table
from insights.report.sections import Finding, SectionResult
from insights.report.sections._util import effect_text, intervals, model_teams

KEY = "operations"
TITLE = "BPO operations"
ORDER = 95

log = logging.getLogger(__name__)

NOTE = ("BPO operations need gold rows with source = calibration (calibration sessions) or "
        "arbitration (expert decisions), new teams in the labels, or an ops_event date for "
        "an impact analysis.")


def all_markets(ctx):
    """Every market of the report's data source over the history's weeks (the market's own
    history when the source has no other market or cannot be read again)."""
    from insights import data as _data
    from insights.report import build

    p = ctx.params
    try:
        src = build.resolve_data(p.data_source, scenario=p.scenario, seed=p.seed,
                                 data_dir=p.data_dir)
        ds = _data.load(src, label_set=list(p.label_set) or None,
                        label_set_origin="params (label_set)", **build._load_options(p))
    except (_data.SchemaError, OSError, ValueError) as exc:  # pragma: no cover - defensive
        log.warning("BPO operations: other markets not loaded (%s)", exc)
        return ctx.history
    if p.pseudonymize:
        ds = build._pseudonymize(ds, p)
    if ctx.until is not None:
        since = ctx.until - pd.Timedelta(weeks=int(p.trend_weeks))
        if ctx.since is not None and ctx.since < since:
            since = ctx.since
        ds = build._subset(ds, since, ctx.until)
    return ds


#: (data fingerprint, period, method, pseudonymize) -> (all markets' Dataset, posteriors):
#: a process that builds several markets' reports loads and fits the other markets once.
_CROSS: dict[tuple, tuple] = {}


def _cross_market(ctx):
    from insights.report.fitting import fit_model

    p = ctx.params
    key = (ctx.history.fingerprint, str(p.data_source), p.scenario, p.seed, str(ctx.since),
           str(ctx.until), p.trend_weeks, p.method, p.pseudonymize, str(p.label_set),
           p.alpha, p.gap_min_n, p.accuracy_target)
    if key not in _CROSS:
        all_ds = all_markets(ctx)
        post = (ctx.posterior_history if all_ds is ctx.history
                else fit_model(all_ds, p.method)).frame()
        _CROSS.clear()                       # one data source at a time: bounded memory
        _CROSS[key] = {"ds": all_ds, "post": post}
    return _CROSS[key]


def _calibration(ctx, ds, out: dict) -> None:
    from insights.operations import calibration as cal

    j = cal.calibration_judgments(ds)
    if len(j) == 0:
        return
    alpha = ctx.params.alpha
    sessions = cal.session_agreement(j, ds.label_set, seed=ctx.params.seed)
    teams = cal.calibration_scores(j, "team", ds.label_set, seed=ctx.params.seed)
    trend = cal.calibration_trend(teams)
    last = sessions.iloc[-1]
    out["sentences"].append(
        f"{len(sessions)} calibration sessions: in the latest ({last['session']}), "
        f"{last['n_annotators']} annotators agreed with the expert on "
        f"{last['accuracy']:.0%} of {last['n_judgments']} judgments "
        f"({last['accuracy_lo']:.0%} to {last['accuracy_hi']:.0%}) and with each other at "
        f"Fleiss' kappa {last['kappa']:.2f} ({last['kappa_lo']:.2f} to {last['kappa_hi']:.2f}).")
    for r in trend[(trend["q"] <= alpha) & (trend["slope"] < 0)].itertuples(index=False):
        text = (f"Team {r.team}'s calibration accuracy fell from {r.first:.0%} to {r.last:.0%} "
                f"over {r.n_sessions} sessions (q = {r.q:.2g}).")
        out["items"].append(text)
        out["findings"].append(Finding("watch", text, KEY, value=float(r.slope), q=float(r.q)))
    out["tables"]["Calibration sessions"] = table(pd.DataFrame({
        "Session": sessions["session"].astype(str), "Date": sessions["session_start"],
        "Items": sessions["n_items"].astype(float),
        "Annotators": sessions["n_annotators"].astype(float),
        "Agreement with the expert (95% interval)": intervals(
            sessions["accuracy"], sessions["accuracy_lo"], sessions["accuracy_hi"]),
        "Fleiss' kappa": sessions["kappa"].astype(float),
        "Kappa 95% interval": [f"{lo:.2f} to {hi:.2f}" if np.isfinite(lo) else "–"
                               for lo, hi in zip(sessions["kappa_lo"], sessions["kappa_hi"],
                                                 strict=True)]}),
        {"Session": "text", "Date": "date", "Items": "count", "Annotators": "count",
         "Agreement with the expert (95% interval)": "interval", "Fleiss' kappa": "score",
         "Kappa 95% interval": "text"}, collapsed=len(sessions) > 8)
    if len(trend):
        out["tables"]["Calibration trend per team (accuracy against the expert)"] = table(
            pd.DataFrame({"Team": trend["team"].astype(str),
                          "Sessions": trend["n_sessions"].astype(float),
                          "First session": trend["first"].astype(float),
                          "Latest session": trend["last"].astype(float),
                          "Change per session": trend["slope"].astype(float),
                          "q": trend["q"].astype(float)}),
            {"Team": "text", "Sessions": "count", "First session": "percent",
             "Latest session": "percent", "Change per session": "number", "q": "pvalue"})
    items = cal.disagreement_items(j, top=ctx.params.n_examples or 3)
    if len(items):
        out["tables"]["Calibration items with most disagreement"] = table(pd.DataFrame({
            "Session": items["session"].astype(str), "Item": items["item_id"].astype(str),
            "Expert's answer": items["expert"].astype(str),
            "Votes": items["votes"].astype(str),
            "Votes agreeing with the expert": items["agree_expert"].astype(float)}),
            {"Session": "text", "Item": "text", "Expert's answer": "text", "Votes": "text",
             "Votes agreeing with the expert": "percent"})
    out["data"]["calibration_sessions"] = sessions
    out["data"]["calibration_trend"] = trend


def _arbitration(ctx, ds, out: dict) -> None:
    from insights.operations import arbitration as arb

    j = arb.arbitration_judgments(ds)
    if len(j):
        rates = arb.overturn_rates(j, "team")
        t = arb.time_to_decision(j, by=None)
        when = ""
        if len(t) and np.isfinite(t["median_hours"].iat[0]):
            r = t.iloc[0]
            when = (f"; the median decision came {r['median_hours']:.0f} hours after the item's "
                    f"first judgment" + (f" ({r['median_lo']:.0f} to {r['median_hi']:.0f})"
                                         if np.isfinite(r["median_lo"]) else ""))
        out["sentences"].append(
            f"Experts arbitrated {j['item_id'].nunique():,} disputed items and overturned "
            f"{j['overturned'].mean():.0%} of the judgments on them{when}.")
        out["tables"]["Arbitration: share of each team's judgments overturned"] = table(
            pd.DataFrame({"Team": [f"{t} (model annotators)" if t in model_teams(ctx)
                                   else str(t) for t in rates["team"]],
                          "Items arbitrated": rates["n_items"].astype(float),
                          "Judgments": rates["n_judgments"].astype(float),
                          "Overturned (95% interval)": intervals(rates["rate"], rates["rate_lo"],
                                                                 rates["rate_hi"])}),
            {"Team": "text", "Items arbitrated": "count", "Judgments": "count",
             "Overturned (95% interval)": "interval"})
        out["data"]["overturn_rates"] = rates
    queue = arb.arbitration_queue(ctx.dataset, ctx.posterior.frame(),
                                  top=ctx.params.n_review)
    queue = queue[queue["expected_errors_removed"] > 0.05]
    if len(queue):
        out["sentences"].append(
            f"The {len(queue)} items below are the next arbitration decisions: each removes the "
            f"expected errors shown (the chance the current consensus is wrong); together "
            f"{queue['expected_errors_removed'].sum():.1f} expected errors.")
        out["tables"]["Arbitration queue (most expected errors removed first)"] = table(
            pd.DataFrame({"Item": queue["item_id"].astype(str),
                          "Consensus": queue["consensus"].astype(str),
                          "Expected errors removed": queue["expected_errors_removed"]
                          .astype(float),
                          "Votes": queue["votes"].astype(str)}),
            {"Item": "text", "Consensus": "text", "Expected errors removed": "score",
             "Votes": "text"}, collapsed=True)
        out["data"]["arbitration_queue"] = queue


def _confusions(ctx, cross: dict, out: dict) -> None:
    from insights.operations.confusions import confusion_tests

    if "confusions" not in cross:             # every market's tests at once, kept for the next
        cross["confusions"] = confusion_tests(cross["ds"], cross["post"],
                                              alpha=ctx.params.alpha,
                                              min_count=ctx.params.gap_min_n)
    ct = cross["confusions"]
    mine = ct[(ct["market"].astype(str) == str(ctx.market)) & (ct["finding"] != "")]
    out["data"]["confusions"] = mine
    policy = mine[mine["finding"] == "policy clarification"]
    for r in policy.itertuples(index=False):
        out["items"].append(r.sentence)
        out["findings"].append(Finding("alert", r.sentence, KEY, value=float(r.rate),
                                       q=float(r.q)))
    if len(mine):
        out["tables"]["Systemic (policy) and team-specific confusions"] = table(pd.DataFrame({
            "Finding": mine["finding"].astype(str),
            "Where": np.where(mine["scope"] == "market", "whole market",
                              "team " + mine["team"].astype(str)),
            "True class": mine["true"].astype(str), "Labelled as": mine["given"].astype(str),
            "Rate": mine["rate"].astype(float), "Baseline": mine["baseline_rate"].astype(float),
            "Baseline is": np.where(mine["scope"] == "market", "other markets",
                                    "rest of the market"),
            "Difference (95% interval)": [effect_text(e, lo, hi, "rate") for e, lo, hi in zip(
                mine["effect"], mine["effect_lo"], mine["effect_hi"], strict=True)],
            "q": mine["q"].astype(float), "Example items": mine["examples"].astype(str)}),
            {"Finding": "text", "Where": "text", "True class": "text", "Labelled as": "text",
             "Rate": "percent", "Baseline": "percent", "Baseline is": "text",
             "Difference (95% interval)": "text", "q": "pvalue", "Example items": "text"})
    elif ct["scope"].eq("market").any():
        out["sentences"].append(
            "No confusion is elevated across most of this market's teams against the other "
            "markets (no policy to clarify), after false-discovery control.")


def _onboarding(ctx, cross: dict, out: dict) -> None:
    from insights.operations import onboarding as ob

    if "labeled_at" not in cross["ds"].labels.columns:
        return
    if "onboarding" not in cross:             # every market's new teams at once
        j = ob.onboarding_judgments(cross["ds"], cross["post"])
        fits = ob.ramp_fits(j, target=ctx.params.accuracy_target, n_boot=100,
                            seed=ctx.params.seed)
        if len(fits):
            behind = ob.behind_the_curve(j, fits, alpha=ctx.params.alpha)
            fits = fits.merge(behind, on="team", how="left")
            market_of = j.groupby("team")["market"].agg(lambda s: s.mode().iat[0])
            fits["market"] = fits["team"].map(market_of).astype(str)
        cross["onboarding"] = fits
    fits = cross["onboarding"]
    if len(fits) == 0:
        return
    mine = fits[fits["market"] == str(ctx.market)]
    out["data"]["onboarding"] = mine
    if len(mine) == 0:
        return
    target = ctx.params.accuracy_target
    for r in mine.itertuples(index=False):
        reach = (f"reaches {target:.0%} accuracy after {r.weeks_to_target:.1f} weeks "
                 f"({r.weeks_to_target_lo:.1f} to {r.weeks_to_target_hi:.1f})"
                 if np.isfinite(r.weeks_to_target) else f"is not on course to reach {target:.0%}")
        text = (f"New team {r.team} started at {r.accuracy_start:.0%} accuracy and {reach}"
                + (f"; it is behind the curve of the earlier new teams ({r.reference}: "
                   f"{r.observed:.0%} against {r.expected:.0%} expected, q = {r.q:.2g})."
                   if r.behind is True else "."))
        out["items"].append(text)
        if r.behind is True:
            out["findings"].append(Finding("watch", text, KEY, value=float(r.deficit),
                                           q=float(r.q)))
    out["tables"]["New teams: ramp-up"] = table(pd.DataFrame({
        "Team": mine["team"].astype(str), "Started": mine["start"],
        "Judgments": mine["n_judgments"].astype(float),
        "Starting accuracy (95% interval)": intervals(
            mine["accuracy_start"], mine["accuracy_start_lo"], mine["accuracy_start_hi"]),
        "Final accuracy (95% interval)": intervals(
            mine["accuracy_final"], mine["accuracy_final_lo"], mine["accuracy_final_hi"]),
        f"Weeks to {target:.0%} (95% interval)": [
            _weeks_text(w, lo, hi) for w, lo, hi in zip(
                mine["weeks_to_target"], mine["weeks_to_target_lo"], mine["weeks_to_target_hi"],
                strict=True)],
        "Behind earlier teams (q)": mine["q"].astype(float)}),
        {"Team": "text", "Started": "date", "Judgments": "count",
         "Starting accuracy (95% interval)": "interval",
         "Final accuracy (95% interval)": "interval",
         f"Weeks to {target:.0%} (95% interval)": "text",
         "Behind earlier teams (q)": "pvalue"})


def _metric_words(metric: str) -> str:
    if metric.startswith("share_"):
        return f"share of {metric[6:]!r} labels"
    return {"accuracy": "accuracy on gold", "handle_seconds": "handle time",
            "cost_per_item": "cost per item"}.get(metric, metric)


def _weeks_text(w: float, lo: float, hi: float) -> str:
    """Weeks to the target with its interval; an infinite end is "not reached"."""
    def one(v):
        return "not reached" if v == np.inf else ("–" if not np.isfinite(v) else f"{v:.1f}")
    if w == np.inf:
        return f"not on course (at best {one(lo)})" if np.isfinite(lo) else "not on course"
    return f"{one(w)} ({one(lo)} to {one(hi)})"


def _impact(ctx, all_ds, out: dict) -> None:
    from insights.operations.impact import impact_analysis

    p = ctx.params
    if not p.ops_event:
        return
    name = p.ops_event_name or "the change"
    res = impact_analysis(all_ds, p.ops_event, name=name)
    res = res[((res["level"] == "market") & (res["group"].astype(str) == str(ctx.market)))
              | ((res["level"] == "team") & (res["market"].astype(str) == str(ctx.market)))]
    out["data"]["impact"] = res
    sig = res[res["q"] <= p.alpha]
    out["sentences"].append(
        f"Impact of {name} ({pd.Timestamp(p.ops_event):%Y-%m-%d}): {len(sig)} of {len(res)} "
        f"market and team metrics changed beyond the change elsewhere (difference in "
        f"differences against the other markets, or the market's other teams; q <= "
        f"{p.alpha:g} over the whole table).")
    for r in sig.head(3).itertuples(index=False):
        unit = _unit(r.metric, p.currency)
        who = f"market {r.group}" if r.level == "market" else f"team {r.group}"
        text = (f"After {name}, the {_metric_words(r.metric)} of {who} changed by "
                f"{effect_text(r.effect, r.effect_low, r.effect_high, unit)} "
                f"{'beyond the rest' if r.design == 'diff-in-diff' else 'from before'} "
                f"(q = {r.q:.2g}).")
        out["items"].append(text)
        out["findings"].append(Finding("watch", text, KEY, value=float(r.effect), q=float(r.q)))
    if len(sig):
        units = [_unit(m, p.currency) for m in sig["metric"]]
        out["tables"][f"Impact of {name}"] = table(pd.DataFrame({
            "Group": sig["group"].astype(str),
            "Metric": [_metric_words(m) for m in sig["metric"]],
            "Design": sig["design"].astype(str),
            "Before": [_value_text(v, u) for v, u in zip(sig["before"], units, strict=True)],
            "After": [_value_text(v, u) for v, u in zip(sig["after"], units, strict=True)],
            "Effect (95% interval)": [effect_text(e, lo, hi, u) for e, lo, hi, u in zip(
                sig["effect"], sig["effect_low"], sig["effect_high"], units, strict=True)],
            "q": sig["q"].astype(float)}),
            {"Group": "text", "Metric": "text", "Design": "text", "Before": "text",
             "After": "text", "Effect (95% interval)": "text", "q": "pvalue"})


def _unit(metric: str, currency: str) -> str:
    if metric in ("accuracy", "agreement") or metric.startswith("share_"):
        return "rate"
    return "seconds" if metric == "handle_seconds" else currency


def _value_text(v: float, unit: str) -> str:
    if not np.isfinite(v):
        return "–"
    return f"{100 * v:.1f}%" if unit == "rate" else f"{v:.3g} {unit}"


def build(ctx) -> SectionResult:
    if not ctx.has_teams:
        return SectionResult(KEY, TITLE, note=(
            "BPO operations are read per vendor team: they need a team column (in labels or "
            "annotators)."))
    out: dict = {"sentences": [], "items": [], "tables": {}, "findings": [], "data": {}}
    ds = ctx.history
    _calibration(ctx, ds, out)
    _arbitration(ctx, ds, out)
    if ctx.has_times:
        cross = _cross_market(ctx)
        all_ds = cross["ds"]
        _confusions(ctx, cross, out)
        _onboarding(ctx, cross, out)
        _impact(ctx, all_ds, out)
    if not any(k in out["data"] for k in ("calibration_sessions", "overturn_rates",
                                          "onboarding", "impact", "confusions")) or (
            not out["tables"] and not out["sentences"]):
        return SectionResult(KEY, TITLE, note=NOTE)
    missing = [w for k, w in (("calibration_sessions", "calibration"),
                              ("overturn_rates", "arbitration")) if k not in out["data"]]
    if missing:
        out["sentences"].append(
            f"No {' or '.join(missing)} outcomes in the data: gold rows with source = "
            f"{' or '.join(missing)} (with a session column for calibration) enable "
            f"{'them' if len(missing) > 1 else 'it'}.")
    if not ctx.params.ops_event:
        out["sentences"].append("Set the parameter ops_event (a date) to measure the impact "
                                "of a policy change.")
    export = {f"operations_{k}": v.drop(columns=["examples"], errors="ignore")
              for k, v in out["data"].items() if isinstance(v, pd.DataFrame)}
    return SectionResult(KEY, TITLE, sentences=out["sentences"], items=out["items"],
                         tables=out["tables"], findings=out["findings"],
                         data={**out["data"], "tables": export})
