"""Perturbed gradient descent (DESIGN section 4): batched float64, mpmath and arb solvers.

One step, for every chain::

    g_w, g_a = gradient at (w, a)      # population closed form (verified_pgd.formulas) or
                                       # the sample gradient of a fresh mini-batch
    w <- w - eta (g_w + sigma xi)      # xi ~ N(0, I_p) or uniform in the unit ball
    a <- a - eta (g_a + sigma eps)     # eps ~ N(0, I_k) or uniform in the unit ball
    normalized: g_w is the Riemannian gradient and w <- w / |w|

All solvers evaluate the one generic :func:`verified_pgd.formulas.grad_and_geometry`:
in float64 on (M, p) arrays (through :func:`f64_terms`), in mpmath or arb object arrays
for the high-precision solvers.  All reductions are row-wise (no BLAS), so a chain's
float64 path does not depend on how many chains share the arrays.

Randomness: see :mod:`verified_pgd.rng`.  Chain i's stream depends only on (seed, i), so
its path is bitwise identical for any ``chains`` and ``chunk_size``; the high-precision
solvers consume the very same float64 noise vectors (converted exactly).

Divergence: after each update a chain is flagged when a value is non-finite, a
coordinate of ``a`` exceeds ``divergence_bound`` in absolute value, or (free
parametrization) ``|w|`` leaves ``[1/divergence_bound, divergence_bound]``.  The default
bound is ``1e6 * max(1, s |a*|_inf, |a0|_inf, |w0|_2)``.  A flagged chain is frozen at its
last good state and its ``diverged_step`` is the index of the offending state; nothing
raises inside the loop and no NaN reaches the history.
"""
from __future__ import annotations

import numbers
import re

import numpy as np

from . import formulas, rng
from ._validate import as_float_array, check_dps, check_int, check_nonzero_w, check_positive
from .backends import Float64
from .problem import Problem
from .result import History, Result
from .schedule import Schedule
from .solver.compiled import resolve_engine, run_float64 as _compiled_block

__all__ = ["pgd", "rerun", "parse_precision", "minibatch_grad", "f64_terms"]

_F64 = Float64()
_NOISES = ("gaussian", "ball")
# Working-set budget for one block of normals (bytes); block length is a speed knob only.
_BLOCK_BYTES = 16 * 2 ** 20
_MAX_BLOCK_STEPS = 64


# --------------------------------------------------------------------------- validation

def parse_precision(precision):
    """``"float64"`` -> ("float64", None); int dps or "mp:<dps>" -> ("mp", dps);
    ``"arb:<bits>"`` -> ("arb", bits)."""
    if isinstance(precision, str):
        if precision == "float64":
            return "float64", None
        m = re.fullmatch(r"(mp|arb):(\d+)", precision.strip())
        if m is None:
            raise ValueError(f"precision: expected 'float64', an integer number of digits, "
                             f"'mp:<dps>' or 'arb:<bits>', got {precision!r}")
        kind, n = m.group(1), int(m.group(2))
        if kind == "mp":
            return "mp", check_dps(n)
        if n < 53:
            raise ValueError(f"precision: arb needs at least 53 bits, got {n}")
        return "arb", n
    if isinstance(precision, bool) or not isinstance(precision, numbers.Integral):
        raise TypeError(f"precision: expected 'float64', an integer dps or 'arb:<bits>', "
                        f"got {precision!r}")
    try:
        return "mp", check_dps(precision)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"precision: {exc}") from None


def _check_bool(x, name):
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {x!r}")
    return bool(x)


def _initial(x, size, chains, name, what):
    arr = as_float_array(x, name)
    if arr.ndim == 1:
        if arr.shape[0] != size:
            raise ValueError(f"{name}: length is {arr.shape[0]} but the problem has {what} = {size}")
        return np.ascontiguousarray(np.broadcast_to(arr, (chains, size)))
    if arr.ndim == 2 and arr.shape == (chains, size):
        return np.ascontiguousarray(arr)
    raise ValueError(f"{name}: expected shape ({size},) or (chains, {size}) = ({chains}, {size}), "
                     f"got {arr.shape}")


def _config(problem, w0, a0, schedule, eta, seed, chains, normalized, noise, gradient,
            precision, record_every, eps, record_states, divergence_bound, chunk_size,
            first_chain=0):
    if not isinstance(problem, Problem):
        raise TypeError(f"problem: expected a verified_pgd.Problem, got {type(problem).__name__}")
    if not isinstance(schedule, Schedule):
        if isinstance(schedule, dict):
            schedule = Schedule.from_dict(schedule)
        else:
            try:
                schedule = Schedule(schedule)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"schedule: expected a Schedule ({exc})") from None
    eta = check_positive(eta, "eta")
    seed = check_int(seed, "seed", minimum=0)
    chains = check_int(chains, "chains", minimum=1)
    first_chain = check_int(first_chain, "first_chain", minimum=0)
    normalized = _check_bool(normalized, "normalized")
    if noise not in _NOISES:
        raise ValueError(f"noise: expected 'gaussian' or 'ball', got {noise!r}")
    if gradient != "population":
        if isinstance(gradient, bool) or not isinstance(gradient, numbers.Integral):
            raise ValueError(f"gradient: expected 'population' or an integer batch size, "
                             f"got {gradient!r}")
        gradient = check_int(gradient, "gradient", minimum=1)
    kind, prec = parse_precision(precision)
    if kind == "arb":
        precision = f"arb:{prec}"
    elif kind == "mp":
        precision = prec
    if kind != "float64" and gradient != "population":
        raise ValueError("gradient: mini-batch gradients are float64 only "
                         "(precision must be 'float64')")
    if record_every is None:
        record_every = max(1, schedule.total_steps // 100)
    record_every = check_int(record_every, "record_every", minimum=1)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < float(eps) < 1:
        raise ValueError(f"eps: expected a number in (0, 1), got {eps!r}")
    eps = float(eps)
    record_states = _check_bool(record_states, "record_states")
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    W0 = _initial(w0, problem.p, chains, "w0", "p")
    A0 = _initial(a0, problem.k, chains, "a0", "k")
    check_nonzero_w(W0, "w0")
    if divergence_bound is None:
        divergence_bound = 1e6 * max(1.0, problem.s * float(np.abs(problem.a_star).max()),
                                     float(np.abs(A0).max()),
                                     float(np.sqrt((W0 * W0).sum(-1)).max()))
    else:
        divergence_bound = check_positive(divergence_bound, "divergence_bound")
        if divergence_bound <= 1:
            raise ValueError(f"divergence_bound: must be > 1, got {divergence_bound}")
    cfg = {
        "problem": problem.to_dict(),
        "w0": as_float_array(w0, "w0").tolist(), "a0": as_float_array(a0, "a0").tolist(),
        "schedule": schedule.to_dict(), "eta": eta, "seed": seed, "chains": chains,
        "normalized": normalized, "noise": noise, "gradient": gradient,
        "precision": precision, "record_every": record_every, "eps": eps,
        "record_states": record_states, "divergence_bound": divergence_bound,
        "first_chain": first_chain, "bit_generator": rng.BIT_GENERATOR,
    }
    return cfg, schedule, W0, A0, kind, prec, chunk_size


def pgd(problem, w0, a0, schedule, eta, seed=0, chains=1, normalized=True, noise="gaussian",
        gradient="population", precision="float64", record_every=None, eps=1e-6,
        chunk_size=None, *, record_states=False, divergence_bound=None,
        first_chain=0, reduced=False, workers=1, engine="auto") -> Result:
    """Run perturbed gradient descent on ``chains`` independent chains.

    Parameters
    ----------
    problem : Problem
    w0, a0 : array_like, shape (p,) / (k,) shared by all chains, or (chains, p) / (chains, k)
        Initial state.  With ``normalized`` w0 is first scaled to the unit sphere.
    schedule : Schedule (or a list of (sigma, steps) stages)
        Noise level per step; sigma = 0 throughout is plain gradient descent.
    eta : float > 0
        Step size.
    seed : int >= 0
        Chain i uses Generator(SFC64(SeedSequence(seed).spawn(chains)[i])).
    chains : int >= 1
    normalized : bool
        True (default): Riemannian gradient and retraction w <- w/|w| (weight-normalized
        model); False: free parametrization with the Euclidean gradient.
    noise : "gaussian" | "ball"
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
        See the module docstring.
    first_chain : int >= 0
        Index of the first chain: this run's chain j is chain ``first_chain + j`` of the
        seed, so a large run split over workers (first_chain = 0, 1000, ...) is bitwise
        the same as one run.
    reduced : bool
        Use the dimension-free reduced simulator (:mod:`verified_pgd.reduced`): the same
        law as the full simulator (tested), cost per step independent of p, but other
        random streams and a final w rebuilt in a fixed plane.  Population gradient and
        float64 only.
    workers : int >= 1 or None
        Split the chains over this many processes (:mod:`verified_pgd.fastpath`; None:
        one per core); the Result is bitwise the same for every value.  Workers start
        from a fork server, so a script using ``workers > 1`` needs the usual
        ``if __name__ == "__main__":`` guard.
    engine : "auto" | "compiled" | "numpy"
        Float64 arithmetic: the compiled numba kernel (:mod:`verified_pgd.solver.compiled`;
        "auto" picks it for float64 runs of the full simulator, and falls back to numpy with
        one warning where numba cannot be imported) or the numpy engine (the readable
        reference).  Same noise; paths agree to rounding; each engine is bitwise
        reproducible on its own.  ``Result.config["engine"]`` records the one that ran.

    Returns
    -------
    Result
    """
    if not isinstance(reduced, (bool, np.bool_)):
        raise TypeError(f"reduced: expected True or False, got {reduced!r}")
    engine = resolve_engine(engine, parse_precision(precision)[0], bool(reduced))
    if workers != 1:
        from .fastpath import pgd_parallel
        return pgd_parallel(problem, w0, a0, schedule, eta, seed, chains, normalized, noise,
                            gradient, precision, record_every, eps, chunk_size,
                            record_states=record_states, divergence_bound=divergence_bound,
                            first_chain=first_chain, workers=workers, reduced=bool(reduced),
                            engine=engine)
    if reduced:
        from .reduced import pgd_reduced
        return pgd_reduced(problem, w0, a0, schedule, eta, seed, chains, normalized, noise,
                           gradient, precision, record_every, eps, chunk_size,
                           record_states=record_states, divergence_bound=divergence_bound,
                           first_chain=first_chain)
    cfg, schedule, W0, A0, kind, prec, chunk_size = _config(
        problem, w0, a0, schedule, eta, seed, chains, normalized, noise, gradient, precision,
        record_every, eps, record_states, divergence_bound, chunk_size, first_chain)
    cfg["engine"] = engine
    if engine == "compiled":
        return _run_compiled(problem, schedule, W0, A0, cfg, chunk_size)
    if kind == "float64":
        return _run_float64(problem, schedule, W0, A0, cfg, chunk_size)
    return _run_hp(problem, schedule, W0, A0, cfg, kind, prec)


def rerun(config: dict) -> Result:
    """Run again from ``Result.config``: bitwise the same Result."""
    c = dict(config)
    c.pop("bit_generator", None)
    c.pop("stream", None)
    c["reduced"] = c.pop("reduced", False)
    c.setdefault("engine", "numpy")     # results from before the compiled engine
    prob = Problem.from_dict(c.pop("problem"))
    sched = Schedule.from_dict(c.pop("schedule"))
    return pgd(prob, c.pop("w0"), c.pop("a0"), sched, **c)


# --------------------------------------------------------------------------- shared pieces

def _segments(schedule: Schedule):
    """(start, stop, sigma) for each stage."""
    b = schedule.boundaries()
    return [(b[i], b[i + 1], sig) for i, (sig, _) in enumerate(schedule.stages)]


def _record_steps(total: int, every: int) -> np.ndarray:
    steps = list(range(0, total + 1, every))
    if steps[-1] != total:
        steps.append(total)
    return np.array(steps, dtype=np.int64)


def _dot(x, y):
    return (x * y).sum(axis=-1)


def minibatch_grad(problem: Problem, w, a, Z, riemannian=False):
    """Sample gradient of ``1/2 mean_b (f(Z_b; w, a) - f(Z_b; w*, a*))^2``, float64.

    ``w`` (..., p), ``a`` (..., k), ``Z`` (..., B, k, p).  Its expectation over
    Z ~ N(0, I) is the population gradient (tested).  ``riemannian`` projects the
    w-part on the tangent space at w_hat.
    """
    w = np.asarray(w, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64)
    h = (Z * w[..., None, None, :]).sum(axis=-1)                      # (..., B, k)
    h_star = (Z * problem.w_star).sum(axis=-1)
    relu = np.maximum(h, 0.0)
    res = (relu * a[..., None, :]).sum(axis=-1) - (np.maximum(h_star, 0.0) * problem.a_star).sum(axis=-1)
    g_a = (res[..., None] * relu).mean(axis=-2)
    coef = res[..., None] * np.where(h > 0, a[..., None, :], 0.0)      # (..., B, k)
    g_w = (coef[..., None] * Z).sum(axis=-2).mean(axis=-2)
    if riemannian:
        u = np.sqrt(_dot(w, w))
        w_hat = w / u[..., None]
        g_w = g_w - _dot(g_w, w_hat)[..., None] * w_hat
    return g_w, g_a


# --------------------------------------------------------------------------- float64

def f64_terms(w_hat_star, a_star, s, w, a, riemannian=False):
    """``(g_w, g_a, theta, r)`` for (M, p), (M, k) float64 arrays: the one generic
    implementation (:func:`formulas.grad_and_geometry`) in the Float64 backend, whose
    row-wise einsum dot products make each chain's value independent of the batch size."""
    g_w, g_a, G, r = formulas.grad_and_geometry(_F64, w_hat_star, a_star, s, w, a, riemannian)
    return g_w, g_a, G.theta, r


def _run_float64(problem, schedule, W0, A0, cfg, chunk_size):
    M, p = W0.shape
    k = A0.shape[1]
    batch = cfg["gradient"] if cfg["gradient"] != "population" else None
    if chunk_size is None:
        # ~128 KiB per (chunk, p) array keeps the temporaries of one step in cache:
        # measured 1.75e6 vs 1.6e6 (CPU, noisy) chain-steps/s against whole 4096 blocks.
        chunk_size = (max(64, 16384 // max(p, k)) if batch is None
                      else max(1, (32 * 2 ** 20) // (8 * batch * k * p * 4)))
    rec = _record_steps(schedule.total_steps, cfg["record_every"])
    R = len(rec)
    out = {"w": np.empty((M, p)), "a": np.empty((M, k)),
           "loss": np.empty((R, M)), "theta": np.empty((R, M)), "a_error": np.empty((R, M)),
           "hit": np.empty(M, np.int64), "div": np.empty(M, np.int64)}
    if cfg["record_states"]:
        out["hw"] = np.empty((R, M, p))
        out["ha"] = np.empty((R, M, k))
    for start in range(0, M, chunk_size):
        stop = min(M, start + chunk_size)
        _chunk_float64(problem, schedule, W0[start:stop].copy(), A0[start:stop].copy(), cfg,
                       rec, start, stop, batch, out)
    hist = History(step=rec, loss=out["loss"], theta=out["theta"], a_error=out["a_error"],
                   w=out.get("hw"), a=out.get("ha"))
    return Result(w=out["w"], a=out["a"], history=hist, hit_step=out["hit"],
                  diverged=out["div"] >= 0, diverged_step=out["div"], seed=cfg["seed"],
                  config=cfg)


def _run_compiled(problem, schedule, W0, A0, cfg, chunk_size):
    # chunk_size only bounds the memory of one kernel call (the records of its chains);
    # a chain's path does not depend on it.
    M, p = W0.shape
    k = A0.shape[1]
    rec = _record_steps(schedule.total_steps, cfg["record_every"])
    normalized, bound = cfg["normalized"], cfg["divergence_bound"]
    lo, hi = (0.0, np.inf) if normalized else (1 / bound, bound)
    segs = [(b0, b1, cfg["eta"], sig, sig) for b0, b1, sig in _segments(schedule)]
    batch = cfg["gradient"] if cfg["gradient"] != "population" else None
    step = M if chunk_size is None else chunk_size
    parts = []
    for c0 in range(0, M, step):
        c1 = min(M, c0 + step)
        gens = rng.chain_generators(cfg["seed"], cfg["first_chain"] + c0, cfg["first_chain"] + c1)
        parts.append(_compiled_block(gens, W0[c0:c1], A0[c0:c1], problem, segs, normalized,
                                     cfg["noise"] == "ball", batch, cfg["eps"], bound, lo, hi,
                                     rec, cfg["record_states"]))
    cat = lambda key, axis: np.concatenate([q[key] for q in parts], axis=axis)  # noqa: E731
    rs = cfg["record_states"]
    hist = History(step=rec, loss=cat("loss", 1), theta=cat("theta", 1),
                   a_error=cat("a_error", 1), w=cat("hw", 1) if rs else None,
                   a=cat("ha", 1) if rs else None)
    div = cat("div", 0)
    return Result(w=cat("w", 0), a=cat("a", 0), history=hist, hit_step=cat("hit", 0),
                  diverged=div >= 0, diverged_step=div, seed=cfg["seed"], config=cfg)


def _chunk_float64(problem, schedule, w, a, cfg, rec, c0, c1, batch, out):
    p, k = problem.p, problem.k
    Mc = c1 - c0
    wst, ast, s = problem.w_hat_star, problem.a_star, problem.s
    sa_norm = s * float(np.sqrt(_dot(ast, ast)))
    eta, eps, bound = cfg["eta"], cfg["eps"], cfg["divergence_bound"]
    normalized, ball = cfg["normalized"], cfg["noise"] == "ball"
    f0 = cfg["first_chain"]
    gens = rng.chain_generators(cfg["seed"], f0 + c0, f0 + c1)
    hit = np.full(Mc, -1, np.int64)
    div = np.full(Mc, -1, np.int64)
    frozen = np.zeros(Mc, bool)
    rec_pos = {int(t): i for i, t in enumerate(rec)}
    if normalized:
        w = w / np.sqrt(_F64.dot(w, w))[:, None]

    def observe(t, w, a, theta, r):
        i = rec_pos.get(t)
        close = theta <= eps
        if close.any() or i is not None:   # |r| only when needed: a reduction per step is not free
            nr = np.sqrt(_F64.dot(r, r))
            new = (hit < 0) & close & (nr <= eps * sa_norm)
            if new.any():
                hit[new] = t
        if i is not None:
            out["loss"][i, c0:c1] = formulas.loss(_F64, wst, ast, s, w, a)
            out["theta"][i, c0:c1] = theta
            out["a_error"][i, c0:c1] = nr / sa_norm
            if "hw" in out:
                out["hw"][i, c0:c1] = w
                out["ha"][i, c0:c1] = a

    buf = None
    with np.errstate(all="ignore"):
        for start, stop, sigma in _segments(schedule):
            length = rng.record_length(p, k, sigma > 0, ball, batch)
            nnoise = rng.record_length(p, k, sigma > 0, ball, None)
            block = max(1, min(_MAX_BLOCK_STEPS, _BLOCK_BYTES // max(1, 8 * Mc * length)))
            for b0 in range(start, stop, block):
                b1 = min(stop, b0 + block)
                if length:
                    Zb = rng.draw_block(gens, b1 - b0, length, buf)
                    buf = Zb.base if Zb.base is not None else Zb
                for t in range(b0, b1):
                    g_w, g_a, theta, r = f64_terms(wst, ast, s, w, a, riemannian=normalized)
                    observe(t, w, a, theta, r)
                    if batch is not None:
                        Z = Zb[:, t - b0, nnoise:].reshape(Mc, batch, k, p)
                        g_w, g_a = minibatch_grad(problem, w, a, Z, riemannian=normalized)
                    # w - eta (g_w + sigma xi), evaluated in place (same roundings, fewer
                    # temporaries: + is commutative in IEEE arithmetic)
                    if sigma > 0:
                        xi, ep = rng.noise_from_normals(Zb[:, t - b0, :nnoise], p, k, ball)
                        dw = sigma * xi
                        dw += g_w
                        dw *= eta
                        da = sigma * ep
                        da += g_a
                        da *= eta
                    else:
                        dw = eta * g_w
                        da = eta * g_a
                    w_new = w - dw
                    a_new = a - da
                    u = np.sqrt(_F64.dot(w_new, w_new))
                    if normalized:
                        w_new /= u[:, None]
                    # u is NaN/inf iff some w-coordinate is; one global test per step, the
                    # per-chain masks only when it fires.
                    lo, hi = (0.0, np.inf) if normalized else (1 / bound, bound)
                    umin, umax = u.min(), u.max()
                    amax, amin = a_new.max(), a_new.min()
                    if not (umin >= lo and umin > 0 and umax <= hi and umax < np.inf
                            and amax <= bound and amin >= -bound):
                        bad = ~((u >= lo) & (u > 0) & (u <= hi) & (u < np.inf))
                        bad |= ~(np.abs(a_new).max(axis=-1) <= bound)
                        bad &= ~frozen
                        if bad.any():
                            div[bad] = t + 1
                            frozen |= bad
                    if frozen.any():
                        keep = frozen[:, None]
                        w_new = np.where(keep, w, w_new)
                        a_new = np.where(keep, a, a_new)
                    w, a = w_new, a_new
        T = schedule.total_steps
        _, _, theta, r = f64_terms(wst, ast, s, w, a, riemannian=normalized)
        observe(T, w, a, theta, r)
    out["w"][c0:c1] = w
    out["a"][c0:c1] = a
    out["hit"][c0:c1] = hit
    out["div"][c0:c1] = div


# --------------------------------------------------------------------------- high precision

class _HPContext:
    """Precision context, backend and exact conversion for mpmath or arb."""

    def __init__(self, kind, prec):
        self.kind, self.prec = kind, prec

    def __enter__(self):
        if self.kind == "mp":
            import mpmath
            from .backends import MPMath
            self._ctx = mpmath.workdps(self.prec)
            self._ctx.__enter__()
            self.B = MPMath()
            self.conv = mpmath.mpf
        else:
            import flint
            from .backends import Arb
            self._flint = flint
            self._old = flint.ctx.prec
            flint.ctx.prec = self.prec
            self.B = Arb()
            self.conv = flint.arb
        return self

    def __exit__(self, *exc):
        if self.kind == "mp":
            return self._ctx.__exit__(*exc)
        self._flint.ctx.prec = self._old
        return False

    def vec(self, x):
        # float64 -> exact in both mpmath (binary mantissa) and arb (exact ball of radius 0)
        return np.array([self.conv(float(v)) for v in x], dtype=object)

    def to_float(self, x):
        return float(x.mid()) if self.kind == "arb" else float(x)

    def enclosure(self, x):
        """float64 (mid, rad) with [mid - rad, mid + rad] containing the ball ``x``."""
        mid = float(x.mid())
        rad = float(x.rad()) * (1 + 2.0 ** -50) + float(abs(x.mid() - self.conv(mid))) * (1 + 2.0 ** -50)
        return mid, rad

    def text(self, x):
        if self.kind == "mp":
            import mpmath
            return mpmath.nstr(x, self.prec + 5, strip_zeros=False)
        return x.str(radius=True, more=True) if hasattr(x, "str") else str(x)


def _run_hp(problem, schedule, W0, A0, cfg, kind, prec):
    M, p = W0.shape
    k = A0.shape[1]
    rec = _record_steps(schedule.total_steps, cfg["record_every"])
    R = len(rec)
    arrays = {"w": np.empty((M, p)), "a": np.empty((M, k)), "loss": np.empty((R, M)),
              "theta": np.empty((R, M)), "a_error": np.empty((R, M)),
              "hit": np.full(M, -1, np.int64), "div": np.full(M, -1, np.int64)}
    if cfg["record_states"]:
        arrays["hw"], arrays["ha"] = np.empty((R, M, p)), np.empty((R, M, k))
        if kind == "arb":
            arrays["hw_rad"], arrays["ha_rad"] = np.empty((R, M, p)), np.empty((R, M, k))
    exact = {"w": [], "a": []}
    with _HPContext(kind, prec) as X:
        for i in range(M):
            w, a = _chain_hp(problem, schedule, W0[i], A0[i], cfg, X, i, rec, arrays)
            exact["w"].append([X.text(v) for v in w])
            exact["a"].append([X.text(v) for v in a])
    hist = History(step=rec, loss=arrays["loss"], theta=arrays["theta"],
                   a_error=arrays["a_error"], w=arrays.get("hw"), a=arrays.get("ha"),
                   w_rad=arrays.get("hw_rad"), a_rad=arrays.get("ha_rad"))
    return Result(w=arrays["w"], a=arrays["a"], history=hist, hit_step=arrays["hit"],
                  diverged=arrays["div"] >= 0, diverged_step=arrays["div"], seed=cfg["seed"],
                  config=cfg, exact=exact)


def _chain_hp(problem, schedule, w0, a0, cfg, X, i, rec, arrays):
    B = X.B
    p, k = problem.p, problem.k
    eta, eps, bound = X.conv(cfg["eta"]), cfg["eps"], cfg["divergence_bound"]
    normalized, ball = cfg["normalized"], cfg["noise"] == "ball"
    w_star = X.vec(problem.w_star)
    s = B.sqrt((w_star * w_star).sum())
    wst = w_star / s
    ast = X.vec(problem.a_star)
    sa_norm = s * B.sqrt((ast * ast).sum())
    w, a = X.vec(w0), X.vec(a0)
    if normalized:
        w = w / B.sqrt((w * w).sum())
    gen = rng.chain_generator(cfg["seed"], cfg["first_chain"] + i)
    rec_pos = {int(t): j for j, t in enumerate(rec)}
    arb = X.kind == "arb"

    def observe(t, w, a, theta, r):
        nr = B.sqrt((r * r).sum())
        if arrays["hit"][i] < 0:
            # Success is decided on the (mid)point value: the float64 rounding of the
            # high-precision number, compared with the float64 eps.
            if X.to_float(theta) <= eps and X.to_float(nr) <= eps * X.to_float(sa_norm):
                arrays["hit"][i] = t
        j = rec_pos.get(t)
        if j is not None:
            arrays["loss"][j, i] = X.to_float(formulas.loss(B, wst, ast, s, w, a))
            arrays["theta"][j, i] = X.to_float(theta)
            arrays["a_error"][j, i] = X.to_float(nr / sa_norm)
            if "hw" in arrays:
                if arb:
                    for dst, rad, v in (("hw", "hw_rad", w), ("ha", "ha_rad", a)):
                        mr = [X.enclosure(x) for x in v]
                        arrays[dst][j, i] = [m for m, _ in mr]
                        arrays[rad][j, i] = [r_ for _, r_ in mr]
                else:
                    arrays["hw"][j, i] = [float(x) for x in w]
                    arrays["ha"][j, i] = [float(x) for x in a]

    frozen = False
    for start, stop, sigma_f in _segments(schedule):
        sigma = X.conv(sigma_f)
        nnoise = rng.record_length(p, k, sigma_f > 0, ball, None)
        for b0 in range(start, stop, _MAX_BLOCK_STEPS):
            b1 = min(stop, b0 + _MAX_BLOCK_STEPS)
            if nnoise:
                z = gen.standard_normal((b1 - b0, nnoise))
                xis, eps_s = rng.noise_from_normals(z, p, k, ball)
            for t in range(b0, b1):
                g_w, g_a, G, r = formulas.grad_and_geometry(B, wst, ast, s, w, a,
                                                            riemannian=normalized)
                observe(t, w, a, G.theta, r)
                if frozen:
                    continue
                if nnoise:
                    xi = X.vec(xis[t - b0])
                    v = g_w + sigma * xi
                    w_new = w - eta * v
                    a_new = a - eta * (g_a + sigma * X.vec(eps_s[t - b0]))
                else:
                    v = g_w
                    w_new = w - eta * g_w
                    a_new = a - eta * g_a
                if arb and normalized:
                    # |w - eta v|^2 = 1 - 2 eta sigma w.xi + eta^2 |v|^2 holds exactly on the
                    # exact trajectory (|w| = 1 and w.g_w = 0 there).  Interval evaluation of
                    # sqrt(w_new . w_new) would instead double the enclosure every step
                    # (wrapping: each w_i enters the norm again); this form grows it by
                    # 1 + O(eta) per step only.
                    n2 = 1 + eta * eta * (v * v).sum()
                    if nnoise:
                        n2 = n2 - 2 * eta * sigma * (w * xi).sum()
                    u = B.sqrt(B.asarray([n2]))[0]
                else:
                    u = B.sqrt((w_new * w_new).sum())
                uf = X.to_float(u)
                amax = max(abs(X.to_float(x)) for x in a_new)
                if normalized:
                    ok = 0 < uf < np.inf
                else:
                    ok = 1 / bound <= uf <= bound
                ok = ok and amax <= bound
                if arb and ok:
                    # A ball that lost all accuracy is no enclosure worth continuing.
                    ok = u.is_finite() and all(x.is_finite() for x in a_new) \
                        and all(x.is_finite() for x in w_new)
                if ok and normalized:
                    w_new = w_new / u
                if not ok:
                    arrays["div"][i] = t + 1
                    frozen = True
                    continue
                w, a = w_new, a_new
    _, _, G, r = formulas.grad_and_geometry(B, wst, ast, s, w, a, riemannian=normalized)
    observe(schedule.total_steps, w, a, G.theta, r)
    arrays["w"][i] = [X.to_float(x) for x in w]
    arrays["a"][i] = [X.to_float(x) for x in a]
    return w, a
