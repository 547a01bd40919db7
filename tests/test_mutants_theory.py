"""Theory outputs the other tests left open, found by mutation testing of
``verified_pgd/theory`` (docs/testing.md, "Mutation testing"): the closed-form spectrum's
multiplicities, the smoothness bound when its a-block term dominates, the mpmath/arb
branches of ``reduced_hessian``, ``contraction_factor`` and ``stable_step_range``, the
fields of ``landscape_constants``, and the theta boundary of the mp/arb reduced loss.
Each value is compared with an independent computation (numeric Hessians, the
individual public functions, the critical points)."""
import math
import re

import flint
import mpmath
import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import backends
from verified_pgd import theory as T
from verified_pgd.theory import closed_forms as cf
from verified_pgd.theory import constants, landscape

_PROBS = [vp.Problem(np.array([0.6, -1.2, 0.25, 2.0]), np.array([0.7, -0.4, 1.3])),
          vp.Problem(np.array([1.0, 0.5, -0.3]), np.array([1.1])),
          vp.Problem(np.array([0.8, 0.1]), np.array([1.0, 0.3, -0.2, 0.6, 0.9]))]
_SPURIOUS = vp.Problem.default()


def _mid(x):
    return mpmath.mpf(x.mid().str(60, radius=False)) if isinstance(x, flint.arb) else mpmath.mpf(x)


@pytest.mark.parametrize("prob", _PROBS, ids=["p4k3", "p3k1", "p2k5"])
def test_closed_form_spectrum_is_the_numeric_tangent_spectrum(prob):
    """Values and multiplicities of closed_forms.spectrum, expanded, against eigvalsh of
    the generic Riemannian Hessian on the tangent space at the global minimum."""
    B = backends.Float64()
    pairs = cf.spectrum(B, backends.teacher(B, prob))
    assert all(m >= 1 for _, m in pairs)
    closed = sorted(v for v, m in pairs for _ in range(m))
    gm = T.global_minimum(prob)
    numeric = np.linalg.eigvalsh(T.tangent_hessian(prob, gm.w, gm.a))
    assert len(closed) == prob.p - 1 + prob.k == len(numeric)
    np.testing.assert_allclose(closed, numeric, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("prob", _PROBS[:1] + [_SPURIOUS], ids=["p4k3", "default"])
def test_smoothness_bound_a_block_term(prob):
    """For R -> 0 the bound is the a-block's largest eigenvalue (numeric, from the generic
    Hessian) plus the R-free tail; the tail is the large-R intercept of the linear part."""
    gm = T.global_minimum(prob)
    H = vp.hessian(prob, gm.w, gm.a, riemannian=True)
    lam_a = float(np.linalg.eigvalsh(H[prob.p:, prob.p:])[-1])
    R1, R2 = 1e3, 2e3
    b1, b2 = T.smoothness_bound(prob, R1), T.smoothness_bound(prob, R2)
    slope = (b2 - b1) / (R2 - R1)
    assert math.isclose(slope, prob.s * np.linalg.norm(prob.a_star) / 2, rel_tol=1e-9)
    tail = b1 - slope * R1
    small = T.smoothness_bound(prob, 1e-9)
    assert math.isclose(small, lam_a + tail, rel_tol=1e-12)
    # the mp and arb paths give the same number
    assert abs(T.smoothness_bound(prob, 1e-9, dps=30) - mpmath.mpf(small)) <= 1e-13 * small
    ball = T.smoothness_bound(prob, 1e-9, backend="arb")
    assert isinstance(ball, flint.arb) and abs(_mid(ball) - mpmath.mpf(small)) <= 1e-13 * small
    ball = T.smoothness_bound(prob, 1e3, backend="arb")
    assert abs(_mid(ball) - mpmath.mpf(b1)) <= 1e-13 * b1


@pytest.mark.parametrize("R", [0, -1.0])
def test_smoothness_and_landscape_constants_name_R(R):
    for f in (lambda: T.smoothness_bound(_SPURIOUS, R), lambda: T.landscape_constants(_SPURIOUS, R)):
        with pytest.raises(ValueError, match=r"^R: must be > 0, got "):
            f()


@pytest.mark.parametrize("backend, dps", [(None, 30), ("arb", 30)])
def test_reduced_hessian_high_precision_matches_float64(backend, dps):
    prob = _PROBS[0]
    theta, a = 0.7, np.array([0.3, -0.2, 1.1])
    Hf, lpf = T.reduced_hessian(prob, theta, a)
    H, lp = T.reduced_hessian(prob, theta, a, dps=dps, backend=backend)
    assert H.shape == Hf.shape == (prob.k + 1, prob.k + 1) and H.dtype == object
    for got, want in zip(H.ravel(), Hf.ravel()):
        assert abs(_mid(got) - mpmath.mpf(want)) <= 1e-13 * (1 + abs(want))
    assert abs(_mid(lp) - mpmath.mpf(lpf)) <= 1e-13 * (1 + abs(lpf))
    # symmetric, and the a-block is M / (2 pi) = ((pi - 1) I + 1 1^T) / (2 pi)
    np.testing.assert_allclose(Hf, Hf.T, rtol=0, atol=0)
    M = ((np.pi - 1) * np.eye(prob.k) + 1) / (2 * np.pi)
    np.testing.assert_allclose(Hf[1:, 1:], M, rtol=1e-15)


def test_reduced_hessian_arb_accepts_balls_and_encloses_mp():
    prob = _PROBS[0]
    with flint.ctx.workdps(30):
        theta = flint.arb("0.7")
        a = [flint.arb("0.3"), flint.arb("-0.2"), flint.arb("1.1")]
    H, lp = T.reduced_hessian(prob, theta, a, dps=30, backend="arb")
    with mpmath.workdps(40):  # the decimal inputs at 40 digits, like the balls'
        Hm, lpm = T.reduced_hessian(prob, mpmath.mpf("0.7"),
                                    [mpmath.mpf(x) for x in ("0.3", "-0.2", "1.1")], dps=40)
    with mpmath.workdps(60):
        for got, want in zip(list(H.ravel()) + [lp], list(Hm.ravel()) + [lpm]):
            assert isinstance(got, flint.arb)
            assert abs(_mid(got) - want) <= _mid(got.rad()) + mpmath.mpf(10) ** -25


def test_contraction_factor_and_stable_range_float_and_mp():
    prob = _SPURIOUS
    ev = np.linalg.eigvalsh(T.tangent_hessian(prob, *(lambda g: (g.w, g.a))(T.global_minimum(prob))))
    eta = 0.5
    want = float(np.max(np.abs(1 - eta * ev)))
    got = T.contraction_factor(prob, eta)
    assert type(got) is float and math.isclose(got, want, rel_tol=1e-9)
    got_mp = T.contraction_factor(prob, eta, dps=30)
    assert isinstance(got_mp, mpmath.mpf) and abs(got_mp - want) <= 1e-9 * want
    lo, hi = T.stable_step_range(prob)
    assert (lo, type(hi)) == (0.0, float) and math.isclose(hi, 2 / ev[-1], rel_tol=1e-9)
    lo_mp, hi_mp = T.stable_step_range(prob, dps=30)
    assert lo_mp == 0 and isinstance(hi_mp, mpmath.mpf) and abs(hi_mp - hi) <= 1e-9 * hi
    # the mp path really is higher precision: it agrees with the 40-digit spectrum to 25 digits
    with mpmath.workdps(40):
        lam40 = T.hessian_spectrum(prob, dps=40).lam_max
        assert abs(hi_mp - 2 / lam40) <= mpmath.mpf(10) ** -25


def test_landscape_constants_fields_are_the_public_functions():
    prob = _SPURIOUS
    R = 3.0
    lc = T.landscape_constants(prob, R)
    sp = T.hessian_spectrum(prob)
    assert lc.has_spurious_minimum is True
    assert lc.theta_s == T.saddle_theta(prob)
    assert lc.spurious_loss == T.spurious_minimum(prob).loss
    assert lc.barrier == T.barrier(prob)
    assert (lc.mu, lc.lam_max, lc.R) == (sp.mu, sp.lam_max, R)
    assert lc.smoothness == T.smoothness_bound(prob, R)
    assert lc.hessian_lipschitz == T.hessian_lipschitz_bound(prob)
    assert lc.basin_radius == T.basin_radius(prob)
    assert lc.eta_max == 2.0 / sp.lam_max
    assert T.landscape_constants(prob).R == T.default_radius(prob)


@pytest.mark.parametrize("backend", [None, "arb"])
def test_reduced_loss_high_precision_at_both_ends(backend):
    """l(0) = 0 (the global minimum) and l(pi) = the spurious minimum's loss; both ends of
    [0, pi] are accepted, just outside is rejected with the parameter's name."""
    prob = _SPURIOUS
    dps = 30
    at0 = T.reduced_loss(prob, 0, dps=dps, backend=backend)
    assert abs(_mid(at0)) <= mpmath.mpf(10) ** -25
    with mpmath.workdps(dps):
        end = +mpmath.pi if backend is None else 3.141592653589793
        at_pi = T.reduced_loss(prob, end, dps=dps, backend=backend)
        spur = T.spurious_minimum(prob, dps=dps).loss
        assert abs(_mid(at_pi) - spur) <= mpmath.mpf(10) ** -12 * abs(spur)
    for bad in (-1e-3, 3.2):
        with pytest.raises(ValueError, match=r"^theta: must lie in \[0, pi\]$"):
            T.reduced_loss(prob, bad, dps=dps, backend=backend)
    with pytest.raises(TypeError, match=r"^theta: expected a real scalar, got bool$"):
        T.reduced_loss(prob, True, dps=dps, backend=backend)
    with pytest.raises(TypeError, match=r"^theta: expected a real scalar, got list$"):
        T.reduced_loss(prob, [0.5], dps=dps, backend=backend)
    mid = T.reduced_loss(prob, np.float64(0.5), dps=dps, backend=backend)
    assert abs(_mid(mid) - mpmath.mpf(T.reduced_loss(prob, 0.5))) <= 1e-13 * abs(mpmath.mpf(T.reduced_loss(prob, 0.5)))


def test_reduced_minimizer_range_and_mp_path():
    prob = _SPURIOUS
    for bad in (-1e-3, 3.2, np.array([0.5, 4.0])):
        with pytest.raises(ValueError, match=r"^theta: must lie in \[0, pi\]$"):
            T.reduced_minimizer(prob, bad)
    with pytest.raises(TypeError, match=r"^theta: "):
        T.reduced_minimizer(prob, "x")
    af = T.reduced_minimizer(prob, 0.5)
    for backend in (None, "arb"):
        am = T.reduced_minimizer(prob, 0.5, dps=30, backend=backend)
        assert len(am) == prob.k
        for got, want in zip(am, af):
            assert abs(_mid(got) - mpmath.mpf(want)) <= 1e-13 * (1 + abs(want))
    # a(0) = s a*: the global minimum
    np.testing.assert_allclose(T.reduced_minimizer(prob, 0.0), prob.s * prob.a_star, rtol=1e-12)


def test_x_sin_x_max_is_the_maximum_of_x_sin_x():
    from scipy.optimize import minimize_scalar
    r = minimize_scalar(lambda x: -x * np.sin(x), bounds=(0, np.pi), method="bounded",
                        options={"xatol": 1e-12})
    assert math.isclose(T.x_sin_x_max(), -r.fun, rel_tol=1e-12)
    with mpmath.workdps(40):
        m = T.x_sin_x_max(dps=40)
        x = mpmath.findroot(lambda x: mpmath.diff(lambda y: y * mpmath.sin(y), x), 2.0)
        assert abs(m - x * mpmath.sin(x)) <= mpmath.mpf(10) ** -35


@pytest.mark.parametrize("dps", [None, 30])
def test_saddle_loss_alpha_g_s_against_the_critical_points(dps):
    """saddle_loss is the loss at the saddle point; g_s = g(theta_s) = h(pi - theta_s);
    alpha = a*^T M^-1 a* with M = (pi - 1) I + 1 1^T (a linear solve)."""
    prob = _SPURIOUS
    sd = T.saddle(prob)
    assert math.isclose(float(landscape.saddle_loss(prob, dps)), float(vp.loss(prob, sd.w, sd.a)),
                        rel_tol=1e-10)
    th = T.saddle_theta(prob)
    g_at = math.sin(math.pi - th) - (math.pi - th) * math.cos(math.pi - th)
    assert math.isclose(float(landscape.g_s(prob, dps)), g_at, rel_tol=1e-10)
    k = prob.k
    M = (np.pi - 1) * np.eye(k) + np.ones((k, k))
    want = float(prob.a_star @ np.linalg.solve(M, prob.a_star))
    assert math.isclose(float(landscape.alpha(prob, dps)), want, rel_tol=1e-12)
    ball = landscape.alpha(prob, backend="arb")
    assert abs(float(_mid(ball)) - want) <= 1e-12 * want


def test_resolve_dps_precision_rules():
    """dps wins; prec (bits, deprecated) maps to floor(bits log10 2) digits, at least 15;
    both given is an error; None is float64 (None) or, for arb, 50 digits."""
    r = landscape.resolve_dps
    assert r() is None and r(backend="mpmath") is None and r(backend="arb") == 50
    assert r(40) == 40 and r(40, backend="arb") == 40
    for bits in (1, 53, 200, 333, 1000):
        with pytest.warns(DeprecationWarning, match=r"^prec= \(bits\) is deprecated; give dps= \(decimal digits\)$"):
            got = r(prec=bits)
        assert got == max(15, math.floor(bits * math.log10(2))), bits
    with pytest.raises(ValueError, match=r"^dps/prec: give one precision \(dps, in decimal digits\)$"):
        r(30, prec=100)
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError, match=r"^prec: must be >= 1, got 0$"):
            r(prec=0)
    with pytest.warns(DeprecationWarning):
        with pytest.raises(TypeError, match=r"^prec: expected an integer, got 1.5$"):
            r(prec=1.5)
    with pytest.raises(ValueError, match=r"^dps: must be >= 15 "):
        r(10)


def _margin_sign(a_star):
    """sign of (k + pi - 1)|a*|^2 - pi (1.a*)^2 at 100 digits (the floats are exact)."""
    with mpmath.workdps(100):
        a = [mpmath.mpf(float(x)) for x in a_star]
        A, S = mpmath.fsum(x * x for x in a), mpmath.fsum(a)
        m = (len(a) + mpmath.pi - 1) * A - mpmath.pi * S * S
        return m > 0


_T_ROOT = math.pi - math.sqrt(math.pi ** 2 - 1)   # margin of a* = (1, t) is 1 + t^2 - 2 pi t


@pytest.mark.parametrize("a_star", [
    (1.0, 0.0), (0.5, 0.0), (2.0,), (1.0, 1.0), (1.0, -1.0), (0.3, 0.3, 0.3),
    (1.0, _T_ROOT), (1.0, np.nextafter(_T_ROOT, 0)), (1.0, np.nextafter(_T_ROOT, 1)),
    (1.0, np.nextafter(np.nextafter(_T_ROOT, 1), 1)), (0.7, -0.4, 1.3), (1.0, 0.2, 0.1),
])
def test_has_spurious_minimum_is_the_exact_margin_sign(a_star):
    """Near the boundary (a* = (1, t), t at the root of 1 + t^2 - 2 pi t, and its float
    neighbours) the decision needs more than 64 bits of pi."""
    prob = vp.Problem(np.ones(3), np.array(a_star))
    assert T.has_spurious_minimum(prob) is _margin_sign(a_star)


def test_has_spurious_minimum_rejects_non_problems():
    with pytest.raises(TypeError, match=r"^problem: expected a verified_pgd.Problem, got list$"):
        T.has_spurious_minimum([1.0])


@pytest.mark.parametrize("backend", ["mpmath", "arb"])
def test_tangent_basis_is_orthonormal_and_tangent(backend):
    for w in ([0.6, -0.8, 0.0], [-0.2, 0.3, -0.9, 0.1], [0.0, 1.0]):
        w = np.array(w) / np.linalg.norm(w)
        Qf = constants.tangent_basis(w)
        assert Qf.dtype == np.float64 and Qf.shape == (len(w), len(w) - 1)
        np.testing.assert_allclose(Qf.T @ Qf, np.eye(len(w) - 1), atol=1e-15)
        np.testing.assert_allclose(w @ Qf, 0, atol=1e-15)
        with mpmath.workdps(40), flint.ctx.workdps(40):
            B = backends.get(backend)
            wo = [B.convert(x) for x in w]
            n2 = sum(x * x for x in wo)
            n = mpmath.sqrt(n2) if backend == "mpmath" else n2.sqrt()
            wo = [x / n for x in wo]   # unit at 40 digits, not only in float64
            Q = constants.tangent_basis(wo, 40 if backend == "mpmath" else None, backend=backend)
            assert Q.dtype == object and Q.shape == Qf.shape
            for r in range(Q.shape[1]):
                for c in range(Q.shape[1]):
                    dot = _mid(sum(Q[i, r] * Q[i, c] for i in range(len(w))))
                    assert abs(dot - (r == c)) <= mpmath.mpf(10) ** -35
                assert abs(_mid(sum(wo[i] * Q[i, r] for i in range(len(w))))) <= mpmath.mpf(10) ** -35
            for got, want in zip(Q.ravel(), Qf.ravel()):
                assert abs(_mid(got) - want) <= 1e-14


def test_precision_paths_of_the_basin_constants():
    """dps is passed through: 30 digits agree with 45 digits to 25 (float64 would not)."""
    prob = _SPURIOUS
    sp = T.hessian_spectrum(prob)
    ev = np.linalg.eigvalsh(T.tangent_hessian(prob, *(lambda g: (g.w, g.a))(T.global_minimum(prob))))
    assert math.isclose(sp.condition, ev[-1] / ev[0], rel_tol=1e-9)
    eta = 0.3
    lam = np.linspace(sp.mu / 2, sp.lam_max + sp.mu / 2, 1001)   # the basin's Hessian range
    assert math.isclose(T.basin_contraction_factor(prob, eta), float(np.max(np.abs(1 - eta * lam))),
                        rel_tol=1e-12)
    tol = mpmath.mpf(10) ** -25
    for f in (lambda d: T.basin_radius(prob, d), lambda d: T.basin_contraction_factor(prob, eta, d),
              lambda d: T.hessian_spectrum(prob, d).condition,
              lambda d: T.global_minimum(prob, d).a[1]):
        with mpmath.workdps(50):
            lo, hi = f(30), f(45)
            assert isinstance(lo, mpmath.mpf) and abs(lo - hi) <= tol * abs(hi)
            assert abs(lo - f(None)) <= 1e-12 * abs(hi)
    gm = T.global_minimum(prob, backend="arb")
    assert gm.kind == "global" and isinstance(gm.a[0], flint.arb)
    assert abs(_mid(gm.a[0]) - prob.s * prob.a_star[0]) <= 1e-14 and _mid(gm.loss) == 0


def test_critical_point_kinds_and_existence_messages():
    no = vp.Problem(np.ones(3), np.array([1.0, 2.0]))      # pi (1.a*)^2 > (k + pi - 1)|a*|^2
    assert not T.has_spurious_minimum(no)
    for f, what in [(T.spurious_minimum, "spurious local minimum"), (T.saddle, "saddle"),
                    (T.saddle_theta, "saddle")]:
        with pytest.raises(ValueError, match="^" + re.escape(
                f"a_star: the {what} exists only when pi (1.a*)^2 < (k + pi - 1)|a*|^2 "
                "(docs/design.md section 3); here k = 2, 1.a* = 3.0, |a*|^2 = 5.0") + "$"):
            f(no)
    prob = _SPURIOUS
    assert T.global_minimum(prob).kind == "global"
    sp = T.spurious_minimum(prob)
    assert sp.kind == "spurious" and T.saddle(prob).kind == "saddle"
    # the spurious minimum's weights minimise the loss at w = -w_hat* (independent: gradient 0)
    gw, ga = vp.grad(prob, sp.w, sp.a, riemannian=True)
    assert np.max(np.abs(ga)) <= 1e-12 * (1 + np.max(np.abs(sp.a)))
    ball = T.spurious_minimum(prob, backend="arb")
    assert ball.kind == "spurious" and isinstance(ball.a[0], flint.arb)
    for got, want in zip(ball.a, sp.a):
        assert abs(_mid(got) - want) <= 1e-13 * (1 + abs(want))
    # arb: a ball certified to contain theta_s (h(pi - theta) - g_s changes sign across it),
    # checked against the 40-digit mpmath root and the float64 one
    ball = T.saddle_theta(prob, backend="arb")
    with mpmath.workdps(40):
        th40 = T.saddle_theta(prob, dps=40)
        gs = T.g_s(prob, dps=40)
        x = mpmath.pi - th40
        assert abs(mpmath.sin(x) - x * mpmath.cos(x) - gs) <= mpmath.mpf(10) ** -35
    with mpmath.workdps(60):
        assert isinstance(ball, flint.arb) and _mid(ball.rad()) < mpmath.mpf(10) ** -40
        assert abs(_mid(ball) - th40) <= _mid(ball.rad()) + mpmath.mpf(10) ** -38
    assert abs(_mid(ball) - T.saddle_theta(prob)) <= 1e-14


def test_basin_contraction_factor_when_the_upper_end_dominates():
    """eta beyond the stable range: |1 - eta (lam_max + mu/2)| is the larger term."""
    prob = _SPURIOUS
    sp = T.hessian_spectrum(prob)
    eta = 2.5 / sp.lam_max
    lam = np.linspace(sp.mu / 2, sp.lam_max + sp.mu / 2, 1001)
    want = float(np.max(np.abs(1 - eta * lam)))
    assert math.isclose(T.basin_contraction_factor(prob, eta), want, rel_tol=1e-12)
    assert abs(T.basin_contraction_factor(prob, eta, dps=30) - want) <= 1e-12 * want


def test_landscape_numbers_pass_precision_and_validate():
    prob = _SPURIOUS
    tol = mpmath.mpf(10) ** -25
    for f in (landscape.g_s, landscape.alpha, T.hessian_lipschitz_bound,
              lambda p, d: T.contraction_factor(p, 0.5, d)):
        with mpmath.workdps(50):
            lo, hi = f(prob, 30), f(prob, 45)
            assert isinstance(lo, mpmath.mpf) and abs(lo - hi) <= tol * abs(hi)
    for f in (landscape.g_s, landscape.alpha):
        assert isinstance(f(prob, backend="arb"), flint.arb)
        with pytest.warns(DeprecationWarning):
            viaprec = f(prob, prec=200)            # 200 bits -> 60 digits
        with mpmath.workdps(70):
            assert abs(viaprec - f(prob, 60)) <= mpmath.mpf(10) ** -55 * abs(viaprec)
    with pytest.raises(ValueError, match=re.escape(
            "dps: not used by backend 'float64' (give backend='mpmath' or 'arb')") + "$"):
        T.global_minimum(prob, 30, backend="float64")
    for f in (T.hessian_spectrum, landscape.g_s):
        with pytest.raises(TypeError, match=r"^problem: expected a verified_pgd.Problem, got list$"):
            f([1.0])
    for dps in (None, 30):
        gm = T.global_minimum(prob, dps)
        assert not gm.w.flags.writeable and not gm.a.flags.writeable
        assert gm.w.dtype == (np.float64 if dps is None else object)
