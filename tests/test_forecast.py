"""Volume forecast: shape, interval order, hours arithmetic, and recovery of a known trend."""

import numpy as np

from insights import forecast, synthetic


def test_forecast_series_tracks_growth():
    # 3% weekly growth, 2% multiplicative noise: the 4-week-ahead median should be within
    # ~10% of the continued trend (the trend is estimated from 16 weeks).
    rng = np.random.default_rng(0)
    y = 500 * 1.03 ** np.arange(16) * np.exp(rng.normal(0, 0.02, 16))
    fc = forecast.forecast_series(y, 4, level=0.8)
    truth = 500 * 1.03 ** np.arange(16, 20)
    assert (np.abs(fc["mean"] / truth - 1) < 0.1).all()
    assert (fc["lo"] < fc["mean"]).all() and (fc["mean"] < fc["hi"]).all()
    assert fc["model"].iat[0].startswith("ETS")


def test_short_series_fallback():
    fc = forecast.forecast_series([10, 12, 11], 2)
    assert fc["model"].iat[0] == "flat (median)"
    assert (fc["lo"] < fc["mean"]).all()


def test_forecast_volume_hours():
    ds = synthetic.simulate("small", seed=2).dataset()
    f = forecast.forecast_volume(ds, horizon=4)
    assert len(f) == 4 * 2 * 2                      # 4 weeks x 2 markets x 2 queues
    np.testing.assert_allclose(f["hours"], f["volume"] * f["redundancy"]
                               * f["handle_median"] / 3600)
    assert (f["volume_lo"] <= f["volume"]).all() and (f["volume"] <= f["volume_hi"]).all()
    assert (f["week_start"].dt.day_of_week == 0).all()
    assert f["redundancy"].between(1, 6).all()
    assert f["hours"].gt(0).all()
    assert (f["level"] == 0.8).all()
