"""Method (c): gradient and Hessian vs central finite differences in mpmath.

Generic points.  At ``DPS`` = 60 digits the 4th-order central stencil

    f'(x) ~ [f(x - 2h) - 8 f(x - h) + 8 f(x + h) - f(x + 2h)] / (12 h),   h = 1e-10,

has truncation error ~ h^4 |f^(5)| / 30 ~ 1e-41 and rounding error ~ 1e-60 / h ~ 1e-50
(relative to the scale of f), both far below the tolerance 1e-20.  The gradient is
differenced from ``loss_mp``, the Hessian from ``grad_mp`` (column by column), and the
Riemannian gradient from the loss along the sphere chart
xi -> ((w_hat + V xi) / sqrt(1 + |xi|^2), a), V an orthonormal basis of w_hat^perp, whose
gradient at xi = 0 is V^T g_R.  The Riemannian Hessian is compared with second
differences of the loss (h = 1e-12, error ~ h^2 ~ 1e-24) in the exponential chart
xi -> cos|xi| w_hat + sin|xi| V xi/|xi|, whose Hessian at 0 is the Riemannian Hessian
(curvature term included) because the exponential map is a second-order retraction.
Errors are norm-wise relative,
max_i |fd_i - ref_i| / max_i |ref_i|, so that components that happen to be small do
not turn rounding into "relative" errors of order one.

The global optimum.  In the sphere chart around w_hat* the loss contains the term
-(u s (a.a*) / 6 pi) theta^3 with theta = atan|xi|: it is C^2 but not C^3, so central
differences of the gradient converge to the Hessian only at O(h), whatever the stencil.
There the check differences the chart gradient ((1/n) V^T g_R, g_a) with 2-point central
differences for a sequence of h, and requires the observed order
log10(e(h) / e(h / 10)) >= ``ORDER_MIN`` for every step and e(h_min) <= 10 h_min e(h_0) / h_0
(the O(h) prediction from the first step, with a factor 10 of slack) -- the Hessian
approaches the closed-form Riemannian Hessian, at the rate the non-smoothness allows.
(At a critical point the Hessian in any retraction chart is the Riemannian Hessian.)
"""
from __future__ import annotations

import math

import mpmath
import numpy as np

from ..backends import MPMath, teacher
from ..checks import CheckResult
from .cases import points, problems

DPS = 60
TOL = 1e-20
H_GENERIC = "1e-10"
H_SECOND = "1e-12"   # second differences of the loss: error ~ h^2 |f^(4)| ~ 1e-24
OPT_STEPS = ("1e-2", "1e-3", "1e-4", "1e-5", "1e-6")
ORDER_MIN = 0.9


def _mpvec(x):
    return np.array([mpmath.mpf(v) for v in x], dtype=object)


def _rel(fd, ref):
    fd, ref = np.asarray(fd, dtype=object).ravel(), np.asarray(ref, dtype=object).ravel()
    scale = max(abs(r) for r in ref)
    return float(max(abs(x - y) for x, y in zip(fd, ref)) / scale)


def _d4(fn, x, j, h):
    """4th-order central difference of fn (scalar or vector valued) along coordinate j."""
    def at(t):
        y = x.copy()
        y[j] = y[j] + t * h
        return fn(y)
    return (at(-2) - 8 * at(-1) + 8 * at(1) - at(2)) / (12 * h)


def _complement(v):
    """Orthonormal basis (p, p-1) of the orthogonal complement of the unit vector v (the
    Householder basis of :func:`verified_pgd.theory.constants.tangent_basis`, in mpmath)."""
    from ..theory.constants import tangent_basis
    return tangent_basis(v, DPS)


def _generic(impl, prob, w, a):
    p = prob.p
    h = mpmath.mpf(H_GENERIC)
    x = np.concatenate([_mpvec(w), _mpvec(a)])

    def loss(y):
        return impl.loss_mp(prob, y[:p], y[p:], dps=DPS)

    def grad(y):
        g_w, g_a = impl.grad_mp(prob, y[:p], y[p:], dps=DPS)
        return np.concatenate([g_w, g_a])

    g_ref = grad(x)
    g_fd = np.array([_d4(loss, x, j, h) for j in range(len(x))], dtype=object)
    H_ref = np.asarray(impl.hessian_mp(prob, x[:p], x[p:], dps=DPS), dtype=object)
    H_fd = np.array([_d4(grad, x, j, h) for j in range(len(x))], dtype=object).T

    # Riemannian gradient on the unit sphere through w.
    w_hat = x[:p] / mpmath.sqrt(x[:p] @ x[:p])
    V = _complement(w_hat)

    def chart_loss(xi):
        n = mpmath.sqrt(1 + xi @ xi)
        return impl.loss_mp(prob, (w_hat + V @ xi) / n, x[p:], dps=DPS)

    xi0 = np.array([mpmath.mpf(0)] * (p - 1), dtype=object)
    r_fd = V @ np.array([_d4(chart_loss, xi0, j, h) for j in range(p - 1)], dtype=object)
    r_ref, _ = impl.grad_mp(prob, w_hat, x[p:], dps=DPS, riemannian=True)
    return (_rel(g_fd, g_ref), _rel(H_fd, H_ref), _rel(r_fd, r_ref),
            _riemannian_hessian(impl, prob, w_hat, V, x[p:]))


def _riemannian_hessian(impl, prob, w_hat, V, a):
    """Riemannian Hessian on the unit sphere vs second differences of the loss in the
    exponential chart xi -> cos|xi| w_hat + sin|xi| V xi/|xi| (a second-order retraction,
    so its Hessian at xi = 0 is the Riemannian Hessian, curvature term included)."""
    p, k = prob.p, prob.k
    h = mpmath.mpf(H_SECOND)

    def ell(y):
        xi = y[:p - 1]
        r = mpmath.sqrt(xi @ xi)
        w = w_hat if r == 0 else mpmath.cos(r) * w_hat + (mpmath.sin(r) / r) * (V @ xi)
        return impl.loss_mp(prob, w, y[p - 1:], dps=DPS)

    x = np.concatenate([np.array([mpmath.mpf(0)] * (p - 1), dtype=object), a])
    n = len(x)

    def at(i, si, j, sj):
        y = x.copy()
        y[i] += si * h
        y[j] += sj * h
        return ell(y)

    H_fd = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(i, n):
            H_fd[i, j] = H_fd[j, i] = (at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1)
                                       + at(i, -1, j, -1)) / (4 * h * h)
    Q = _chart_basis(V, p, k)
    H_ref = Q.T @ np.asarray(impl.hessian_mp(prob, w_hat, a, dps=DPS, riemannian=True),
                             dtype=object) @ Q
    return _rel(H_fd, H_ref)


def _chart_basis(V, p, k):
    """blockdiag(V, I_k): chart coordinates (xi, a) -> ambient (w, a)."""
    Q = np.full((p + k, p - 1 + k), mpmath.mpf(0), dtype=object)
    Q[:p, :p - 1] = V
    for i in range(k):
        Q[p + i, p - 1 + i] = mpmath.mpf(1)
    return Q


def _at_optimum(impl, prob):
    """Relative errors of the 2-point FD chart Hessian at (w_hat*, s a*) for OPT_STEPS."""
    p, k = prob.p, prob.k
    T = teacher(MPMath(), prob)          # under check()'s mpmath.workdps(DPS)
    w_hat_star, s = T.w_hat_star, T.s
    a_opt = s * T.a_star
    V = _complement(w_hat_star)

    def chart_grad(y):
        xi, a = y[:p - 1], y[p - 1:]
        n = mpmath.sqrt(1 + xi @ xi)
        g_r, g_a = impl.grad_mp(prob, (w_hat_star + V @ xi) / n, a, dps=DPS, riemannian=True)
        return np.concatenate([(V.T @ g_r) / n, g_a])

    Q = _chart_basis(V, p, k)
    H_R = np.asarray(impl.hessian_mp(prob, w_hat_star, a_opt, dps=DPS, riemannian=True),
                     dtype=object)
    H_ref = Q.T @ H_R @ Q
    x0 = np.concatenate([np.array([mpmath.mpf(0)] * (p - 1), dtype=object), a_opt])
    errors = []
    for step in OPT_STEPS:
        h = mpmath.mpf(step)
        cols = []
        for j in range(len(x0)):
            up, dn = x0.copy(), x0.copy()
            up[j] += h
            dn[j] -= h
            cols.append((chart_grad(up) - chart_grad(dn)) / (2 * h))
        errors.append(_rel(np.array(cols, dtype=object).T, H_ref))
    return errors


def _orders(errors):
    out = []
    for e0, e1, h0, h1 in zip(errors, errors[1:], OPT_STEPS, OPT_STEPS[1:]):
        ratio = math.log10(float(h0) / float(h1))
        out.append(math.inf if e1 == 0 else math.log10(e0 / e1) / ratio if e0 > 0 else -math.inf)
    return out


def check(impl, quick: bool = False) -> list[CheckResult]:
    n_points = 1 if quick else 3
    errs = {"g": [], "H": [], "r": [], "R": []}
    opt_rows = []
    with mpmath.workdps(DPS):
        for ip, prob in enumerate(problems()):
            for w, a in points(prob, n_points, seed=200 + ip):
                for key, err in zip("gHrR", _generic(impl, prob, w, a)):
                    errs[key].append(err)
            if ip == 0 or not quick:
                opt_rows.append(_at_optimum(impl, prob))
    label = f"central FD, {DPS} digits, h={H_GENERIC}, 4th order; norm-wise relative error"
    rows = []
    second = (f"second differences of loss_mp, {DPS} digits, h={H_SECOND}, exponential "
              "chart; norm-wise relative error")
    for key, name, how in (("g", "gradient (w, a)", label), ("r", "Riemannian gradient", label),
                           ("H", "Hessian (w, a)", label), ("R", "Riemannian Hessian", second)):
        worst = max(errs[key])
        rows.append(CheckResult(name, "finite differences", len(errs[key]), worst, TOL,
                                bool(worst <= TOL), how))
    # At the optimum: convergence order, not a fixed tolerance.
    worst_final, worst_tol, passed, details = 0.0, math.inf, True, []
    h0, hmin = float(OPT_STEPS[0]), float(OPT_STEPS[-1])
    for errors in opt_rows:
        orders = _orders(errors)
        tol = 10 * hmin * errors[0] / h0
        ok = min(orders) >= ORDER_MIN and errors[-1] <= tol
        passed &= ok
        worst_final = max(worst_final, errors[-1])
        worst_tol = min(worst_tol, tol)
        details.append("errors " + " ".join(f"{e:.2g}" for e in errors)
                       + "; orders " + " ".join(f"{o:.2f}" for o in orders))
    rows.append(CheckResult(
        "Hessian at optimum, sphere chart", "FD convergence order", len(opt_rows), worst_final,
        worst_tol, bool(passed),
        f"relative error at h = {', '.join(OPT_STEPS)} (|theta|^3 term: O(h) expected); "
        f"need every observed order >= {ORDER_MIN} and final error <= 10 h_min e(h_0)/h_0; "
        + " | ".join(details)))
    return rows
