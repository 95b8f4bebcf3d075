r"""Knowledge gaps: which team confuses which true class for which given class.

For market :math:`m`, team :math:`T`, true class :math:`a` and given class :math:`b \ne a`,
each judgment carries a weight :math:`w_i(a)` that its item's true class is :math:`a`: the gold
answer where there is one (0/1), else the item posterior (e.g. Dawid-Skene's ``probas_``).
Soft counts per annotator :math:`j`: :math:`n_{ja} = \sum w_i(a)` and
:math:`n_{jab} = \sum_{\text{label}=b} w_i(a)`.

The truth weights leave the judgment's own vote out (:func:`truth_weights`): an annotator is
judged against what the *other* evidence says about its items.

Test (one-sided: a gap is an *excess*; a team that confuses less than its pool, such as an
accurate model annotator, is not a gap) of "team :math:`T`'s :math:`a \to b` rate is no
higher than the rest of the market's pool" against "higher", with the annotator as the unit
of variation. The rest is the market's other annotators; model annotators (``outside_pool``)
are tested as a team of their own but never enter another team's rest. With team and rest
totals :math:`x_T, n_T, x_R, n_R`, conditionally on the :math:`x_T + x_R` confusions the
team's share is :math:`\mathrm{Binomial}(x_T + x_R, n_T/(n_T+n_R))` under the null; between
annotators the rates scatter more than binomially (annotators differ, the soft truth is
shared by an item's judgments), measured by the Pearson dispersion of a two-rate binomial model
over the annotators, :math:`\hat\phi = \max(1, X^2/(J-2))`. The p-value is the upper binomial
tail on effective counts :math:`x/\hat\phi` (the quasi-likelihood reading: a count carries the
information of :math:`1/\hat\phi` independent labels), continued to non-integer soft counts by
the regularised incomplete beta function. Pairs where the team or the rest has fewer than
``min_count`` soft judgments of class :math:`a`, or fewer than ``min_expected`` expected
confusions, are not tested. Every tested pair enters the run's FDR family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special as _sp

from insights.trends.findings import newcombe_difference

__all__ = ["gap_tests", "truth_weights"]


def truth_weights(judgments: pd.DataFrame, gold: pd.DataFrame | None,
                  posteriors: pd.DataFrame | None, classes: list[str], *,
                  leave_one_out: bool = True, prior: float = 1.0) -> np.ndarray:
    r"""Judgments x classes weights: gold one-hot where known, else the item's posterior
    without the judgment's own vote.

    With ``leave_one_out`` (default) the judgment's own likelihood factor is divided out of
    the item posterior: :math:`w_i(a) \propto p_i(a) / \hat\pi_j(a, l_i)` with
    :math:`\hat\pi_j` the annotator's confusion matrix re-estimated from the posteriors (the
    Dawid-Skene M-step, ``prior`` pseudo-counts per cell). Otherwise an annotator's own label
    pulls its item's posterior towards itself, and a model with per-annotator confusions
    (Dawid-Skene) then discounts the few confusions of an annotator it already believes, which
    turns chance differences between annotators into large measured ones.
    """
    K = len(classes)
    W = np.zeros((len(judgments), K))
    if posteriors is not None:
        post = posteriors.reindex(columns=classes).fillna(0.0)
        row = post.index.get_indexer(judgments["item_id"])
        ok = row >= 0
        W[ok] = post.to_numpy(float)[row[ok]]
        lab = pd.Index(classes).get_indexer(judgments["label"])
        if leave_one_out and ok.any():
            _, a_code = np.unique(judgments["annotator_id"].to_numpy().astype(str),
                                  return_inverse=True)
            use = ok & (lab >= 0)
            pi = np.full((a_code.max() + 1, K, K), float(prior))
            np.add.at(pi, (a_code[use], slice(None), lab[use]), W[use])
            pi /= pi.sum(axis=2, keepdims=True)
            own = pi[a_code[use], :, lab[use]]                 # pi_j(a, l) for every a
            loo = W[use] / np.clip(own, 1e-9, None)
            tot = loo.sum(axis=1, keepdims=True)
            W[use] = np.where(tot > 0, loo / np.where(tot > 0, tot, 1.0), W[use])
    if gold is not None and len(gold):
        g = judgments["item_id"].map(gold.set_index("item_id")["label"])
        col = pd.Index(classes).get_indexer(g.fillna("\0"))
        has = (col >= 0)
        W[has] = 0.0
        W[np.flatnonzero(has), col[has]] = 1.0
    return W


def _sf_binomial(x: float, n: float, p: float) -> float:
    """``P(Binomial(n, p) >= x)`` continued to real ``x, n`` (regularised incomplete beta)."""
    if x <= 0:
        return 1.0
    if x > n:
        return 0.0
    return float(_sp.betainc(x, n - x + 1.0, p))


def gap_tests(judgments: pd.DataFrame, weights: np.ndarray, classes: list[str], *,
              min_count: float = 20.0, min_expected: float = 5.0, n_examples: int = 3,
              outside_pool=()) -> pd.DataFrame:
    """One row per tested (market, team, true, given): rates, effect, p and example items.

    Parameters
    ----------
    judgments : pandas.DataFrame
        From :func:`insights.trends.series.prepare_judgments` (``market``, ``team``,
        ``annotator_id``, ``item_id``, ``label``).
    weights : numpy.ndarray
        :func:`truth_weights` of the same rows.
    min_count : float, default 20
        Pairs where the team or the rest has fewer soft judgments of the true class are not
        tested.
    min_expected : float, default 5
        Pairs where the team would make fewer than this many ``true -> given`` confusions at
        the pooled rate, or where team and rest make fewer than this many together, are not
        tested (nothing could be learnt, and an excess of one or two labels is not a gap).
    outside_pool : collection of str
        Annotator ids (model annotators) that are not part of any market's pool: they are
        tested as their own team against the pool but never count in another team's "rest".

    Returns
    -------
    pandas.DataFrame
        ``market, team, true, given, team_rate, rest_rate, effect, effect_lo, effect_hi, p,
        dispersion, method, team_n, rest_n, team_annotators, rest_annotators, examples``
        (item ids where a team member gave ``given`` and ``true`` is the most likely truth,
        most certain first).
    """
    K = len(classes)
    lab = pd.Index(classes).get_indexer(judgments["label"])
    outside = {str(a) for a in outside_pool}
    rows = []
    for market, idx in judgments.groupby("market", sort=True).indices.items():
        sub = judgments.iloc[idx]
        w = weights[idx]
        L = lab[idx]
        ann, a_code = np.unique(sub["annotator_id"].to_numpy().astype(str),
                                return_inverse=True)
        team_of = pd.Series(sub["team"].to_numpy()).groupby(a_code).agg(
            lambda s: s.mode().iat[0]).to_numpy()
        in_pool = ~np.isin(ann, list(outside))
        J = len(ann)
        n_a = np.zeros((J, K))
        np.add.at(n_a, a_code, w)
        n_ab = np.zeros((J, K, K))            # annotator, true, given
        for b in range(K):
            m = L == b
            np.add.at(n_ab[:, :, b], a_code[m], w[m])
        for team in np.unique(team_of):
            in_t = team_of == team
            rest = in_pool & ~in_t
            if not rest.any():
                continue
            for a in range(K):
                nt, nr = n_a[in_t, a].sum(), n_a[rest, a].sum()
                if nt < min_count or nr < min_count:
                    continue
                units = (in_t | rest) & (n_a[:, a] > 0)
                n_units = int(units.sum())
                if n_units < 3:
                    continue
                for b in range(K):
                    if b == a:
                        continue
                    xt, xr = n_ab[in_t, a, b].sum(), n_ab[rest, a, b].sum()
                    p0 = (xt + xr) / (nt + nr)
                    if nt * p0 < min_expected or xt + xr < min_expected or p0 >= 1:
                        continue
                    pt, pr = xt / nt, xr / nr
                    nj, xj = n_a[units, a], n_ab[units, a, b]
                    mu = np.clip(np.where(in_t[units], pt, pr), 1e-12, 1 - 1e-12)
                    dfree = n_units - 2
                    pearson = float(np.sum((xj - nj * mu) ** 2 / (nj * mu * (1 - mu))))
                    phi = max(pearson / dfree, 1.0)
                    # conditional test: given the xt + xr confusions, the team's share is
                    # Binomial(xt + xr, nt / (nt + nr)) under H0; counts divided by phi
                    p = _sf_binomial(xt / phi, (xt + xr) / phi, nt / (nt + nr))
                    d, lo, hi = newcombe_difference(xr, nr, xt, nt, dispersion=phi)
                    ex = []
                    if pt > pr:
                        pick = in_t[a_code] & (L == b) & (np.argmax(w, axis=1) == a)
                        if pick.any():
                            order = np.argsort(-w[pick, a], kind="stable")
                            ex = list(pd.unique(sub["item_id"].to_numpy()[pick][order])
                                      [:n_examples])
                    rows.append({"market": market, "team": team, "true": classes[a],
                                 "given": classes[b], "team_rate": pt, "rest_rate": pr,
                                 "effect": d, "effect_lo": lo, "effect_hi": hi, "p": p,
                                 "dispersion": phi,
                                 "method": "quasi-binomial" if phi > 1 else "binomial",
                                 "team_n": nt, "rest_n": nr,
                                 "team_annotators": int((units & in_t).sum()),
                                 "rest_annotators": int((units & rest).sum()),
                                 "examples": ex})
    return pd.DataFrame(rows)
