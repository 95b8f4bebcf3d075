"""Render the per-market HTML reports: papermill runner and HTML export.

:func:`run_reports` executes ``notebooks/market_report.ipynb`` once per market with the
validated parameters of :func:`insights.report.params.load_params` (``defaults.yaml`` merged
with ``<MARKET>.yaml``), exports each executed notebook to a self-contained HTML page (no code
cells, no scripts, a table of contents and a short run footer), and lists every completed market
of the output folder in ``index.html`` (:mod:`insights.report.index`)::

    reports/
      index.html
      DE.html                       the report
      DE/market_report.ipynb        the executed notebook
      DE/run.log                    the market's log (tracebacks of a failed run go here)
      DE/tables/*.csv, *.parquet    the report's tidy tables
      DE/tables/summary.json        headline numbers and flags (present = completed)

Markets run in a pool of spawned worker processes no larger than the number of usable cores;
each kernel is an ``ipykernel`` of *this* interpreter on IPC sockets (no TCP port race between
parallel kernels) with a per-cell timeout. A market that fails gets a page with the sections up
to the failure and a one-line error (annotator ids pseudonymized, no traceback); the other
markets complete and :attr:`ReportRun.failed` names the failures. Every file is written under a
temporary name and renamed; SIGTERM/SIGINT stop the workers and kernels and remove the
temporary files; one run at a time per output folder (:mod:`insights.report.runs`).
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import multiprocessing
import os
import re
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyter_client.manager import AsyncKernelManager

from insights import __version__
from insights._io import atomic_path, write_text
from insights.report import markets as _markets
from insights.report import runs
from insights.report.index import write_index
from insights.report.params import ParamsError, ReportParams, check_market, load_params

__all__ = ["KERNEL_NAME", "IPCKernelManager", "MarketResult", "ReportRun", "export_html",
           "heading_id", "render_market", "run_reports", "usable_cores"]

logger = logging.getLogger(__name__)

#: The kernel every report runs on (ipykernel's own spec; see :class:`IPCKernelManager`).
KERNEL_NAME = "python3"
NOTEBOOK = Path("notebooks") / "market_report.ipynb"


class IPCKernelManager(AsyncKernelManager):
    """Kernel manager on IPC (Unix socket) transport, running this interpreter's ipykernel.

    TCP kernels pick free ports and then bind them, which races when several kernels start at
    once (jupyter/jupyter_client#487); IPC sockets are files named after a unique prefix that
    carries the run's pid (:func:`insights.report.runs.ipc_prefix`), so the sockets and the
    connection file of a killed run are found and removed by the next one. The command is
    pinned to ``sys.executable -m ipykernel_launcher``: a ``python3`` kernel spec of another
    environment can never run the report. The kernel polls its parent and exits when it dies.
    """

    def __init__(self, **kwargs):
        prefix = runs.ipc_prefix()
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", prefix)
        kwargs.setdefault("connection_file", prefix + ".json")
        super().__init__(**kwargs)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [sys.executable, "-m", "ipykernel_launcher", "-f",
                os.path.realpath(self.connection_file), *(extra_arguments or [])]

    async def _async_interrupt_kernel(self) -> None:
        # jupyter_client sends SIGINT to every kernel it shuts down; a kernel still finishing
        # its last reply then prints "KeyboardInterrupt caught in kernel" on the run's stderr
        # (seen under load). A report's kernel is idle or timed out when it is shut down: the
        # shutdown request, then SIGTERM and SIGKILL (shutdown_wait_time), are enough.
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


@dataclass
class MarketResult:
    """Outcome of one market's report (``status``: ``ok`` or ``failed``)."""

    market: str
    status: str
    html_path: str | None = None
    notebook_path: str | None = None
    tables_dir: str | None = None
    seconds: float = 0.0
    error: str | None = None
    summary: dict = field(default_factory=dict)
    this_run: bool = True

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class ReportRun:
    """All markets of one run: ``results`` by market, ``failed`` markets, ``index_path``."""

    results: dict[str, MarketResult]
    index_path: Path
    started: str
    finished: str
    seconds: float

    @property
    def failed(self) -> list[str]:
        return [m for m, r in self.results.items() if not r.ok]


def usable_cores() -> int:
    """Cores this process may run on (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------------------------
# HTML export
# --------------------------------------------------------------------------------------------
#: The runner's part of the page: layout, contents, error banner, run footer (the tables',
#: findings' and glossary's styles are :data:`insights.report.html.CSS`).
PAGE_CSS = """
body.jp-Notebook { max-width: 1240px; margin: 0 auto; padding: 0 1em; }
.jp-RenderedMarkdown p, .jp-RenderedHTMLCommon > p, .jp-RenderedHTMLCommon li {
  max-width: 62rem; }
nav.insights-toc, footer.insights-run, .insights-banner {
  font-family: var(--jp-content-font-family, system-ui, sans-serif); }
nav.insights-toc { border: 1px solid #ddd; border-radius: 6px; padding: .6em 1.2em;
  margin: 1em 0; background: #fafafa; }
nav.insights-toc h2 { font-size: 1.05em; margin: .2em 0; }
.insights-banner { border: 2px solid #b3261e; background: #fdecea; color: #5f1410;
  padding: .8em 1.2em; border-radius: 6px; margin: 1em 0; overflow-wrap: anywhere; }
footer.insights-run { border-top: 1px solid #ccc; margin-top: 3em; padding: 1em 0;
  font-size: .85em; color: #444; }
footer.insights-run dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
footer.insights-run dt { font-weight: bold; }
footer.insights-run dd { margin: 0; overflow-wrap: anywhere; }
"""


def page_css() -> str:
    """The report page's CSS: :data:`insights.report.html.CSS` and :data:`PAGE_CSS`."""
    from insights.report.html import CSS

    return CSS + PAGE_CSS


_TOC_MARK = "<!--insights-toc-->"
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style type="text/css">{{ resources.insights.css }}</style>{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
{{ resources.insights.banner }}
""" + _TOC_MARK + """
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.insights.footer }}
{{ super() }}
{% endblock body_footer %}
"""


def heading_id(text: str) -> str:
    """The ``id`` nbconvert gives a markdown heading with this (rendered) text: spaces become
    ``-`` and characters not allowed in a URL fragment are percent-encoded.

    >>> heading_id("Vendor team scorecard")
    'Vendor-team-scorecard'
    """
    return quote(text.replace(" ", "-"), safe="?/:@!$&'()*+,;=")


class _Headings(HTMLParser):
    """Collect ``(level, id, text)`` of the h2/h3 elements that have an id (the anchor-link
    "¶" nbconvert appends is not part of the text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str, str]] = []
        self._open: tuple[int, str] | None = None
        self._text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("h2", "h3") and a.get("id"):
            self._open, self._text = (int(tag[1]), a["id"]), []
        elif self._open and tag == "a" and "anchor-link" in (a.get("class") or ""):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "a" and self._skip:
            self._skip -= 1
        elif self._open and tag == f"h{self._open[0]}":
            text = " ".join("".join(self._text).split())
            self.found.append((self._open[0], self._open[1], text))
            self._open = None

    def handle_data(self, data):
        if self._open and not self._skip:
            self._text.append(data)


def table_of_contents(body: str) -> str:
    """A ``<nav>`` linking every h2/h3 of ``body`` by its own id (so every link resolves)."""
    parser = _Headings()
    parser.feed(body)
    items = "".join(
        f'<li style="margin-left:{(lvl - 2) * 1.2}em"><a href="#{html.escape(hid, quote=True)}">'
        f"{html.escape(text)}</a></li>" for lvl, hid, text in parser.found if text)
    return f'<nav class="insights-toc" aria-label="Contents"><h2>Contents</h2><ul>{items}</ul></nav>'


def _footer(facts: Mapping[str, Any]) -> str:
    rows = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>"
                   for k, v in facts.items())
    return f'<footer class="insights-run" id="run"><h2>This run</h2><dl>{rows}</dl></footer>'


def clean_outputs(nb) -> None:
    """Drop what must not reach a stakeholder page: error outputs (tracebacks) and stderr."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if o.get("output_type") != "error"
                               and not (o.get("output_type") == "stream"
                                        and o.get("name") == "stderr")]


def export_html(nb, *, title: str, facts: Mapping[str, Any], error: str | None = None) -> str:
    """The executed notebook as a self-contained HTML page.

    Input cells and prompts are excluded, error outputs and stderr dropped; require.js, MathJax
    and mermaid (loaded from CDNs by nbconvert's default template) are left out and images are
    inlined, so the page works offline. A table of contents links the page's h2/h3 headings;
    ``facts`` (run facts) become the footer; ``error`` (one line) becomes a banner at the top.
    Every value is escaped.
    """
    import copy

    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    nb.metadata["title"] = title
    clean_outputs(nb)
    for i, cell in enumerate(nb.cells):  # papermill's injected cell gets a random id
        cell["id"] = f"cell-{i}"
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"insights_report.html.j2": _TEMPLATE})],
        template_file="insights_report.html.j2",
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        embed_images=True,
    )
    banner = ""
    if error:
        banner = ('<div class="insights-banner" role="alert"><strong>This report could not be '
                  "completed.</strong> The sections up to the failure are shown. Error: "
                  f"<code>{html.escape(error)}</code></div>")
    resources = {"insights": {"css": page_css(), "footer": _footer(facts), "banner": banner}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body.replace(_TOC_MARK, table_of_contents(body), 1)


# --------------------------------------------------------------------------------------------
# one market
# --------------------------------------------------------------------------------------------
def _git_commit() -> str:
    """The commit of the insights source that ran (``unknown`` outside a git checkout)."""
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"],
                             cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def one_line(error: str, params: ReportParams, root: Path) -> str:
    """``error`` as one short line with the market's annotator ids pseudonymized (when
    ``params.pseudonymize``; if that cannot be done the details are left to the log)."""
    text = " ".join(_ANSI.sub("", error).split())
    if len(text) > 400:
        text = text[:399] + "…"
    if not params.pseudonymize:
        return text
    try:
        from insights import privacy

        ids = _markets.annotator_ids(params, root)
        if ids:
            key = privacy.load_key(params.pseudonym_key_file or None)
            return privacy.scrub(text, privacy.pseudonym_map(ids, key))
    except Exception:  # noqa: BLE001 - never show raw ids because scrubbing failed
        logger.debug("could not scrub the error message", exc_info=True)
    # the ids are unknown (unreadable data): show the error's kind, the rest is in the log
    return text.split(":", 1)[0] + " (details in the run log)"


def render_market(params: ReportParams, out_dir: str | Path, *, notebook: str | Path,
                  cwd: str | Path | None = None, cell_timeout: float = 600,
                  kernel_name: str = KERNEL_NAME) -> MarketResult:
    """Execute the report notebook for ``params.market`` and export its HTML.

    Never raises for a notebook error: the page shows it in one line, the traceback goes to
    the log (stderr and ``<out>/<market>/run.log``) and the result says ``failed``.
    """
    import nbformat
    import papermill as pm

    t0 = time.perf_counter()
    started = _now()
    market = check_market(params.market)
    out = Path(out_dir).resolve()
    root = Path(cwd).resolve() if cwd else Path.cwd()
    mdir = runs.inside(out, market)
    tables = runs.inside(out, market, "tables")
    summary_path = runs.inside(out, market, "tables", "summary.json")
    nb_path = runs.inside(out, market, "market_report.ipynb")
    html_path = runs.inside(out, f"{market}.html")
    mdir.mkdir(parents=True, exist_ok=True)
    summary_path.unlink(missing_ok=True)  # present again only when this run completes
    handler = logging.FileHandler(runs.inside(out, market, "run.log"), mode="w",
                                  encoding="utf-8")
    handler.setFormatter(logging.Formatter(runs.LOG_FORMAT, runs.LOG_DATEFMT))
    log = logging.getLogger("insights")
    log.addHandler(handler)
    try:
        logger.info("%s: started", market)
        params = params.model_copy(update={"tables_dir": str(tables)})
        error = None
        nb = None
        # papermill wants a name ending in .ipynb: a temporary one beside the final file
        with atomic_path(nb_path) as tmp_base:
            tmp_nb = tmp_base.with_name(tmp_base.name + ".ipynb")
            try:
                nb = pm.execute_notebook(
                    str(notebook), str(tmp_nb), parameters=params.notebook_parameters(),
                    kernel_name=kernel_name, language="python", progress_bar=False,
                    log_output=False, cwd=str(root), execution_timeout=cell_timeout,
                    start_timeout=120, kernel_manager_class=IPCKernelManager)
            except pm.PapermillExecutionError as exc:
                error = f"{exc.ename}: {exc.evalue}"
                logger.error("%s: the notebook failed in cell %s:\n%s", market,
                             exc.exec_count, _ANSI.sub("", "\n".join(exc.traceback)))
            except Exception as exc:  # kernel died, timeout, unreadable notebook, ...
                error = f"{type(exc).__name__}: {exc}"
                logger.exception("%s: the run failed", market)
            if tmp_nb.exists() and tmp_nb.stat().st_size:
                nb = nbformat.read(tmp_nb, as_version=4)
                os.replace(tmp_nb, tmp_base)
            else:
                tmp_nb.unlink(missing_ok=True)
                if nb is None:
                    nb = nbformat.read(str(notebook), as_version=4)
                nbformat.write(nb, tmp_base)
        summary: dict = {}
        if error is None:
            if summary_path.exists():
                summary = json.loads(summary_path.read_text(encoding="utf-8"))
            else:
                error = f"the notebook wrote no {summary_path.relative_to(out)}"
        else:
            summary_path.unlink(missing_ok=True)
        shown = one_line(error, params, root) if error else None
        period = summary.get("period") or " to ".join(
            x for x in (params.since, params.until) if x) or "default period"
        facts = {"status": "completed" if error is None else "failed",
                 "started (UTC)": started, "finished (UTC)": _now(),
                 "insights version": __version__, "git commit": _git_commit(),
                 "data fingerprint (sha256)": summary.get("fingerprint",
                                                          "unavailable (run failed)")}
        page = export_html(nb, title=f"{market} labeling quality report, {period}",
                           facts=facts, error=shown)
        write_text(html_path, page)
        seconds = time.perf_counter() - t0
        if error is None:
            logger.info("%s: completed in %.1f s -> %s", market, seconds, html_path.name)
        else:
            logger.warning("%s: FAILED in %.1f s: %s (page: %s)", market, seconds, shown,
                           html_path.name)
        return MarketResult(
            market=market, status="ok" if error is None else "failed",
            html_path=str(html_path), notebook_path=str(nb_path), tables_dir=str(tables),
            seconds=seconds, error=shown, summary=summary)
    finally:
        log.removeHandler(handler)
        handler.close()


def _error_page(market: str, message: str) -> str:
    m = html.escape(market)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>"
            f"{m} report failed</title></head><body><h1>{m} report failed</h1>"
            f"<p role='alert'>{html.escape(message)}</p></body></html>")


def _render_safely(params: ReportParams | str, out_dir: Path, kwargs: dict) -> MarketResult:
    """Worker entry point: any exception becomes a failed result with a one-line page
    (``params`` is the error text when the market's parameters were invalid)."""
    t0 = time.perf_counter()
    if isinstance(params, str):
        market, msg = params.split("\0", 1)
    else:
        market = params.market
        try:
            return render_market(params, out_dir, **kwargs)
        except Exception as exc:  # export failed too: still leave a page saying so
            logger.exception("%s: the report could not be rendered", market)
            msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
    logger.warning("%s: FAILED: %s", market, msg)
    path = None
    try:
        path = runs.inside(out_dir, f"{check_market(market)}.html")
        write_text(path, _error_page(market, msg))
    except (OSError, ValueError) as exc:  # ValueError: a bad name or a path outside --out
        logger.error("%s: no page written: %s", market, exc)
        path = None
    return MarketResult(market=market, status="failed", html_path=str(path) if path else None,
                        seconds=time.perf_counter() - t0, error=msg)


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------
def _find_notebook(root: Path) -> Path:
    for base in (root, Path.cwd(), Path(__file__).resolve().parents[3]):
        if (base / NOTEBOOK).exists():
            return base / NOTEBOOK
    raise FileNotFoundError(f"{NOTEBOOK} not found under {root} or {Path.cwd()}")


def run_reports(markets: Sequence[str] | None = None, params_dir: str | Path = "params",
                out_dir: str | Path = "reports", *, since: str | None = None,
                until: str | None = None, jobs: int | None = None,
                overrides: Mapping[str, Any] | None = None,
                per_market: Mapping[str, Mapping[str, Any]] | None = None,
                notebook: str | Path | None = None, cell_timeout: float = 600,
                progress: bool | None = None) -> ReportRun:
    """Render every market's report and the index.

    Parameters
    ----------
    markets : list of str, optional
        Default: every market in the data and every ``params/<MARKET>.yaml``.
    params_dir : path
        Folder with ``defaults.yaml`` and the per-market YAML files.
    out_dir : path
        Where ``<MARKET>.html``, ``<MARKET>/`` and ``index.html`` go (locked for the run).
    since, until : str, optional
        Period (ISO dates; ``until`` exclusive); default from params.
    jobs : int, optional
        Markets rendered in parallel; capped at the number of usable cores.
    overrides : mapping, optional
        Parameters applied to every market on top of the YAML files.
    per_market : mapping, optional
        ``market -> parameters`` applied last, to one market.
    notebook : path, optional
        Default ``<project>/notebooks/market_report.ipynb``.
    cell_timeout : float
        Seconds one notebook cell may run before the market fails.
    progress : bool, optional
        A progress bar over markets; default: when stderr is a terminal and there are
        several markets.

    Returns
    -------
    ReportRun

    Raises
    ------
    insights.report.runs.RunLocked
        Another run is writing to ``out_dir``.
    insights.report.runs.RunInterrupted
        SIGTERM/SIGINT arrived; workers and kernels were stopped, temporary files removed.
    """
    t0 = time.perf_counter()
    started = _now()
    params_dir = Path(params_dir).resolve()
    root = _markets.project_root(params_dir.parent)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    overrides = {**dict(overrides or {}), "since": since, "until": until}
    main = threading.current_thread() is threading.main_thread()
    with runs.RunLock(out), (runs.interrupt_signals() if main else contextlib.nullcontext()):
        try:
            return _run_locked(markets, params_dir, root, out, overrides, per_market, notebook,
                               jobs, cell_timeout, progress, started, t0)
        except runs.RunInterrupted as exc:
            logger.warning("%s received: stopping the workers and kernels", exc)
            runs.stop_processes()
            runs.remove_stale(out, own=True)
            write_index(out, [], started=started, finished=_now())  # what did complete
            raise


def _run_locked(markets, params_dir, root, out, overrides, per_market, notebook, jobs,
                cell_timeout, progress, started, t0) -> ReportRun:
    """The body of :func:`run_reports`, holding the folder's lock."""
    runs.remove_stale(out)
    nb_path = Path(notebook).resolve() if notebook else _find_notebook(root)
    names = _markets.plan(markets, params_dir, root, overrides)
    if not names:
        raise ValueError(f"no markets: none in the data and no <MARKET>.yaml in {params_dir}")
    todo: dict[str, ReportParams | str] = {}
    for m in names:
        try:
            p = load_params(params_dir, m, **overrides)
            extra = dict((per_market or {}).get(m, {}))
            if extra:
                p = ReportParams.from_mapping({**p.model_dump(), **extra},
                                              origin=f"parameters of {m}")
            todo[m] = _markets.with_paths(p, root)
        except ParamsError as exc:  # this market fails, the others run
            todo[m] = f"{m}\0{exc}"
    cores = usable_cores()
    n = max(1, min(jobs or cores, cores, len(names)))
    kwargs = {"notebook": nb_path, "cwd": root, "cell_timeout": cell_timeout}
    logger.info("rendering %d market report(s) (%s) with %d worker(s) -> %s",
                len(names), ", ".join(names), n, out)
    results = _run_pool(todo, out, kwargs, n, progress)
    finished = _now()
    index = write_index(out, [results[m] for m in names], started=started,
                        finished=finished)
    run = ReportRun(results={m: results[m] for m in names}, index_path=index, started=started,
                    finished=finished, seconds=time.perf_counter() - t0)
    logger.info("index: %s (%d of %d failed) in %.1f s", index, len(run.failed), len(names),
                run.seconds)
    return run


def _run_pool(todo: Mapping[str, ReportParams | str], out: Path, kwargs: dict, n: int,
              progress: bool | None) -> dict[str, MarketResult]:
    """Run the markets in ``n`` spawned workers; on SIGTERM/SIGINT stop every worker and
    kernel, remove the temporary files and raise :class:`~insights.report.runs.RunInterrupted`."""
    from tqdm.auto import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    if progress is None:
        progress = len(todo) > 1 and sys.stderr.isatty()
    level = logging.getLogger("insights").getEffectiveLevel()
    cores = usable_cores()
    ctx = multiprocessing.get_context("spawn")
    results: dict[str, MarketResult] = {}
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=runs.worker_init,
                               initargs=(os.getpid(), level,
                                         max(1, cores // n) if n > 1 else None))
    try:
        with logging_redirect_tqdm(), tqdm(total=len(todo), desc="markets", unit="market",
                                           disable=not progress, file=sys.stderr) as bar:
            futures = {pool.submit(_render_safely, p, out, kwargs): m for m, p in todo.items()}
            for fut in as_completed(futures):
                m = futures[fut]
                try:
                    results[m] = fut.result()
                except Exception as exc:  # the worker process itself died
                    logger.error("%s: FAILED: worker crashed (%s: %s)", m,
                                 type(exc).__name__, exc)
                    results[m] = MarketResult(market=m, status="failed",
                                              error=f"worker crashed: {type(exc).__name__}")
                bar.update()
    except runs.RunInterrupted:  # run_reports stops the processes and cleans up
        runs.stop_processes()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results

