"""HTML of the report: formats by declared kind, escaping, glossary links, no empty tables."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest

from insights.report.html import (
    CSS,
    details,
    findings_html,
    format_value,
    glossary_html,
    html_table,
    paragraph,
    plain_text,
    section_html,
    sentences_html,
    table,
)
from insights.report.sections import SectionResult

EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def test_format_follows_the_declared_kind_not_the_column_name():
    # a count whose name mentions a rate stays a count; a share named like a count is a percent
    df = table(pd.DataFrame({"n_rate_tests": [3.0], "accuracy_count": [0.25],
                             "confidence": [0.9], "lower": [0.8]}),
               {"n_rate_tests": "count", "accuracy_count": "percent", "confidence": "percent",
                "lower": "percent"})
    out = html_table(df)
    assert ">3<" in out and "300" not in out
    assert ">25.0%<" in out
    assert ">90.0%<" in out and ">80.0%<" in out  # confidence and its lower end in one unit


@pytest.mark.parametrize(("value", "kind", "text"), [
    (1204.0, "count", "1,204"),
    (np.int64(7), "count", "7"),
    (0.934, "percent", "93.4%"),
    (0.734, "score", "0.73"),
    (0.05, "currency", "0.050"),
    (0.0004, "pvalue", "< 0.001"),
    (0.0123, "pvalue", "0.012"),
    ((0.934, 0.91, 0.951), "interval", "93.4% (91.0–95.1)"),
    ((1204.0, 1100.0, 1300.0), "count_interval", "1,204 (1,100–1,300)"),
    ((0.5, np.nan, np.nan), "interval", "50.0%"),
    (np.nan, "percent", "–"),
    (None, "count", "–"),
    (pd.Timestamp("2026-03-02 10:00", tz="UTC"), "date", "2026-03-02"),
    ("a `b`", "text", "a `b`"),
])
def test_format_value(value, kind, text):
    assert format_value(value, kind) == text


def test_undeclared_columns_take_their_kind_from_the_dtype():
    out = html_table(pd.DataFrame({"n": [344], "x": [0.5], "t": ["z"]}))
    assert ">344<" in out and "344.0" not in out and ">0.500<" in out


def test_unknown_kinds_and_missing_columns_are_errors():
    with pytest.raises(ValueError, match="unknown column kind"):
        table(pd.DataFrame({"a": [1]}), {"a": "percentage"})
    with pytest.raises(ValueError, match="missing column"):
        table(pd.DataFrame({"a": [1]}), {"b": "count"})


def test_every_cell_and_header_is_escaped():
    out = html_table(pd.DataFrame({EVIL: [EVIL], "rate": [0.5]}), caption=EVIL)
    assert "<script>" not in out and "<img" not in out
    assert html.escape(EVIL) in out


def test_an_empty_table_renders_nothing():
    assert html_table(pd.DataFrame(columns=["a", "b"])) == ""
    result = SectionResult("x", "X", tables={"empty": pd.DataFrame(columns=["a"])},
                           note="Needs the column labeled_at.")
    page = section_html(result)
    assert "<table" not in page and "labeled_at" in page


def test_sentences_are_escaped_and_names_shown_as_code():
    findings = pd.DataFrame({"severity": ["alert"], "section": ["gaps"], "value": [0.5],
                             "finding": [f"Team X labels `{EVIL}` as `ok` (q = 0.01)."]})
    out = (findings_html(findings, {"gaps": "Knowledge gaps"})
           + sentences_html([f"`{EVIL}` rose"]) + paragraph(f"`{EVIL}`")
           + details("<b>x</b>", EVIL))
    assert "<script" not in out and "<img" not in out
    assert f"<code>{html.escape(EVIL)}</code>" in out and "<code>ok</code>" in out
    assert 'href="#Knowledge-gaps"' in out


def test_glossary_terms_link_to_the_glossary():
    gl = glossary_html()
    for key in ("q-value", "credible-interval", "calibration-error", "bias-corrected-quality",
                "kappa"):
        assert f'id="glossary-{key}"' in gl
    out = html_table(table(pd.DataFrame({"q": [0.01], "Bias-corrected quality (0-1)": [0.5],
                                         "Kappa vs consensus": [0.4]}),
                           {"q": "pvalue", "Bias-corrected quality (0-1)": "score",
                            "Kappa vs consensus": "score"}))
    assert 'href="#glossary-q-value"' in out
    assert 'href="#glossary-bias-corrected-quality"' in out and 'href="#glossary-kappa"' in out
    assert 'href="#glossary-credible-interval"' in paragraph("a 95% credible interval")
    # data never chooses a link: a term inside data is escaped text, the link is ours
    assert "javascript" not in paragraph("javascript:alert(1) credible interval").split("href")[1]


def test_plain_text_has_no_backticks():
    assert plain_text("labels `hate` as `ok`") == "labels 'hate' as 'ok'"


def test_css_styles_tables_findings_and_glossary():
    for cls in (".insights-table", ".insights-findings", ".insights-glossary",
                ".insights-scroll"):
        assert cls in CSS
