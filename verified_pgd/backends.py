"""Number systems for the one generic implementation in :mod:`verified_pgd.formulas`.

The closed forms are written once, against numpy arrays whose elements are either
float64 (batched over leading axes) or Python objects (mpmath ``mpf`` or python-flint
``arb`` balls).  A backend supplies only what numpy cannot do for object arrays:
the scalar special functions, the constant pi, and the one series that needs care.

``h(theta) = sin(theta) - theta cos(theta)`` is the only quantity with catastrophic
cancellation (it is ~theta^3/3 while each term is ~theta); every backend evaluates it
without losing digits at small theta:

* float64: a fixed-length Taylor series below theta = 1 (Horner in theta^2);
* mpmath: the same series, run to the working precision;
* arb: the direct formula; ball arithmetic tracks the cancellation rigorously, so the
  enclosure is correct, merely wider (callers raise the precision if they care).

Precision is one mechanism for all three (the mpmath way): ``B.workdps(dps)`` and
``B.workprec(bits)`` are context managers that set the backend's working precision and
restore it on exit (a no-op for float64).  :func:`teacher` converts a problem's teacher
into ``B`` once, under that precision; :func:`get` names a backend.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

# Coefficients of h(theta)/theta^3 in powers of theta^2:
#   h(theta) = sum_{n>=1} (-1)^(n+1) * 2n/(2n+1)! * theta^(2n+1).
_H_COEFFS = [Fraction((-1) ** (n + 1) * 2 * n, math.factorial(2 * n + 1)) for n in range(1, 40)]
# 12 terms reach below 2^-53 relative for theta <= 1: the 13th term is 26/27! ~ 2.4e-27.
_H_COEFFS_F64 = np.array([float(c) for c in _H_COEFFS[:12]])


class Float64:
    """Batched float64 arithmetic on numpy arrays (leading axes are batch axes)."""

    name = "float64"
    dtype = np.float64
    pi = np.pi

    @staticmethod
    def workdps(dps=None):
        return contextlib.nullcontext()

    @staticmethod
    def workprec(bits=None):
        return contextlib.nullcontext()

    @staticmethod
    def convert(x):
        return np.float64(x)

    @staticmethod
    def h_scalar(theta):
        return Float64.h(theta)[()]
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    sqrt = staticmethod(np.sqrt)
    atan2 = staticmethod(np.arctan2)

    @staticmethod
    def asarray(x):
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def eye(n):
        return np.eye(n)

    @staticmethod
    def dot(x, y):
        # Row-wise, no BLAS: each row's value does not depend on how many rows there are
        # (bitwise chain invariance of the batched solver), and einsum's loop is faster
        # than (x * y).sum(-1) on the solver's (chunk, p) arrays.
        return np.einsum("...i,...i->...", x, y)

    @staticmethod
    def h(theta):
        theta = np.asarray(theta, dtype=np.float64)
        small = theta < 1.0
        # Only the branches some element needs are evaluated (the solver calls this every
        # step); each element's value is the same either way.
        series = direct = None
        if small.any():
            t2 = theta * theta
            acc = np.zeros_like(theta)
            for c in _H_COEFFS_F64[::-1]:
                acc = acc * t2 + c
            series = acc * t2 * theta
        if not small.all():
            direct = np.sin(theta) - theta * np.cos(theta)
        if direct is None:
            return series
        if series is None:
            return direct
        return np.where(small, series, direct)

    @staticmethod
    def safe_div(num, den):
        """num / den, and 0 where den == 0 (used for t t^T / |t| with t = 0 at theta in {0, pi})."""
        den = np.asarray(den, dtype=np.float64)
        safe = np.where(den == 0.0, 1.0, den)
        return np.where(den == 0.0, 0.0, num / safe)

    def outer_over_norm(self, tt, norm):
        """``t t^T / |t|`` from ``tt = t t^T`` (..., n, n) and ``norm = |t|`` (...), 0 at t = 0
        (the limit: every entry is at most |t|)."""
        return tt * self.asarray(self.safe_div(1, norm))[..., None, None]


class _ObjectBackend:
    """Shared part of the object-array backends: elementwise scalar functions."""

    dtype = object
    outer_over_norm = Float64.outer_over_norm

    @staticmethod
    def dot(x, y):
        return (x * y).sum(axis=-1)

    @staticmethod
    def asarray(x):
        return np.asarray(x, dtype=object)

    def eye(self, n):
        out = np.empty((n, n), dtype=object)
        out[...] = self.zero()
        for i in range(n):
            out[i, i] = self.one()
        return out


def _ufunc(f, nin=1):
    return np.frompyfunc(f, nin, 1)


class MPMath(_ObjectBackend):
    """mpmath at the ambient precision (``mpmath.mp.dps``, set by the caller)."""

    name = "mpmath"

    def __init__(self):
        import mpmath
        self.mp = mpmath.mp
        self.sin = _ufunc(mpmath.sin)
        self.cos = _ufunc(mpmath.cos)
        self.sqrt = _ufunc(mpmath.sqrt)
        self.atan2 = _ufunc(mpmath.atan2, 2)
        self._h = _ufunc(self._h_scalar)
        self._safe_div = _ufunc(lambda n, d: n / d if d != 0 else self.mp.zero, 2)

    @property
    def pi(self):
        return +self.mp.pi

    def zero(self):
        return self.mp.zero

    def one(self):
        return self.mp.one

    def convert(self, x):
        return self.mp.mpf(x)

    def workdps(self, dps):
        import mpmath
        return mpmath.workdps(dps)

    def workprec(self, bits):
        import mpmath
        return mpmath.workprec(bits)

    def h_scalar(self, theta):
        return self._h_scalar(theta)

    def _h_scalar(self, theta):
        mp = self.mp
        if theta >= 1:
            return mp.sin(theta) - theta * mp.cos(theta)
        t2 = theta * theta
        eps = mp.eps
        term = theta * t2  # theta^(2n+1) for n = 1
        total = mp.zero
        for c in _H_COEFFS:
            piece = term * mp.mpf(c.numerator) / c.denominator
            total += piece
            if abs(piece) <= eps * abs(total) or piece == 0:
                return total
            term *= t2
        # Beyond 39 terms only for theta close to 1 at very high precision.
        return mp.sin(theta) - theta * mp.cos(theta)

    def h(self, theta):
        return self._h(theta)

    def safe_div(self, num, den):
        return self._safe_div(num, den)


class Arb(_ObjectBackend):
    """python-flint ``arb`` balls at the ambient precision (``flint.ctx.prec``)."""

    name = "arb"

    def __init__(self):
        import flint
        self.flint = flint
        self.sin = _ufunc(lambda x: x.sin())
        self.cos = _ufunc(lambda x: x.cos())
        self.sqrt = _ufunc(self._sqrt_scalar)
        self.atan2 = _ufunc(flint.arb.atan2, 2)
        self.h = _ufunc(lambda t: t.sin() - t * t.cos())
        self._safe_div = _ufunc(self._safe_div_scalar, 2)

    @staticmethod
    def _sqrt_scalar(x):
        # Every square root in the closed forms is of a quantity >= 0 (a sum of squares,
        # |a*|^2); a ball around 0 (|w_hat - w_hat*|^2 at the optimum) would give nan, so
        # its non-negative part is used.  A ball certainly < 0 still gives nan (a bug).
        if x > 0 or x < 0:
            return x.sqrt()
        return x.nonnegative_part().sqrt()

    @property
    def pi(self):
        return self.flint.arb.pi()

    def zero(self):
        return self.flint.arb(0)

    def one(self):
        return self.flint.arb(1)

    def convert(self, x):
        return self.flint.arb(x)

    def workdps(self, dps):
        return self.flint.ctx.workdps(dps)

    def workprec(self, bits):
        return self.flint.ctx.workprec(bits)

    def h_scalar(self, theta):
        return theta.sin() - theta * theta.cos()

    def _safe_div_scalar(self, num, den):
        # t t^T / |t| -> 0 as t -> 0; |(t t^T)_ij| / |t| <= |t|, so a ball containing 0 is
        # replaced by the enclosure [-|t|, |t|] of the limit-continuous value.
        if den > 0:
            return num / den
        bound = den.abs_upper()
        return self.flint.arb(0, bound)

    def safe_div(self, num, den):
        return self._safe_div(num, den)

    def outer_over_norm(self, tt, norm):
        # Divide each entry by the ball |t| (not tt * (1/|t|)): _safe_div_scalar encloses
        # |t_i t_j| / |t| <= |t| when the ball |t| contains 0.
        return self._safe_div(tt, np.asarray(norm, dtype=object)[..., None, None])


_NAMES = {"float64": Float64, "mpmath": MPMath, "mp": MPMath, "arb": Arb}


def get(backend) -> object:
    """A backend instance by name (``"float64"``, ``"mpmath"`` (alias ``"mp"``), ``"arb"``),
    or ``backend`` itself if it already is one."""
    if isinstance(backend, (Float64, _ObjectBackend)):
        return backend
    if not isinstance(backend, str) or backend not in _NAMES:
        raise ValueError(f"backend: must be one of 'float64', 'mpmath', 'arb', got {backend!r}")
    return _NAMES[backend]()


@dataclass(frozen=True)
class Teacher:
    """The teacher (w*, a*) in one number system: ``w_hat_star``, ``a_star`` (arrays),
    ``s = |w*|``, ``s2 = |w*|^2``, ``A = |a*|^2``, ``S = 1.a*``, ``pi``, ``k``, ``p``."""

    w_hat_star: np.ndarray
    a_star: np.ndarray
    s: object
    s2: object
    A: object
    S: object
    pi: object
    k: int
    p: int


def teacher(B, problem) -> Teacher:
    """The one conversion of a problem's teacher into backend ``B`` (call it under the
    working precision, e.g. inside ``B.workdps(...)``).

    float64 uses the problem's own float64 ``w_hat_star``, ``a_star`` and ``s`` (so
    theory agrees bitwise with the solvers); object backends take each float of w* and
    a* exactly and form the sums in ``B`` (``s2 = sum w_i^2``, ``s = sqrt(s2)``).
    """
    if isinstance(B, Float64):
        a = np.array(problem.a_star, dtype=np.float64)
        s = problem.s
        return Teacher(np.array(problem.w_hat_star, dtype=np.float64), a, s, s * s,
                       float(np.sum(a * a)), float(np.sum(a)), np.pi,
                       len(a), len(problem.w_star))
    w = np.array([B.convert(float(x)) for x in problem.w_star], dtype=object)
    a = np.array([B.convert(float(x)) for x in problem.a_star], dtype=object)
    s2 = (w * w).sum()
    s = B.sqrt(s2)
    return Teacher(w / s, a, s, s2, (a * a).sum(), a.sum(), B.pi, len(a), len(w))
