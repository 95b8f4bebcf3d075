"""The data contract: table kinds, their columns, and how problems are reported.

See the package docstring of :mod:`insights.data` and the README's data-contract table.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

__all__ = [
    "TABLES", "REQUIRED", "ID_COLUMNS", "TIME_COLUMNS", "NUMBER_COLUMNS", "OPTIONAL",
    "ANNOTATOR_KINDS", "GOLD_SOURCES", "REPEATS", "MISSING_LABELS",
    "SchemaError", "DuplicateJudgmentWarning", "RepeatedJudgmentWarning", "GoldWithoutLabelsWarning",
    "GoldClassNotJudgedWarning",
    "Names", "check_columns_mapping",
]

TABLES = ("labels", "gold", "annotators", "items")
REQUIRED = {
    "labels": ("item_id", "annotator_id", "label"),
    "gold": ("item_id", "label"),
    "annotators": ("annotator_id",),
    "items": ("item_id",),
}
ID_COLUMNS = {
    "labels": ("item_id", "annotator_id"),
    "gold": ("item_id",),
    "annotators": ("annotator_id",),
    "items": ("item_id",),
}
TIME_COLUMNS = {
    "labels": ("labeled_at",),
    "gold": ("decided_at",),
    "annotators": (),
    "items": ("created_at",),
}
NUMBER_COLUMNS = {
    "labels": ("handle_seconds", "cost"),
    "gold": (),
    "annotators": ("cost_per_label", "capacity_per_day"),
    "items": (),
}
#: Optional columns of each table that the package reads (any other column is kept, unused).
OPTIONAL = {
    "labels": ("market", "queue", "team", "labeled_at", "handle_seconds", "cost"),
    "gold": ("source", "decided_at"),
    "annotators": ("team", "market", "kind", "cost_per_label", "capacity_per_day"),
    "items": ("market", "queue", "created_at"),
}
ANNOTATOR_KINDS = ("human", "model")
GOLD_SOURCES = ("benchmark", "calibration", "arbitration")
#: Policies for an annotator who judged the same item more than once with different answers.
REPEATS = ("keep", "last", "first", "error")
#: Label strings that mean "no answer" (compared case-insensitively): a missing label is an
#: error naming the row, unless the declared label set lists the string as a class.
MISSING_LABELS = ("nan", "null", "none", "n/a", "#n/a", "<na>")


class SchemaError(ValueError):
    """An input table breaks the data contract.

    The message names where (file, row, column), what was found and what was expected.
    ``row`` is the 1-based data row (the header is not counted), so a CSV's row ``r`` is on
    line ``r + 1`` of the file. ``column`` is the column's name in the user's file (before
    any ``columns`` mapping).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
    ):
        super().__init__(message)
        self.source = source
        self.row = row
        self.column = column
        self.value = value


class DuplicateJudgmentWarning(UserWarning):
    """Identical repeated judgments (same item, annotator and label) were dropped."""


class RepeatedJudgmentWarning(UserWarning):
    """Annotators judged the same item more than once with different answers (all kept)."""


class GoldWithoutLabelsWarning(UserWarning):
    """Gold answers were given for items that nobody labeled (they are not used)."""


class GoldClassNotJudgedWarning(UserWarning):
    """A gold answer is a label no judgment uses: without a declared label set it becomes a
    class of its own (often a typo or another coding of the labels)."""


def where(source: str, row: int | None = None) -> str:
    """``source`` or ``source row 1,234``."""
    if row is None:
        return source
    return f"{source} row {row:,}"


def check_columns_mapping(columns: Mapping[str, str] | None) -> dict[str, str]:
    """Validate a ``columns`` mapping (contract name -> the user's column name).

    Raises
    ------
    SchemaError
        A key that is not a contract column (naming the closest one), an empty user name, or
        two contract columns mapped to the same user column.
    """
    if not columns:
        return {}
    known = sorted({c for kind in TABLES for c in (*REQUIRED[kind], *OPTIONAL[kind])}
                   | {"label"})
    out: dict[str, str] = {}
    for key, value in dict(columns).items():
        key, value = str(key).strip(), str(value).strip()
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SchemaError(f"columns: {key!r} is not a column of the data contract{hint}; "
                              f"expected one of {known}", column=key)
        if not value:
            raise SchemaError(f"columns: {key!r} is mapped to an empty column name", column=key)
        out[key] = value
    seen: dict[str, str] = {}
    for key, value in out.items():
        if value in seen:
            raise SchemaError(f"columns: {seen[value]!r} and {key!r} are both mapped to the "
                              f"column {value!r}; expected one contract column per column",
                              column=value)
        seen[value] = key
    return out


class Names:
    """The user's names of a table's contract columns, for messages (``columns`` mapping)."""

    def __init__(self, mapping: Mapping[str, str] | None = None):
        self.mapping = dict(mapping or {})

    def user(self, col: str) -> str:
        """The user's column name for contract column ``col``."""
        return self.mapping.get(col, col)

    def show(self, col: str) -> str:
        """``'worker'`` or, when mapped, ``'worker' (annotator_id)``, for messages."""
        user = self.mapping.get(col)
        if user is None or user == col:
            return repr(col)
        return f"{user!r} ({col})"
