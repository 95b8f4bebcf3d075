"""Render the per-market HTML reports: papermill runner, HTML export and the index page.

:func:`run_reports` executes ``notebooks/market_report.ipynb`` once per market with the
parameters of ``params/defaults.yaml`` merged with ``params/<MARKET>.yaml``, exports each
executed notebook to a self-contained HTML page (no code cells, no external scripts, a table of
contents and a provenance footer), writes the report's tidy tables beside it and lists every
market in ``reports/index.html``::

    reports/
      index.html
      DE.html                       the report
      DE/market_report.ipynb        the executed notebook
      DE/tables/*.csv, *.parquet    scorecard, findings, item confidence, annotator quality
      DE/tables/summary.json        headline numbers and flags (read by the index)

Markets run in a process pool no larger than the number of usable cores; each kernel is an
``ipykernel`` of *this* interpreter on IPC sockets (no TCP port race between parallel kernels)
with a per-cell timeout. A market whose notebook fails still gets its HTML, showing the error
where it happened; the other markets complete and :attr:`ReportRun.failed` names the failures.
Every file is written under a temporary name and renamed, so a killed run never leaves a
half-written report.
"""

from __future__ import annotations

import contextlib
import html
import json
import multiprocessing
import os
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from jupyter_client.manager import AsyncKernelManager

from insights import __version__
from insights._io import atomic_path, write_text

__all__ = [
    "KERNEL_NAME",
    "IPCKernelManager",
    "MarketResult",
    "ReportRun",
    "available_markets",
    "load_params",
    "render_market",
    "export_html",
    "write_index",
    "run_reports",
    "usable_cores",
]

#: The kernel every report runs on (ipykernel's own spec; see :class:`IPCKernelManager`).
KERNEL_NAME = "python3"
NOTEBOOK = Path("notebooks") / "market_report.ipynb"


class IPCKernelManager(AsyncKernelManager):
    """Kernel manager on IPC (Unix socket) transport, running this interpreter's ipykernel.

    TCP kernels pick free ports and then bind them, which races when several kernels start at
    once (jupyter/jupyter_client#487); IPC sockets are files named after the unique connection
    file. The command is pinned to ``sys.executable -m ipykernel_launcher`` so a ``python3``
    kernel spec of another environment can never run the report.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        # jupyter_client's default IPC socket name ("kernel-ipc") is relative, resolved against
        # the kernel's cwd by the kernel and against ours by the client: use a unique absolute
        # prefix (short, Unix socket paths are limited to ~100 bytes)
        kwargs.setdefault("ip", os.path.join(tempfile.gettempdir(),
                                             f"insights-ipc-{uuid.uuid4().hex[:16]}"))
        super().__init__(**kwargs)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [sys.executable, "-m", "ipykernel_launcher", "-f",
                os.path.realpath(self.connection_file), *(extra_arguments or [])]


@dataclass
class MarketResult:
    """Outcome of one market's report."""

    market: str
    status: str  # "ok" or "failed"
    html_path: str | None = None
    notebook_path: str | None = None
    tables_dir: str | None = None
    seconds: float = 0.0
    error: str | None = None
    summary: dict = field(default_factory=dict)

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
# parameters
# --------------------------------------------------------------------------------------------
def _read_yaml(path: Path) -> dict:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a mapping of parameter: value, "
                         f"found {type(content).__name__}")
    return content


def available_markets(params_dir: str | Path = "params") -> list[str]:
    """Markets that have a ``params/<MARKET>.yaml`` (every YAML but ``defaults.yaml``)."""
    d = Path(params_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: params directory not found (expected defaults.yaml "
                                f"and one <MARKET>.yaml per market)")
    return sorted(p.stem for p in d.glob("*.yaml") if p.stem != "defaults")


def load_params(params_dir: str | Path, market: str, **overrides: Any) -> dict:
    """``defaults.yaml`` merged with ``<market>.yaml`` and non-empty ``overrides``."""
    d = Path(params_dir)
    params: dict[str, Any] = {}
    if (d / "defaults.yaml").exists():
        params.update(_read_yaml(d / "defaults.yaml"))
    if (d / f"{market}.yaml").exists():
        params.update(_read_yaml(d / f"{market}.yaml"))
    params.update({k: v for k, v in overrides.items() if v is not None})
    params["market"] = market
    for key in ("since", "until"):  # YAML turns 2026-03-02 into a date
        if key in params and params[key] is not None and not isinstance(params[key], str):
            params[key] = str(params[key])
    return params


# --------------------------------------------------------------------------------------------
# HTML export
# --------------------------------------------------------------------------------------------
_CSS = """
body.jp-Notebook { max-width: 1100px; margin: 0 auto; padding: 0 1.5em; }
nav.insights-toc { border: 1px solid #ddd; border-radius: 6px; padding: .6em 1.2em;
  margin: 1em 0; background: #fafafa; }
nav.insights-toc h2 { font-size: 1.05em; margin: .2em 0; }
.insights-banner { border: 2px solid #b3261e; background: #fdecea; color: #5f1410;
  padding: .8em 1.2em; border-radius: 6px; margin: 1em 0; }
.insights-banner pre { white-space: pre-wrap; }
footer.insights-provenance { border-top: 1px solid #ccc; margin-top: 3em; padding: 1em 0;
  font-size: .85em; color: #444; }
footer.insights-provenance dt { font-weight: bold; }
footer.insights-provenance pre { white-space: pre-wrap; font-size: .95em; }
table.insights-table { border-collapse: collapse; margin: .5em 0 1.2em; font-size: .9em; }
table.insights-table th, table.insights-table td { border: 1px solid #ddd; padding: .25em .6em;
  text-align: left; vertical-align: top; }
table.insights-table caption { text-align: left; font-weight: bold; padding: .3em 0; }
figure.insights-figure { margin: .5em 0 1.5em; }
"""

_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style type="text/css">{{ resources.insights.css }}</style>{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
{{ resources.insights.banner }}
{{ resources.insights.toc }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.insights.footer }}
{{ super() }}
{% endblock body_footer %}
"""


def _headings(nb) -> list[tuple[int, str]]:
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            s = line.strip()
            if s.startswith("#"):
                level = len(s) - len(s.lstrip("#"))
                text = s[level:].strip()
                if text and level in (2, 3):
                    out.append((level, text))
    return out


def _toc(nb) -> str:
    from nbconvert.filters.strings import _convert_header_id

    items = "".join(
        f'<li style="margin-left:{(lvl - 2) * 1.2}em"><a href="#{html.escape(_convert_header_id(t), quote=True)}">'
        f"{html.escape(t)}</a></li>" for lvl, t in _headings(nb))
    return f'<nav class="insights-toc" aria-label="Contents"><h2>Contents</h2><ul>{items}</ul></nav>'


def _footer(provenance: Mapping[str, Any]) -> str:
    rows = []
    for key, value in provenance.items():
        text = value if isinstance(value, str) else json.dumps(value, indent=1, default=str,
                                                               sort_keys=True)
        body = f"<pre>{html.escape(text)}</pre>" if "\n" in text else html.escape(text)
        rows.append(f"<dt>{html.escape(str(key))}</dt><dd>{body}</dd>")
    return ('<footer class="insights-provenance" id="provenance"><h2>Provenance</h2><dl>'
            + "".join(rows) + "</dl></footer>")


def export_html(nb, *, title: str, provenance: Mapping[str, Any],
                error: str | None = None) -> str:
    """The executed notebook as a self-contained HTML page.

    Input cells and prompts are excluded; require.js, MathJax and mermaid (loaded from CDNs by
    nbconvert's default template) are left out, images are inlined, so the page works offline.
    A table of contents is built from the notebook's markdown headings; ``provenance`` becomes
    the footer; ``error`` (already plain text) becomes a banner at the top. Every value is
    escaped.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nb.copy() if hasattr(nb, "copy") else nb
    nb.metadata["title"] = title
    for i, cell in enumerate(nb.cells):  # papermill's injected cell gets a random id
        cell["id"] = f"cell-{i}"
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"insights_report.html.j2": _TEMPLATE})],
        template_file="insights_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    banner = ""
    if error:
        banner = ('<div class="insights-banner" role="alert"><strong>This report could not be '
                  "completed.</strong> The sections up to the failure are shown; the error is "
                  f"below and where it happened.<pre>{html.escape(error)}</pre></div>")
    resources = {"insights": {"css": _CSS, "toc": _toc(nb), "footer": _footer(provenance),
                              "banner": banner}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


# --------------------------------------------------------------------------------------------
# one market
# --------------------------------------------------------------------------------------------
def _git_commit(root: Path) -> str:
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def render_market(market: str, params: Mapping[str, Any], out_dir: str | Path, *,
                  notebook: str | Path, cwd: str | Path | None = None,
                  cell_timeout: float = 600, kernel_name: str = KERNEL_NAME,
                  threads: int | None = None) -> MarketResult:
    """Execute the report notebook for one market and export its HTML (never raises for a
    notebook error: the HTML shows it and the result says ``failed``)."""
    import nbformat
    import papermill as pm

    t0 = time.perf_counter()
    started = _now()
    out = Path(out_dir)
    mdir = out / market
    tables = mdir / "tables"
    mdir.mkdir(parents=True, exist_ok=True)
    params = dict(params)
    params["tables_dir"] = str(tables.resolve())
    nb_path = mdir / "market_report.ipynb"
    html_path = out / f"{market}.html"
    if threads:  # the kernel inherits these: parallel kernels must not oversubscribe cores
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(threads))
    error = None
    nb = None
    # papermill wants a name ending in .ipynb: a temporary one beside the final file
    with atomic_path(nb_path) as tmp_base, _ipynb_name(tmp_base) as tmp_nb:
        try:
            nb = pm.execute_notebook(
                str(notebook), str(tmp_nb), parameters=params, kernel_name=kernel_name,
                language="python", progress_bar=False, log_output=False,
                cwd=str(cwd) if cwd else None, execution_timeout=cell_timeout,
                start_timeout=120, kernel_manager_class=IPCKernelManager,
            )
        except pm.PapermillExecutionError as exc:
            error = f"{exc.ename}: {exc.evalue}"
        except Exception as exc:  # kernel died, timeout, unreadable notebook, ...
            error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
        if tmp_nb.exists() and tmp_nb.stat().st_size:
            nb = nbformat.read(tmp_nb, as_version=4)
        elif nb is None:
            nb = nbformat.read(str(notebook), as_version=4)
            nbformat.write(nb, tmp_nb)
    summary: dict = {}
    if error is None and (tables / "summary.json").exists():
        summary = json.loads((tables / "summary.json").read_text(encoding="utf-8"))
    period = summary.get("period") or " to ".join(
        x for x in (params.get("since"), params.get("until")) if x) or "default period"
    title = f"{market} labeling quality report, {period}"
    finished = _now()
    root = Path(cwd) if cwd else Path.cwd()
    provenance = {
        "market": market,
        "data fingerprint (sha256)": summary.get("fingerprint", "unavailable (run failed)"),
        "parameters": {k: v for k, v in params.items() if k != "tables_dir"},
        "insights version": __version__,
        "git commit": _git_commit(root),
        "python": sys.version.split()[0],
        "kernel": f"{kernel_name} ({sys.executable}, IPC transport)",
        "started (UTC)": started,
        "finished (UTC)": finished,
        "status": "ok" if error is None else "failed",
    }
    page = export_html(nb, title=title, provenance=provenance, error=error)
    write_text(html_path, page)
    return MarketResult(
        market=market, status="ok" if error is None else "failed", html_path=str(html_path),
        notebook_path=str(nb_path), tables_dir=str(tables), seconds=time.perf_counter() - t0,
        error=error, summary=summary)


@contextlib.contextmanager
def _ipynb_name(tmp: Path):
    """``tmp`` under a name ending in ``.ipynb``, moved back onto ``tmp`` at the end."""
    alias = tmp.with_name(tmp.name + ".ipynb")
    try:
        yield alias
        if alias.exists():
            os.replace(alias, tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            alias.unlink()


def _render_safely(market, params, out_dir, kwargs) -> MarketResult:
    """Pool entry point: any exception becomes a failed result (with a minimal HTML)."""
    t0 = time.perf_counter()
    try:
        return render_market(market, params, out_dir, **kwargs)
    except Exception as exc:  # export failed too: still leave an HTML saying so
        msg = f"{type(exc).__name__}: {exc}"
        page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>"
                f"{html.escape(market)} report failed</title></head><body><h1>"
                f"{html.escape(market)} report failed</h1><pre>{html.escape(msg)}</pre>"
                f"<pre>{html.escape(traceback.format_exc())}</pre></body></html>")
        path = Path(out_dir) / f"{market}.html"
        with contextlib.suppress(OSError):
            write_text(path, page)
        return MarketResult(market=market, status="failed", html_path=str(path),
                            seconds=time.perf_counter() - t0, error=msg)


# --------------------------------------------------------------------------------------------
# index
# --------------------------------------------------------------------------------------------
def write_index(results: Sequence[MarketResult], out_dir: str | Path, *, started: str = "",
                finished: str = "", max_flags: int = 3) -> Path:
    """``index.html``: every market with status, period, headline numbers, flags (the number
    of alerts and the first ``max_flags`` of them) and links."""
    out = Path(out_dir)
    rows = []
    for r in sorted(results, key=lambda r: r.market):
        s = r.summary.get("scale", {}) if r.summary else {}

        def num(key, fmt, s=s):
            v = s.get(key)
            return "–" if v is None else format(v, fmt)

        flags = r.summary.get("flags", []) if r.ok else [f"report failed: {r.error}"]
        shown = flags[:max_flags]  # the most important first; the report has them all
        more = (f"<li>and {len(flags) - len(shown)} more in the report</li>"
                if len(flags) > len(shown) else "")
        flag_html = ("<ul>" + "".join(f"<li>{html.escape(str(f))}</li>" for f in shown)
                     + more + "</ul>") if flags else "none"
        link = (f'<a href="{html.escape(Path(r.html_path).name, quote=True)}">'
                f"{html.escape(r.market)}</a>") if r.html_path else html.escape(r.market)
        tables = (f'<a href="{html.escape(r.market, quote=True)}/tables/">tables</a>'
                  if r.ok else "")
        status = "ok" if r.ok else "FAILED"
        rows.append(
            f'<tr class="{"ok" if r.ok else "failed"}"><td>{link}</td><td>{status}</td>'
            f"<td>{html.escape(str(r.summary.get('period', '–')))}</td>"
            f"<td>{num('items', ',')}</td><td>{num('judgments', ',')}</td>"
            f"<td>{num('label_accuracy_estimated', '.1%')}</td>"
            f"<td>{num('cost_per_final_label', ',.3f')}</td>"
            f"<td>{len(flags) if r.ok else '–'}</td><td>{flag_html}</td>"
            f"<td>{r.seconds:.1f}</td><td>{tables}</td></tr>")
    n_fail = sum(not r.ok for r in results)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Labeling quality reports: index</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ccc; padding: .3em .6em;
 vertical-align: top; text-align: left; }} tr.failed {{ background: #fdecea; }}
</style></head><body>
<h1>Labeling quality reports</h1>
<p>{len(results)} market(s), {n_fail} failed. Run {html.escape(started)} to {html.escape(finished)}
(UTC); insights {html.escape(__version__)}.</p>
<table><thead><tr><th>market</th><th>status</th><th>period</th><th>items</th>
<th>judgments</th><th>estimated label accuracy</th>
<th>cost per final label</th><th>alerts</th><th>flags</th><th>seconds</th><th>data</th></tr>
</thead><tbody>{"".join(rows)}</tbody></table></body></html>
"""
    return write_text(out / "index.html", page)


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------
def _find_notebook(root: Path) -> Path:
    for base in (root, Path.cwd(), Path(__file__).resolve().parents[2]):
        if (base / NOTEBOOK).exists():
            return base / NOTEBOOK
    raise FileNotFoundError(f"{NOTEBOOK} not found under {root} or {Path.cwd()}")


def _prepare_data(params: Mapping[str, Any]) -> None:
    """Generate the simulated operation once, before the markets start in parallel."""
    from insights import summary

    if params.get("data_source") in (None, "", "simulated"):
        summary.resolve_data(params.get("data_source"), scenario=params.get("scenario", "default"),
                             seed=params.get("seed", 0), data_dir=params.get("data_dir", ""))


def run_reports(markets: Sequence[str] | None = None, params_dir: str | Path = "params",
                out_dir: str | Path = "reports", since: str | None = None,
                until: str | None = None, jobs: int | None = None,
                progress: Callable[[str], Any] | None = print, *,
                overrides: Mapping[str, Any] | None = None,
                per_market: Mapping[str, Mapping[str, Any]] | None = None,
                notebook: str | Path | None = None, cell_timeout: float = 600) -> ReportRun:
    """Render every market's report and the index.

    Parameters
    ----------
    markets : list of str, optional
        Default: every market with a ``params/<MARKET>.yaml``.
    params_dir : path
        Folder with ``defaults.yaml`` and the per-market YAML files.
    out_dir : path
        Where ``<MARKET>.html``, ``<MARKET>/`` and ``index.html`` go.
    since, until : str, optional
        Period (ISO dates; ``until`` exclusive); default from params (the last complete weeks).
    jobs : int, optional
        Markets rendered in parallel; capped at the number of usable cores.
    progress : callable, optional
        Called with one line per market start and end (``print`` by default).
    overrides : mapping, optional
        Parameters applied to every market on top of the YAML files (tests use small settings).
    per_market : mapping, optional
        ``market -> parameters`` applied last, to one market.
    notebook : path, optional
        Default ``<project>/notebooks/market_report.ipynb``.
    cell_timeout : float
        Seconds one notebook cell may run before the market fails.

    Returns
    -------
    ReportRun
    """
    from insights import summary

    say = progress or (lambda _line: None)
    t0 = time.perf_counter()
    started = _now()
    params_dir = Path(params_dir).resolve()
    root = summary.project_root(params_dir.parent)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    nb_path = Path(notebook).resolve() if notebook else _find_notebook(root)
    markets = list(markets) if markets else available_markets(params_dir)
    if not markets:
        raise ValueError(f"no markets: {params_dir} has no <MARKET>.yaml besides defaults.yaml")
    all_params = {}
    for m in markets:
        p = load_params(params_dir, m, since=since, until=until, **dict(overrides or {}))
        p.update((per_market or {}).get(m, {}))
        if p.get("data_source") not in (None, "", "simulated"):
            src = Path(p["data_source"])
            p["data_source"] = str(src if src.is_absolute() else root / src)
        if not p.get("data_dir"):
            p["data_dir"] = str(root / "data")
        all_params[m] = p
    for p in {json.dumps(p, sort_keys=True, default=str): p for p in all_params.values()}.values():
        try:
            _prepare_data(p)
        except Exception as exc:  # the notebook will meet and show the same error
            say(f"warning: preparing data failed ({type(exc).__name__}: {exc})")
    cores = usable_cores()
    n = max(1, min(jobs or cores, cores, len(markets)))
    kwargs = {"notebook": nb_path, "cwd": root, "cell_timeout": cell_timeout,
              "threads": max(1, cores // n) if n > 1 else None}
    results: dict[str, MarketResult] = {}

    def done(r: MarketResult) -> None:
        results[r.market] = r
        where = Path(r.html_path).relative_to(out.parent) if r.html_path else "-"
        if r.ok:
            say(f"[{r.market}] ok in {r.seconds:.1f} s -> {where}")
        else:
            say(f"[{r.market}] FAILED in {r.seconds:.1f} s: {r.error} (see {where})")

    say(f"rendering {len(markets)} market report(s) with {n} worker(s) -> {out}")
    if n == 1:
        for m in markets:
            say(f"[{m}] started")
            done(_render_safely(m, all_params[m], out, kwargs))
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
            futures = {}
            for m in markets:
                futures[pool.submit(_render_safely, m, all_params[m], out, kwargs)] = m
                say(f"[{m}] queued")
            for fut in as_completed(futures):
                m = futures[fut]
                try:
                    done(fut.result())
                except Exception as exc:  # the worker process itself died
                    done(MarketResult(market=m, status="failed",
                                      error=f"worker crashed: {type(exc).__name__}: {exc}"))
    finished = _now()
    ordered = [results[m] for m in markets]
    index = write_index(ordered, out, started=started, finished=finished)
    run = ReportRun(results={m: results[m] for m in markets}, index_path=index, started=started,
                    finished=finished, seconds=time.perf_counter() - t0)
    say(f"index: {index} ({len(run.failed)} failed) in {run.seconds:.1f} s")
    return run


def _result_dict(r: MarketResult) -> dict:  # pragma: no cover - debugging aid
    return asdict(r)
