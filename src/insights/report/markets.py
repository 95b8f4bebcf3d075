"""Which markets a report run covers, and the raw annotator ids its error pages must hide.

With no ``--market``, every market in the data is reported, with or without a
``params/<MARKET>.yaml``: the union of the markets present in the data (a cheap DuckDB scan of
the ``market`` column of labels, else items, else annotators) and of the params files. A log
with no market column is one market, named after the params file when there is exactly one,
else ``"all"``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from insights.report.params import ParamsError, ReportParams, check_market

__all__ = ["ALL", "data_markets", "table_path", "resolve_data", "choose_markets",
           "annotator_ids"]

logger = logging.getLogger(__name__)

#: Name of the single market of a log without a market column (and no single params file).
ALL = "all"
_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz")


def table_path(source: str | Path, kind: str) -> Path | None:
    """The ``kind`` table (``labels``, ``items``, ``annotators``) of a data source: the file
    itself when ``source`` is a labels file, else ``<source>/<kind>.<csv|parquet|...>``."""
    src = Path(source)
    if src.is_file():
        return src if kind == "labels" else None
    for suffix in _SUFFIXES:
        if (src / f"{kind}{suffix}").is_file():
            return src / f"{kind}{suffix}"
    return None


def _distinct(path: Path, column: str, encoding: str = "utf-8") -> list[str] | None:
    """Distinct non-empty values of ``column`` in a CSV/Parquet file (None: no such column)."""
    import duckdb

    con = duckdb.connect()
    try:
        if path.suffix in (".parquet", ".pq"):
            rel = con.read_parquet(str(path))
        else:
            rel = con.read_csv(str(path), all_varchar=True, header=True,
                               encoding="utf-8" if encoding.lower().replace("_", "-") in (
                                   "utf-8", "utf8") else encoding)
        if column not in rel.columns:
            return None
        q = f'SELECT DISTINCT CAST("{column.replace(chr(34), chr(34) * 2)}" AS VARCHAR) AS m ' \
            f"FROM rel WHERE m IS NOT NULL AND trim(m) <> '' ORDER BY m"
        return [str(r[0]).strip() for r in con.sql(q).fetchall()]
    finally:
        con.close()


def data_markets(source: str | Path, columns: Mapping[str, str] | None = None,
                 encoding: str = "utf-8") -> list[str] | None:
    """Markets present in a data source (None: the data has no market column).

    ``columns`` maps contract names to the file's names (``{"market": "region"}``).
    """
    col = dict(columns or {}).get("market", "market")
    for kind in ("labels", "items", "annotators"):
        path = table_path(source, kind)
        if path is None:
            continue
        found = _distinct(path, col, encoding)
        if found is not None:
            return sorted(set(found))
    return None


def resolve_data(params: ReportParams, root: Path) -> Path:
    """The folder or file holding the data of ``params`` (the simulated operation is generated
    once, by the report builder's own resolver, so runner and notebook agree)."""
    try:
        from insights.report.build import resolve_data as _resolve  # type: ignore[attr-defined]
    except ImportError:  # before the report package took it over
        from insights.summary import resolve_data as _resolve  # type: ignore[no-redef]
    src = params.data_source
    if src not in ("", "simulated"):
        p = Path(src)
        return p if p.is_absolute() else root / p
    return Path(_resolve(src, scenario=params.scenario, seed=params.seed,
                         data_dir=params.data_dir or str(root / "data")))


def choose_markets(requested: list[str] | None, param_markets: list[str],
                   found: list[str] | None) -> list[str]:
    """The run's markets: ``requested`` (validated) when given; else the union of the markets
    found in the data and of the params files; a log without markets is one market."""
    if requested:
        return [check_market(m) for m in dict.fromkeys(requested)]
    if found is None:
        return [param_markets[0]] if len(param_markets) == 1 else [ALL]
    good = []
    for m in sorted(set(found) | set(param_markets)):
        try:
            good.append(check_market(m))
        except ParamsError as exc:  # a market name in the data is a file name and a link
            logger.warning("skipped market: %s", exc)
    return good


def annotator_ids(params: ReportParams, root: Path) -> list[str]:
    """Raw annotator ids of the market's data (for scrubbing an error message); [] when the
    data cannot be read."""
    try:
        path = table_path(resolve_data(params, root), "labels")
        if path is None:
            return []
        col = params.columns.get("annotator_id", "annotator_id")
        return _distinct(path, col, params.encoding) or []
    except Exception:  # noqa: BLE001 - the data may be what failed; the page stays generic
        logger.debug("could not list annotator ids to scrub", exc_info=True)
        return []
