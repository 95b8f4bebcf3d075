"""The Confidence section's figures render with titles, axis labels and alt text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.confidence import reliability_table
from insights.confidence.plots import reliability_diagram, review_curve, team_accuracy_intervals


def test_figures_have_titles_labels_and_alt():
    rng = np.random.default_rng(1)
    conf = rng.uniform(0.4, 1, 500)
    corr = rng.random(500) < conf
    t = reliability_table(conf, corr)
    t.attrs["ece"] = 0.01
    teams = pd.DataFrame({"accuracy": [0.8, 0.7], "lower": [0.75, 0.6], "upper": [0.85, 0.8]},
                         index=pd.Index(["A", "B"], name="team"))
    for f in (reliability_diagram({"model": t}), review_curve({"model": (conf, corr)}),
              team_accuracy_intervals(teams)):
        ax = f.fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        assert len(f.alt) > 40
        assert f.png()[:4] == b"\x89PNG"


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _table(seed=1, n=500):
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.4, 1, n)
    corr = rng.random(n) < conf
    return reliability_table(conf, corr), conf, corr


def test_reliability_diagram_fixed_axes_sized_points_legend_outside():
    t, _, _ = _table()
    f = reliability_diagram({"model": t, "$x^$": t})
    ax = f.ax
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)
    # point area proportional to the bin's item count (12 pt^2 floor + 220 * n / max n)
    from matplotlib.collections import PathCollection

    points = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    assert len(points) == 2
    sizes = points[0].get_sizes()
    np.testing.assert_allclose(sizes, 12 + 220 * t["n"].to_numpy(float) / t["n"].max())
    r = _renderer(f.fig)
    legend = ax.get_legend().get_window_extent(r)
    assert legend.x0 >= ax.get_window_extent(r).x1  # to the right of the data, not over it
    assert any("$x^$" in x.get_text() for x in ax.get_legend().get_texts())


def test_confidence_plots_draw_into_ax_and_leave_rcparams():
    import matplotlib as mpl
    import matplotlib.figure as mfigure

    t, conf, corr = _table()
    teams = pd.DataFrame({"accuracy": [0.8, 0.7], "lower": [0.75, 0.6], "upper": [0.85, 0.8]},
                         index=pd.Index(["$x^$", "L" * 100_000], name="team"))
    before = dict(mpl.rcParams)
    for call in (lambda ax: reliability_diagram({"m": t}, ax=ax),
                 lambda ax: review_curve({"m": (conf, corr)}, ax=ax),
                 lambda ax: team_accuracy_intervals(teams, ax=ax)):
        fig = mfigure.Figure()
        ax = fig.add_subplot()
        out = call(ax)
        assert out.ax is ax and out.fig is fig and fig.axes == [ax]
        png = out.png()
        assert png[:4] == b"\x89PNG" and len(png) < 500_000
    assert dict(mpl.rcParams) == before
    labels = [x.get_text() for x in out.ax.get_yticklabels()]
    assert labels[0] == "$x^$" and len(labels[1]) <= 40 and labels[1].endswith("…")
