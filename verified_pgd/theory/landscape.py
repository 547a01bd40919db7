"""Critical points of the weight-normalized loss (|w| = 1), barrier and reduced loss.

Everything here follows from stationarity (docs/landscape.md, "Critical points"):

* For fixed theta the loss is a convex quadratic in a; grad_a L = 0 gives
  ``a(theta) = s M^-1 b(g)``, ``b(g) = (g - 1) a* + (1.a*) 1``,
  ``M^-1 x = (x - (1.x)/(k + pi - 1) 1) / (pi - 1)``.
* Substituting back, the reduced loss is (cancellation-free form)
  ``l(theta) = min_a L = (s^2 alpha / 4 pi) (pi - g)(pi + g - 2 g_s)`` with
  ``alpha = a*^T M^-1 a* = ((k + pi - 1)|a*|^2 - (1.a*)^2) / ((pi - 1)(k + pi - 1))``
  and ``g_s = 1 - (pi - 1)(1.a*)^2 / ((k + pi - 1)|a*|^2 - (1.a*)^2)``.
* The Riemannian w-gradient is ``-(s/2pi)(a.a*)(pi - theta) t``: critical points are
  theta = 0 (global), theta = pi (spurious) and a(theta).a* = 0, i.e. g(theta) = g_s
  (saddle).  ``g(pi - x) = h(x) = sin x - x cos x`` is increasing on (0, pi), so theta_s
  is unique and solved as ``x_s = pi - theta_s`` with ``h(x_s) = g_s`` (no cancellation
  when g_s is small).
* Barrier: ``Delta L = l(theta_s) - l(pi) = s^2 alpha g_s^2 / (4 pi)``.

Values are float64 by default; with ``dps`` they are mpmath ``mpf`` computed at ``dps``
decimal digits from the teacher's float64 values taken exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .._validate import as_float_array, check_dps
from ..backends import Float64, MPMath
from ..problem import Problem

_F64 = Float64()


@dataclass(frozen=True)
class CriticalPoint:
    """A critical point of L on {|w| = 1}.

    Attributes
    ----------
    kind : str
        ``"global"``, ``"spurious"`` or ``"saddle"``.
    w : ndarray, shape (p,)
        Unit filter (read-only; dtype object of ``mpf`` when computed with ``dps``).
        For the saddle, ``w = cos(theta) w_hat* + sin(theta) v`` with ``v`` =
        :func:`orthogonal_direction` (the saddle set is a whole (p-2)-sphere; this is
        one deterministic representative).
    a : ndarray, shape (k,)
        Output weights (read-only).
    theta : float or mpf
        Angle between w and w*.
    loss : float or mpf
        L(w, a).
    """

    kind: str
    w: np.ndarray
    a: np.ndarray
    theta: object
    loss: object


class _Ctx:
    """The number system (float64 or mpmath at dps) and the teacher converted into it."""

    def __init__(self, problem, dps):
        if not isinstance(problem, Problem):
            raise TypeError(f"problem: expected a verified_pgd.Problem, got {type(problem).__name__}")
        self.problem = problem
        self.dps = None if dps is None else check_dps(dps)
        self.k = problem.k
        if self.dps is None:
            self.B = _F64
            self.pi = np.pi
            self.w_hat_star = np.array(problem.w_hat_star)
            self.a_star = np.array(problem.a_star)
            self.s = problem.s
            self.sqrt, self.sin, self.cos = np.sqrt, np.sin, np.cos
        else:
            import mpmath
            self.mpmath = mpmath
            self._wp = mpmath.workdps(self.dps)
            self._wp.__enter__()
            mp = mpmath.mp
            self.B = MPMath()
            self.pi = +mp.pi
            w_star = np.array([mp.mpf(float(x)) for x in problem.w_star], dtype=object)
            self.s = mp.sqrt((w_star * w_star).sum())
            self.w_hat_star = w_star / self.s
            self.a_star = np.array([mp.mpf(float(x)) for x in problem.a_star], dtype=object)
            self.sqrt, self.sin, self.cos = mp.sqrt, mp.sin, mp.cos

    def close(self):
        if self.dps is not None:
            self._wp.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- quantities of DESIGN section 3 -------------------------------------------
    def sums(self):
        A = (self.a_star * self.a_star).sum()
        S = self.a_star.sum()
        return A, S

    def alpha(self):
        """a*^T M^-1 a*."""
        A, S = self.sums()
        pi, k = self.pi, self.k
        return ((k + pi - 1) * A - S * S) / ((pi - 1) * (k + pi - 1))

    def g_s(self):
        A, S = self.sums()
        pi, k = self.pi, self.k
        den = (k + pi - 1) * A - S * S
        if den == 0:
            raise ValueError("a_star: must be non-zero (the landscape is degenerate for a* = 0)")
        return 1 - (pi - 1) * S * S / den

    def minv(self, x):
        """M^-1 x for x of shape (..., k)."""
        pi, k = self.pi, self.k
        tot = x.sum(axis=-1)
        return (x - (tot / (k + pi - 1))[..., None] * np.ones(k)) / (pi - 1) if self.dps is None \
            else (x - tot / (k + pi - 1)) / (pi - 1)

    def a_of_g(self, g):
        """argmin_a L at fixed theta, as a function of g(theta): s M^-1((g-1)a* + (1.a*)1)."""
        S = self.a_star.sum()
        if self.dps is None:
            g = np.asarray(g, dtype=np.float64)
            b = (g[..., None] - 1) * self.a_star + S
        else:
            b = (g - 1) * self.a_star + S
        return self.s * self.minv(b)

    def out(self, x):
        if self.dps is None:
            return float(x)
        return +x

    def vec(self, x):
        x = np.array(x, dtype=np.float64 if self.dps is None else object)
        if self.dps is not None:
            x = np.array([+v for v in x], dtype=object)
        x.setflags(write=False)
        return x


def _check_exists(ctx, what):
    if not has_spurious_minimum(ctx.problem):
        raise ValueError(
            f"a_star: the {what} exists only when pi (1.a*)^2 < (k + pi - 1)|a*|^2 "
            f"(DESIGN section 3); here k = {ctx.problem.k}, "
            f"1.a* = {float(np.sum(ctx.problem.a_star))!r}, |a*|^2 = "
            f"{float(np.sum(ctx.problem.a_star ** 2))!r}")


def has_spurious_minimum(problem) -> bool:
    """Whether pi (1.a*)^2 < (k + pi - 1)|a*|^2, decided exactly.

    The teacher's floats are exact rationals, so with X = (1.a*)^2 - |a*|^2 and
    Y = (k - 1)|a*|^2 the condition reads pi X < Y; pi is irrational, so it is decided
    by a rational comparison when X <= 0 and by an arb enclosure of pi otherwise.
    Never true for k = 1 (X = 0 = Y).
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem: expected a verified_pgd.Problem, got {type(problem).__name__}")
    a = [Fraction(float(x)) for x in problem.a_star]
    A = sum(x * x for x in a)
    S = sum(a)
    X = S * S - A
    Y = (problem.k - 1) * A
    if X < 0:
        return True
    if X == 0:
        return Y > 0
    import flint
    prec = 64
    while True:
        with flint.ctx.workprec(prec) if hasattr(flint.ctx, "workprec") else _Prec(flint, prec):
            ratio = flint.arb(Y.numerator * X.denominator) / flint.arb(Y.denominator * X.numerator)
            pi = flint.arb.pi()
            if pi < ratio:
                return True
            if pi > ratio:
                return False
        prec *= 2


class _Prec:
    def __init__(self, flint, prec):
        self.flint, self.prec = flint, prec

    def __enter__(self):
        self.old = self.flint.ctx.prec
        self.flint.ctx.prec = self.prec

    def __exit__(self, *exc):
        self.flint.ctx.prec = self.old


def orthogonal_direction(problem, dps=None) -> np.ndarray:
    """A deterministic unit vector v orthogonal to w_hat*: the coordinate axis e_i with
    the smallest |w_hat*_i| (first such i), Gram–Schmidt against w_hat*.  Needs p >= 2."""
    if problem.p < 2:
        raise ValueError("w_star: p = 1 has no direction orthogonal to w*")
    with _Ctx(problem, dps) as c:
        i = int(np.argmin(np.abs(problem.w_hat_star)))
        wh = c.w_hat_star
        v = -wh[i] * wh
        v[i] = v[i] + 1
        v = v / c.sqrt((v * v).sum())
        return c.vec(v)


def global_minimum(problem, dps=None) -> CriticalPoint:
    """The global minimum on the sphere: ``(w_hat*, s a*)``, theta = 0, L = 0."""
    with _Ctx(problem, dps) as c:
        zero = c.out(0 * c.s)
        return CriticalPoint("global", c.vec(c.w_hat_star), c.vec(c.s * c.a_star), zero, zero)


def spurious_minimum(problem, dps=None) -> CriticalPoint:
    """The spurious local minimum ``(-w_hat*, a_bar)``, ``a_bar = s M^-1 (1 1^T - I) a*``.

    Raises ValueError (naming ``a_star``) unless pi (1.a*)^2 < (k + pi - 1)|a*|^2.
    """
    with _Ctx(problem, dps) as c:
        _check_exists(c, "spurious local minimum")
        a_bar = c.a_of_g(0 * c.s)
        loss = reduced_loss_with(c, c.pi)
        return CriticalPoint("spurious", c.vec(-c.w_hat_star), c.vec(a_bar), c.out(c.pi), c.out(loss))


def saddle_theta(problem, dps=None):
    """theta_s in (0, pi) with g(theta_s) = g_s (bracketing solver on h(pi - theta) = g_s)."""
    with _Ctx(problem, dps) as c:
        _check_exists(c, "saddle")
        return c.out(_theta_s(c))


def _theta_s(c):
    g_s = c.g_s()
    if c.dps is None:
        from scipy.optimize import brentq
        x_s = brentq(lambda x: float(_F64.h(x)) - g_s, 0.0, np.pi, xtol=1e-300,
                     rtol=4 * np.finfo(float).eps, maxiter=500)
        return np.pi - x_s
    mp = c.mpmath.mp
    B = c.B
    # Bisection to the full working precision; h is increasing on (0, pi) (h' = x sin x).
    lo, hi = mp.zero, +mp.pi
    for _ in range(int(c.dps * 3.33) + 20):
        mid = (lo + hi) / 2
        if mid == lo or mid == hi:
            break
        if B._h_scalar(mid) < g_s:
            lo = mid
        else:
            hi = mid
    x_s = (lo + hi) / 2
    # One Newton step polishes the last bits (h'(x) = x sin x > 0 on (0, pi)).
    x_s = x_s - (B._h_scalar(x_s) - g_s) / (x_s * mp.sin(x_s))
    return c.pi - x_s


def saddle(problem, dps=None) -> CriticalPoint:
    """The saddle ``(cos th_s w_hat* + sin th_s v, a_s)``, ``a_s = s M^-1((g_s - 1)a* + (1.a*)1)``.

    ``a_s . a* = 0``; v is :func:`orthogonal_direction`.  Raises ValueError (naming
    ``a_star``) when the spurious minimum does not exist (then neither does the saddle),
    and (naming ``w_star``) when p = 1.
    """
    with _Ctx(problem, dps) as c:
        _check_exists(c, "saddle")
        v = orthogonal_direction(problem, dps)
        th = _theta_s(c)
        g_s = c.g_s()
        w = c.cos(th) * c.w_hat_star + c.sin(th) * v
        a_s = c.a_of_g(g_s)
        loss = c.s * c.s * c.alpha() / (4 * c.pi) * (c.pi - g_s) ** 2
        return CriticalPoint("saddle", c.vec(w), c.vec(a_s), c.out(th), c.out(loss))


def barrier(problem, dps=None):
    """Barrier height ``Delta L = L(saddle) - L(spurious) = s^2 alpha g_s^2 / (4 pi) > 0``.

    Raises ValueError (naming ``a_star``) when the spurious minimum does not exist.
    """
    with _Ctx(problem, dps) as c:
        _check_exists(c, "spurious local minimum")
        g_s = c.g_s()
        return c.out(c.s * c.s * c.alpha() * g_s * g_s / (4 * c.pi))


def reduced_loss_with(c, theta):
    B = c.B
    if c.dps is None:
        theta = np.asarray(theta, dtype=np.float64)
        x = np.pi - theta
        g = B.h(x)
        delta = 2 * np.pi * np.sin(theta / 2) ** 2 - B.h(theta)
    else:
        g = B._h_scalar(c.pi - theta)
        delta = 2 * c.pi * c.sin(theta / 2) ** 2 - B._h_scalar(theta)
    return c.s * c.s * c.alpha() / (4 * c.pi) * delta * (c.pi + g - 2 * c.g_s())


def reduced_loss(problem, theta, dps=None):
    """``min_a L(theta, a)`` on the sphere, batched over ``theta`` in [0, pi] (float64).

    With ``dps``, ``theta`` must be a scalar (float, int, str or mpf) and an ``mpf`` is
    returned.  Defined for every a* != 0 (also without a spurious minimum); the
    minimiser is :func:`reduced_minimizer`.
    """
    with _Ctx(problem, dps) as c:
        if c.dps is None:
            th = as_float_array(theta, "theta", ndim_min=0)
            if np.any((th < 0) | (th > np.pi)):
                raise ValueError("theta: must lie in [0, pi]")
            c.g_s()
            out = reduced_loss_with(c, th)
            return out[()] if np.ndim(out) == 0 else out
        th = _mp_theta(c, theta)
        return +reduced_loss_with(c, th)


def reduced_minimizer(problem, theta, dps=None):
    """``argmin_a L(theta, a) = s M^-1((g(theta) - 1) a* + (1.a*) 1)``, shape (..., k)."""
    with _Ctx(problem, dps) as c:
        if c.dps is None:
            th = as_float_array(theta, "theta", ndim_min=0)
            if np.any((th < 0) | (th > np.pi)):
                raise ValueError("theta: must lie in [0, pi]")
            return c.a_of_g(c.B.h(np.pi - th))
        th = _mp_theta(c, theta)
        return c.vec(c.a_of_g(c.B._h_scalar(c.pi - th)))


def _mp_theta(c, theta):
    mp = c.mpmath.mp
    if isinstance(theta, bool) or not isinstance(theta, (int, float, str, mp.mpf, np.floating)):
        raise TypeError(f"theta: expected a real scalar, got {type(theta).__name__}")
    th = mp.mpf(theta)
    if not (0 <= th <= c.pi):
        raise ValueError("theta: must lie in [0, pi]")
    return th


def g_s(problem, dps=None):
    """``g_s = 1 - (pi - 1)(1.a*)^2 / ((k + pi - 1)|a*|^2 - (1.a*)^2)`` (g at the saddle)."""
    with _Ctx(problem, dps) as c:
        return c.out(c.g_s())


def alpha(problem, dps=None):
    """``alpha = a*^T M^-1 a*``, the curvature of the reduced loss in g."""
    with _Ctx(problem, dps) as c:
        return c.out(c.alpha())
