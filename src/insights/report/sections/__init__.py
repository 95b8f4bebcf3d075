"""Report sections: one module per section, each with ``build(ctx) -> SectionResult``.

The contract every section module follows (so a new section is one new module):

* ``KEY`` (str): the section's key (used in findings' links and table file names),
  ``TITLE`` (str): its heading (the notebook's ``## TITLE``), ``ORDER`` (number, optional,
  default 100): its place in the report (scale 20, scorecard 30, gaps 40, trends 50,
  confidence 60, model 80, forecast 90, methods 1000 -- last);
* ``build(ctx: ReportContext) -> SectionResult``: computes the section from the shared context
  (the market's data, the fitted models, the parameters); it never raises for missing optional
  data: a section that lacks the data it needs returns a result whose ``note`` says in one
  sentence which column or table would enable it, and no empty table or figure. (Should it
  raise anyway, the report shows a one-sentence note for it and logs the traceback.)

:func:`insights.report.build.build_report` finds every module of this package whose name does
not start with ``_`` and calls them in ``ORDER``; the notebook has one ``## TITLE`` heading and
one ``show(report.sections[KEY])`` cell per section. Tables shown declare their column kinds
with :func:`insights.report.html.table`; tidy tables to write beside the HTML go in
``data["tables"]`` (name -> DataFrame).

:class:`SectionResult` holds plain-word sentences, tidy tables (formatting lives in
:mod:`insights.report.html`, driven by column kinds), figures and headline findings.
(The concrete ``ReportContext`` is defined by :mod:`insights.report.build`.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Finding", "SectionResult"]


@dataclass(frozen=True)
class Finding:
    """A headline finding: ``severity`` (``alert``/``watch``/``info``), a plain sentence, the
    key of the section holding its evidence, the number behind it, and ``q`` when tested."""

    severity: str
    text: str
    section: str
    value: float = math.nan
    q: float = math.nan


@dataclass
class SectionResult:
    """What one section shows: sentences first, then tables and figures.

    ``tables`` maps a caption to a tidy table; ``figures`` are matplotlib Figures (or Axes);
    ``findings`` go to the report's headline list; ``note`` is the one sentence shown instead
    of the evidence when the data lacks what the section needs; ``data`` keeps anything else
    the section computed (for other sections; its ``"tables"`` entry, name -> tidy table, is
    written beside the HTML); ``items`` are sentences shown as a bulleted list after the
    ``sentences`` (e.g. one per significant change).
    """

    key: str
    title: str
    sentences: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[Any] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)
