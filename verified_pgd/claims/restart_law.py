"""The restart remedy as a measured quantity: claims ``quantity = "restart_exponent"``.

``vp.pgd_restarts`` (m runs of one schedule, keep the lowest final loss) should fail with
probability ``delta0^m``, ``delta0`` the single-run failure probability (docs/theory.md,
"The annealing schedule").  The quantity is the effective number of independent runs

    m_eff = log(1/q) / log(1/delta0)        (q: failure rate of the m-restart selection)

which is m when the selection by the loss is perfect and 1 for a selection that ignores
the outcomes (``select = "random"``, the negative control).

**Setting.**  From the spurious minimum: constant noise at ``x = Delta L / T`` for
``ceil(hold * tau_1d(x))`` steps (``theory.escape_time(..., method="1d")``), then
``quench`` noise-free steps; failure = not eps-success at the end (``Result.success``:
a diverged run never succeeds).  ``chains`` single runs (seed ``seed``) estimate delta0,
``chains`` restart groups (seed ``seed + 1``) estimate q.

**Interval.**  Exact two-sided Clopper-Pearson intervals for delta0 and q, each at level
``1 - alpha/2`` (union bound: both hold with probability ``>= 1 - alpha``); m_eff is
decreasing in q and increasing in delta0, so ``[log(1/q_hi)/log(1/d_lo),
log(1/q_lo)/log(1/d_hi)]`` covers it (``inf`` when ``q_lo = 0`` or ``d_hi = 1``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULTS", "RestartFit", "restart_fit", "restart_schedule", "SELECT"]

DEFAULTS = {"hold": 2.0, "quench": 300, "eps": 1e-2}
SELECT = ("loss", "random")


def restart_schedule(problem, eta, x, hold, quench):
    """The single-run schedule (module docstring)."""
    from ..solver import Schedule
    from ..theory import barrier, escape_time, has_spurious_minimum
    if not has_spurious_minimum(problem):
        raise ValueError("restart_exponent: the problem has no spurious minimum (no barrier)")
    sigma = math.sqrt(2.0 * float(barrier(problem)) / x / eta)
    tau = escape_time(problem, eta, sigma, method="1d")
    if not math.isfinite(tau) or hold * tau > 1e8:
        raise ValueError(f"restart_exponent: x = {x:g} needs {hold * tau:.3g} steps (lower x)")
    return Schedule([(sigma, max(1, int(math.ceil(hold * tau)))), (0.0, int(quench))])


@dataclass(frozen=True)
class RestartFit:
    """``m_eff`` (nan when undefined) and its interval ``[low, high]``; the counts
    behind it (``single_failures`` of ``chains`` single runs, ``restart_failures`` of
    ``chains`` groups of ``restarts``), the schedule length and ``alpha``."""

    m_eff: float
    low: float
    high: float
    single_failures: int
    restart_failures: int
    chains: int
    restarts: int
    steps: int
    alpha: float


def _ratio(num_q, den_d):
    """log(1/q) / log(1/d) with the limits the interval needs."""
    lq = math.inf if num_q == 0 else -math.log(num_q)
    ld = math.inf if den_d == 0 else -math.log(den_d)
    if ld == 0:
        return math.inf
    if math.isinf(ld):
        return 0.0 if math.isfinite(lq) else math.nan
    return lq / ld


def fit_from_counts(single_failures, restart_failures, chains, alpha):
    """``(m_eff, low, high)`` from the two failure counts (module docstring)."""
    from .statistics import clopper_pearson
    d_lo, d_hi = clopper_pearson(single_failures, chains, alpha / 4)
    q_lo, q_hi = clopper_pearson(restart_failures, chains, alpha / 4)
    d, q = single_failures / chains, restart_failures / chains
    est = _ratio(q, d) if 0 < d < 1 and q > 0 else math.nan
    return est, _ratio(q_hi, d_lo), _ratio(q_lo, d_hi)


def restart_fit(problem, eta, x, restarts, *, hold, quench, eps, select, chains, seed,
                alpha) -> RestartFit:
    """Run the single runs and the restart groups and fit m_eff (module docstring)."""
    from ..restarts import pgd_restarts
    from ..theory import spurious_minimum
    sched = restart_schedule(problem, eta, x, hold, quench)
    sp = spurious_minimum(problem)
    w0, a0 = np.asarray(sp.w, float), np.asarray(sp.a, float)
    kw = dict(eps=eps, record_every=sched.total_steps)
    single = pgd_restarts(problem, w0, a0, sched, eta, restarts=1, chains=chains, seed=seed,
                          **kw)
    group = pgd_restarts(problem, w0, a0, sched, eta, restarts=restarts, chains=chains,
                         seed=seed + 1, select=select, **kw)
    f1 = int(chains - np.sum(single.success))
    f2 = int(chains - np.sum(group.success))
    est, lo, hi = fit_from_counts(f1, f2, chains, alpha)
    return RestartFit(est, lo, hi, f1, f2, int(chains), int(restarts), sched.total_steps,
                      float(alpha))
