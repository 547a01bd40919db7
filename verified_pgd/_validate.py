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
