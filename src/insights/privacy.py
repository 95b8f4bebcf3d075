"""Keyed pseudonyms for annotator ids.

A report shows annotators as ``ann-<hex>``: the first ``bits`` bits of
HMAC-SHA256(key, id) (Bellare, Canetti & Krawczyk 1996; RFC 2104). Without the secret key, a
list of candidate names does not reveal who is who -- unlike the scheme this replaces,
``sha256(public salt + id)`` truncated to 32 bits, which anyone holding a name list could
reverse by hashing every candidate.

The key comes from the environment variable :data:`ENV_KEY` (hex), else from a key file
(:data:`ENV_KEY_FILE`, else :data:`DEFAULT_KEY_FILE`) that is created once with
:func:`secrets.token_bytes` and mode 0600. The key is never printed, logged or put into an
exception message; :func:`load_key` returns it as :class:`SecretKey`, a ``bytes`` whose
``repr`` hides the value.

Examples
--------
>>> key = bytes(32)                      # a real key comes from load_key()
>>> pseudonym("alice", key)
'ann-ce3837f76a54a635'
>>> pseudonym("alice", key, bits=128) == pseudonym("alice", key)
False
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from insights.data import Dataset

__all__ = [
    "DEFAULT_KEY_FILE",
    "ENV_KEY",
    "ENV_KEY_FILE",
    "MIN_KEY_BYTES",
    "PseudonymCollision",
    "PseudonymKeyError",
    "SecretKey",
    "load_key",
    "pseudonym",
    "pseudonym_map",
    "pseudonymize",
    "scrub",
]

logger = logging.getLogger(__name__)

ENV_KEY = "INSIGHTS_PSEUDONYM_KEY"
ENV_KEY_FILE = "INSIGHTS_PSEUDONYM_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/insights/pseudonym.key")
#: Shortest key accepted (128 bits); generated keys are 32 bytes.
MIN_KEY_BYTES = 16
_PREFIX = "ann-"


class PseudonymCollision(ValueError):
    """Two distinct ids got the same pseudonym (the message names no raw id)."""


class PseudonymKeyError(ValueError):
    """The pseudonym key is missing, malformed or stored insecurely."""


class SecretKey(bytes):
    """The pseudonym key: plain ``bytes`` whose ``repr``/``str`` never show the value."""

    def __repr__(self) -> str:
        return f"SecretKey(<{len(self)} bytes, hidden>)"

    __str__ = __repr__


def _parse_hex(text: str, where: str) -> SecretKey:
    """Hex text -> key; errors say where the key came from, never what it is."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise PseudonymKeyError(f"{where} does not hold a hex string (expected {2 * 32} hex digits, "
                        f"as written by insights.privacy.load_key)") from None
    if len(raw) < MIN_KEY_BYTES:
        raise PseudonymKeyError(f"{where} holds a key of {len(raw)} bytes; at least {MIN_KEY_BYTES} "
                        f"bytes ({2 * MIN_KEY_BYTES} hex digits) are required")
    return SecretKey(raw)


def _key_path(key_file: str | Path | None) -> Path:
    if key_file is not None and str(key_file) != "":
        return Path(key_file).expanduser()
    env = os.environ.get(ENV_KEY_FILE, "")
    if env:
        return Path(env).expanduser()
    return DEFAULT_KEY_FILE.expanduser()


def _read_key_file(path: Path) -> SecretKey:
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise PseudonymKeyError(f"pseudonym key file {path} is not a regular file")
    if os.name == "posix" and st.st_mode & 0o077:
        raise PseudonymKeyError(
            f"pseudonym key file {path} is readable or writable by group/others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); run `chmod 600 {path}` or use a new key file")
    # An empty file can only be seen for an instant if another process crashed while
    # creating it without the link below; report it rather than guessing.
    return _parse_hex(path.read_text(encoding="ascii", errors="replace"),
                      f"pseudonym key file {path}")


def _create_key_file(path: Path) -> bool:
    """Create ``path`` holding a fresh key, mode 0600; False if it already exists.

    The key is written to a private temporary file (``O_CREAT | O_EXCL``, mode 0600) and
    hard-linked to ``path``; ``link`` fails if ``path`` exists, so two processes racing here
    never produce two keys and nobody ever reads a half-written file.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_bytes(32).hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: fall back to O_EXCL on the target
            try:
                fd2 = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return False
            with os.fdopen(fd2, "w", encoding="ascii") as fh:
                fh.write(tmp.read_text(encoding="ascii"))
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def load_key(key_file: str | Path | None = None) -> SecretKey:
    """The secret pseudonym key.

    Resolution order: the environment variable ``INSIGHTS_PSEUDONYM_KEY`` (hex, at least
    16 bytes) wins; otherwise the key file ``key_file``, else the file named by
    ``INSIGHTS_PSEUDONYM_KEY_FILE``, else ``~/.config/insights/pseudonym.key``. A missing key
    file is created once with :func:`secrets.token_bytes` (32 bytes, stored as hex) and mode
    0600; later calls reuse it, so pseudonyms are stable across runs.

    Parameters
    ----------
    key_file : str or Path, optional
        Key file to use instead of the environment/default one (``""`` = default).

    Returns
    -------
    SecretKey
        ``bytes`` whose ``repr`` hides the value.

    Raises
    ------
    PseudonymKeyError
        (a ValueError) The key is not hex or too short, or the key file is readable by group/others or is
        not a regular file. The message names the source of the key, never the key.
    """
    env = os.environ.get(ENV_KEY)
    if env:
        return _parse_hex(env, f"environment variable {ENV_KEY}")
    path = _key_path(key_file)
    for attempt in range(3):
        if path.exists():
            return _read_key_file(path)
        if _create_key_file(path):
            logger.info("created a new pseudonym key file %s (mode 0600); keep it to keep "
                        "pseudonyms stable across runs", path)
            return _read_key_file(path)
        time.sleep(0.01 * (attempt + 1))  # lost a creation race; the winner's file is there
    return _read_key_file(path)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray):
        raise TypeError(f"key must be bytes (from insights.privacy.load_key), "
                        f"not {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"key has {len(key)} bytes; at least {MIN_KEY_BYTES} are required")


def _check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 4 <= bits <= 256 or bits % 4:
        raise ValueError(f"bits must be a multiple of 4 in [4, 256] (reports use >= 64), "
                         f"got {bits!r}")
    return bits // 4


def pseudonym(annotator_id: str, key: bytes, *, bits: int = 64) -> str:
    """Keyed pseudonym of one id.

    ``"ann-"`` + the first ``bits`` bits (``bits / 4`` hex digits) of
    HMAC-SHA256(``key``, UTF-8 of ``str(annotator_id)``).

    Parameters
    ----------
    annotator_id : str
    key : bytes
        Secret key, see :func:`load_key`.
    bits : int, default 64
        Multiple of 4 in [4, 256]. With ``n`` ids the chance of any collision is about
        ``n**2 / 2**(bits + 1)`` (birthday bound): 64 bits keeps it below 1e-8 for 500k ids.
    """
    digits = _check_bits(bits)
    _check_key(key)
    mac = hmac.new(bytes(key), str(annotator_id).encode("utf-8"), hashlib.sha256)
    return _PREFIX + mac.hexdigest()[:digits]


def pseudonym_map(ids: Iterable[str], key: bytes, *, bits: int = 64) -> dict[str, str]:
    """``id -> pseudonym`` for the distinct ids (as strings), collision-checked.

    Raises
    ------
    PseudonymCollision
        Two distinct ids map to one pseudonym; the message gives the count, not the ids
        (raise ``bits`` or use another key).
    """
    digits = _check_bits(bits)
    _check_key(key)
    col = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    distinct = pd.unique(col.astype(str)).tolist()  # in order of first appearance
    base = hmac.new(bytes(key), digestmod=hashlib.sha256)  # key schedule once, copied per id
    mapping = {}
    for raw in distinct:
        h = base.copy()
        h.update(raw.encode("utf-8"))
        mapping[raw] = _PREFIX + h.hexdigest()[:digits]
    n_distinct = len(set(mapping.values()))
    if n_distinct != len(mapping):
        raise PseudonymCollision(
            f"{len(mapping) - n_distinct} pseudonym collision(s) among {len(mapping)} distinct "
            f"annotator ids at {bits} bits; use more bits (>= 64) or another key")
    return mapping


def pseudonymize(ds: Dataset, key: bytes, *, bits: int = 64) -> Dataset:
    """The dataset with annotator ids replaced by keyed pseudonyms.

    Ids are replaced in the ``labels`` and ``annotators`` tables (as strings); ``gold``,
    ``items``, ``label_set``, ``fingerprint`` and ``sources`` are carried over unchanged. The
    input dataset is not modified.

    ``bits`` must be at least 64 here (the dataset is meant to be shared; shorter pseudonyms
    are for tests and demonstrations through :func:`pseudonym_map`).

    Raises
    ------
    PseudonymCollision
        See :func:`pseudonym_map`.
    """
    import pyarrow as pa

    if _check_bits(bits) < 16:
        raise ValueError(f"pseudonymize needs bits >= 64 (shared outputs), got {bits}")

    from insights import data as _data

    # one factorize of the big labels column; the HMACs run on its distinct ids only
    lab_codes, lab_ids = pd.factorize(ds.labels["annotator_id"].astype(str))
    lab_ids = [str(u) for u in lab_ids.tolist()]
    ann_ids = []
    if ds.annotators is not None and "annotator_id" in ds.annotators:
        ann_ids = ds.annotators["annotator_id"].astype(str).tolist()
    mapping = pseudonym_map(pd.Series(lab_ids + ann_ids, dtype=object), key, bits=bits)

    def _column(codes: np.ndarray, ids: list[str], index: pd.Index) -> pd.Series:
        table = pa.array([mapping[u] for u in ids], pa.large_string())
        taken = table.take(pa.array(codes, mask=codes < 0))  # missing id -> missing
        return pd.Series(taken, index=index, dtype="str")

    labels = ds.labels.assign(annotator_id=_column(lab_codes, lab_ids, ds.labels.index))
    annotators = ds.annotators
    if ann_ids:
        codes, ids = pd.factorize(annotators["annotator_id"].astype(str))
        annotators = annotators.assign(annotator_id=_column(
            codes, [str(u) for u in ids.tolist()], annotators.index))
    return _data.Dataset(labels=labels, gold=ds.gold, annotators=annotators,
                         items=ds.items, label_set=list(ds.label_set),
                         fingerprint=ds.fingerprint, sources=dict(ds.sources))


def scrub(text: str, mapping: Mapping[str, str]) -> str:
    """Replace every raw id of ``mapping`` found in ``text`` by its pseudonym.

    Ids are matched as plain substrings, longest first, in one pass (so an id that is a part of
    a longer id, or of an inserted pseudonym, is never half-replaced). Use it on anything shown
    to readers that may quote data, e.g. an error message on a report's error page.

    Examples
    --------
    >>> scrub("annotator bob2 and bob", {"bob": "ann-1", "bob2": "ann-2"})
    'annotator ann-2 and ann-1'
    """
    if not text:
        return text
    # only the ids present (a fast substring test each) go into the pattern, longest first
    ids = sorted((str(i) for i in mapping if str(i) and str(i) in text), key=len, reverse=True)
    if not ids:
        return text
    ids_set = set(ids)
    table = {str(k): v for k, v in mapping.items() if str(k) in ids_set}
    pattern = re.compile("|".join(re.escape(i) for i in ids))
    return pattern.sub(lambda m: table[m.group(0)], text)
