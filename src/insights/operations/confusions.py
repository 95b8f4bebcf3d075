r"""Systemic (policy) vs team-specific (knowledge-gap) confusions, tested together.

A confusion is a true class :math:`a` labelled :math:`b`. Two families of one-sided tests of an
*excess* rate, on the soft counts of :func:`insights.trends.gaps.truth_weights` (gold where
known, else the item posterior without the judgment's own vote), with the annotator as the unit
of variation (quasi-binomial, :func:`insights.trends.gaps.gap_tests`):

* **team vs the rest of its market** (today's knowledge-gap test): an excess here is the
  team's own problem -- a *knowledge gap* to train;
* **market vs the other markets**: an excess here that most of the market's teams share is a
  *policy-clarification candidate* (a systemic confusion). A team shares it when its own rate
  is at least ``min_ratio`` (1.5) times the other markets' rate with 95 % confidence: the
  lower limit of Newcombe's interval on the difference (counts divided by the market test's
  dispersion) is above ``(min_ratio - 1)`` times the other markets' rate. A market
  excess carried by a minority of its teams is not systemic: those teams' own tests say where
  it is.

Every test of both families enters one Benjamini-Hochberg family, so the false discovery rate
of the findings (both kinds together) is controlled at ``alpha``. Model annotators are left out
(their blind spots are reported by the LLM gap pack). The market test needs at least two
markets: with one market only the team tests run.

References
----------
Benjamini, Y. & Hochberg, Y. (1995). JRSS B 57, 289-300. Newcombe, R. G. (1998). Statistics in
Medicine 17, 873-890 (method 10).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.data import Dataset
from insights.operations._common import judgments
from insights.trends.fdr import adjust
from insights.trends.findings import newcombe_difference
from insights.trends.gaps import gap_tests, truth_weights

__all__ = ["confusion_tests", "COLUMNS"]

COLUMNS = ["finding", "scope", "market", "team", "true", "given", "rate", "baseline_rate",
           "effect", "effect_lo", "effect_hi", "p", "q", "significant", "dispersion", "n",
           "teams_elevated", "teams_tested", "elevated_teams", "examples", "sentence"]


def _rows(gaps: pd.DataFrame, scope: str) -> pd.DataFrame:
    if len(gaps) == 0:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.DataFrame({
        "scope": scope, "market": gaps["market"], "team": gaps["team"],
        "true": gaps["true"], "given": gaps["given"], "rate": gaps["team_rate"],
        "baseline_rate": gaps["rest_rate"], "effect": gaps["effect"],
        "effect_lo": gaps["effect_lo"], "effect_hi": gaps["effect_hi"], "p": gaps["p"],
        "dispersion": gaps["dispersion"], "n": gaps["team_n"],
        "examples": gaps["examples"].map(lambda e: "; ".join(map(str, e))),
    })
    if scope == "market":
        out["market"], out["team"] = gaps["team"], "*"
    return out


def confusion_tests(ds: Dataset, posteriors: pd.DataFrame | None = None, *,
                    alpha: float = 0.05, min_count: float = 20.0, min_expected: float = 5.0,
                    min_team_share: float = 0.5, min_ratio: float = 1.5,
                    n_examples: int = 3) -> pd.DataFrame:
    """Test every confusion for a team-specific and a systemic excess; one table, one FDR.

    Parameters
    ----------
    ds : Dataset
        Labels with ``team`` and ``market`` (or an annotators table that has them).
    posteriors : pandas.DataFrame, optional
        item_id x class consensus posteriors; without them only gold items count.
    alpha : float, default 0.05
        False discovery rate of the findings.
    min_count, min_expected : float
        See :func:`insights.trends.gaps.gap_tests`.
    min_team_share : float, default 0.5
        A significant market excess is systemic when more than this share of the market's
        tested teams is elevated against the other markets.
    min_ratio : float, default 1.5
        A team is elevated when, with 95 % confidence, its rate is at least this multiple of
        the other markets' rate (a policy worth clarifying moves every team's rate clearly;
        teams differ by chance and by one biased member, which is not systemic).
    n_examples : int, default 3

    Returns
    -------
    pandas.DataFrame
        One row per test (:data:`COLUMNS`): ``finding`` is ``"policy clarification"``
        (systemic, ``scope = market``), ``"knowledge gap"`` (``scope = team``) or ``""``;
        ``rate`` vs ``baseline_rate`` (the rest of the market for a team, the other markets
        for a market), ``effect`` their difference with a 95 % interval, ``p`` (one-sided),
        ``q`` (BH over the whole table), ``teams_elevated``/``teams_tested`` for market rows,
        ``examples`` (item ids, ``"; "``-separated) and a plain ``sentence`` for findings.
        Findings first (smallest q first).
    """
    classes = [str(c) for c in ds.label_set]
    j = judgments(ds)
    j = j[j["kind"] != "model"].reset_index(drop=True)
    W = truth_weights(j, ds.gold, posteriors, classes)
    team = _rows(gap_tests(j, W, classes, min_count=min_count, min_expected=min_expected,
                           n_examples=n_examples), "team")
    frames = [team]
    markets = sorted(pd.unique(j["market"]))
    if len(markets) >= 2:
        jm = j.assign(team=j["market"], market="*")
        mk = _rows(gap_tests(jm, W, classes, min_count=min_count, min_expected=min_expected,
                             n_examples=n_examples), "market")
        if len(mk):
            _teams_elevated(mk, j, W, classes, min_count, min_ratio)
        frames.append(mk)
    out = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
        len(f) for f in frames) else pd.DataFrame(columns=COLUMNS)
    out["q"] = adjust(out["p"].to_numpy(float)) if len(out) else []
    out["significant"] = out["q"] <= alpha
    for col in ("teams_elevated", "teams_tested"):
        out[col] = out[col].fillna(0).astype(int) if col in out else 0
    if "elevated_teams" not in out:
        out["elevated_teams"] = ""
    out["elevated_teams"] = out["elevated_teams"].fillna("")
    systemic = (out["scope"] == "market") & out["significant"] & (
        out["teams_elevated"] > min_team_share * out["teams_tested"])
    gap = (out["scope"] == "team") & out["significant"]
    out["finding"] = np.where(systemic, "policy clarification",
                              np.where(gap, "knowledge gap", ""))
    out["sentence"] = [_sentence(r) for r in out.itertuples(index=False)]
    out = out.assign(_f=out["finding"] == "").sort_values(
        ["_f", "q", "market", "team", "true", "given"], kind="stable").drop(columns="_f")
    return out[COLUMNS].reset_index(drop=True)


def _teams_elevated(mk: pd.DataFrame, j: pd.DataFrame, W: np.ndarray, classes: list[str],
                    min_count: float, min_ratio: float) -> None:
    """Fill ``teams_elevated``, ``teams_tested`` and ``elevated_teams`` of market rows."""
    K = len(classes)
    lab = pd.Index(classes).get_indexer(j["label"])
    cells = j["market"].astype(str) + "\0" + j["team"].astype(str)
    code, uniq = pd.factorize(cells)
    n_a = np.zeros((len(uniq), K))                   # cell, true
    np.add.at(n_a, code, W)
    n_ab = np.zeros((len(uniq), K, K))               # cell, true, given
    ok = lab >= 0
    for b in range(K):
        m = ok & (lab == b)
        np.add.at(n_ab[:, :, b], code[m], W[m])
    cell_market = np.array([u.split("\0", 1)[0] for u in uniq], dtype=object)
    cell_team = np.array([u.split("\0", 1)[1] for u in uniq], dtype=object)
    elev, tested, names = [], [], []
    for r in mk.itertuples():
        a, b = classes.index(r.true), classes.index(r.given)
        other = cell_market != r.market
        nr, xr = n_a[other, a].sum(), n_ab[other, a, b].sum()
        k_elev, k_test, who = 0, 0, []
        for c in np.flatnonzero(cell_market == r.market)[np.argsort(
                cell_team[cell_market == r.market], kind="stable")]:
            nt, xt = n_a[c, a], n_ab[c, a, b]
            if nt < min_count or nr <= 0:
                continue
            k_test += 1
            _, lo, _ = newcombe_difference(xr, nr, xt, nt, dispersion=r.dispersion)
            if lo > (min_ratio - 1.0) * xr / nr:
                k_elev += 1
                who.append(str(cell_team[c]))
        elev.append(k_elev)
        tested.append(k_test)
        names.append(", ".join(who))
    mk["teams_elevated"], mk["teams_tested"], mk["elevated_teams"] = elev, tested, names


def _sentence(r) -> str:
    if not r.finding:
        return ""
    pct = f"{100 * r.rate:.0f} % of {r.true!r} items labelled {r.given!r}"
    base = f"{100 * r.baseline_rate:.0f} %"
    q = "q < 0.001" if r.q < 0.001 else f"q = {r.q:.2g}"
    if r.finding == "policy clarification":
        return (f"Market {r.market}: {pct} against {base} in the other markets, in "
                f"{r.teams_elevated} of {r.teams_tested} teams ({q}): a policy to clarify, "
                f"not one team's gap.")
    return (f"Team {r.team}: {pct} against {base} in the rest of {r.market} ({q}): a knowledge "
            f"gap to train.")
