"""Models trained on the labeled content, model-and-crowd consensus, relabel ranking, and
LLM decision-gap packs.

=====================================  ==================================================
object                                 what it does
=====================================  ==================================================
:class:`CrowdClassifier`               a content classifier trained on crowd judgments
                                       (Raykar et al. 2010 joint EM by default; soft
                                       targets; MV / DS / gold baselines); out-of-fold
                                       probabilities for every labeled item
:class:`ModelCrowdConsensus`           Dawid-Skene with the out-of-fold model as a
                                       weighted voice (CROWDLAB spirit)
:func:`relabel_ranking`                labeled and unlabeled items ranked by the value of
                                       one more judgment (ActiveLab spirit)
:func:`gap_pack`                       where a model/LLM annotator departs from confident
                                       human consensus, with examples and an export
:func:`save_model`, :func:`load_model` persistence with skops (no code runs on load)
:func:`compare_methods`,               test accuracy per training method; consensus with
:func:`consensus_accuracy`             and without the model against gold
=====================================  ==================================================

The command line: ``insights learn``, ``insights predict``, ``insights gaps``.
"""

from __future__ import annotations

from insights.learning.consensus import ModelCrowdConsensus
from insights.learning.crowd import DEFAULT_METHOD, METHODS, CrowdClassifier
from insights.learning.evaluate import accuracy_row, compare_methods, consensus_accuracy, holdout
from insights.learning.features import default_classifier, resolve_feature_columns
from insights.learning.gaps import GapPack, gap_pack
from insights.learning.persist import load_model, save_model
from insights.learning.relabel import (
                                        one_more_value,
                                        relabel_ranking,
                                        relabel_ranking_for,
                                        typical_confusion,
)

__all__ = [
    "CrowdClassifier",
    "DEFAULT_METHOD",
    "METHODS",
    "ModelCrowdConsensus",
    "GapPack",
    "gap_pack",
    "default_classifier",
    "resolve_feature_columns",
    "relabel_ranking",
    "one_more_value",
    "typical_confusion",
    "save_model",
    "load_model",
    "accuracy_row",
    "compare_methods",
    "consensus_accuracy",
    "holdout",
    "relabel_ranking_for",
]
