"""Small helpers shared by the section modules (not a section: the name starts with ``_``)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def intervals(point: Iterable, low: Iterable, high: Iterable) -> list[tuple[float, float, float]]:
    """Cells of an ``interval`` column: ``(point, low, high)`` tuples."""
    return [(float(p), float(lo), float(hi)) for p, lo, hi in zip(point, low, high, strict=True)]


def effect_text(effect: float, lo: float, hi: float, unit: str) -> str:
    """An effect with its interval: rates in percentage points, other units as given."""
    if not np.isfinite(effect):
        return "–"
    if unit == "rate":
        return f"{100 * effect:+.1f} pp ({100 * lo:+.1f} to {100 * hi:+.1f})"
    return f"{effect:+.3g} ({lo:.3g} to {hi:.3g}) {unit}"


def human_mask(ctx, annotator_ids) -> np.ndarray:
    """Which of ``annotator_ids`` are human (not ``kind == model``)."""
    kinds = ctx.annotator_table["kind"].reindex(pd.Index(annotator_ids)).fillna("human")
    return (kinds != "model").to_numpy()


def unit_words(ctx) -> tuple[str, str]:
    """What the scorecards rank: ``("team", "Team")`` or, without teams, annotators."""
    return ("team", "Team") if ctx.has_teams else ("annotator", "Annotator")


def model_teams(ctx) -> set[str]:
    """Teams made only of model/LLM annotators (they are not vendor teams)."""
    t = ctx.annotator_table
    if "team" not in t:
        return set()
    teams = t["team"].dropna().astype(str)
    human = set(teams[t.loc[teams.index, "kind"] != "model"])
    return set(teams) - human


def model_team_words(sentence: str, teams: set[str]) -> str:
    """A trends sentence about a team of model annotators, worded as such (never "Team llm")."""
    for t in teams:
        for head in (f"Team {t}'s ", f"Team {t} "):
            if sentence.startswith(head):
                rest = sentence[len(head):]
                return (f"Model annotators {t}'s " if head.endswith("'s ")
                        else f"Model annotators {t} ") + rest
    return sentence
