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

Modules
-------
:mod:`insights.synthetic.scenarios`
    The label set, annotator types, planted effects (:class:`AccuracyDrop`,
    :class:`KnowledgeGap`, :class:`MixShift`), :class:`Scenario` and :data:`SCENARIOS`.
:mod:`insights.synthetic.simulation`
    The results: :class:`Truth` and :class:`Simulation` (``dataset()``, ``write()``).
:mod:`insights.synthetic.sampling`
    Helpers for confusion matrices and categorical draws.
:mod:`insights.synthetic.builder`
    The simulator itself: :func:`simulate`.

Every name is re-exported here; import from ``insights.synthetic``.
"""

from __future__ import annotations

# ``name as name``: re-exported helpers outside ``__all__`` (insights.operations.simulate,
# tests and benchmarks use ``insights.synthetic._sample_rows`` and the like).
from insights.synthetic.builder import _NEUTRAL as _NEUTRAL
from insights.synthetic.builder import _WORDS as _WORDS
from insights.synthetic.builder import _Builder as _Builder
from insights.synthetic.builder import simulate
from insights.synthetic.sampling import _confusion as _confusion
from insights.synthetic.sampling import _cyc as _cyc
from insights.synthetic.sampling import _expected_accuracy as _expected_accuracy
from insights.synthetic.sampling import _sample_rows as _sample_rows
from insights.synthetic.sampling import _shared_error_profile as _shared_error_profile
from insights.synthetic.scenarios import _DEFAULT_QUEUES as _DEFAULT_QUEUES
from insights.synthetic.scenarios import _SMALL_QUEUES as _SMALL_QUEUES
from insights.synthetic.scenarios import _SPARSE_QUEUES as _SPARSE_QUEUES
from insights.synthetic.scenarios import ANNOTATOR_TYPES as ANNOTATOR_TYPES
from insights.synthetic.scenarios import (
    LABEL_SET,
    SCENARIOS,
    AccuracyDrop,
    KnowledgeGap,
    MixShift,
    Scenario,
)
from insights.synthetic.scenarios import _validate_scenario as _validate_scenario
from insights.synthetic.simulation import Simulation, Truth
from insights.synthetic.simulation import _csv_ready as _csv_ready
from insights.synthetic.simulation import _long_confusions as _long_confusions

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
