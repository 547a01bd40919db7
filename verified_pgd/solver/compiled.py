"""The compiled float64 engine (:mod:`verified_pgd.solver.kernel`) behind ``vp.pgd``, and the
choice of engine: ``engine="auto" | "compiled" | "numpy"``.

``auto`` is the compiled engine for float64 runs of the full simulator, the numpy engine
otherwise (mpmath/arb, the reduced simulator).  numba is imported on first use; if it
cannot be imported, ``auto`` falls back to the numpy engine with one RuntimeWarning per
process (the two engines agree to rounding, see the kernel's docstring) and an explicit
``engine="compiled"`` is an error.  ``Result.config["engine"]`` records the engine that
ran, so ``rerun`` repeats the very same arithmetic.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["ENGINES", "available", "resolve_engine", "run_float64"]

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
    fits = kind == "float64" and not reduced
    if engine == "compiled":
        if not fits:
            what = "the reduced simulator" if reduced else f"precision {kind!r}"
            raise ValueError(f"engine: the compiled engine runs the full float64 simulator "
                             f"only, not {what}; use engine='numpy' or 'auto'")
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
        warnings.warn(f"numba cannot be imported ({_state['error']}); vp.pgd uses the numpy "
                      "engine (same noise, results agree to rounding, slower)",
                      RuntimeWarning, stacklevel=3)
    return "numpy"


def run_float64(gens, W0, A0, problem, segments, normalized, ball, batch, eps, bound, lo, hi,
                rec, record_states):
    """One block of chains on the compiled kernel: the plain arrays of
    :func:`verified_pgd.solver.kernel.run_chains` (``segments``: (start, stop, eta, sigma_w,
    sigma_a) per stage)."""
    if not available():
        raise ImportError(f"engine: 'compiled' needs numba ({_state['error']})")
    ast = problem.a_star
    sa_norm = problem.s * float(np.sqrt((ast * ast).sum()))
    return _state["kernel"].run_chains(gens, W0, A0, problem.w_hat_star, problem.w_star, ast,
                                       problem.s, sa_norm, segments, normalized, ball, batch,
                                       eps, bound, lo, hi, rec, record_states)
