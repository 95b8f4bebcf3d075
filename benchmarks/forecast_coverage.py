"""Coverage of insights.forecast's 80% intervals on held-back weeks of simulated volume.

For each seed of the ``default`` scenario (4 markets x 3 queues, 12 weeks of volume with a
trend, a 4-week cycle and noise) the last ``--horizon`` complete weeks of every market x queue
series are held back, the forecast is fitted on the weeks before, and the share of held-back
weeks inside the interval is reported (target: the nominal level), with the mean absolute
percentage error of the point forecast.

Usage: ``python benchmarks/forecast_coverage.py [--seeds 10] [--horizon 4] [--level 0.8]``
"""

from __future__ import annotations

import argparse

import numpy as np

from insights import forecast, synthetic


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--horizon", type=int, default=4)
    ap.add_argument("--level", type=float, default=0.8)
    args = ap.parse_args(argv)
    inside, ape, by_step = [], [], {h: [] for h in range(1, args.horizon + 1)}
    models = {}
    for seed in range(args.seeds):
        vol = forecast.weekly_volume(synthetic.simulate("default", seed=seed).dataset())
        for _, g in vol.groupby(["market", "queue"]):
            y = g.sort_values("week")["volume"].to_numpy(float)
            train, test = y[:-args.horizon], y[-args.horizon:]
            fc = forecast.forecast_series(train, args.horizon, level=args.level)
            ok = (fc["lo"].to_numpy() <= test) & (test <= fc["hi"].to_numpy())
            inside += ok.tolist()
            ape += (np.abs(fc["mean"].to_numpy() / test - 1)).tolist()
            for h, v in zip(range(1, args.horizon + 1), ok, strict=True):
                by_step[h].append(v)
            models[fc["model"].iat[0]] = models.get(fc["model"].iat[0], 0) + 1
    n = len(inside)
    cov = float(np.mean(inside))
    se = np.sqrt(args.level * (1 - args.level) / n)
    print(f"series={sum(models.values())} held-back points={n} models={models}")
    print(f"coverage of the {args.level:.0%} interval   {cov:.3f}   (binomial se {se:.3f} if "
          f"independent)")
    print("coverage by step ahead            "
          + "  ".join(f"{h}:{np.mean(v):.2f}" for h, v in by_step.items()))
    print(f"mean absolute percentage error    {np.mean(ape):.3f}")


if __name__ == "__main__":
    main()
