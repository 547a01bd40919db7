"""Sweep store: one SQLite row per finished task, each written in its own transaction.

A task is identified by ``key = sha256(canonical JSON of its spec)`` (the spec includes the
seed); the row holds the spec, the seed and the result as canonical JSON text.  A row
exists only once its transaction has committed, so a process killed at any moment
(SIGKILL included) leaves either the complete row or nothing: SQLite's rollback journal
undoes an interrupted transaction the next time the file is opened.  ``--resume`` simply
skips the keys already present.

Only the parent process writes (workers return results to it), so there is a single
writer and no lock contention.
"""
from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from pathlib import Path

SCHEMA_VERSION = 2   # 2: per-row checksum

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    key TEXT PRIMARY KEY,       -- sha256 of the canonical task spec (seed included)
    config_hash TEXT NOT NULL,  -- sha256 of the spec without its seed
    seed INTEGER NOT NULL,
    spec TEXT NOT NULL,         -- canonical JSON
    result TEXT NOT NULL,       -- canonical JSON
    checksum TEXT NOT NULL      -- sha256 of key, spec and result (row_checksum)
);
"""


def canonical_json(obj) -> str:
    """Deterministic JSON: sorted keys, no spaces, floats by repr (exact round trip).

    Non-finite floats are not valid JSON; results must encode them as null first
    (:func:`finite_or_none`), so they are refused here.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def finite_or_none(x):
    """Recursively replace NaN/inf floats by None (JSON has no NaN)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite_or_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite_or_none(v) for v in x]
    return x


def config_hash(spec: dict) -> str:
    """Hash of a task spec without its seed: the grid point it belongs to."""
    return hashlib.sha256(canonical_json({k: v for k, v in spec.items() if k != "seed"})
                          .encode()).hexdigest()


def task_key(spec: dict) -> str:
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()


def row_checksum(key: str, spec_text: str, result_text: str) -> str:
    """sha256 over a row's key, spec and result: an edited number or a truncated row no
    longer matches, and is refused on resume and export (the task is named)."""
    h = hashlib.sha256()
    for part in (key, spec_text, result_text):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


class StoreError(OSError):
    """The store file is unreadable or one of its rows is damaged."""


class Store:
    """An SQLite file of finished tasks.  Use as a context manager or call :meth:`close`."""

    def __init__(self, path):
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            raise OSError(f"db: directory {self.path.parent} does not exist")
        try:
            # isolation_level=None: we open and commit transactions explicitly.
            self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
            self.conn.execute("PRAGMA journal_mode=DELETE")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(_SCHEMA)
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                                  (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                self.conn.close()
                raise ValueError(f"db: {self.path} has schema version {row[0]}, expected "
                                 f"{SCHEMA_VERSION} (written by another vpgd version; use a "
                                 "new --db)")
        except sqlite3.DatabaseError as exc:
            if getattr(self, "conn", None) is not None:
                self.conn.close()
            raise StoreError(f"db: {self.path}: not a usable store ({exc})") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.conn.close()

    def _query(self, sql, args=()):
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:   # a corrupted page, a file that is not a store
            raise StoreError(f"db: {self.path}: unreadable store ({exc})") from None

    def finished_keys(self) -> set:
        return {r[0] for r in self._query("SELECT key FROM tasks")}

    def count(self) -> int:
        return self._query("SELECT COUNT(*) FROM tasks")[0][0]

    def verify(self) -> int:
        """Check every row's checksum and key; StoreError naming the first damaged task."""
        n = 0
        for key, spec, result, checksum in self._query(
                "SELECT key, spec, result, checksum FROM tasks ORDER BY key"):
            self._check_row(key, spec, result, checksum)
            n += 1
        return n

    def _check_row(self, key, spec, result, checksum):
        bad = None
        if row_checksum(key, spec, result) != checksum:
            bad = "its checksum does not match (the row was edited or damaged)"
        else:
            try:
                if task_key(json.loads(spec)) != key:
                    bad = "its key does not match its task spec"
                elif not isinstance(json.loads(result), dict):
                    bad = "its result is not a JSON object"
            except ValueError:
                bad = "it does not hold valid JSON"
        if bad:
            raise StoreError(f"db: {self.path}: task {key[:16]} is damaged: {bad}; delete "
                             "the row (or the store) and resume to recompute it")

    def put(self, spec: dict, result: dict) -> str:
        """Record one finished task atomically (one transaction); returns its key."""
        key = task_key(spec)
        spec_text, result_text = canonical_json(spec), canonical_json(result)
        row = (key, config_hash(spec), int(spec.get("seed", 0)), spec_text, result_text,
               row_checksum(key, spec_text, result_text))
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?)", row)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:   # disk full, read-only file, ...
            raise StoreError(f"db: {self.path}: cannot record a result: {exc}") from None
        return key

    def get(self, key: str):
        text = self.get_text(key)
        return None if text is None else json.loads(text)

    def get_text(self, key: str):
        """The stored result of ``key`` (verified against its checksum), or None."""
        rows = self._query("SELECT key, spec, result, checksum FROM tasks WHERE key=?", (key,))
        if not rows:
            return None
        self._check_row(*rows[0])
        return rows[0][2]


def atomic_write(path, data) -> None:
    """Write ``data`` (str or bytes) to ``path`` atomically.

    The bytes go to a temporary file in the same directory, are fsync'ed, and replace
    ``path`` with ``os.replace`` (atomic on POSIX): readers see the old file or the new
    one, never a half-written one, even if the process is killed mid-write.
    """
    import os
    import tempfile
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)   # mkstemp's 0600 is not what a report file wants
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
