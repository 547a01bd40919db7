"""Theory values against computations outside verified_pgd.theory.

* theory.hessian_spectrum: the eigenvalues (with multiplicity) of the public vp.hessian at
  the optimum restricted to a tangent basis built here ({dw . w_hat* = 0} x R^k); at 40
  digits, of vp.hessian_mp (mpmath.eigsy).  (tests/test_theory.py compares it with the
  closed-form spectrum; this adds the route through the public evaluator.)
* the design's local stage: tests/test_property_convergence.py::
  test_design_stages_follow_from_the_constants recomputes local_steps with the design's
  own expression (a copied formula).  Here: plain GD started on the boundary of the
  certified basin (chart distance = basin_radius) reaches eps-success within local_steps,
  and the stage is not absurdly long (GD needs more than a quarter of it; measured ~0.4,
  so this check only catches a stage too short, or more than ~2.5x too long).
"""
import mpmath
import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import strategies as vst
from verified_pgd import theory
from verified_pgd.theory import schedule_design

PROBLEMS = [([1.0, 0.0, 0.0], [1.0, 1.0, 1.0, -1.0]), ([0.0, 1.5, 0.0, 0.0], [1.0, -0.6, 0.3]),
            ([0.6, -0.8], [2.0, -1.0]), ([2.0], [1.0, -1.0])]


def tangent_basis(prob):
    wh = prob.w_star / prob.s
    q, _ = np.linalg.qr(np.column_stack([wh, np.eye(prob.p)]))
    T = np.zeros((prob.p + prob.k, prob.p - 1 + prob.k))
    T[:prob.p, :prob.p - 1] = q[:, 1:prob.p]
    T[prob.p:, prob.p - 1:] = np.eye(prob.k)
    return wh, T


@pytest.mark.parametrize("w_star, a_star", PROBLEMS)
def test_hessian_spectrum_is_the_tangent_hessians(w_star, a_star):
    prob = vp.Problem(w_star, a_star)
    wh, T = tangent_basis(prob)
    H = vp.hessian(prob, wh, prob.s * prob.a_star)
    ev = np.linalg.eigvalsh(T.T @ H @ T)
    sp = theory.hessian_spectrum(prob)
    assert np.allclose(np.sort(sp.eigenvalues), ev, rtol=1e-12, atol=1e-14)
    assert sp.mu == pytest.approx(ev[0], rel=1e-12) and sp.lam_max == pytest.approx(ev[-1], rel=1e-12)
    with mpmath.workdps(40):
        # s a* at 40 digits: its float64 rounding is not the optimum to 40 digits
        a_opt = [mpmath.sqrt(mpmath.fsum(mpmath.mpf(x) ** 2 for x in prob.w_star)) * mpmath.mpf(x)
                 for x in prob.a_star]
        Hm = mpmath.matrix(vp.hessian_mp(prob, wh, a_opt, dps=40))
        # exact tangent basis for w* along a coordinate axis (all but the 2-d case)
        if np.count_nonzero(prob.w_star) == 1:
            j = int(np.flatnonzero(prob.w_star)[0])
            keep = [i for i in range(prob.p + prob.k) if i != j]
            Ht = mpmath.matrix([[Hm[i, l] for l in keep] for i in keep])
            evm = sorted(mpmath.eigsy(Ht, eigvals_only=True))
            spm = sorted(theory.hessian_spectrum(prob, dps=40).eigenvalues)
            assert max(abs(x - y) for x, y in zip(evm, spm)) < mpmath.mpf(10) ** -35


@pytest.mark.parametrize("a_star", [[1.0, -1.0], [1.0, 1.0, 1.0, -1.0], [1.0, 1.0, -1.5]])
def test_design_local_stage_suffices_from_the_basin_boundary(a_star):
    prob = vp.Problem([1.0, 0.0, 0.0], a_star)
    eta = 0.5 * vst.eta_max(prob)
    eps = 1e-6
    d = schedule_design.design(prob, eps, 0.05, eta)
    r = theory.basin_radius(prob)
    th = r / np.sqrt(2)                         # chart distance sqrt(th^2 + |da|^2) = r
    g = np.random.default_rng(0)
    v = g.standard_normal((16, prob.k))
    v /= np.linalg.norm(v, axis=1)[:, None]
    a0 = prob.s * prob.a_star + th * v
    res = vp.pgd(prob, [np.cos(th), np.sin(th), 0.0], a0, vp.Schedule([(0.0, d.local_steps)]),
                 eta, chains=16, eps=eps)
    assert (res.hit_step >= 0).all() and not res.diverged.any()
    assert res.hit_step.min() > d.local_steps // 4
