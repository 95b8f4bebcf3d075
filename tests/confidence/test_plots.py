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
