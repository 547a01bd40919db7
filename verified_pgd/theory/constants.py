"""Constants of the landscape on {|w| = 1}: Hessian spectrum at the optimum, smoothness,
GD contraction and step range, and the basin where the Hessian stays >= mu/2.

The chart (docs/landscape.md, "Hessian in the chart"): at a point whose filter makes
the angle theta with w*, the Riemannian Hessian of L on S^(p-1) x R^k is, in the
orthonormal frame (e_theta, e_perp_1..e_perp_(p-2), a),

    blockdiag(H_red(theta, a), lambda_perp(theta, a) I_(p-2))

    H_red = [[-(s/2pi) g''(theta) a.a*,      (s/2pi)(pi - theta) sin(theta) a*^T],
             [ (s/2pi)(pi - theta) sin(theta) a*,   M / (2 pi)                   ]]
    lambda_perp = (s/2pi)(pi - theta) cos(theta) a.a*
    g' = -(pi - theta) sin theta,   g'' = sin theta - (pi - theta) cos theta.

(theta-theta entry: second derivative along the great circle through w*; the e_perp
entries: l_theta * cot(theta) from cos(theta(phi)) = cos(phi) cos(theta); mixed terms
vanish by the reflection symmetry across span(w, w*).)  Tests compare this with the
generic Riemannian Hessian ``vp.hessian(..., riemannian=True)``.

With ``c0 = pi^2/4 >= (pi - theta) sin(theta)`` on [0, pi] (as sin theta <= theta and
theta (pi - theta) <= pi^2/4; the true maximum is ~1.8197, see :func:`x_sin_x_max` --
the elementary bound keeps every constant a closed form the certificate checker can
evaluate without root finding):

* smoothness over {|w| = 1, |a| <= R}:
  ``L_R = max(s R |a*| / 2, (k + pi - 1)/(2 pi)) + (s/2pi) c0 |a*|``
  ``= max(...) + s pi |a*| / 8`` bounds the operator
  norm of the Riemannian Hessian (|g''| <= pi, block bound max(|A|, |C|) + |B|);
* Hessian Lipschitz-type bound at the optimum: for theta <= rho and |a - s a*| <= rho,
  ``|H - H*| <= K rho`` with ``K = (s/2pi)(2 pi |a*| + (2 + pi^2/4) s |a*|^2)``
  (|g'''| <= 2 + c0, |d/dtheta (pi - theta) cos theta| <= 1 + c0, (pi - theta) sin theta <= pi theta);
* basin radius ``rho = mu / (2 K)``: by Weyl, lambda_min >= mu/2 there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_dps, check_positive
from ..backends import get as get_backend, teacher
from ..problem import Problem
from . import closed_forms as cf
from . import landscape


def _check_problem(problem):
    if not isinstance(problem, Problem):
        raise TypeError(f"problem: expected a verified_pgd.Problem, got {type(problem).__name__}")


@dataclass(frozen=True)
class HessianSpectrum:
    """Eigenvalues of the Riemannian Hessian at the global minimum, on the tangent space
    of S^(p-1) x R^k (dimension p - 1 + k), ascending.

    ``mu`` = smallest, ``lam_max`` = largest, ``condition`` = lam_max / mu.
    """

    eigenvalues: tuple
    mu: object
    lam_max: object
    condition: object


@dataclass(frozen=True)
class LandscapeConstants:
    """Everything a schedule or a convergence argument needs (float64).

    barrier, theta_s and spurious_loss are None when there is no spurious minimum.
    ``R`` is the radius of the a-ball over which ``smoothness`` holds.
    """

    has_spurious_minimum: bool
    barrier: float | None
    theta_s: float | None
    spurious_loss: float | None
    mu: float
    lam_max: float
    R: float
    smoothness: float
    hessian_lipschitz: float
    basin_radius: float
    eta_max: float


def tangent_basis(w_hat, dps=None, *, backend=None) -> np.ndarray:
    """An orthonormal basis (columns, shape (p, p-1)) of the tangent space w_hat^perp,
    from the Householder reflection that maps w_hat to +-e_i (i = argmax |w_hat_i|).

    float64 by default; with ``dps`` (mpmath) or ``backend="arb"`` the entries of
    ``w_hat`` are used as given (object array) under the caller's working precision.
    """
    p = len(w_hat)
    i = int(np.argmax(np.abs(np.array([float(x) for x in w_hat], dtype=float))))
    if dps is None and backend in (None, "float64"):
        w_hat = np.asarray(w_hat, dtype=float)
        v = w_hat.copy()
        v[i] += np.sign(w_hat[i])
        Hh = np.eye(p) - 2 * np.outer(v, v) / (v @ v)
    else:
        B = get_backend(backend or "mpmath")
        v = np.array(list(w_hat), dtype=object)
        v[i] = v[i] + (1 if w_hat[i] > 0 else -1)
        vv = (v * v).sum()
        Hh = np.array([[B.convert(int(r == c)) - 2 * v[r] * v[c] / vv for c in range(p)]
                       for r in range(p)], dtype=object)
    return np.delete(Hh, i, axis=1)


def tangent_hessian(problem, w, a, dps=None, *, backend=None) -> np.ndarray:
    """The Riemannian Hessian at (w, a) (|w| = 1) restricted to the tangent space of
    S^(p-1) x R^k, in the basis (tangent_basis(w), e_1..e_k): shape (p-1+k, p-1+k).

    float64 (ndarray), mpmath at ``dps`` (an ``mpmath.matrix``) or, with
    ``backend="arb"``, an object array of balls at ``dps`` digits (default 50)."""
    import verified_pgd as vp
    p, k = problem.p, problem.k
    if backend == "arb":
        with landscape._Numbers(problem, dps, backend) as c:
            B = c.B
            w = np.array([x if isinstance(x, B.flint.arb) else B.convert(x) for x in w], dtype=object)
            a = np.array([x if isinstance(x, B.flint.arb) else B.convert(x) for x in a], dtype=object)
            return tangent_hessian_in(B, c.T, w, a)
    if dps is None:
        H = vp.hessian(problem, w, a, riemannian=True)
        Q = np.zeros((p + k, p - 1 + k))
        Q[:p, :p - 1] = tangent_basis(w)
        Q[p:, p - 1:] = np.eye(k)
        return Q.T @ H @ Q
    import mpmath
    with mpmath.workdps(dps):
        H = mpmath.matrix(vp.hessian_mp(problem, w, a, dps=dps, riemannian=True).tolist())
        Q = mpmath.zeros(p + k, p - 1 + k)
        Tb = tangent_basis(w, dps)
        for r in range(p):
            for c in range(p - 1):
                Q[r, c] = Tb[r, c]
        for j in range(k):
            Q[p + j, p - 1 + j] = 1
        return Q.T * H * Q


def tangent_hessian_in(B, T, w, a) -> np.ndarray:
    """:func:`tangent_hessian` in an object backend ``B`` (mpmath or arb) for the teacher
    ``T``, under the caller's working precision: the generic Riemannian Hessian
    (``formulas.hessian``) in the basis (tangent_basis(w), e_1..e_k), as an object array."""
    from .. import formulas
    p, k = T.p, T.k
    H = formulas.hessian(B, T.w_hat_star, T.a_star, T.s, w, a, riemannian=True)
    Q = np.empty((p + k, p - 1 + k), dtype=object)
    Q[...] = B.zero()
    Q[:p, :p - 1] = tangent_basis(w, backend=B.name)
    for j in range(k):
        Q[p + j, p - 1 + j] = B.one()
    return Q.T.dot(H).dot(Q)


def symmetric_eigenvalues_arb(B, H) -> tuple:
    """Balls enclosing the eigenvalues (ascending) of the real symmetric matrix enclosed by
    the arb object array ``H`` (n x n), at the working precision.

    python-flint's ``acb_mat.eig`` does not isolate the multiple eigenvalues of the
    Hessian at the optimum, so the enclosure is built from two classical inequalities:
    with V the (rounded) eigenvectors of mid(H) from ``mpmath.eigsy`` taken exactly,
    C = V^T H V and G = V^T V - I (both in arb),

    * Weyl: |lambda_i(C) - d_(i)| <= |offdiag(C)|_F, d_(i) the i-th smallest diagonal
      entry of C (enclosed by the i-th smallest lower and upper ends);
    * Ostrowski: lambda_i(H) = lambda_i(C) / t_i with t_i in [1 - |G|_F, 1 + |G|_F]
      (the spectrum of V^T V; needs |G|_F < 1).
    """
    import mpmath
    arb = B.flint.arb
    n = H.shape[0]
    prec = B.flint.ctx.prec
    with mpmath.workprec(prec + 20):
        Hm = mpmath.matrix([[_mpf(H[r, c].mid()) for c in range(n)] for r in range(n)])
        _, Vm = mpmath.eigsy((Hm + Hm.T) / 2)
        V = np.array([[_arb_exact(arb, Vm[r, c]) for c in range(n)] for r in range(n)],
                     dtype=object)
    C = V.T.dot(H).dot(V)
    G = V.T.dot(V) - B.eye(n)
    e = arb(0, _frobenius_upper(arb, [C[r, c] for r in range(n) for c in range(n) if r != c]))
    dG = _frobenius_upper(arb, G.flat)
    if not dG < 1:
        raise ArithmeticError("eigenvalues: the approximate eigenvectors are not orthonormal "
                              "enough (raise the working precision)")
    t = arb(1, dG)
    diag = [C[i, i] for i in range(n)]
    lows = sorted((x.lower() for x in diag))
    highs = sorted((x.upper() for x in diag))
    return tuple(((arb(lo).union(arb(hi))) + e) / t for lo, hi in zip(lows, highs))


def _frobenius_upper(arb, xs):
    """An upper bound (arf) of sqrt(sum x^2) over balls xs (|x| bounded above first, so a
    ball around 0 never makes the sum's lower end negative)."""
    total = arb(0)
    for x in xs:
        total += arb(x.abs_upper()) ** 2
    return total.sqrt().abs_upper()


def _arb_exact(arb, x):
    """The exact arb of a finite mpf."""
    sign, man, exp, _ = x._mpf_
    return arb((-int(man) if sign else int(man), int(exp)))


def _mpf(x):
    """The exact mpf of an arf (arb midpoint)."""
    import mpmath
    m, e = x.man_exp()
    return mpmath.mpf((int(m), int(e)))


def hessian_spectrum(problem, dps=None, *, backend=None) -> HessianSpectrum:
    """Spectrum of the Riemannian Hessian at the global minimum (w_hat*, s a*), computed
    from the generic Hessian (``vp.hessian(..., riemannian=True)`` / ``hessian_mp`` / arb)
    restricted to the tangent space.  Closed form (docs/design.md section 3, checked in tests):
    (pi-1)/(2pi) x(k-1), (k+pi-1)/(2pi) x1, s^2 |a*|^2 / 2 x(p-1).

    With ``backend="arb"`` every eigenvalue is a ball certified to contain the exact one
    (:func:`symmetric_eigenvalues_arb`), at ``dps`` digits (default 50)."""
    _check_problem(problem)
    if backend == "arb":
        with landscape._Numbers(problem, dps, backend) as c:
            B, T = c.B, c.T
            # Eigenvalue enclosures lose a few digits; work 10 digits above the target.
            with B.workdps(c.dps + 10):
                T = teacher(B, problem)
                Ht = tangent_hessian_in(B, T, T.w_hat_star.copy(), T.s * T.a_star)
                ev = symmetric_eigenvalues_arb(B, Ht)
            ev = tuple(+x for x in ev)
            # the ratio too at dps (outside, flint's ambient precision would round it)
            condition = ev[-1] / ev[0]
        return HessianSpectrum(ev, ev[0], ev[-1], condition)
    if backend is not None and get_backend(backend).name != ("float64" if dps is None else "mpmath"):
        raise ValueError(f"backend: {backend!r} with dps={dps!r}; give dps for 'mpmath', "
                         "none for 'float64', or backend='arb'")
    gm = landscape.global_minimum(problem, dps)
    if dps is None:
        ev = np.linalg.eigvalsh(tangent_hessian(problem, gm.w, gm.a))
        ev = tuple(float(x) for x in ev)
        condition = ev[-1] / ev[0]
    else:
        import mpmath
        dps = check_dps(dps)
        with mpmath.workdps(dps + 10):
            Ht = tangent_hessian(problem, gm.w, gm.a, dps + 10)
            Ht = (Ht + Ht.T) / 2
            ev = mpmath.eigsy(Ht, eigvals_only=True)
            ev = sorted(ev[i] for i in range(len(ev)))
        with mpmath.workdps(dps):
            ev = tuple(+x for x in ev)
            condition = ev[-1] / ev[0]
    return HessianSpectrum(ev, ev[0], ev[-1], condition)


def reduced_hessian(problem, theta, a, dps=None, *, backend=None):
    """``(H_red, lambda_perp)`` of the chart at angle ``theta`` and weights ``a`` (module
    docstring; entries: :func:`.closed_forms.chart`).  float64 (unbatched), mpmath at
    ``dps`` or arb balls (``backend="arb"``)."""
    _check_problem(problem)
    k = problem.k
    with landscape._Numbers(problem, dps, backend) as c:
        B, T = c.B, c.T
        if c.float64:
            a = np.asarray(a, dtype=float)
            theta = float(theta)
            H = np.zeros((k + 1, k + 1))
        else:
            a = np.array([x if B.name == "arb" and isinstance(x, B.flint.arb) else
                          B.convert(x) for x in a], dtype=object)
            theta = theta if B.name == "arb" and isinstance(theta, B.flint.arb) \
                else B.convert(theta)
            H = np.empty((k + 1, k + 1), dtype=object)
            H[...] = B.zero()
        pi = T.pi
        aa = (a * T.a_star).sum()
        h_tt, beta, lam_perp = cf.chart(B, T, theta, aa)
        H[0, 0] = h_tt
        cross = beta * T.a_star
        H[0, 1:] = cross
        H[1:, 0] = cross
        H[1:, 1:] = ((pi - 1) * B.eye(k) + 1) / (2 * pi)
        return H, lam_perp


def x_sin_x_max(dps=None):
    """The exact ``max_{x in [0, pi]} x sin x`` (~1.8197, where tan x = -x), for reference:
    the constants use the elementary bound pi^2/4 instead."""
    if dps is None:
        from scipy.optimize import brentq
        x = brentq(lambda x: np.sin(x) + x * np.cos(x), 1.0, 3.0, xtol=1e-15)
        return float(x * np.sin(x))
    import mpmath
    with mpmath.workdps(check_dps(dps)):
        x = mpmath.findroot(lambda x: mpmath.sin(x) + x * mpmath.cos(x), (1, 3), solver="anderson")
        return +(x * mpmath.sin(x))


def smoothness_bound(problem, R, dps=None, *, backend=None):
    """Upper bound on the operator norm of the Riemannian Hessian of L over
    {|w| = 1, |a| <= R}:  ``max(s R |a*|/2, (k + pi - 1)/(2 pi)) + s pi |a*| / 8``.

    A bound, not the supremum; ``vpgd prove`` certifies a (tighter) bound of the same
    quantity by branch and bound in ball arithmetic.
    """
    _check_problem(problem)
    R = check_positive(R, "R")
    with landscape._Numbers(problem, dps, backend) as c:
        top, aa, tail = cf.smoothness_terms(c.B, c.T, c.B.convert(R))
        if c.B.name == "arb":
            return top.max(aa) + tail
        return c.out((top if top > aa else aa) + tail)


def hessian_lipschitz_bound(problem, dps=None):
    """K with |H(theta, a) - H(0, s a*)| <= K rho whenever theta <= rho and
    |a - s a*| <= rho:  ``K = (s/2pi)(2 pi |a*| + (2 + pi^2/4) s |a*|^2)``."""
    _check_problem(problem)
    with landscape._Numbers(problem, dps) as c:
        return c.out(cf.hessian_lipschitz(c.B, c.T))


def basin_radius(problem, dps=None):
    """rho = mu / (2 K): on {theta(w, w*) <= rho, |a - s a*| <= rho} (which contains the
    chart ball of radius rho) the Riemannian Hessian is >= mu/2, so GD with
    eta < 2 / (lam_max + mu/2) contracts there at the rate :func:`basin_contraction_factor`."""
    _check_problem(problem)
    mu = hessian_spectrum(problem, dps).mu
    K = hessian_lipschitz_bound(problem, dps)
    with landscape._Numbers(problem, dps) as c:
        return c.out(mu / (2 * K))


def _check_eta(eta):
    return check_positive(eta, "eta")


def contraction_factor(problem, eta, dps=None):
    """Local linear rate of GD at the optimum: ``max_i |1 - eta lambda_i|`` over the
    tangent Hessian spectrum (< 1 iff 0 < eta < 2 / lam_max)."""
    eta = _check_eta(eta)
    ev = hessian_spectrum(problem, dps).eigenvalues
    if dps is None:
        return float(np.max(np.abs(1 - eta * np.array(ev))))
    import mpmath
    with mpmath.workdps(check_dps(dps)):    # at dps, not at mpmath's ambient precision
        return max(abs(1 - mpmath.mpf(eta) * x) for x in ev)


def stable_step_range(problem, dps=None):
    """``(0, 2 / lam_max)``: the open interval of eta for which :func:`contraction_factor` < 1."""
    lam = hessian_spectrum(problem, dps).lam_max
    if dps is None:
        return (0.0, 2.0 / lam)
    import mpmath
    with mpmath.workdps(check_dps(dps)):    # at dps, not at mpmath's ambient precision
        return (0 * lam, 2 / lam)


def basin_contraction_factor(problem, eta, dps=None):
    """Guaranteed per-step contraction inside the basin (Hessian in [mu/2, lam_max + mu/2]):
    ``max(|1 - eta mu/2|, |1 - eta (lam_max + mu/2)|)``."""
    eta = _check_eta(eta)
    sp = hessian_spectrum(problem, dps)
    if dps is None:
        lo, hi = sp.mu / 2, sp.lam_max + sp.mu / 2
        return float(max(abs(1 - eta * lo), abs(1 - eta * hi)))
    import mpmath
    with mpmath.workdps(check_dps(dps)):    # at dps, not at mpmath's ambient precision
        lo, hi = sp.mu / 2, sp.lam_max + sp.mu / 2
        e = mpmath.mpf(eta)
        return max(abs(1 - e * lo), abs(1 - e * hi))


def default_radius(problem) -> float:
    """Default R = 2 s |a*| for :func:`smoothness_bound` (the certified radius).

    It contains the whole curve of reduced minimisers a(theta) = s M^-1((g - 1) a* + (1.a*) 1),
    g in [0, pi]: |a(theta)| <= s(|g - 1| |a*|/(pi - 1) + |1.a*| sqrt(k)/(k + pi - 1))
    <= 2 s |a*|, hence all critical points.
    """
    _check_problem(problem)
    return float(2 * problem.s * np.sqrt(np.sum(problem.a_star ** 2)))


def landscape_constants(problem, R=None) -> LandscapeConstants:
    """All constants in one immutable record (float64); see the field docs above."""
    _check_problem(problem)
    R = default_radius(problem) if R is None else check_positive(R, "R")
    sp = hessian_spectrum(problem)
    has = landscape.has_spurious_minimum(problem)
    barrier = landscape.barrier(problem) if has else None
    theta_s = landscape.saddle_theta(problem) if has else None
    spur = landscape.spurious_minimum(problem).loss if has else None
    return LandscapeConstants(has, barrier, theta_s, spur, sp.mu, sp.lam_max, R,
                              smoothness_bound(problem, R), hessian_lipschitz_bound(problem),
                              basin_radius(problem), 2.0 / sp.lam_max)
