r"""Cost-aware assignment of pending items to eligible annotators, and the quality-cost frontier.

Every pending item needs ``redundancy`` judgments from distinct eligible annotators (same
market -- or an annotator of market ``ALL`` --, a queue the annotator works, and not already
judged by them). Annotator :math:`a` takes at most ``capacity_per_day x horizon_days``
judgments and each vendor (``team``) at most its cap. Assigning :math:`a` costs
:math:`c_a` (``cost_per_label``) and brings :math:`q_a` expected correct judgments (the
labeler features' accuracy); the objective is

.. math:: \min \sum_{(i,a)} x_{ia}\,(c_a - \lambda q_a) + M \sum_i u_i

over assignments :math:`x_{ia} \in \{0, 1\}` with :math:`u_i` the judgments item :math:`i`
could not get (penalty :math:`M` far above any cost). This is a min-cost flow --
source -> item (``redundancy``) -> annotator (1) -> vendor (capacity) -> sink (vendor cap),
solved as the maximum flow of least cost --
whose constraint matrix is totally unimodular, so OR-Tools' min-cost flow (cost scaling)
returns an integer optimum equal to the LP relaxation's. A quality target (mean :math:`q` of the assigned
judgments) or a budget (total cost) is met by bisection on :math:`\lambda` (both are monotone
in :math:`\lambda`). A side constraint that breaks the network -- at least ``min_vendors``
vendors per item -- is solved as a mixed-integer program with SciPy's HiGHS
(:func:`assign_milp`).

References
----------
Ahuja, R. K., Magnanti, T. L. and Orlin, J. B. (1993). Network Flows. Prentice Hall (ch. 9-11).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Problem", "Assignment", "build_problem", "problem_from_log", "assign", "assign_milp", "frontier",
           "plot_frontier", "ASSIGNMENT_COLUMNS"]

log = logging.getLogger(__name__)

#: Integer cost units per currency unit (OR-Tools needs integer costs).
COST_SCALE = 100_000
ASSIGNMENT_COLUMNS = ["item_id", "annotator_id", "team", "cost", "quality"]


@dataclass(frozen=True)
class Problem:
    """An assignment instance in arrays (built once, solved for many :math:`\\lambda`).

    Attributes
    ----------
    item_ids, annotator_ids, vendors : ndarray
    arc_item, arc_ann : int arrays (E,)
        Eligible (item, annotator) pairs.
    cost, quality : float arrays (n_annotators,)
    ann_vendor : int array (n_annotators,)
    capacity : int array (n_annotators,)
    vendor_cap : int array (n_vendors,)
    redundancy : int
    handle_seconds : float array (n_annotators,) (``nan`` when unknown)
    capacity_per_day : float array (n_annotators,)
    """

    item_ids: np.ndarray
    annotator_ids: np.ndarray
    vendors: np.ndarray
    arc_item: np.ndarray
    arc_ann: np.ndarray
    cost: np.ndarray
    quality: np.ndarray
    ann_vendor: np.ndarray
    capacity: np.ndarray
    vendor_cap: np.ndarray
    redundancy: int
    handle_seconds: np.ndarray
    capacity_per_day: np.ndarray

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_annotators(self) -> int:
        return len(self.annotator_ids)

    def arc_costs(self, lam: float) -> np.ndarray:
        """Integer unit cost of every eligible arc: ``round(COST_SCALE (c_a - lam q_a))``."""
        per_ann = np.rint(COST_SCALE * (self.cost - lam * self.quality)).astype(np.int64)
        return per_ann[self.arc_ann]

    def penalty(self, lam: float) -> int:
        """Unit cost of an unassigned judgment: above the cost of any augmenting path that
        reassigns judgments (at most one arc per annotator), so every judgment that can be
        assigned is, and within int64 for OR-Tools."""
        span = int(np.abs(self.arc_costs(lam)).max(initial=0)) + 1
        return int(min(span * (2 * min(self.n_items, self.n_annotators) + 2), 10 ** 12))

    def lam_max(self) -> float:
        """A lambda past which quality all but decides alone: twice the cost range over the
        smallest quality step between annotators (steps under 1 % of the quality range are
        ignored, so a near-tie does not stretch the range)."""
        q = np.unique(self.quality)
        floor = max(0.01 * float(np.ptp(q)) if len(q) > 1 else 1.0, 1e-6)
        step = np.diff(q).min() if len(q) > 1 else 1.0
        return float(2.0 * (np.ptp(self.cost) + 1e-6) / max(step, floor))


@dataclass(frozen=True)
class Assignment:
    """A solved assignment.

    Attributes
    ----------
    table : DataFrame
        One row per assigned judgment, :data:`ASSIGNMENT_COLUMNS`.
    summary : dict
        ``lambda``, ``items``, ``judgments``, ``unassigned``, ``total_cost``,
        ``cost_per_item``, ``mean_quality``, ``hours``, ``days_to_finish``, ``objective``
        (integer units), ``solver``.
    """

    table: pd.DataFrame
    summary: dict


def _split_list(s: pd.Series) -> pd.Series:
    return s.astype(str).str.replace(";", ",").str.split(",")


def build_problem(pending: pd.DataFrame, annotators: pd.DataFrame, *,
                  features: pd.DataFrame | None = None, history: pd.DataFrame | None = None,
                  redundancy: int = 3, horizon_days: float = 1.0,
                  vendor_caps: dict | None = None, eligible: pd.DataFrame | None = None,
                  default_quality: float | None = None) -> Problem:
    """Assemble an instance from the pending items and the annotators.

    Parameters
    ----------
    pending : DataFrame
        ``item_id``; optional ``market``, ``queue``.
    annotators : DataFrame
        ``annotator_id``, ``cost_per_label``, ``capacity_per_day``; optional ``team``
        (vendor), ``market`` (``ALL`` or empty: every market), ``queues`` (comma/semicolon
        list; empty: every queue), ``quality`` (expected accuracy of a judgment).
    features : DataFrame, optional
        The labeler features (:func:`~insights.allocation.features.labeler_features`); its
        ``accuracy_model`` (else ``estimated_accuracy``) is the quality and its
        ``median_handle_seconds`` the time of a judgment.
    history : DataFrame, optional
        Past judgments (``item_id``, ``annotator_id``): those pairs are not eligible.
    redundancy : int, default 3
    horizon_days : float, default 1
        Capacity = ``floor(capacity_per_day * horizon_days)``.
    vendor_caps : dict, optional
        team -> most judgments for that vendor over the horizon.
    eligible : DataFrame, optional
        Explicit ``item_id``, ``annotator_id`` pairs (replaces the market/queue rule).
    default_quality : float, optional
        Quality of annotators without one (default: the median of the others).

    Raises
    ------
    ValueError
        Naming the missing column or the bad value.
    """
    for col in ("annotator_id", "cost_per_label", "capacity_per_day"):
        if col not in annotators.columns:
            raise ValueError(f"annotators: missing column {col!r} (needed for assignment: "
                             f"annotator_id, cost_per_label, capacity_per_day)")
    if "item_id" not in pending.columns:
        raise ValueError("pending: missing column 'item_id'")
    if redundancy < 1:
        raise ValueError(f"redundancy must be at least 1, got {redundancy}")
    ann = annotators.drop_duplicates("annotator_id").reset_index(drop=True)
    ann_ids = ann["annotator_id"].astype(str).to_numpy(dtype=object)
    items = pending.drop_duplicates("item_id").reset_index(drop=True)
    item_ids = items["item_id"].astype(str).to_numpy(dtype=object)

    quality = pd.to_numeric(ann.get("quality"), errors="coerce") if "quality" in ann else \
        pd.Series(np.nan, index=ann.index)
    handle = pd.Series(np.nan, index=ann.index)
    if features is not None:
        f = features.set_index("annotator_id") if "annotator_id" in features.columns else features
        qcol = "accuracy_model" if "accuracy_model" in f.columns else "estimated_accuracy"
        fq = pd.to_numeric(f[qcol], errors="coerce").reindex(ann_ids).to_numpy()
        quality = pd.Series(np.where(np.isnan(quality.to_numpy(float)), fq, quality), index=ann.index)
        if "median_handle_seconds" in f.columns:
            handle = pd.Series(f["median_handle_seconds"].reindex(ann_ids).to_numpy(float),
                               index=ann.index)
    if "median_handle_seconds" in ann.columns:
        handle = handle.fillna(pd.to_numeric(ann["median_handle_seconds"], errors="coerce"))
    q = quality.to_numpy(dtype=np.float64)
    fill = default_quality if default_quality is not None else (
        np.nanmedian(q) if np.isfinite(q).any() else 0.5)
    q = np.where(np.isfinite(q), q, fill)
    cost = pd.to_numeric(ann["cost_per_label"], errors="coerce").to_numpy(np.float64)
    cap_day = pd.to_numeric(ann["capacity_per_day"], errors="coerce").to_numpy(np.float64)
    for name, arr in (("cost_per_label", cost), ("capacity_per_day", cap_day)):
        bad = ~np.isfinite(arr) | (arr < 0)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise ValueError(f"annotators row {pos + 1}: column {name!r} has "
                             f"{ann[name].iat[pos]!r}; expected a non-negative number")
    capacity = np.floor(cap_day * horizon_days).astype(np.int64)
    teams = ann["team"].astype(str).fillna("") if "team" in ann.columns else \
        pd.Series("", index=ann.index)
    ann_vendor, vendors = pd.factorize(teams)
    vendor_cap = np.array([capacity[ann_vendor == v].sum() for v in range(len(vendors))],
                          dtype=np.int64)
    for team, cap in (vendor_caps or {}).items():
        hit = np.flatnonzero(np.asarray(vendors, dtype=object) == str(team))
        if hit.size:
            vendor_cap[hit[0]] = min(vendor_cap[hit[0]], int(cap))

    if eligible is not None:
        pairs = eligible[["item_id", "annotator_id"]].astype(str)
    else:
        pairs = _eligible_pairs(items.assign(item_id=item_ids), ann.assign(annotator_id=ann_ids))
    a_idx = pd.Index(ann_ids).get_indexer(pairs["annotator_id"].to_numpy())
    i_idx = pd.Index(item_ids).get_indexer(pairs["item_id"].to_numpy())
    keep = (a_idx >= 0) & (i_idx >= 0)
    if history is not None and len(history):
        h = pd.Index(pd.MultiIndex.from_arrays([history["item_id"].astype(str),
                                                history["annotator_id"].astype(str)]))
        pi = pd.MultiIndex.from_arrays([pairs["item_id"].to_numpy(),
                                        pairs["annotator_id"].to_numpy()])
        keep &= ~pi.isin(h)
    arc_item, arc_ann = i_idx[keep].astype(np.int64), a_idx[keep].astype(np.int64)
    order = np.lexsort((arc_ann, arc_item))
    return Problem(item_ids=item_ids, annotator_ids=ann_ids,
                   vendors=np.asarray(vendors, dtype=object), arc_item=arc_item[order],
                   arc_ann=arc_ann[order], cost=cost, quality=q,
                   ann_vendor=ann_vendor.astype(np.int64), capacity=capacity,
                   vendor_cap=vendor_cap, redundancy=int(redundancy),
                   handle_seconds=handle.to_numpy(np.float64), capacity_per_day=cap_day)


def problem_from_log(ds, *, features: pd.DataFrame | None = None, redundancy: int = 3,
                     days: float = 7.0) -> tuple[Problem, pd.DataFrame]:
    """The last ``days`` of a log's items as a pending batch for its human annotators.

    A what-if: how the same volume could have been routed. The annotators table must have
    ``cost_per_label`` and ``capacity_per_day``; capacity is for ``days`` days; quality comes
    from the labeler features (computed here when not given); eligibility is the annotators'
    queues when the table lists them (every annotator of the log otherwise -- a market's log
    holds that market's annotators). Returns the problem and the recent judgments (the routing
    they actually got).

    Raises
    ------
    ValueError
        When the annotators table lacks the cost or capacity columns.
    """
    from insights.allocation.features import labeler_features

    ann = ds.annotators
    need = {"cost_per_label", "capacity_per_day"}
    if ann is None or not need <= set(ann.columns):
        raise ValueError("the assignment needs the annotators' cost_per_label and "
                         "capacity_per_day columns (annotators table)")
    table = ds.annotator_table()
    humans = set(table.index[table["kind"] != "model"])
    ann = ann[ann["annotator_id"].isin(humans)].drop(columns=["market"], errors="ignore")
    lab = ds.labels
    recent = lab
    if "labeled_at" in lab.columns:
        ts = pd.to_datetime(lab["labeled_at"], utc=True)
        recent = lab[ts > ts.max() - pd.Timedelta(days=days)]
    cols = ["item_id"] + (["queue"] if "queue" in recent.columns and "queues" in ann.columns
                          else [])
    pending = recent[cols].drop_duplicates("item_id")
    if features is None:
        features = labeler_features(ds).annotators.reset_index()
    problem = build_problem(pending, ann, features=features, redundancy=redundancy,
                            horizon_days=days)
    return problem, recent


def _eligible_pairs(items: pd.DataFrame, ann: pd.DataFrame) -> pd.DataFrame:
    """(item_id, annotator_id) pairs sharing market and queue (wildcards: ALL / empty)."""
    a = ann[["annotator_id"]].copy()
    keys = []
    if "market" in items.columns and "market" in ann.columns:
        m = ann["market"].astype(str)
        a["market"] = m.where(~m.isin(["ALL", "", "nan", "None", "*"]), "*")
        keys.append("market")
    if "queue" in items.columns and "queues" in ann.columns:
        a["queue"] = _split_list(ann["queues"].fillna("*").replace("", "*"))
        a = a.explode("queue")
        a["queue"] = a["queue"].str.strip()
        keys.append("queue")
    it = items[["item_id", *keys]].astype(str)
    if not keys:
        return it.merge(a, how="cross")[["item_id", "annotator_id"]]
    parts = []
    # each wildcard pattern merges on the keys it does not wildcard
    patterns = a[keys].eq("*")
    for pat, grp in a.groupby([patterns[k] for k in keys], sort=False):
        pat = pat if isinstance(pat, tuple) else (pat,)
        on = [k for k, w in zip(keys, pat, strict=True) if not w]
        g = grp.drop(columns=[k for k, w in zip(keys, pat, strict=True) if w])
        parts.append(it.merge(g, on=on) if on else it.merge(g, how="cross"))
    out = pd.concat(parts, ignore_index=True)[["item_id", "annotator_id"]]
    return out.drop_duplicates()


# --------------------------------------------------------------------------------------------
# solving
# --------------------------------------------------------------------------------------------
def _solve_flow(p: Problem, lam: float) -> tuple[np.ndarray, int]:
    """Min-cost flow at ``lam``: returns the flow on each eligible arc and the objective.

    OR-Tools routes the maximum flow (as many judgments as the capacities allow) at minimum
    cost (``solve_max_flow_with_min_cost``), which is the penalty formulation's optimum
    without a big-M arc (big costs slow the cost-scaling algorithm). The objective returned
    adds ``penalty(lam)`` per unassigned judgment, so it equals the LP relaxation of the
    penalty formulation (:func:`assign_milp` uses the same).
    """
    from ortools.graph.python import min_cost_flow

    n, m, v = p.n_items, p.n_annotators, len(p.vendors)
    src, sink = 0, 1 + n + m + v
    item_node = 1 + np.arange(n)
    ann_node = 1 + n + np.arange(m)
    ven_node = 1 + n + m + np.arange(v)
    k = p.redundancy
    e = len(p.arc_item)
    tails = np.concatenate([np.zeros(n, np.int64), item_node[p.arc_item], ann_node, ven_node])
    heads = np.concatenate([item_node, ann_node[p.arc_ann], ven_node[p.ann_vendor],
                            np.full(v, sink)])
    caps = np.concatenate([np.full(n, k), np.ones(e, np.int64), p.capacity,
                           p.vendor_cap]).astype(np.int64)
    costs = np.concatenate([np.zeros(n, np.int64), p.arc_costs(lam),
                            np.zeros(m + v, np.int64)])
    mcf = min_cost_flow.SimpleMinCostFlow()
    arcs = mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(sink + 1, np.int64)
    supplies[src], supplies[sink] = n * k, -n * k
    mcf.set_nodes_supplies(np.arange(sink + 1), supplies)
    status = mcf.solve_max_flow_with_min_cost()
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = np.asarray(mcf.flows(arcs[n:n + e]), dtype=np.int64)
    unassigned = n * k - int(flows.sum())
    return flows, int(mcf.optimal_cost()) + unassigned * p.penalty(lam)


def _result(p: Problem, chosen: np.ndarray, lam: float, objective: float, solver: str
            ) -> Assignment:
    it, an = p.arc_item[chosen], p.arc_ann[chosen]
    table = pd.DataFrame({
        "item_id": p.item_ids[it], "annotator_id": p.annotator_ids[an],
        "team": p.vendors[p.ann_vendor[an]], "cost": p.cost[an], "quality": p.quality[an]})
    load = np.bincount(an, minlength=p.n_annotators)
    with np.errstate(invalid="ignore", divide="ignore"):
        days = np.where(load > 0, load / p.capacity_per_day, 0.0)
    n_j = int(chosen.sum()) if chosen.dtype == bool else len(chosen)
    summary = {
        "lambda": float(lam),
        "items": p.n_items,
        "judgments": n_j,
        "unassigned": int(p.n_items * p.redundancy - n_j),
        "total_cost": float(table["cost"].sum()),
        "cost_per_item": float(table["cost"].sum() / max(p.n_items, 1)),
        "mean_quality": float(table["quality"].mean()) if n_j else float("nan"),
        "hours": float(np.nansum(p.handle_seconds[an]) / 3600.0)
        if np.isfinite(p.handle_seconds).any() else float("nan"),
        "days_to_finish": float(np.nanmax(days)) if n_j else 0.0,
        "objective": objective,
        "solver": solver,
    }
    return Assignment(table=table, summary=summary)


def _at(p: Problem, lam: float) -> Assignment:
    flows, obj = _solve_flow(p, lam)
    return _result(p, flows > 0, lam, obj, "min_cost_flow")


def assign(problem: Problem, *, lam: float | None = None, quality_target: float | None = None,
           budget: float | None = None, tol: float = 1e-4, max_iter: int = 40) -> Assignment:
    """Solve the assignment as a min-cost flow (OR-Tools).

    Exactly one of ``lam``, ``quality_target`` (mean quality of the assigned judgments) or
    ``budget`` (total cost) may be given (none: ``lam=0``, the cheapest assignment).
    ``quality_target`` takes the smallest :math:`\\lambda` that reaches it, ``budget`` the
    largest whose cost stays within it, by bisection on :math:`\\lambda` (stopping when the
    bracket is narrower than ``tol`` relative). Unreachable targets return the closest end
    with ``summary["target_met"] = False``.
    """
    given = sum(x is not None for x in (lam, quality_target, budget))
    if given > 1:
        raise ValueError("give one of lam, quality_target, budget")
    if quality_target is None and budget is None:
        return _at(problem, 0.0 if lam is None else float(lam))
    hi, lo = problem.lam_max(), 0.0

    def ok(res: Assignment) -> bool:
        if quality_target is not None:
            return res.summary["mean_quality"] >= quality_target
        return res.summary["total_cost"] <= budget

    # a quality target holds from some lambda up (search the smallest), a budget up to some
    # lambda (search the largest)
    rising = quality_target is not None
    best = _at(problem, hi if rising else 0.0)
    if not ok(best):
        best.summary["target_met"] = False
        return best
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        res = _at(problem, mid)
        if ok(res):
            best = res
        if ok(res) == rising:
            hi = mid
        else:
            lo = mid
        if hi - lo <= tol * max(hi, 1e-12):
            break
    best.summary["target_met"] = True
    return best


def frontier(problem: Problem, n_points: int = 20, *, lam_max: float | None = None,
             progress: bool = False) -> pd.DataFrame:
    """The quality-cost frontier: one min-cost flow per :math:`\\lambda` of a grid.

    The grid is 0 and ``n_points - 1`` values geometrically spaced up to ``lam_max``
    (default: where quality dominates cost). Returns one row per point with the
    :class:`Assignment` summary (``lambda``, ``total_cost``, ``cost_per_item``,
    ``mean_quality``, ``judgments``, ``unassigned``, ``hours`` of work, ``days_to_finish``
    at capacity). ``progress`` shows a tqdm bar (one solve per point: minutes at 1e5 items).
    """
    from tqdm.auto import tqdm

    top = lam_max if lam_max is not None else problem.lam_max()
    grid = np.concatenate([[0.0], np.geomspace(top / 10 ** 3, top, n_points - 1)])
    rows = [_at(problem, lam).summary
            for lam in tqdm(grid, desc="frontier", unit="point", disable=not progress)]
    return pd.DataFrame(rows).drop(columns=["solver"])


def plot_frontier(table: pd.DataFrame, *, chosen: dict | None = None, ax=None):
    """Cost per item against mean judgment quality along the frontier (one point per
    :math:`\\lambda`); ``chosen`` (an assignment summary) is marked. Returns the Axes."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    ax = ax if ax is not None else plt.figure(figsize=(6, 4)).add_subplot()
    with sns.axes_style("whitegrid"):
        ax.plot(table["cost_per_item"], 100 * table["mean_quality"], marker="o", lw=1.5)
        if chosen is not None:
            ax.scatter([chosen["cost_per_item"]], [100 * chosen["mean_quality"]], s=80,
                       color="C3", zorder=3, label="chosen")
            ax.legend(loc="lower right")
        ax.set_xlabel("cost per item")
        ax.set_ylabel("mean accuracy of assigned judgments (%)")
        ax.set_title("Quality-cost frontier")
        ax.grid(True, alpha=0.3)
    return ax


# --------------------------------------------------------------------------------------------
# side constraints: MILP
# --------------------------------------------------------------------------------------------
def assign_milp(problem: Problem, lam: float = 0.0, *, min_vendors: int = 2,
                time_limit: float | None = 60.0) -> Assignment:
    """The assignment with at least ``min_vendors`` distinct vendors per item, as a MILP.

    Variables: :math:`x_{ia} \\in \\{0,1\\}` per eligible arc, :math:`u_i \\in [0, k]`
    unassigned judgments, :math:`y_{iv} \\in \\{0,1\\}` "vendor :math:`v` works on item
    :math:`i`". Constraints: :math:`\\sum_a x_{ia} + u_i = k`; annotator capacity; vendor caps;
    :math:`y_{iv} \\le \\sum_{a \\in v} x_{ia}`; :math:`\\sum_v y_{iv} \\ge
    \\min(\\text{min\\_vendors}, \\text{vendors eligible for } i)`. Same objective (integer
    unit costs) as the network; solved by HiGHS through :func:`scipy.optimize.milp`.
    """
    import scipy.sparse as sp
    from scipy.optimize import Bounds, LinearConstraint, milp

    p = problem
    n, e, k = p.n_items, len(p.arc_item), p.redundancy
    iv = p.arc_item * len(p.vendors) + p.ann_vendor[p.arc_ann]
    iv_u, arc_iv = np.unique(iv, return_inverse=True)
    nv = len(iv_u)
    y_item = iv_u // len(p.vendors)
    nvar = e + n + nv
    c = np.concatenate([p.arc_costs(lam), np.full(n, p.penalty(lam)),
                        np.zeros(nv)]).astype(float)
    ar = np.arange(e)
    # item rows: sum x + u = k
    a_item = sp.csr_matrix((np.ones(e + n), (np.concatenate([p.arc_item, np.arange(n)]),
                                             np.concatenate([ar, e + np.arange(n)]))),
                           shape=(n, nvar))
    a_cap = sp.csr_matrix((np.ones(e), (p.arc_ann, ar)), shape=(p.n_annotators, nvar))
    a_ven = sp.csr_matrix((np.ones(e), (p.ann_vendor[p.arc_ann], ar)),
                          shape=(len(p.vendors), nvar))
    # y_iv - sum_{a in v} x_ia <= 0
    a_link = sp.csr_matrix((np.concatenate([np.ones(nv), -np.ones(e)]),
                            (np.concatenate([np.arange(nv), arc_iv]),
                             np.concatenate([e + n + np.arange(nv), ar]))), shape=(nv, nvar))
    need = np.minimum(min_vendors, np.bincount(y_item, minlength=n))
    a_div = sp.csr_matrix((np.ones(nv), (y_item, e + n + np.arange(nv))), shape=(n, nvar))
    cons = [LinearConstraint(a_item, k, k),
            LinearConstraint(a_cap, -np.inf, p.capacity),
            LinearConstraint(a_ven, -np.inf, p.vendor_cap),
            LinearConstraint(a_link, -np.inf, 0),
            LinearConstraint(a_div, need, np.inf)]
    integrality = np.concatenate([np.ones(e), np.zeros(n), np.ones(nv)])
    ub = np.concatenate([np.ones(e), np.full(n, k), np.ones(nv)])
    opts = {} if time_limit is None else {"time_limit": time_limit}
    res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(0, ub), options=opts)
    if res.x is None:
        raise RuntimeError(f"the MILP found no solution: {res.message}")
    chosen = res.x[:e] > 0.5
    return _result(p, chosen, lam, float(res.fun), "milp_highs")
