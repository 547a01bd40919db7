"""Validation at the boundary: every public entry point funnels user input through here.

Each helper raises ValueError/TypeError whose message starts with the parameter's name,
so the CLI can print it as one line and exit 2.
"""
from __future__ import annotations

import numbers
import re
import warnings

import numpy as np

MIN_DPS = 15
# The one default eps of eps-success (theta <= eps and relative a-error <= eps): pgd's
# keyword, a config's [solver] eps and the experiments' tasks all default to it.
DEFAULT_EPS = 1e-6


def as_float_array(x, name: str, *, ndim_min: int = 1) -> np.ndarray:
    """Convert ``x`` to a finite float64 array with at least ``ndim_min`` dimensions."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name}: expected an array of real numbers, got {type(x).__name__}")
    try:
        with warnings.catch_warnings():
            # numpy would silently drop imaginary parts (with only a warning)
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            arr = np.asarray(x, dtype=np.float64)
    except np.exceptions.ComplexWarning:
        raise TypeError(f"{name}: expected real numbers, got complex values") from None
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected an array of real numbers ({exc})") from None
    if arr.ndim < ndim_min:
        raise ValueError(f"{name}: expected at least {ndim_min} dimension(s), got a scalar")
    if arr.size == 0 or 0 in arr.shape:
        raise ValueError(f"{name}: must not be empty (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or inf")
    return arr


def as_vector(x, name: str) -> np.ndarray:
    arr = as_float_array(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D vector, got shape {arr.shape}")
    return arr


def check_last_dim(arr: np.ndarray, size: int, name: str, what: str) -> None:
    if arr.shape[-1] != size:
        raise ValueError(
            f"{name}: last dimension is {arr.shape[-1]} but the problem has {what} = {size}")


def check_nonzero_w(w: np.ndarray, name: str = "w") -> None:
    """w = 0 is the non-differentiable point of L (the angle to w* is undefined there)."""
    with np.errstate(over="ignore"):
        norms = np.sqrt(np.einsum("...i,...i->...", w, w))
    if np.any(norms == 0.0):
        raise ValueError(f"{name}: w = 0 is a non-differentiable point of the loss "
                         "(the angle to w* is undefined); use any w with |w| > 0")
    if not np.all(np.isfinite(norms)):
        raise ValueError(f"{name}: |{name}| overflows float64; rescale the problem")


def check_dps(dps) -> int:
    if isinstance(dps, bool) or not isinstance(dps, numbers.Integral):
        raise TypeError(f"dps: expected an integer number of decimal digits, got {dps!r}")
    dps = int(dps)
    if dps < MIN_DPS:
        raise ValueError(f"dps: must be >= {MIN_DPS} (a reference below float64's precision "
                         f"is no reference), got {dps}")
    return dps


def check_positive(x, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {x!r}")
    x = float(x)
    if not np.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {x}")
    if x < 0 or (x == 0 and not allow_zero):
        raise ValueError(f"{name}: must be {'>= 0' if allow_zero else '> 0'}, got {x}")
    return x


def check_int(x, name: str, *, minimum: int = 0) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {x!r}")
    if x < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {x}")
    return int(x)


# --------------------------------------------------------------------------- size limits
#
# Sizes are checked before anything is allocated.  Each limit is deliberate and can be
# lifted with the environment variable named in its message (VPGD_MAX_<NAME>).

LIMITS = {
    "history": 50_000_000,     # recorded (state, chain) entries: ~0.4 GB per float64 series
    "steps": 10**9,            # PGD steps of one run
    "chains": 10**7,
    "dimension": 100_000,      # p and k
    "grid": 1_000_000,         # grid points / sweep tasks, counted before expansion
    "dps": 10_000,             # mpmath decimal digits (as config solver.precision)
    "arb_bits": 20_000,        # arb working precision in bits
    "workers": 64,             # local worker processes (also <= 8 x cores)
}


def limit(name: str) -> int:
    """The limit ``name`` of :data:`LIMITS`, or ``$VPGD_MAX_<NAME>`` when set."""
    import os
    env = f"VPGD_MAX_{name.upper()}"
    raw = os.environ.get(env)
    if raw is None:
        return LIMITS[name]
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{env}: expected a positive integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{env}: expected a positive integer, got {raw!r}")
    return value


def check_size(value: int, name: str, kind: str) -> int:
    """``value`` unless it exceeds the ``kind`` limit (message names both and the way out)."""
    lim = limit(kind)
    if value > lim:
        raise ValueError(f"{name}: {value} exceeds the limit {lim} "
                         f"(set VPGD_MAX_{kind.upper()}={value} to lift it deliberately)")
    return value


def check_history(steps: int, record_every: int, chains: int, name: str = "record_every") -> int:
    """Number of recorded history entries ``(steps // record_every + 1) * chains``, bounded."""
    check_size(steps, "steps", "steps")
    check_size(chains, "chains", "chains")
    entries = (steps // max(record_every, 1) + 1) * chains
    lim = limit("history")
    if entries > lim:
        raise ValueError(f"{name}: {steps} steps recorded every {record_every} for {chains} "
                         f"chain(s) is {entries} history entries, more than the limit {lim} "
                         f"(raise record_every, or set VPGD_MAX_HISTORY={entries})")
    return entries


def check_dps_cap(dps: int, name: str = "dps") -> int:
    return check_size(dps, name, "dps")


def check_workers(workers, tasks: int | None = None, name: str = "workers") -> int:
    """A worker count >= 1, at most 8 x cores (and the ``workers`` limit); the number of
    processes actually worth starting is ``min(workers, tasks)``."""
    import os
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral):
        raise ValueError(f"{name}: must be an integer >= 1, got {workers!r}")
    if workers < 1:
        raise ValueError(f"{name}: must be >= 1, got {workers}")
    cap = min(limit("workers"), 8 * (os.cpu_count() or 1))
    if "VPGD_MAX_WORKERS" in os.environ:
        cap = limit("workers")
    if workers > cap:
        raise ValueError(f"{name}: {workers} exceeds the limit {cap} (8 x {os.cpu_count()} "
                         f"cores; set VPGD_MAX_WORKERS={workers} to lift it deliberately)")
    workers = int(workers)
    return min(workers, tasks) if tasks else workers


def check_precision(precision, name: str = "precision"):
    """Caps for ``precision``: an integer number of decimal digits (mpmath) or
    ``"arb:<bits>"``; anything else is left to the solver's own validation."""
    if isinstance(precision, numbers.Integral) and not isinstance(precision, bool):
        check_size(int(precision), name, "dps")
    elif isinstance(precision, str) and precision.startswith("arb:"):
        digits = precision[4:]
        if digits.isdigit() and len(digits) <= 30:
            check_size(int(digits), name, "arb_bits")
        elif digits.isdigit():
            raise ValueError(f"{name}: {precision[:40]}... exceeds the limit "
                             f"{limit('arb_bits')} bits")
    return precision


def finite_result(out, what: str, inputs) -> None:
    """Raise when float64 evaluation of finite ``inputs`` gave inf/NaN: overflow.

    ``inputs`` maps parameter names to their arrays; the message names those whose
    magnitude is beyond 1e150 (their squares leave float64), or all of them.
    """
    arrays = out if isinstance(out, (tuple, list)) else (out,)
    if all(np.all(np.isfinite(x)) for x in arrays):
        return
    big = [n for n, v in inputs.items() if np.max(np.abs(v), initial=0.0) > 1e150]
    names = ", ".join(big or inputs)
    raise ValueError(f"{names}: values too large: {what} overflows float64 "
                     f"(use {what}_mp for high precision)")


def check_choice(value, name: str, choices):
    """``value`` if it is one of ``choices`` (strings); arrays and other unhashables get a
    message naming the parameter instead of numpy's 'truth value is ambiguous'."""
    if not isinstance(value, str) or value not in choices:
        shown = repr(value) if isinstance(value, (str, int, float, type(None))) else \
            f"a {type(value).__name__}"
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {shown}")
    return value


def parse_precision(precision):
    """The one parser of a solver precision (API, config and CLI).

    ``"float64"`` -> ("float64", None); int dps or "mp:<dps>" -> ("mp", dps);
    ``"arb:<bits>"`` -> ("arb", bits)."""
    if isinstance(precision, str):
        if precision == "float64":
            return "float64", None
        m = re.fullmatch(r"(mp|arb):(\d+)", precision.strip())
        if m is None:
            raise ValueError(f"precision: expected 'float64', an integer number of digits, "
                             f"'mp:<dps>' or 'arb:<bits>', got {precision!r}")
        kind, n = m.group(1), int(m.group(2))
        if kind == "mp":
            return "mp", check_dps(n)
        if n < 53:
            raise ValueError(f"precision: arb needs at least 53 bits, got {n}")
        return "arb", n
    if isinstance(precision, bool) or not isinstance(precision, numbers.Integral):
        raise TypeError(f"precision: expected 'float64', an integer dps or 'arb:<bits>', "
                        f"got {precision!r}")
    try:
        return "mp", check_dps(precision)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"precision: {exc}") from None
