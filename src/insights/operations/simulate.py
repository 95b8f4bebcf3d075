r"""Simulated BPO operations with known truth, on top of :func:`insights.synthetic.simulate`.

:func:`simulate_operations` takes a simulated operation and adds, from an independent random
stream (``numpy.random.default_rng([seed, 15])``), what issue 15 needs:

* **new teams that ramp up** (:class:`NewTeam`): members whose confusion matrix moves from a
  novice one to a proficient one, :math:`C(t) = w(t) C_0 + (1 - w(t)) C_\infty` with
  :math:`w(t) = e^{-t/\tau}` and :math:`t` the weeks since the team's start. Both matrices have
  a constant diagonal (``accuracy_start``, ``accuracy_final``), so the expected accuracy under
  any class mix is :math:`A(t) = A_\infty - (A_\infty - A_0) e^{-t/\tau}` and the time to
  reach a target :math:`A^*` is :math:`\tau \ln\frac{A_\infty - A_0}{A_\infty - A^*}`
  (recorded in the truth as ``weeks_to_target``). The team labels a share of its market's
  items created after its start, one judgment per item, on top of the existing ones;
* **a systemic confusion after a policy change** (:class:`SystemicConfusion`): from a week on,
  every human judgment in the market whose item's true class is ``true`` is replaced by
  ``given`` with probability ``rate`` (all teams alike);
* **calibration sessions** (:class:`CalibrationPlan`): every ``every_weeks`` weeks each
  market's active human annotators label the same ``items`` new items (classes drawn uniformly,
  as calibration sets are enriched for the rare classes) with the confusion in effect that day;
  the expert's answer is the truth (gold ``source = calibration`` with a ``session`` column);
* **arbitration decisions**: a share of the disputed items without gold get an expert decision
  (the truth) ``decided_at`` an exponential delay after their last judgment (gold
  ``source = arbitration``).

The result is a :class:`insights.synthetic.Simulation` whose ``truth.planted`` lists the new
effects (``new_team``, ``systemic_confusion``, ``calibration``, ``arbitration``) beside the
simulator's own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from insights import synthetic
from insights.synthetic import Scenario, Simulation

__all__ = ["CalibrationPlan", "NewTeam", "SystemicConfusion", "OperationsPlan", "default_plan",
           "simulate_operations", "add_operations", "ramp_accuracy", "weeks_to_target"]

WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class CalibrationPlan:
    """Sessions in weeks ``first_week, first_week + every_weeks, ...`` of ``items`` items."""

    every_weeks: int = 2
    first_week: int = 1
    items: int = 20


@dataclass(frozen=True)
class NewTeam:
    """A team joining ``market`` in week ``start_week`` (0-based) and ramping up."""

    market: str
    team: str
    start_week: int
    members: int = 6
    accuracy_start: float = 0.62
    accuracy_final: float = 0.92
    tau_weeks: float = 1.5
    share: float = 0.35
    cost_per_label: float = 0.06


@dataclass(frozen=True)
class SystemicConfusion:
    """From week ``week`` on, every human of ``market`` labels ``true`` as ``given`` at ``rate``
    (on top of their own confusion: the label is replaced with probability ``rate``)."""

    market: str
    week: int
    true: str
    given: str
    rate: float = 0.3


@dataclass(frozen=True)
class OperationsPlan:
    """What :func:`simulate_operations` adds; ``target_accuracy`` defines time to proficiency."""

    calibration: CalibrationPlan | None = CalibrationPlan()
    arbitration_share: float = 0.1
    arbitration_delay_hours: float = 24.0
    new_teams: tuple[NewTeam, ...] = ()
    systemic: tuple[SystemicConfusion, ...] = ()
    target_accuracy: float = 0.85


def ramp_accuracy(t_weeks, start: float, final: float, tau: float) -> np.ndarray:
    """:math:`A(t) = A_\\infty - (A_\\infty - A_0) e^{-t/\\tau}` (``t < 0``: ``nan``)."""
    t = np.asarray(t_weeks, float)
    return np.where(t >= 0, final - (final - start) * np.exp(-np.maximum(t, 0) / tau), np.nan)


def weeks_to_target(start: float, final: float, tau: float, target: float) -> float:
    """Weeks until :func:`ramp_accuracy` reaches ``target`` (inf when it never does)."""
    if target <= start:
        return 0.0
    if target >= final:
        return float("inf")
    return float(tau * np.log((final - start) / (final - target)))


def default_plan(sc: Scenario) -> OperationsPlan:
    """The plan used when none is given, derived from the scenario.

    New teams in the first (up to) three markets, starting at weeks ``W/6``, ``W/3``,
    ``W/2 - 1`` of ``W`` weeks; the third ramps up slowly (``tau = 3`` weeks instead of 1.5), so it
    is behind the curve of the earlier two. A systemic confusion in the last market: from week
    ``W/2`` its most frequent harmful class (that no planted knowledge gap of the market uses)
    is labelled as the first class (benign) at rate 0.3.
    """
    markets = list(sc.markets)
    w = sc.weeks
    starts = [max(1, w // 6), max(1, w // 3), max(1, w // 2 - 1)]
    taus = [1.5, 1.5, 3.0]
    teams = tuple(NewTeam(market=m, team=f"{m}-N1", start_week=starts[i], tau_weeks=taus[i])
                  for i, m in enumerate(markets[: min(3, max(len(markets) - 1, 1))]))
    systemic: tuple[SystemicConfusion, ...] = ()
    if len(markets) >= 2:
        market = markets[-1]
        used = {g.true for g in sc.knowledge_gaps if g.market == market}
        mix = np.mean([np.asarray(q[2], float) / sum(q[2]) for q in sc.queues], axis=0)
        order = [c for c in np.argsort(-mix, kind="stable") if c != 0
                 and sc.label_set[c] not in used]
        if order:
            systemic = (SystemicConfusion(market=market, week=max(1, w // 2),
                                          true=sc.label_set[order[0]],
                                          given=sc.label_set[0]),)
    return OperationsPlan(new_teams=teams, systemic=systemic)


def _confusion(acc: float, k: int) -> np.ndarray:
    prof = synthetic._shared_error_profile(k)
    return synthetic._confusion(np.full(k, acc), prof)


def simulate_operations(scenario: str | Scenario = "default", seed: int = 0,
                        plan: OperationsPlan | None = None, **overrides) -> Simulation:
    """A simulated operation with calibration, arbitration, new teams and a systemic confusion.

    Parameters
    ----------
    scenario, seed, **overrides
        As :func:`insights.synthetic.simulate`.
    plan : OperationsPlan, optional
        Default :func:`default_plan` of the scenario. ``OperationsPlan(calibration=None,
        arbitration_share=0)`` adds nothing.

    Returns
    -------
    insights.synthetic.Simulation
    """
    base = synthetic.simulate(scenario, seed=seed, **{**overrides, "operations": False})
    return add_operations(base, plan)


def add_operations(sim: Simulation, plan: OperationsPlan | None = None) -> Simulation:
    """``sim`` with the operations of ``plan`` (default :func:`default_plan`) added, drawn
    from ``numpy.random.default_rng([sim.seed, 15])``; ``sim`` itself is not modified."""
    plan = default_plan(sim.scenario) if plan is None else plan
    out = _OpsBuilder(sim, plan, np.random.default_rng([sim.seed, 15])).run()
    out.scenario = dataclasses.replace(sim.scenario, operations=True)
    return out


class _OpsBuilder:
    def __init__(self, base: Simulation, plan: OperationsPlan, rng: np.random.Generator):
        self.base, self.plan, self.rng = base, plan, rng
        self.sc = base.scenario
        self.classes = list(self.sc.label_set)
        self.k = len(self.classes)
        self.labels = base.labels.copy()
        self.gold = base.gold.copy()
        self.items = base.items.copy()
        self.annotators = base.annotators.copy()
        self.truth = base.truth.true_labels.copy()
        self.conf = dict(base.truth.confusions)
        self.types = base.truth.annotator_types.copy()
        self.acc = base.truth.true_accuracy.copy()
        self.planted = list(base.truth.planted)
        self.ramp: dict[str, NewTeam] = {}     # member -> their team's plan

    def run(self) -> Simulation:
        for nt in self.plan.new_teams:
            self._new_team(nt)
        if self.plan.calibration is not None:
            self._calibration(self.plan.calibration)
        for sy in self.plan.systemic:
            self._systemic(sy)
        if self.plan.arbitration_share > 0:
            self._arbitration()
        labels = self.labels.sort_values(["labeled_at", "item_id", "annotator_id"],
                                         kind="stable").reset_index(drop=True)
        truth = dataclasses.replace(
            self.base.truth, true_labels=self.truth, confusions=self.conf,
            annotator_types=self.types, true_accuracy=self.acc, planted=self.planted)
        return Simulation(labels=labels, gold=self.gold.reset_index(drop=True),
                          annotators=self.annotators.reset_index(drop=True),
                          items=self.items.reset_index(drop=True), truth=truth,
                          scenario=self.sc, seed=self.base.seed)

    # -----------------------------------------------------------------------------------
    def _new_team(self, nt: NewTeam) -> None:
        rng, sc, k = self.rng, self.sc, self.k
        if nt.market not in sc.markets:
            raise ValueError(f"NewTeam {nt.team!r}: market {nt.market!r} is not one of "
                             f"{list(sc.markets)}")
        if not 0 <= nt.start_week < sc.weeks:
            raise ValueError(f"NewTeam {nt.team!r}: start_week {nt.start_week} outside "
                             f"0..{sc.weeks - 1}")
        t0 = sc.week_start(nt.start_week)
        items = self.items[(self.items["market"] == nt.market) & (self.items["created_at"] >= t0)]
        items = items[rng.random(len(items)) < nt.share]
        members = [f"{nt.team}-a{i + 1:02d}" for i in range(nt.members)]
        who = rng.integers(0, nt.members, len(items))
        delay = rng.exponential(sc.label_delay_hours * 3600.0, len(items)) + 30
        at = (items["created_at"].reset_index(drop=True)
              + pd.Series(pd.to_timedelta(delay, unit="s")))
        t = ((at - t0).dt.total_seconds() / WEEK.total_seconds()).to_numpy()
        w = np.exp(-t / nt.tau_weeks)
        c0, c1 = _confusion(nt.accuracy_start, k), _confusion(nt.accuracy_final, k)
        true = pd.Index(self.classes).get_indexer(self.truth.reindex(items["item_id"]))
        probs = w[:, None] * c0[true] + (1 - w[:, None]) * c1[true]
        given = synthetic._sample_rows(rng, probs)
        handle = sc.median_handle_seconds * 1.3 * np.exp(rng.normal(0, sc.handle_sd, len(items)))
        new = pd.DataFrame({
            "item_id": items["item_id"].to_numpy(),
            "annotator_id": np.asarray(members, dtype=object)[who],
            "label": np.asarray(self.classes, dtype=object)[given],
            "market": nt.market, "queue": items["queue"].to_numpy(), "team": nt.team,
            "labeled_at": at.to_numpy(), "handle_seconds": np.round(handle, 1),
            "cost": nt.cost_per_label})
        self.labels = pd.concat([self.labels, new], ignore_index=True)
        self.annotators = pd.concat([self.annotators, pd.DataFrame({
            "annotator_id": members, "team": nt.team, "market": nt.market, "kind": "human",
            "cost_per_label": nt.cost_per_label, "capacity_per_day": 900.0})], ignore_index=True)
        for i, m in enumerate(members):
            wbar = float(w[who == i].mean()) if (who == i).any() else 1.0
            self.conf[m] = wbar * c0 + (1 - wbar) * c1
            self.types[m] = "new_team"
            self.acc[m] = wbar * nt.accuracy_start + (1 - wbar) * nt.accuracy_final
            self.ramp[m] = nt
        self.planted.append({
            "effect": "new_team", "market": nt.market, "team": nt.team,
            "week": nt.start_week, "week_start": t0.date().isoformat(),
            "members": members, "accuracy_start": nt.accuracy_start,
            "accuracy_final": nt.accuracy_final, "tau_weeks": nt.tau_weeks,
            "target_accuracy": self.plan.target_accuracy,
            "weeks_to_target": round(weeks_to_target(nt.accuracy_start, nt.accuracy_final,
                                                     nt.tau_weeks, self.plan.target_accuracy), 6),
            "n_judgments": len(new)})

    def _conf_at(self, aid: str, when: pd.Timestamp) -> np.ndarray:
        nt = self.ramp.get(aid)
        if nt is not None:
            t = (when - self.sc.week_start(nt.start_week)) / WEEK
            w = np.exp(-max(t, 0.0) / nt.tau_weeks)
            return w * _confusion(nt.accuracy_start, self.k) + (1 - w) * _confusion(
                nt.accuracy_final, self.k)
        before = self.base.truth.confusions_before
        if aid in before:
            drop = next(d for d in self.sc.accuracy_drops
                        if aid in {p for e in self.planted if e.get("effect") == "accuracy_drop"
                                   and e["team"] == d.team for p in e["annotators"]})
            after = when >= self.sc.week_start(drop.week)
            return (self.base.truth.confusions_after if after else before)[aid]
        return self.conf[aid]

    def _calibration(self, cp: CalibrationPlan) -> None:
        rng, sc = self.rng, self.sc
        first_seen = self.labels.groupby("annotator_id")["labeled_at"].min()
        ann = self.annotators.set_index("annotator_id")
        team_of, cost_of = ann["team"].to_dict(), ann["cost_per_label"].to_dict()
        lab_rows, gold_rows, item_rows, new_truth = [], [], [], {}
        n_sessions = 0
        for market in sc.markets:
            for week in range(cp.first_week, sc.weeks, cp.every_weeks):
                when = sc.week_start(week) + pd.Timedelta(days=1, hours=10)
                session = f"{market}-cal-w{week:02d}"
                active = [a for a in ann.index[(ann["market"] == market)
                                               & (ann["kind"] == "human")]
                          if a in first_seen.index and first_seen[a] <= when]
                if len(active) < 2:
                    continue
                n_sessions += 1
                true = rng.integers(0, self.k, cp.items)
                ids = [f"{session}-{i + 1:03d}" for i in range(cp.items)]
                for i, item in enumerate(ids):
                    new_truth[item] = self.classes[true[i]]
                    item_rows.append((item, market, "calibration", when, "calibration item"))
                    gold_rows.append((item, self.classes[true[i]], "calibration",
                                      when + pd.Timedelta(hours=3), session))
                for a in active:
                    c = self._conf_at(a, when)
                    given = synthetic._sample_rows(rng, c[true])
                    at = when + pd.to_timedelta(rng.integers(60, 7200, cp.items), unit="s")
                    secs = np.round(40 * np.exp(rng.normal(0, 0.3, cp.items)), 1)
                    for i, item in enumerate(ids):
                        lab_rows.append((item, a, self.classes[given[i]], market, "calibration",
                                         team_of[a], at[i], float(secs[i]),
                                         float(cost_of[a])))
        self.truth = pd.concat([self.truth, pd.Series(new_truth, dtype=object)]).rename(
            self.truth.name).rename_axis(self.truth.index.name)
        cols = ["item_id", "annotator_id", "label", "market", "queue", "team", "labeled_at",
                "handle_seconds", "cost"]
        self.labels = pd.concat([self.labels, pd.DataFrame(lab_rows, columns=cols)],
                                ignore_index=True)
        self.items = pd.concat([self.items, pd.DataFrame(
            item_rows, columns=["item_id", "market", "queue", "created_at", "text"])],
            ignore_index=True)
        self.gold = pd.concat([self.gold, pd.DataFrame(
            gold_rows, columns=["item_id", "label", "source", "decided_at", "session"])],
            ignore_index=True)
        self.planted.append({"effect": "calibration", "sessions": n_sessions,
                             "items_per_session": cp.items, "every_weeks": cp.every_weeks})

    def _systemic(self, sy: SystemicConfusion) -> None:
        t0 = self.sc.week_start(sy.week)
        lab = self.labels
        kinds = self.annotators.set_index("annotator_id")["kind"]
        true = lab["item_id"].map(self.truth)
        hit = ((lab["market"] == sy.market) & (lab["labeled_at"] >= t0) & (true == sy.true)
               & (lab["annotator_id"].map(kinds) == "human")).to_numpy()
        flip = hit & (self.rng.random(len(lab)) < sy.rate)
        self.labels.loc[flip, "label"] = sy.given
        teams = sorted(pd.unique(lab.loc[(lab["market"] == sy.market).to_numpy() & (
            lab["annotator_id"].map(kinds) == "human").to_numpy(), "team"]))
        self.planted.append({
            "effect": "systemic_confusion", "market": sy.market, "week": sy.week,
            "week_start": t0.date().isoformat(), "true": sy.true, "given": sy.given,
            "rate": sy.rate, "teams": teams, "n_judgments_affected": int(hit.sum())})

    def _arbitration(self) -> None:
        rng = self.rng
        lab = self.labels
        g = lab.groupby("item_id")
        n_lab = g["label"].nunique()
        disputed = n_lab.index[(n_lab > 1) & ~n_lab.index.isin(self.gold["item_id"])]
        pick = disputed[rng.random(len(disputed)) < self.plan.arbitration_share]
        last = g["labeled_at"].max().reindex(pick)
        delay = rng.exponential(self.plan.arbitration_delay_hours, len(pick)) + 1.0
        decided = last + pd.to_timedelta(delay, unit="h")
        self.gold = pd.concat([self.gold, pd.DataFrame({
            "item_id": pick.to_numpy(), "label": self.truth.reindex(pick).to_numpy(),
            "source": "arbitration", "decided_at": decided.to_numpy()})], ignore_index=True)
        self.planted.append({
            "effect": "arbitration", "n_items": len(pick),
            "delay_hours_mean": self.plan.arbitration_delay_hours + 1.0,
            "delay_hours_median": round(self.plan.arbitration_delay_hours * np.log(2) + 1.0, 6)})
