"""Hypothesis strategies for the verified_pgd model: problems, initialisations, step sizes
and schedules.  Public and composable, for this project's property tests and for other
projects' CI.

    >>> from hypothesis import given
    >>> from verified_pgd import strategies as vst, theory
    >>> @given(vst.problems(k=vst.st.integers(2, 6), spurious=True))
    ... def test_barrier_positive(problem):
    ...     assert theory.barrier(problem) > 0

Every argument that sizes a problem accepts either a plain value or a Hypothesis
strategy, so ``problems(k=4)`` fixes k and ``problems(k=st.integers(2, 8))`` draws it.

Problems are *constructed* to have (or not have) a spurious minimum rather than filtered:
write ``a* = c 1/sqrt(k) + v`` with ``v`` orthogonal to ``1``; docs/design.md's condition
``pi (1.a*)^2 < (k + pi - 1)|a*|^2`` is equivalent to
``c^2 (k - 1)(pi - 1) < (k + pi - 1)|v|^2``, so choosing ``|c|`` as a fraction (or a
multiple) of ``c_max = |v| sqrt((k + pi - 1) / ((k - 1)(pi - 1)))`` decides the
landscape; the exact test :func:`verified_pgd.theory.has_spurious_minimum` confirms it.

Initialisations are :class:`Init` records ``(kind, w, a)``; the adversarial kinds are the
points where noise-free gradient descent fails or stalls: exactly at and near the spurious
minimum, on the saddle set, far out in ``a``, and at ``w = -w*`` (where the Riemannian
gradient in w vanishes for every a).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from .problem import Problem
from .schedule import Schedule

__all__ = ["st", "problems", "initialisations", "step_sizes", "schedules", "cases", "Init",
           "STATE_KINDS", "ADVERSARIAL_KINDS", "eta_max"]

# Kinds of generated test states (config.INIT_KINDS are a config's starting points).
STATE_KINDS = ("uniform", "spurious", "near_spurious", "saddle", "large_a", "antipodal")
ADVERSARIAL_KINDS = STATE_KINDS[1:]
_NEEDS_SPURIOUS = ("spurious", "near_spurious", "saddle")


def _as_strategy(x, name, default):
    if x is None:
        return default
    if isinstance(x, st.SearchStrategy):
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name}: expected a number or a hypothesis strategy, got {x!r}")
    return st.just(x)


def _unit_vector(draw, n, name="direction"):
    """A unit vector in R^n from bounded coordinates; a degenerate draw becomes e_1
    (constructed, never filtered)."""
    x = np.array(draw(st.lists(st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False),
                               min_size=n, max_size=n)), dtype=float)
    nrm = float(np.linalg.norm(x))
    if not nrm > 1e-6:
        x = np.zeros(n)
        x[0] = 1.0
        nrm = 1.0
    return x / nrm


def _c_max_ratio(k):
    """c_max / |v| = sqrt((k + pi - 1) / ((k - 1)(pi - 1)))."""
    return math.sqrt((k + math.pi - 1) / ((k - 1) * (math.pi - 1)))


@st.composite
def problems(draw, k=None, p=None, s=None, a_norm=None, spurious=None, margin=0.1):
    """Teacher problems ``Problem(w_star, a_star)``.

    Parameters
    ----------
    k, p : int or strategy
        Number of patches (default 1..6; at least 2 when ``spurious=True``) and filter
        size (default 2..5).
    s : float or strategy
        ``|w*|`` (default 0.5..2).
    a_norm : float or strategy
        ``|a*|`` (default 0.5..2).
    spurious : None | True | False
        None: any a*; True: a spurious local minimum exists; False: it does not.  The
        condition holds with relative margin ``margin`` on ``|c| / c_max`` (keeps the
        barrier away from 0, where every time scale diverges).

    Examples
    --------
    >>> problems(k=4, p=3, spurious=True).example().k    # doctest: +SKIP
    4
    """
    if spurious not in (None, True, False):
        raise ValueError(f"spurious: expected None, True or False, got {spurious!r}")
    if not 0 <= margin < 1:
        raise ValueError(f"margin: expected a number in [0, 1), got {margin!r}")
    kk = draw(_as_strategy(k, "k", st.integers(2 if spurious else 1, 6)))
    pp = draw(_as_strategy(p, "p", st.integers(2, 5)))
    ss = float(draw(_as_strategy(s, "s", st.floats(0.5, 2.0))))
    an = float(draw(_as_strategy(a_norm, "a_norm", st.floats(0.5, 2.0))))
    if isinstance(kk, bool) or int(kk) != kk or kk < 1:
        raise ValueError(f"k: expected an integer >= 1, got {kk!r}")
    if isinstance(pp, bool) or int(pp) != pp or pp < 1:
        raise ValueError(f"p: expected an integer >= 1, got {pp!r}")
    kk, pp = int(kk), int(pp)
    if spurious and kk < 2:
        raise ValueError("k: a spurious minimum needs k >= 2")
    if not (ss > 0 and an > 0):
        raise ValueError("s, a_norm: must be > 0")
    w_star = ss * _unit_vector(draw, pp)
    want = spurious if spurious is not None else (kk >= 2 and draw(st.booleans()))
    if kk == 1:
        a_star = np.array([an * draw(st.sampled_from([-1.0, 1.0]))])
        return Problem(w_star, a_star)
    one = np.ones(kk) / math.sqrt(kk)
    v = _unit_vector(draw, kk)
    v = v - (v @ one) * one
    if np.linalg.norm(v) < 1e-3:      # drawn v parallel to 1: use a fixed orthogonal one
        v = np.zeros(kk)
        v[0], v[1] = 1.0, -1.0
    v /= np.linalg.norm(v)
    cmax = _c_max_ratio(kk)
    sign = draw(st.sampled_from([-1.0, 1.0]))
    if want:
        frac = draw(st.floats(0.0, 1.0 - margin))
        c = sign * frac * cmax
    else:
        frac = draw(st.floats(1.0 + margin, 4.0 + margin))
        c = sign * frac * cmax
    a = c * one + v
    a_star = an * a / np.linalg.norm(a)
    prob = Problem(w_star, a_star)
    from .theory import has_spurious_minimum
    if has_spurious_minimum(prob) != bool(want):   # pragma: no cover - construction is exact
        raise AssertionError("problems(): construction did not give the requested landscape")
    return prob


@dataclass(frozen=True)
class Init:
    """An initial state: ``kind`` (one of :data:`STATE_KINDS`), ``w`` (p,), ``a`` (k,)."""

    kind: str
    w: np.ndarray
    a: np.ndarray

    def __repr__(self):
        return f"Init({self.kind!r}, w={np.round(self.w, 4).tolist()}, a={np.round(self.a, 4).tolist()})"


def _orthogonal_unit(draw, w_hat):
    """A unit vector orthogonal to w_hat (random direction; p >= 2)."""
    p = len(w_hat)
    x = _unit_vector(draw, p)
    x = x - (x @ w_hat) * w_hat
    n = float(np.linalg.norm(x))
    if n < 1e-3:
        from .theory import orthogonal_direction
        return np.asarray(orthogonal_direction(Problem(w_hat, np.ones(1))), dtype=float)
    return x / n


@st.composite
def initialisations(draw, problem, kind=None, scale=None):
    """Initial states ``Init(kind, w, a)`` for ``problem``.

    Kinds
    -----
    ``uniform``        w uniform on the sphere, a uniform in the cube of half-width
                       ``scale`` (default ``2 s |a*|_inf``)
    ``spurious``       exactly the spurious minimum ``(-w_hat*, a_bar)``
    ``near_spurious``  the spurious minimum with w and a moved by at most 1e-3
    ``saddle``         a point of the saddle set: theta = theta_s in a random direction
                       orthogonal to w*, a = a_s
    ``large_a``        random w, |a| between 10 and 100 times ``s |a*|``
    ``antipodal``      w = -w_hat* exactly, random a (the w-gradient vanishes there)

    ``kind`` may be one kind, a list of kinds, or None (all kinds that exist for the
    problem: the first three need a spurious minimum and p >= 2).

    Examples
    --------
    >>> import verified_pgd as vp
    >>> initialisations(vp.Problem.default(), kind="spurious").example().kind  # doctest: +SKIP
    'spurious'
    """
    from . import theory
    has = theory.has_spurious_minimum(problem)
    if kind is None:
        kinds = [x for x in STATE_KINDS if has or x not in _NEEDS_SPURIOUS]
    elif isinstance(kind, str):
        kinds = [kind]
    else:
        kinds = list(kind)
    for x in kinds:
        if x not in STATE_KINDS:
            raise ValueError(f"kind: expected one of {STATE_KINDS}, got {x!r}")
        if x in _NEEDS_SPURIOUS and not has:
            raise ValueError(f"kind: {x!r} needs a problem with a spurious minimum")
    kd = draw(st.sampled_from(kinds))
    p, k = problem.p, problem.k
    sa = problem.s * float(np.max(np.abs(problem.a_star)))
    half = float(scale) if scale is not None else 2.0 * sa

    def box(h):
        return np.array(draw(st.lists(st.floats(-h, h), min_size=k, max_size=k)), dtype=float)

    if kd == "uniform":
        return Init(kd, _unit_vector(draw, p), box(half))
    if kd in ("spurious", "near_spurious"):
        sp = theory.spurious_minimum(problem)
        w, a = np.array(sp.w, dtype=float), np.array(sp.a, dtype=float)
        if kd == "near_spurious":
            r = draw(st.floats(1e-8, 1e-3))
            w = w + r * _unit_vector(draw, p)
            a = a + r * _unit_vector(draw, k)
            w /= np.linalg.norm(w)
        return Init(kd, w, a)
    if kd == "saddle":
        th = float(theory.saddle_theta(problem))
        v = _orthogonal_unit(draw, np.asarray(problem.w_hat_star, dtype=float))
        w = math.cos(th) * problem.w_hat_star + math.sin(th) * v
        return Init(kd, w, np.array(theory.saddle(problem).a, dtype=float))
    if kd == "large_a":
        mag = draw(st.floats(10.0, 100.0)) * problem.s * float(np.linalg.norm(problem.a_star))
        return Init(kd, _unit_vector(draw, p), mag * _unit_vector(draw, k))
    # antipodal
    return Init(kd, -np.array(problem.w_hat_star, dtype=float), box(half))


def eta_max(problem) -> float:
    """Upper end of the step sizes the schedule supports: ``2 / (lam_max + mu/2)``, where the
    certified contraction factor in the basin is < 1 (inside the stable range
    ``(0, 2 / lam_max)`` of :func:`verified_pgd.theory.stable_step_range`)."""
    from .theory import hessian_spectrum
    sp = hessian_spectrum(problem)
    return 2.0 / (float(sp.lam_max) + float(sp.mu) / 2)


def step_sizes(problem, low=0.1, high=0.9):
    """Step sizes ``eta = f * eta_max(problem)`` with ``f`` uniform in ``[low, high]``
    (``0 < low <= high < 1``): always inside the stable range.

    >>> import verified_pgd as vp
    >>> 0 < step_sizes(vp.Problem.default()).example() < 1.0   # doctest: +SKIP
    True
    """
    if not 0 < low <= high < 1:
        raise ValueError(f"low, high: need 0 < low <= high < 1, got {low!r}, {high!r}")
    top = eta_max(problem)
    return st.floats(low, high).map(lambda f: f * top)


@st.composite
def schedules(draw, max_stages=4, sigma_max=1.0, max_steps=1000, final_zero=None):
    """Noise schedules: 1..``max_stages`` stages with non-increasing sigma in
    ``[0, sigma_max]`` and 1..``max_steps`` steps each; ``final_zero`` True/False forces
    a noise-free last stage or not (None: either).

    >>> schedules(max_stages=3).example().total_steps >= 1   # doctest: +SKIP
    True
    """
    from ._validate import check_int
    check_int(max_stages, "max_stages", minimum=1)
    check_int(max_steps, "max_steps", minimum=1)
    if not sigma_max > 0:
        raise ValueError(f"sigma_max: must be > 0, got {sigma_max!r}")
    n = draw(st.integers(1, max_stages))
    zero = draw(st.booleans()) if final_zero is None else bool(final_zero)
    # With noise at the end, every level is drawn from [sigma_max/1000, sigma_max] (so the
    # last one is > 0 by construction); otherwise from [0, sigma_max], last set to 0.
    low = 0.0 if zero else sigma_max / 1000
    sig = sorted((draw(st.floats(low, sigma_max)) for _ in range(n)), reverse=True)
    if zero:
        sig[-1] = 0.0
    steps = [draw(st.integers(1, max_steps)) for _ in range(n)]
    return Schedule(list(zip(sig, steps)))


@st.composite
def cases(draw, problem_strategy=None, kind=None, eta_low=0.1, eta_high=0.9):
    """``(problem, init, eta)`` triples: a problem, an initialisation of ``kind`` for it,
    and a step size in the stable range."""
    prob = draw(problem_strategy if problem_strategy is not None else problems(spurious=True))
    init = draw(initialisations(prob, kind=kind))
    eta = draw(step_sizes(prob, eta_low, eta_high))
    return prob, init, eta
