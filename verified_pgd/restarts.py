"""Independent restarts with a final selection by the loss: the remedy for the 1/delta law.

docs/theory.md ("The annealing schedule") shows that in the two-well picture every
single-chain annealing schedule needs ``T >~ delta^(-Delta L / L(spurious))`` steps to
fail with probability ``<= delta``.  Outside that family: run ``restarts = m`` independent
PGD runs of one schedule (failure probability ``delta0`` each) and keep the run with the
smallest final loss.  A run that failed ends near the spurious minimum, at loss
``~ L(spurious) > 0``; a successful one ends near 0; so the selection fails only when all
``m`` runs fail, with probability ``delta0^m``, and ``m = log(1/delta)/log(1/delta0)``
restarts of a fixed schedule cost ``O(log(1/delta))`` times its length.

``select="random"`` (keep a run chosen independently of the outcomes) is the negative
control: its failure probability stays ``delta0``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_int
from .problem import Problem

__all__ = ["RestartResult", "pgd_restarts"]

_SELECT = ("loss", "random")


@dataclass(frozen=True)
class RestartResult:
    """Outcome of :func:`pgd_restarts` for ``chains`` independent restart groups.

    ``final_loss`` (chains, restarts): float64 loss of each run's final state (``inf``
    for a diverged run, so it is never preferred); ``selected`` (chains,) the index of the
    kept run; ``success`` (chains,) eps-success of the kept run (``Result.success``: reached
    and not diverged); ``run_success`` (chains, restarts) the same for every run;
    ``total_steps`` = restarts x the schedule's length (the cost); ``result`` the
    underlying :class:`verified_pgd.solver.Result` (run ``j`` of group ``c`` is chain
    ``c * restarts + j``).
    """

    final_loss: np.ndarray
    selected: np.ndarray
    success: np.ndarray
    run_success: np.ndarray
    restarts: int
    total_steps: int
    select: str
    result: object


def _starts(x, chains, m, name):
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return np.broadcast_to(x, (chains * m, x.size)).copy()
    if x.ndim == 2 and x.shape[0] == chains:
        return np.repeat(x, m, axis=0)
    raise ValueError(f"{name}: expected shape (dim,) or (chains, dim), got {x.shape}")


def pgd_restarts(problem, w0, a0, schedule, eta=None, *, restarts, chains=1, seed=0,
                 select="loss", **pgd_kwargs) -> RestartResult:
    """``restarts`` independent runs of :func:`verified_pgd.pgd` per chain from the same
    start (w0, a0 of shape (p,)/(k,) or per chain (chains, p)/(chains, k)), keeping the
    run with the smallest final loss (``select="loss"``) or one chosen at random
    (``select="random"``, the control).  Other keyword arguments go to ``pgd``."""
    from .evaluate import loss
    from .solver import pgd
    if not isinstance(problem, Problem):
        raise TypeError(f"problem: expected a verified_pgd.Problem, got {type(problem).__name__}")
    m = check_int(restarts, "restarts", minimum=1)
    chains = check_int(chains, "chains", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    if select not in _SELECT:
        raise ValueError(f"select: expected one of {', '.join(_SELECT)}, got {select!r}")
    W = _starts(w0, chains, m, "w0")
    A = _starts(a0, chains, m, "a0")
    res = pgd(problem, W, A, schedule, eta, seed=seed, chains=chains * m, **pgd_kwargs)
    with np.errstate(all="ignore"):
        fl = np.asarray(loss(problem, res.w, res.a), dtype=float)
    fl = np.where(res.diverged | ~np.isfinite(fl), np.inf, fl).reshape(chains, m)
    ok = res.success.reshape(chains, m)
    if select == "loss":
        sel = np.argmin(fl, axis=1)
    else:
        # independent of the runs' outcomes: its own stream, derived from the seed
        sel = np.random.default_rng([seed, 0x5E1EC7]).integers(0, m, size=chains)
    success = ok[np.arange(chains), sel]
    for x in (fl, sel, success, ok):
        x.setflags(write=False)
    return RestartResult(fl, sel, success, ok, m, m * int(schedule.total_steps), select, res)
