"""The façade: :func:`pgd` and :func:`rerun`.  They validate (once, :func:`.config.build_config`)
and dispatch to an engine; no step arithmetic or bookkeeping lives here."""
from __future__ import annotations

from ..problem import Problem
from . import parallel
from .config import build_config
from .engines import serial_engine
from .result import Result
from .schedule import Schedule

__all__ = ["pgd", "rerun"]


def pgd(problem, w0, a0, schedule, eta=None, seed=0, chains=1, normalized=True,
        noise="gaussian", gradient="population", precision="float64", record_every=None,
        eps=1e-6, chunk_size=None, *, record_states=False, divergence_bound=None,
        first_chain=0, reduced=False, workers=1, engine="auto") -> Result:
    """Run perturbed gradient descent on ``chains`` independent chains.

    Parameters
    ----------
    problem : Problem
    w0, a0 : array_like, shape (p,) / (k,) shared by all chains, or (chains, p) / (chains, k)
        Initial state.  With ``normalized`` w0 is first scaled to the unit sphere.  A start
        whose loss overflows float64 is refused (ValueError naming a0).
    schedule : Schedule (or a list of (sigma, steps) stages, or a schedule dict)
        Step size and noise levels (sigma_w on w, sigma_a on a) per step; zero noise
        throughout is plain gradient descent.  ``Schedule.zhou2019()`` is the protocol of
        Zhou et al. (2019).
    eta : float > 0 or None
        Step size of a noise-only schedule (stages ``(sigma, steps)``).  None: the
        schedule's stages carry their own eta (an explicit eta with such a schedule is an
        error, not a silent override).
    seed : int >= 0
        Chain i uses Generator(SFC64(SeedSequence(seed).spawn(chains)[i])).
    chains : int >= 1
    normalized : bool
        True (default): Riemannian gradient and retraction w <- w/|w| (weight-normalized
        model); False: free parametrization with the Euclidean gradient.
    noise : "gaussian" | "ball"
        The perturbation xi is N(0, I) or uniform in the unit ball, scaled by sigma.
    gradient : "population" | int
        Population closed form, or the sample gradient of ``gradient`` fresh inputs
        Z ~ N(0, I) of shape (k, p) per step (perturbed mini-batch SGD; float64 only).
    precision : "float64" | int dps | "mp:<dps>" | "arb:<bits>"
        Float64 (batched), mpmath at dps decimal digits, or python-flint arb balls whose
        enclosures contain the exact-arithmetic trajectory for the same noise draws.
    record_every : int >= 1
        History interval (default: total_steps // 100, at least 1); the last state is
        always recorded.
    eps : float in (0, 1)
        eps-success: theta <= eps and | |w| a - s a* | <= eps |s a*|.
    chunk_size : int or None
        Chains processed together (memory knob; results do not depend on it).
    record_states : bool
        Also keep w and a at the recorded steps (arb: with radii).
    divergence_bound : float > 1 or None
        A chain is flagged diverged (and frozen) when a coordinate of a exceeds it, when
        |w| leaves [1/bound, bound] (free parametrization), or when a value is not finite;
        default ``1e6 * max(1, s |a*|_inf, |a0|_inf, |w0|_2)``.  See docs/solvers.md.
    first_chain : int >= 0
        Index of the first chain: this run's chain j is chain ``first_chain + j`` of the
        seed, so a large run split over workers is bitwise the same as one run.
    reduced : bool
        Use the dimension-free reduced simulator (:mod:`verified_pgd.solver.reduced`):
        the same law as the full simulator (tested), cost per step independent of p, but
        other random streams and a final w rebuilt in a fixed plane.  Population gradient
        and float64 only.
    workers : int >= 1 or None
        Split the chains over this many processes (:mod:`verified_pgd.solver.parallel`;
        None: one per core); the Result is bitwise the same for every value.  Workers
        start from a fork server, so a script using ``workers > 1`` needs the usual
        ``if __name__ == "__main__":`` guard.
    engine : "auto" | "compiled" | "numpy"
        Float64 arithmetic: the compiled numba kernel (:mod:`verified_pgd.solver.compiled`)
        or the numpy engine (the readable reference).  "auto": compiled for float64 runs
        (full and reduced simulator; numpy, with one warning, where numba cannot be
        imported), numpy otherwise.  Same noise; paths agree to rounding; each engine is bitwise
        reproducible on its own.  ``Result.config["engine"]`` records the one that ran.

    Returns
    -------
    Result
    """
    cfg = build_config(problem, w0, a0, schedule, eta, seed, chains, normalized, noise,
                       gradient, precision, record_every, eps, chunk_size,
                       record_states=record_states, divergence_bound=divergence_bound,
                       first_chain=first_chain, reduced=reduced, engine=engine)
    if workers != 1:
        return parallel.run(cfg, parallel.check_workers(workers))
    return serial_engine(cfg)(cfg)


def rerun(config: dict) -> Result:
    """Run again from ``Result.config``: bitwise the same Result."""
    c = dict(config)
    c.pop("bit_generator", None)
    c.pop("stream", None)
    c["reduced"] = c.pop("reduced", False)
    c.setdefault("engine", "numpy")     # a result stored before the compiled engine existed
    prob = Problem.from_dict(c.pop("problem"))
    sched = Schedule.from_dict(c.pop("schedule"))
    return pgd(prob, c.pop("w0"), c.pop("a0"), sched, **c)
