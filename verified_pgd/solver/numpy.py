"""The float64 engine: all chains of a chunk advance together as (chunk, p) / (chunk, k)
numpy arrays.

One step, for every chain (stage parameters eta, sigma_w, sigma_a from the schedule)::

    g_w, g_a = gradient at (w, a)      # population closed form (verified_pgd.formulas) or
                                       # the sample gradient of a fresh mini-batch
    w <- w - eta (g_w + sigma_w xi)    # xi ~ N(0, I_p) or uniform in the unit ball
    a <- a - eta (g_a + sigma_a eps)   # eps ~ N(0, I_k) or uniform in the unit ball
    normalized: g_w is the Riemannian gradient and w <- w / |w|

It evaluates the one generic :func:`verified_pgd.formulas.grad_and_geometry` in the
Float64 backend, whose reductions are row-wise (no BLAS), so a chain's path does not
depend on how many chains share the arrays.  Bookkeeping: :mod:`.bookkeeping`.
"""
from __future__ import annotations

import numpy as np

from .. import formulas
from ..backends import Float64
from ..problem import Problem
from . import rng
from .bookkeeping import Book, Observation, Outputs
from .config import RunConfig

__all__ = ["run", "f64_terms", "minibatch_grad"]

_F64 = Float64()
# Working-set budget for one block of normals (bytes); block length is a speed knob only.
_BLOCK_BYTES = 16 * 2 ** 20
_MAX_BLOCK_STEPS = 64


def _dot(x, y):
    return (x * y).sum(axis=-1)


def f64_terms(w_hat_star, a_star, s, w, a, riemannian=False):
    """``(g_w, g_a, theta, r)`` for (M, p), (M, k) float64 arrays: the one generic
    implementation (:func:`formulas.grad_and_geometry`) in the Float64 backend, whose
    row-wise einsum dot products make each chain's value independent of the batch size."""
    g_w, g_a, G, r = formulas.grad_and_geometry(_F64, w_hat_star, a_star, s, w, a, riemannian)
    return g_w, g_a, G.theta, r


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


def run(cfg: RunConfig):
    """The Result of the run ``cfg`` (float64, full simulator)."""
    problem = cfg.problem
    M, p, k = cfg.chains, problem.p, problem.k
    batch = cfg.batch
    chunk_size = cfg.chunk_size
    if chunk_size is None:
        # ~128 KiB per (chunk, p) array keeps the temporaries of one step in cache:
        # measured 1.75e6 vs 1.6e6 (CPU, noisy) chain-steps/s against whole 4096 blocks.
        chunk_size = (max(64, 16384 // max(p, k)) if batch is None
                      else max(1, (32 * 2 ** 20) // (8 * batch * k * p * 4)))
    out = Outputs(cfg, {"w": p, "a": k})
    W, A = np.empty((M, p)), np.empty((M, k))
    for start in range(0, M, chunk_size):
        stop = min(M, start + chunk_size)
        W[start:stop], A[start:stop] = _chunk(cfg, out, start, stop)
    return out.result(W, A)


def _select(mask, prev, state):
    keep = mask[:, None]
    return tuple(np.where(keep, p_, s_) for p_, s_ in zip(prev, state))


def _chunk(cfg: RunConfig, out: Outputs, c0: int, c1: int):
    problem = cfg.problem
    p, k = problem.p, problem.k
    Mc = c1 - c0
    wst, ast, s = problem.w_hat_star, problem.a_star, problem.s
    normalized, ball, batch = cfg.normalized, cfg.ball, cfg.batch
    book = Book(cfg, out, c0, c1, s * float(np.sqrt(_dot(ast, ast))))
    gens = rng.chain_generators(cfg.seed, cfg.first_chain + c0, cfg.first_chain + c1)
    w, a = cfg.W0[c0:c1].copy(), cfg.A0[c0:c1].copy()
    if normalized:
        w = w / np.sqrt(_F64.dot(w, w))[:, None]

    def evaluate(state):
        w, a = state
        g_w, g_a, theta, r = f64_terms(wst, ast, s, w, a, riemannian=normalized)
        return Observation(theta, lambda: np.sqrt(_F64.dot(r, r)),
                           lambda: formulas.loss(_F64, wst, ast, s, w, a),
                           lambda: {"w": w, "a": a}), (g_w, g_a)

    state = prev = (w, a)
    buf = None
    with np.errstate(all="ignore"):
        for seg in cfg.segments:
            eta, sigma_w, sigma_a = seg.eta, seg.sigma_w, seg.sigma_a
            length = rng.record_length(p, k, seg.noisy, ball, batch)
            nnoise = rng.record_length(p, k, seg.noisy, ball, None)
            block = max(1, min(_MAX_BLOCK_STEPS, _BLOCK_BYTES // max(1, 8 * Mc * length)))
            for b0 in range(seg.start, seg.stop, block):
                b1 = min(seg.stop, b0 + block)
                if length:
                    Zb = rng.draw_block(gens, b1 - b0, length, buf)
                    buf = Zb.base if Zb.base is not None else Zb
                for t in range(b0, b1):
                    state, (g_w, g_a) = book.observe(t, state, prev, evaluate, _select)
                    w, a = state
                    if batch is not None:
                        Z = Zb[:, t - b0, nnoise:].reshape(Mc, batch, k, p)
                        g_w, g_a = minibatch_grad(problem, w, a, Z, riemannian=normalized)
                    # w - eta (g_w + sigma xi), evaluated in place (same roundings, fewer
                    # temporaries: + is commutative in IEEE arithmetic)
                    if nnoise:
                        xi, ep = rng.noise_from_normals(Zb[:, t - b0, :nnoise], p, k, ball)
                        dw = sigma_w * xi
                        dw += g_w
                        dw *= eta
                        da = sigma_a * ep
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
                    book.check_step(t, u, a_new)
                    prev = state
                    state = (book.hold(w_new, w), book.hold(a_new, a))
        state, _ = book.observe(cfg.total_steps, state, prev, evaluate, _select)
    book.finish()
    return state
