r"""A/B analysis of label logs: arms of a live experiment compared on accuracy against gold
audits, agreement, cost per item, handle time, throughput and judgments per item, each with the
difference against the control arm, an interval and a test; and the power calculation that says
how many items per arm an experiment needs.

Judgments that share an annotator are not independent (an annotator's skill makes all their
judgments right or wrong together), so judgment-level metrics are compared with a linear
probability / mean model fitted by least squares with standard errors clustered by annotator
(Liang & Zeger 1986; the ``cluster`` covariance of statsmodels). Item-level metrics (cost per
item, judgments per item) use heteroskedasticity-robust (HC1) errors; throughput is measured per
annotator-day and clustered by annotator.

References
----------
Liang, K.-Y. and Zeger, S. L. (1986). Longitudinal data analysis using generalized linear
models. Biometrika 73(1), 13-22.
Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed. (ch. 6:
differences between proportions, effect size :math:`h = 2\arcsin\sqrt{p_1} - 2\arcsin\sqrt{p_2}`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.data import Dataset

__all__ = ["ab_analysis", "items_per_arm", "power_table", "AB_COLUMNS"]

AB_COLUMNS = ["metric", "arm", "control", "n", "clusters", "mean", "diff", "diff_low",
              "diff_high", "p_value", "test"]


def _fit(y: np.ndarray, arm: np.ndarray, arms: list[str], control: str, groups, confidence):
    import statsmodels.api as sm

    ok = np.isfinite(y)
    y, arm = y[ok], arm[ok]
    others = [a for a in arms if a != control]
    x = np.column_stack([np.ones(len(y))] + [(arm == a).astype(float) for a in others])
    present = x[:, 1:].sum(axis=0) > 0
    out = {}
    if len(y) == 0 or (arm == control).sum() == 0:
        return out
    if groups is not None:
        g = pd.factorize(np.asarray(groups)[ok])[0]
        n_groups = len(np.unique(g))
        if n_groups < 2:
            return out
        model = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": g})
        test = "OLS difference in means, SE clustered by annotator"
    else:
        n_groups = None
        model = sm.OLS(y, x).fit(cov_type="HC1")
        test = "OLS difference in means, HC1 robust SE"
    ci = model.conf_int(alpha=1 - confidence)
    for j, a in enumerate(others, start=1):
        if not present[j - 1]:
            continue
        out[a] = (float(model.params[j]), float(ci[j, 0]), float(ci[j, 1]),
                  float(model.pvalues[j]), test)
    out["_groups"] = n_groups
    return out


def _rows(metric, y, arm, arms, control, groups, confidence, scale=1.0) -> list[dict]:
    y = np.asarray(y, dtype=np.float64)
    res = _fit(y, arm, arms, control, groups, confidence)
    rows = []
    for a in arms:
        sel = (arm == a) & np.isfinite(y)
        n_cl = int(pd.Series(np.asarray(groups)[sel]).nunique()) if groups is not None else None
        row = {"metric": metric, "arm": a, "control": control, "n": int(sel.sum()),
               "clusters": n_cl, "mean": scale * float(y[sel].mean()) if sel.any() else np.nan,
               "diff": np.nan, "diff_low": np.nan, "diff_high": np.nan, "p_value": np.nan,
               "test": ""}
        if a in res:
            d, lo, hi, p, test = res[a]
            row.update(diff=scale * d, diff_low=scale * lo, diff_high=scale * hi, p_value=p,
                       test=test)
        rows.append(row)
    return rows


def ab_analysis(labels, arm_column: str, *, gold: pd.DataFrame | None = None,
                control: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Compare the arms of an experiment recorded in a label log.

    Parameters
    ----------
    labels : DataFrame or Dataset
        The log with ``item_id``, ``annotator_id``, ``label``, the arm column, and optionally
        ``cost``, ``handle_seconds``, ``labeled_at``.
    arm_column : str
        Column naming each judgment's arm (an item's arm is its most frequent one).
    gold : DataFrame, optional
        ``item_id``, ``label`` (default: the Dataset's); without gold there is no accuracy row.
    control : str, optional
        The control arm (default: the first in sorted order).
    confidence : float, default 0.95

    Returns
    -------
    DataFrame with :data:`AB_COLUMNS`, one row per metric and arm (the control's row has no
    difference). Metrics: ``accuracy_gold`` (% of judgments on gold items that match gold),
    ``agreement`` (% of judgments that match the majority of the item's *other* judgments,
    items with at least two; ties count half), ``handle_seconds``, ``cost_per_item``,
    ``judgments_per_item``, ``throughput_per_annotator_day``. ``diff`` is arm minus control
    in the metric's unit (points for percentages), with its interval and the two-sided p of
    the Wald test.
    """
    if isinstance(labels, Dataset):
        gold = labels.gold if gold is None else gold
        lab = labels.labels
    else:
        lab = labels
    if arm_column not in lab.columns:
        raise ValueError(f"labels have no column {arm_column!r} (the --arm-column); columns "
                         f"are {list(lab.columns)}")
    arm = lab[arm_column].astype(str).to_numpy()
    arms = sorted(pd.unique(arm))
    if len(arms) < 2:
        raise ValueError(f"column {arm_column!r} has one arm ({arms}); an A/B analysis needs "
                         f"two or more")
    control = arms[0] if control is None else str(control)
    if control not in arms:
        raise ValueError(f"control arm {control!r} is not in column {arm_column!r} "
                         f"(arms: {arms})")
    ann = lab["annotator_id"].astype(str).to_numpy()
    item = lab["item_id"].astype(str).to_numpy()
    label = lab["label"].astype(str).to_numpy()
    rows: list[dict] = []
    if gold is not None and len(gold):
        g = pd.Series(gold["label"].astype(str).to_numpy(), index=gold["item_id"].astype(str))
        gl = g.reindex(item).to_numpy()
        on = pd.notna(gl)
        y = np.where(on, (label == gl).astype(float), np.nan)
        rows += _rows("accuracy_gold", y, arm, arms, control, ann, confidence, 100.0)
    # leave-one-out agreement: votes for my label among the item's other judgments
    key = pd.DataFrame({"i": item, "l": label})
    same = key.groupby(["i", "l"])["l"].transform("size").to_numpy() - 1
    total = key.groupby("i")["l"].transform("size").to_numpy() - 1
    counts = key.groupby(["i", "l"]).size()
    top_other = _top_other(key, counts)
    agree = np.where(total > 0, np.where(same > top_other, 1.0,
                                         np.where(same == top_other, 0.5, 0.0)), np.nan)
    rows += _rows("agreement", agree, arm, arms, control, ann, confidence, 100.0)
    if "handle_seconds" in lab.columns:
        rows += _rows("handle_seconds", pd.to_numeric(lab["handle_seconds"], errors="coerce"),
                      arm, arms, control, ann, confidence)
    # item level: the item's arm is its most frequent arm
    frame = pd.DataFrame({"item": item, "arm": arm})
    if "cost" in lab.columns:
        frame["cost"] = pd.to_numeric(lab["cost"], errors="coerce").to_numpy()
    pair = frame.groupby(["item", "arm"]).size().rename("c").reset_index()
    pair = pair.sort_values(["item", "c", "arm"], ascending=[True, False, True], kind="stable")
    per_item = pair.drop_duplicates("item").set_index("item")[["arm"]]
    per_item["n"] = frame.groupby("item").size()
    if "cost" in frame:
        per_item["cost"] = frame.groupby("item")["cost"].sum()
    item_arm = per_item["arm"].to_numpy()
    if "cost" in per_item:
        rows += _rows("cost_per_item", per_item["cost"].to_numpy(), item_arm, arms, control,
                      None, confidence)
    rows += _rows("judgments_per_item", per_item["n"].to_numpy(), item_arm, arms, control, None,
                  confidence)
    if "labeled_at" in lab.columns:
        day = pd.to_datetime(lab["labeled_at"], utc=True).dt.floor("D")
        ad = pd.DataFrame({"a": ann, "arm": arm, "day": day}).dropna()
        per_day = ad.groupby(["a", "arm", "day"]).size().rename("n").reset_index()
        rows += _rows("throughput_per_annotator_day", per_day["n"].to_numpy(),
                      per_day["arm"].to_numpy(), arms, control, per_day["a"].to_numpy(),
                      confidence)
    return pd.DataFrame(rows, columns=AB_COLUMNS)


def _top_other(key: pd.DataFrame, counts: pd.Series) -> np.ndarray:
    """For each judgment, the largest vote count among the *other* labels of its item."""
    c = counts.rename("c").reset_index()
    c = c.sort_values(["i", "c"], ascending=[True, False])
    first = c.groupby("i").nth(0).set_index("i")
    second = c.groupby("i").nth(1).set_index("i")
    f_l = first["l"].reindex(key["i"]).to_numpy()
    f_c = first["c"].reindex(key["i"]).to_numpy()
    s_c = second["c"].reindex(key["i"]).fillna(0).to_numpy()
    return np.where(key["l"].to_numpy() == f_l, s_c, f_c)


def items_per_arm(p_control: float, p_treatment: float, *, alpha: float = 0.05,
                  power: float = 0.8, ratio: float = 1.0) -> float:
    """Items per arm to detect ``p_control`` vs ``p_treatment`` (two-sided test of two
    proportions on Cohen's arcsine effect size ``h``), by statsmodels' ``NormalIndPower``.

    The normal approximation gives :math:`n = ((z_{1-\\alpha/2} + z_{power}) / h)^2 (1 + 1/r)`
    per control arm; Cohen (1988, Table 6.4.1) lists 392 for :math:`h = 0.2`,
    :math:`\\alpha = 0.05`, power 0.8.
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = proportion_effectsize(p_treatment, p_control)
    if h == 0:
        return float("inf")
    return float(NormalIndPower().solve_power(effect_size=abs(h), alpha=alpha, power=power,
                                              ratio=ratio, alternative="two-sided"))


def power_table(p_control: float, differences=(0.01, 0.02, 0.03, 0.05), *,
                alpha: float = 0.05, power: float = 0.8, judgments_per_item: float = 1.0
                ) -> pd.DataFrame:
    """Items per arm for a range of accuracy differences (``p_control + d``).

    ``judgments_per_item`` > 1 is reported as ``judgments_per_arm`` too; it assumes the
    accuracy is measured per item (judgments of one item are not independent draws).
    """
    rows = []
    for d in differences:
        p_t = min(max(p_control + d, 0.0), 1.0)
        n = items_per_arm(p_control, p_t, alpha=alpha, power=power)
        rows.append({"p_control": p_control, "p_treatment": p_t, "difference": d,
                     "alpha": alpha, "power": power, "items_per_arm": int(np.ceil(n)),
                     "judgments_per_arm": int(np.ceil(n * judgments_per_item))})
    return pd.DataFrame(rows)
