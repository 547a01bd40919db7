"""Chain-parallel PGD: the chains of one run split over worker processes, bitwise the same
Result as one process.

Chains are independent and chain i's stream depends only on (seed, i)
(:mod:`verified_pgd.rng`), so the run ``chains = M`` is exactly the concatenation of the
runs ``first_chain = lo_j, chains = hi_j - lo_j`` over a partition of ``range(M)``.  Each
worker runs the ordinary solver (:func:`verified_pgd.pgd`, or the reduced simulator) on its
block for all steps — there is no per-step synchronisation, so on n idle cores the
throughput is close to n times one core's (the solver itself is single-threaded numpy).
Processes, not threads: the solver's per-step arrays are small (M/n x p), so numpy spends
a large share of each step in Python under the GIL and threads do not scale (measured).

``pgd_parallel`` has the arguments of ``vp.pgd`` plus ``workers`` and ``reduced``; it
returns a Result equal (``==``, bitwise, config included) to the single-process call.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ._validate import check_int
from .result import History, Result

__all__ = ["pgd_parallel"]


def _worker(kw):
    # Problem and Schedule travel as their exact dict forms (Schedule is not picklable).
    from .problem import Problem
    from .schedule import Schedule
    kw["problem"] = Problem.from_dict(kw["problem"])
    kw["schedule"] = Schedule.from_dict(kw["schedule"])
    if kw.pop("_reduced"):
        kw.pop("engine")
        from .reduced import pgd_reduced as run
    else:
        from .solvers import pgd as run
    return run(**kw)


def _context():
    # forkserver, not fork: forking a parent that runs threads (a Dask client, BLAS pools,
    # a GUI) can deadlock the child; the fork server is a clean single-threaded process,
    # started once, with the solver preloaded so each worker starts in milliseconds.
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["verified_pgd.solvers", "verified_pgd.reduced"])
    return ctx


def _rows(x, lo, hi):
    arr = np.asarray(x, dtype=np.float64)
    return arr[lo:hi] if arr.ndim == 2 else x


def _cat(parts, axis):
    if parts[0] is None:
        return None
    return np.concatenate(parts, axis=axis)


def pgd_parallel(problem, w0, a0, schedule, eta, seed=0, chains=1, normalized=True,
                 noise="gaussian", gradient="population", precision="float64",
                 record_every=None, eps=1e-6, chunk_size=None, *, record_states=False,
                 divergence_bound=None, first_chain=0, workers=None, reduced=False,
                 engine="auto") -> Result:
    """``vp.pgd`` (or the reduced simulator with ``reduced=True``) with the chains split
    over ``workers`` processes (default: ``os.cpu_count()``, at most ``chains``)."""
    from .solvers import _config
    kw = dict(problem=problem, w0=w0, a0=a0, schedule=schedule, eta=eta, seed=seed,
              chains=chains, normalized=normalized, noise=noise, gradient=gradient,
              precision=precision, record_every=record_every, eps=eps, chunk_size=chunk_size,
              record_states=record_states, divergence_bound=divergence_bound,
              first_chain=first_chain, engine=engine)
    # Validate once, here, with the solver's own rules (errors name the parameter).
    cfg, schedule, _, _, _, _, _ = _config(problem, w0, a0, schedule, eta, seed, chains, normalized,
                                    noise, gradient, precision, record_every, eps,
                                    record_states, divergence_bound, chunk_size, first_chain)
    if workers is None:
        workers = os.cpu_count() or 1
    workers = check_int(workers, "workers", minimum=1)
    M = cfg["chains"]
    n = min(workers, M)
    # Everything below is fixed by the validated config, so every block sees the same
    # record steps and divergence bound as the single-process run.
    kw["record_every"] = cfg["record_every"]
    kw["divergence_bound"] = cfg["divergence_bound"]
    kw["problem"], kw["schedule"] = problem.to_dict(), schedule.to_dict()
    edges = [M * j // n for j in range(n + 1)]
    jobs = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        part = dict(kw, w0=_rows(w0, lo, hi), a0=_rows(a0, lo, hi), chains=hi - lo,
                    first_chain=cfg["first_chain"] + lo, _reduced=bool(reduced))
        jobs.append(part)
    if n == 1:
        parts = [_worker(jobs[0])]
    else:
        with ProcessPoolExecutor(n, mp_context=_context()) as ex:
            parts = list(ex.map(_worker, jobs))
    config = dict(cfg)       # what the single-process call records
    for key in ("reduced", "stream", "engine"):
        if key in parts[0].config:
            config[key] = parts[0].config[key]
    return _merge(parts, config)


def _merge(parts, config):
    hs = [r.history for r in parts]
    hist = History(step=hs[0].step, loss=_cat([h.loss for h in hs], 1),
                   theta=_cat([h.theta for h in hs], 1), a_error=_cat([h.a_error for h in hs], 1),
                   w=_cat([h.w for h in hs], 1), a=_cat([h.a for h in hs], 1),
                   w_rad=_cat([h.w_rad for h in hs], 1), a_rad=_cat([h.a_rad for h in hs], 1))
    exact = None
    if parts[0].exact is not None:
        exact = {key: sum((r.exact[key] for r in parts), []) for key in parts[0].exact}
    return Result(w=_cat([r.w for r in parts], 0), a=_cat([r.a for r in parts], 0),
                  history=hist, hit_step=_cat([r.hit_step for r in parts], 0),
                  diverged=_cat([r.diverged for r in parts], 0),
                  diverged_step=_cat([r.diverged_step for r in parts], 0),
                  seed=parts[0].seed, config=config, exact=exact)
