"""Coverage of the impact analysis's 95 % intervals on simulated operations with truth.

Each run simulates the ``small`` scenario (2 markets x 2 teams, 6 weeks) with one planted
event: team DE-T2 loses ``--magnitude`` accuracy on every class from week 3 (``AccuracyDrop``;
every member's accuracy falls by exactly that much, so the planted effect on accuracy is
``-magnitude``), gold on ``--gold-share`` of the items, no spammers (whose accuracy does not
drop, which would dilute the planted effect) and no class-mix shift. It runs
:func:`insights.operations.impact.impact_analysis` at the event date on the ``accuracy`` metric
and prints, over ``--runs`` seeds:

* the share of runs whose 95 % interval for DE-T2 covers the planted effect (must be >= 90 %);
* the same for DE-T1 (its rest is DE-T2, so its difference-in-differences estimand is
  ``+magnitude``) and for the teams of the other market (SG-T1, SG-T2), planted effect 0;
* the mean estimate, its spread between runs and the mean interval half-width.

Usage: ``python benchmarks/operations_impact.py [--runs 40] [--magnitude 0.2]
[--gold-share 0.3]``.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from insights import synthetic
from insights.operations.impact import impact_analysis


def one_run(seed: int, magnitude: float, gold_share: float) -> pd.DataFrame:
    """The accuracy rows of one simulated run, with the planted effect of each team."""
    drop = synthetic.AccuracyDrop(market="DE", team="DE-T2", week=3, magnitude=magnitude)
    sim = synthetic.simulate("small", seed=seed, gold_share=gold_share, mix_shifts=(),
                             spammers_per_market=0, accuracy_drops=(drop,))
    event = sim.scenario.week_start(3)
    out = impact_analysis(sim.dataset(), event, metrics=["accuracy"])
    out = out[out["level"] == "team"].copy()
    # DE-T1's rest is DE-T2, so its difference-in-differences estimand is +magnitude
    out["planted"] = out["group"].map({"DE-T2": -magnitude, "DE-T1": magnitude}).fillna(0.0)
    out["seed"] = seed
    return out


def coverage(runs: pd.DataFrame) -> pd.DataFrame:
    """Per team: runs, coverage of the planted effect, mean estimate, sd, mean half-width."""
    runs = runs.assign(covered=(runs["effect_low"] <= runs["planted"])
                       & (runs["planted"] <= runs["effect_high"]),
                       half=(runs["effect_high"] - runs["effect_low"]) / 2)
    g = runs.groupby("group")
    return pd.DataFrame({"runs": g.size(), "planted": g["planted"].first(),
                         "coverage": g["covered"].mean(), "mean_effect": g["effect"].mean(),
                         "sd_effect": g["effect"].std(), "mean_half_width": g["half"].mean()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--magnitude", type=float, default=0.2)
    ap.add_argument("--gold-share", type=float, default=0.3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    runs = pd.concat([one_run(s, args.magnitude, args.gold_share) for s in range(args.runs)],
                     ignore_index=True)
    table = coverage(runs)
    with pd.option_context("display.width", 120, "display.precision", 4):
        print(table.to_string())
    cov = table.loc["DE-T2", "coverage"]
    print(f"\nplanted effect {-args.magnitude:+.2f} on DE-T2 accuracy: 95 % interval covers it "
          f"in {cov:.0%} of {args.runs} runs (must be >= 90 %); "
          f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
