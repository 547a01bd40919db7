"""Leaf validators shared by every configuration document: each checks one TOML value
and raises :class:`ConfigError` naming its key path."""
from __future__ import annotations

import math
import numbers


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


def _err(path, msg):
    return ConfigError(f"config: {path}: {msg}")


def _int(v, path, lo=None, hi=None):
    what = "an integer" + (f" >= {lo}" if lo is not None else "") + (
        f"{' and' if lo is not None else ''} <= {hi}" if hi is not None else "")
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise _err(path, f"must be {what}, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise _err(path, f"must be {what}, got {v!r}")
    return int(v)


def _range(lo, hi, strict_lo=False):
    if lo is not None and hi is not None:
        return f" in {'(' if strict_lo else '['}{lo}, {hi}]"
    if lo is not None:
        return f" {'>' if strict_lo else '>='} {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


def _float(v, path, lo=None, hi=None, strict_lo=False, strict_hi=False):
    what = "a finite number" + _range(lo, hi, strict_lo)
    if strict_hi and hi is not None:
        what = what.replace(f"{hi}]", f"{hi})")
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise _err(path, f"must be {what}, got {v!r}")
    v = float(v)
    if not math.isfinite(v):
        raise _err(path, f"must be {what}, got {v!r}")
    if lo is not None and (v < lo or (strict_lo and v == lo)):
        raise _err(path, f"must be {what}, got {v!r}")
    if hi is not None and (v > hi or (strict_hi and v == hi)):
        raise _err(path, f"must be {what}, got {v!r}")
    return v


def _bool(v, path):
    if not isinstance(v, bool):
        raise _err(path, f"must be true or false, got {v!r}")
    return v


def _choice(v, path, choices):
    if not isinstance(v, str) or v not in choices:
        raise _err(path, f"must be one of {', '.join(map(repr, choices))}, got {v!r}")
    return v


def _vector(v, path, length=None):
    if not isinstance(v, list) or not v:
        raise _err(path, f"must be a non-empty array of numbers, got {v!r}")
    out = [_float(x, f"{path}[{i}]") for i, x in enumerate(v)]
    if length is not None and len(out) != length:
        raise _err(path, f"must have length {length}, got {len(out)}")
    return out


def _list(v, path, item, min_len=1, unique=False):
    if not isinstance(v, list) or len(v) < min_len:
        raise _err(path, f"must be an array with at least {min_len} element(s), got {v!r}")
    out = [item(x, f"{path}[{i}]") for i, x in enumerate(v)]
    if unique and len(set(map(repr, out))) != len(out):
        raise _err(path, "must not contain duplicates")
    return out


def _table(v, path, allowed, required=()):
    """Check that ``v`` is a table whose keys are all in ``allowed``."""
    if not isinstance(v, dict):
        raise _err(path, f"must be a table, got {type(v).__name__}")
    for key in v:
        if key not in allowed:
            raise _err(f"{path}.{key}" if path else key,
                       f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in v:
            raise _err(f"{path}.{key}" if path else key, "is required")
    return v


def _sub(path, key):
    return f"{path}.{key}" if path else key
