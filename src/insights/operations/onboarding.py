r"""Onboarding: learning curves of new teams and annotators, ramp-up fits, time to proficiency.

Each judgment's correctness is :math:`c_i = w_i(l_i)`, the weight of its own label being the
truth (:func:`insights.trends.gaps.truth_weights`: 0/1 on gold, else the item posterior without
the judgment's own vote), so the accuracy of a group of judgments is :math:`\sum c_i / n`.

**Ramp-up curve.** For a team, with :math:`t` the weeks since the team's first judgment,

.. math:: A(t) = A_\infty - (A_\infty - A_0)\, e^{-t/\tau},

fitted by maximum (quasi-)binomial likelihood :math:`\sum_i c_i \log A(t_i) + (1 - c_i)
\log(1 - A(t_i))` (the exponential learning curve of Mazur & Hastie 1978). The time to reach a
target accuracy :math:`A^*` is :math:`t^* = \tau \ln\frac{A_\infty - A_0}{A_\infty - A^*}`
(0 when :math:`A_0 \ge A^*`, infinite when :math:`A_\infty \le A^*`). Intervals are percentile
intervals of a cluster bootstrap that resamples the team's annotators (their judgments move
together), refitting each replicate.

**Behind the curve.** A new team is compared with the curve fitted on the new teams that
started *before* it: with :math:`p_i` the reference curve at each of the team's judgments, the
deficit :math:`D = \sum_i (c_i - p_i)` is referred to a normal with variance
:math:`\hat\phi \sum_i p_i(1-p_i)`, :math:`\hat\phi \ge 1` the Pearson dispersion between the
team's annotators; one-sided p (behind), Benjamini-Hochberg q over the teams tested.

References
----------
Mazur, J. E. & Hastie, R. (1978). Learning as accumulation: a reexamination of the learning
curve. Psychological Bulletin 85(6), 1256-1274.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from insights.data import Dataset
from insights.operations._common import judgments
from insights.stats import wilson_interval
from insights.trends.fdr import adjust
from insights.trends.gaps import truth_weights

__all__ = ["onboarding_judgments", "new_groups", "learning_curves", "fit_ramp", "ramp_fits",
           "behind_the_curve", "time_to_target"]

WEEK_S = 7 * 86400.0


def onboarding_judgments(ds: Dataset, posteriors: pd.DataFrame | None = None, *,
                         leave_one_out: bool = False,
                         gold_sources=("benchmark", "calibration")) -> pd.DataFrame:
    """Human judgments with ``correct`` (soft, see the module docstring), ``team_weeks``
    (weeks since the team's first judgment), ``annotator_weeks`` and ``annotator_n``
    (the annotator's judgments done before this one)."""
    if "labeled_at" not in ds.labels.columns:
        raise ValueError("onboarding needs the labels column 'labeled_at' (a timestamp)")
    classes = [str(c) for c in ds.label_set]
    j = judgments(ds)
    j = j[j["kind"] != "model"].sort_values(["labeled_at", "item_id", "annotator_id"],
                                            kind="stable").reset_index(drop=True)
    gold = ds.gold
    if gold is not None and "source" in gold.columns and gold_sources is not None:
        src = gold["source"].astype(object).where(gold["source"].notna(), "benchmark")
        gold = gold[src.astype(str).str.lower().replace("", "benchmark").isin(gold_sources)]
    W = truth_weights(j, gold, posteriors, classes, leave_one_out=leave_one_out)
    lab = pd.Index(classes).get_indexer(j["label"].astype(str))
    j["correct"] = np.where(lab >= 0, W[np.arange(len(j)), np.maximum(lab, 0)], 0.0)
    known = W.sum(axis=1) > 0                 # no gold and no posterior: unknown
    j = j[known].reset_index(drop=True)
    t = j["labeled_at"]
    j["team_weeks"] = (t - j.groupby("team")["labeled_at"].transform("min")).dt.total_seconds() \
        / WEEK_S
    j["annotator_weeks"] = (t - j.groupby("annotator_id")["labeled_at"].transform("min")) \
        .dt.total_seconds() / WEEK_S
    j["annotator_n"] = j.groupby("annotator_id").cumcount()
    return j


def new_groups(j: pd.DataFrame, level: str = "team", *, grace_weeks: float = 1.0) -> pd.Series:
    """Teams (or annotators) whose first judgment comes more than ``grace_weeks`` after the
    first judgment of the data: group -> its start time, earliest first."""
    key = "team" if level == "team" else "annotator_id"
    first = j.groupby(key)["labeled_at"].min()
    start = j["labeled_at"].min()
    new = first[first > start + pd.Timedelta(weeks=grace_weeks)]
    return new.sort_values(kind="stable")


def learning_curves(j: pd.DataFrame, level: str = "team", *, by: str = "weeks",
                    groups=None, bin_size: int = 50) -> pd.DataFrame:
    """Accuracy of each new team (or annotator) by whole weeks since its first judgment
    (``by="weeks"``) or by judgments done (``by="judgments"``, bins of ``bin_size``).

    Returns ``<group>, x`` (week or bin start), ``n, correct, accuracy, accuracy_lo,
    accuracy_hi`` (Wilson on the soft counts).
    """
    key = "team" if level == "team" else "annotator_id"
    groups = list(new_groups(j, level).index) if groups is None else list(groups)
    sub = j[j[key].isin(groups)].copy()
    if by == "weeks":
        col = "team_weeks" if level == "team" else "annotator_weeks"
        sub["x"] = np.floor(sub[col]).astype(int)
    elif by == "judgments":
        n = sub.groupby(key).cumcount() if level == "team" else sub["annotator_n"]
        sub["x"] = (n // bin_size) * bin_size
    else:
        raise ValueError(f"by must be 'weeks' or 'judgments', got {by!r}")
    g = sub.groupby([key, "x"], sort=True)
    out = pd.DataFrame({"n": g.size(), "correct": g["correct"].sum()}).reset_index()
    out["accuracy"] = out["correct"] / out["n"]
    lo, hi = wilson_interval(out["correct"].clip(upper=out["n"]), out["n"])
    out["accuracy_lo"], out["accuracy_hi"] = lo, hi
    return out


def fit_ramp(t, correct, *, max_tau: float = 52.0, start=None) -> tuple[float, float, float]:
    """Maximum-likelihood ``(A_0, A_inf, tau)`` of the ramp-up curve on judgments at ``t``
    weeks with (soft) correctness ``correct``; ``tau`` is bounded to ``[0.05, max_tau]``.

    ``start`` (an earlier fit) is the only starting point when given; otherwise three
    starting values of ``tau`` (0.5, 1.5, 4 weeks) are tried and the best optimum is kept.
    """
    t = np.asarray(t, float)
    c = np.asarray(correct, float)
    # aggregate to days: the likelihood only needs sums of c and of 1 - c per distinct t
    day = np.floor(t * 7).astype(int)
    x = np.bincount(day, weights=c)
    n = np.bincount(day).astype(float)
    td = (np.arange(len(n)) + 0.5) / 7
    keep = n > 0
    x, n, td = x[keep], n[keep], td[keep]

    def nll(theta):
        a0, a1, tau = special.expit(theta[0]), special.expit(theta[1]), np.exp(theta[2])
        e = np.exp(-td / tau)
        p = a1 - (a1 - a0) * e
        pc = np.clip(p, 1e-9, 1 - 1e-9)
        f = -float(np.sum(x * np.log(pc) + (n - x) * np.log1p(-pc)))
        dp = -(x / pc - (n - x) / (1 - pc))
        g = np.array([np.sum(dp * e) * a0 * (1 - a0),
                      np.sum(dp * (1 - e)) * a1 * (1 - a1),
                      np.sum(dp * (-(a1 - a0) * e * td / tau ** 2)) * tau])
        return f, g

    bounds = [(-6, 6), (-6, 8), (np.log(0.05), np.log(max_tau))]
    if start is not None:
        a0, a1, tau = start
        starts = [[special.logit(np.clip(a0, 1e-3, 1 - 1e-3)),
                   special.logit(np.clip(a1, 1e-3, 1 - 1e-3)), np.log(tau)]]
    else:
        early = c[t <= np.quantile(t, 0.1)].mean() if len(c) else 0.5
        late = c[t >= np.quantile(t, 0.7)].mean() if len(c) else 0.5
        starts = [[special.logit(np.clip(early, 0.05, 0.95)),
                   special.logit(np.clip(late, 0.05, 0.99)), np.log(tau0)]
                  for tau0 in (0.5, 1.5, 4.0)]
    best = None
    for x0 in starts:
        x0 = np.clip(x0, [b[0] for b in bounds], [b[1] for b in bounds])
        r = optimize.minimize(nll, x0, jac=True, method="SLSQP", bounds=bounds)
        if best is None or r.fun < best.fun:
            best = r
    th = best.x
    return float(special.expit(th[0])), float(special.expit(th[1])), float(np.exp(th[2]))


def time_to_target(a0: float, a_inf: float, tau: float, target: float) -> float:
    """Weeks for the ramp-up curve to reach ``target`` (0 or inf at the extremes)."""
    if a0 >= target:
        return 0.0
    if a_inf <= target:
        return float("inf")
    return float(tau * np.log((a_inf - a0) / (a_inf - target)))


def ramp_fits(j: pd.DataFrame, *, target: float = 0.85, groups=None, n_boot: int = 200,
              confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """One row per new team: ``team, start, n_judgments, n_annotators, weeks_observed,
    accuracy_start, accuracy_final, tau_weeks`` and ``weeks_to_target`` (each with ``_lo`` and
    ``_hi`` from the annotator bootstrap), ``target`` and ``reached`` (the fitted curve reaches
    the target within the weeks observed)."""
    starts = new_groups(j, "team") if groups is None else \
        j.groupby("team")["labeled_at"].min().reindex(list(groups))
    rng = np.random.default_rng(seed)
    a = (1 - confidence) / 2
    rows = []
    for team, start in starts.items():
        sub = j[j["team"] == team]
        t, c = sub["team_weeks"].to_numpy(), sub["correct"].to_numpy(float)
        a0, a1, tau = fit_ramp(t, c)
        ttt = time_to_target(a0, a1, tau, target)
        members = sub["annotator_id"].to_numpy()
        ids, code = np.unique(members, return_inverse=True)
        by_member = [np.flatnonzero(code == m) for m in range(len(ids))]
        reps = []
        for _ in range(n_boot if len(ids) >= 2 else 0):
            pick = rng.integers(0, len(ids), len(ids))
            idx = np.concatenate([by_member[m] for m in pick])
            b = fit_ramp(t[idx], c[idx], start=(a0, a1, tau))
            reps.append((*b, time_to_target(*b, target)))
        reps = np.asarray(reps) if reps else np.full((1, 4), np.nan)
        lo = np.quantile(reps, a, axis=0, method="inverted_cdf")
        hi = np.quantile(reps, 1 - a, axis=0, method="inverted_cdf")
        row = {"team": team, "start": start, "n_judgments": len(sub),
               "n_annotators": len(ids), "weeks_observed": float(t.max())}
        for i, (name, val) in enumerate((("accuracy_start", a0), ("accuracy_final", a1),
                                         ("tau_weeks", tau), ("weeks_to_target", ttt))):
            row[name], row[f"{name}_lo"], row[f"{name}_hi"] = val, float(lo[i]), float(hi[i])
        row["target"] = target
        row["reached"] = bool(ttt <= t.max())
        rows.append(row)
    return pd.DataFrame(rows)


def behind_the_curve(j: pd.DataFrame, fits: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Each new team against the curve of the new teams that started before it.

    Returns ``team, reference`` (the earlier teams), ``observed, expected`` (accuracy of the
    team's judgments and what the reference curve predicts at the same weeks), ``deficit``
    (expected - observed), ``z, dispersion, p`` (one-sided: behind), ``q`` (BH) and
    ``behind`` (``q <= alpha``). Teams without an earlier new team are not tested.
    """
    fits = fits.sort_values("start", kind="stable")
    rows = []
    for i, r in enumerate(fits.itertuples(index=False)):
        earlier = list(fits["team"].iloc[:i])
        if not earlier:
            continue
        ref = j[j["team"].isin(earlier)]
        th = fit_ramp(ref["team_weeks"].to_numpy(), ref["correct"].to_numpy(float))
        sub = j[j["team"] == r.team]
        p = np.clip(th[1] - (th[1] - th[0]) * np.exp(-sub["team_weeks"].to_numpy() / th[2]),
                    1e-6, 1 - 1e-6)
        c = sub["correct"].to_numpy(float)
        code = pd.factorize(sub["annotator_id"])[0]
        o_j = np.bincount(code, weights=c)
        e_j = np.bincount(code, weights=p)
        v_j = np.bincount(code, weights=p * (1 - p))
        d = (o_j.sum() - e_j.sum()) / v_j.sum()
        k = len(o_j)
        phi = max(1.0, float(np.sum((o_j - e_j - d * v_j) ** 2 / v_j) / (k - 1))) if k > 1 \
            else 1.0
        z = (o_j.sum() - e_j.sum()) / np.sqrt(phi * v_j.sum())
        rows.append({"team": r.team, "reference": ", ".join(map(str, earlier)),
                     "observed": c.mean(), "expected": p.mean(), "deficit": p.mean() - c.mean(),
                     "z": float(z), "dispersion": phi, "p": float(stats.norm.cdf(z))})
    out = pd.DataFrame(rows, columns=["team", "reference", "observed", "expected", "deficit",
                                      "z", "dispersion", "p"])
    out["q"] = adjust(out["p"].to_numpy(float)) if len(out) else []
    out["behind"] = out["q"] <= alpha
    return out
