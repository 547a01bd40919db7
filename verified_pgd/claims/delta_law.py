"""The 1/delta law as a measured quantity: claims ``quantity = "delta_exponent"``.

docs/theory.md ("The annealing schedule") shows that in the two-well picture every
single-chain annealing schedule needs ``T >~ delta^(-c)`` steps to fail with probability
``delta``, ``c = Delta L / L(spurious)``.  This module measures the exponent for one
family of single-chain schedules and gives it an exact, conservative interval.

**The family** (a barrier-level ladder, the descent of :func:`verified_pgd.theory.schedule`
without its safety factors): levels ``x = x_min, x_min + x_step, ..., x_max`` of
``x = Delta L / T`` (temperature ``T = eta sigma^2 / 2``), level x held for
``ceil(hold * tau_1d(x))`` steps, ``tau_1d`` the 1-D mean escape time
(:func:`verified_pgd.theory.escape_time`, ``method="1d"``).  Member j of the family is
the ladder cut after level j and followed by ``quench`` noise-free steps; its length
``T_j`` is deterministic.  A chain *fails* when after the quench it is on the spurious
side (``theta >= theta_s``), or diverged, or non-finite.

**Simulation.**  Member j's chains are the ladder's chains after level j, quenched: the
ladder is run level by level (one :func:`verified_pgd.pgd` call per level, from the
previous level's final states, with an independent seed per level derived from the
claim's seed), so one ladder serves every member.  Each member's sample is an exact
sample of its own schedule; the members are dependent, which the union bound below
does not mind.

**The fit.**  ``y_j = log(1/delta_j)`` against ``u_j = log T_j``: the least-squares
slope ``beta = sum_j w_j y_j``, ``w_j = (u_j - mean u) / sum (u - mean u)^2`` (the
deterministic T_j as regressor), and the exponent ``1 / beta`` (so ``T ~ delta^(-1/beta)``
along the family).  **The interval.**  Each ``delta_j`` gets the exact two-sided
Clopper-Pearson interval at level ``1 - alpha / J`` (``J`` members; Bonferroni: all J
hold at once with probability ``>= 1 - alpha``); ``beta`` is linear in the ``y_j``, so
its exact range over that box is ``sum_j w_j (y_j^low or y_j^high)`` by the sign of
``w_j``, and the exponent interval is ``[1/beta_high, 1/beta_low]`` (``inf`` when
``beta_low <= 0``).  It covers the exponent of the true failure probabilities with
probability ``>= 1 - alpha``, whatever the shape of ``delta(T)``.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["LadderFamily", "ladder_family", "FailureCounts", "failure_counts",
           "cached_failure_counts",
           "ExponentFit", "fit_exponent", "DEFAULTS", "MAX_MEMBERS"]

# optional parameters of the quantity and their defaults (docs/claims.md)
DEFAULTS = {"x_min": 0.5, "x_step": 0.5, "hold": 4.0, "quench": 200}
MAX_MEMBERS = 40
_SEED_TAG = 0xDE17A       # separates the ladder's level seeds from other uses of `seed`


@dataclass(frozen=True)
class LadderFamily:
    """The family of single-chain schedules (module docstring).

    ``levels``: the x = Delta L / T of each level; ``sigmas``, ``steps``: its noise and
    length; ``quench``: noise-free steps closing every member; ``total_steps``: T_j, the
    length of member j (levels 0..j plus the quench)."""

    levels: tuple
    sigmas: tuple
    steps: tuple
    quench: int
    total_steps: tuple


def ladder_family(problem, eta, x_min, x_max, x_step, hold, quench) -> LadderFamily:
    """The ladder for ``problem`` at step ``eta`` (the parameters are validated by the
    claims parser, :mod:`.spec`; this checks the problem and the total length)."""
    from .._validate import limit
    from ..theory import barrier, escape_time, has_spurious_minimum
    if not has_spurious_minimum(problem):
        raise ValueError("delta_exponent: the problem has no spurious minimum (no barrier)")
    n = int(math.floor((x_max - x_min) / x_step + 1e-9)) + 1
    levels = tuple(x_min + j * x_step for j in range(n))
    dL = float(barrier(problem))
    sigmas, steps = [], []
    for x in levels:
        sigma = math.sqrt(2.0 * dL / x / eta)
        tau = escape_time(problem, eta, sigma, method="1d")
        if not math.isfinite(tau) or hold * tau > limit("steps"):
            raise ValueError(f"delta_exponent: level x = {x:g} needs {hold * tau:.3g} steps "
                             f"(more than the limit {limit('steps')}; lower x_max)")
        sigmas.append(sigma)
        steps.append(max(1, int(math.ceil(hold * tau))))
    total = tuple(int(s) + quench for s in np.cumsum(steps))
    if total[-1] > limit("steps"):
        raise ValueError(f"delta_exponent: the longest schedule has {total[-1]} steps (more "
                         f"than the limit {limit('steps')}; lower x_max)")
    return LadderFamily(levels, tuple(sigmas), tuple(steps), int(quench), total)


@dataclass(frozen=True)
class FailureCounts:
    """``failures[j]`` of ``chains`` chains of member j failed (module docstring)."""

    family: LadderFamily
    failures: tuple
    chains: int


def _level_seed(seed, j):
    return int(np.random.SeedSequence([seed, _SEED_TAG, j]).generate_state(1)[0])


def _failed(problem, result, th_s):
    theta = np.asarray(result.history.theta[-1], float)
    return ~np.isfinite(theta) | (theta >= th_s) | np.asarray(result.diverged, bool)


def failure_counts(problem, family, eta, w0, a0, chains, seed) -> FailureCounts:
    """Run the ladder once with ``chains`` chains from ``(w0, a0)`` and count each member's
    failures.  Same arguments, same counts (bit for bit)."""
    from ..solver import Schedule, pgd
    from ..theory import saddle_theta
    th_s = float(saddle_theta(problem))
    # w0, a0: one shared start or one row per chain (init = "random")
    W0 = np.broadcast_to(np.asarray(w0, float), (chains, problem.p))
    A0 = np.broadcast_to(np.asarray(a0, float), (chains, problem.k))
    W, A = W0.copy(), A0.copy()
    quench = Schedule.constant(0.0, family.quench)
    dead = np.zeros(chains, bool)      # a chain that diverged once stays failed
    fails = []
    for j, (sigma, n) in enumerate(zip(family.sigmas, family.steps)):
        res = pgd(problem, W, A, Schedule.constant(sigma, n), eta, seed=_level_seed(seed, j),
                  chains=chains, record_every=n)
        dead |= np.asarray(res.diverged, bool) | ~np.all(np.isfinite(res.w), axis=1) \
            | ~np.all(np.isfinite(res.a), axis=1)
        W, A = np.array(res.w, float), np.array(res.a, float)
        # finite placeholders for dead chains so the next call is valid; they count as failed
        W[dead], A[dead] = W0[dead], A0[dead]
        q = pgd(problem, W, A, quench, eta, seed=0, chains=chains, record_every=family.quench)
        fails.append(int(np.sum(_failed(problem, q, th_s) | dead)))
    return FailureCounts(family, tuple(fails), int(chains))


@functools.lru_cache(maxsize=32)
def cached_failure_counts(problem, family, eta, w0, a0, chains, seed):
    """:func:`failure_counts` memoised on its arguments (the starts as tuples): claims that
    differ only in their bound (a law and its negative control) share one simulation."""
    return failure_counts(problem, family, eta, np.array(w0), np.array(a0), chains, seed)


@dataclass(frozen=True)
class ExponentFit:
    """The fitted exponent of ``T ~ delta^(-exponent)`` along a family, with its interval.

    ``exponent`` = 1/``slope`` (nan when undefined: a member without failures, or a
    slope <= 0); ``low``/``high`` the interval (``high`` may be inf); ``slope_low``,
    ``slope_high`` the exact range of the least-squares slope of log(1/delta) on log T over
    the Clopper-Pearson box ``delta_low``/``delta_high`` (per member, level 1 - alpha/J);
    ``alpha`` the probability that the interval misses the true exponent."""

    exponent: float
    low: float
    high: float
    slope: float
    slope_low: float
    slope_high: float
    delta_low: tuple
    delta_high: tuple
    alpha: float


def _inv(b):
    return math.inf if b <= 0 else 0.0 if math.isinf(b) else 1.0 / b


def fit_exponent(total_steps, failures, chains, alpha) -> ExponentFit:
    """The least-squares exponent and its conservative interval (module docstring)."""
    from .statistics import clopper_pearson
    J = len(total_steps)
    if J < 2 or len(failures) != J or len(set(total_steps)) < 2:
        raise ValueError("delta_exponent: need at least two members of different lengths")
    u = np.log(np.asarray(total_steps, float))
    w = (u - u.mean()) / float(np.sum((u - u.mean()) ** 2))
    lows, highs, y_lo, y_hi = [], [], [], []
    for f in failures:
        lo, hi = clopper_pearson(int(f), int(chains), alpha / (2 * J))   # two-sided 1 - alpha/J
        lows.append(lo)
        highs.append(hi)
        y_lo.append(-math.log(hi))                        # hi > 0 always (CP upper bound)
        y_hi.append(math.inf if lo == 0 else -math.log(lo))
    # a member of weight exactly 0 (its log T at the mean) does not move the slope; skipped,
    # since 0 * inf (a member without failures) would be nan
    b_lo = sum(float(wj) * (lo if wj > 0 else hi) for wj, lo, hi in zip(w, y_lo, y_hi) if wj != 0)
    b_hi = sum(float(wj) * (hi if wj > 0 else lo) for wj, lo, hi in zip(w, y_lo, y_hi) if wj != 0)
    if all(f > 0 for f in failures):
        slope = float(np.sum(w * -np.log(np.asarray(failures, float) / chains)))
        est = 1.0 / slope if slope > 0 else math.nan
    else:
        slope = est = math.nan
    return ExponentFit(est, _inv(b_hi), _inv(b_lo), slope, b_lo, b_hi, tuple(lows),
                       tuple(highs), float(alpha))
