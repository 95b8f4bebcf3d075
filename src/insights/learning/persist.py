"""Save and load a fitted :class:`~insights.learning.CrowdClassifier` without pickle.

The fitted classifier (``estimator_``) is written with skops (``model.skops``), whose loader
rebuilds objects from a schema and does not execute code from the file; the rest (classes,
content columns, method, versions) is plain JSON (``model.json``). :func:`load_model` accepts
only types from scikit-learn, NumPy, SciPy and the Python builtins, and refuses a file that
asks for anything else. Both files are written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import sklearn
import skops.io as sio

from insights import __version__, _io
from insights.learning.crowd import CrowdClassifier

__all__ = ["save_model", "load_model", "MODEL_FILE", "META_FILE"]

MODEL_FILE = "model.skops"
META_FILE = "model.json"
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


def save_model(model: CrowdClassifier, directory: str | Path) -> dict[str, Path]:
    """Write ``model.skops`` and ``model.json`` into ``directory``; return their paths."""
    if not hasattr(model, "estimator_"):
        raise ValueError("save_model needs a fitted CrowdClassifier")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    with _io.atomic_path(out / MODEL_FILE) as tmp:
        sio.dump(model.estimator_, tmp)
    meta = {
        "classes": [str(c) for c in model.classes_],
        "method": model.method,
        "text_column": model.text_column,
        "feature_columns": list(model.feature_columns) if model.feature_columns else None,
        "n_splits": model.n_splits,
        "insights_version": __version__,
        "sklearn_version": sklearn.__version__,
    }
    _io.write_text(out / META_FILE, json.dumps(meta, indent=2) + "\n")
    return {"model": out / MODEL_FILE, "meta": out / META_FILE}


def load_model(directory: str | Path) -> CrowdClassifier:
    """Load a model saved by :func:`save_model` (predict-ready :class:`CrowdClassifier`).

    Raises
    ------
    FileNotFoundError
        ``model.skops`` or ``model.json`` is missing.
    ValueError
        The file asks for a type outside scikit-learn, NumPy, SciPy and the builtins.
    """
    d = Path(directory)
    for name in (MODEL_FILE, META_FILE):
        if not (d / name).exists():
            raise FileNotFoundError(f"{d / name}: not found; expected a directory written by "
                                    f"'insights learn'")
    meta = json.loads((d / META_FILE).read_text(encoding="utf-8"))
    untrusted = sio.get_untrusted_types(file=d / MODEL_FILE)
    bad = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if bad:
        raise ValueError(f"{d / MODEL_FILE}: refuses to load type {bad[0]!r}; only "
                         f"scikit-learn, NumPy, SciPy and builtin types are trusted")
    estimator = sio.load(d / MODEL_FILE, trusted=untrusted)
    model = CrowdClassifier(method=meta["method"], text_column=meta["text_column"],
                            feature_columns=meta["feature_columns"],
                            n_splits=meta.get("n_splits", 5))
    model.estimator_ = estimator
    model.classes_ = np.asarray(meta["classes"], dtype=object)
    return model
