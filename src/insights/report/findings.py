"""The headline findings: every section's findings in one list, most important first."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from insights.report.sections import Finding

__all__ = ["SEVERITIES", "headline"]

#: Severities, most important first.
SEVERITIES = ("alert", "watch", "info")


def headline(findings: Iterable[Finding]) -> pd.DataFrame:
    """The findings as a table, most important first.

    Columns ``rank``, ``severity``, ``finding`` (a plain sentence; class names in backticks),
    ``section`` (the key of the section holding the evidence), ``value`` and ``q``. Ordered by
    severity (alert, watch, info); within a severity untested findings (no ``q``) first, then
    by ``q``; ties keep the sections' order (the order they were given in).
    """
    rows = [{"severity": f.severity, "finding": f.text, "section": f.section,
             "value": float(f.value), "q": float(f.q)} for f in findings]
    out = pd.DataFrame(rows, columns=["severity", "finding", "section", "value", "q"])
    out["value"] = out["value"].astype(float)
    out["q"] = out["q"].astype(float)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    out = out.assign(_s=out["severity"].map(order).fillna(len(order)),
                     _q=out["q"].fillna(-1.0))
    out = out.sort_values(["_s", "_q"], kind="stable").drop(columns=["_s", "_q"])
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)
