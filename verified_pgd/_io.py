"""Bounded reading and parsing of user files (TOML and JSON): the one place every command
that reads a file goes through.

Limits are checked before anything recursive runs: the file must be a regular file no
larger than :data:`MAX_BYTES` (so ``/dev/zero`` or a FIFO never hangs us), and the bracket
nesting of the raw text is scanned (strings and comments skipped) before ``tomllib`` or
``json`` sees it, because both parsers recurse once per level and a 5 000-deep ``[[[[...``
ends in RecursionError.  The parsed document's depth is checked again without recursion
(TOML dotted keys ``a.b.c...`` nest without brackets).  JSON additionally refuses
duplicate keys and the non-standard constants NaN/Infinity.

Every failure is an :class:`InputError` (a ValueError) with one line naming the file, so
the CLI prints it and exits 2.  The limits are deliberate and can be lifted with the
environment variables ``VPGD_MAX_INPUT_BYTES`` and ``VPGD_MAX_INPUT_DEPTH``.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64


class InputError(ValueError):
    """A user file that cannot be read or parsed within the limits."""


def _limit(env: str, default: int) -> int:
    raw = os.environ.get(env)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{env}: expected a positive integer, got {raw!r}") from None
    if value < 1:
        raise InputError(f"{env}: expected a positive integer, got {raw!r}")
    return value


def max_bytes() -> int:
    return _limit("VPGD_MAX_INPUT_BYTES", MAX_BYTES)


def max_depth() -> int:
    # Above ~900 levels the parsers themselves overflow Python's stack.
    return min(_limit("VPGD_MAX_INPUT_DEPTH", MAX_DEPTH), 900)


def read_bytes(path, what: str = "file") -> bytes:
    """The bytes of a regular file of at most :func:`max_bytes` bytes."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise OSError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what}: {path} is not a regular file")
    limit = max_bytes()
    if st.st_size > limit:
        raise InputError(f"{what}: {path} has {st.st_size} bytes, more than the limit {limit} "
                         "(set VPGD_MAX_INPUT_BYTES to lift it)")
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise OSError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:   # grew since stat
        raise InputError(f"{what}: {path} is larger than the limit {limit} bytes "
                         "(set VPGD_MAX_INPUT_BYTES to lift it)")
    return data


def read_text(path, what: str = "file") -> str:
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what}: {path}: not UTF-8 text") from None


# --------------------------------------------------------------------------- depth scans

def _too_deep(source, limit):
    return InputError(f"{source}: nesting depth exceeds the limit {limit} "
                      "(set VPGD_MAX_INPUT_DEPTH to lift it)")


def toml_depth(text: str) -> int:
    """Maximal ``[``/``{`` nesting of TOML text, skipping strings and comments.

    Over-approximates nothing that matters: table headers count 1 or 2, which is far below
    any limit.  Unterminated strings end the scan (the parser reports them).
    """
    depth = best = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if c in "\"'":
            triple = text.startswith(c * 3, i)
            if triple:
                end = text.find(c * 3, i + 3)
                if end < 0:
                    return best
                # a closing run may be up to 5 quotes long (2 belong to the content)
                i = end + 3
                while i < n and text[i] == c and i - end < 5:
                    i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                if c == '"' and text[j] == "\\":
                    j += 1
                j += 1
            i = j + 1
            continue
        if c in "[{":
            depth += 1
            best = max(best, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return best


def json_depth(text: str) -> int:
    """Maximal ``[``/``{`` nesting of JSON text, skipping strings."""
    depth = best = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\":
                    j += 1
                j += 1
            i = j + 1
            continue
        if c in "[{":
            depth += 1
            best = max(best, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return best


def data_depth(obj) -> int:
    """Nesting depth of parsed lists/dicts, computed without recursion."""
    best = 0
    stack = [(obj, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, dict):
            best = max(best, d)
            stack.extend((v, d + 1) for v in x.values())
        elif isinstance(x, list):
            best = max(best, d)
            stack.extend((v, d + 1) for v in x)
    return best


# --------------------------------------------------------------------------- parsers

def _one_line(exc) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def loads_toml(text: str, source: str = "<string>") -> dict:
    """Parse TOML text within the depth limit; one-line InputError otherwise."""
    import tomllib
    limit = max_depth()
    if toml_depth(text) > limit:
        raise _too_deep(source, limit)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: invalid TOML ({_one_line(exc)})") from None
    except (ValueError, RecursionError, MemoryError) as exc:   # e.g. a 5 000-digit integer
        raise InputError(f"{source}: invalid TOML ({_one_line(exc)})") from None
    if data_depth(doc) > limit:
        raise _too_deep(source, limit)
    return doc


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise InputError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name):
    raise InputError(f"{name} is not a number JSON allows")


def loads_json(text: str, source: str = "<string>"):
    """Parse strict JSON (no duplicate keys, no NaN/Infinity) within the depth limit."""
    limit = max_depth()
    if json_depth(text) > limit:
        raise _too_deep(source, limit)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except InputError as exc:
        raise InputError(f"{source}: invalid JSON ({exc})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise InputError(f"{source}: invalid JSON ({_one_line(exc)})") from None


def read_toml(path, what: str = "config") -> dict:
    """Read and parse a TOML file (regular, bounded, depth-limited)."""
    return loads_toml(read_text(path, what), f"{what}: {path}")


def read_json(path, what: str = "file"):
    """Read and parse a strict JSON file (regular, bounded, depth-limited)."""
    return loads_json(read_text(path, what), f"{what}: {path}")


def read_document(path, what: str = "file"):
    """JSON if the name ends in ``.json``, else TOML."""
    if Path(path).suffix.lower() == ".json":
        return read_json(path, what)
    return read_toml(path, what)


def same_file(a, b) -> bool:
    """Do paths ``a`` and ``b`` name the same file (existing or not)?"""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_output(out, out_name: str, inputs) -> None:
    """Refuse an output path that is one of the inputs (``{name: path}``; None skipped)."""
    for name, path in inputs.items():
        if path is not None and same_file(out, path):
            raise InputError(f"{out_name}: {out} is the same file as {name}; refusing to "
                             "overwrite an input — choose another path")
