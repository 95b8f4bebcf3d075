"""Methods and provenance: the models used, the data's fingerprint, parameters, versions."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from insights import __version__
from insights.report.html import table
from insights.report.sections import SectionResult

KEY = "methods"
TITLE = "Methods and provenance"
ORDER = 1000

METHODS = (
    "Final labels and annotator confusion matrices come from the aggregation model named "
    "below (Dawid & Skene 1979 by default), fitted on every judgment of the market and period "
    "with gold items clamped to their trusted answer. Accuracy vs gold pools each team's "
    "judgments on gold items, with Wilson (1927) score intervals. Item confidence and team "
    "accuracy with credible intervals come from the hierarchical Dawid-Skene model (Paun et "
    "al. 2018), fitted by EM. The estimated accuracy of the final labels is the model's "
    "confidence calibrated on gold items judged without their gold answer (cross-fitting: "
    "lowered by the overconfidence measured there), with a bootstrap and Wilson interval. Trends and knowledge gaps are tested "
    "over the trends' history with one false-discovery adjustment across every test "
    "(Benjamini & Hochberg 1995); the forecast is exponential smoothing on log weekly volume. "
    "Annotator ids are replaced by keyed pseudonyms when pseudonymize is on.")


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root,
                             capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def relative(path: str | Path, root: Path) -> str:
    """``path`` relative to the project ``root`` when inside it, else its last two parts (a
    report never shows an absolute path)."""
    p = Path(path)
    try:
        return p.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return Path(*p.parts[-2:]).as_posix() if len(p.parts) >= 2 else p.name


def _value(v) -> str:
    if isinstance(v, list | tuple):
        return ", ".join(map(str, v)) if v else "(none)"
    if isinstance(v, dict):
        return ", ".join(f"{k}={w}" for k, w in v.items()) if v else "(none)"
    if v is None or v == "":
        return "(not set)"
    return str(v)


def provenance(ctx) -> pd.DataFrame:
    """Methods and provenance as a (field, value) table, every path relative."""
    import matplotlib
    import scipy
    import seaborn
    import sklearn

    from insights.report.build import project_root
    from insights.report.fitting import convergence_note
    from insights.report.sections.trends import FDR_NAMES

    root = project_root()
    ds = ctx.dataset
    hier = ctx.hierarchical
    trend = ctx.trend
    rows = [
        ("aggregation model", ctx.posterior.method if not ctx.posterior.reason
         else f"{ctx.params.method}: {ctx.posterior.reason}"),
        ("confidence model", f"hierarchical Dawid-Skene ({hier.inference}), "
                             f"{hier.credible_level:.0%} credible intervals, "
                             f"{convergence_note(hier)}"),
    ]
    if ctx.has_times:
        rows.append(("trend tests", f"{trend.n_tests} tests, false discovery rate "
                                    f"{FDR_NAMES.get(trend.method, trend.method)} at q <= "
                                    f"{trend.alpha:g}"))
    fc = ctx.results.get("forecast")
    if fc is not None and "forecast" in fc.data:
        rows.append(("forecast model", str(fc.data["forecast"]["model"].iat[0])))
    rows += [
        ("data fingerprint (sha256)", ds.fingerprint),
        *((f"data: {k}", relative(v, root)) for k, v in sorted(ds.sources.items())),
        ("insights version", __version__),
        ("git commit", _git_commit(root)),
        ("python", platform.python_version()),
        ("numpy / pandas / scipy", f"{np.__version__} / {pd.__version__} / {scipy.__version__}"),
        ("scikit-learn / matplotlib / seaborn",
         f"{sklearn.__version__} / {matplotlib.__version__} / {seaborn.__version__}"),
    ]
    shown = ctx.params.shown()
    if shown.get("data_source") not in ("", "simulated", None):
        shown["data_source"] = relative(shown["data_source"], root)
    rows += [(f"parameter: {k}", _value(v)) for k, v in sorted(shown.items())]
    return pd.DataFrame(rows, columns=["field", "value"])


def build(ctx) -> SectionResult:
    prov = provenance(ctx)
    view = table(prov.rename(columns={"field": "Field", "value": "Value"}),
                 {"Field": "text", "Value": "text"}, max_rows=500)
    return SectionResult(KEY, TITLE, sentences=[METHODS], tables={"": view},
                         data={"tables": {"provenance": prov}})
