"""PyTorch CPU baseline: the same PGD algorithm as ``vp.pgd`` written the way a user would.

Batched chains as (M, p) / (M, k) tensors, the closed-form population loss L2
(docs/design.md section 2, theta by the atan2 form) summed over chains, autograd for the
gradient, the Riemannian projection and the retraction by hand, noise from
``torch.randn``.  torch is an optional dependency (the ``bench`` extra): everything here
returns ``None`` / raises ImportError cleanly when it is missing.

The baseline's gradient is checked against ``vp.grad`` before it is timed
(:func:`check_gradient`), so the benchmark compares the same algorithm.
"""
from __future__ import annotations

import contextlib
import math
import numpy as np


def available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _loss(torch, w, a, w_hat_star, a_star, s):
    """Population loss L2 per chain (what a user would type from docs/design.md section 2)."""
    pi = math.pi
    u = torch.linalg.vector_norm(w, dim=1)
    w_hat = w / u[:, None]
    d = w_hat_star - w_hat
    e = w_hat_star + w_hat
    theta = 2 * torch.atan2(torch.linalg.vector_norm(d, dim=1), torch.linalg.vector_norm(e, dim=1))
    g = torch.sin(theta) + (pi - theta) * torch.cos(theta)
    r = u[:, None] * a - s * a_star
    return ((pi - 1) * (r * r).sum(1) + r.sum(1) ** 2
            + 2 * u * s * (pi - g) * (a @ a_star)) / (4 * pi)


def _setup(problem):
    import torch
    wst = torch.tensor(np.asarray(problem.w_hat_star), dtype=torch.float64)
    ast = torch.tensor(np.asarray(problem.a_star), dtype=torch.float64)
    return torch, wst, ast, float(problem.s)


def grad(problem, w, a, riemannian=False):
    """(g_w, g_a) as numpy arrays, by autograd (for the correctness check)."""
    torch, wst, ast, s = _setup(problem)
    W = torch.tensor(np.atleast_2d(w), dtype=torch.float64, requires_grad=True)
    A = torch.tensor(np.atleast_2d(a), dtype=torch.float64, requires_grad=True)
    gw, ga = torch.autograd.grad(_loss(torch, W, A, wst, ast, s).sum(), (W, A))
    if riemannian:
        wh = W.detach() / torch.linalg.vector_norm(W.detach(), dim=1, keepdim=True)
        gw = gw - (gw * wh).sum(1, keepdim=True) * wh
    return gw.numpy(), ga.numpy()


def check_gradient(problem, seed=0, chains=8, rtol=1e-10):
    """Raise AssertionError unless the baseline's gradient equals vp.grad (both forms)."""
    import verified_pgd as vp
    g = np.random.default_rng(seed)
    w = g.standard_normal((chains, problem.p))
    a = g.standard_normal((chains, problem.k))
    for riem in (False, True):
        tw, ta = grad(problem, w, a, riemannian=riem)
        vw, va = vp.grad(problem, w, a, riemannian=riem) if riem else vp.grad(problem, w, a)
        scale = 1 + max(np.abs(vw).max(), np.abs(va).max())
        err = max(np.abs(tw - vw).max(), np.abs(ta - va).max())
        if not err <= rtol * scale:
            raise AssertionError(f"torch baseline gradient differs from vp.grad by {err:.3g}")


def pgd(problem, w0, a0, sigma, steps, eta, seed=0):
    """Normalized PGD with constant sigma on the chains of ``w0`` (M, p), ``a0`` (M, k)."""
    torch, wst, ast, s = _setup(problem)
    gen = torch.Generator().manual_seed(seed)
    w = torch.tensor(w0, dtype=torch.float64)
    w = w / torch.linalg.vector_norm(w, dim=1, keepdim=True)
    a = torch.tensor(a0, dtype=torch.float64)
    M, p = w.shape
    k = a.shape[1]
    for _ in range(steps):
        w.requires_grad_(True)
        a.requires_grad_(True)
        gw, ga = torch.autograd.grad(_loss(torch, w, a, wst, ast, s).sum(), (w, a))
        with torch.no_grad():
            gw = gw - (gw * w).sum(1, keepdim=True) * w          # Riemannian gradient
            w = w - eta * (gw + sigma * torch.randn(M, p, generator=gen, dtype=torch.float64))
            a = a - eta * (ga + sigma * torch.randn(M, k, generator=gen, dtype=torch.float64))
            w = w / torch.linalg.vector_norm(w, dim=1, keepdim=True)
    return w.numpy(), a.numpy()


def runner(problem, w0, a0, sigma, eta, seed=0):
    """``run(T)``: T steps of :func:`pgd` on these chains (for the benchmark's timer)."""
    def run(T):
        pgd(problem, w0, a0, sigma, T, eta, seed)
    return run


def default_threads():
    import torch
    return _DEFAULT_THREADS or torch.get_num_threads()


_DEFAULT_THREADS = None


@contextlib.contextmanager
def threads(n):
    """Run the block with torch's intra-op pool set to ``n`` threads."""
    global _DEFAULT_THREADS
    import torch
    old = torch.get_num_threads()
    _DEFAULT_THREADS = _DEFAULT_THREADS or old
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def info():
    if not available():
        return "torch not installed"
    import torch
    return f"torch {torch.__version__} (default {default_threads()} threads)"
