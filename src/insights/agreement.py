"""Chance-corrected agreement: Cohen's kappa, Fleiss' kappa, Krippendorff's alpha (nominal).

All three work on integer codes and count matrices (``numpy.bincount`` / ``scipy.sparse``),
so a pool of a million judgments takes well under a second.

References
----------
Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and
Psychological Measurement 20(1), 37-46.
Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
Bulletin 76(5), 378-382.
Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Departmental papers
(ASC) 43, University of Pennsylvania.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import cohen_kappa_score

__all__ = [
    "cohen_kappa",
    "cohen_kappa_by_group",
    "fleiss_kappa",
    "krippendorff_alpha",
    "krippendorff_alpha_counts",
    "value_counts",
]


# --------------------------------------------------------------------------------------------
# Cohen
# --------------------------------------------------------------------------------------------
def _kappa_from_tables(tables: np.ndarray) -> np.ndarray:
    """Cohen's kappa of each (..., K, K) contingency table; ``nan`` where undefined."""
    n = tables.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        po = np.trace(tables, axis1=-2, axis2=-1) / n
        pe = np.sum(tables.sum(axis=-1) * tables.sum(axis=-2), axis=-1) / (n * n)
        kappa = (po - pe) / (1.0 - pe)
    # pe == 1 (both raters used one and the same class throughout): kappa is 0/0
    return np.where((n > 0) & (pe < 1.0 - 1e-12), kappa, np.nan)


def cohen_kappa(a, b, *, labels=None) -> float:
    r"""Cohen's kappa between two raters' labels on the same items.

    .. math:: \kappa = \frac{p_o - p_e}{1 - p_e},\quad
              p_e = \sum_k \frac{n_{k\cdot}\, n_{\cdot k}}{n^2}

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Labels of the two raters, aligned by item (any hashable values).
    labels : sequence, optional
        Restrict to pairs where both labels are in this set (as
        ``sklearn.metrics.cohen_kappa_score`` does).

    Returns
    -------
    float
        ``nan`` when there are no pairs or when chance agreement is 1 (both raters used one
        and the same class for every item).

    Notes
    -----
    The value is ``sklearn.metrics.cohen_kappa_score`` on the integer codes of the labels
    (after the ``labels`` filter); :func:`cohen_kappa_by_group` computes the same statistic
    for many groups at once from one ``bincount`` (tested equal to scikit-learn per group).
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"cohen_kappa needs two 1-D arrays of equal length, got {a.shape} "
                         f"and {b.shape}")
    codes, uniques = pd.factorize(np.concatenate([a, b]), sort=True)
    ca, cb = codes[: len(a)], codes[len(a):]
    if labels is not None:
        keep_vals = pd.Index(uniques).isin(list(labels))
        keep = keep_vals[ca] & keep_vals[cb]
        ca, cb = ca[keep], cb[keep]
    if len(ca) == 0:
        return float("nan")
    if ca.min() == ca.max() == cb.min() == cb.max():
        return float("nan")  # one class throughout: chance agreement 1, kappa is 0/0
    return float(cohen_kappa_score(ca, cb))


def cohen_kappa_by_group(group, a, b, n_groups: int, n_classes: int) -> np.ndarray:
    """Cohen's kappa between ``a`` and ``b`` within each group, in one ``bincount``.

    Parameters
    ----------
    group : array_like of int, shape (n,)
        Group code of each pair (e.g. the annotator of each judgment), in ``[0, n_groups)``.
    a, b : array_like of int, shape (n,)
        Class codes in ``[0, n_classes)`` (e.g. the judgment and the consensus label).
    n_groups, n_classes : int

    Returns
    -------
    numpy.ndarray, shape (n_groups,)
        ``nan`` for groups with no pairs or with chance agreement 1.
    """
    g = np.asarray(group, dtype=np.int64)
    idx = (g * n_classes + np.asarray(a, dtype=np.int64)) * n_classes + np.asarray(b, np.int64)
    tables = np.bincount(idx, minlength=n_groups * n_classes * n_classes)
    tables = tables.reshape(n_groups, n_classes, n_classes).astype(np.float64)
    return _kappa_from_tables(tables)


# --------------------------------------------------------------------------------------------
# count matrices
# --------------------------------------------------------------------------------------------
def value_counts(item, label, n_items: int | None = None,
                 n_classes: int | None = None) -> sp.csr_matrix:
    """Sparse items x classes matrix of how many times each item got each class."""
    item = np.asarray(item, dtype=np.int64)
    label = np.asarray(label, dtype=np.int64)
    n_items = int(item.max()) + 1 if n_items is None else n_items
    n_classes = int(label.max()) + 1 if n_classes is None else n_classes
    m = sp.csr_matrix((np.ones(len(item)), (item, label)), shape=(n_items, n_classes))
    m.sum_duplicates()
    return m


def _row_stats(counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row total, per-row sum of squared counts, per-column total."""
    if sp.issparse(counts):
        c = sp.csr_matrix(counts, dtype=np.float64)
        n_i = np.asarray(c.sum(axis=1)).ravel()
        sq_i = np.asarray(c.multiply(c).sum(axis=1)).ravel()
        col = np.asarray(c.sum(axis=0)).ravel()
    else:
        c = np.asarray(counts, dtype=np.float64)
        if c.ndim != 2:
            raise ValueError(f"counts must be a 2-D items x classes matrix, got shape {c.shape}")
        n_i = c.sum(axis=1)
        sq_i = (c * c).sum(axis=1)
        col = c.sum(axis=0)
    if np.any(n_i < 0):
        raise ValueError("counts must be non-negative")
    return n_i, sq_i, col


# --------------------------------------------------------------------------------------------
# Fleiss
# --------------------------------------------------------------------------------------------
def fleiss_kappa(counts) -> float:
    r"""Fleiss' kappa from an items x categories count matrix.

    For item :math:`i` with :math:`n_i` ratings, of which :math:`n_{ik}` are category
    :math:`k`,

    .. math::

        P_i = \frac{\sum_k n_{ik}^2 - n_i}{n_i(n_i - 1)},\quad
        \bar P = \operatorname{mean}_i P_i,\quad
        p_k = \frac{\sum_i n_{ik}}{\sum_i n_i},\quad
        \kappa = \frac{\bar P - \sum_k p_k^2}{1 - \sum_k p_k^2}.

    With a constant number of raters per item this is exactly Fleiss (1971). With a varying
    number (crowd data), this is the usual generalisation: each item's pairwise agreement
    :math:`P_i` uses its own :math:`n_i`, items count equally in :math:`\bar P`, and the
    category shares are pooled over all ratings. Items with fewer than two ratings carry no
    pair and are dropped. For data with many missing ratings prefer
    :func:`krippendorff_alpha`, which weights units by their number of pairable values.

    Parameters
    ----------
    counts : array_like or scipy.sparse matrix, shape (n_items, n_categories)

    Returns
    -------
    float
        ``nan`` when no item has two ratings or only one category is ever used.

    Examples
    --------
    The worked example of Fleiss (1971) as given on Wikipedia (10 items, 14 raters):

    >>> import numpy as np
    >>> counts = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6],
    ...                    [0, 3, 9, 2, 0], [2, 2, 8, 1, 1], [7, 7, 0, 0, 0],
    ...                    [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0],
    ...                    [0, 2, 2, 3, 7]])
    >>> round(fleiss_kappa(counts), 3)
    0.21
    """
    n_i, sq_i, _ = _row_stats(counts)
    keep = n_i >= 2
    if not keep.any():
        return float("nan")
    if sp.issparse(counts):
        col = np.asarray(sp.csr_matrix(counts)[np.flatnonzero(keep)].sum(axis=0)).ravel()
    else:
        col = np.asarray(counts, dtype=np.float64)[keep].sum(axis=0)
    n_i, sq_i = n_i[keep], sq_i[keep]
    p_i = (sq_i - n_i) / (n_i * (n_i - 1.0))
    p_bar = p_i.mean()
    p_k = col / col.sum()
    p_e = float(np.sum(p_k * p_k))
    if p_e >= 1.0 - 1e-12:
        return float("nan")
    return float((p_bar - p_e) / (1.0 - p_e))


# --------------------------------------------------------------------------------------------
# Krippendorff
# --------------------------------------------------------------------------------------------
def krippendorff_alpha_counts(counts) -> float:
    r"""Nominal Krippendorff's alpha from a units x values count matrix.

    Following Krippendorff (2011): with :math:`m_u` pairable values in unit :math:`u`
    (units with :math:`m_u < 2` are dropped), the coincidence matrix is
    :math:`o_{ck} = \sum_u n_{uc} n_{uk} / (m_u - 1)` for :math:`c \ne k`; its margins are
    :math:`n_c = \sum_u n_{uc}`, :math:`n = \sum_c n_c`, and for the nominal metric

    .. math::

        \alpha = 1 - (n - 1)\,
        \frac{\sum_u (m_u^2 - \sum_c n_{uc}^2)/(m_u - 1)}{n^2 - \sum_c n_c^2}.

    Parameters
    ----------
    counts : array_like or scipy.sparse matrix, shape (n_units, n_values)

    Returns
    -------
    float
        ``nan`` when fewer than two pairable values exist or only one value is ever used.
    """
    m_u, sq_u, _ = _row_stats(counts)
    keep = m_u >= 2
    if not keep.any():
        return float("nan")
    if sp.issparse(counts):
        n_c = np.asarray(sp.csr_matrix(counts)[np.flatnonzero(keep)].sum(axis=0)).ravel()
    else:
        n_c = np.asarray(counts, dtype=np.float64)[keep].sum(axis=0)
    m_u, sq_u = m_u[keep], sq_u[keep]
    d_o = np.sum((m_u * m_u - sq_u) / (m_u - 1.0))
    n = n_c.sum()
    d_e = n * n - np.sum(n_c * n_c)
    if d_e <= 0:
        return float("nan")
    return float(1.0 - (n - 1.0) * d_o / d_e)


def _is_missing(values: np.ndarray, missing: Any) -> np.ndarray:
    mask = pd.isna(values)
    if missing is not None:
        mask |= values == missing
    return np.asarray(mask, dtype=bool)


def krippendorff_alpha(data, *, missing: Any = None) -> float:
    """Nominal Krippendorff's alpha of a reliability matrix, a long table or an encoding.

    Parameters
    ----------
    data : one of
        - 2-D array_like, shape (n_coders, n_units): the reliability matrix of Krippendorff
          (2011), missing values as ``nan``/``None`` (or ``missing``);
        - pandas.DataFrame in long form with columns ``item_id`` and ``label`` (one row per
          judgment; ``annotator_id`` may be present and is not needed for the nominal metric);
        - :class:`insights.data.Encoded` (uses its item x class vote counts).
    missing : scalar, optional
        An extra value meaning "not coded" in a reliability matrix (e.g. ``"*"`` or ``-1``).

    Returns
    -------
    float

    See Also
    --------
    krippendorff_alpha_counts : the formula, on a units x values count matrix.

    Examples
    --------
    Krippendorff (2011), 4 observers x 12 units with missing values:

    >>> import numpy as np
    >>> nan = np.nan
    >>> data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    >>> round(krippendorff_alpha(data), 3)
    0.743
    """
    from insights.data import Encoded  # local: keep this module importable on its own

    if isinstance(data, Encoded):
        return krippendorff_alpha_counts(data.item_counts)
    if isinstance(data, pd.DataFrame):
        for col in ("item_id", "label"):
            if col not in data.columns:
                raise ValueError(f"krippendorff_alpha: long table needs column {col!r}; "
                                 f"columns are {list(data.columns)}")
        lab = data["label"].to_numpy()
        ok = ~_is_missing(lab, missing)
        item, _ = pd.factorize(data["item_id"].to_numpy()[ok])
        label, _ = pd.factorize(lab[ok])
        return krippendorff_alpha_counts(value_counts(item, label))
    arr = np.asarray(data, dtype=object)
    if arr.ndim != 2:
        raise ValueError(f"krippendorff_alpha: reliability matrix must be 2-D "
                         f"(coders x units), got shape {arr.shape}")
    units = np.broadcast_to(np.arange(arr.shape[1]), arr.shape).ravel()
    vals = arr.ravel()
    ok = ~_is_missing(vals, missing)
    if not ok.any():
        return float("nan")
    label, _ = pd.factorize(vals[ok])
    return krippendorff_alpha_counts(value_counts(units[ok], label, n_items=arr.shape[1]))
