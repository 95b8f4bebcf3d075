r"""Knowledge gaps: which team confuses which true class for which given class.

For market :math:`m`, team :math:`T`, true class :math:`a` and given class :math:`b \ne a`,
each judgment carries a weight :math:`w_i(a)` that its item's true class is :math:`a`: the gold
answer where there is one (0/1), else the item posterior (e.g. Dawid-Skene's ``probas_``).
Soft counts per annotator :math:`j`: :math:`n_{ja} = \sum w_i(a)` and
:math:`n_{jab} = \sum_{\text{label}=b} w_i(a)`.

Test (one-sided: a gap is an *excess*; a team that confuses less than its pool, such as an
accurate model annotator, is not a gap) of "team :math:`T`'s :math:`a \to b` rate is no
higher than the rest of the market's pool" against "higher": a binomial model on annotators with rates :math:`n_{jab}/n_{ja}`, one rate for the team
and one for the rest (the MLEs are the pooled rates). Its Pearson dispersion across annotators,
:math:`\hat\phi = X^2/(J-2)` floored at 1, absorbs annotator heterogeneity (one biased member
is not a team gap); the log-odds difference (0.5 added to every count, Haldane-Anscombe) is
tested with a t-test on :math:`J - 2` df when :math:`\hat\phi > 1`, else a z-test. Pairs where
the team or the rest has fewer than ``min_count`` soft judgments of class :math:`a` are not
tested. Every tested pair enters the run's FDR family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as _st

from insights.trends.findings import newcombe_difference

__all__ = ["gap_tests", "truth_weights"]


def truth_weights(judgments: pd.DataFrame, gold: pd.DataFrame | None,
                  posteriors: pd.DataFrame | None, classes: list[str]) -> np.ndarray:
    """Judgments x classes weights: gold one-hot where known, else the item's posterior."""
    W = np.zeros((len(judgments), len(classes)))
    if posteriors is not None:
        post = posteriors.reindex(columns=classes).fillna(0.0)
        row = post.index.get_indexer(judgments["item_id"])
        ok = row >= 0
        W[ok] = post.to_numpy(float)[row[ok]]
    if gold is not None and len(gold):
        g = judgments["item_id"].map(gold.set_index("item_id")["label"])
        col = pd.Index(classes).get_indexer(g.fillna("\0"))
        has = (col >= 0)
        W[has] = 0.0
        W[np.flatnonzero(has), col[has]] = 1.0
    return W


def gap_tests(judgments: pd.DataFrame, weights: np.ndarray, classes: list[str], *,
              min_count: float = 20.0, n_examples: int = 3) -> pd.DataFrame:
    """One row per tested (market, team, true, given): rates, effect, p and example items.

    Parameters
    ----------
    judgments : pandas.DataFrame
        From :func:`insights.trends.series.prepare_judgments` (``market``, ``team``,
        ``annotator_id``, ``item_id``, ``label``).
    weights : numpy.ndarray
        :func:`truth_weights` of the same rows.

    Returns
    -------
    pandas.DataFrame
        ``market, team, true, given, team_rate, rest_rate, effect, effect_lo, effect_hi, p,
        dispersion, method, team_n, rest_n, examples`` (item ids where a team member gave
        ``given`` and ``true`` is the most likely truth, most certain first).
    """
    K = len(classes)
    lab = pd.Index(classes).get_indexer(judgments["label"])
    rows = []
    for market, idx in judgments.groupby("market", sort=True).indices.items():
        sub = judgments.iloc[idx]
        w = weights[idx]
        L = lab[idx]
        ann, a_code = np.unique(sub["annotator_id"].to_numpy(), return_inverse=True)
        team_of = pd.Series(sub["team"].to_numpy()).groupby(a_code).agg(
            lambda s: s.mode().iat[0]).to_numpy()
        J = len(ann)
        n_a = np.zeros((J, K))
        np.add.at(n_a, a_code, w)
        n_ab = np.zeros((J, K, K))            # annotator, true, given
        for b in range(K):
            m = L == b
            np.add.at(n_ab[:, :, b], a_code[m], w[m])
        for team in np.unique(team_of):
            in_t = team_of == team
            if in_t.all():
                continue
            for a in range(K):
                nt, nr = n_a[in_t, a].sum(), n_a[~in_t, a].sum()
                if nt < min_count or nr < min_count:
                    continue
                for b in range(K):
                    if b == a:
                        continue
                    xt, xr = n_ab[in_t, a, b].sum(), n_ab[~in_t, a, b].sum()
                    pt, pr = xt / nt, xr / nr
                    nj, xj = n_a[:, a], n_ab[:, a, b]
                    use = nj > 0
                    mu = np.where(in_t, pt, pr)[use]
                    yj = xj[use] / nj[use]
                    var = np.clip(mu * (1 - mu), 1e-12, None)
                    dfree = max(int(use.sum()) - 2, 1)
                    phi = float(np.sum(nj[use] * (yj - mu) ** 2 / var) / dfree)
                    if not np.isfinite(phi) or (xt + xr) == 0:
                        continue
                    lt = np.log((xt + 0.5) / (nt - xt + 0.5))
                    lr = np.log((xr + 0.5) / (nr - xr + 0.5))
                    se = np.sqrt(1 / (xt + 0.5) + 1 / (nt - xt + 0.5) + 1 / (xr + 0.5)
                                 + 1 / (nr - xr + 0.5))
                    if phi > 1:
                        stat = (lt - lr) / (se * np.sqrt(phi))
                        p = float(_st.t.sf(stat, dfree))
                        method = "quasi-binomial"
                    else:
                        stat = (lt - lr) / se
                        p = float(_st.norm.sf(stat))
                        method = "binomial"
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
                                 "dispersion": phi, "method": method, "team_n": nt,
                                 "rest_n": nr, "examples": ex})
    return pd.DataFrame(rows)
