"""The SQLite task store and atomic files: rows are whole or absent, JSON is canonical."""
import json
import math
import os
import sqlite3

import pytest

from verified_pgd.store import (Store, atomic_write, canonical_json, config_hash, finite_or_none,
                                task_key)

SPEC = {"problem": {"k": 2}, "solver": {"eta": 0.1}, "seed": 5}


def test_put_get_roundtrip_and_keys(tmp_path):
    result = {"theta": [0.1, 1e-300, 2.0 / 3.0], "hit_step": [3, -1]}
    with Store(tmp_path / "s.sqlite") as st:
        key = st.put(SPEC, result)
        assert st.finished_keys() == {key} and st.count() == 1
        assert st.get(key) == result
        assert st.get_text(key) == canonical_json(result)
        # floats survive exactly (repr round trip)
        assert st.get(key)["theta"][2] == 2.0 / 3.0
    with Store(tmp_path / "s.sqlite") as st:   # persisted
        assert st.count() == 1
    assert task_key(SPEC) != task_key({**SPEC, "seed": 6})
    assert config_hash(SPEC) == config_hash({**SPEC, "seed": 6})
    assert task_key(SPEC) == task_key(json.loads(json.dumps(SPEC, sort_keys=False)))


def test_canonical_json_refuses_nan_and_finite_or_none_fixes_it():
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})
    assert finite_or_none({"x": [math.inf, 1.0, (math.nan,)]}) == {"x": [None, 1.0, [None]]}
    assert canonical_json({"b": 1, "a": [1.5]}) == '{"a":[1.5],"b":1}'


def test_uncommitted_transaction_leaves_no_row(tmp_path):
    """A transaction that never commits (the process dies) leaves nothing behind."""
    path = tmp_path / "s.sqlite"
    with Store(path) as st:
        st.put(SPEC, {"ok": 1})
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO tasks VALUES ('half', 'h', 1, '{}', '{\"partial', 'c')")
    # no COMMIT: simulate the death of the writer by closing without committing
    conn.close()
    with Store(path) as st:
        assert st.finished_keys() == {task_key(SPEC)}


def test_corrupt_store_is_a_one_line_oserror(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OSError, match="^db: "):
        Store(bad)
    with pytest.raises(OSError, match="^db: directory"):
        Store(tmp_path / "missing" / "s.sqlite")


def test_atomic_write_replaces_whole_file_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    atomic_write(target, "old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 != 0o600   # not mkstemp's private mode

    # a failure while writing keeps the old file and leaves no temporary behind
    def failing(fd):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "partial")
    monkeypatch.undo()
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_edited_row_is_refused_naming_the_task(tmp_path):
    """An edited number in a stored result fails its checksum; the message names the task.
    Negative control: the untouched row verifies."""
    path = tmp_path / "s.sqlite"
    with Store(path) as st:
        key = st.put(SPEC, {"loss": [0.25]})
        assert st.verify() == 1 and st.get(key) == {"loss": [0.25]}
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("UPDATE tasks SET result = '{\"loss\":[0.5]}'")
    conn.close()
    with Store(path) as st:
        with pytest.raises(OSError, match=f"task {key[:16]} is damaged"):
            st.get(key)
        with pytest.raises(OSError, match="checksum"):
            st.verify()


def test_corrupted_page_is_one_line(tmp_path):
    """Garbage over the table pages of a valid store: a one-line StoreError, not a
    sqlite3.DatabaseError traceback."""
    path = tmp_path / "s.sqlite"
    with Store(path) as st:
        for i in range(50):
            st.put({**SPEC, "seed": i}, {"x": list(range(50))})
    data = bytearray(path.read_bytes())
    page = 4096
    for off in range(page, len(data), page):       # keep page 1 (the header)
        data[off:off + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(OSError) as info:
        with Store(path) as st:
            st.verify()
    assert str(info.value).startswith("db: ") and "\n" not in str(info.value)
