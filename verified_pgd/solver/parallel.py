"""Chain-parallel PGD: the chains of one run split over worker processes, bitwise the same
Result as one process.

Chains are independent and chain i's stream depends only on (seed, i) (:mod:`.rng`), so
the run ``chains = M`` is exactly the concatenation of the runs of the blocks
``RunConfig.block(lo_j, hi_j)`` of a partition of ``range(M)`` (same validated record
steps, divergence bound and schedule).  Each worker runs the ordinary engine on its block
for all steps — there is no per-step synchronisation, so on n idle cores the throughput is
close to n times one core's (the engines are single-threaded numpy).  Processes, not
threads: the per-step arrays are small (M/n x p), so numpy spends a large share of each
step in Python under the GIL and threads do not scale (measured).
"""
from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from .._validate import check_int
from .config import RunConfig
from .engines import serial_engine
from .result import History, Result

__all__ = ["run", "check_workers"]


def check_workers(workers) -> int:
    """``workers``: an int >= 1, or None for one per core."""
    if workers is None:
        workers = os.cpu_count() or 1
    return check_int(workers, "workers", minimum=1)


def _worker(cfg: RunConfig) -> Result:
    return serial_engine(cfg)(cfg)


def _context():
    # forkserver, not fork: forking a parent that runs threads (a Dask client, BLAS pools,
    # a GUI) can deadlock the child; the fork server is a clean single-threaded process,
    # started once, with the engines preloaded so each worker starts in milliseconds.
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["verified_pgd.solver.numpy", "verified_pgd.solver.reduced"])
    return ctx


def _cat(parts, axis):
    if parts[0] is None:
        return None
    return np.concatenate(parts, axis=axis)


def run(cfg: RunConfig, workers: int) -> Result:
    """The Result of ``cfg`` with its chains split over ``workers`` processes (at most
    ``chains``); ``==`` (bitwise, config included) the single-process Result."""
    n = min(workers, cfg.chains)
    edges = [cfg.chains * j // n for j in range(n + 1)]
    blocks = [cfg.block(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
    if n == 1:
        parts = [_worker(blocks[0])]
    else:
        with ProcessPoolExecutor(n, mp_context=_context()) as ex:
            parts = list(ex.map(_worker, blocks))
    return _merge(parts, cfg.to_dict())


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
