"""Assignment: every constraint holds, the flow's optimum is the LP relaxation's, the MILP
matches brute force, and the bisection meets its target with the smallest lambda."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

from insights.allocation.assignment import (
    _solve_flow,
    assign,
    assign_milp,
    build_problem,
    frontier,
    plot_frontier,
)


def random_instance(seed: int, n_items=40, n_ann=14, n_markets=3, k=3, tight=False):
    rng = np.random.default_rng(seed)
    ann = pd.DataFrame({
        "annotator_id": [f"a{j}" for j in range(n_ann)],
        "team": [f"v{j % 3}" for j in range(n_ann)],
        "market": [("ALL" if j == 0 else f"m{j % n_markets}") for j in range(n_ann)],
        "cost_per_label": rng.uniform(0.02, 0.12, n_ann).round(3),
        "capacity_per_day": rng.integers(3 if tight else 8, 15 if tight else 30, n_ann),
        "quality": rng.uniform(0.6, 0.98, n_ann).round(3),
    })
    pend = pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items)],
                         "market": [f"m{i % n_markets}" for i in range(n_items)]})
    hist = pd.DataFrame({"item_id": rng.choice(pend["item_id"], 30),
                         "annotator_id": rng.choice(ann["annotator_id"], 30)})
    caps = {"v1": int(rng.integers(10, 40))}
    return pend, ann, hist, caps, k


def check_constraints(p, pend, ann, hist, caps, table, k):
    a = ann.set_index("annotator_id")
    it = pend.set_index("item_id")
    # eligibility: market (or ALL), never an already-judged pair, distinct annotators per item
    m_ann = a.loc[table["annotator_id"], "market"].to_numpy()
    m_item = it.loc[table["item_id"], "market"].to_numpy()
    assert ((m_ann == m_item) | (m_ann == "ALL")).all()
    judged = set(zip(hist["item_id"], hist["annotator_id"], strict=True))
    assert not any(pair in judged for pair in zip(table["item_id"], table["annotator_id"],
                                                   strict=True))
    assert not table.duplicated(["item_id", "annotator_id"]).any()
    per_item = table.groupby("item_id").size()
    assert (per_item <= k).all()
    load = table.groupby("annotator_id").size()
    assert (load <= a.loc[load.index, "capacity_per_day"]).all()
    for team, cap in caps.items():
        assert (table["team"] == team).sum() <= cap


def lp_relaxation(p, lam):
    n, e, k = p.n_items, len(p.arc_item), p.redundancy
    c = np.concatenate([p.arc_costs(lam), np.full(n, p.penalty(lam))]).astype(float)
    ar = np.arange(e)
    a_eq = csr_matrix((np.ones(e + n), (np.concatenate([p.arc_item, np.arange(n)]),
                                        np.concatenate([ar, e + np.arange(n)]))),
                      shape=(n, e + n))
    a_cap = csr_matrix((np.ones(e), (p.arc_ann, ar)), shape=(p.n_annotators, e + n))
    a_ven = csr_matrix((np.ones(e), (p.ann_vendor[p.arc_ann], ar)),
                       shape=(len(p.vendors), e + n))
    from scipy.sparse import vstack
    res = linprog(c, A_ub=vstack([a_cap, a_ven]), b_ub=np.concatenate([p.capacity, p.vendor_cap]),
                  A_eq=a_eq, b_eq=np.full(n, k),
                  bounds=[(0, 1)] * e + [(0, k)] * n, method="highs")
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("lam", [0.0, 0.5, 5.0])
def test_random_instances_hold_every_constraint_and_match_the_lp(seed, lam):
    pend, ann, hist, caps, k = random_instance(seed, tight=seed % 2 == 1)
    p = build_problem(pend, ann, history=hist, redundancy=k, vendor_caps=caps)
    res = assign(p, lam=lam)
    check_constraints(p, pend, ann, hist, caps, res.table, k)
    # totally unimodular network: the integer optimum is the LP relaxation's optimum
    _, obj = _solve_flow(p, lam)
    assert obj == pytest.approx(lp_relaxation(p, lam), abs=1e-6 * max(1.0, abs(obj)))
    assert res.summary["judgments"] + res.summary["unassigned"] == k * len(pend)


def brute_force(p, lam, min_vendors):
    """Enumerate every choice of k annotators per item (tiny instances only)."""
    costs = dict(zip(zip(p.arc_item.tolist(), p.arc_ann.tolist(), strict=True),
                     p.arc_costs(lam).tolist(), strict=True))
    options = []
    for i in range(p.n_items):
        elig = [a for (ii, a) in costs if ii == i]
        opts = [c for c in itertools.combinations(elig, min(p.redundancy, len(elig)))
                if len({p.ann_vendor[a] for a in c}) >= min(
                    min_vendors, len({p.ann_vendor[a] for a in elig}))]
        options.append(opts)
    best = np.inf
    for combo in itertools.product(*options):
        load = np.zeros(p.n_annotators, int)
        vload = np.zeros(len(p.vendors), int)
        total = 0
        for i, c in enumerate(combo):
            for a in c:
                load[a] += 1
                vload[p.ann_vendor[a]] += 1
                total += costs[(i, a)]
            total += (p.redundancy - len(c)) * p.penalty(lam)
        if (load <= p.capacity).all() and (vload <= p.vendor_cap).all():
            best = min(best, total)
    return best


@pytest.mark.parametrize("seed", range(5))
def test_milp_matches_brute_force_on_tiny_instances(seed):
    rng = np.random.default_rng(100 + seed)
    ann = pd.DataFrame({"annotator_id": [f"a{j}" for j in range(5)],
                        "team": ["v0", "v0", "v0", "v1", "v2"],
                        "cost_per_label": rng.uniform(0.01, 0.1, 5).round(3),
                        "capacity_per_day": rng.integers(1, 4, 5),
                        "quality": rng.uniform(0.6, 0.95, 5).round(3)})
    pend = pd.DataFrame({"item_id": ["x", "y", "z"]})
    p = build_problem(pend, ann, redundancy=2)
    res = assign_milp(p, lam=0.3, min_vendors=2)
    assert res.summary["objective"] == pytest.approx(brute_force(p, 0.3, 2))
    per_item = res.table.groupby("item_id")["team"].nunique()
    full = res.table.groupby("item_id").size() == 2
    assert (per_item[full] >= 2).all()


def test_bisection_meets_targets_with_the_extreme_lambda():
    pend, ann, hist, caps, k = random_instance(3, n_items=60)
    p = build_problem(pend, ann, history=hist, redundancy=k)
    lo_q = assign(p, lam=0.0).summary["mean_quality"]
    hi_q = assign(p, lam=p.lam_max()).summary["mean_quality"]
    target = lo_q + 0.6 * (hi_q - lo_q)
    res = assign(p, quality_target=target)
    assert res.summary["target_met"] and res.summary["mean_quality"] >= target
    # a slightly smaller lambda misses the target: the bisection found the cheapest one
    assert assign(p, lam=res.summary["lambda"] * 0.99).summary["mean_quality"] < target + 1e-12
    budget = 0.5 * (assign(p, lam=0.0).summary["total_cost"] + res.summary["total_cost"])
    b = assign(p, budget=budget)
    assert b.summary["total_cost"] <= budget
    assert not assign(p, quality_target=1.5).summary["target_met"]


def test_frontier_is_monotone_and_plots():
    pend, ann, hist, caps, k = random_instance(4, n_items=60)
    p = build_problem(pend, ann, redundancy=k)
    f = frontier(p, n_points=20)
    assert len(f) == 20
    # parametric LP: as lambda grows, neither quality nor cost can go down
    assert (np.diff(f["mean_quality"]) >= -1e-12).all()
    assert (np.diff(f["total_cost"]) >= -1e-9).all()
    ax = plot_frontier(f, chosen=f.iloc[5].to_dict())
    assert len(ax.lines) == 1


def test_bad_annotators_table_names_the_row():
    ann = pd.DataFrame({"annotator_id": ["a", "b"], "cost_per_label": [0.1, -1],
                        "capacity_per_day": [1, 2]})
    with pytest.raises(ValueError, match="row 2.*cost_per_label"):
        build_problem(pd.DataFrame({"item_id": ["x"]}), ann)


@pytest.mark.slow
def test_cli_allocate(tmp_path, sim):
    from insights.cli import main

    data = tmp_path / "data"
    sim.write(data)
    ann = sim.annotators.copy()
    pend = sim.items[["item_id", "market", "queue"]].head(300).copy()
    pend["item_id"] = "new-" + pend["item_id"]
    ann.to_csv(tmp_path / "ann.csv", index=False)
    pend.to_csv(tmp_path / "pending.csv", index=False)
    out = tmp_path / "assign.csv"
    args = ["allocate", str(tmp_path / "pending.csv"), str(tmp_path / "ann.csv"),
            "--labels", str(data), "--quality-target", "0.9", "--out", str(out),
            "--frontier", str(tmp_path / "frontier.csv"), "--frontier-plot",
            str(tmp_path / "frontier.png")]
    assert main(args) == 0
    table = pd.read_csv(out)
    assert table.groupby("item_id").size().eq(3).all()
    assert table["quality"].mean() >= 0.9
    assert len(pd.read_csv(tmp_path / "frontier.csv")) == 20
    assert (tmp_path / "frontier.png").stat().st_size > 0
    out2 = tmp_path / "assign2.csv"
    assert main(args[:5] + ["--min-vendors", "2", "--out", str(out2)]) == 0
    t2 = pd.read_csv(out2)
    assert t2.groupby("item_id")["team"].nunique().ge(2).all()
