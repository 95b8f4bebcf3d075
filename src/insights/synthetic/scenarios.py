"""Scenario description: the label set, annotator types, planted effects and :data:`SCENARIOS`.

Part of :mod:`insights.synthetic`; import the names from there.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = [
    "LABEL_SET",
    "ANNOTATOR_TYPES",
    "AccuracyDrop",
    "KnowledgeGap",
    "MixShift",
    "Scenario",
    "SCENARIOS",
]

LABEL_SET: tuple[str, ...] = ("ok", "spam", "hate", "violence", "adult")

ANNOTATOR_TYPES = ("good", "mediocre", "biased", "new_hire", "spammer_uniform",
                   "spammer_constant", "model")


# --------------------------------------------------------------------------------------------
# scenario description
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccuracyDrop:
    """Team ``team`` of ``market`` loses ``magnitude`` accuracy from week ``week`` on.

    Every non-spammer member's confusion diagonal falls by ``magnitude`` (absolute, on every
    class in ``classes``, or on all classes when empty) for judgments with
    ``labeled_at >= start + week * 7 days``; the lost mass goes to the member's own error
    profile. ``week`` is 0-based.
    """

    market: str
    team: str
    week: int
    magnitude: float
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnowledgeGap:
    """Every non-spammer member of ``team`` labels true class ``true`` as ``given`` at ``rate``.

    The other entries of that confusion row are scaled to sum to ``1 - rate``. It holds for
    the whole period.
    """

    market: str
    team: str
    true: str
    given: str
    rate: float


@dataclass(frozen=True)
class MixShift:
    """In ``market``, from week ``week`` (0-based) on, class ``label``'s rate is multiplied by
    ``factor`` in every queue (the other classes are scaled down to keep the sum at 1)."""

    market: str
    week: int
    label: str
    factor: float


_DEFAULT_QUEUES = (
    # name, weekly items per market (before the market's scale), class mix over LABEL_SET
    ("feed", 400.0, (0.78, 0.06, 0.05, 0.06, 0.05)),
    ("comments", 300.0, (0.68, 0.12, 0.13, 0.04, 0.03)),
    ("ads", 150.0, (0.80, 0.12, 0.01, 0.01, 0.06)),
)


@dataclass(frozen=True)
class Scenario:
    """Everything :func:`simulate` needs to build an operation (immutable; use
    ``dataclasses.replace`` or ``simulate(..., **overrides)`` to vary it).

    Per-market and per-team tuples (``market_scale``, ``market_cost``, ``team_accuracy``,
    ``team_cost``) are used cyclically when there are more markets/teams than entries.

    Attributes
    ----------
    name : str
    label_set : tuple of str
        Classes, in the order used by every confusion matrix (rows = true class).
    markets : tuple of str
    queues : tuple of (name, weekly_items, class_mix)
        ``class_mix`` has one probability per class of ``label_set``.
    market_scale : tuple of float
        Volume multiplier per market.
    market_cost : tuple of float
        Price multiplier per market (applied to ``team_cost``).
    mix_concentration : float or None
        Each market's queue mix is ``Dirichlet(mix_concentration * mix)``; None keeps the
        queue mixes identical across markets.
    weeks : int
    start : str
        Monday of the first week (UTC).
    trend : float
        Mean weekly volume growth (fraction); each market x queue gets ``trend + N(0, trend_sd)``.
    trend_sd, seasonality, season_period, volume_noise : float, float, int, float
        See the module docstring.
    teams_per_market : int
        Teams are named ``{market}-T1 ... {market}-T{n}``.
    team_accuracy : tuple of float
        Mean diagonal of a good-but-typical member's confusion matrix, per team index.
    team_accuracy_sd : float
        Per market x team jitter of ``team_accuracy``.
    team_cost : tuple of float
        Price per label, per team index.
    annotator_mix : tuple of (type, count)
        Members of every team: ``good``, ``mediocre``, ``biased``, ``new_hire``.
    spammers_per_market : int
        Spammers added to randomly chosen teams of each market; half uniform (every row
        ``1/K``), half constant (always one label), starting with uniform.
    type_accuracy_offset : tuple of (type, float)
        Added to the team accuracy for each type.
    accuracy_sd : float
        Per annotator jitter of the accuracy.
    class_difficulty : tuple of (label, float)
        Added to every human's diagonal for that class (hard classes negative).
    error_concentration : float or None
        Each annotator's error profile (where the wrong answers go) is drawn from a Dirichlet
        with this concentration around the shared profile (harmful classes are mostly missed as
        the first class, e.g. ``ok``); None gives every annotator the shared profile.
    bias_rate : tuple of (float, float)
        A biased annotator moves a uniform-in-range share of one true class to one other class.
    workload_sd : float
        Log-normal spread of the annotators' workload weights.
    new_hire_weight : float
        Workload weight of a new hire relative to a typical annotator.
    new_hire_weeks : int
        New hires join in one of the last ``new_hire_weeks`` weeks.
    redundancy : tuple of float
        Probability of 1, 2, ... judgments per item (capped by the number of annotators).
    gold_share : float
        Share of items with a hidden gold answer (``source='benchmark'``).
    model_annotator : bool
        Add the model/LLM annotator ``llm-judge`` (kind ``model``, team ``llm``, market
        ``ALL``), which labels a share ``model_coverage`` of all items.
    model_accuracy : float
    model_blind_spots : tuple of (true, given, rate)
        Confusion rows where the model answers ``given`` for ``true`` at ``rate``.
    model_cost : float
    median_handle_seconds : float
    handle_sd : float
        Log-normal noise of one judgment's handle time.
    difficulty_effect : float
        Handle time multiplier per standard deviation of item difficulty is ``exp(this)``.
    label_delay_hours : float
        Mean delay between an item's creation and a human judgment.
    accuracy_drops, knowledge_gaps, mix_shifts : tuples of the effect dataclasses
        The planted effects.
    operations : bool
        Add BPO operations (calibration sessions, arbitration decisions, new teams that ramp
        up, a systemic confusion after a policy change) with
        :func:`insights.operations.simulate.add_operations` and its default plan.
    text_signal : float
        Share of an item text's five words drawn from its true class's word bank (the rest
        are neutral): how learnable the true class is from ``items.text``.
    n_features : int
        Numeric content columns ``f1 ... f<n>`` added to ``items`` (0: none). Item ``i``'s
        features are ``feature_signal * mu[z_i] + N(0, I)`` with class means ``mu`` drawn
        from N(0, I); they come from their own random stream (seeded by ``seed``), so adding
        them changes no other output.
    feature_signal : float
        Scale of the class means of the numeric features (how learnable the class is).
    """

    name: str = "custom"
    label_set: tuple[str, ...] = LABEL_SET
    markets: tuple[str, ...] = ("DE", "SG", "BR", "US")
    queues: tuple[tuple[str, float, tuple[float, ...]], ...] = _DEFAULT_QUEUES
    market_scale: tuple[float, ...] = (1.0, 0.8, 1.15, 0.9)
    market_cost: tuple[float, ...] = (1.0, 0.55, 0.45, 1.1)
    mix_concentration: float | None = 400.0
    weeks: int = 12
    start: str = "2026-01-05"
    trend: float = 0.015
    trend_sd: float = 0.01
    seasonality: float = 0.08
    season_period: int = 4
    volume_noise: float = 0.04
    teams_per_market: int = 3
    team_accuracy: tuple[float, ...] = (0.92, 0.87, 0.82)
    team_accuracy_sd: float = 0.015
    team_cost: tuple[float, ...] = (0.11, 0.08, 0.06)
    annotator_mix: tuple[tuple[str, int], ...] = (
        ("good", 4), ("mediocre", 2), ("biased", 1), ("new_hire", 2))
    spammers_per_market: int = 2
    type_accuracy_offset: tuple[tuple[str, float], ...] = (
        ("good", 0.04), ("mediocre", -0.12), ("biased", 0.0), ("new_hire", -0.08))
    accuracy_sd: float = 0.02
    class_difficulty: tuple[tuple[str, float], ...] = (
        ("ok", 0.03), ("hate", -0.04), ("violence", -0.02), ("adult", -0.01))
    error_concentration: float | None = 20.0
    bias_rate: tuple[float, float] = (0.3, 0.5)
    workload_sd: float = 0.3
    new_hire_weight: float = 0.25
    new_hire_weeks: int = 3
    redundancy: tuple[float, ...] = (0.15, 0.25, 0.40, 0.15, 0.05)
    gold_share: float = 0.04
    model_annotator: bool = True
    model_coverage: float = 0.6
    model_accuracy: float = 0.97
    model_blind_spots: tuple[tuple[str, str, float], ...] = (
        ("adult", "ok", 0.40), ("violence", "ok", 0.25))
    model_cost: float = 0.002
    median_handle_seconds: float = 28.0
    handle_sd: float = 0.3
    difficulty_effect: float = 0.35
    label_delay_hours: float = 5.0
    accuracy_drops: tuple[AccuracyDrop, ...] = (
        AccuracyDrop(market="DE", team="DE-T2", week=7, magnitude=0.15),)
    knowledge_gaps: tuple[KnowledgeGap, ...] = (
        KnowledgeGap(market="SG", team="SG-T1", true="hate", given="ok", rate=0.40),)
    mix_shifts: tuple[MixShift, ...] = (
        MixShift(market="BR", week=6, label="spam", factor=2.0),)
    operations: bool = False
    # learnable item content (insights.learning)
    text_signal: float = 0.45
    n_features: int = 0
    feature_signal: float = 1.0

    @property
    def start_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.start, tz="UTC")

    def week_start(self, week: int) -> pd.Timestamp:
        """UTC midnight starting 0-based ``week``."""
        return self.start_ts + pd.Timedelta(days=7 * int(week))


_SMALL_QUEUES = (
    ("feed", 60.0, (0.72, 0.08, 0.08, 0.06, 0.06)),
    ("comments", 60.0, (0.64, 0.12, 0.16, 0.04, 0.04)),
)

_SPARSE_QUEUES = (
    ("feed", 125.0, (0.6, 0.25, 0.15)),
    ("comments", 125.0, (0.5, 0.2, 0.3)),
)

SCENARIOS: dict[str, Scenario] = {
    # The reports' built-in operation: 4 markets x 3 queues x 3 teams, 12 weeks,
    # about 10k items and 35k judgments per market; every planted effect.
    "default": Scenario(name="default"),
    # Fast tests: 2 markets x 2 queues x 2 teams, 6 weeks, ~1.4k items; strong planted effects.
    "small": Scenario(
        name="small",
        markets=("DE", "SG"),
        queues=_SMALL_QUEUES,
        market_scale=(1.0, 1.0),
        market_cost=(1.0, 0.55),
        weeks=6,
        teams_per_market=2,
        team_accuracy=(0.9, 0.84),
        team_cost=(0.1, 0.07),
        annotator_mix=(("good", 3), ("mediocre", 1), ("biased", 1), ("new_hire", 1)),
        spammers_per_market=1,
        new_hire_weeks=2,
        accuracy_drops=(AccuracyDrop(market="DE", team="DE-T2", week=3, magnitude=0.2),),
        knowledge_gaps=(KnowledgeGap(market="SG", team="SG-T1", true="hate", given="ok",
                                     rate=0.5),),
        mix_shifts=(MixShift(market="DE", week=3, label="spam", factor=2.5),),
    ),
    # Nothing planted, for false-alarm tests: identical teams of identical good annotators,
    # the same class mix everywhere, flat volumes, a model annotator without blind spots.
    "null": Scenario(
        name="null",
        mix_concentration=None,
        trend=0.0,
        trend_sd=0.0,
        seasonality=0.0,
        team_accuracy=(0.88,),
        team_accuracy_sd=0.0,
        team_cost=(0.08,),
        annotator_mix=(("good", 8),),
        spammers_per_market=0,
        type_accuracy_offset=(("good", 0.0),),
        accuracy_sd=0.0,
        error_concentration=None,
        workload_sd=0.0,
        model_blind_spots=(),
        accuracy_drops=(),
        knowledge_gaps=(),
        mix_shifts=(),
    ),
    # Many low-volume annotators and spammers (the hierarchical model's test problem):
    # 2 markets x 4 teams x 15 annotators + 12 spammers, K = 3, ~2k items, ~6k judgments.
    "sparse": Scenario(
        name="sparse",
        label_set=("ok", "spam", "abuse"),
        markets=("DE", "SG"),
        queues=_SPARSE_QUEUES,
        market_scale=(1.0, 1.0),
        market_cost=(1.0, 0.55),
        weeks=4,
        teams_per_market=4,
        team_accuracy=(0.88, 0.8, 0.74, 0.84),
        team_accuracy_sd=0.02,
        team_cost=(0.1, 0.07, 0.05, 0.08),
        annotator_mix=(("good", 8), ("mediocre", 4), ("biased", 1), ("new_hire", 2)),
        spammers_per_market=6,
        accuracy_sd=0.05,
        class_difficulty=(),
        workload_sd=1.2,
        redundancy=(0.1, 0.2, 0.4, 0.2, 0.1),
        model_annotator=False,
        model_blind_spots=(),
        accuracy_drops=(),
        knowledge_gaps=(),
        mix_shifts=(),
    ),
}


# The default operation plus BPO operations (insights.operations.simulate): calibration
# sessions, arbitration decisions, new teams ramping up, a systemic confusion.
SCENARIOS["operations"] = Scenario(name="operations", operations=True)


def _validate_scenario(sc: Scenario) -> None:
    k = len(sc.label_set)
    if len(set(sc.label_set)) != k or k < 2:
        raise ValueError(f"scenario {sc.name!r}: label_set must hold >= 2 distinct labels, "
                         f"got {list(sc.label_set)}")
    for name, vol, mix in sc.queues:
        if len(mix) != k:
            raise ValueError(f"scenario {sc.name!r}: queue {name!r} has {len(mix)} class "
                             f"probabilities; expected {k} (one per label of {list(sc.label_set)})")
        if vol <= 0 or min(mix) < 0 or sum(mix) <= 0:
            raise ValueError(f"scenario {sc.name!r}: queue {name!r} needs a positive volume and "
                             f"non-negative class mix")
    if not 0.0 <= sc.text_signal <= 1.0 or sc.n_features < 0:
        raise ValueError(f"scenario {sc.name!r}: text_signal must be in [0, 1] and n_features "
                         f">= 0, got {sc.text_signal} and {sc.n_features}")
    if sc.weeks < 1 or sc.teams_per_market < 1:
        raise ValueError(f"scenario {sc.name!r}: weeks and teams_per_market must be >= 1")
    for t, _ in sc.annotator_mix:
        if t not in ("good", "mediocre", "biased", "new_hire"):
            raise ValueError(f"scenario {sc.name!r}: annotator_mix type {t!r}; expected one of "
                             f"good, mediocre, biased, new_hire")
    teams = {f"{m}-T{i + 1}" for m in sc.markets for i in range(sc.teams_per_market)}
    labels = set(sc.label_set)
    for eff in (*sc.accuracy_drops, *sc.knowledge_gaps, *sc.mix_shifts):
        if eff.market not in sc.markets:
            raise ValueError(f"scenario {sc.name!r}: {eff} refers to market {eff.market!r}, "
                             f"not one of {list(sc.markets)}")
        team = getattr(eff, "team", None)
        if team is not None and (team not in teams or not team.startswith(f"{eff.market}-")):
            raise ValueError(f"scenario {sc.name!r}: {eff} refers to team {team!r}, not a team "
                             f"of market {eff.market!r}")
        week = getattr(eff, "week", None)
        if week is not None and not 0 < week < sc.weeks:
            raise ValueError(f"scenario {sc.name!r}: {eff} starts in week {week}; expected "
                             f"1..{sc.weeks - 1} so there is a before and an after")
        for lab in (getattr(eff, "true", None), getattr(eff, "given", None),
                    getattr(eff, "label", None), *getattr(eff, "classes", ())):
            if lab is not None and lab not in labels:
                raise ValueError(f"scenario {sc.name!r}: {eff} uses label {lab!r}, not in "
                                 f"{list(sc.label_set)}")
    if sc.model_annotator:
        for true, given, _ in sc.model_blind_spots:
            if true not in labels or given not in labels:
                raise ValueError(f"scenario {sc.name!r}: model blind spot {true!r}->{given!r} "
                                 f"uses a label outside {list(sc.label_set)}")
