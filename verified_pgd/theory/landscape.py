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
decimal digits from the teacher's float64 values taken exactly; with ``backend="arb"``
python-flint balls (at ``dps`` digits, default 50) enclosing the exact value.  The
formulas themselves are :mod:`.closed_forms`, written once for all three.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .._warn import warn_at_caller
from .._validate import MIN_DPS, as_float_array, check_dps, check_int
from ..backends import Float64, get as get_backend, teacher
from ..problem import Problem
from . import closed_forms as cf

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


class _Numbers:
    """The number system of one theory call and the teacher converted into it.

    ``backend``: ``"float64"`` (default without ``dps``), ``"mpmath"`` (default with
    ``dps``) or ``"arb"``; ``dps``: decimal digits of the working precision (the one
    spelling of precision; ``prec`` in bits is accepted as an alias, deprecated).  The
    precision is entered with ``B.workdps`` and left on exit.
    """

    def __init__(self, problem, dps=None, backend=None, prec=None):
        if not isinstance(problem, Problem):
            raise TypeError(f"problem: expected a verified_pgd.Problem, got {type(problem).__name__}")
        self.problem = problem
        self.dps = resolve_dps(dps, prec, backend)
        name = backend or ("float64" if self.dps is None else "mpmath")
        self.B = get_backend(name)
        if self.B.name == "float64" and self.dps is not None:
            raise ValueError("dps: not used by backend 'float64' (give backend='mpmath' or 'arb')")
        self.k = problem.k

    def __enter__(self):
        self._wp = self.B.workdps(self.dps)
        self._wp.__enter__()
        B = self.B
        self.T = teacher(B, self.problem)
        T = self.T
        self.pi, self.s, self.a_star, self.w_hat_star = T.pi, T.s, T.a_star, T.w_hat_star
        self.sqrt, self.sin, self.cos = B.sqrt, B.sin, B.cos
        return self

    def __exit__(self, *exc):
        self._wp.__exit__(*exc)

    @property
    def float64(self):
        return self.B.name == "float64"

    def alpha(self):
        return cf.alpha(self.B, self.T)

    def g_s(self):
        if cf.g_s_denominator(self.B, self.T) == 0:
            raise ValueError("a_star: must be non-zero (the landscape is degenerate for a* = 0)")
        return cf.g_s(self.B, self.T)

    def a_of_g(self, g):
        return cf.a_of_g(self.B, self.T, g)

    def out(self, x):
        if self.float64:
            return float(x)
        return +x

    def vec(self, x):
        x = np.array(x, dtype=np.float64 if self.float64 else object)
        if not self.float64:
            x = np.array([+v for v in x], dtype=object)
        x.setflags(write=False)
        return x


def resolve_dps(dps=None, prec=None, backend=None):
    """The one precision setting, ``dps`` (decimal digits, >= MIN_DPS), from ``dps`` or the
    deprecated alias ``prec`` (bits).  ``None`` means float64 (or 50 digits for arb)."""
    if prec is not None:
        if dps is not None:
            raise ValueError("dps/prec: give one precision (dps, in decimal digits)")
        warn_at_caller("prec= (bits) is deprecated; give dps= (decimal digits)",
                       DeprecationWarning)
        dps = max(MIN_DPS, int(check_int(prec, "prec", minimum=1) / 3.3219280948873626))
    if dps is None:
        return 50 if backend == "arb" else None
    return check_dps(dps)



def _check_exists(ctx, what):
    if not has_spurious_minimum(ctx.problem):
        raise ValueError(
            f"a_star: the {what} exists only when pi (1.a*)^2 < (k + pi - 1)|a*|^2 "
            f"(docs/design.md section 3); here k = {ctx.problem.k}, "
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
    B = get_backend("arb")
    prec = 64
    while True:
        with B.workprec(prec):
            ratio = B.convert(Y.numerator * X.denominator) / B.convert(Y.denominator * X.numerator)
            if B.pi < ratio:
                return True
            if B.pi > ratio:
                return False
        prec *= 2


def orthogonal_axis(problem) -> int:
    """The axis i of :func:`orthogonal_direction`: the first i with the smallest |w_hat*_i|
    (decided on the problem's float64 w_hat*, so every backend picks the same axis)."""
    return int(np.argmin(np.abs(problem.w_hat_star)))


def orthogonal_direction(problem, dps=None, *, backend=None) -> np.ndarray:
    """A deterministic unit vector v orthogonal to w_hat*: the coordinate axis e_i with
    the smallest |w_hat*_i| (first such i), Gram–Schmidt against w_hat*.  Needs p >= 2."""
    if problem.p < 2:
        raise ValueError("w_star: p = 1 has no direction orthogonal to w*")
    with _Numbers(problem, dps, backend) as c:
        return c.vec(cf.orthogonal_direction(c.B, c.T, orthogonal_axis(problem)))


def global_minimum(problem, dps=None, *, backend=None) -> CriticalPoint:
    """The global minimum on the sphere: ``(w_hat*, s a*)``, theta = 0, L = 0."""
    with _Numbers(problem, dps, backend) as c:
        zero = c.out(0 * c.s)
        return CriticalPoint("global", c.vec(c.w_hat_star), c.vec(c.s * c.a_star), zero, zero)


def spurious_minimum(problem, dps=None, *, backend=None) -> CriticalPoint:
    """The spurious local minimum ``(-w_hat*, a_bar)``, ``a_bar = s M^-1 (1 1^T - I) a*``.

    Raises ValueError (naming ``a_star``) unless pi (1.a*)^2 < (k + pi - 1)|a*|^2.
    """
    with _Numbers(problem, dps, backend) as c:
        _check_exists(c, "spurious local minimum")
        a_bar = c.a_of_g(0 * c.s)
        c.g_s()
        loss = cf.reduced_loss(c.B, c.T, c.pi)
        return CriticalPoint("spurious", c.vec(-c.w_hat_star), c.vec(a_bar), c.out(c.pi),
                             c.out(loss))


def saddle_theta(problem, dps=None, *, backend=None):
    """theta_s in (0, pi) with g(theta_s) = g_s: float64 (Brent), mpmath (bisection to the
    working precision) or, with ``backend="arb"``, a ball certified to contain theta_s
    (:func:`saddle_theta_in`)."""
    with _Numbers(problem, dps, backend) as c:
        _check_exists(c, "saddle")
        return c.out(_theta_s(c))


def _theta_s(c):
    return saddle_theta_in(c.B, c.T, c.g_s())


def saddle_theta_in(B, T, g_s=None):
    """theta_s in backend ``B`` for the teacher ``T`` (under the caller's working precision;
    the spurious minimum must exist, i.e. 0 < g_s).  Solved as ``x_s = pi - theta_s`` with
    ``h(x_s) = g_s``; h is increasing on [0, pi] (h' = x sin x), h(0) = 0 < g_s <= 1 < h(pi).

    * float64: Brent on [0, pi];
    * mpmath: bisection to the working precision, then one Newton step;
    * arb: Newton on midpoints from the float64 root, then a ball ``[x - r, x + r]`` with
      h(x - r) < g_s < h(x + r) certainly (r doubled until both signs are decided): by
      monotonicity and the intermediate value theorem it contains x_s for every g_s in
      the ball ``g_s``.  The result ``pi - x_s`` is a ball enclosing theta_s.
    """
    gs = cf.g_s(B, T) if g_s is None else g_s
    if B.name == "float64":
        return np.pi - _brent_x(gs)
    if B.name == "arb":
        return T.pi - _saddle_x_arb(B, T, gs)
    mp = B.mp
    lo, hi = mp.zero, +mp.pi
    for _ in range(mp.prec + 20):
        mid = (lo + hi) / 2
        if mid == lo or mid == hi:
            break
        if B.h_scalar(mid) < gs:
            lo = mid
        else:
            hi = mid
    x_s = (lo + hi) / 2
    # One Newton step polishes the last bits (h'(x) = x sin x > 0 on (0, pi)).
    x_s = x_s - (B.h_scalar(x_s) - gs) / (x_s * mp.sin(x_s))
    return T.pi - x_s


def _brent_x(gs):
    from scipy.optimize import brentq
    return brentq(lambda x: float(_F64.h(x)) - gs, 0.0, np.pi, xtol=1e-300,
                  rtol=4 * np.finfo(float).eps, maxiter=500)


def _saddle_x_arb(B, T, gs):
    arb = B.flint.arb
    prec = B.flint.ctx.prec
    x = arb(_brent_x(float(gs.mid())))
    # Newton doubles the correct bits: from ~50 bits, log2(prec / 50) + 2 steps suffice.
    for _ in range(max(2, int(np.ceil(np.log2(prec / 50))) + 2)):
        x = arb((x - (B.h_scalar(x) - gs) / (x * x.sin())).mid())
    zero, pi = arb(0), T.pi
    r = arb(2) ** (8 - prec) * (1 + x)
    while True:
        lo, hi = x - r, x + r
        at_ends = 0
        if not lo > 0:
            lo, at_ends = zero, at_ends + 1       # h(0) = 0 < g_s
        if not hi < pi:
            hi, at_ends = pi, at_ends + 1         # h(pi) = pi > 1 >= g_s
        if B.h_scalar(lo) < gs and B.h_scalar(hi) > gs:
            return lo.union(hi)
        if at_ends == 2:
            raise ArithmeticError("theta_s: the sign of h - g_s is undecided on [0, pi] "
                                  "(g_s too wide; raise the working precision)")
        r = 2 * r


def saddle(problem, dps=None, *, backend=None) -> CriticalPoint:
    """The saddle ``(cos th_s w_hat* + sin th_s v, a_s)``, ``a_s = s M^-1((g_s - 1)a* + (1.a*)1)``.

    ``a_s . a* = 0``; v is :func:`orthogonal_direction`.  Raises ValueError (naming
    ``a_star``) when the spurious minimum does not exist (then neither does the saddle),
    and (naming ``w_star``) when p = 1.
    """
    with _Numbers(problem, dps, backend) as c:
        _check_exists(c, "saddle")
        if problem.p < 2:
            raise ValueError("w_star: p = 1 has no direction orthogonal to w*")
        B, T = c.B, c.T
        v = cf.orthogonal_direction(B, T, orthogonal_axis(problem))
        th = _theta_s(c)
        w = cf.saddle_filter(B, T, th, v)
        a_s = c.a_of_g(c.g_s())
        return CriticalPoint("saddle", c.vec(w), c.vec(a_s), c.out(th),
                             c.out(cf.saddle_loss(B, T)))


def barrier(problem, dps=None, *, backend=None, prec=None):
    """Barrier height ``Delta L = L(saddle) - L(spurious) = s^2 alpha g_s^2 / (4 pi) > 0``.

    Raises ValueError (naming ``a_star``) when the spurious minimum does not exist.
    ``backend="arb"`` returns a ball enclosing the exact value for the teacher's floats.
    """
    with _Numbers(problem, dps, backend, prec) as c:
        _check_exists(c, "spurious local minimum")
        c.g_s()
        return c.out(cf.barrier(c.B, c.T))


def saddle_loss(problem, dps=None, *, backend=None):
    """``L(saddle) = s^2 alpha (pi - g_s)^2 / (4 pi)`` (needs the spurious minimum)."""
    with _Numbers(problem, dps, backend) as c:
        _check_exists(c, "saddle")
        c.g_s()
        return c.out(cf.saddle_loss(c.B, c.T))


def reduced_loss(problem, theta, dps=None, *, backend=None):
    """``min_a L(theta, a)`` on the sphere, batched over ``theta`` in [0, pi] (float64).

    With ``dps``, ``theta`` must be a scalar (float, int, str or mpf) and an ``mpf`` is
    returned.  Defined for every a* != 0 (also without a spurious minimum); the
    minimiser is :func:`reduced_minimizer`.
    """
    with _Numbers(problem, dps, backend) as c:
        if c.float64:
            th = as_float_array(theta, "theta", ndim_min=0)
            if np.any((th < 0) | (th > np.pi)):
                raise ValueError("theta: must lie in [0, pi]")
            c.g_s()
            out = cf.reduced_loss(c.B, c.T, th)
            return out[()] if np.ndim(out) == 0 else out
        th = _scalar_theta(c, theta)
        c.g_s()
        return +cf.reduced_loss(c.B, c.T, th)


def reduced_minimizer(problem, theta, dps=None, *, backend=None):
    """``argmin_a L(theta, a) = s M^-1((g(theta) - 1) a* + (1.a*) 1)``, shape (..., k)."""
    with _Numbers(problem, dps, backend) as c:
        if c.float64:
            th = as_float_array(theta, "theta", ndim_min=0)
            if np.any((th < 0) | (th > np.pi)):
                raise ValueError("theta: must lie in [0, pi]")
            return c.a_of_g(cf.g(c.B, th, c.T))
        th = _scalar_theta(c, theta)
        return c.vec(c.a_of_g(cf.g(c.B, th, c.T)))


def _scalar_theta(c, theta):
    if c.B.name == "arb":
        th = theta if isinstance(theta, c.B.flint.arb) else None
        if th is None:
            if isinstance(theta, bool) or not isinstance(theta, (int, float, str, np.floating)):
                raise TypeError(f"theta: expected a real scalar, got {type(theta).__name__}")
            th = c.B.convert(float(theta) if isinstance(theta, np.floating) else theta)
        if not (th >= 0 and th <= c.pi):
            raise ValueError("theta: must lie in [0, pi]")
        return th
    mp = c.B.mp
    if isinstance(theta, bool) or not isinstance(theta, (int, float, str, mp.mpf, np.floating)):
        raise TypeError(f"theta: expected a real scalar, got {type(theta).__name__}")
    th = mp.mpf(theta)
    if not (0 <= th <= c.pi):
        raise ValueError("theta: must lie in [0, pi]")
    return th


def g_s(problem, dps=None, *, backend=None, prec=None):
    """``g_s = 1 - (pi - 1)(1.a*)^2 / ((k + pi - 1)|a*|^2 - (1.a*)^2)`` (g at the saddle)."""
    with _Numbers(problem, dps, backend, prec) as c:
        return c.out(c.g_s())


def alpha(problem, dps=None, *, backend=None, prec=None):
    """``alpha = a*^T M^-1 a*``, the curvature of the reduced loss in g."""
    with _Numbers(problem, dps, backend, prec) as c:
        return c.out(c.alpha())
