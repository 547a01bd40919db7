"""The annealing schedule built from the landscape constants (docs/theory.md,
"The annealing schedule").

    >>> import verified_pgd as vp
    >>> from verified_pgd import theory
    >>> prob = vp.Problem.default()
    >>> sched = theory.schedule(prob, eps=1e-6, delta=1e-3, eta=0.5)
    >>> sched.stages[-1].sigma_w       # the last stage is noise-free
    0.0

Temperature ``T = eta sigma^2 / 2``: the stationary law of PGD with step ``eta`` and noise
``sigma`` is close to ``exp(-L / T)``.  Stages (docs/theory.md, "The annealing schedule"):

1. **escape** — ``T_esc = max(Delta L / X_ESC, T_freeze)`` (between the spurious barrier
   ``Delta L`` and the global-side barrier ``L(saddle) >= (pi - 1)^2 Delta L``), held for
   ``hold(T) = C_HOLD * tau(T) * exp(Delta L / T) * log(3 / delta)`` steps, where
   ``tau(T) = (pi - theta_s)^2 / (2 eta T) + 2 pi / (eta (pi - 1))`` is the time to
   diffuse across the spurious basin plus the relaxation time of ``a``;
2. **descent** — gradual cooling.  *Barrier levels*: ``Delta L / T`` up by one per level,
   each held ``hold(T)``, down to ``T_freeze``, the largest temperature at which the
   equilibrium mass of the spurious side (:func:`spurious_fraction`) is
   ``<= delta / (3 FREEZE_MARGIN)``.  *Relaxation levels*: T divided by ``GAMMA`` per
   level, ``C_RELAX / (eta mu)`` steps each, down to ``T_end``, where the equilibrium
   spread in the global well is within half the certified basin radius with probability
   ``1 - delta / 3``;
3. **local** — sigma = 0 for ``ceil(log(r / eps_abs) / log(1 / rho))`` steps: the
   certified GD contraction factor ``rho`` (:func:`basin_contraction_factor`) inside the
   basin of radius ``r`` (:func:`basin_radius`), with ``eps_abs`` the chart distance that
   implies eps-success.

Without a spurious minimum there is no barrier: the escape stage only has to move chains
off the critical set theta = pi (w = -w*), at ``T = l(pi) / X_STAY``.

The constants ``X_ESC, X_STAY, GAMMA, C_HOLD, C_RELAX, FREEZE_MARGIN`` are safety factors
on time scales whose form comes from the theory; their values were set by measurement
(escape times: :mod:`verified_pgd.escape`; the discrete-time excess over the Gibbs mass)
and the property tests (tests/test_property_convergence.py) check the result.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .._validate import check_positive
from ..problem import Problem
from ..solver.schedule import Schedule
from . import constants, landscape

__all__ = ["schedule", "design", "ScheduleDesign", "spurious_fraction", "freeze_temperature", "temperature", "sigma_for_temperature",
           "X_ESC", "X_STAY", "GAMMA", "C_HOLD", "C_RELAX", "FREEZE_MARGIN"]

X_ESC = 1.0      # Delta L / T at the escape stage: escape takes ~e^1 diffusion times
X_STAY = 8.0     # no spurious minimum: l(pi) / T, keeps the global well tight
GAMMA = 2.0      # temperature ratio between successive cooling levels
C_HOLD = 4.0     # safety factor on the escape time estimate (calibrated, docs/theory.md)
C_RELAX = 4.0    # relaxation times per cooling level in the global well
FREEZE_MARGIN = 10.0  # discrete PGD leaves up to ~4x the Gibbs mass on the spurious side
                      # at eta lam_max ~ 1 (measured); the freeze level is delta / (3 * this)


def temperature(sigma, eta) -> float:
    """``T = eta sigma^2 / 2``."""
    return float(eta) * float(sigma) ** 2 / 2.0


def sigma_for_temperature(T, eta) -> float:
    """``sigma = sqrt(2 T / eta)``."""
    return math.sqrt(2.0 * float(T) / float(eta))


@dataclass(frozen=True)
class ScheduleDesign:
    """The schedule and the numbers it was built from (all float64).

    Attributes
    ----------
    schedule : Schedule
    stages : tuple of (name, sigma, steps, temperature)   name in escape/barrier/relax/local
    escape_steps, descent_steps, local_steps, total_steps : int
    barrier, saddle_loss, spurious_loss : float or None  (None without a spurious minimum)
    T_escape, T_freeze, T_end : float
        escape temperature; temperature below which the spurious side holds < delta/3 in
        equilibrium; last noisy temperature
    tau_escape : float   diffusion/relaxation time scale tau(T_escape) (steps)
    basin_radius, contraction : float   certified r and rho
    eps_abs : float      chart distance that implies eps-success
    """

    schedule: Schedule
    stages: tuple
    escape_steps: int
    descent_steps: int
    local_steps: int
    total_steps: int
    barrier: float | None
    saddle_loss: float | None
    spurious_loss: float | None
    T_escape: float
    T_freeze: float
    T_end: float
    tau_escape: float
    basin_radius: float
    contraction: float
    eps_abs: float


def spurious_fraction(problem, T) -> float:
    """Equilibrium mass of the spurious side {theta > theta_s} at temperature ``T``.

    On |w| = 1 the a-Hessian ``M / 2pi`` does not depend on theta, so integrating the
    Gibbs density ``exp(-L(theta, a) / T)`` over ``a`` leaves ``exp(-l(theta) / T)`` with
    ``l`` = :func:`reduced_loss`; the uniform measure on S^(p-1) contributes
    ``sin(theta)^(p-2)``.  The fraction is the ratio of the two quadratures (each with
    its own minimum factored out, so nothing underflows):
    ``f = N e^(-l_sp/T) / (D + N e^(-l_sp/T))``.

    For p = 1 the sphere is the two points w = +-1 (theta = 0, pi) and ``sin^(-1)`` is
    not integrable: the fraction is the two-point Gibbs weight of theta = pi,
    ``1 / (1 + e^((l(pi) - l(0)) / T))``.
    """
    from scipy.integrate import quad
    from scipy.special import expit
    T = check_positive(T, "T")
    if not landscape.has_spurious_minimum(problem):
        return 0.0
    if problem.p == 1:
        l0, lpi = (float(landscape.reduced_loss(problem, th)) for th in (0.0, math.pi))
        return float(expit(-(lpi - l0) / T))
    th_s = float(landscape.saddle_theta(problem))
    l_sp = float(landscape.spurious_minimum(problem).loss)
    p = problem.p

    def dens(th, shift):
        return math.exp(-(float(landscape.reduced_loss(problem, th)) - shift) / T) \
            * math.sin(th) ** (p - 2)
    D = quad(dens, 0.0, th_s, args=(0.0,), limit=400, epsabs=0, epsrel=1e-10,
             points=[min(th_s / 2, 20 * math.sqrt(T))])[0]
    N = quad(dens, th_s, math.pi, args=(l_sp,), limit=400, epsabs=0, epsrel=1e-10)[0]
    if D == 0.0:
        return 1.0
    ratio = N / D * math.exp(-l_sp / T)
    return ratio / (1.0 + ratio)


def freeze_temperature(problem, level, T_max) -> float:
    """The largest ``T <= T_max`` with :func:`spurious_fraction` ``<= level`` (bisection in
    log T; the fraction increases with T)."""
    if spurious_fraction(problem, T_max) <= level:
        return float(T_max)
    lo, hi = T_max, T_max
    while spurious_fraction(problem, lo) > level:
        hi, lo = lo, lo / 2
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        if spurious_fraction(problem, mid) <= level:
            lo = mid
        else:
            hi = mid
    return lo


def _check_unit(x, name):
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not 0 < float(x) < 1:
        raise ValueError(f"{name}: expected a number in (0, 1), got {x!r}")
    return float(x)


def _ceil(x) -> int:
    if not math.isfinite(x):
        raise ValueError("schedule: a stage length overflowed (barrier too high for this eta)")
    return max(1, int(math.ceil(x)))


def design(problem, eps, delta, eta, *, escape_factor=1.0) -> ScheduleDesign:
    """Build the annealing schedule and report how (module docstring).

    Parameters
    ----------
    problem : Problem
    eps : float in (0, 1)        target eps-success (docs/design.md section 4)
    delta : float in (0, 1)      allowed failure probability
    eta : float                  step size, 0 < eta < 2 / (lam_max + mu/2) (the range where
                                 the certified basin contraction factor is < 1)
    escape_factor : float > 0    multiplies the lengths of the escape stage and of the
                                 barrier levels, everything above the freeze temperature
                                 (1 = the design; the tests' negative control shortens it)
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem: expected a verified_pgd.Problem, got {type(problem).__name__}")
    eps = _check_unit(eps, "eps")
    delta = _check_unit(delta, "delta")
    eta = check_positive(eta, "eta")
    escape_factor = check_positive(escape_factor, "escape_factor")
    sp = constants.hessian_spectrum(problem)
    mu, lam_max = float(sp.mu), float(sp.lam_max)
    eta_hi = 2.0 / (lam_max + mu / 2)
    if eta >= eta_hi:
        raise ValueError(f"eta: must be < 2 / (lam_max + mu/2) = {eta_hi:.6g} for this problem "
                         f"(certified local contraction), got {eta}")
    r = float(constants.basin_radius(problem))
    rho = float(constants.basin_contraction_factor(problem, eta))
    pi = math.pi
    k, p = problem.k, problem.p
    lam_a = (pi - 1) / (2 * pi)          # smallest eigenvalue of the a-block M / 2pi (|w| = 1)
    log3d = math.log(3.0 / delta)
    has = landscape.has_spurious_minimum(problem)
    if has:
        dL = float(landscape.barrier(problem))
        th_s = float(landscape.saddle_theta(problem))
        L_saddle = float(landscape.saddle(problem).loss) if p >= 2 else None
        L_spur = float(landscape.spurious_minimum(problem).loss)
        d = pi - th_s
        # Hot enough to cross Delta L quickly, but never hotter than needed: when the
        # spurious side already holds < delta/(3 F) at a temperature above Delta L / X_ESC
        # (a low barrier), escape right there and skip the barrier levels.
        T_freeze = freeze_temperature(problem, delta / (3.0 * FREEZE_MARGIN), L_spur)
        T_esc = max(dL / X_ESC, T_freeze)
    else:
        dL = L_saddle = L_spur = None
        l_pi = float(landscape.reduced_loss(problem, pi))
        T_esc = l_pi / X_STAY
        d = pi / 2
        T_freeze = T_esc

    def tau(T):
        return d * d / (2 * eta * T) + 1.0 / (eta * lam_a)

    def hold(T):
        # Expected escape time ~ tau(T) exp(Delta L / T); C_HOLD of them, times log(3/delta)
        # so that P(not escaped) <= exp(-C_HOLD log(3/delta)) <= delta/3.
        barrier_term = math.exp(dL / T) if has else 1.0
        return C_HOLD * tau(T) * barrier_term * log3d

    stages = []
    n_esc = _ceil(escape_factor * hold(T_esc))
    stages.append(("escape", T_esc, n_esc))
    T = T_esc
    # Barrier levels: keep cooling slowly while the spurious side still holds mass.
    # Each level raises Delta L / T by one, so its escape time is e times the last one's
    # and the total is dominated by the coldest level (a geometric sum).
    while has and T > T_freeze:
        T = max(dL / (dL / T + 1.0), T_freeze)
        stages.append(("barrier", T, _ceil(escape_factor * hold(T))))
    # Relaxation levels down to T_end: global-well spread <= r/2 w.p. 1 - delta/3
    # (|Delta|^2 <= (T/mu)(sqrt(dim) + sqrt(2 log(3/delta)))^2, Gaussian concentration).
    dim = p - 1 + k
    T_end = mu * (r / 2) ** 2 / (math.sqrt(dim) + math.sqrt(2 * log3d)) ** 2
    n_relax = _ceil(C_RELAX / (eta * mu))
    while T > T_end:
        T = max(T / GAMMA, T_end)
        stages.append(("relax", T, n_relax))
    sa = problem.s * float(np.linalg.norm(problem.a_star))
    eps_abs = eps * min(1.0, sa) / math.sqrt(2.0)
    n_loc = _ceil(math.log(r / eps_abs) / -math.log(rho))
    stages.append(("local", 0.0, n_loc))
    out = tuple((name, sigma_for_temperature(T, eta) if T > 0 else 0.0, n, T)
                for name, T, n in stages)
    sched = Schedule([(sig, n) for _, sig, n, _ in out])
    n_desc = sum(n for name, _, n, _ in out if name in ("barrier", "relax"))
    return ScheduleDesign(sched, out, n_esc, n_desc, n_loc, sched.total_steps, dL, L_saddle,
                          L_spur, T_esc, T_freeze, T_end, tau(T_esc), r, rho, eps_abs)


def schedule(problem, eps, delta, eta) -> Schedule:
    """The annealing schedule for eps-success with probability >= 1 - delta at step size
    ``eta`` (see :func:`design` for the numbers behind it, docs/theory.md for why each
    stage length suffices).  Its ``total_steps`` is the bound T(problem, eps, delta, eta)
    under test."""
    return design(problem, eps, delta, eta).schedule
