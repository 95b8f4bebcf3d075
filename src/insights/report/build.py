"""Build one market's report: data, models, every section, the headline findings, tables.

:func:`build_report` resolves the data (:func:`resolve_data`: the built-in simulated operation
by default), loads the market for its period (:func:`load_dataset`, pseudonymized with a keyed
pseudonym when ``params.pseudonymize``), builds a :class:`ReportContext` -- the period's
Dataset, the history the trends and the forecast look at, and the models, each fitted once
and on demand -- and calls every section module of :mod:`insights.report.sections` in its
``ORDER``. The sections' findings become the headline list
(:func:`insights.report.findings.headline`). :func:`write_tables` writes the report's tidy
tables and ``summary.json`` (read by the index page).
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import os
import pkgutil
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insights import data as _data
from insights._io import write_table, write_text
from insights.report.params import ReportParams
from insights.report.sections import SectionResult

__all__ = ["project_root", "resolve_data", "default_period", "load_dataset", "section_modules",
           "ReportContext", "MarketReport", "build_report", "write_tables", "DEFAULT_MARKET"]

log = logging.getLogger(__name__)

#: The market name of a log without a ``market`` column when the parameters name none.
DEFAULT_MARKET = "all"


# --------------------------------------------------------------------------------------------
# data location, period, loading
# --------------------------------------------------------------------------------------------
def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``params/`` or
    ``pyproject.toml``; ``start`` itself when there is none."""
    here = Path(start or os.getcwd()).resolve()
    for p in (here, *here.parents):
        if (p / "pyproject.toml").exists() or (p / "params" / "defaults.yaml").exists():
            return p
    return here


def resolve_data(data_source: str | Path | None = "", *, scenario: str = "default",
                 seed: int = 0, data_dir: str | Path | None = "") -> Path:
    """Where the data of a run lives.

    ``data_source`` empty or ``"simulated"`` means the built-in simulated operation: it is
    generated once (``insights.synthetic.simulate(scenario, seed)``) into
    ``<data_dir>/simulated/<scenario>-<seed>/`` (``data_dir`` defaults to ``<project>/data``)
    and reused afterwards. Generation writes to a temporary folder renamed at the end, so
    concurrent or killed runs never see a half-written dataset. Any other value is a directory
    or labels file (relative paths are taken from the project root).
    """
    root = project_root()
    if data_source not in (None, "", "simulated"):
        p = Path(data_source)
        return p if p.is_absolute() else root / p
    base = Path(data_dir) if data_dir else root / "data"
    folder = base / "simulated" / f"{scenario}-{seed}"
    if (folder / "labels.csv").exists():
        return folder
    from insights import synthetic  # the simulator is only needed the first time

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        log.info("generating the simulated operation %s-%s into %s", scenario, seed, folder)
        synthetic.simulate(scenario=scenario, seed=int(seed)).write(tmp)
        try:
            os.replace(tmp, folder)
        except OSError:  # another run got there first
            if not (folder / "labels.csv").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def default_period(labeled_at: pd.Series, weeks: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last ``weeks`` complete ISO weeks (Monday to Sunday, UTC) of the data.

    A week counts as complete when the data reaches its last day; ``until`` is the Monday
    after it (exclusive), ``since`` is ``weeks`` weeks earlier.
    """
    t = pd.to_datetime(labeled_at, utc=True)
    end_day = t.max().normalize() + pd.Timedelta(days=1)  # first midnight after the last judgment
    until = end_day - pd.Timedelta(days=end_day.day_of_week)  # Monday at or before it
    if until <= t.min().normalize():  # less than one complete week: take everything
        until = end_day
    since = until - pd.Timedelta(weeks=int(weeks))
    return since, until


def _load_options(params: ReportParams) -> dict[str, Any]:
    """The loading options of ``params`` that :func:`insights.data.load` accepts (columns,
    repeats, encoding, date_format), non-default ones only."""
    accepted = inspect.signature(_data.load).parameters
    wanted = {"columns": params.columns or None, "repeats": params.repeats,
              "encoding": params.encoding, "date_format": params.date_format or None}
    out = {k: v for k, v in wanted.items() if k in accepted and v is not None}
    ignored = [k for k, v in wanted.items()
               if k not in accepted and v not in (None, "keep", "utf-8")]
    if ignored:
        raise _data.SchemaError(f"parameters {ignored} are not supported by this version of "
                                f"insights.data.load")
    return out


def _has_market_column(ds: _data.Dataset) -> bool:
    return any(t is not None and "market" in t.columns
               for t in (ds.labels, ds.items, ds.annotators))


def _pseudonymize(ds: _data.Dataset, params: ReportParams) -> _data.Dataset:
    """Keyed pseudonyms (:func:`insights.privacy.pseudonymize`, HMAC-SHA256 with the secret
    key of ``params.pseudonym_key_file`` or the environment; the key is never shown)."""
    from insights.privacy import load_key, pseudonymize

    return pseudonymize(ds, load_key(params.pseudonym_key_file or None))


def load_dataset(params: ReportParams, market: str) -> _data.Dataset:
    """The market's validated Dataset (every date; the period is cut by :func:`build_report`).

    A log without a ``market`` column (in labels, items or annotators) is one market: all its
    rows are the market's.
    """
    src = resolve_data(params.data_source, scenario=params.scenario, seed=params.seed,
                       data_dir=params.data_dir)
    kwargs = dict(label_set=list(params.label_set) or None,
                  label_set_origin="params (label_set)", **_load_options(params))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = _data.load(src, market=market, **kwargs)
        except _data.SchemaError as exc:
            if "cannot select" not in str(exc) and getattr(exc, "column", None) != "market":
                raise
            ds = _data.load(src, **kwargs)
            if _has_market_column(ds):
                raise
            log.info("no market column: every row of the data is market %s", market)
    for w in caught:  # e.g. repeated judgments kept: the log, not the stakeholders' page
        log.warning("market %s: %s", market, w.message)
    return ds


def section_modules() -> list[Any]:
    """Every section module of :mod:`insights.report.sections`, in their ``ORDER``."""
    from insights.report import sections

    mods = [importlib.import_module(f"{sections.__name__}.{m.name}")
            for m in pkgutil.iter_modules(sections.__path__) if not m.name.startswith("_")]
    mods = [m for m in mods if hasattr(m, "build") and hasattr(m, "KEY")]
    return sorted(mods, key=lambda m: (float(getattr(m, "ORDER", 100.0)), m.KEY))


# --------------------------------------------------------------------------------------------
# the shared context
# --------------------------------------------------------------------------------------------
@dataclass
class ReportContext:
    """What every section reads: the market's data for the period, the history the trends and
    the forecast look at, the parameters, and the models (each fitted once, on first use).

    Attributes
    ----------
    params : ReportParams
    market : str
    dataset : insights.data.Dataset
        The market's judgments in the period.
    history : insights.data.Dataset
        The ``trend_weeks`` weeks up to the period's end (or the period when longer).
    since, until : pandas.Timestamp or None
    """

    params: ReportParams
    market: str
    dataset: _data.Dataset
    history: _data.Dataset
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None
    results: dict[str, SectionResult] = field(default_factory=dict)

    # --- what the data has ---------------------------------------------------------------
    @cached_property
    def annotator_table(self) -> pd.DataFrame:
        """``Dataset.annotator_table`` of the period (team, market, kind per annotator)."""
        return self.dataset.annotator_table()

    @cached_property
    def has_teams(self) -> bool:
        """Whether human annotators have a vendor team (else scorecards rank annotators)."""
        t = self.annotator_table
        if "team" not in t:
            return False
        return bool(t.loc[t["kind"] != "model", "team"].notna().any())

    @property
    def has_times(self) -> bool:
        """Whether judgments have a ``labeled_at`` timestamp (trends and the forecast)."""
        return "labeled_at" in self.dataset.labels.columns

    @cached_property
    def has_costs(self) -> bool:
        """Whether any cost is known: a ``cost`` column, annotators' ``cost_per_label`` or the
        ``cost_per_label`` parameter (no invented costs)."""
        return not np.isnan(self.cost_per_judgment()).all()

    def cost_per_judgment(self, ds: _data.Dataset | None = None) -> np.ndarray:
        """Each judgment's cost: the ``cost`` column, else the annotator's ``cost_per_label``,
        else the ``cost_per_label`` parameter; NaN where none is known."""
        ds = ds if ds is not None else self.dataset
        lab = ds.labels
        cost = lab["cost"].to_numpy(float) if "cost" in lab.columns else np.full(len(lab), np.nan)
        if ds.annotators is not None and "cost_per_label" in ds.annotators.columns:
            per = lab["annotator_id"].map(
                ds.annotators.drop_duplicates("annotator_id").set_index("annotator_id")[
                    "cost_per_label"])
            cost = np.where(np.isnan(cost), per.to_numpy(float), cost)
        default = self.params.cost_per_label
        return np.where(np.isnan(cost), np.nan if default is None else float(default), cost)

    # --- models (fitted once, on first use) ----------------------------------------------
    @cached_property
    def posterior(self):
        """The aggregation model fitted on the period (:func:`insights.report.fitting.fit_model`)."""
        from insights.report.fitting import fit_model

        return fit_model(self.dataset, self.params.method)

    @cached_property
    def posterior_history(self):
        """The same model on the history (the period's own fit when they coincide)."""
        from insights.report.fitting import fit_model

        if len(self.history.labels) == len(self.dataset.labels):
            return self.posterior
        return fit_model(self.history, self.params.method)

    @cached_property
    def hierarchical(self):
        """The hierarchical confidence model (EM) on the period."""
        from insights.report.fitting import fit_confidence

        return fit_confidence(self.dataset, self.posterior, seed=self.params.seed)

    @cached_property
    def quality(self) -> pd.DataFrame:
        """Per-annotator quality (:func:`insights.quality.annotator_quality`), sorted by team."""
        from insights import quality as _quality

        post = self.posterior
        q = _quality.annotator_quality(post.enc, post.probas, annotators=self.annotator_table,
                                       confusions=post.confusions, priors=post.priors)
        q = q.rename_axis("annotator_id").reset_index()
        q["annotator_id"] = q["annotator_id"].astype(str)
        q["team"] = q["team"].fillna("(no team)").astype(str)
        return q.sort_values(["team", "annotator_id"]).reset_index(drop=True)

    @cached_property
    def trend(self):
        """:func:`insights.trends.analyze` on the history with the history model's posteriors;
        an empty TrendReport without timestamps."""
        from insights import trends
        from insights.trends.findings import COLUMNS

        p = self.params
        if not self.has_times:
            empty = pd.DataFrame(columns=COLUMNS)
            return trends.TrendReport(findings=empty, tests=empty, series=pd.DataFrame(),
                                      gaps=pd.DataFrame(), mix=pd.DataFrame(), alpha=p.alpha,
                                      method=p.fdr_method, n_tests=0)
        return trends.analyze(self.history, alpha=p.alpha, method=p.fdr_method,
                              posteriors=self.posterior_history.frame(),
                              gap_min_count=p.gap_min_n)

    @cached_property
    def accuracy(self):
        """The honest estimate of the final labels' accuracy
        (:func:`insights.report.accuracy.estimate_accuracy`)."""
        from insights.report.accuracy import estimate_accuracy

        return estimate_accuracy(self.dataset, self.params.method, posterior=self.posterior,
                                 seed=self.params.seed)

    def item_text(self, item_ids, ds: _data.Dataset | None = None) -> np.ndarray:
        """The items' text (``text``, ``content`` or ``title`` of the items table) or ""."""
        ds = ds if ds is not None else self.dataset
        if ds.items is None:
            return np.full(len(item_ids), "", dtype=object)
        col = next((c for c in ("text", "content", "title") if c in ds.items.columns), None)
        if col is None:
            return np.full(len(item_ids), "", dtype=object)
        txt = (ds.items.drop_duplicates("item_id").set_index("item_id")[col]
               .reindex(list(item_ids)).fillna("").astype(str))
        return txt.to_numpy(dtype=object)


# --------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------
@dataclass
class MarketReport:
    """One market's report: every section's result and the headline findings."""

    market: str
    params: ReportParams
    context: ReportContext
    sections: dict[str, SectionResult]
    findings: pd.DataFrame

    @property
    def since(self) -> pd.Timestamp | None:
        return self.context.since

    @property
    def until(self) -> pd.Timestamp | None:
        return self.context.until

    @property
    def dataset(self) -> _data.Dataset:
        return self.context.dataset

    @property
    def method(self) -> str:
        """The aggregation model that made the labels (``auto``'s choice), or the requested one
        when the posterior was never fitted (a report that failed before it)."""
        post = self.context.__dict__.get("posterior")  # the cached fit, never a new one
        return self.params.method if post is None else post.method

    @property
    def period(self) -> str:
        if self.since is None:
            return "all dates"
        last = self.until - pd.Timedelta(days=1)
        return f"{self.since:%Y-%m-%d} to {last:%Y-%m-%d}"

    @property
    def titles(self) -> dict[str, str]:
        """Section key -> heading (the findings' links)."""
        return {"findings": "Headline findings",
                **{k: s.title for k, s in self.sections.items()}}

    def flags(self) -> list[str]:
        """Plain-text flags for the index page: one per alert finding."""
        from insights.report.html import plain_text

        titles = self.titles
        return [f"{titles.get(r.section, r.section)}: {plain_text(r.finding)}"
                for r in self.findings.itertuples(index=False) if r.severity == "alert"]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tidy tables written beside the HTML (each section's ``data["tables"]``)."""
        out: dict[str, pd.DataFrame] = {"findings": self.findings}
        for s in self.sections.values():
            out.update(s.data.get("tables", {}))
        return out

    def header_html(self) -> str:
        """The report's style and one escaped line under the title: market, period, scale,
        model."""
        import html

        from insights.report.html import style_html

        n = self.sections["scale"].data.get("numbers", {}) if "scale" in self.sections else {}
        text = (f"Market {self.market} · {self.period} · {n.get('items', 0):,} items · "
                f"{n.get('judgments', 0):,} judgments · model: {self.method}")
        return (f'{style_html()}<p class="insights-header"><strong>{html.escape(text)}'
                f"</strong></p>")

    def findings_html(self) -> str:
        from insights.report.html import findings_html

        return findings_html(self.findings, self.titles)


def _subset(ds: _data.Dataset, since: pd.Timestamp | None, until: pd.Timestamp | None
            ) -> _data.Dataset:
    # data.Dataset.subset localizes to UTC itself: hand it naive UTC times
    return ds.subset(since=None if since is None else since.tz_localize(None),
                     until=None if until is None else until.tz_localize(None))


def build_context(params: ReportParams) -> ReportContext:
    """Load the market, cut the period and the history, pseudonymize: the shared context."""
    market = params.market or DEFAULT_MARKET
    ds = load_dataset(params, market)
    s = pd.Timestamp(params.since, tz="UTC") if params.since else None
    u = pd.Timestamp(params.until, tz="UTC") if params.until else None
    if "labeled_at" in ds.labels.columns and (s is None or u is None):
        d_s, d_u = default_period(ds.labels["labeled_at"], params.weeks)
        s, u = (s or d_s), (u or d_u)
    elif "labeled_at" not in ds.labels.columns and (s is not None or u is not None):
        raise _data.SchemaError("a period (since/until) needs the labels column 'labeled_at'",
                                column="labeled_at")
    if params.pseudonymize:
        ds = _pseudonymize(ds, params)
    history = ds
    if s is not None or u is not None:
        # trends and the forecast look further back than the period: trend_weeks up to its end
        h_s = s if u is None else u - pd.Timedelta(weeks=int(params.trend_weeks))
        h_s = s if (s is not None and (h_s is None or s < h_s)) else h_s
        history = _subset(ds, h_s, u)
        ds = _subset(history, s, u)
        if len(ds.labels) == 0:
            raise _data.SchemaError(f"market {market!r} has no judgments between "
                                    f"{s:%Y-%m-%d} and {u:%Y-%m-%d}")
    return ReportContext(params=params, market=market, dataset=ds, history=history,
                         since=s, until=u)


def _build_section(mod, ctx: ReportContext) -> SectionResult:
    """``mod.build(ctx)``; a section that fails says so in one sentence (the traceback goes to
    the log, never to the page: it may hold ids) and the other sections still render."""
    try:
        return mod.build(ctx)
    except Exception as exc:  # noqa: BLE001 - one broken section must not take the report
        log.exception("market %s: section %s failed", ctx.market, mod.KEY)
        return SectionResult(mod.KEY, mod.TITLE, note=(
            "This section could not be computed for this market and period; the run's log "
            "has the details."), data={"error": type(exc).__name__})


def build_report(params: ReportParams) -> MarketReport:
    """Every section of one market's report (see the module docstring)."""
    from insights.report.findings import headline

    ctx = build_context(params)
    results: dict[str, SectionResult] = {}
    for mod in section_modules():
        log.debug("section %s", mod.KEY)
        results[mod.KEY] = ctx.results[mod.KEY] = _build_section(mod, ctx)
    findings = headline([f for r in results.values() for f in r.findings])
    return MarketReport(market=ctx.market, params=params, context=ctx, sections=results,
                        findings=findings)


def _jsonable(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def write_tables(report: MarketReport, tables_dir: str | Path | None = None
                 ) -> dict[str, Any] | None:
    """Write the report's tidy tables as CSV and Parquet plus ``summary.json`` (market,
    period, since, until, fingerprint, method, scale, flags, findings, params: the index page
    reads it); returns the summary. No folder (``tables_dir`` and ``params.tables_dir`` empty:
    an analyst's interactive run) writes nothing and returns None."""
    tables_dir = report.params.tables_dir if tables_dir is None else tables_dir
    if not str(tables_dir or ""):
        return None
    out = Path(tables_dir)
    for name, df in report.tables().items():
        write_table(df, out / f"{name}.csv")
        write_table(df, out / f"{name}.parquet")
    numbers = report.sections["scale"].data.get("numbers", {}) if "scale" in report.sections \
        else {}
    summary = {
        "market": report.market,
        "period": report.period,
        "since": None if report.since is None else str(report.since.date()),
        "until": None if report.until is None else str(report.until.date()),
        "fingerprint": report.dataset.fingerprint,
        "method": report.method,
        "scale": {k: _jsonable(v) for k, v in numbers.items()},
        "flags": report.flags(),
        "findings": [str(f) for f in report.findings["finding"]],
        "params": report.params.shown(),
    }
    write_text(out / "summary.json", json.dumps(summary, indent=2, default=str))
    return summary
