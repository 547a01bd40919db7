"""Accuracy of the float64 path against 50-digit mpmath values (issue 2, item 5).

Problems: p, k in [1, 64], s = |w*| in [1e-2, 1e2], random directions (drawn from a
seeded numpy generator, so Hypothesis controls them through the seed).

What "relative" means here, and why:

* Loss at generic points: plain relative error |L - L_ref| <= 1e-12 |L_ref|.  L2 is a
  sum of non-negative terms plus 2us Delta (a.a*), and when a.a* < 0 that term is at
  most 2 pi/(4(pi-1)) < 3/4 of (pi - 1)|r|^2, so L is never a cancellation of much
  larger terms: relative accuracy is a fair demand wherever L is not ~0, i.e. away from
  the optimum ("generic": relative distance from the optimum set >= 1e-3).
* Gradient components: |g_i - ref_i| <= 1e-12 max(|ref_i|, scale), with scale the
  magnitude of the terms the gradient is a combination of in its textbook form G
  (docs/design.md section 2):
      scale_w = [u a^T M a + s (|a.a*| (pi + 2) + |1.a| |1.a*|)] / (2 pi),
      scale_a = u [u max|M a| + s ((pi - 1) max|a*| + |1.a*|)] / (2 pi).
  A component that is small because of cancellation between those terms can only be
  computed to ~eps * scale in any floating-point evaluation; a component-wise relative
  test would fail on it for reasons that say nothing about the implementation.
* Riemannian gradient -(s/2pi)(a.a*)(pi - theta) t is a product (no sums of terms of
  different sign once t is formed), so the scale is its own norm |g_R|: norm-wise
  relative, |g_i - ref_i| <= 1e-12 max(|ref_i|, |ref|_2).
* Near the optimum (relative distance delta in [1e-9, 1e-4] from the optimal ray) the loss is ~delta^2 times
  its scale, and the inputs' own rounding (|w|, w/|w|, u a - s a*, each exact to
  ~eps of the scale) limits any float64 evaluation to ~eps/delta relative: ~2e-7 at
  delta = 1e-9.  Hence the 1e-6 of the issue, and L2 meets it; L1 (which forms
  O(1) terms and cancels them to O(delta^2)) is off by ~eps/delta^2 and fails.
"""
import numpy as np
from hypothesis import assume, given, strategies as st

import verified_pgd as vp
from verified_pgd import formulas
from verified_pgd.backends import Float64

DPS = 50
TOL_GENERIC = 1e-12
TOL_NEAR = 1e-6

dims = st.integers(1, 64)
scales = st.floats(1e-2, 1e2)
seeds = st.integers(0, 2 ** 32 - 1)


def _unit(rng, n):
    v = rng.normal(size=n)
    return v / np.linalg.norm(v)


@st.composite
def problems(draw):
    p, k, s = draw(dims), draw(dims), draw(scales)
    rng = np.random.default_rng(draw(seeds))
    return vp.Problem(s * _unit(rng, p), rng.normal(size=k))


@st.composite
def generic_points(draw):
    """(prob, w, a): random directions, |w| = u_rel * s and |a| = a_rel * |a*| with
    u_rel, a_rel in [1e-2, 1e2]; at relative distance >= 1e-3 from the optimum set."""
    prob = draw(problems())
    rng = np.random.default_rng(draw(seeds))
    u = draw(st.floats(1e-2, 1e2)) * prob.s
    w = u * _unit(rng, prob.p)
    a = draw(st.floats(1e-2, 1e2)) * np.linalg.norm(prob.a_star) * _unit(rng, prob.k)
    return prob, w, a


def _off_ray(prob, c, delta, rng):
    """(w, a) at relative distance delta from the optimal ray {(c w_hat*, s a*/c)}.

    In the scale-free coordinates x = (w/c, c a/(s |a*|)) the optimum is
    x* = (w_hat*, a*/|a*|) and the ray is tangent to (w_hat*, -a*/|a*|); the random unit
    perturbation v is taken orthogonal to that tangent, else part of it would slide along
    the ray (for p = k = 1 it could be almost all of it) and the point would be much
    closer than delta to the optimal set.
    """
    n_a = np.linalg.norm(prob.a_star)
    tangent = np.concatenate([prob.w_hat_star, -prob.a_star / n_a]) / np.sqrt(2)
    v = rng.normal(size=prob.p + prob.k)
    v -= (v @ tangent) * tangent
    v /= np.linalg.norm(v)
    w = c * (prob.w_hat_star + delta * v[:prob.p])
    a = (prob.s * n_a / c) * (prob.a_star / n_a + delta * v[prob.p:])
    return w, a


@st.composite
def near_optimum(draw):
    """(prob, w, a, delta): relative distance delta in [1e-9, 1e-4] from the optimal ray,
    anywhere along it (c in [0.1, 10]); see :func:`_off_ray`."""
    prob = draw(problems())
    rng = np.random.default_rng(draw(seeds))
    delta = 10.0 ** draw(st.floats(-9, -4))
    c = 10.0 ** draw(st.floats(-1, 1))
    w, a = _off_ray(prob, c, delta, rng)
    return prob, w, a, delta


def _f(x):
    return np.array([float(v) for v in x])


def _grad_scales(prob, w, a):
    u, s, a_star = np.linalg.norm(w), prob.s, prob.a_star
    Ma = (np.pi - 1) * a + a.sum()
    scale_w = (u * (a @ Ma) + s * (abs(a @ a_star) * (np.pi + 2)
                                   + abs(a.sum() * a_star.sum()))) / (2 * np.pi)
    scale_a = u * (u * np.max(np.abs(Ma)) + s * ((np.pi - 1) * np.max(np.abs(a_star))
                                                 + abs(a_star.sum()))) / (2 * np.pi)
    return scale_w, scale_a


def _assert_close(x, ref, scale, tol, what):
    err = np.abs(x - ref)
    bound = tol * np.maximum(np.abs(ref), scale)
    assert np.all(err <= bound), (what, float(np.max(err / np.maximum(np.abs(ref), scale))))


def _relative_distance_from_optimum_set(prob, w, a):
    u = np.linalg.norm(w)
    theta = float(vp.theta(prob, w))
    r = np.linalg.norm(u * a - prob.s * prob.a_star) / (prob.s * np.linalg.norm(prob.a_star))
    return max(theta, r)


@given(generic_points())
def test_float64_loss_and_gradient_match_50_digits_at_generic_points(case):
    prob, w, a = case
    # Generic: not within 1e-3 of the optimum set (the near-optimum test covers that).
    assume(_relative_distance_from_optimum_set(prob, w, a) >= 1e-3)
    L = vp.loss(prob, w, a)
    L_ref = float(vp.loss_mp(prob, w, a, dps=DPS))
    assert abs(L - L_ref) <= TOL_GENERIC * abs(L_ref)
    g_w, g_a = vp.grad(prob, w, a)
    r_w, r_a = (_f(x) for x in vp.grad_mp(prob, w, a, dps=DPS))
    scale_w, scale_a = _grad_scales(prob, w, a)
    _assert_close(g_w, r_w, scale_w, TOL_GENERIC, "dL/dw")
    _assert_close(g_a, r_a, scale_a, TOL_GENERIC, "dL/da")


@given(generic_points())
def test_riemannian_gradient_matches_50_digits(case):
    prob, w, a = case
    theta = float(vp.theta(prob, w))
    # Generic: (pi - theta) and sin(theta) not ~0 (excludes p = 1, where g_R = 0).
    assume(1e-3 <= theta <= np.pi - 1e-3)
    g_r, g_a = vp.grad(prob, w, a, riemannian=True)
    r_r, r_a = (_f(x) for x in vp.grad_mp(prob, w, a, dps=DPS, riemannian=True))
    _assert_close(g_r, r_r, np.linalg.norm(r_r), TOL_GENERIC, "Riemannian dL/dw")
    _assert_close(g_a, r_a, _grad_scales(prob, w, a)[1], TOL_GENERIC, "dL/da")
    # Tangent to the sphere through w (in float64, up to rounding of the projection).
    w_hat = w / np.linalg.norm(w)
    assert abs(g_r @ w_hat) <= 1e-14 * max(np.linalg.norm(r_r), _grad_scales(prob, w, a)[0])


@given(near_optimum())
def test_float64_loss_near_optimum_nonnegative_and_accurate(case):
    prob, w, a, delta = case
    L = vp.loss(prob, w, a)
    L_ref = vp.loss_mp(prob, w, a, dps=DPS)
    assert L >= 0.0
    assert L_ref > 0
    assert abs(L - float(L_ref)) <= TOL_NEAR * float(L_ref), (delta, L, float(L_ref))


def _l1(prob, w, a):
    return formulas.loss_l1(Float64(), prob.w_hat_star, prob.a_star, prob.s, w, a)


def test_naive_l1_fails_near_the_optimum_where_l2_succeeds():
    """The reason L2 exists: at relative distance 1e-8 from the optimum the textbook form
    L1 (theta by arccos, O(1) terms cancelling to O(delta^2)) is wrong in the leading
    digit or negative, at every point tried, while L2 stays within 1e-6."""
    rng = np.random.default_rng(2019)
    delta = 1e-8
    for trial in range(10):
        p, k = rng.integers(1, 65, size=2)
        s = 10.0 ** rng.uniform(-2, 2)
        prob = vp.Problem(s * _unit(rng, p), rng.normal(size=k))
        w, a = _off_ray(prob, 10.0 ** rng.uniform(-1, 1), delta, rng)
        L_ref = float(vp.loss_mp(prob, w, a, dps=DPS))
        L1, L2 = _l1(prob, w, a), vp.loss(prob, w, a)
        assert abs(L2 - L_ref) <= TOL_NEAR * L_ref
        assert L1 < 0 or abs(L1 - L_ref) > 1e3 * TOL_NEAR * L_ref, (trial, L1, L_ref)


def test_l1_agrees_at_generic_points():
    """Negative-control sanity: L1 is the same function; only its evaluation is unstable."""
    rng = np.random.default_rng(7)
    prob = vp.Problem(rng.normal(size=5), rng.normal(size=3))
    w, a = rng.normal(size=5), rng.normal(size=3)
    L_ref = float(vp.loss_mp(prob, w, a, dps=DPS))
    assert abs(_l1(prob, w, a) - L_ref) <= 1e-12 * L_ref


def test_gradient_tolerance_rejects_a_1e10_relative_error():
    """Negative control for the gradient criterion: a gradient off by 1e-10 relative (far
    below anything visible in a plot) is rejected at an ordinary point."""
    rng = np.random.default_rng(3)
    prob = vp.Problem(rng.normal(size=6), rng.normal(size=5))
    w, a = rng.normal(size=6), rng.normal(size=5)
    r_w, _ = (_f(x) for x in vp.grad_mp(prob, w, a, dps=DPS))
    scale_w, _ = _grad_scales(prob, w, a)
    g_w, _ = vp.grad(prob, w, a)
    _assert_close(g_w, r_w, scale_w, TOL_GENERIC, "dL/dw")
    try:
        _assert_close(g_w * (1 + 1e-10), r_w, scale_w, TOL_GENERIC, "dL/dw")
    except AssertionError:
        return
    raise AssertionError("a 1e-10 relative error was not detected")
