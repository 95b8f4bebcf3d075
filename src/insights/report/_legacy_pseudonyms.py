"""Salted sha256 pseudonyms, used only until :mod:`insights.privacy` (keyed HMAC) is present.

The salt is public, so these pseudonyms can be reversed with a list of candidate ids: the
report prefers :func:`insights.privacy.pseudonymize` whenever it can be imported.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from insights import data as _data

SALT = "insights-reports"


def pseudonymize_salted(ds: _data.Dataset, salt: str = SALT) -> _data.Dataset:
    ids = pd.unique(pd.concat([
        ds.labels["annotator_id"],
        *([] if ds.annotators is None else [ds.annotators["annotator_id"]]),
    ]).astype(str))
    mapping = {a: "ann-" + hashlib.sha256((salt + a).encode()).hexdigest()[:8] for a in ids}
    labels = ds.labels.assign(annotator_id=ds.labels["annotator_id"].astype(str).map(mapping))
    annotators = None if ds.annotators is None else ds.annotators.assign(
        annotator_id=ds.annotators["annotator_id"].astype(str).map(mapping))
    return _data.Dataset(labels=labels, gold=ds.gold, annotators=annotators, items=ds.items,
                         label_set=ds.label_set, fingerprint=ds.fingerprint, sources=ds.sources)
