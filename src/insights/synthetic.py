"""A simulated content-labeling operation with known truth.

:func:`simulate` builds an operation the way DESIGN.md describes it ("The default data"):
several markets, queues with different class mixes, vendor teams of varying quality,
annotators with confusion matrices (good, mediocre, biased, spammers, new hires with few
labels), a model/LLM annotator with blind spots, hidden gold items, weeks of timestamps,
handle times and costs — and planted effects (a team's accuracy drop after a date, a team's
knowledge gap ``a -> b``, a market whose class mix shifts). It returns the four tables of the
data contract plus :class:`Truth`, so tests can check that each model recovers what was planted.

Generative model
----------------
For market ``m``, queue ``q`` and week ``w`` the number of new items is

.. math:: n_{mqw} \\sim \\mathrm{Poisson}\\big(b_q s_m (1+g_{mq})^w
          (1 + A \\sin(2\\pi w / P + \\phi_{mq})) e^{\\varepsilon_{mqw}}\\big),
          \\quad \\varepsilon \\sim N(0, \\sigma^2)

(a trend, a seasonal cycle and noise, so a forecast is meaningful). Each item's true class is
drawn from the queue's class mix (perturbed per market, shifted after a planted date). Each item
gets ``r`` judgments (``r`` from ``Scenario.redundancy``) from distinct human annotators of its
market, drawn with probability proportional to their workload weight among those already hired
(Gumbel top-``r`` sampling). Annotator ``j`` answers class ``l`` for an item of true class
``k`` with probability ``C_j[k, l]``, the row-stochastic confusion matrix of their type; the
confusion switches at the planted date for the team with the accuracy drop. Handle times are
log-normal (annotator speed x item difficulty), costs are the team's price per label.

Everything is drawn from one ``numpy.random.default_rng(seed)``: the same scenario and seed
give identical tables.

Examples
--------
>>> from insights import synthetic
>>> sim = synthetic.simulate("small", seed=1)
>>> ds = sim.dataset()                      # a validated insights.data.Dataset
>>> sim.truth.planted[0]["effect"]
'accuracy_drop'
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insights import _io
from insights import data as _data

__all__ = [
    "LABEL_SET",
    "AccuracyDrop",
    "KnowledgeGap",
    "MixShift",
    "Scenario",
    "SCENARIOS",
    "Truth",
    "Simulation",
    "simulate",
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


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass
class Truth:
    """What the simulator knows and the data does not say.

    Attributes
    ----------
    true_labels : pandas.Series
        item_id -> true class.
    confusions : dict of str -> numpy.ndarray
        annotator_id -> K x K row-stochastic matrix (rows: true class, columns: given label,
        both in ``label_set`` order). For an annotator whose confusion changes over time it is
        the effective matrix over the whole period (each row the mix of before and after
        weighted by that annotator's judgments of that true class) — what a static
        Dawid-Skene model estimates; see ``confusions_before`` / ``confusions_after``.
    confusions_before, confusions_after : dict of str -> numpy.ndarray
        For annotators whose confusion changes (the accuracy-drop team): the matrix before and
        from the planted date.
    annotator_types : pandas.Series
        annotator_id -> one of ``good``, ``mediocre``, ``biased``, ``new_hire``,
        ``spammer_uniform``, ``spammer_constant``, ``model``.
    true_accuracy : pandas.Series
        annotator_id -> expected accuracy ``sum_k pi_k C[k, k]`` under the class mix ``pi`` of
        the annotator's market (all markets for the model), using ``confusions``.
    planted : list of dict
        One dict per planted effect, with ``effect`` (``accuracy_drop``, ``knowledge_gap``,
        ``mix_shift``), ``market``, ``team`` (where relevant), ``week`` (0-based),
        ``week_start`` (ISO date), the classes and the magnitudes, plus the expected rates
        before and after.
    label_set : list of str
    class_mix : pandas.DataFrame
        The generating class probabilities: ``market``, ``queue``, ``week``, ``week_start``
        and one column per class.
    volume : pandas.DataFrame
        ``market``, ``queue``, ``week``, ``week_start``, ``expected`` (noise-free mean),
        ``mean`` (the Poisson mean after noise) and ``n_items``.
    item_difficulty : pandas.Series
        item_id -> standard-normal difficulty (drives handle time).
    """

    true_labels: pd.Series
    confusions: dict[str, np.ndarray]
    confusions_before: dict[str, np.ndarray]
    confusions_after: dict[str, np.ndarray]
    annotator_types: pd.Series
    true_accuracy: pd.Series
    planted: list[dict[str, Any]]
    label_set: list[str]
    class_mix: pd.DataFrame
    volume: pd.DataFrame
    item_difficulty: pd.Series


@dataclass
class Simulation:
    """A simulated operation: the data contract's four tables and the truth behind them.

    Attributes
    ----------
    labels, gold, annotators, items : pandas.DataFrame
        Exactly the columns of DESIGN.md's data contract (``items`` adds ``text``).
    truth : Truth
    scenario : Scenario
    seed : int
    """

    labels: pd.DataFrame
    gold: pd.DataFrame
    annotators: pd.DataFrame
    items: pd.DataFrame
    truth: Truth
    scenario: Scenario
    seed: int
    _dataset: _data.Dataset | None = field(default=None, repr=False, compare=False)

    def dataset(self) -> _data.Dataset:
        """The tables validated by :func:`insights.data.validate`, as a Dataset.

        The fingerprint is :func:`insights.data.fingerprint_frames` of the four tables.
        """
        if self._dataset is None:
            label_set = list(self.truth.label_set)
            tables = {
                kind: _data.validate(getattr(self, kind), kind, source=f"simulated {kind}",
                                     label_set=label_set if kind in ("labels", "gold") else None,
                                     label_set_origin=f"scenario {self.scenario.name!r}")
                if len(getattr(self, kind)) else None  # e.g. gold_share=0: no gold table
                for kind in _data.TABLES
            }
            src = f"insights.synthetic.simulate(scenario={self.scenario.name!r}, seed={self.seed})"
            self._dataset = _data.Dataset(
                **tables,
                label_set=label_set,
                fingerprint=_data.fingerprint_frames(
                    labels=self.labels, gold=self.gold, annotators=self.annotators,
                    items=self.items),
                sources=dict.fromkeys(_data.TABLES, src),
            )
        return self._dataset

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write the tables and the truth to ``out_dir`` (each file atomically).

        Files: ``labels.csv``, ``gold.csv``, ``annotators.csv``, ``items.csv`` (the data
        contract, loadable with ``insights.data.load(out_dir)``; ``gold.csv`` is left out when
        ``gold_share=0`` leaves no gold) and the truth:
        ``truth_labels.csv`` (item_id, label), ``truth_annotators.csv`` (annotator_id, type,
        true_accuracy), ``confusions.csv`` (annotator_id, true, given, p; the effective
        matrices), ``confusion_changes.csv`` (annotator_id, period [before/after], true, given,
        p), ``class_mix.csv``, ``volume.csv`` and ``planted.json`` (scenario, seed, label set
        and the list of planted effects).

        Returns
        -------
        dict
            File stem -> path written.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        t = self.truth
        written: dict[str, Path] = {}
        for name in _data.TABLES:
            df = getattr(self, name)
            if len(df):  # an empty table is not written (the loader rejects empty files)
                written[name] = _io.write_table(_csv_ready(df), out / f"{name}.csv")
        written["truth_labels"] = _io.write_table(
            t.true_labels.rename("label").rename_axis("item_id").reset_index(),
            out / "truth_labels.csv")
        written["truth_annotators"] = _io.write_table(
            pd.DataFrame({"annotator_id": t.annotator_types.index,
                          "type": t.annotator_types.to_numpy(),
                          "true_accuracy": t.true_accuracy.reindex(t.annotator_types.index)
                          .round(6).to_numpy()}),
            out / "truth_annotators.csv")
        written["confusions"] = _io.write_table(
            _long_confusions(t.confusions, t.label_set), out / "confusions.csv")
        changes = [
            _long_confusions(d, t.label_set).assign(period=period)
            for period, d in (("before", t.confusions_before), ("after", t.confusions_after))
        ]
        ch = pd.concat(changes, ignore_index=True)[["annotator_id", "period", "true", "given", "p"]]
        written["confusion_changes"] = _io.write_table(ch, out / "confusion_changes.csv")
        written["class_mix"] = _io.write_table(_csv_ready(t.class_mix), out / "class_mix.csv")
        written["volume"] = _io.write_table(_csv_ready(t.volume), out / "volume.csv")
        meta = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "label_set": list(t.label_set),
            "planted": t.planted,
        }
        written["planted"] = _io.write_text(out / "planted.json",
                                            json.dumps(meta, indent=2, default=str) + "\n")
        return written


def _csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    """ISO 8601 UTC timestamps (``2026-01-05T14:03:22Z``) for CSV output."""
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return df


def _long_confusions(conf: Mapping[str, np.ndarray], label_set) -> pd.DataFrame:
    ids = list(conf)
    k = len(label_set)
    if not ids:
        return pd.DataFrame({"annotator_id": [], "true": [], "given": [], "p": []})
    arr = np.stack([conf[a] for a in ids])
    labs = np.asarray(label_set, dtype=object)
    return pd.DataFrame({
        "annotator_id": np.repeat(np.asarray(ids, dtype=object), k * k),
        "true": np.tile(np.repeat(labs, k), len(ids)),
        "given": np.tile(np.tile(labs, k), len(ids)),
        "p": np.round(arr.reshape(-1), 6),
    })


# --------------------------------------------------------------------------------------------
# helpers for confusion matrices
# --------------------------------------------------------------------------------------------
def _cyc(values: tuple, i: int):
    return values[i % len(values)]


def _shared_error_profile(k: int) -> np.ndarray:
    """Where wrong answers go: class 0 (benign) errs uniformly; harmful classes are missed as
    class 0 half of the time and otherwise confused uniformly among the other harmful ones."""
    e = np.zeros((k, k))
    if k == 1:
        return e
    e[0, 1:] = 1.0 / (k - 1)
    for c in range(1, k):
        if k == 2:
            e[c, 0] = 1.0
            continue
        e[c, 0] = 0.5
        others = [j for j in range(1, k) if j != c]
        e[c, others] = 0.5 / len(others)
    return e


def _confusion(diag: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Row-stochastic matrix with the given diagonal and off-diagonal shape ``profile``."""
    k = len(diag)
    c = profile * (1.0 - diag)[:, None]
    c[np.arange(k), np.arange(k)] = diag
    return c


def _sample_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (n x K), vectorised."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _expected_accuracy(conf: np.ndarray, mix: np.ndarray) -> float:
    return float(np.dot(mix, np.diag(conf)))


# --------------------------------------------------------------------------------------------
# the simulator
# --------------------------------------------------------------------------------------------
_WORDS = {
    "ok": ["recipe", "holiday", "football", "garden", "music", "birthday", "coffee", "weather",
           "movie", "puppy", "school", "hiking"],
    "spam": ["free", "click", "winner", "crypto", "discount", "followers", "limited", "offer",
             "earn", "link", "promo", "giveaway"],
    "hate": ["vermin", "those people", "go back", "inferior", "slur", "subhuman", "invaders",
             "not welcome", "filth", "scum", "purge", "ban them"],
    "violence": ["fight", "beat", "weapon", "attack", "blood", "shoot", "stab", "threat",
                 "burn", "hurt", "kill", "riot"],
    "adult": ["nsfw", "explicit", "nude", "18+", "onlyfans", "hot pics", "xxx", "lingerie",
              "cam", "strip", "escort", "spicy"],
}
_NEUTRAL = ["today", "people", "new", "look", "this", "video", "post", "friends", "city",
            "again", "really", "photo", "week", "best", "everyone", "thread"]


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


def simulate(scenario: str | Scenario = "default", seed: int = 0, **overrides) -> Simulation:
    """Simulate a content-labeling operation with known truth.

    Parameters
    ----------
    scenario : str or Scenario, default "default"
        A name in :data:`SCENARIOS` (``default``, ``small``, ``null``, ``sparse``) or a
        :class:`Scenario`.
    seed : int, default 0
        Seed of the single ``numpy.random.default_rng`` used for every draw.
    **overrides
        Scenario fields to replace, e.g. ``weeks=8`` or ``accuracy_drops=()``.

    Returns
    -------
    Simulation
        ``labels``, ``gold``, ``annotators``, ``items`` and ``truth``.
    """
    if isinstance(scenario, str):
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; expected one of {list(SCENARIOS)}")
        sc = SCENARIOS[scenario]
    else:
        sc = scenario
    if overrides:
        sc = dataclasses.replace(sc, **overrides)
    _validate_scenario(sc)
    rng = np.random.default_rng(seed)
    sim = _Builder(sc, rng, seed).run()
    if sc.operations:
        from insights.operations.simulate import add_operations

        sim = add_operations(sim)
    return sim


class _Builder:
    """Draws one operation; kept as a class only to share arrays between the steps."""

    def __init__(self, sc: Scenario, rng: np.random.Generator, seed: int):
        self.sc = sc
        self.rng = rng
        self.seed = seed
        self.k = len(sc.label_set)
        self.lab_index = {lab: i for i, lab in enumerate(sc.label_set)}
        self.start_s = int(sc.start_ts.timestamp())

    # ---------------------------------------------------------------------------------------
    def run(self) -> Simulation:
        self._mixes_and_volumes()
        self._items()
        self._annotators()
        self._judgments()
        return self._assemble()

    # ---------------------------------------------------------------------------------------
    def _mixes_and_volumes(self) -> None:
        sc, rng, k = self.sc, self.rng, self.k
        n_m, n_q, n_w = len(sc.markets), len(sc.queues), sc.weeks
        base_mix = np.array([np.asarray(q[2], float) / sum(q[2]) for q in sc.queues])  # Q x K
        mix = np.empty((n_m, n_q, n_w, k))
        for m in range(n_m):
            for q in range(n_q):
                if sc.mix_concentration is None:
                    p = base_mix[q]
                else:
                    p = rng.dirichlet(sc.mix_concentration * base_mix[q] + 1e-3)
                mix[m, q, :, :] = p
        self.planted: list[dict[str, Any]] = []
        self._shift_records = []
        for eff in sc.mix_shifts:
            m = sc.markets.index(eff.market)
            c = self.lab_index[eff.label]
            before = mix[m, :, eff.week].copy()
            after = before.copy()
            new_c = np.minimum(before[:, c] * eff.factor, 0.95)
            rest = 1.0 - before[:, c]
            scale = np.where(rest > 0, (1.0 - new_c) / np.where(rest > 0, rest, 1.0), 0.0)
            after *= scale[:, None]
            after[:, c] = new_c
            mix[m, :, eff.week:, :] = after[:, None, :]
            self._shift_records.append((eff, m, c, before, after))
        self.mix = mix
        # weekly volumes
        w = np.arange(n_w)
        expected = np.empty((n_m, n_q, n_w))
        mean = np.empty((n_m, n_q, n_w))
        for m in range(n_m):
            for q in range(n_q):
                g = sc.trend + (rng.normal(0.0, sc.trend_sd) if sc.trend_sd > 0 else 0.0)
                phase = rng.uniform(0, 2 * np.pi)
                e = (sc.queues[q][1] * _cyc(sc.market_scale, m) * (1 + g) ** w
                     * (1 + sc.seasonality * np.sin(2 * np.pi * w / sc.season_period + phase)))
                expected[m, q] = e
                noise = rng.normal(0.0, sc.volume_noise, n_w) if sc.volume_noise > 0 else 0.0
                mean[m, q] = e * np.exp(noise)
        self.expected_volume = expected
        self.mean_volume = mean
        self.n_items_mqw = rng.poisson(mean)

    # ---------------------------------------------------------------------------------------
    def _items(self) -> None:
        sc, rng = self.sc, self.rng
        counts = self.n_items_mqw
        n_m, n_q, n_w = counts.shape
        flat = counts.reshape(-1)
        cell = np.repeat(np.arange(flat.size), flat)
        m_idx, q_idx, w_idx = np.unravel_index(cell, counts.shape)
        n = cell.size
        # arrival time within the week: weekdays busier than weekends, daytime busier
        day_w = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.6])
        day = rng.choice(7, size=n, p=day_w / day_w.sum())
        hour = np.clip(rng.normal(14.0, 4.0, n), 0.0, 23.98)
        secs = (w_idx * 7 + day) * 86400 + (hour * 3600).astype(np.int64)
        secs = secs + rng.integers(0, 60, n)  # stays inside the day: 23.98 h + 59 s < 24 h
        # order items by market then creation time so ids read chronologically
        order = np.lexsort((secs, m_idx))
        m_idx, q_idx, w_idx, secs = m_idx[order], q_idx[order], w_idx[order], secs[order]
        true = _sample_rows(rng, self.mix[m_idx, q_idx, w_idx])
        difficulty = rng.standard_normal(n)
        seq = np.zeros(n, dtype=np.int64)
        for m in range(n_m):
            sel = m_idx == m
            seq[sel] = np.arange(sel.sum())
        markets = np.asarray(sc.markets, dtype=object)
        self.item_ids = np.array([f"{mk}-item-{s:06d}" for mk, s in zip(markets[m_idx], seq, strict=True)],
                                 dtype=object)
        self.item_m, self.item_q, self.item_w = m_idx, q_idx, w_idx
        self.item_secs = secs.astype(np.int64)
        self.item_true = true
        self.item_difficulty = difficulty
        self.item_text = self._texts(true, q_idx)

    def _texts(self, true: np.ndarray, q_idx: np.ndarray) -> np.ndarray:
        """Short deterministic strings; about half the words hint at the true class."""
        rng, sc = self.rng, self.sc
        n = true.size
        n_words = 5
        banks = [_WORDS.get(lab, [f"{lab}-{j}" for j in range(12)]) for lab in sc.label_set]
        cls_word = rng.integers(0, 12, (n, n_words))
        neutral = rng.integers(0, len(_NEUTRAL), (n, n_words))
        hint = rng.random((n, n_words)) < sc.text_signal
        post_no = rng.integers(100, 100000, n)
        queues = [q[0] for q in sc.queues]
        out = np.empty(n, dtype=object)
        for i in range(n):
            bank = banks[true[i]]
            words = [bank[cls_word[i, j]] if hint[i, j] else _NEUTRAL[neutral[i, j]]
                     for j in range(n_words)]
            out[i] = f"{queues[q_idx[i]]} #{post_no[i]}: " + " ".join(words)
        return out

    # ---------------------------------------------------------------------------------------
    def _annotators(self) -> None:
        sc, rng, k = self.sc, self.rng, self.k
        profile0 = _shared_error_profile(k)
        cls_diff = np.array([dict(sc.class_difficulty).get(lab, 0.0) for lab in sc.label_set])
        type_off = dict(sc.type_accuracy_offset)
        rows: list[dict[str, Any]] = []
        confs: list[np.ndarray] = []
        for m, market in enumerate(sc.markets):
            spam_team = (rng.integers(0, sc.teams_per_market, sc.spammers_per_market)
                         if sc.spammers_per_market else np.array([], int))
            for t in range(sc.teams_per_market):
                team = f"{market}-T{t + 1}"
                acc_t = _cyc(sc.team_accuracy, t)
                if sc.team_accuracy_sd > 0:
                    acc_t += rng.normal(0.0, sc.team_accuracy_sd)
                cost = round(_cyc(sc.team_cost, t) * _cyc(sc.market_cost, m), 4)
                types = [ty for ty, cnt in sc.annotator_mix for _ in range(cnt)]
                n_spam_here = int((spam_team == t).sum())
                spam_kinds = [("spammer_uniform" if j % 2 == 0 else "spammer_constant")
                              for j in range(int((spam_team < t).sum()),
                                             int((spam_team <= t).sum()))]
                types += spam_kinds
                assert len(spam_kinds) == n_spam_here
                for j, ty in enumerate(types):
                    aid = f"{team}-a{j + 1:02d}"
                    if ty.startswith("spammer"):
                        if ty == "spammer_uniform":
                            conf = np.full((k, k), 1.0 / k)
                        else:
                            conf = np.zeros((k, k))
                            conf[:, rng.integers(0, k)] = 1.0
                    else:
                        a = acc_t + type_off.get(ty, 0.0)
                        if sc.accuracy_sd > 0:
                            a += rng.normal(0.0, sc.accuracy_sd)
                        diag = np.clip(a + cls_diff, 1.5 / k, 0.995)
                        if sc.error_concentration is None:
                            prof = profile0
                        else:
                            prof = np.zeros((k, k))
                            for r in range(k):
                                alpha = sc.error_concentration * profile0[r] + 0.05
                                alpha[r] = 0.0
                                nz = alpha > 0
                                prof[r, nz] = rng.dirichlet(alpha[nz])
                        conf = _confusion(diag, prof)
                        if ty == "biased":
                            c = rng.integers(0, k)
                            d = (c + rng.integers(1, k)) % k
                            b = rng.uniform(*sc.bias_rate)
                            conf[c] = (1 - b) * conf[c]
                            conf[c, d] += b
                    speed = sc.median_handle_seconds * np.exp(rng.normal(0.0, 0.25))
                    if ty.startswith("spammer"):
                        speed *= 0.25
                    elif ty == "new_hire":
                        speed *= 1.5
                    weight = np.exp(rng.normal(0.0, sc.workload_sd)) if sc.workload_sd > 0 else 1.0
                    hire_week = 0
                    if ty == "new_hire":
                        weight *= sc.new_hire_weight
                        lo = max(sc.weeks - sc.new_hire_weeks, 0)
                        hire_week = int(rng.integers(lo, sc.weeks))
                    rows.append(dict(annotator_id=aid, team=team, market=market, kind="human",
                                     cost_per_label=cost,
                                     capacity_per_day=float(round(7 * 3600 / speed)),
                                     _type=ty, _m=m, _speed=speed, _weight=weight,
                                     _hire_week=hire_week))
                    confs.append(conf)
        if sc.model_annotator:
            conf = np.full((k, k), 0.0)
            for r in range(k):
                conf[r] = (1 - sc.model_accuracy) / (k - 1)
                conf[r, r] = sc.model_accuracy
            for true, given, rate in sc.model_blind_spots:
                c, d = self.lab_index[true], self.lab_index[given]
                row = conf[c].copy()
                row[d] = 0.0
                row *= (1 - rate) / row.sum()
                row[d] = rate
                conf[c] = row
            rows.append(dict(annotator_id="llm-judge", team="llm", market="ALL", kind="model",
                             cost_per_label=sc.model_cost, capacity_per_day=1_000_000.0,
                             _type="model", _m=-1, _speed=1.2, _weight=0.0, _hire_week=0))
            confs.append(conf)
        self.ann = pd.DataFrame(rows)
        self.conf = np.stack(confs)  # A x K x K (before any change)
        # planted knowledge gaps (whole period)
        for eff in sc.knowledge_gaps:
            members = np.flatnonzero((self.ann["team"] == eff.team).to_numpy()
                                     & ~self.ann["_type"].str.startswith("spammer").to_numpy())
            a, b = self.lab_index[eff.true], self.lab_index[eff.given]
            for j in members:
                row = self.conf[j, a].copy()
                rest = 1.0 - row[b]
                row *= (1.0 - eff.rate) / rest
                row[b] = eff.rate
                self.conf[j, a] = row
        # planted accuracy drops: a second confusion per member from the drop date
        self.conf_after = self.conf.copy()
        self.change_secs = np.full(len(self.ann), np.iinfo(np.int64).max, dtype=np.int64)
        for eff in sc.accuracy_drops:
            members = np.flatnonzero((self.ann["team"] == eff.team).to_numpy()
                                     & ~self.ann["_type"].str.startswith("spammer").to_numpy())
            cls = ([self.lab_index[c] for c in eff.classes] if eff.classes
                   else list(range(k)))
            for j in members:
                after = self.conf_after[j].copy()
                for c in cls:
                    off = after[c].copy()
                    off[c] = 0.0
                    q = off / off.sum() if off.sum() > 0 else np.full(k, 1.0 / (k - 1))
                    q[c] = 0.0
                    drop = min(eff.magnitude, after[c, c])
                    after[c] += drop * q
                    after[c, c] -= drop
                self.conf_after[j] = after
                self.change_secs[j] = eff.week * 7 * 86400  # seconds since start

    # ---------------------------------------------------------------------------------------
    def _judgments(self) -> None:
        sc, rng = self.sc, self.rng
        ann = self.ann
        n_items = self.item_ids.size
        red_p = np.asarray(sc.redundancy, float)
        red_p = red_p / red_p.sum()
        r_item = rng.choice(np.arange(1, red_p.size + 1), size=n_items, p=red_p)
        item_parts, ann_parts = [], []
        human_m = ann["_m"].to_numpy()
        weights = ann["_weight"].to_numpy()
        hire = ann["_hire_week"].to_numpy()
        for m in range(len(sc.markets)):
            items_m = np.flatnonzero(self.item_m == m)
            pool = np.flatnonzero(human_m == m)
            if items_m.size == 0 or pool.size == 0:
                continue
            logw = np.log(weights[pool])[None, :]
            g = rng.gumbel(size=(items_m.size, pool.size))
            keys = logw + g
            inactive = self.item_w[items_m][:, None] < hire[pool][None, :]
            keys[inactive] = -np.inf
            r = np.minimum(r_item[items_m], (~inactive).sum(axis=1))
            r_max = int(r.max())
            top = np.argsort(-keys, axis=1, kind="stable")[:, :r_max]
            take = np.arange(r_max)[None, :] < r[:, None]
            rows_i = np.broadcast_to(items_m[:, None], top.shape)[take]
            item_parts.append(rows_i)
            ann_parts.append(pool[top[take]])
        j_item = np.concatenate(item_parts)
        j_ann = np.concatenate(ann_parts)
        # human labeled_at: creation + exponential delay
        delay = rng.exponential(sc.label_delay_hours * 3600.0, j_item.size).astype(np.int64) + 30
        j_secs = self.item_secs[j_item] + delay
        # the model annotator
        is_model = (ann["kind"] == "model").to_numpy()
        if is_model.any():
            model_j = int(np.flatnonzero(is_model)[0])
            covered = np.flatnonzero(rng.random(n_items) < sc.model_coverage)
            m_secs = self.item_secs[covered] + rng.integers(5, 600, covered.size)
            j_item = np.concatenate([j_item, covered])
            j_ann = np.concatenate([j_ann, np.full(covered.size, model_j)])
            j_secs = np.concatenate([j_secs, m_secs])
        # labels from the confusion in effect at labeled_at
        after = j_secs >= self.change_secs[j_ann]
        true = self.item_true[j_item]
        probs = np.where(after[:, None], self.conf_after[j_ann, true], self.conf[j_ann, true])
        given = _sample_rows(rng, probs)
        # handle time: annotator speed x item difficulty x noise
        speed = ann["_speed"].to_numpy()[j_ann]
        eff = np.where(ann["kind"].to_numpy()[j_ann] == "model", 0.1, sc.difficulty_effect)
        handle = speed * np.exp(eff * self.item_difficulty[j_item]
                                + rng.normal(0.0, sc.handle_sd, j_item.size)
                                - sc.handle_sd ** 2 / 2)
        self.j_item, self.j_ann, self.j_secs = j_item, j_ann, j_secs
        self.j_after, self.j_given = after, given
        self.j_handle = np.round(np.maximum(handle, 0.1), 1)

    # ---------------------------------------------------------------------------------------
    def _assemble(self) -> Simulation:
        sc, rng = self.sc, self.rng
        ann = self.ann
        labs = np.asarray(sc.label_set, dtype=object)
        markets = np.asarray(sc.markets, dtype=object)
        queues = np.asarray([q[0] for q in sc.queues], dtype=object)
        aid = ann["annotator_id"].to_numpy(dtype=object)

        def ts(secs: np.ndarray) -> pd.Series:
            return pd.Series(pd.to_datetime(secs + self.start_s, unit="s", utc=True))

        order = np.lexsort((self.j_ann, self.j_item, self.j_secs))
        ji, ja = self.j_item[order], self.j_ann[order]
        labels = pd.DataFrame({
            "item_id": self.item_ids[ji],
            "annotator_id": aid[ja],
            "label": labs[self.j_given[order]],
            "market": markets[self.item_m[ji]],
            "queue": queues[self.item_q[ji]],
            "team": ann["team"].to_numpy(dtype=object)[ja],
            "labeled_at": ts(self.j_secs[order]),
            "handle_seconds": self.j_handle[order],
            "cost": ann["cost_per_label"].to_numpy()[ja],
        })
        items = pd.DataFrame({
            "item_id": self.item_ids,
            "market": markets[self.item_m],
            "queue": queues[self.item_q],
            "created_at": ts(self.item_secs),
            "text": self.item_text,
        })
        if sc.n_features > 0:  # own stream: the main draws stay as they are
            frng = np.random.default_rng([self.seed, 14])
            mu = frng.standard_normal((self.k, sc.n_features))
            feats = (sc.feature_signal * mu[self.item_true]
                     + frng.standard_normal((self.item_ids.size, sc.n_features)))
            for f in range(sc.n_features):
                items[f"f{f + 1}"] = feats[:, f]
        # hidden gold: a share of each market's items, known before they entered the queue
        n_items = self.item_ids.size
        is_gold = rng.random(n_items) < sc.gold_share
        g_idx = np.flatnonzero(is_gold)
        decided = self.item_secs[g_idx] - rng.integers(86400, 14 * 86400, g_idx.size)
        gold = pd.DataFrame({
            "item_id": self.item_ids[g_idx],
            "label": labs[self.item_true[g_idx]],
            "source": "benchmark",
            "decided_at": ts(decided),
        })
        annotators = ann[["annotator_id", "team", "market", "kind", "cost_per_label",
                          "capacity_per_day"]].copy()
        truth = self._truth(labs, markets, queues)
        return Simulation(labels=labels, gold=gold, annotators=annotators, items=items,
                          truth=truth, scenario=sc, seed=self.seed)

    def _truth(self, labs, markets, queues) -> Truth:
        sc, k = self.sc, self.k
        ann = self.ann
        aid = ann["annotator_id"].to_numpy(dtype=object)
        n_a = len(ann)
        true_j = self.item_true[self.j_item]
        # effective confusion per annotator: before/after mixed by that annotator's judgments
        n_before = np.bincount(self.j_ann * k + true_j, weights=~self.j_after,
                               minlength=n_a * k).reshape(n_a, k)
        n_all = np.bincount(self.j_ann * k + true_j, minlength=n_a * k).reshape(n_a, k)
        tot_before = n_before.sum(1, keepdims=True)
        tot_all = n_all.sum(1, keepdims=True)
        frac = np.where(n_all > 0, n_before / np.maximum(n_all, 1),
                        np.where(tot_all > 0, tot_before / np.maximum(tot_all, 1), 1.0))
        eff = frac[:, :, None] * self.conf + (1 - frac[:, :, None]) * self.conf_after
        changed = np.flatnonzero(self.change_secs < np.iinfo(np.int64).max)
        # class mix per market (item-weighted generating probabilities)
        item_p = self.mix[self.item_m, self.item_q, self.item_w]
        market_mix = np.array([item_p[self.item_m == m].mean(0) if (self.item_m == m).any()
                               else np.full(k, 1 / k) for m in range(len(sc.markets))])
        all_mix = item_p.mean(0)
        acc = np.array([
            _expected_accuracy(eff[j], all_mix if ann["_m"].iat[j] < 0 else market_mix[ann["_m"].iat[j]])
            for j in range(n_a)])
        # class mix and volume tables
        n_m, n_q, n_w = self.n_items_mqw.shape
        mm, qq, ww = np.meshgrid(np.arange(n_m), np.arange(n_q), np.arange(n_w), indexing="ij")
        mm, qq, ww = mm.ravel(), qq.ravel(), ww.ravel()
        week_start = pd.Series(pd.to_datetime(self.start_s + ww * 7 * 86400, unit="s", utc=True))
        class_mix = pd.DataFrame({"market": markets[mm], "queue": queues[qq], "week": ww,
                                  "week_start": week_start})
        for c, lab in enumerate(labs):
            class_mix[lab] = self.mix[mm, qq, ww, c]
        volume = pd.DataFrame({"market": markets[mm], "queue": queues[qq], "week": ww,
                               "week_start": week_start,
                               "expected": self.expected_volume.ravel(),
                               "mean": self.mean_volume.ravel(),
                               "n_items": self.n_items_mqw.ravel()})
        planted = self._planted(eff, market_mix)
        return Truth(
            true_labels=pd.Series(labs[self.item_true], index=pd.Index(self.item_ids,
                                  name="item_id"), name="label"),
            confusions={aid[j]: eff[j] for j in range(n_a)},
            confusions_before={aid[j]: self.conf[j].copy() for j in changed},
            confusions_after={aid[j]: self.conf_after[j].copy() for j in changed},
            annotator_types=pd.Series(ann["_type"].to_numpy(dtype=object),
                                      index=pd.Index(aid, name="annotator_id"), name="type"),
            true_accuracy=pd.Series(acc, index=pd.Index(aid, name="annotator_id"),
                                    name="true_accuracy"),
            planted=planted,
            label_set=list(sc.label_set),
            class_mix=class_mix,
            volume=volume,
            item_difficulty=pd.Series(self.item_difficulty,
                                      index=pd.Index(self.item_ids, name="item_id"),
                                      name="difficulty"),
        )

    def _planted(self, eff_conf: np.ndarray, market_mix: np.ndarray) -> list[dict[str, Any]]:
        sc = self.sc
        ann = self.ann
        out: list[dict[str, Any]] = []
        for eff in sc.accuracy_drops:
            m = sc.markets.index(eff.market)
            team = (ann["team"] == eff.team).to_numpy()
            members = np.flatnonzero(team)
            cut = eff.week * 7 * 86400
            in_team = team[self.j_ann]
            mix = market_mix[m]
            before_acc = np.array([_expected_accuracy(self.conf[j], mix) for j in range(len(ann))])
            after_acc = np.array([_expected_accuracy(self.conf_after[j], mix)
                                  for j in range(len(ann))])
            nb = np.bincount(self.j_ann[in_team & (self.j_secs < cut)], minlength=len(ann))
            na = np.bincount(self.j_ann[in_team & (self.j_secs >= cut)], minlength=len(ann))
            team_before = float((nb * before_acc).sum() / max(nb.sum(), 1))
            team_after = float((na * after_acc).sum() / max(na.sum(), 1))
            out.append({
                "effect": "accuracy_drop", "market": eff.market, "team": eff.team,
                "week": eff.week, "week_start": sc.week_start(eff.week).date().isoformat(),
                "classes": list(eff.classes) or list(sc.label_set),
                "magnitude": eff.magnitude,
                "annotators": [ann["annotator_id"].iat[j] for j in members
                               if self.change_secs[j] < np.iinfo(np.int64).max],
                "accuracy_before": round(team_before, 6),
                "accuracy_after": round(team_after, 6),
            })
        for eff in sc.knowledge_gaps:
            a, b = self.lab_index[eff.true], self.lab_index[eff.given]
            m = sc.markets.index(eff.market)
            in_m = (ann["_m"] == m).to_numpy()
            team = (ann["team"] == eff.team).to_numpy()
            # expected a->b rate in the team and in the rest of the market's humans,
            # weighted by each annotator's judgments of true class a
            true_j = self.item_true[self.j_item]
            n_a_cls = np.bincount(self.j_ann[true_j == a], minlength=len(ann)).astype(float)
            rate = eff_conf[:, a, b]
            rest = in_m & ~team
            out.append({
                "effect": "knowledge_gap", "market": eff.market, "team": eff.team,
                "week": 0, "week_start": sc.week_start(0).date().isoformat(),
                "true": eff.true, "given": eff.given, "rate": eff.rate,
                "team_rate": round(float((n_a_cls[team] * rate[team]).sum()
                                         / max(n_a_cls[team].sum(), 1)), 6),
                "rest_of_market_rate": round(float((n_a_cls[rest] * rate[rest]).sum()
                                                   / max(n_a_cls[rest].sum(), 1)), 6),
            })
        for eff, m, c, before, after in self._shift_records:
            vol = self.mean_volume[m, :, eff.week:].sum(1)
            w = vol / vol.sum()
            out.append({
                "effect": "mix_shift", "market": eff.market,
                "week": eff.week, "week_start": sc.week_start(eff.week).date().isoformat(),
                "label": eff.label, "factor": eff.factor,
                "rate_before": round(float((w * before[:, c]).sum()), 6),
                "rate_after": round(float((w * after[:, c]).sum()), 6),
                "by_queue": {sc.queues[q][0]: [round(float(before[q, c]), 6),
                                               round(float(after[q, c]), 6)]
                             for q in range(len(sc.queues))},
            })
        return out
