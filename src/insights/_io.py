"""Output writing: atomic (a killed run never leaves a half-written file) and safe to open.

CSV outputs neutralize spreadsheet formulas ("CSV injection", OWASP): a text cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, so Excel,
LibreOffice or Google Sheets show it as text instead of running it. Numeric columns and text
cells that are plain numbers (``-1``, ``+0.5``, ``1e-3``) are left as they are; Parquet is
written untouched (it is typed, and no spreadsheet evaluates it).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    The temporary file lives in the same directory, so the final ``os.replace`` is atomic on
    POSIX file systems. On error the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are for sharing
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def neutralize_cell(value: object) -> object:
    """``"'" + value`` when ``value`` is a string a spreadsheet would run as a formula.

    Examples
    --------
    >>> neutralize_cell("=1+2"), neutralize_cell("@SUM(A1)"), neutralize_cell("-1")
    ("'=1+2", "'@SUM(A1)", '-1')
    >>> neutralize_cell(-1), neutralize_cell("ok")
    (-1, 'ok')
    """
    if (isinstance(value, str) and value.startswith(FORMULA_PREFIXES)
            and not _PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def neutralize_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names cannot run as spreadsheet formulas.

    Only text (object, string and categorical) columns are looked at, vectorized; numeric
    columns and text that is a plain number are untouched. ``df`` is not modified.
    """
    out = df.copy(deep=False)
    for j in range(df.shape[1]):
        col = df.iloc[:, j]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = col.cat.categories
            if cats.dtype.kind == "O" and any(neutralize_cell(c) is not c for c in cats):
                col = col.astype(object)
            else:
                continue
        elif not (col.dtype == object or isinstance(col.dtype, pd.StringDtype)):
            continue
        text = col.str  # NaN for non-strings in object columns
        hit = text.startswith(FORMULA_PREFIXES, na=False).to_numpy(dtype=bool)
        if not hit.any():
            continue
        fixed = col.astype(object).copy()
        fixed[hit] = [neutralize_cell(v) for v in col[hit]]
        out.isetitem(j, fixed.astype(col.dtype) if isinstance(col.dtype, pd.StringDtype)
                     else fixed)
    out.columns = [neutralize_cell(c) for c in df.columns]
    return out


def write_table(df: pd.DataFrame, path: str | Path, *, neutralize: bool = True) -> Path:
    """Write a table atomically as CSV or Parquet, chosen by the file suffix.

    CSV text cells that a spreadsheet would run as formulas are prefixed with ``'`` (see
    :func:`neutralize_formulas`; ``neutralize=False`` writes them raw, for files meant only
    for programs). Parquet is written as is. ``df`` is never modified.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix in (".parquet", ".pq"):
            # no dictionary pages for float columns (probabilities, scores: nearly all
            # distinct; Arrow would build a dictionary and drop it): 0.2 s less on 2M rows
            text_like = [str(c) for c, dt in df.dtypes.items() if dt.kind != "f"]
            df.to_parquet(tmp, index=False, use_dictionary=text_like)
        else:
            out = neutralize_formulas(df) if neutralize else df
            # The csv module quotes a field only if it holds a character of the line
            # terminator: with "\n", a carriage return inside a cell would be written bare and
            # split the row for every reader. Such tables are written with "\r\n" (RFC 4180).
            out.to_csv(tmp, index=False, lineterminator="\r\n" if _has_cr(out) else "\n")
    return path


def _has_cr(df: pd.DataFrame) -> bool:
    """Whether a text cell or column name of ``df`` holds a carriage return."""
    if any(isinstance(c, str) and "\r" in c for c in df.columns):
        return True
    for j in range(df.shape[1]):
        col = df.iloc[:, j]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = pd.Series(col.cat.categories)
        elif not (col.dtype == object or isinstance(col.dtype, pd.StringDtype)):
            continue
        if col.str.contains("\r", regex=False, na=False).any():
            return True
    return False
