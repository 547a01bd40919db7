"""Public evaluation of L, grad L and the Hessian: float64 (batched), mpmath and arb.

All three number systems run the same code, :mod:`verified_pgd.formulas`; this module
only validates input and converts it into the number system.
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping, Set

import numpy as np

from . import formulas
from ._validate import (as_float_array, check_dps, check_dps_cap, check_last_dim,
                        check_nonzero_w, finite_result)
from .backends import Arb, Float64, MPMath, teacher
from .problem import Problem

_F64 = Float64()


def _check_problem(prob):
    if not isinstance(prob, Problem):
        raise TypeError(f"prob: expected a verified_pgd.Problem, got {type(prob).__name__}")


def _f64_inputs(prob, w, a):
    _check_problem(prob)
    w = as_float_array(w, "w")
    a = as_float_array(a, "a")
    check_last_dim(w, prob.p, "w", "p")
    check_last_dim(a, prob.k, "a", "k")
    try:
        np.broadcast_shapes(w.shape[:-1], a.shape[:-1])
    except ValueError:
        raise ValueError(f"w, a: batch shapes {w.shape[:-1]} and {a.shape[:-1]} do not broadcast") from None
    check_nonzero_w(w)
    return w, a


def loss(prob: Problem, w, a) -> np.ndarray:
    """Population loss L(w, a) in float64 (form L2, see :mod:`verified_pgd.formulas`).

    ``w`` has shape (..., p) and ``a`` shape (..., k); leading axes broadcast and the
    result has the broadcast batch shape (a Python float for unbatched input).
    """
    w, a = _f64_inputs(prob, w, a)
    with np.errstate(over="ignore", invalid="ignore"):
        out = formulas.loss(_F64, prob.w_hat_star, prob.a_star, prob.s, w, a)
    finite_result(out, "loss", {"w": w, "a": a})
    return out[()] if np.ndim(out) == 0 else out


def grad(prob: Problem, w, a, *, riemannian: bool = False):
    """Gradient ``(g_w, g_a)`` in float64, shapes (..., p) and (..., k).

    With ``riemannian=True``, ``g_w`` is projected on the tangent space of the sphere
    through w (the gradient that normalized PGD uses).
    """
    w, a = _f64_inputs(prob, w, a)
    bshape = np.broadcast_shapes(w.shape[:-1], a.shape[:-1])
    with np.errstate(over="ignore", invalid="ignore"):
        g_w, g_a = formulas.grad(_F64, prob.w_hat_star, prob.a_star, prob.s, w, a,
                                 riemannian=riemannian)
    finite_result((g_w, g_a), "grad", {"w": w, "a": a})
    return (np.broadcast_to(g_w, bshape + (prob.p,)).copy(),
            np.broadcast_to(g_a, bshape + (prob.k,)).copy())


def hessian(prob: Problem, w, a, *, riemannian: bool = False) -> np.ndarray:
    """Hessian in (w, a) coordinates, shape (..., p + k, p + k), float64.

    ``riemannian=True`` gives the Riemannian Hessian on the sphere through w (see
    :func:`verified_pgd.formulas.hessian`).
    """
    w, a = _f64_inputs(prob, w, a)
    with np.errstate(over="ignore", invalid="ignore"):
        H = np.array(formulas.hessian(_F64, prob.w_hat_star, prob.a_star, prob.s, w, a,
                                      riemannian=riemannian), dtype=np.float64)
    finite_result(H, "hessian", {"w": w, "a": a})
    return H


def theta(prob: Problem, w) -> np.ndarray:
    """Angle between w and w* (batched), via 2 atan2(|w_hat - w_hat*|, |w_hat + w_hat*|)."""
    _check_problem(prob)
    w = as_float_array(w, "w")
    check_last_dim(w, prob.p, "w", "p")
    check_nonzero_w(w)
    out = formulas.theta_of(_F64, prob.w_hat_star, w)
    return out[()] if np.ndim(out) == 0 else out


# --------------------------------------------------------------------------- mpmath

def _to_mp_vector(x, name, mp, size, what):
    """Convert a 1-D sequence of real numbers (float, int, str, mpf) to an object array."""
    if isinstance(x, (str, bytes, Mapping, Set)) or x is None:
        raise TypeError(f"{name}: expected a sequence of real numbers, got {type(x).__name__}")
    if isinstance(x, np.ndarray) and x.dtype != object:
        x = as_float_array(x, name)
    try:
        items = list(x)
    except TypeError:
        raise TypeError(f"{name}: expected a sequence of real numbers, got {type(x).__name__}") from None
    if len(items) == 0:
        raise ValueError(f"{name}: must not be empty")
    out = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, (numbers.Real, str, mp.mpf, np.floating)):
            if isinstance(v, (list, tuple, np.ndarray)):
                raise ValueError(f"{name}: expected a 1-D vector (the mpmath functions are not batched)")
            raise TypeError(f"{name}: element {i} is not a real number: {v!r}")
        try:
            m = mp.mpf(v)
        except (ValueError, TypeError):
            raise ValueError(f"{name}: element {i} is not a number: {v!r}") from None
        if not mp.isfinite(m):
            raise ValueError(f"{name}: contains NaN or inf")
        out[i] = m
    if len(out) != size:
        raise ValueError(f"{name}: length is {len(out)} but the problem has {what} = {size}")
    return out


class _MPInputs:
    """``(B, w_hat*, a*, s, w, a)`` in mpmath under ``B.workdps(dps)`` (the backend's one
    precision mechanism and :func:`verified_pgd.backends.teacher`)."""

    def __init__(self, prob, w, a, dps, need_a=True):
        _check_problem(prob)
        self.dps = check_dps_cap(check_dps(dps))
        self.B = MPMath()
        self.ctx = self.B.workdps(self.dps)
        self.prob, self.w, self.a, self.need_a = prob, w, a, need_a

    def __enter__(self):
        self.ctx.__enter__()
        B = self.B
        mp = B.mp
        w = _to_mp_vector(self.w, "w", mp, self.prob.p, "p")
        a = _to_mp_vector(self.a, "a", mp, self.prob.k, "k") if self.need_a else None
        if all(x == 0 for x in w):
            self.ctx.__exit__(None, None, None)
            check_nonzero_w(np.zeros(1))
        T = teacher(B, self.prob)
        return B, T.w_hat_star, T.a_star, T.s, w, a

    def __exit__(self, *exc):
        return self.ctx.__exit__(*exc)


def loss_mp(prob: Problem, w, a, dps: int = 50):
    """Population loss at ``dps`` decimal digits (mpmath ``mpf``).

    ``w`` and ``a`` are 1-D sequences of floats, ints, decimal strings or ``mpf``;
    the teacher's float64 values are taken exactly.
    """
    with _MPInputs(prob, w, a, dps) as args:
        return +formulas.loss(*args)


def grad_mp(prob: Problem, w, a, dps: int = 50, *, riemannian: bool = False):
    """Gradient ``(g_w, g_a)`` at ``dps`` digits, as object arrays of ``mpf``."""
    with _MPInputs(prob, w, a, dps) as args:
        g_w, g_a = formulas.grad(*args, riemannian=riemannian)
        return np.array([+x for x in g_w], dtype=object), np.array([+x for x in g_a], dtype=object)


def hessian_mp(prob: Problem, w, a, dps: int = 50, *, riemannian: bool = False):
    """Hessian at ``dps`` digits, a (p + k, p + k) object array of ``mpf``."""
    with _MPInputs(prob, w, a, dps) as args:
        H = formulas.hessian(*args, riemannian=riemannian)
        return np.vectorize(lambda x: +x, otypes=[object])(H)


def theta_mp(prob: Problem, w, dps: int = 50):
    """Angle between w and w* at ``dps`` digits (an ``mpf``; ``w`` a 1-D sequence)."""
    with _MPInputs(prob, w, None, dps, need_a=False) as (B, w_hat_star, _, _s, w, _a):
        return +formulas.theta_of(B, w_hat_star, w)


# --------------------------------------------------------------------------- arb

def with_arb(prob: Problem, w, a, prec: int = 200):
    """Backend and arguments for evaluating :mod:`formulas` in arb balls at ``prec`` bits.

    Returns ``(B, w_hat_star, a_star, s, w, a)``; call e.g.
    ``formulas.loss(*with_arb(prob, w, a))`` inside ``flint.ctx.workprec(prec)``-free
    code: this sets ``flint.ctx.prec`` to ``prec`` for the conversion only, so the caller
    must evaluate under the same precision.  Inputs are taken exactly (floats, ints,
    decimal strings become balls enclosing their value).
    """
    import flint
    _check_problem(prob)
    B = Arb()

    def conv(x, name, size, what):
        if isinstance(x, np.ndarray) and x.dtype != object:
            x = as_float_array(x, name)
        out = np.array([v if isinstance(v, flint.arb) else flint.arb(v) for v in x], dtype=object)
        if out.ndim != 1 or len(out) != size:
            raise ValueError(f"{name}: expected a vector of length {what} = {size}")
        return out

    w = conv(w, "w", prob.p, "p")
    a = conv(a, "a", prob.k, "k")
    T = teacher(B, prob)
    return B, T.w_hat_star, T.a_star, T.s, w, a
