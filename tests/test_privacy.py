"""Keyed pseudonyms (insights.privacy): stable, secret-keyed, collision-checked, key handled safely."""

from __future__ import annotations

import logging
import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from insights import privacy
from insights.data import Dataset

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@pytest.fixture(autouse=True)
def _isolated_key_env(tmp_path, monkeypatch):
    """No key from the developer's environment or home directory leaks into a test."""
    monkeypatch.delenv(privacy.ENV_KEY, raising=False)
    monkeypatch.delenv(privacy.ENV_KEY_FILE, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_stable_under_one_key_different_under_another():
    ids = [f"worker_{i}" for i in range(50)]
    a = [privacy.pseudonym(i, KEY) for i in ids]
    assert a == [privacy.pseudonym(i, KEY) for i in ids]
    b = [privacy.pseudonym(i, OTHER_KEY) for i in ids]
    assert not set(a) & set(b)
    assert len(set(a)) == len(ids)


def test_64_bits_is_16_hex_digits_and_matches_hmac_sha256():
    import hashlib
    import hmac

    p = privacy.pseudonym("alice", KEY)
    assert p.startswith("ann-") and len(p) == 4 + 16
    int(p[4:], 16)
    # the definition, computed independently with the standard library
    assert p[4:] == hmac.new(KEY, b"alice", hashlib.sha256).hexdigest()[:16]
    assert len(privacy.pseudonym("alice", KEY, bits=128)) == 4 + 32


@pytest.mark.parametrize("bits", [0, 3, 62, 260, True])
def test_bad_bits_are_refused(bits):
    with pytest.raises(ValueError, match="bits"):
        privacy.pseudonym("a", KEY, bits=bits)


def test_short_or_missing_key_is_refused():
    with pytest.raises(ValueError, match="at least 16"):
        privacy.pseudonym("a", b"short")
    with pytest.raises(TypeError):
        privacy.pseudonym("a", "not-bytes")  # type: ignore[arg-type]


def test_map_covers_distinct_ids_and_forced_collision_raises():
    m = privacy.pseudonym_map(["b", "a", "b", 3], KEY)
    assert list(m) == ["b", "a", "3"]
    assert m["a"] == privacy.pseudonym("a", KEY)
    ids = [f"secret-name-{i}" for i in range(100)]
    # 100 ids into 16 pseudonyms (4 bits): a collision is certain (pigeonhole)
    with pytest.raises(privacy.PseudonymCollision) as err:
        privacy.pseudonym_map(ids, KEY, bits=4)
    msg = str(err.value)
    assert "100 distinct" in msg
    assert not any(i in msg for i in ids)


def test_pseudonymize_replaces_ids_and_keeps_the_rest():
    labels = pd.DataFrame({"item_id": ["i1", "i1", "i2"], "annotator_id": ["alice", "bob", "alice"],
                           "label": ["ok", "spam", "ok"]})
    annotators = pd.DataFrame({"annotator_id": ["alice", "bob", "carol"],
                               "team": ["t1", "t2", "t2"]})
    gold = pd.DataFrame({"item_id": ["i1"], "label": ["ok"]})
    ds = Dataset(labels=labels, gold=gold, annotators=annotators, label_set=["ok", "spam"],
                 fingerprint="abc", sources={"labels": "x.csv"})
    before = labels.copy()
    out = privacy.pseudonymize(ds, KEY)
    pd.testing.assert_frame_equal(labels, before)  # input untouched
    m = privacy.pseudonym_map(["alice", "bob", "carol"], KEY)
    assert out.labels["annotator_id"].tolist() == [m["alice"], m["bob"], m["alice"]]
    assert out.annotators["annotator_id"].tolist() == [m["alice"], m["bob"], m["carol"]]
    pd.testing.assert_frame_equal(out.labels.drop(columns="annotator_id"),
                                  labels.drop(columns="annotator_id"))
    assert out.fingerprint == "abc" and out.label_set == ["ok", "spam"]
    assert out.sources == {"labels": "x.csv"} and out.gold is gold


def test_scrub_replaces_every_id_longest_first():
    m = {"bob": "ann-1111", "bob2": "ann-2222", "n": "ann-3333"}
    text = "id 'bob2' vs bob; see bob2"
    assert privacy.scrub(text, m) == "id 'ann-2222' vs ann-1111; see ann-2222"
    # one pass: the "n" inside an inserted pseudonym ("ann-") is not rewritten again
    assert privacy.scrub("n/bob", m) == "ann-3333/ann-1111"
    assert privacy.scrub("nothing here", {}) == "nothing here"


# --------------------------------------------------------------------------------------------
# the key
# --------------------------------------------------------------------------------------------
def test_key_file_created_once_with_mode_0600_and_reused(tmp_path):
    path = tmp_path / "cfg" / "pseudonym.key"
    k1 = privacy.load_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(k1) == 32
    mtime = path.stat().st_mtime_ns
    assert privacy.load_key(path) == k1
    assert path.stat().st_mtime_ns == mtime
    assert [p.name for p in path.parent.iterdir()] == ["pseudonym.key"]  # no temp left


def test_default_and_env_key_file(tmp_path, monkeypatch):
    k = privacy.load_key()
    default = tmp_path / "home" / ".config" / "insights" / "pseudonym.key"
    assert default.exists() and privacy.load_key() == k
    other = tmp_path / "other.key"
    monkeypatch.setenv(privacy.ENV_KEY_FILE, str(other))
    assert privacy.load_key() != k and other.exists()


def test_env_hex_key_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(privacy.ENV_KEY, OTHER_KEY.hex())
    assert privacy.load_key(tmp_path / "unused.key") == OTHER_KEY
    assert not (tmp_path / "unused.key").exists()


def test_concurrent_first_use_makes_one_key(tmp_path):
    path = tmp_path / "race.key"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: privacy.load_key(path), range(16)))
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["race.key"]


def test_group_readable_key_file_is_refused(tmp_path):
    path = tmp_path / "k.key"
    privacy.load_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(privacy.PseudonymKeyError, match="chmod 600") as err:
        privacy.load_key(path)
    assert path.read_text().strip() not in str(err.value)


def test_key_never_in_repr_logs_or_errors(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG, logger="insights")
    path = tmp_path / "k.key"
    key = privacy.load_key(path)
    secret = key.hex()
    assert secret not in repr(key) and secret not in str(key)
    assert repr(bytes(key)) not in repr(key)
    assert "created a new pseudonym key file" in caplog.text
    assert secret not in caplog.text
    # malformed keys: the error says where the key came from, never what it is
    for bad in ["zz" + secret[2:], secret[:20]]:
        monkeypatch.setenv(privacy.ENV_KEY, bad)
        with pytest.raises(privacy.PseudonymKeyError) as err:
            privacy.load_key()
        assert privacy.ENV_KEY in str(err.value)
        assert bad not in str(err.value) and bad[2:12] not in str(err.value)
    monkeypatch.delenv(privacy.ENV_KEY)
    path.write_text("not hex " + secret)
    with pytest.raises(privacy.PseudonymKeyError) as err:
        privacy.load_key(path)
    assert secret not in str(err.value)


def test_pseudonymize_categorical_ids_and_annotators_only_ids():
    labels = pd.DataFrame({"item_id": ["i1", "i2"], "label": ["ok", "ok"],
                           "annotator_id": pd.Categorical(["x", "y"])})
    annotators = pd.DataFrame({"annotator_id": ["z", "x"]})  # z has no labels
    out = privacy.pseudonymize(Dataset(labels=labels, annotators=annotators), KEY)
    assert out.labels["annotator_id"].tolist() == [privacy.pseudonym(i, KEY) for i in "xy"]
    assert out.annotators["annotator_id"].tolist() == [privacy.pseudonym(i, KEY) for i in "zx"]


def test_pseudonymize_refuses_short_pseudonyms():
    labels = pd.DataFrame({"item_id": ["i1"], "annotator_id": ["a"], "label": ["ok"]})
    with pytest.raises(ValueError, match="bits >= 64"):
        privacy.pseudonymize(Dataset(labels=labels), KEY, bits=32)
    assert privacy.pseudonymize(Dataset(labels=labels), KEY, bits=128).labels[
        "annotator_id"].str.len().iat[0] == 4 + 32
