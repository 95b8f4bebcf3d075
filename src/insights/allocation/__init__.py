"""Allocation and experiments: labeler features, redundancy policies and their replay,
cost-aware assignment, the quality-cost frontier and A/B analysis of label logs.

Modules
-------
``features``    the labeler feature table (:func:`labeler_features`)
"""

from __future__ import annotations

from insights.allocation.features import LabelerFeatures, labeler_features

__all__ = ["LabelerFeatures", "labeler_features"]
