"""Strict, bounded reading of one certificate file (standard library only).

Refused, each with one line naming the reason:

* not a regular file (FIFO, device, directory, socket), or a symlink whose target lies
  outside the certificate directory -- checked with ``lstat`` and, after opening with
  ``O_NONBLOCK`` (a FIFO does not block the open), ``fstat`` on the open descriptor;
* more than ``MAX_BYTES`` bytes (the read itself is bounded too: a file growing under us
  cannot make us read more);
* not UTF-8; brackets nested deeper than ``MAX_DEPTH`` (scanned on the raw text, before
  ``json.loads`` could recurse);
* duplicate object keys; NaN / Infinity tokens; non-integer numbers; a top level that is
  not an object.
"""
import json
import os
import re
import stat

MAX_BYTES = 16 * 2 ** 20        # a 20 000-box certificate is about 2 MB
MAX_DEPTH = 16                  # the deepest certificate nests 5 levels


class Unusable(Exception):
    """The path cannot be used as input at all (exit 2)."""


class Invalid(Exception):
    """The file is not a well-formed certificate (exit 1)."""


_SPECIAL = re.compile(r'["\\\[\]{}]')


def _no_constant(tok):
    raise Invalid(f"{tok} is not allowed")


def _pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise Invalid(f"duplicate key {k[:40]!r}")
        out[k] = v
    return out


def _no_float(tok):
    raise Invalid(f"non-integer number {tok[:20]} (numbers are written as decimal strings)")


def open_regular(path, root=None):
    """A file descriptor of a regular file (never blocks); symlinks must stay inside root."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise Unusable(exc.strerror or str(exc)) from None
    if stat.S_ISLNK(st.st_mode):
        real = os.path.realpath(path)
        base = os.path.realpath(root if root is not None else os.path.dirname(os.path.abspath(path)))
        if os.path.commonpath([real, base]) != base:
            raise Unusable("symlink pointing outside the certificate directory")
    elif not stat.S_ISREG(st.st_mode):
        raise Unusable("not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise Unusable(exc.strerror or str(exc)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Unusable("not a regular file")
    return fd, st.st_size


def read_bytes(path, root=None, max_bytes=MAX_BYTES):
    fd, size = open_regular(path, root)
    try:
        if size > max_bytes:
            raise Invalid(f"larger than {max_bytes} bytes")
        chunks, n = [], 0
        while n <= max_bytes:
            b = os.read(fd, min(1 << 20, max_bytes + 1 - n))
            if not b:
                break
            chunks.append(b)
            n += len(b)
        if n > max_bytes:
            raise Invalid(f"larger than {max_bytes} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise Unusable(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def too_deep(text, max_depth):
    """Whether brackets outside strings nest deeper than max_depth (one linear pass over the
    special characters, stopping early; no recursion)."""
    depth, in_str, escaped = 0, False, -2
    for m in _SPECIAL.finditer(text):
        ch, i = m.group(), m.start()
        if in_str:
            if ch == "\\":
                if escaped != i - 1:
                    escaped = i
            elif ch == '"' and escaped != i - 1:
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def loads(text, max_depth=MAX_DEPTH):
    """Parse certificate JSON text strictly (see the module docstring)."""
    if too_deep(text, max_depth):
        raise Invalid(f"nested deeper than {max_depth}")
    try:
        obj = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant,
                         parse_float=_no_float)
    except Invalid:
        raise
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"not JSON ({str(exc).splitlines()[0][:80]})") from None
    if not isinstance(obj, dict):
        raise Invalid(f"top level is {type(obj).__name__}, not an object")
    return obj


def load(path, root=None):
    """The JSON object of one certificate file; raises Unusable or Invalid."""
    data = read_bytes(path, root)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("not UTF-8") from None
    return loads(text)
