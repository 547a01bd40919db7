"""Reduced PGD simulator: the same Markov chain as :func:`verified_pgd.pgd`, at a cost per
step that does not depend on p (DESIGN section 4, "Symmetry"; docs/theory.md,
"Reduced simulator").

State.  L depends on w only through ``u = |w|`` and ``theta``.  Write

    w = x w_hat* + y e,        x = w . w_hat*,  |y| = |w - x w_hat*|,  e a unit vector
                                                                      orthogonal to w_hat*

so ``u = sqrt(x^2 + y^2)`` and ``theta = atan2(|y|, x)``.  The simulator keeps the two
numbers ``(x, y)`` per chain (plus ``a``); in the normalized model ``x^2 + y^2 = 1`` after
every retraction, in the free model ``u`` is carried by them too.

One step.  In the orthonormal frame ``f1 = w_hat*``, ``f2 = sign(y) e`` (any unit vector
orthogonal to w_hat* when y = 0) the gradient lies in span(f1, f2) (DESIGN G: g_w is a
combination of w_hat and w_hat*), so it is the gradient of the *same* loss evaluated on
the 2-vector ``(x, y)`` with teacher direction ``(1, 0)``: that is how it is computed here,
with the one generic implementation :func:`verified_pgd.formulas.grad_and_geometry`
(no second copy of the formulas).  Gaussian noise ``xi ~ N(0, I_p)`` is isotropic, so in
the frame ``(f1, f2, f3, ..., fp)`` (f3.. completing the basis) its coordinates are i.i.d.
N(0, 1) whatever the frame; write ``z1 = xi . f1``, ``z2 = xi . f2`` and
``R^2 = |xi - z1 f1 - z2 f2|^2 ~ chi^2(p - 2)``, independent of (z1, z2).  Then

    w - eta (g_w + sigma xi) = x' f1 + y_in f2 - eta sigma xi_rest
    x'   = x - eta (g_1 + sigma z1)
    y_in = y - eta (g_2 + sigma z2)
    |y'| = sqrt(y_in^2 + (eta sigma R)^2)            (xi_rest is orthogonal to f1, f2)

and the new perpendicular direction is again a unit vector orthogonal to w_hat*.  Because
every rotation fixing w_hat* leaves the loss and the noise law invariant, the law of the
future depends on the new state only through ``(x', |y'|, a')``: the process is Markov
and this update has the law of the full one.  The sign of y is kept as
``sign(y_in)`` (the reflection y -> -y is one of those symmetries, so it does not change
the law); with sigma = 0, or for p = 2 where there is no xi_rest, the update is then the
full update written in the plane, *pathwise* (tested to 1e-12 against the full solver).
``a <- a - eta (g_a + sigma eps)`` takes its k normals as in the full solver.  Normalized
model: the Riemannian gradient (same function, ``riemannian=True``) and the retraction
``(x', y') / sqrt(x'^2 + y'^2)``.

Special dimensions, exactly:

* p = 1: w = x w_hat* with theta in {0, pi}; there is no f2 and no rest: y stays 0 and
  only z1 is drawn.  (The 2-vector formulas give g_2 = 0 exactly when y = 0.)
* p = 2: no rest, R = 0: z1, z2 are the whole noise.
* p >= 3: R^2 drawn as ``chisquare(p - 2)`` (a gamma variate: O(1) work whatever p).

Ball noise (uniform in the unit ball of R^p) reduces too: ``xi = rho z / |z|`` with
``z ~ N(0, I_p)`` and ``rho = U^(1/p)``; its frame coordinates are
``rho (z1, z2, R) / sqrt(z1^2 + z2^2 + R^2)``.  ``eps`` uses k normals as in the full solver.

Randomness.  Chain i owns two streams, ``SFC64(SeedSequence([seed, TAG], spawn_key=(i, 0)))``
for normals — per step ``min(p, 2)`` normals, then k for ``a``, then (ball) two more whose
``Phi`` gives the radii — and ``spawn_key=(i, 1)`` for the chi-square variates (p >= 3).
Both samplers keep no state between calls, so the block length is a speed knob only:
same seed, same result, bitwise, for any ``chains`` split and ``chunk_size``.  The TAG
makes these streams independent of the full solver's (a full and a reduced run with the
same seed are independent samples, as a two-sample test needs).  The reduced run is equal
to the full one in law, not pathwise.

Output.  The same :class:`verified_pgd.result.Result` as :func:`verified_pgd.pgd`.  The
final (and recorded) w is reconstructed in the full space as ``x w_hat* + y e_perp`` with
``e_perp`` the unit direction of w0's component orthogonal to w_hat* (Gram–Schmidt,
twice), or :func:`verified_pgd.theory.orthogonal_direction` when w0 is parallel to w*.
(u, theta, a), loss and the history have the law of the full solver; the direction of
the perpendicular part of w is this representative, not a draw from its (uniform)
conditional law.

Not supported (ValueError naming the parameter): mini-batch gradients (``gradient``) and
high precision (``precision``).
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from . import formulas, rng
from .backends import Float64
from .result import History, Result
from .solvers import _config, _record_steps, _segments

__all__ = ["pgd_reduced", "STREAM_TAG"]

_F64 = Float64()
_E1 = np.array([1.0, 0.0])
# "REDU": separates the reduced streams from the full solver's SeedSequence(seed) children.
STREAM_TAG = 0x52454455
_BLOCK_STEPS = 64
_BLOCK_BYTES = 16 * 2 ** 20


def pgd_reduced(problem, w0, a0, schedule, eta, seed=0, chains=1, normalized=True,
                noise="gaussian", gradient="population", precision="float64",
                record_every=None, eps=1e-6, chunk_size=None, *, record_states=False,
                divergence_bound=None, first_chain=0) -> Result:
    """PGD with the dimension-free reduced simulator; same arguments and Result as
    :func:`verified_pgd.pgd` (see there), same validation.

    The result has the law of ``vp.pgd`` with the same arguments (not its path: the
    streams differ, see the module docstring).  ``gradient`` must be ``"population"``
    and ``precision`` ``"float64"``.  ``result.config["reduced"]`` is True.
    """
    return _pgd_reduced(problem, w0, a0, schedule, eta, seed, chains, normalized, noise,
                        gradient, precision, record_every, eps, chunk_size, record_states,
                        divergence_bound, first_chain)


def _pgd_reduced(problem, w0, a0, schedule, eta, seed, chains, normalized, noise, gradient,
                 precision, record_every, eps, chunk_size, record_states, divergence_bound,
                 first_chain, _chi_df=None):
    """Implementation; ``_chi_df`` (tests only) overrides the chi-square degrees of
    freedom p - 2 — a deliberately wrong simulator for the negative control."""
    cfg, schedule, W0, A0, kind, _, chunk_size = _config(
        problem, w0, a0, schedule, eta, seed, chains, normalized, noise, gradient, precision,
        record_every, eps, record_states, divergence_bound, chunk_size, first_chain)
    if cfg["gradient"] != "population":
        raise ValueError("gradient: the reduced simulator needs the population gradient "
                         "(mini-batch gradients are not isotropic in the reduced frame); "
                         "use reduced=False")
    if kind != "float64":
        raise ValueError("precision: the reduced simulator is float64 only; use reduced=False "
                         "for mpmath/arb runs")
    cfg["reduced"] = True
    cfg["stream"] = f"reduced:SeedSequence([seed, {STREAM_TAG:#x}], spawn_key=(chain, 0|1))"
    p = problem.p
    chi_df = (p - 2 if p >= 3 else 0) if _chi_df is None else int(_chi_df)
    M, k = W0.shape[0], problem.k
    if np.ndim(w0) == 1:
        # One shared w0: reduce it once (row-wise arithmetic, so bitwise the same as per
        # row) and keep e_perp as one row; the run's O(M p) work is then the final w only.
        x0, y0, e_perp = _reduce(problem, W0[:1])
        x0, y0 = np.repeat(x0, M), np.repeat(y0, M)
    else:
        x0, y0, e_perp = _reduce(problem, W0)
    if chunk_size is None:
        chunk_size = 4096
    rec = _record_steps(schedule.total_steps, cfg["record_every"])
    R = len(rec)
    out = {"x": np.empty(M), "y": np.empty(M), "a": np.empty((M, k)),
           "loss": np.empty((R, M)), "theta": np.empty((R, M)), "a_error": np.empty((R, M)),
           "hit": np.empty(M, np.int64), "div": np.empty(M, np.int64)}
    if cfg["record_states"]:
        out["hx"], out["hy"] = np.empty((R, M)), np.empty((R, M))
        out["ha"] = np.empty((R, M, k))
    for start in range(0, M, chunk_size):
        stop = min(M, start + chunk_size)
        _chunk(problem, schedule, x0[start:stop].copy(), y0[start:stop].copy(),
               A0[start:stop].copy(), cfg, rec, start, stop, out, chi_df)
    w = _lift(problem, out["x"], out["y"], e_perp)
    hw = None
    if cfg["record_states"]:
        hw = _lift(problem, out["hx"], out["hy"], e_perp[None])
    hist = History(step=rec, loss=out["loss"], theta=out["theta"], a_error=out["a_error"],
                   w=hw, a=out.get("ha"))
    return Result(w=w, a=out["a"], history=hist, hit_step=out["hit"],
                  diverged=out["div"] >= 0, diverged_step=out["div"], seed=cfg["seed"],
                  config=cfg)


# --------------------------------------------------------------------------- coordinates

def _reduce(problem, W):
    """``(x, y, e_perp)``: w = x w_hat* + y e_perp, y >= 0, e_perp unit and orthogonal to
    w_hat* (for p = 1: y = 0 and e_perp = 0)."""
    wst = problem.w_hat_star
    x = (W * wst).sum(-1)                              # row-wise: no BLAS, batch-independent
    if problem.p == 1:
        return x, np.zeros_like(x), np.zeros_like(W)
    perp = W - x[:, None] * wst
    perp = perp - (perp * wst).sum(-1)[:, None] * wst  # second Gram–Schmidt pass
    y = np.sqrt((perp * perp).sum(-1))
    e = np.empty_like(W)
    ok = y > 0
    e[ok] = perp[ok] / y[ok, None]
    if not ok.all():
        from .theory import orthogonal_direction
        e[~ok] = orthogonal_direction(problem)
    return x, y, e


def _lift(problem, x, y, e_perp):
    # e_perp: (M, p), or (1, p) for a shared w0 (broadcast)
    return x[..., None] * problem.w_hat_star + y[..., None] * e_perp


# --------------------------------------------------------------------------- streams

def chain_streams(seed: int, i: int):
    """(normals, chi-square) generators of chain ``i`` of the reduced simulator."""
    ss = [np.random.SeedSequence([seed, STREAM_TAG], spawn_key=(i, j)) for j in (0, 1)]
    return tuple(np.random.Generator(np.random.SFC64(s)) for s in ss)


def _draw(gens, steps, n_normal, chi_df):
    """Chain-major blocks: normals (chains, steps, n_normal), chi^2 (chains, steps) or None.

    Step j reads the strided slabs ``z[:, j]``, ``c[:, j]`` (a transposing copy would cost
    about as much as the generation)."""
    Mc = len(gens)
    z = np.empty((Mc, steps, n_normal))
    c = np.empty((Mc, steps)) if chi_df > 0 else None
    for i, (gn, gc) in enumerate(gens):
        gn.standard_normal(out=z[i])
        if c is not None:
            c[i] = gc.chisquare(chi_df, steps)
    return z, c


# --------------------------------------------------------------------------- loop

def _chunk(problem, schedule, x, y, a, cfg, rec, c0, c1, out, chi_df):
    p, k = problem.p, problem.k
    Mc = c1 - c0
    ast, s = problem.a_star, problem.s
    sa_norm = s * float(np.sqrt((ast * ast).sum()))
    eta, eps, bound = cfg["eta"], cfg["eps"], cfg["divergence_bound"]
    normalized, ball = cfg["normalized"], cfg["noise"] == "ball"
    f0 = cfg["first_chain"]
    gens = [chain_streams(cfg["seed"], f0 + i) for i in range(c0, c1)]
    nz = min(p, 2)                                   # frame coordinates z1 (, z2)
    n_normal = nz + k + (2 if ball else 0)
    hit = np.full(Mc, -1, np.int64)
    div = np.full(Mc, -1, np.int64)
    frozen = np.zeros(Mc, bool)
    rec_pos = {int(t): i for i, t in enumerate(rec)}
    w = np.stack([x, y], axis=-1)
    if normalized:
        w = w / np.sqrt((w * w).sum(-1))[:, None]

    def observe(t, w, a, theta, r):
        nr = np.sqrt((r * r).sum(-1))
        new = (hit < 0) & (theta <= eps) & (nr <= eps * sa_norm)
        if new.any():
            hit[new] = t
        i = rec_pos.get(t)
        if i is not None:
            out["loss"][i, c0:c1] = formulas.loss(_F64, _E1, ast, s, w, a)
            out["theta"][i, c0:c1] = theta
            out["a_error"][i, c0:c1] = nr / sa_norm
            if "hx" in out:
                out["hx"][i, c0:c1] = w[:, 0]
                out["hy"][i, c0:c1] = w[:, 1]
                out["ha"][i, c0:c1] = a

    with np.errstate(all="ignore"):
        for start, stop, sigma in _segments(schedule):
            noisy = sigma > 0
            block = max(1, min(_BLOCK_STEPS, _BLOCK_BYTES // max(1, 8 * Mc * (n_normal + 1))))
            for b0 in range(start, stop, block):
                b1 = min(stop, b0 + block)
                if noisy:
                    Z, C = _draw(gens, b1 - b0, n_normal, chi_df)
                for t in range(b0, b1):
                    g_w, g_a, G, r = formulas.grad_and_geometry(
                        _F64, _E1, ast, s, w, a, riemannian=normalized)
                    observe(t, w, a, G.theta, r)
                    xw, yw = w[:, 0], w[:, 1]
                    if noisy:
                        z = Z[:, t - b0]
                        z1 = z[:, 0]
                        z2 = z[:, 1] if nz == 2 else 0.0
                        rest2 = C[:, t - b0] if C is not None else 0.0
                        ep = z[:, nz:nz + k]
                        if ball:
                            rho_w = ndtr(z[:, nz + k]) ** (1.0 / p) / np.sqrt(z1 * z1 + z2 * z2 + rest2)
                            rho_a = ndtr(z[:, nz + k + 1]) ** (1.0 / k) / np.sqrt((ep * ep).sum(-1))
                        else:
                            rho_w, rho_a = 1.0, 1.0
                        sw = sigma * rho_w
                        x_new = xw - eta * (g_w[:, 0] + sw * z1)
                        y_in = yw - eta * (g_w[:, 1] + sw * z2)
                        if C is not None:
                            y_new = np.copysign(np.sqrt(y_in * y_in + (eta * sw) ** 2 * rest2), y_in)
                        else:
                            y_new = y_in
                        if ball:
                            a_new = a - eta * (g_a + (sigma * rho_a)[:, None] * ep)
                        else:
                            a_new = a - eta * (g_a + sigma * ep)
                    else:
                        x_new = xw - eta * g_w[:, 0]
                        y_new = yw - eta * g_w[:, 1]
                        a_new = a - eta * g_a
                    u = np.sqrt(x_new * x_new + y_new * y_new)
                    if normalized:
                        x_new, y_new = x_new / u, y_new / u
                        bad = ~((u > 0) & (u < np.inf))
                        bad |= ~(np.isfinite(x_new) & np.isfinite(y_new))
                    else:
                        bad = ~((u >= 1 / bound) & (u <= bound))
                    bad |= ~(np.abs(a_new).max(axis=-1) <= bound)
                    bad &= ~frozen
                    if bad.any():
                        div[bad] = t + 1
                        frozen |= bad
                    w_new = np.stack([x_new, y_new], axis=-1)
                    if frozen.any():
                        keep = frozen[:, None]
                        w_new = np.where(keep, w, w_new)
                        a_new = np.where(keep, a, a_new)
                    w, a = w_new, a_new
        _, _, G, r = formulas.grad_and_geometry(_F64, _E1, ast, s, w, a, riemannian=normalized)
        observe(schedule.total_steps, w, a, G.theta, r)
    out["x"][c0:c1] = w[:, 0]
    out["y"][c0:c1] = w[:, 1]
    out["a"][c0:c1] = a
    out["hit"][c0:c1] = hit
    out["div"][c0:c1] = div
