"""Which markets a report run covers, and the raw annotator ids its error pages must hide.

With no ``--market``, every market in the data is reported, with or without a
``params/<MARKET>.yaml``: the union of the markets present in the data
(:func:`insights.data.markets`: the ``market`` column of labels, else items, else annotators)
and of the params files. A log with no market column is one market per params file (each may
point at its own data), or, with no params file, one market named ``"all"``. When
``defaults.yaml`` names no data (the built-in simulated operation) but market files name their
own ``data_source``, only the params files' markets are reported.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from insights.report.params import (
    ParamsError,
    ReportParams,
    _read_yaml,
    available_param_markets,
    check_market,
)

__all__ = ["ALL", "annotator_ids", "choose_markets", "data_markets", "plan", "project_root",
           "resolve_data", "with_paths"]

logger = logging.getLogger(__name__)

#: Name of the single market of a log without a market column (and no single params file).
ALL = "all"


def _distinct(path: Path, column: str) -> list[str]:
    """Distinct non-empty values of ``column`` in a CSV/Parquet file ([] without it)."""
    import duckdb

    con = duckdb.connect()
    try:
        if path.suffix in (".parquet", ".pq"):
            rel = con.read_parquet(str(path))
        else:
            rel = con.read_csv(str(path), all_varchar=True, header=True)
        if column not in rel.columns:
            return []
        name = column.replace('"', '""')
        q = (f'SELECT DISTINCT CAST("{name}" AS VARCHAR) AS v FROM rel '
             "WHERE v IS NOT NULL AND trim(v) <> ''")
        return [str(r[0]).strip() for r in con.sql(q).fetchall()]
    finally:
        con.close()


def data_markets(source: str | Path, columns: Mapping[str, str] | None = None,
                 encoding: str = "utf-8") -> list[str] | None:
    """Markets present in a data source (None: the data has no market column), read cheaply
    by :func:`insights.data.markets` (only the market column)."""
    from insights import data

    found = data.markets(source, columns=dict(columns or {}) or None, encoding=encoding)
    return None if found == [None] else [str(m) for m in found]


def resolve_data(params: ReportParams, root: Path) -> Path:
    """The folder or file holding the data of ``params``: the report builder's own resolver
    (the simulated operation is generated once), so runner and notebook agree."""
    from insights.report.build import resolve_data as _resolve

    src = params.data_source
    if src not in ("", "simulated"):
        p = Path(src)
        return p if p.is_absolute() else root / p
    return Path(_resolve(src, scenario=params.scenario, seed=params.seed,
                         data_dir=params.data_dir or str(root / "data")))


def choose_markets(requested: list[str] | None, param_markets: list[str],
                   found: list[str] | None) -> list[str]:
    """The run's markets: ``requested`` (validated) when given; else the union of the markets
    found in the data and of the params files. Without a market column (``found`` None) the
    params files are the markets (each may point at its own data); without those either, the
    log is one market, :data:`ALL`."""
    if requested:
        return [check_market(m) for m in dict.fromkeys(requested)]
    if found is None:  # one market per params file (each may name its own data), else one
        return list(param_markets) or [ALL]
    good = []
    for m in sorted(set(found) | set(param_markets)):
        try:
            good.append(check_market(m))
        except ParamsError as exc:  # a market name in the data is a file name and a link
            logger.warning("skipped market: %s", exc)
    return good


def annotator_ids(params: ReportParams, root: Path) -> list[str]:
    """Raw annotator ids of the market's labels (to scrub an error message); [] when the data
    cannot be read (then the message is not shown, see :func:`insights.report.render.one_line`)."""
    from insights.data.read import resolve_paths

    try:
        path = resolve_paths(resolve_data(params, root)).get("labels")
        if path is None:
            return []
        return _distinct(Path(path), params.columns.get("annotator_id", "annotator_id"))
    except Exception:  # noqa: BLE001 - the data may be what failed
        logger.debug("could not list annotator ids to scrub", exc_info=True)
        return []


def project_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` with ``pyproject.toml`` or
    ``params/defaults.yaml``; ``start`` itself when there is none."""
    here = start.resolve()
    for p in (here, *here.parents):
        if (p / "pyproject.toml").exists() or (p / "params" / "defaults.yaml").exists():
            return p
    return here


def with_paths(p: ReportParams, root: Path) -> ReportParams:
    """Relative data paths taken from the project root; the default data folder."""
    update: dict[str, Any] = {}
    if p.data_source not in ("", "simulated") and not Path(p.data_source).is_absolute():
        update["data_source"] = str(root / p.data_source)
    if not p.data_dir:
        update["data_dir"] = str(root / "data")
    return p.model_copy(update=update) if update else p


def plan(markets: Sequence[str] | None, params_dir: Path, root: Path,
         overrides: Mapping[str, Any]) -> list[str]:
    """The markets of a run (see :mod:`insights.report.markets`); the simulated data is
    generated here once, before the markets start in parallel."""
    if markets:
        return choose_markets(list(markets), [], None)
    defaults = params_dir / "defaults.yaml"
    values = {**(_read_yaml(defaults) if defaults.exists() else {}),
              **{k: v for k, v in overrides.items() if v is not None}}
    base = with_paths(ReportParams.from_mapping(values, origin=str(defaults)), root)
    param_markets = available_param_markets(params_dir)
    own_data = [m for m in param_markets
                if _read_yaml(params_dir / f"{m}.yaml").get("data_source") not in (None, "")]
    if base.data_source in ("", "simulated") and own_data:
        # the defaults name no data (the built-in simulated operation) and market files point
        # at their own: report those, not the demo's markets beside them
        logger.info("defaults name no data_source: reporting the %d market file(s) that name "
                    "their own data, not the simulated operation's markets", len(own_data))
        return choose_markets(None, param_markets, None)
    source = resolve_data(base, root)
    found = data_markets(source, base.columns, base.encoding) if source.exists() else None
    return choose_markets(None, param_markets, found)
