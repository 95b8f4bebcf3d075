"""Allocation and experiments: labeler features, redundancy policies and their replay,
cost-aware assignment, the quality-cost frontier and A/B analysis of label logs.

Modules
-------
``features``    the labeler feature table (:func:`labeler_features`)
``policies``    redundancy policies (fixed, agree, margin, posterior, assisted, knowledge gradient)
``replay``      policy replay with common random numbers and paired intervals (:func:`replay`)
``simulation``  judgments drawn on demand from a simulated operation's truth
``assignment``  min-cost-flow routing (OR-Tools), bisection on lambda, MILP side constraints,
                the quality-cost frontier
``experiments`` A/B analysis of label logs (clustered by annotator) and power
"""

from __future__ import annotations

from insights.allocation.features import LabelerFeatures, labeler_features
from insights.allocation.policies import parse_policy
from insights.allocation.replay import ReplayResult, replay
from insights.allocation.simulation import draw_judgments

__all__ = ["LabelerFeatures", "ReplayResult", "draw_judgments", "labeler_features",
           "parse_policy", "replay"]
