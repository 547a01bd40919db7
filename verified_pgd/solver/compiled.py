"""The compiled float64 engine (:mod:`verified_pgd.solver.kernel`) behind ``vp.pgd``, and the
choice of engine: ``engine="auto" | "compiled" | "numpy"``.

``auto`` is the compiled engine for float64 runs (the full simulator: :mod:`.kernel`; the
reduced one: :mod:`.reduced_kernel`), the numpy engine otherwise (mpmath/arb).  numba is imported on first use; if it
cannot be imported, ``auto`` falls back to the numpy engine with one RuntimeWarning per
process (the two engines agree to rounding, see the kernel's docstring) and an explicit
``engine="compiled"`` is an error.  ``Result.config["engine"]`` records the engine that
ran, so ``rerun`` repeats the very same arithmetic.
"""
from __future__ import annotations

import numpy as np

from .._warn import warn_at_caller

__all__ = ["ENGINES", "available", "resolve_engine", "run"]

ENGINES = ("auto", "compiled", "numpy")
_state = {"kernel": None, "error": None, "warned": False}


def available() -> bool:
    """numba and the kernel import (cached; the first failure is kept)."""
    if _state["kernel"] is None and _state["error"] is None:
        try:
            import numba  # noqa: F401  (a failing import is the fallback's trigger)
            from . import kernel
            _state["kernel"] = kernel
        except ImportError as exc:
            _state["error"] = exc
    return _state["kernel"] is not None


def resolve_engine(engine, kind: str, reduced: bool) -> str:
    """The engine that runs: "compiled" or "numpy" (validates ``engine``)."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine: expected 'auto', 'compiled' or 'numpy', got {engine!r}")
    if engine == "numpy":
        return "numpy"
    fits = kind == "float64"
    if engine == "compiled":
        if not fits:
            raise ValueError(f"engine: the compiled engine runs float64 only, not precision "
                             f"{kind!r}; use engine='numpy' or 'auto'")
        if not available():
            raise ImportError(f"engine: 'compiled' needs numba, which cannot be imported "
                              f"({_state['error']}); use engine='numpy' or 'auto'")
        return "compiled"
    if not fits:
        return "numpy"
    if available():
        return "compiled"
    if not _state["warned"]:
        _state["warned"] = True
        warn_at_caller(f"numba cannot be imported ({_state['error']}); vp.pgd uses the numpy "
                       "engine (same noise, results agree to rounding, slower)", RuntimeWarning)
    return "numpy"


def run(cfg):
    """The Result of the run ``cfg`` (a RunConfig: float64, full simulator) on the kernel.

    ``chunk_size`` only bounds the memory of one kernel call (the records of its chains);
    a chain's path does not depend on it.  The kernel's per-chain output goes through the
    run-level bookkeeping (:meth:`~.bookkeeping.Outputs.absorb`)."""
    from .bookkeeping import Outputs, norm_bounds
    from .sfc64 import seed_states
    if not available():
        raise ImportError(f"engine: 'compiled' needs numba ({_state['error']})")
    problem = cfg.problem
    M, p, k = cfg.chains, problem.p, problem.k
    ast = problem.a_star
    sa_norm = problem.s * float(np.sqrt((ast * ast).sum()))
    lo, hi = norm_bounds(cfg)
    segments = [(g.start, g.stop, g.eta, g.sigma_w, g.sigma_a) for g in cfg.segments]
    out = Outputs(cfg, {"w": p, "a": k})
    W, A = np.empty((M, p)), np.empty((M, k))
    step = cfg.chunk_size or M
    for c0 in range(0, M, step):
        c1 = min(M, c0 + step)
        # the streams of rng.chain_generator, seeded in compiled code (bitwise the same state)
        states = seed_states(cfg.seed, cfg.first_chain + c0, cfg.first_chain + c1)
        o = _state["kernel"].run_chains(
            states, cfg.W0[c0:c1], cfg.A0[c0:c1], problem.w_hat_star, problem.w_star, ast,
            problem.s, sa_norm, segments, cfg.normalized, cfg.ball, cfg.batch, cfg.eps,
            cfg.divergence_bound, lo, hi, cfg.record_steps, cfg.record_states)
        states = {"w": o["hw"], "a": o["ha"]} if cfg.record_states else None
        out.absorb(c0, c1, o["hit"], o["div"], o["loss"], o["theta"], o["a_error"], states)
        W[c0:c1], A[c0:c1] = o["w"], o["a"]
    return out.result(W, A)
