"""Old module path, kept importable: the process-parallel runner is
:mod:`verified_pgd.solver.parallel` (reached through ``vp.pgd(..., workers=N)``)."""
from __future__ import annotations

from .solver import parallel
from .solver.config import build_config

__all__ = ["pgd_parallel"]


def pgd_parallel(problem, w0, a0, schedule, eta=None, seed=0, chains=1, normalized=True,
                 noise="gaussian", gradient="population", precision="float64",
                 record_every=None, eps=1e-6, chunk_size=None, *, record_states=False,
                 divergence_bound=None, first_chain=0, workers=None, reduced=False,
                 engine="auto"):
    """``vp.pgd(..., workers=workers, reduced=reduced)`` (default: one worker per core)."""
    cfg = build_config(problem, w0, a0, schedule, eta, seed, chains, normalized, noise,
                       gradient, precision, record_every, eps, chunk_size,
                       record_states=record_states, divergence_bound=divergence_bound,
                       first_chain=first_chain, reduced=reduced, engine=engine)
    return parallel.run(cfg, parallel.check_workers(workers))
