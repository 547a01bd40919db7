"""Predicted mean escape time from the spurious minimum (docs/theory.md, "Escape time:
the prefactor").

PGD at constant noise ``sigma`` and step ``eta`` is, for small ``eta``, the Langevin
diffusion ``dX = -grad U dt + sqrt(2T) dW`` at temperature ``T = eta sigma^2 / 2`` in the
time ``t = eta * steps``, on the chart ``(theta, a)`` (theta the geodesic angle to w*, so
the metric is Euclidean) with ``U = L - (p - 2) T log sin(theta)`` (the other ``p - 2``
sphere directions are the symmetry orbit, whose volume is ``sin^(p-2)``).  The escape
time is the first time ``theta < theta_s`` (:func:`verified_pgd.escape.escape_times`).

Methods (all return the mean number of steps from the spurious minimum):

``"1d"``
    the exact mean first-passage time of the 1-D diffusion of theta alone in the
    potential ``V = l(theta) - (p - 2) T log sin(theta)`` (``l`` the reduced loss, ``a``
    integrated out):  ``E tau = (1/T) int_{theta_s}^{pi} e^{V(x)/T} int_x^{pi}
    e^{-V(y)/T} dy dx``, steps ``= E tau / eta``.  By the Dirichlet principle it is the
    capacity of the trial function ``h(theta)`` in the full ``(theta, a)`` problem, so it
    is a *lower bound* on the full-diffusion escape time (a is not slaved to theta).
``"asymptotic"``
    the small-``T`` closed form of ``"1d"``: a half Gaussian at the saddle times the
    Laplace integral of the *cubic* spurious well,
    ``int_0^inf e^{p-2} exp(-c e^3 / T) de = Gamma((p-1)/3) (T/c)^((p-1)/3) / 3``,
    ``c = s^2 alpha g_s / (6 pi)`` (``l(pi - e) - l(pi) = c e^3 + O(e^5)``).
``"saddle"`` (default)
    ``"1d"`` times ``kappa = cap_trial / cap``, the ratio of the trial-function capacity
    to the true capacity of the half-space ``{theta <= theta_s}`` in the quadratic model
    of U at the saddle (full ``(theta, a)`` Hessian, the volume term included).  ``cap``
    is computed by a finite-difference solve of the equilibrium potential in the
    smallest Hessian-invariant subspace containing the theta direction (dimension <= 3:
    span(e_theta, a*, 1)).
``"separatrix"``
    ``"1d"`` times ``|S| / |lambda_u|`` (S the reduced curvature ``V''(theta_s)``,
    ``lambda_u`` the unstable eigenvalue of the full Hessian): the Langer/Eyring--Kramers
    time to reach the *separatrix* through the saddle, which is not the surface
    ``theta = theta_s`` (an upper reference: hitting the tilted surface is faster).
``"no-volume"``
    a negative control: ``"saddle"`` with the sphere's volume term dropped (p treated as 2).

``dps`` evaluates the two quadratures of ``"1d"`` (and the closed form) with mpmath at
``dps`` digits; the saddle factor is a float64 finite-difference solve either way.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .._validate import check_dps, check_positive
from ..problem import Problem
from . import landscape
from .constants import reduced_hessian

__all__ = ["EscapeTimeTerms", "escape_time", "escape_time_terms", "METHODS", "saddle_factor",
           "EscapeAssumptions", "assumptions", "X_MIN", "VOLUME_FRACTION_MAX",
           "ETA_CURVATURE_MAX"]

METHODS = ("saddle", "1d", "asymptotic", "separatrix", "no-volume")

# Where "saddle" is claimed to hold (docs/theory.md, "Measured against predicted"):
X_MIN = 2.0                 # Delta L / T: the barrier large against T (quadratic saddle)
VOLUME_FRACTION_MAX = 0.5   # the volume term uses at most half of the saddle's curvature
ETA_CURVATURE_MAX = 0.25    # eta x the largest curvature at the saddle (Langevin limit)


@dataclass(frozen=True)
class EscapeTimeTerms:
    """Everything :func:`escape_time` is built from (floats; ``steps`` the prediction).

    ``T = eta sigma^2 / 2``; ``x = barrier / T``; ``curvature`` = ``V''(theta_s)`` (< 0,
    volume term included); ``lambda_u`` the unstable eigenvalue of the full Hessian of U
    at the saddle; ``kappa`` the factor multiplying the 1-D time (1 for ``"1d"``).
    """

    method: str
    steps: float
    steps_1d: float
    kappa: float
    T: float
    x: float
    eta: float
    sigma: float
    p: int
    theta_s: float
    barrier: float
    curvature: float
    lambda_u: float


def _check(problem, eta, sigma, method):
    if not isinstance(problem, Problem):
        raise TypeError(f"problem: expected a verified_pgd.Problem, got {type(problem).__name__}")
    eta = check_positive(eta, "eta")
    sigma = check_positive(sigma, "sigma")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if problem.p < 2:
        raise ValueError(f"w_star: escape needs p >= 2 (theta diffuses on S^(p-1)), got p = {problem.p}")
    if not landscape.has_spurious_minimum(problem):
        raise ValueError("a_star: this teacher has no spurious minimum, so there is no escape time")
    return eta, sigma


def _one_d(problem, T, vol, dps):
    """``(1/T) int_{th_s}^{pi} e^{W(x)} int_x^{pi} e^{-W(y)} dy dx`` with
    ``W = (l - l(theta_s))/T - vol log sin`` (shifted so nothing overflows)."""
    th_s = landscape.saddle_theta(problem, dps)
    if dps is None:
        from scipy.integrate import quad
        ls = float(landscape.reduced_loss(problem, th_s))

        def W(t):
            return (float(landscape.reduced_loss(problem, t)) - ls) / T - vol * math.log(math.sin(t))

        def inner(x):
            return quad(lambda y: math.exp(-W(y)), x, math.pi, epsabs=0, epsrel=1e-11,
                        limit=200)[0]
        out = quad(lambda x: math.exp(W(x)) * inner(x), float(th_s), math.pi, epsabs=0,
                   epsrel=1e-9, limit=200)[0]
        return out / T
    import mpmath
    with mpmath.workdps(dps + 5):
        # in e = pi - theta (sin(theta) = sin(e) > 0 without cancellation at theta = pi)
        Tm = mpmath.mpf(T)
        pi = +mpmath.pi
        e_s = pi - th_s
        # l(pi - e) - l(theta_s) = (s^2 alpha / 4 pi) (g_s - h)^2 ... written as
        # c0 [(pi - h)(pi + h - 2 g_s) - (pi - g_s)^2] with h(e) = sin e - e cos e
        s2 = mpmath.fsum(mpmath.mpf(float(x)) ** 2 for x in problem.w_star)
        c0 = landscape.alpha(problem, dps + 5) * s2 / (4 * pi)
        gs = landscape.g_s(problem, dps + 5)

        def W(e):
            h = mpmath.sin(e) - e * mpmath.cos(e)
            return -c0 * (gs - h) ** 2 / Tm - vol * mpmath.log(mpmath.sin(e))

        def inner(e):
            return mpmath.quad(lambda u: mpmath.exp(-W(u)), [0, e])

        out = mpmath.quad(lambda e: mpmath.exp(W(e)) * inner(e), [0, e_s])
        return +(out / Tm)


def _asymptotic(problem, T, vol):
    """Half Gaussian at the saddle times the cubic well's Laplace integral (module doc)."""
    th_s = float(landscape.saddle_theta(problem))
    dL = float(landscape.barrier(problem))
    c = problem.s ** 2 * float(landscape.alpha(problem)) * float(landscape.g_s(problem)) / (6 * math.pi)
    curv = _curvature(problem, T, vol)                     # V''(theta_s) < 0, in loss units
    saddle_side = 0.5 * math.sqrt(2 * math.pi * T / -curv) * math.sin(th_s) ** (-vol)
    n = vol + 1                                            # e^(p-2) de -> Gamma(n/3)/3 (T/c)^(n/3)
    well = math.gamma(n / 3) / 3 * (T / c) ** (n / 3)
    return saddle_side * well * math.exp(dL / T) / T


def _curvature(problem, T, vol):
    H = _saddle_hessian(problem, T, vol)
    return float(H[0, 0] - H[0, 1:] @ np.linalg.solve(H[1:, 1:], H[1:, 0]))


def _saddle_hessian(problem, T, vol):
    sd = landscape.saddle(problem)
    H, _ = reduced_hessian(problem, float(sd.theta), np.asarray(sd.a, float))
    H = np.array(H, dtype=float)
    H[0, 0] += vol * T / math.sin(float(sd.theta)) ** 2   # -(p-2) T log sin theta
    return H


def _krylov(H, tol=1e-10):
    """Orthonormal basis (columns) of the smallest H-invariant subspace containing e_0."""
    n = H.shape[0]
    basis = [np.eye(n)[:, 0]]
    while len(basis) < n:
        v = H @ basis[-1]
        for b in basis:
            v = v - (b @ v) * b
        for b in basis:                                    # re-orthogonalise once
            v = v - (b @ v) * b
        nv = np.linalg.norm(v)
        if nv <= tol * max(1.0, np.abs(H).max()):
            break
        basis.append(v / nv)
    return np.column_stack(basis)


def saddle_factor(H, steps=None) -> float:
    """``kappa = cap_trial / cap`` (:func:`_saddle_factor`), Richardson-extrapolated from two
    grid steps (the scheme is second order; measured: 1.2965, 1.3041 at steps 0.6, 0.45
    extrapolate to 1.3139 against 1.3128 from 0.45, 0.3 for the default teacher)."""
    H = np.asarray(H, float)
    d = _krylov(H).shape[1]
    if steps is None:
        steps = (0.4, 0.2) if d <= 2 else (0.6, 0.45)
    return _saddle_factor_cached(H.tobytes(), H.shape, tuple(float(h) for h in steps))


@functools.lru_cache(maxsize=256)
def _saddle_factor_cached(H_bytes, shape, steps):
    # the 3-D solve takes seconds; a grid asks for the same H several times (every
    # method of a point, the no-volume control at every temperature)
    H = np.frombuffer(H_bytes, dtype=float).reshape(shape)
    h1, h2 = steps
    k1, k2 = _saddle_factor(H, h1), _saddle_factor(H, h2)
    r = (h1 / h2) ** 2
    return k2 + (k2 - k1) / (r - 1)


def _saddle_factor(H, step, widths=4.0, reach=2.0) -> float:
    """``kappa = cap_trial / cap`` for the quadratic model ``U = y^T H y / 2`` (T = 1 after
    scaling y by sqrt(T)) and the half-space ``{y_0 <= 0}``, well on ``y_0 > 0``.

    ``cap_trial = 2 (2 pi)^(d/2 - 1) |S| / sqrt(|det H|)`` is the energy of the best
    ``h(y_0)`` (S the Schur complement of the ``y_0`` entry); ``cap`` is the flux of the
    equilibrium potential, ``h = 1`` on ``y_0 = 0``, ``h = 0`` deep in the well, solved by
    second-order finite differences of ``Delta h - (H y).grad h = 0`` in the Krylov
    subspace of ``e_0`` (the orthogonal complement is H-invariant and carries no
    dependence).  ``kappa >= 1`` by the Dirichlet principle; ``kappa = 1`` when the
    coupling vanishes.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu
    H = np.asarray(H, float)
    K = _krylov(H)
    Hk = K.T @ H @ K
    d = Hk.shape[0]
    Hs = Hk[1:, 1:]
    S = Hk[0, 0] - (Hk[0, 1:] @ np.linalg.solve(Hs, Hk[1:, 0]) if d > 1 else 0.0)
    if S >= 0:
        raise ValueError("sigma: at this temperature the volume term -(p-2) T log sin(theta) "
                         "removes the saddle at theta_s (V''(theta_s) >= 0); the saddle "
                         "prefactor does not apply (use method='1d')")
    if d == 1:
        return 1.0
    ev_s = np.linalg.eigvalsh(Hs)
    if ev_s[0] <= 0:
        raise ValueError("H: the a-block is not positive definite")
    # Box: theta out to 5 widths of the downhill valley, the other coordinates far enough
    # to hold the valley floor a = -Hs^-1 b y_0 over the part of theta that carries flux.
    # (capped at 12: beyond that h and the flux are below e^-30 of their saddle values)
    L0 = min(widths / math.sqrt(-S), 12.0)
    shift = np.abs(np.linalg.solve(Hs, Hk[1:, 0])) * min(reach / math.sqrt(-S), 6.0)
    Ls = np.minimum(widths / math.sqrt(ev_s[0]) + shift, 12.0)
    axes = [np.arange(0.0, L0 + step / 2, step)]
    axes += [np.arange(-math.ceil(l / step), math.ceil(l / step) + 1) * step for l in Ls]
    shape = tuple(len(a) for a in axes)
    N = int(np.prod(shape))
    grids = np.meshgrid(*axes, indexing="ij")
    Y = np.stack([g.ravel() for g in grids])             # (d, N)
    drift = -(Hk @ Y)                                    # generator: Delta h + drift . grad h
    idx = np.arange(N).reshape(shape)
    rows, cols, vals = [], [], []
    rhs = np.zeros(N)
    fixed = np.zeros(N, bool)
    first = idx[0].ravel()                               # y_0 = 0: h = 1
    last = idx[-1].ravel()                               # y_0 = L0: h = 0
    fixed[first] = True
    fixed[last] = True
    rhs[first] = 1.0
    free = ~fixed
    diag = np.zeros(N)
    for ax in range(d):
        n_ax = shape[ax]
        pos = np.moveaxis(idx, ax, 0)
        for off in (+1, -1):
            # neighbour index, mirrored at the outer faces of the stable axes (Neumann)
            src = pos.reshape(n_ax, -1)
            j = np.arange(n_ax) + off
            if ax > 0:
                j = np.where(j < 0, 1, np.where(j >= n_ax, n_ax - 2, j))
            else:
                j = np.clip(j, 0, n_ax - 1)
            nb = src[j]
            coef = 1.0 / step ** 2 + off * drift[ax][src.ravel()].reshape(src.shape) / (2 * step)
            r = src.ravel()
            rows.append(r)
            cols.append(nb.ravel())
            vals.append(coef.ravel())
            diag[r] -= 1.0 / step ** 2
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    vals = np.concatenate(vals)
    keep = free[rows]
    A = sp.coo_matrix((vals[keep], (rows[keep], cols[keep])), shape=(N, N)).tocsr()
    A = A + sp.diags(np.where(free, diag, 1.0))
    # move the fixed values to the right-hand side
    Af = A[free][:, free]
    b = -(A[free][:, fixed] @ rhs[fixed])
    h = rhs.copy()
    h[free] = splu(Af.tocsc(), permc_spec="MMD_AT_PLUS_A").solve(b)
    h = h.reshape(shape)
    # Flux through the planes y_0 = const (constant in exact arithmetic): cap = -int
    # d_0 h e^{-U} dy_rest.  Averaged over the planes near the saddle, where it is accurate.
    U = 0.5 * np.einsum("in,ij,jn->n", Y, Hk, Y).reshape(shape)
    dh = np.diff(h, axis=0) / step
    Um = 0.5 * (U[1:] + U[:-1])
    flux = -(dh * np.exp(-Um)).reshape(shape[0] - 1, -1).sum(axis=1) * step ** (d - 1)
    cap = float(np.mean(flux[: max(2, len(flux) // 4)]))
    cap_trial = 2 * (2 * math.pi) ** (d / 2 - 1) * (-S) / math.sqrt(abs(np.linalg.det(Hk)))
    return cap_trial / cap


@dataclass(frozen=True)
class EscapeAssumptions:
    """Whether the assumptions of ``method="saddle"`` hold at (problem, eta, sigma).

    ``x = barrier / T`` (needs ``>= X_MIN``); ``volume_fraction = (p - 2) T / sin^2
    theta_s / |S_0|`` with ``S_0`` the saddle's reduced curvature without the volume term
    (``>= 1``: the volume term removes the saddle; needs ``<= VOLUME_FRACTION_MAX``: the
    quadratic model at theta_s also ignores the slope ``-(p - 2) T cot theta_s`` that
    moves V's maximum off theta_s); ``eta_curvature`` = eta times the largest eigenvalue of
    the saddle Hessian (needs ``<= ETA_CURVATURE_MAX``: the discrete chain is close to the
    diffusion).  ``reasons`` names every failed condition; ``holds`` = no reasons.
    """

    x: float
    volume_fraction: float
    eta_curvature: float
    saddle: bool
    reasons: tuple

    @property
    def holds(self) -> bool:
        return not self.reasons


def _past(value, limit):
    """``value`` with enough digits that it reads as different from ``limit`` (0.2503
    beside 0.25 would print as "0.25 > 0.25" at three digits)."""
    for digits in range(3, 18):
        text = f"{value:.{digits}g}"
        if float(text) != limit:
            return text
    return repr(value)


def assumptions(problem, eta, sigma) -> EscapeAssumptions:
    """The checks of :class:`EscapeAssumptions` (float64)."""
    eta, sigma = _check(problem, eta, sigma, "saddle")
    T = eta * sigma * sigma / 2
    x = float(landscape.barrier(problem)) / T
    vol = problem.p - 2
    s0 = _curvature(problem, T, 0)
    th_s = float(landscape.saddle_theta(problem))
    frac = vol * T / math.sin(th_s) ** 2 / abs(s0) if s0 < 0 else math.inf
    H = _saddle_hessian(problem, T, vol)
    eta_curv = eta * float(np.abs(np.linalg.eigvalsh(H)).max())
    reasons = []
    if x < X_MIN * (1 - 1e-9):                          # x = 2 set through sigma rounds
        reasons.append(f"Delta L / T = {_past(x, X_MIN)} < {X_MIN:g}")
    if frac >= 1:
        reasons.append("no saddle in V (the volume term removes it)")
    elif frac > VOLUME_FRACTION_MAX:
        reasons.append(f"volume fraction {_past(frac, VOLUME_FRACTION_MAX)} > {VOLUME_FRACTION_MAX:g}")
    if eta_curv > ETA_CURVATURE_MAX:
        reasons.append(f"eta x curvature = {_past(eta_curv, ETA_CURVATURE_MAX)} > {ETA_CURVATURE_MAX:g}")
    return EscapeAssumptions(x, frac, eta_curv, frac < 1, tuple(reasons))


def escape_time_terms(problem, eta, sigma, method="saddle", dps=None) -> EscapeTimeTerms:
    """The prediction of :func:`escape_time` with its ingredients."""
    eta, sigma = _check(problem, eta, sigma, method)
    if dps is not None:
        dps = check_dps(dps)
    T = eta * sigma * sigma / 2
    vol = 0 if method == "no-volume" else problem.p - 2
    th_s = float(landscape.saddle_theta(problem))
    dL = float(landscape.barrier(problem))
    H = _saddle_hessian(problem, T, vol)
    curv = _curvature(problem, T, vol)
    lam_u = float(np.linalg.eigvalsh(H)[0])
    if method == "asymptotic":
        t1 = _asymptotic(problem, T, vol)
        kappa = 1.0
    else:
        t1 = float(_one_d(problem, T, vol, dps))
        if method == "1d":
            kappa = 1.0
        elif method == "separatrix":
            if curv >= 0:
                raise ValueError("sigma: at this temperature the volume term removes the "
                                 "saddle at theta_s (V''(theta_s) >= 0); use method='1d'")
            kappa = curv / lam_u
        else:
            kappa = saddle_factor(H)
    return EscapeTimeTerms(method, t1 * kappa / eta, t1 / eta, kappa, T, dL / T, eta, sigma,
                           problem.p, th_s, dL, curv, lam_u)


def escape_time(problem, eta, sigma, method="saddle", dps=None) -> float:
    """Predicted mean number of PGD steps from the spurious minimum to ``theta < theta_s``
    at constant noise ``sigma`` and step ``eta`` (module docstring for ``method``)."""
    return escape_time_terms(problem, eta, sigma, method, dps).steps
