"""The per-market report: validated parameters, one module per section, HTML, runner, index.

Layout (DESIGN.md, "The per-market report")::

    report/
      params.py      ReportParams: every report parameter, validated (unknown keys rejected);
                     load_params(params_dir, market, **overrides) merges defaults.yaml + <M>.yaml
      build.py       build_report(params) -> MarketReport (data, models, every section);
                     ReportContext (what sections read), write_tables
      fitting.py     the aggregation posterior and the hierarchical confidence model
      accuracy.py    the estimated accuracy of final labels, cross-fitted on gold
      findings.py    the headline list from every section's findings
      sections/      one module per section; each has build(ctx) -> SectionResult
      html.py        tables with an explicit format per column kind; escaped
      render.py      papermill runner (one market per process), HTML export
      index.py       reports/index.html

A new section is one new module in ``sections/`` (see :mod:`insights.report.sections`).
"""
