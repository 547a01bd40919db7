"""Landscape theory (verified_pgd.theory) against independent computations:
the generic loss/gradient of verified_pgd.formulas (float64 and mpmath), numerical
minimisation, and the closed forms of docs/design.md section 3 written out here."""
import mpmath
import numpy as np
import pytest
from scipy.optimize import minimize

import verified_pgd as vp
from verified_pgd import theory as T

DPS = 50


def _problems():
    rng = np.random.default_rng(7)
    out = [vp.Problem.default()]
    while len(out) < 5:
        p, k = int(rng.integers(2, 6)), int(rng.integers(2, 6))
        prob = vp.Problem(rng.normal(size=p) * rng.uniform(0.5, 2), rng.normal(size=k))
        if T.has_spurious_minimum(prob):
            out.append(prob)
    return out


PROBLEMS = _problems()


def _mpvec(x):
    return [mpmath.mpf(float(v)) for v in x]


@pytest.mark.parametrize("prob", PROBLEMS)
@pytest.mark.parametrize("kind", ["global_minimum", "spurious_minimum", "saddle"])
def test_critical_points_are_stationary_float_and_mp(prob, kind):
    cp = getattr(T, kind)(prob)
    assert abs(np.linalg.norm(cp.w) - 1) < 1e-15
    gw, ga = vp.grad(prob, cp.w, cp.a, riemannian=True)
    scale = prob.s * np.linalg.norm(prob.a_star) * (1 + prob.s * np.linalg.norm(prob.a_star))
    assert np.abs(np.concatenate([gw, ga])).max() < 1e-14 * scale
    assert abs(vp.loss(prob, cp.w, cp.a) - cp.loss) <= 1e-14 * (1 + scale)
    assert abs(vp.theta(prob, cp.w) - cp.theta) <= 1e-12
    m = getattr(T, kind)(prob, dps=DPS)
    with mpmath.workdps(DPS):
        gw, ga = vp.grad_mp(prob, m.w, m.a, dps=DPS, riemannian=True)
        assert max(abs(x) for x in np.concatenate([gw, ga])) < mpmath.mpf(10) ** -45 * scale
        assert abs(vp.loss_mp(prob, m.w, m.a, dps=DPS) - m.loss) < mpmath.mpf(10) ** -45 * (1 + scale)
        assert abs(mpmath.fsum(x * x for x in m.w) - 1) < mpmath.mpf(10) ** -48
    # float64 and mp agree
    assert np.allclose(np.array(m.a, dtype=float), cp.a, rtol=1e-12, atol=1e-13)
    assert abs(float(m.loss) - cp.loss) <= 1e-12 * (1 + abs(cp.loss))


@pytest.mark.parametrize("prob", PROBLEMS)
def test_closed_forms_of_design_section3(prob):
    """docs/design.md §3 formulas written out independently of landscape.py's algebra."""
    with mpmath.workdps(DPS):
        pi = mpmath.pi
        k = prob.k
        a_star = _mpvec(prob.a_star)
        s = mpmath.sqrt(mpmath.fsum(x * x for x in _mpvec(prob.w_star)))
        S, A = mpmath.fsum(a_star), mpmath.fsum(x * x for x in a_star)
        a_bar = [s / (pi - 1) * (pi * S / (k + pi - 1) - x) for x in a_star]
        g_s = 1 - (pi - 1) * S ** 2 / ((k + pi - 1) * A - S ** 2)
        sp, sd = T.spurious_minimum(prob, dps=DPS), T.saddle(prob, dps=DPS)
        tol = mpmath.mpf(10) ** -40
        assert max(abs(x - y) for x, y in zip(sp.a, a_bar)) < tol
        th = sd.theta
        assert abs(mpmath.sin(th) + (pi - th) * mpmath.cos(th) - g_s) < tol
        assert abs(mpmath.fsum(x * y for x, y in zip(sd.a, a_star))) < tol
        # barrier = L(saddle) - L(spurious), both from the generic formulas
        dl = vp.loss_mp(prob, sd.w, sd.a, dps=DPS) - vp.loss_mp(prob, sp.w, sp.a, dps=DPS)
        assert abs(T.barrier(prob, dps=DPS) - dl) < tol
        assert T.barrier(prob, dps=DPS) > 0
    f_sp, f_sd = T.spurious_minimum(prob), T.saddle(prob)
    assert np.allclose(f_sp.a, np.array(a_bar, dtype=float), rtol=1e-12, atol=1e-12)
    assert abs(f_sd.theta - float(th)) < 1e-12
    assert abs(T.barrier(prob) - float(dl)) < 1e-12 * max(1.0, abs(float(dl)))


@pytest.mark.parametrize("prob", PROBLEMS[:3])
def test_reduced_loss_is_min_over_a_and_peaks_at_saddle(prob):
    v = T.orthogonal_direction(prob)
    th = np.linspace(0.0, np.pi, 9)
    W = np.cos(th)[:, None] * prob.w_hat_star + np.sin(th)[:, None] * v
    red = T.reduced_loss(prob, th)
    for i in range(len(th)):
        res = minimize(lambda a: vp.loss(prob, W[i], a), np.zeros(prob.k),
                       jac=lambda a: vp.grad(prob, W[i], a)[1], method="BFGS",
                       options={"gtol": 1e-12})
        assert abs(res.fun - red[i]) < 1e-9 * (1 + abs(red[i]))
        assert res.fun >= red[i] - 1e-13
    assert np.allclose(vp.loss(prob, W, T.reduced_minimizer(prob, th)), red, rtol=1e-12, atol=1e-15)
    grid = np.linspace(0, np.pi, 2001)
    theta_s = T.saddle(prob).theta
    assert abs(grid[np.argmax(T.reduced_loss(prob, grid))] - theta_s) <= np.pi / 2000
    assert T.reduced_loss(prob, theta_s) == pytest.approx(T.saddle(prob).loss, rel=1e-14)


def test_existence_condition_and_errors():
    rng = np.random.default_rng(3)
    agree = 0
    for _ in range(200):
        k = int(rng.integers(1, 6))
        a = rng.normal(size=k) + rng.uniform(-1, 1)
        prob = vp.Problem([1.0, 0.0], a)
        S, A = a.sum(), (a * a).sum()
        margin = (k + np.pi - 1) * A - np.pi * S * S
        if abs(margin) > 1e-9 * A:
            assert T.has_spurious_minimum(prob) == (margin > 0)
            agree += 1
    assert agree > 100  # k = 1 sits on the boundary (margin = 0) and is skipped
    assert not T.has_spurious_minimum(vp.Problem([1.0], [2.0]))          # k = 1: never
    none = vp.Problem([1.0, 0.0], [1.0, 1.0, 1.0])                        # pi 9 > (2 + pi) 3
    assert not T.has_spurious_minimum(none)
    for f in (T.spurious_minimum, T.saddle, T.barrier):
        with pytest.raises(ValueError, match="^a_star"):
            f(none)
    with pytest.raises(ValueError, match="^dps"):
        T.barrier(vp.Problem.default(), dps=5)
    with pytest.raises(ValueError, match="^theta"):
        T.reduced_loss(vp.Problem.default(), [0.0, 4.0])
    with pytest.raises(TypeError, match="^problem"):
        T.barrier("default")
    assert not hasattr(vp.Problem.default(), "barrier")   # a plain value: theory takes it


def test_spurious_point_is_local_min_iff_condition():
    """Negative control for the existence condition: when it fails, moving away from
    theta = pi along the reduced curve lowers the loss (computed by vp.loss)."""
    for a, expect in [([1.0, 1.0, 1.0, -1.0], True), ([1.0, 1.0, 1.0], False), ([1.0, 0.9], False),
                      ([1.0, -0.5, 0.2], True)]:
        prob = vp.Problem([0.0, 1.0, 0.0], a)
        assert T.has_spurious_minimum(prob) == expect
        v = T.orthogonal_direction(prob)
        x = 0.05
        th = np.pi - x
        w = np.cos(th) * prob.w_hat_star + np.sin(th) * v
        a_bar = T.reduced_minimizer(prob, np.pi)
        l_near = vp.loss(prob, w, T.reduced_minimizer(prob, th))
        l_pi = vp.loss(prob, -prob.w_hat_star, a_bar)
        assert (l_near > l_pi) == expect


# ----------------------------------------------------------------------------- constants

def _closed_spectrum(prob, dps=None):
    if dps is None:
        pi, s, A = np.pi, prob.s, float(np.sum(prob.a_star ** 2))
    else:
        pi = mpmath.pi
        s = mpmath.sqrt(mpmath.fsum(x * x for x in _mpvec(prob.w_star)))
        A = mpmath.fsum(x * x for x in _mpvec(prob.a_star))
    k, p = prob.k, prob.p
    return sorted([(pi - 1) / (2 * pi)] * (k - 1) + [(k + pi - 1) / (2 * pi)] + [s * s * A / 2] * (p - 1))


@pytest.mark.parametrize("prob", PROBLEMS)
def test_hessian_spectrum_matches_closed_form(prob):
    sp = T.hessian_spectrum(prob)
    ref = _closed_spectrum(prob)
    assert np.allclose(sp.eigenvalues, ref, rtol=1e-12, atol=0)
    assert sp.mu == min(sp.eigenvalues) and sp.lam_max == max(sp.eigenvalues)
    with mpmath.workdps(DPS):
        spm = T.hessian_spectrum(prob, dps=DPS)
        refm = _closed_spectrum(prob, DPS)
        assert max(abs(x - y) for x, y in zip(spm.eigenvalues, refm)) < mpmath.mpf(10) ** -40


def test_perturbed_spectrum_is_rejected():
    """Negative control: the closed-form comparison notices a 1e-9 change of a*."""
    prob = PROBLEMS[1]
    moved = vp.Problem(prob.w_star, prob.a_star * (1 + 1e-9))
    assert not np.allclose(T.hessian_spectrum(moved).eigenvalues, _closed_spectrum(prob),
                           rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", range(4))
def test_chart_hessian_equals_generic_riemannian_hessian(seed):
    rng = np.random.default_rng(seed)
    prob = vp.Problem(rng.normal(size=5), rng.normal(size=3))
    th, a = rng.uniform(0.05, np.pi - 0.05), rng.normal(size=3) * 2
    v = T.orthogonal_direction(prob)
    w = np.cos(th) * prob.w_hat_star + np.sin(th) * v
    H_red, lam_perp = T.reduced_hessian(prob, th, a)
    chart = np.sort(np.r_[np.linalg.eigvalsh(H_red), [lam_perp] * (prob.p - 2)])
    generic = np.linalg.eigvalsh(T.tangent_hessian(prob, w, a))
    assert np.allclose(chart, generic, rtol=1e-12, atol=1e-13 * np.abs(generic).max())


def test_smoothness_bound_dominates_sampled_hessian_norms():
    rng = np.random.default_rng(11)
    for prob in PROBLEMS[:3]:
        R = T.default_radius(prob)
        Lr = T.smoothness_bound(prob, R)
        worst = 0.0
        for _ in range(300):
            th = rng.uniform(0, np.pi)
            a = rng.normal(size=prob.k)
            a *= R * rng.uniform() ** (1 / prob.k) / np.linalg.norm(a)
            H_red, lp = T.reduced_hessian(prob, th, a)
            worst = max(worst, np.abs(np.linalg.eigvalsh(H_red)).max(), abs(lp))
        assert worst <= Lr
        assert worst > 0.3 * Lr  # the bound is not vacuous
        assert float(T.smoothness_bound(prob, R, dps=30)) == pytest.approx(Lr, rel=1e-13)


def test_basin_radius_keeps_hessian_above_half_mu():
    rng = np.random.default_rng(5)
    for prob in PROBLEMS[:3]:
        rho = T.basin_radius(prob)
        mu = T.hessian_spectrum(prob).mu
        lo = np.inf
        for _ in range(200):
            th = rng.uniform(0, rho)
            a = prob.s * prob.a_star + rng.uniform(-rho, rho, size=prob.k)
            H_red, lp = T.reduced_hessian(prob, th, a)
            lo = min(lo, np.linalg.eigvalsh(H_red)[0], lp)
        assert lo >= mu / 2
        assert float(T.basin_radius(prob, dps=30)) == pytest.approx(rho, rel=1e-12)
    # negative control: far outside the basin the Hessian does drop below mu/2
    prob = PROBLEMS[0]
    H_red, lp = T.reduced_hessian(prob, 1.5, prob.s * prob.a_star)
    assert min(np.linalg.eigvalsh(H_red)[0], lp) < T.hessian_spectrum(prob).mu / 2


def test_contraction_factor_matches_linearised_gd():
    """Riemannian GD from a point near the optimum contracts at the predicted rate."""
    prob = PROBLEMS[0]
    lo, hi = T.stable_step_range(prob)
    assert lo == 0 and T.contraction_factor(prob, 0.99 * hi) < 1 < T.contraction_factor(prob, 1.01 * hi)
    eta = 0.5 * hi
    q = T.contraction_factor(prob, eta)
    assert q <= T.basin_contraction_factor(prob, eta) < 1
    rng = np.random.default_rng(0)
    w = prob.w_hat_star + 1e-5 * rng.normal(size=prob.p)
    w /= np.linalg.norm(w)
    a = prob.s * prob.a_star + 1e-5 * rng.normal(size=prob.k)
    errs = []
    for _ in range(60):
        gw, ga = vp.grad(prob, w, a, riemannian=True)
        w, a = w - eta * gw, a - eta * ga
        w /= np.linalg.norm(w)
        errs.append(np.hypot(vp.theta(prob, w), np.linalg.norm(a - prob.s * prob.a_star)))
    observed = (errs[-1] / errs[-21]) ** (1 / 20)
    assert observed <= q * (1 + 1e-3) and observed >= 0.9 * q
    with pytest.raises(ValueError, match="^eta"):
        T.contraction_factor(prob, -1.0)


def test_landscape_constants_record():
    c = T.landscape_constants(PROBLEMS[0])
    assert c.has_spurious_minimum and c.barrier == T.barrier(PROBLEMS[0])
    assert c.eta_max == pytest.approx(2 / c.lam_max) and c.smoothness >= c.lam_max
    assert isinstance(c.smoothness, float)
    none = T.landscape_constants(vp.Problem([1.0, 0.0], [1.0, 1.0, 1.0]))
    assert not none.has_spurious_minimum and none.barrier is None


# ----------------------------------------------------------------------------- properties

from hypothesis import given, settings  # noqa: E402

from verified_pgd import strategies as vst  # noqa: E402


@pytest.mark.property
@given(vst.problems(spurious=True))
def test_property_landscape_is_stationary_and_barrier_is_a_loss_difference(prob):
    scale = prob.s * np.linalg.norm(prob.a_star) * (1 + prob.s * np.linalg.norm(prob.a_star))
    for cp in (T.global_minimum(prob), T.spurious_minimum(prob), T.saddle(prob)):
        gw, ga = vp.grad(prob, cp.w, cp.a, riemannian=True)
        assert np.abs(np.concatenate([gw, ga])).max() < 1e-13 * scale
    dl = vp.loss(prob, T.saddle(prob).w, T.saddle(prob).a) - vp.loss(
        prob, T.spurious_minimum(prob).w, T.spurious_minimum(prob).a)
    assert abs(T.barrier(prob) - dl) <= 1e-12 * (1 + scale)
    assert T.barrier(prob) > 0


@pytest.mark.property
@given(vst.problems(spurious=False))
def test_property_no_spurious_minimum_raises(prob):
    assert not T.has_spurious_minimum(prob)
    with pytest.raises(ValueError, match="^a_star"):
        T.barrier(prob)


def test_mp_variants_agree_with_float_and_generic_loss():
    prob = PROBLEMS[2]
    with mpmath.workdps(DPS):
        th = mpmath.mpf(1) / 3
        a = T.reduced_minimizer(prob, th, dps=DPS)
        w = [mpmath.cos(th) * x + mpmath.sin(th) * y for x, y in
             zip(T.global_minimum(prob, dps=DPS).w, T.orthogonal_direction(prob, dps=DPS))]
        assert abs(T.reduced_loss(prob, th, dps=DPS) - vp.loss_mp(prob, w, a, dps=DPS)) < mpmath.mpf(10) ** -45
        assert abs(T.contraction_factor(prob, 0.3, dps=DPS) - T.contraction_factor(prob, 0.3)) < 1e-13
        assert abs(T.stable_step_range(prob, dps=DPS)[1] - T.stable_step_range(prob)[1]) < 1e-13
        assert abs(T.basin_contraction_factor(prob, 0.3, dps=DPS) - T.basin_contraction_factor(prob, 0.3)) < 1e-13
