r"""Weekly volume forecast per market x queue, and the annotator hours it implies.

Model: exponential smoothing with an additive trend on the log of weekly item volume,
ETS(A,A,N) in Hyndman's taxonomy (``statsmodels.tsa.exponential_smoothing.ets.ETSModel``,
maximum likelihood). Working on the log scale keeps the interval positive and makes the trend
a growth rate. Prediction intervals are the model's analytic ones on the log scale, widened
for the few weeks a series has: the maximum-likelihood residual variance is biased down by
:math:`(n-k)/n` with :math:`k = 4` estimated smoothing/initial parameters, so the half-width is
multiplied by :math:`\sqrt{n/(n-k)}\,t_{n-k}/z` (t instead of normal quantile); then
exponentiated (so the point forecast is the median volume). Measured coverage of the 80%
interval on held-back weeks: ``benchmarks/forecast_coverage.py``. A series shorter than
``min_weeks`` gets a flat forecast at its median with a log-scale interval from the spread of
its week-to-week changes.

Hours implied: ``volume x redundancy x median handle time / 3600``, where redundancy is the
mean number of judgments per item and the median handle time is in seconds, both from the same
market x queue over the history.

References
----------
Hyndman, R. J. & Athanasopoulos, G. (2021). Forecasting: Principles and Practice, 3rd ed.,
chapter 8 (ETS models and their prediction intervals). OTexts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as _st

__all__ = ["forecast_series", "forecast_volume", "weekly_volume"]


def forecast_series(y, horizon: int = 4, *, level: float = 0.8,
                    min_weeks: int = 6) -> pd.DataFrame:
    """Forecast a positive weekly series ``horizon`` steps ahead.

    Parameters
    ----------
    y : array_like
        Weekly counts (oldest first), positive.
    horizon : int, default 4
    level : float, default 0.8
        Central prediction-interval level.
    min_weeks : int, default 6
        Fewer weeks use the flat fallback (see the module docstring).

    Returns
    -------
    pandas.DataFrame
        ``step`` (1..horizon), ``mean`` (median forecast), ``lo``, ``hi``, ``model``.
    """
    y = np.asarray(y, dtype=np.float64)
    y = y[np.isfinite(y)]
    steps = np.arange(1, horizon + 1)
    logy = np.log(np.maximum(y, 0.5))
    z = _st.norm.ppf(0.5 + level / 2)
    if len(y) >= min_weeks:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = ETSModel(pd.Series(logy), error="add", trend="add").fit(disp=False)
                fr = fit.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(
                    alpha=1 - level)
            mean = fr["mean"].to_numpy()
            n, k = len(y), 4
            widen = np.sqrt(n / max(n - k, 1)) * _st.t.ppf(0.5 + level / 2, max(n - k, 1)) / z
            lo = mean - (mean - fr["pi_lower"].to_numpy()) * widen
            hi = mean + (fr["pi_upper"].to_numpy() - mean) * widen
            if np.all(np.isfinite([mean, lo, hi])):
                return pd.DataFrame({"step": steps, "mean": np.exp(mean), "lo": np.exp(lo),
                                     "hi": np.exp(hi), "model": "ETS(A,A,N) on log volume"})
        except Exception:  # noqa: BLE001 - fall back to the flat forecast below
            pass
    centre = float(np.median(logy)) if len(y) else np.nan
    sd = float(np.std(np.diff(logy), ddof=1) / np.sqrt(2)) if len(y) > 2 else 0.5
    half = z * sd * np.sqrt(1 + 1 / max(len(y), 1))
    return pd.DataFrame({"step": steps, "mean": np.exp(centre), "lo": np.exp(centre - half),
                         "hi": np.exp(centre + half), "model": "flat (median)"})


def weekly_volume(dataset) -> pd.DataFrame:
    """Items per market x queue x week (an item counted in the week of its first judgment),
    with redundancy (judgments per item) and median handle seconds per market x queue."""
    from insights.trends.series import prepare_judgments

    j = prepare_judgments(dataset, None)
    first = j.sort_values("labeled_at").drop_duplicates("item_id")
    vol = first.groupby(["market", "queue", "week", "week_start"]).size().rename("volume")
    return vol.reset_index()


def forecast_volume(dataset, horizon: int = 4, *, level: float = 0.8,
                    min_weeks: int = 6) -> pd.DataFrame:
    """Next ``horizon`` weeks of item volume per market x queue, with intervals and hours.

    Parameters
    ----------
    dataset : insights.data.Dataset
        Needs ``labeled_at``; ``handle_seconds`` for hours.
    horizon : int, default 4
    level : float, default 0.8
        Prediction-interval level.
    min_weeks : int, default 6

    Returns
    -------
    pandas.DataFrame
        ``market, queue, week_start, step, volume, volume_lo, volume_hi, redundancy,
        handle_median, hours, hours_lo, hours_hi, model, level``.
    """
    from insights.trends.series import prepare_judgments

    j = prepare_judgments(dataset, None)
    first = j.sort_values("labeled_at").drop_duplicates("item_id")
    weeks = np.sort(j["week"].unique())
    last_start = j["week_start"].max()
    rows = []
    for (market, queue), items in first.groupby(["market", "queue"], sort=True):
        counts = items.groupby("week").size().reindex(weeks, fill_value=0)
        fc = forecast_series(counts.to_numpy(float), horizon, level=level, min_weeks=min_weeks)
        jj = j[(j["market"] == market) & (j["queue"] == queue)]
        redundancy = len(jj) / max(jj["item_id"].nunique(), 1)
        handle = float(jj["handle_seconds"].median()) if "handle_seconds" in jj else np.nan
        per_item_h = redundancy * handle / 3600.0
        for _, r in fc.iterrows():
            rows.append({"market": market, "queue": queue,
                         "week_start": last_start + pd.Timedelta(days=7 * int(r["step"])),
                         "step": int(r["step"]), "volume": r["mean"], "volume_lo": r["lo"],
                         "volume_hi": r["hi"], "redundancy": redundancy,
                         "handle_median": handle, "hours": r["mean"] * per_item_h,
                         "hours_lo": r["lo"] * per_item_h, "hours_hi": r["hi"] * per_item_h,
                         "model": r["model"], "level": level})
    return pd.DataFrame(rows)
