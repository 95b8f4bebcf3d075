"""The Forecast section on the planted operation."""

from __future__ import annotations


def test_forecast_and_staffing(report):
    result = report.sections["forecast"]
    fc = result.data["forecast"]
    assert set(fc["step"]) == {1, 2, 3, 4}
    assert ((fc["volume_lo"] <= fc["volume"]) & (fc["volume"] <= fc["volume_hi"])).all()
    assert ((fc["hours_lo"] <= fc["hours"]) & (fc["hours"] <= fc["hours_hi"])).all()
    weekly = fc.groupby("step")["volume"].sum().mean()
    assert f"about {weekly:,.0f} items a week" in result.data["staffing"]
    assert len(result.data["history"]) > 0
    assert any(r == "forecast" for r in report.findings["section"])
