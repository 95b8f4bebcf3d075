"""skops persistence: the same predictions after a round trip; missing files are named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.learning import CrowdClassifier, load_model, save_model


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    z = rng.integers(0, 2, 60)
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(60)],
                          "text": [("good fine" if c else "bad awful") + f" w{i}"
                                   for i, c in enumerate(z)]})
    labels = pd.DataFrame({"item_id": items["item_id"], "annotator_id": "a",
                           "label": np.where(z == 1, "pos", "neg")})
    model = CrowdClassifier(method="majority", text_column="text", n_splits=3)
    model.fit(items, labels)
    save_model(model, tmp_path)
    back = load_model(tmp_path)
    np.testing.assert_allclose(back.predict_proba(items), model.predict_proba(items))
    assert list(back.classes_) == ["neg", "pos"]
    with pytest.raises(FileNotFoundError, match="model.skops"):
        load_model(tmp_path / "nowhere")
