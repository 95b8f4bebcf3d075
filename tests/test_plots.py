"""insights.plots: ax/fig in, Figure out, nothing global changed, data strings safe."""

from __future__ import annotations

import struct

import matplotlib as mpl
import matplotlib.figure as mfigure
import matplotlib.text as mtext
import numpy as np
import pandas as pd
import pytest

from insights import plots

BAD = "$x^$"          # invalid mathtext: parsing it raises ValueError
LONG = "L" * 100_000  # a 100k-character label


def _weeks(n=10):
    return pd.date_range("2026-01-05", periods=n, freq="7D", tz="UTC")


def scorecard_data(name="A"):
    return pd.DataFrame({"team": [name, "B"], "accuracy_gold": [0.9, np.nan],
                         "accuracy_gold_low": [0.85, np.nan], "accuracy_gold_high": [0.94, np.nan],
                         "accuracy_estimated": [0.91, 0.8]})


def confusion_data(name="A", classes=("ok", "spam", "hate")):
    rows = []
    for team in (name, "B"):
        for t in classes:
            for g in classes:
                rows.append({"team": team, "true": t, "given": g,
                             "rate": 0.8 if t == g else 0.2 / (len(classes) - 1)})
    return pd.DataFrame(rows)


def disagreement_data(name="llm"):
    return pd.DataFrame({"annotator_id": [name, name], "consensus": ["ok", "spam"],
                         "model_label": ["spam", name], "items": [12, 5], "share": [0.3, 0.1]})


def series_data(team="A", klass="ok", n=10, jump_at=None):
    w = _weeks(n)
    rows = []
    for tm in (team, "B"):
        for i, ws in enumerate(w):
            rows.append({"level": "market/team", "market": "M", "queue": "*", "team": tm,
                         "week": i, "week_start": ws, "gold_accuracy": 0.9, "gold_lo": 0.85,
                         "gold_hi": 0.95, "est_accuracy": 0.9 - 0.01 * i, "agreement": 0.8})
    for i, ws in enumerate(w):
        share = 0.7 if jump_at is None or i < jump_at else 0.4
        rows.append({"level": "market", "market": "M", "queue": "*", "team": "*", "week": i,
                     "week_start": ws, "est_accuracy": 0.9, f"final_{klass}": 100 * share,
                     "final_spam": 100 * (0.9 - share), "final_hate": 10.0, "n_final": 100.0})
    return pd.DataFrame(rows)


def findings_data(team="A", klass="ok", since=None):
    since = since if since is not None else _weeks()[8]
    return pd.DataFrame([
        {"kind": "trend", "level": "market/team", "market": "M", "queue": "*", "team": team,
         "metric": "est_accuracy", "since": since, "klass": "", "before": 0.9, "after": 0.8,
         "where": f"Team {team}"},
        {"kind": "trend", "level": "market", "market": "M", "queue": "*", "team": "*",
         "metric": f"share_{klass}", "since": since, "klass": klass, "before": 0.7,
         "after": 0.4, "where": "Market M"}])


def forecast_data(queue="q1"):
    w = _weeks(12)
    hist = pd.DataFrame({"queue": queue, "week_start": w[:8], "volume": np.arange(8) * 10 + 100})
    fc = pd.DataFrame({"queue": queue, "week_start": w[8:], "volume": 180.0, "volume_lo": 150.0,
                       "volume_hi": 210.0, "level": 0.9})
    return hist, fc


# name -> (call with a data string s and an optional ax/fig, single-axes?)
CASES = {
    "scorecard": (lambda s, **kw: plots.scorecard(scorecard_data(s), target=0.9, **kw), True),
    "confusion_heatmaps": (lambda s, **kw: plots.confusion_heatmaps(
        confusion_data(s, ("ok", s, "hate")), **kw), False),
    "model_disagreement": (lambda s, **kw: plots.model_disagreement(disagreement_data(s), **kw),
                           True),
    "team_trends": (lambda s, **kw: plots.team_trends(series_data(s), findings_data(s), **kw),
                    False),
    "volume_forecast": (lambda s, **kw: plots.volume_forecast(*forecast_data(s), **kw), False),
    "label_mix": (lambda s, **kw: plots.label_mix(series_data(klass=s, jump_at=6),
                                                  findings_data(klass=s), **kw), False),
}


def _renderer(fig):
    """Draw ``fig`` on an Agg canvas and return the renderer (for text extents)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


@pytest.mark.parametrize("name", list(CASES))
def test_returns_figure_and_draws_into_the_given_ax_or_fig(name):
    call, single = CASES[name]
    out = call("A")
    assert isinstance(out, plots.Figure) and isinstance(out.fig, mfigure.Figure)
    assert out.axes and all(ax.get_figure(root=True) is out.fig for ax in out.axes)
    assert out.ax is out.axes[0] and out.alt
    target = mfigure.Figure()
    if single:
        ax = target.add_subplot()
        got = call("A", ax=ax)
        assert got.ax is ax and got.fig is target and target.axes == [ax]
        assert ax.has_data() or ax.patches or ax.collections
    else:
        got = call("A", fig=target)
        assert got.fig is target and target.axes and got.axes[0] in target.axes
    assert got.png()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name", list(CASES))
def test_no_global_state_changes(name):
    import sys

    before = dict(mpl.rcParams)
    backend = mpl.get_backend()
    n_figs = len(sys.modules["matplotlib.pyplot"].get_fignums()) \
        if "matplotlib.pyplot" in sys.modules else 0
    CASES[name][0]("A").png()
    assert dict(mpl.rcParams) == before
    assert mpl.get_backend() == backend
    if "matplotlib.pyplot" in sys.modules:  # figures are not left open in pyplot
        assert len(sys.modules["matplotlib.pyplot"].get_fignums()) == n_figs


def test_import_chooses_no_backend():
    import subprocess
    import sys

    code = ("import matplotlib, os; os.environ.pop('MPLBACKEND', None); "
            "import insights.plots, insights.confidence.plots; "
            "print(matplotlib.rcParams._get_backend_or_none())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": ":".join(sys.path), "HOME": "/tmp"})
    assert out.stdout.strip() == "None"


@pytest.mark.parametrize("name", list(CASES))
def test_mathtext_in_data_strings_is_shown_literally(name):
    out = CASES[name][0](BAD)
    assert out.png()[:4] == b"\x89PNG"        # parsing "$x^$" as mathtext would raise
    out.fig.savefig(__import__("io").BytesIO(), format="png")  # also outside our rc context
    texts = [t.get_text() for t in out.fig.findobj(mtext.Text)]
    assert any(BAD in t for t in texts)
    assert all(not t.get_parse_math() for t in out.fig.findobj(mtext.Text))


@pytest.mark.parametrize("name", list(CASES))
def test_huge_label_is_shortened(name):
    out = CASES[name][0](LONG)
    png = out.png()
    w, h = _png_size(png)
    # a 100k-character tick label would make a figure of about a million pixels wide
    assert w <= 2000 and h <= 2000 and len(png) < 1_000_000
    longest = max(len(t.get_text()) for t in out.fig.findobj(mtext.Text))
    assert longest < 200
    assert "…" in out.alt or "…" in " ".join(t.get_text() for t in out.fig.findobj(mtext.Text))


def test_plot_label():
    assert plots.plot_label("a\nb\tc") == "a b c"
    assert plots.plot_label("x" * 50, max_len=10) == "x" * 9 + "…"
    assert plots.plot_label(None) == "" and plots.plot_label(float("nan")) == ""
    assert plots.plot_label(3) == "3"


def test_heatmap_numbers_legible_at_report_size():
    out = plots.confusion_heatmaps(confusion_data("A", tuple(f"class{i}" for i in range(8))))
    # shown unscaled in the report (a 1,100 px page at 96 dpi) ...
    assert out.fig.get_size_inches()[0] <= plots.MAX_WIDTH
    out.png()
    # ... so the font size in points is what the reader gets
    annots = [t for ax in out.axes for t in ax.texts if t.get_text().endswith("%")]
    assert annots and min(t.get_fontsize() for t in annots) >= 9
    # and every number fits in its cell (no overlap with the neighbour)
    r = _renderer(out.fig)
    ax = out.axes[0]
    cell_w = ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0]
    assert max(t.get_window_extent(r).width for t in ax.texts) < cell_w


@pytest.mark.parametrize("at", [0, 8, 9])
def test_change_labels_stay_inside_their_panels(at):
    since = _weeks()[at]
    out = plots.team_trends(series_data("A"), findings_data("A", since=since))
    r = _renderer(out.fig)
    for ax in out.axes:
        box = ax.get_window_extent(r)
        for t in ax.texts:
            e = t.get_window_extent(r)
            assert box.x0 - 1 <= e.x0 and e.x1 <= box.x1 + 1, t.get_text()


def test_label_mix_marks_the_changed_class():
    out = plots.label_mix(series_data(jump_at=6), findings_data(since=_weeks()[6]))
    ax = out.ax
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert {"ok", "spam", "hate"} <= set(lines)
    assert lines["ok"].get_linewidth() > lines["spam"].get_linewidth()
    np.testing.assert_allclose(lines["ok"].get_ydata(), [0.7] * 6 + [0.4] * 4)
    when = mpl.dates.date2num(_weeks()[6].tz_localize(None))
    assert any(np.allclose(ln.get_xdata(), when) for ln in ax.get_lines())
    assert ax.get_ylim() == (0, 1)
    assert "70% to 40%" in out.alt
    # no finding: one panel per market, no marker
    quiet = plots.label_mix(series_data(), None)
    assert len(quiet.axes) == 1 and "no significant change" in quiet.alt
    assert "no weekly label mix" in plots.label_mix(series_data().drop(columns="n_final")).alt


def test_empty_inputs_say_so():
    assert "no teams" in plots.scorecard(scorecard_data().iloc[:0]).alt
    ax = mfigure.Figure().add_subplot()
    assert plots.model_disagreement(disagreement_data().iloc[:0], ax=ax).ax is ax


def test_label_mix_draws_one_panel_into_a_given_ax():
    fig = mfigure.Figure()
    ax = fig.add_subplot()
    out = plots.label_mix(series_data(jump_at=6), findings_data(since=_weeks()[6]), ax=ax)
    assert out.ax is ax and fig.axes == [ax] and {"ok", "spam"} <= {
        ln.get_label() for ln in ax.get_lines()}
