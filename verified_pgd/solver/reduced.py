"""Reduced PGD simulator: the same Markov chain as :func:`verified_pgd.pgd`, at a cost per
step that does not depend on p (docs/design.md section 4, "Symmetry"; docs/theory.md,
"Reduced simulator").

State.  L depends on w only through ``u = |w|`` and ``theta``.  Write

    w = x w_hat* + y e,        x = w . w_hat*,  |y| = |w - x w_hat*|,  e a unit vector
                                                                      orthogonal to w_hat*

so ``u = sqrt(x^2 + y^2)`` and ``theta = atan2(|y|, x)``.  The simulator keeps the two
numbers ``(x, y)`` per chain (plus ``a``); in the normalized model ``x^2 + y^2 = 1`` after
every retraction, in the free model ``u`` is carried by them too.

One step.  In the orthonormal frame ``f1 = w_hat*``, ``f2 = sign(y) e`` (any unit vector
orthogonal to w_hat* when y = 0) the gradient lies in span(f1, f2) (docs/design.md G: g_w is a
combination of w_hat and w_hat*), so it is the gradient of the *same* loss evaluated on
the 2-vector ``(x, y)`` with teacher direction ``(1, 0)``: that is how it is computed here,
with the one generic implementation :func:`verified_pgd.formulas.grad_and_geometry`
(no second copy of the formulas).  Gaussian noise ``xi ~ N(0, I_p)`` is isotropic, so in
the frame ``(f1, f2, f3, ..., fp)`` (f3.. completing the basis) its coordinates are i.i.d.
N(0, 1) whatever the frame; write ``z1 = xi . f1``, ``z2 = xi . f2`` and
``R^2 = |xi - z1 f1 - z2 f2|^2 ~ chi^2(p - 2)``, independent of (z1, z2).  Then

    w - eta (g_w + sigma_w xi) = x' f1 + y_in f2 - eta sigma_w xi_rest
    x'   = x - eta (g_1 + sigma_w z1)
    y_in = y - eta (g_2 + sigma_w z2)
    |y'| = sqrt(y_in^2 + (eta sigma_w R)^2)          (xi_rest is orthogonal to f1, f2)

and the new perpendicular direction is again a unit vector orthogonal to w_hat*.  Because
every rotation fixing w_hat* leaves the loss and the noise law invariant, the law of the
future depends on the new state only through ``(x', |y'|, a')``: the process is Markov
and this update has the law of the full one.  The sign of y is kept as
``sign(y_in)`` (the reflection y -> -y is one of those symmetries, so it does not change
the law); with sigma = 0, or for p = 2 where there is no xi_rest, the update is then the
full update written in the plane, *pathwise* (tested to 1e-12 against the full solver).
``a <- a - eta (g_a + sigma_a eps)`` takes its k normals as in the full solver.  Normalized
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

Each stage's eta, sigma_w and sigma_a are read from the run configuration as in the
full engine.  Not supported (ValueError naming the parameter, raised by the configuration): mini-batch gradients (``gradient``) and
high precision (``precision``).
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from .. import formulas
from ..backends import Float64
from .bookkeeping import Book, Observation, Outputs
from .config import REDUCED_STREAM_TAG as STREAM_TAG
from .config import RunConfig

__all__ = ["run", "chain_streams", "STREAM_TAG"]

_F64 = Float64()
_E1 = np.array([1.0, 0.0])
_BLOCK_STEPS = 64
_BLOCK_BYTES = 16 * 2 ** 20


def run(cfg: RunConfig, _chi_df=None):
    """The Result of the run ``cfg`` (``cfg.reduced``): the law of the full engine's.

    ``_chi_df`` (tests only) overrides the chi-square degrees of freedom p - 2 — a
    deliberately wrong simulator for the negative control."""
    problem = cfg.problem
    p = problem.p
    chi_df = (p - 2 if p >= 3 else 0) if _chi_df is None else int(_chi_df)
    M, k = cfg.chains, problem.k
    W0, A0 = cfg.W0, cfg.A0
    if cfg.w0.ndim == 1:
        # One shared w0: reduce it once (row-wise arithmetic, so bitwise the same as per
        # row) and keep e_perp as one row; the run's O(M p) work is then the final w only.
        x0, y0, e_perp = _reduce(problem, W0[:1])
        x0, y0 = np.repeat(x0, M), np.repeat(y0, M)
    else:
        x0, y0, e_perp = _reduce(problem, W0)
    chunk_size = 4096 if cfg.chunk_size is None else cfg.chunk_size
    out = Outputs(cfg, {"x": 1, "y": 1, "a": k})
    X, Y, A = np.empty(M), np.empty(M), np.empty((M, k))
    for start in range(0, M, chunk_size):
        stop = min(M, start + chunk_size)
        chunk = _chunk_compiled if cfg.engine == "compiled" else _chunk
        w, A[start:stop] = chunk(cfg, out, x0[start:stop].copy(), y0[start:stop].copy(),
                                 A0[start:stop].copy(), start, stop, chi_df)
        X[start:stop], Y[start:stop] = w[:, 0], w[:, 1]
    hw = None
    if cfg.record_states:
        hw = _lift(problem, out.states.pop("x")[..., 0], out.states.pop("y")[..., 0], e_perp[None])
    return out.result(_lift(problem, X, Y, e_perp), A, history_states={"w": hw})


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
        from ..theory import orthogonal_direction
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

def _select(mask, prev, state):
    keep = mask[:, None]
    return tuple(np.where(keep, p_, s_) for p_, s_ in zip(prev, state))


def _block_steps(seg, Mc, n_normal):
    """Steps per block of drawn normals (a speed knob only: the samplers keep no state)."""
    return max(1, min(_BLOCK_STEPS, _BLOCK_BYTES // max(1, 8 * Mc * (n_normal + 1))))


def _start(normalized, x, y):
    w = np.stack([x, y], axis=-1)
    if normalized:
        w = w / np.sqrt((w * w).sum(-1))[:, None]
    return w


def _chunk_compiled(cfg: RunConfig, out: Outputs, x, y, a, c0, c1, chi_df):
    """:func:`_chunk` compiled (:mod:`.reduced_kernel`): the same streams, drawn in the
    same order by compiled ports of numpy's samplers."""
    from . import reduced_kernel
    w = _start(cfg.normalized, x, y)
    return reduced_kernel.run_chunk(cfg, out, w[:, 0], w[:, 1], a, c0, c1, chi_df, STREAM_TAG)


def _chunk(cfg: RunConfig, out: Outputs, x, y, a, c0, c1, chi_df):
    problem = cfg.problem
    p, k = problem.p, problem.k
    Mc = c1 - c0
    ast, s = problem.a_star, problem.s
    normalized, ball = cfg.normalized, cfg.ball
    book = Book(cfg, out, c0, c1, s * float(np.sqrt((ast * ast).sum())))
    f0 = cfg.first_chain
    gens = [chain_streams(cfg.seed, f0 + i) for i in range(c0, c1)]
    nz = min(p, 2)                                   # frame coordinates z1 (, z2)
    n_normal = nz + k + (2 if ball else 0)
    w = _start(normalized, x, y)

    def evaluate(state):
        w, a = state
        g_w, g_a, G, r = formulas.grad_and_geometry(_F64, _E1, ast, s, w, a, riemannian=normalized)
        return Observation(G.theta, np.sqrt((r * r).sum(-1)),
                           lambda: formulas.loss(_F64, _E1, ast, s, w, a),
                           lambda: {"x": w[:, :1], "y": w[:, 1:], "a": a}), (g_w, g_a)

    state = prev = (w, a)
    with np.errstate(all="ignore"):
        for seg in cfg.segments:
            eta, sigma_w, sigma_a, noisy = seg.eta, seg.sigma_w, seg.sigma_a, seg.noisy
            block = _block_steps(seg, Mc, n_normal)
            for b0 in range(seg.start, seg.stop, block):
                b1 = min(seg.stop, b0 + block)
                if noisy:
                    Z, C = _draw(gens, b1 - b0, n_normal, chi_df)
                for t in range(b0, b1):
                    state, (g_w, g_a) = book.observe(t, state, prev, evaluate, _select)
                    w, a = state
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
                        sw = sigma_w * rho_w
                        x_new = xw - eta * (g_w[:, 0] + sw * z1)
                        y_in = yw - eta * (g_w[:, 1] + sw * z2)
                        if C is not None:
                            y_new = np.copysign(np.sqrt(y_in * y_in + (eta * sw) ** 2 * rest2), y_in)
                        else:
                            y_new = y_in
                        if ball:
                            a_new = a - eta * (g_a + (sigma_a * rho_a)[:, None] * ep)
                        else:
                            a_new = a - eta * (g_a + sigma_a * ep)
                    else:
                        x_new = xw - eta * g_w[:, 0]
                        y_new = yw - eta * g_w[:, 1]
                        a_new = a - eta * g_a
                    u = np.sqrt(x_new * x_new + y_new * y_new)
                    if normalized:
                        x_new, y_new = x_new / u, y_new / u
                    book.check_step(t, u, a_new)
                    prev = state
                    state = (book.hold(np.stack([x_new, y_new], axis=-1), w), book.hold(a_new, a))
        state, _ = book.observe(cfg.total_steps, state, prev, evaluate, _select)
    book.finish()
    return state
