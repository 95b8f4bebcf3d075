"""Data contract: loading, validation, fingerprinting and integer encoding.

The tables follow ``DESIGN.md`` (and the README's data-contract table):

``labels``
    one row per judgment. Required ``item_id``, ``annotator_id``, ``label``; optional
    ``market``, ``queue``, ``team``, ``labeled_at``, ``handle_seconds``, ``cost``.
``gold``
    trusted answers. Required ``item_id``, ``label``; optional ``source``, ``decided_at``.
``annotators``
    optional. ``annotator_id``, ``team``, ``market``, ``kind`` (``human``/``model``),
    ``cost_per_label``, ``capacity_per_day``.
``items``
    optional. ``item_id``, ``market``, ``queue``, ``created_at`` and content fields.

Other column names are mapped by the user (``columns=``). Every problem found in an input is
reported as a :class:`SchemaError` that names the file, the row, the column (as the user
named it), the value found and what was expected. Inputs are only ever read.

Modules: :mod:`~insights.data.contract` (the tables, errors, warnings),
:mod:`~insights.data.read` (CSV/Parquet to Arrow, column mapping, :func:`markets`),
:mod:`~insights.data.validation` (Arrow-compute validation), :mod:`~insights.data.repeats`
(the repeated-judgment policy), :mod:`~insights.data.encoding` (integer codes and the sparse
item x (annotator, label) incidence matrix every EM-style model iterates on),
:mod:`~insights.data.dataset` (:class:`Dataset`), :mod:`~insights.data.loading` (:func:`load`).
"""

from insights.data.contract import (
    ANNOTATOR_KINDS,
    GOLD_SOURCES,
    ID_COLUMNS,
    MISSING_LABELS,
    NUMBER_COLUMNS,
    OPTIONAL,
    REPEATS,
    REQUIRED,
    TABLES,
    TIME_COLUMNS,
    DuplicateJudgmentWarning,
    GoldClassNotJudgedWarning,
    GoldWithoutLabelsWarning,
    RepeatedJudgmentWarning,
    SchemaError,
)
from insights.data.dataset import Dataset, as_encoded, fingerprint_frames
from insights.data.encoding import Encoded, encode
from insights.data.loading import load, read_table
from insights.data.read import SUFFIXES, markets
from insights.data.repeats import RepeatStats
from insights.data.validation import (
    validate,
    validate_annotators,
    validate_gold,
    validate_items,
    validate_labels,
)

__all__ = [
    "ANNOTATOR_KINDS", "GOLD_SOURCES", "ID_COLUMNS", "MISSING_LABELS", "NUMBER_COLUMNS",
    "OPTIONAL", "REPEATS", "REQUIRED", "SUFFIXES", "TABLES", "TIME_COLUMNS",
    "SchemaError", "DuplicateJudgmentWarning", "RepeatedJudgmentWarning",
    "GoldWithoutLabelsWarning", "GoldClassNotJudgedWarning", "RepeatStats",
    "Dataset", "Encoded", "load", "markets", "read_table", "validate", "validate_labels",
    "validate_gold", "validate_annotators", "validate_items", "encode", "as_encoded",
    "fingerprint_frames",
]
