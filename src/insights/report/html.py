"""HTML of the report: tables formatted by declared column kind, findings, glossary, ``show``.

Every table a section shows declares the kind of each column in ``df.attrs["kinds"]``
(:func:`table`); the format follows the kind, never the column's name:

============  =====================================  ===============================
kind          cell value                              shown as
============  =====================================  ===============================
percent       a share in [0, 1]                       ``93.4%``
count         an integer (floats are rounded)         ``1,204``
number        any real number                         ``0.123`` / ``12.3``
score         a 0-1 score (not a percentage)          ``0.87``
currency      an amount (the currency in the header)  ``0.050``
pvalue        a p or q value                          ``< 0.001`` / ``0.012``
interval      ``(point, low, high)`` shares           ``93.4% (91.0–95.1)``
count_interval ``(point, low, high)`` counts          ``1,204 (1,100–1,300)``
number_interval ``(point, low, high)`` numbers        ``12.5 (10.1–14.9)``
date          a timestamp                             ``2026-03-02``
text          anything else                           the text
============  =====================================  ===============================

Columns without a declared kind take it from their dtype (integer: count, float: number,
otherwise text). Every cell and header is escaped: data never becomes markup. Headers that
name a glossary term (q value, credible interval, calibration error, bias-corrected quality,
kappa) link to the glossary at the end of the report (:func:`glossary_html`).

:data:`CSS` styles tables, findings and the glossary; the report page includes it.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CSS", "GLOSSARY", "KINDS", "table", "format_value", "html_table", "findings_html",
           "paragraph", "sentences_html", "details", "figure_html", "glossary_html",
           "section_html", "show", "style_html", "plain_text", "anchor"]

KINDS = ("percent", "count", "number", "score", "currency", "pvalue", "interval",
         "count_interval", "number_interval", "date", "text")

#: The glossary: anchor -> (term, definition, phrases that link to it).
GLOSSARY: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "q-value": (
        "q value",
        "The p-value of a test adjusted for the number of tests run (false discovery rate "
        "control). Among all findings with q at most 0.05, on average at most 5% are false "
        "alarms.",
        ("q value", "q values")),
    "credible-interval": (
        "credible interval",
        "A range that holds the true value with the stated probability (for example 95%) "
        "given the data and the model. Wide intervals mean few judgments.",
        ("credible interval",)),
    "calibration-error": (
        "calibration error (ECE)",
        "How far stated confidence is from how often the labels are right, averaged over "
        "items (expected calibration error). 0.02 means confidence is off by 2 points on "
        "average.",
        ("calibration error", "ECE")),
    "bias-corrected-quality": (
        "bias-corrected quality",
        "A 0-1 score of how much information an annotator's answers carry once their "
        "systematic confusions are re-mapped: 1 is a perfect annotator, 0 one whose answers "
        "say nothing about the truth (a spammer). It is a score, not a share of right answers.",
        ("bias-corrected quality",)),
    "kappa": (
        "kappa",
        "Agreement with the consensus beyond what chance would give (Cohen's kappa): 1 is "
        "perfect agreement, 0 is chance level.",
        ("kappa",)),
}

CSS = """
.insights-table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em;
  max-width: 100%; }
.insights-table caption { caption-side: top; text-align: left; font-weight: 600;
  padding: 0.3em 0; }
.insights-table th, .insights-table td { border-bottom: 1px solid #ddd; padding: 0.3em 0.6em;
  vertical-align: top; }
.insights-table th { background: #f3f4f6; font-weight: 600; white-space: normal;
  min-width: 3em; max-width: 11em; }
.insights-table td.num, .insights-table th.num { text-align: right;
  font-variant-numeric: tabular-nums; }
.insights-table td.num { white-space: nowrap; }
.insights-table td.text, .insights-table th.text { text-align: left; }
.insights-table td.text { overflow-wrap: anywhere; max-width: 28em; }
.insights-scroll { overflow-x: auto; max-width: 100%; }
.insights-findings li { margin: 0.35em 0; }
.insights-findings .sev-alert { color: #b3261e; }
.insights-findings .sev-watch { color: #8a5a00; }
.insights-findings .sev-info { color: #1d4f91; }
.insights-note { color: #555; font-style: italic; }
.insights-figure img { max-width: 100%; height: auto; }
.insights-glossary dt { font-weight: 600; margin-top: 0.5em; }
.insights-glossary dd { margin-left: 1.5em; }
a.insights-term { color: inherit; text-decoration: underline dotted; }
"""

def anchor(title: str) -> str:
    """HTML id of a section heading, as nbconvert derives it (spaces become ``-``)."""
    return str(title).replace(" ", "-")


def table(df: pd.DataFrame, kinds: Mapping[str, str], **attrs: Any) -> pd.DataFrame:
    """``df`` with its column kinds declared (``df.attrs["kinds"]``) and display options
    (``max_rows``, ``collapsed``: shown folded under the caption); unknown kinds are errors."""
    bad = {c: k for c, k in kinds.items() if k not in KINDS}
    if bad:
        raise ValueError(f"unknown column kind(s) {bad}; expected one of {KINDS}")
    missing = set(kinds) - set(df.columns)
    if missing:
        raise ValueError(f"kinds declared for missing column(s) {sorted(missing)}")
    df.attrs["kinds"] = dict(kinds)
    df.attrs.update(attrs)
    return df


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float | np.floating):
        return bool(np.isnan(v))
    return v is pd.NaT or (isinstance(v, type(pd.NA)))


def _pct(v: float) -> str:
    return f"{v:.1%}"


def format_value(v: Any, kind: str) -> str:
    """One cell as text by its column ``kind`` (see the module docstring); missing: ``–``."""
    if kind.endswith("interval"):
        if not isinstance(v, tuple | list) or len(v) != 3 or _missing(v[0]):
            return "–"
        point, lo, hi = (float(x) for x in v)
        if kind == "interval":
            body = _pct(point)
            rng = f"{100 * lo:.1f}–{100 * hi:.1f}"
        elif kind == "count_interval":
            body, rng = f"{point:,.0f}", f"{lo:,.0f}–{hi:,.0f}"
        else:
            body, rng = f"{point:,.1f}", f"{lo:,.1f}–{hi:,.1f}"
        return body if (math.isnan(lo) or math.isnan(hi)) else f"{body} ({rng})"
    if _missing(v):
        return "–"
    if kind == "text":
        return str(v)
    if kind == "date":
        return f"{pd.Timestamp(v):%Y-%m-%d}"
    if isinstance(v, str | bool | np.bool_):
        return str(v)
    x = float(v)
    if kind == "percent":
        return _pct(x)
    if kind == "count":
        return f"{round(x):,}"
    if kind == "score":
        return f"{x:.2f}"
    if kind == "currency":
        return f"{x:,.3f}"
    if kind == "pvalue":
        return "< 0.001" if x < 0.001 else f"{x:.3f}"
    return f"{x:,.3f}" if abs(x) < 10 else f"{x:,.1f}"


def _kind_of(df: pd.DataFrame, col: Any) -> str:
    declared = df.attrs.get("kinds", {})
    if col in declared:
        return declared[col]
    dtype = df[col].dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "text"
    if pd.api.types.is_integer_dtype(dtype):
        return "count"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    return "text"


def _link_terms(escaped: str, *, once: set[str] | None = None) -> str:
    """Link glossary phrases in already escaped text (our own phrases only; data strings never
    choose a link)."""
    for key, (_term, _text, phrases) in GLOSSARY.items():
        if once is not None and key in once:
            continue
        for phrase in phrases:
            pattern = re.compile(rf"(?<![\w-])({re.escape(html.escape(phrase))})(?![\w-])",
                                 flags=re.IGNORECASE)
            new, n = pattern.subn(
                rf'<a class="insights-term" href="#glossary-{key}">\1</a>', escaped, count=1)
            if n:
                escaped = new
                if once is not None:
                    once.add(key)
                break
    return escaped


def _header_html(col: Any) -> str:
    text = html.escape(str(col))
    if str(col) == "q":
        return '<a class="insights-term" href="#glossary-q-value">q</a>'
    return _link_terms(text)


def html_table(df: pd.DataFrame, *, max_rows: int | None = None, caption: str | None = None
               ) -> str:
    """An HTML table with every cell escaped and formatted by its column kind, in a
    horizontal scroll wrapper (a wide table never overflows the page). An empty table gives
    an empty string: a page never shows a header without rows."""
    if df is None or len(df) == 0 or len(df.columns) == 0:
        return ""
    max_rows = int(max_rows or df.attrs.get("max_rows") or 50)
    show_df = df.head(max_rows)
    kinds = [_kind_of(df, c) for c in show_df.columns]
    cls = ["text" if k in ("text",) else "num" for k in kinds]
    head = "".join(f'<th class="{c}">{_header_html(col)}</th>'
                   for col, c in zip(show_df.columns, cls, strict=True))
    body = "".join(
        "<tr>" + "".join(f'<td class="{c}">{html.escape(format_value(v, k))}</td>'
                         for v, k, c in zip(row, kinds, cls, strict=True)) + "</tr>"
        for row in show_df.itertuples(index=False, name=None))
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    more = (f'<p class="insights-note">Showing {max_rows} of {len(df):,} rows; the full table '
            f"is in the report's tables folder.</p>" if len(df) > max_rows else "")
    return (f'<div class="insights-scroll"><table class="insights-table">{cap}<thead><tr>'
            f"{head}</tr></thead><tbody>{body}</tbody></table></div>{more}")


def _sentence_html(text: str, *, link: bool = True) -> str:
    """A sentence escaped, with `backticked` names shown as code (after escaping, so data can
    never become markup) and glossary terms linked."""
    out = re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(str(text)))
    return _link_terms(out) if link else out


def plain_text(text: str) -> str:
    """A sentence as plain text (for the index page): `backticked` names in quotes."""
    return re.sub(r"`([^`]*)`", r"'\1'", str(text))


def paragraph(text: str) -> str:
    """Plain text as an escaped HTML paragraph (`backticked` names shown as code)."""
    return f"<p>{_sentence_html(text)}</p>" if text else ""


def sentences_html(sentences: Iterable[str], *, empty: str = "") -> str:
    """Plain sentences as an escaped bulleted list (``empty``: shown when there are none)."""
    sentences = list(sentences)
    if not sentences:
        return f'<p class="insights-note">{html.escape(empty)}</p>' if empty else ""
    return ('<ul class="insights-findings">'
            + "".join(f"<li>{_sentence_html(s)}</li>" for s in sentences) + "</ul>")


def details(inner_html: str, summary_text: str) -> str:
    """``inner_html`` collapsed under a ``<details>`` element (``summary_text`` escaped)."""
    if not inner_html:
        return ""
    return f"<details><summary>{html.escape(summary_text)}</summary>{inner_html}</details>"


def findings_html(findings: pd.DataFrame, titles: Mapping[str, str] | None = None) -> str:
    """The headline findings as an ordered list; sentences escaped, each links to the section
    holding its evidence (``titles``: section key -> heading)."""
    if findings is None or not len(findings):
        return '<p class="insights-note">No findings for this period.</p>'
    titles = dict(titles or {})
    items = []
    for r in findings.itertuples(index=False):
        sev = str(r.severity)
        title = titles.get(r.section, str(r.section))
        items.append(
            f'<li><strong class="sev-{html.escape(sev, quote=True)}">'
            f"{html.escape(sev.upper())}</strong> {_sentence_html(r.finding)} "
            f'<a href="#{html.escape(anchor(title), quote=True)}">'
            f"(evidence: {html.escape(title)})</a></li>")
    return '<ol class="insights-findings">' + "".join(items) + "</ol>"


def figure_html(figure: Any, alt: str = "") -> str:
    """A figure as ``<figure><img alt=...>`` with the PNG inlined; closes it.

    Accepts a :class:`insights.plots.Figure` (``.fig`` and ``.alt``), a matplotlib Figure or an
    Axes (its figure); the alt text is escaped.
    """
    import matplotlib.pyplot as plt

    fig = getattr(figure, "fig", None)
    alt = alt or str(getattr(figure, "alt", "") or "")
    caption = str(getattr(figure, "caption", "") or "")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    if fig is not None and hasattr(figure, "png"):  # insights.plots.Figure: its own PNG
        data = base64.b64encode(figure.png()).decode("ascii")
        plt.close(fig)
        return (f'<figure class="insights-figure"><img src="data:image/png;base64,{data}" '
                f'alt="{html.escape(alt or "figure", quote=True)}"/>{cap}</figure>')
    if fig is None:
        fig = getattr(figure, "figure", None) if hasattr(figure, "get_xlim") else figure
    if fig is None or not hasattr(fig, "savefig"):
        return ""
    if not alt:
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        sup = getattr(fig, "_suptitle", None)
        alt = (sup.get_text() if sup is not None else "") or "; ".join(titles) or "figure"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<figure class="insights-figure"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(alt, quote=True)}"/>{cap}</figure>')


def glossary_html() -> str:
    """The glossary as a definition list; each term has the id its links point to."""
    items = "".join(
        f'<dt id="glossary-{key}">{html.escape(term)}</dt><dd>{html.escape(text)}</dd>'
        for key, (term, text, _phrases) in GLOSSARY.items())
    return f'<dl class="insights-glossary">{items}</dl>'


def style_html() -> str:
    """:data:`CSS` as a ``<style>`` element (the notebook's first output carries it, so the
    tables look the same in JupyterLab and on the rendered page)."""
    return f"<style>{CSS}</style>"


def section_html(result: Any) -> str:
    """One section as HTML: its note (when the data lacks what it needs), its sentences and
    bulleted items, its figures, then its tables (empty tables are left out)."""
    parts = []
    if getattr(result, "note", ""):
        parts.append(f'<p class="insights-note">{_sentence_html(result.note)}</p>')
    parts += [paragraph(s) for s in getattr(result, "sentences", [])]
    parts.append(sentences_html(getattr(result, "items", [])))
    parts += [figure_html(f) for f in getattr(result, "figures", [])]
    for caption, df in getattr(result, "tables", {}).items():
        if df is None or not len(df):
            continue
        if df.attrs.get("collapsed"):
            parts.append(details(html_table(df), caption))
        else:
            parts.append(html_table(df, caption=caption))
    return "".join(p for p in parts if p)


def show(result: Any):
    """Render a section (a :class:`~insights.report.sections.SectionResult`) in a notebook."""
    from IPython.display import HTML

    return HTML(section_html(result))
