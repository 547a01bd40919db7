"""Every deterministic claims quantity against an independent computation.

The claims checker (``load_claims`` + ``check_claim``, the API of `vpgd claims`) reports
for each grid point an enclosure ``value = (lo, hi)``.  Here each quantity is recomputed
from the public float64 / mpmath evaluators, not from the closed forms the checker uses:

* spurious_loss: the least-squares a at theta = pi (L is quadratic in a: its gradient is
  affine, solved from k + 1 gradient evaluations), loss at 40 digits;
* saddle_loss: max over theta of min_a L along the great circle from w* to -w*
  (scipy bounded scalar search, inner least squares as above); barrier = the difference;
* mu, lam_max: extreme eigenvalues of vp.hessian at the optimum (w_hat*, s a*) restricted
  to the tangent space {dw . w_hat* = 0} x R^k;
* smoothness, basin_radius: the formulas stated in the theory docstrings
  (max(s R |a*|/2, (k + pi - 1)/(2 pi)) + s pi |a*|/8 with R = 2 s |a*|; mu / (2 K),
  K = (s/2pi)(2 pi |a*| + (2 + pi^2/4) s |a*|^2)) with mu from the Hessian above;
* schedule_length: the sum of the stage lengths of theory.schedule.

A quantity off by a factor 2 (or a length off by 2 steps) lies outside the tolerance.
"""
import textwrap

import mpmath
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import verified_pgd as vp
from verified_pgd import theory
from verified_pgd.claims import check_claim, load_claims

PROBLEMS = [([1.0, 0.0, 0.0], [1.0, 1.0, 1.0, -1.0]),
            ([0.0, 1.5, 0.0, 0.0], [1.0, -0.6, 0.3]),
            ([0.6, -0.8], [2.0, -1.0])]


def claim_value(tmp_path, quantity, w_star, a_star, params=""):
    f = tmp_path / "c.toml"
    f.write_text(textwrap.dedent(f"""
        [[claim]]
        name = "probe"
        quantity = "{quantity}"
        relation = "<="
        bound = "1e9"
        [claim.problem]
        w_star = {list(w_star)}
        a_star = {list(a_star)}
        """) + params)
    (res,) = [r for c in load_claims(f) for r in check_claim(c)]
    assert res.verdict == "holds"
    return res.value


def best_a(prob, w):
    """argmin_a L(w, a): the a-gradient is affine in a; solve it from k + 1 evaluations."""
    k = prob.k
    c = vp.grad(prob, w, np.zeros(k))[1]
    H = np.column_stack([vp.grad(prob, w, np.eye(k)[j])[1] - c for j in range(k)])
    return np.linalg.solve(H, -c)


def reduced_loss(prob, th):
    wh = prob.w_star / prob.s
    perp = np.zeros(prob.p)
    perp[np.argmin(np.abs(wh))] = 1.0
    perp -= (perp @ wh) * wh
    perp /= np.linalg.norm(perp)
    w = np.cos(th) * wh + np.sin(th) * perp
    a = best_a(prob, w)
    return float(vp.loss_mp(prob, w, a, dps=40)), w, a


def tangent_spectrum(prob):
    wh = prob.w_star / prob.s
    H = vp.hessian(prob, wh, prob.s * prob.a_star)
    # orthonormal basis of {dw . w_hat* = 0} x R^k
    q, _ = np.linalg.qr(np.column_stack([wh, np.eye(prob.p)]))
    T = np.zeros((prob.p + prob.k, prob.p - 1 + prob.k))
    T[:prob.p, :prob.p - 1] = q[:, 1:prob.p]
    T[prob.p:, prob.p - 1:] = np.eye(prob.k)
    ev = np.linalg.eigvalsh(T.T @ H @ T)
    return ev.min(), ev.max()


def inside(value, x, rtol):
    lo, hi = value
    tol = rtol * abs(x)
    return lo - tol <= x <= hi + tol and hi - lo <= tol + 1e-300 + 1e-12 * abs(x)


@pytest.mark.parametrize("w_star, a_star", PROBLEMS)
def test_landscape_values_match_an_independent_search(tmp_path, w_star, a_star):
    prob = vp.Problem(w_star, a_star)
    spur, _, _ = reduced_loss(prob, np.pi)
    opt = minimize_scalar(lambda t: -reduced_loss(prob, t)[0], bounds=(1e-3, np.pi - 1e-3),
                          method="bounded", options={"xatol": 1e-10})
    saddle = -opt.fun
    assert saddle > spur                                # there is a spurious minimum
    for q, x in (("spurious_loss", spur), ("saddle_loss", saddle), ("barrier", saddle - spur)):
        v = claim_value(tmp_path, q, w_star, a_star)
        assert inside(v, x, 1e-8), (q, v, x)
        assert not inside(v, 2 * x, 1e-8) and not inside(v, x / 2, 1e-8)


@pytest.mark.parametrize("w_star, a_star", PROBLEMS)
def test_spectrum_smoothness_and_basin_radius(tmp_path, w_star, a_star):
    prob = vp.Problem(w_star, a_star)
    mu, lam = tangent_spectrum(prob)
    s, na, k = prob.s, float(np.linalg.norm(prob.a_star)), prob.k
    R = 2 * s * na
    smooth = max(s * R * na / 2, (k + np.pi - 1) / (2 * np.pi)) + s * np.pi * na / 8
    K = s / (2 * np.pi) * (2 * np.pi * na + (2 + np.pi ** 2 / 4) * s * na ** 2)
    for q, x in (("mu", mu), ("lam_max", lam), ("smoothness", smooth),
                 ("basin_radius", mu / (2 * K))):
        v = claim_value(tmp_path, q, w_star, a_star)
        assert inside(v, x, 1e-10), (q, v, x)
        assert not inside(v, 2 * x, 1e-10) and not inside(v, x / 2, 1e-10)


@pytest.mark.parametrize("eta, eps, delta", [(0.3, 1e-3, 0.1), (0.1, 1e-6, 0.01)])
def test_schedule_length_is_the_length_of_theory_schedule(tmp_path, eta, eps, delta):
    w_star, a_star = PROBLEMS[0]
    prob = vp.Problem(w_star, a_star)
    n = sum(st.steps for st in theory.schedule(prob, eps, delta, eta).stages)
    v = claim_value(tmp_path, "schedule_length", w_star, a_star,
                    f"[claim.params]\neta = {eta}\neps = {eps}\ndelta = {delta}\n")
    assert v == (n, n)
