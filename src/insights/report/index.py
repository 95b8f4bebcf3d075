"""``index.html``: every market of the output folder with its status, headline numbers, flags.

The index lists this run's markets (failed ones too) and every market completed by an earlier
run into the same folder (a ``<MARKET>/tables/summary.json`` beside ``<MARKET>.html``), so a
run of one market never hides the others. Links are relative (``./DE.html``), quoted, and only
made for names that pass :func:`insights.report.params.check_market`; every string is escaped.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from insights import __version__
from insights._io import write_text
from insights.report.params import ParamsError, check_market

if TYPE_CHECKING:
    from insights.report.render import MarketResult

__all__ = ["completed_markets", "write_index"]

logger = logging.getLogger(__name__)


def completed_markets(out_dir: str | Path) -> list[MarketResult]:
    """Markets completed in ``out_dir`` by any run: a valid name, ``<M>.html`` and a readable
    ``<M>/tables/summary.json``."""
    from insights.report.render import MarketResult

    out = Path(out_dir)
    found = []
    for summary in sorted(out.glob("*/tables/summary.json")):
        market = summary.parent.parent.name
        try:
            check_market(market)
        except ParamsError:
            continue
        page = out / f"{market}.html"
        if not page.is_file():
            continue
        try:
            content = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            logger.warning("%s: unreadable, %s left out of the index", summary, market)
            continue
        found.append(MarketResult(market=market, status="ok", html_path=str(page),
                                  tables_dir=str(summary.parent), summary=content,
                                  this_run=False))
    return found


def _link(market: str, target: str, text: str) -> str:
    """A relative, quoted link, or the plain escaped text when ``market`` is not a safe name."""
    try:
        check_market(market)
    except ParamsError:
        return html.escape(text)
    return f'<a href="./{html.escape(quote(target), quote=True)}">{html.escape(text)}</a>'


def write_index(out_dir: str | Path, results: Sequence[MarketResult], *, started: str = "",
                finished: str = "", max_flags: int = 3) -> Path:
    """Write ``<out_dir>/index.html``: this run's ``results`` and the markets completed by
    earlier runs, each with status, period, headline numbers, flags (the number of alerts and
    the first ``max_flags``), seconds and links."""
    out = Path(out_dir)
    rows_by_market = {r.market: r for r in completed_markets(out)}
    rows_by_market.update({r.market: r for r in results})
    rows = []
    for r in sorted(rows_by_market.values(), key=lambda r: r.market):
        s = r.summary.get("scale", {}) if r.summary else {}

        def num(key, fmt, s=s):
            v = s.get(key)
            try:
                return "–" if v is None else format(v, fmt)
            except (TypeError, ValueError):
                return html.escape(str(v))

        flags = r.summary.get("flags", []) if r.ok else [f"report failed: {r.error}"]
        shown = flags[:max_flags]  # the most important first; the report has them all
        more = (f"<li>and {len(flags) - len(shown)} more in the report</li>"
                if len(flags) > len(shown) else "")
        flag_html = ("<ul>" + "".join(f"<li>{html.escape(str(f))}</li>" for f in shown)
                     + more + "</ul>") if flags else "none"
        name = _link(r.market, f"{r.market}.html", r.market) if r.html_path else \
            html.escape(r.market)
        tables = _link(r.market, f"{r.market}/tables/", "tables") if r.ok else ""
        status = ("ok" if r.this_run else "ok (earlier run)") if r.ok else "FAILED"
        seconds = f"{r.seconds:.1f}" if r.this_run else "–"
        rows.append(
            f'<tr class="{"ok" if r.ok else "failed"}"><td>{name}</td><td>{status}</td>'
            f"<td>{html.escape(str(r.summary.get('period', '–')))}</td>"
            f"<td>{num('items', ',')}</td><td>{num('judgments', ',')}</td>"
            f"<td>{num('label_accuracy_estimated', '.1%')}</td>"
            f"<td>{num('cost_per_final_label', ',.3f')}</td>"
            f"<td>{len(flags) if r.ok else '–'}</td><td>{flag_html}</td>"
            f"<td>{seconds}</td><td>{tables}</td></tr>")
    n_fail = sum(not r.ok for r in rows_by_market.values())
    n_run = len(results)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Labeling quality reports: index</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ccc; padding: .3em .6em;
 vertical-align: top; text-align: left; }} tr.failed {{ background: #fdecea; }}
td {{ overflow-wrap: anywhere; }}
</style></head><body>
<h1>Labeling quality reports</h1>
<p>{len(rows_by_market)} market(s), {n_fail} failed; {n_run} rendered by the last run,
{html.escape(started)} to {html.escape(finished)} (UTC), insights {html.escape(__version__)}.</p>
<table><thead><tr><th>Market</th><th>Status</th><th>Period</th><th>Items</th>
<th>Judgments</th><th>Estimated label accuracy</th>
<th>Cost per final label</th><th>Alerts</th><th>Flags</th><th>Seconds</th><th>Data</th></tr>
</thead><tbody>{"".join(rows)}</tbody></table></body></html>
"""
    return write_text(out / "index.html", page)
