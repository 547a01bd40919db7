"""Old module path, kept importable: the reduced simulator is
:mod:`verified_pgd.solver.reduced` (reached through ``vp.pgd(..., reduced=True)``)."""
from __future__ import annotations

from .solver import reduced as _engine
from .solver.config import build_config
from .solver.reduced import STREAM_TAG, chain_streams

__all__ = ["pgd_reduced", "STREAM_TAG", "chain_streams"]


def pgd_reduced(problem, w0, a0, schedule, eta=None, seed=0, chains=1, normalized=True,
                noise="gaussian", gradient="population", precision="float64",
                record_every=None, eps=1e-6, chunk_size=None, *, record_states=False,
                divergence_bound=None, first_chain=0):
    """``vp.pgd(..., reduced=True)``."""
    return _pgd_reduced(problem, w0, a0, schedule, eta, seed, chains, normalized, noise,
                        gradient, precision, record_every, eps, chunk_size, record_states,
                        divergence_bound, first_chain)


def _pgd_reduced(problem, w0, a0, schedule, eta, seed, chains, normalized, noise, gradient,
                 precision, record_every, eps, chunk_size, record_states, divergence_bound,
                 first_chain, _chi_df=None):
    """Tests only: ``_chi_df`` overrides the chi-square degrees of freedom (negative control)."""
    cfg = build_config(problem, w0, a0, schedule, eta, seed, chains, normalized, noise,
                       gradient, precision, record_every, eps, chunk_size,
                       record_states=record_states, divergence_bound=divergence_bound,
                       first_chain=first_chain, reduced=True)
    return _engine.run(cfg, _chi_df=_chi_df)
