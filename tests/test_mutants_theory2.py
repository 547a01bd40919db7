"""Second round of mutation survivors of ``verified_pgd/theory`` (docs/testing.md, "Mutation
testing", the ``theory`` row): the arb enclosure of theta_s (``_saddle_x_arb``), the
``backend``/``dps`` pass-through of the landscape numbers and the basin constants, the
result types, and the messages.  Every value is compared with an independent computation
(an mpmath root of h(x) = g_s at more digits, the 45-digit spectrum, the float64 path)."""
import math
import re

import flint
import mpmath
import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import backends
from verified_pgd import theory as T
from verified_pgd.theory import constants, landscape

_SPURIOUS = vp.Problem.default()
# a* = (1, 0.15): g_s ~ 0.027, so x_s = pi - theta_s ~ 0.44 < 1 (the small-x_s branch)
_NEAR_EDGE = vp.Problem(np.ones(3), np.array([1.0, 0.15]))
_NONE = vp.Problem(np.ones(3), np.array([1.0, 2.0]))       # no spurious minimum


def _mid(x):
    return mpmath.mpf(x.mid().str(260, radius=False)) if isinstance(x, flint.arb) else mpmath.mpf(x)


def _rad(x):
    return mpmath.mpf(x.rad().str(20, radius=False))


def _root_x(prob, g, dps):
    """x in (0, pi) with h(x) = sin x - x cos x = g, by mpmath's bisection-free solver."""
    with mpmath.workdps(dps):
        return mpmath.findroot(lambda x: mpmath.sin(x) - x * mpmath.cos(x) - g, (0, mpmath.pi),
                               solver="anderson")


@pytest.mark.parametrize("prob", [_SPURIOUS, _NEAR_EDGE], ids=["default", "near-edge"])
@pytest.mark.parametrize("dps", [30, 200])
def test_arb_theta_s_is_a_tight_certified_ball(prob, dps):
    """The ball contains the root computed independently at dps + 30 digits and is tight
    (radius <= 10^-(dps - 5)): too few Newton steps (200 digits needs 6) or a lower end
    clamped to 0 would widen it."""
    ball = T.saddle_theta(prob, dps=dps, backend="arb")
    assert isinstance(ball, flint.arb)
    with mpmath.workdps(dps + 30):
        gs = T.g_s(prob, dps=dps + 30)
        th = mpmath.pi - _root_x(prob, gs, dps + 30)
        assert abs(_mid(ball) - th) <= _rad(ball)
        assert 0 < _rad(ball) <= mpmath.mpf(10) ** (5 - dps)


def test_arb_theta_s_for_a_wide_g_s_ball_encloses_every_root_or_refuses():
    """g_s given as a ball: the result contains pi - x for x the roots at both ends of the
    ball; a ball so wide that the sign is undecided on all of [0, pi] is refused."""
    B = backends.get("arb")
    with B.workdps(30):
        Tt = backends.teacher(B, _SPURIOUS)
        g0 = float(T.g_s(_SPURIOUS))
        gs = flint.arb(g0, 1e-6)
        ball = landscape.saddle_theta_in(B, Tt, gs)
        for g in (g0 - 1e-6, g0 + 1e-6):
            with mpmath.workdps(40):
                th = mpmath.pi - _root_x(_SPURIOUS, mpmath.mpf(g), 40)
                assert abs(_mid(ball) - th) <= _rad(ball)
        assert _rad(ball) <= 1e-5
        with pytest.raises(ArithmeticError, match="^" + re.escape(
                "theta_s: the sign of h - g_s is undecided on [0, pi] "
                "(g_s too wide; raise the working precision)") + "$"):
            landscape.saddle_theta_in(B, Tt, flint.arb(0.5, 10))


@pytest.mark.parametrize("f, what", [(T.barrier, "spurious local minimum"),
                                     (landscape.saddle_loss, "saddle")])
def test_barrier_and_saddle_loss_existence_messages(f, what):
    with pytest.raises(ValueError, match="^" + re.escape(
            f"a_star: the {what} exists only when pi (1.a*)^2 < (k + pi - 1)|a*|^2 "
            "(docs/design.md section 3); here k = 2, 1.a* = 3.0, |a*|^2 = 5.0") + "$"):
        f(_NONE)


@pytest.mark.parametrize("name", ["barrier", "saddle_loss", "reduced_loss", "reduced_minimizer",
                                  "orthogonal_direction", "smoothness_bound"])
def test_landscape_numbers_pass_backend_and_dps_through(name):
    """backend='arb' gives balls enclosing the 45-digit mpmath value; dps=30 gives mpf
    agreeing with 45 digits to 25 (the float64 path would not)."""
    prob = _SPURIOUS
    f = {"barrier": T.barrier, "saddle_loss": landscape.saddle_loss,
         "reduced_loss": lambda p, **kw: T.reduced_loss(p, "0.5", **kw),
         "reduced_minimizer": lambda p, **kw: T.reduced_minimizer(p, "0.5", **kw)[1],
         "orthogonal_direction": lambda p, **kw: T.orthogonal_direction(p, **kw)[0],
         "smoothness_bound": lambda p, **kw: T.smoothness_bound(p, 0.25, **kw)}[name]
    with mpmath.workdps(60):
        ref = f(prob, dps=45)
        lo = f(prob, dps=30)
        assert isinstance(lo, mpmath.mpf) and abs(lo - ref) <= mpmath.mpf(10) ** -25 * (1 + abs(ref))
        ball = f(prob, backend="arb")
        assert isinstance(ball, flint.arb)
        assert abs(_mid(ball) - ref) <= _rad(ball) + mpmath.mpf(10) ** -40 * (1 + abs(ref))


def test_orthogonal_direction_p2_and_p1():
    p2 = vp.Problem(np.array([0.6, 0.8]), np.array([1.0, 0.2]))
    v = T.orthogonal_direction(p2)
    assert abs(v @ p2.w_hat_star) <= 1e-15 and math.isclose(np.linalg.norm(v), 1.0, rel_tol=1e-15)
    p1 = vp.Problem(np.array([2.0]), np.array([1.0, 0.2]))
    with pytest.raises(ValueError, match=r"^w_star: p = 1 has no direction orthogonal to w\*$"):
        T.orthogonal_direction(p1)


def test_reduced_loss_result_types_and_theta_name():
    prob = _SPURIOUS
    one = T.reduced_loss(prob, 0.5)
    assert np.ndim(one) == 0 and isinstance(one, float)
    many = T.reduced_loss(prob, [0.5, 1.0])
    assert many.shape == (2,) and many[0] == one
    with pytest.raises(TypeError, match=r"^theta: "):
        T.reduced_loss(prob, "abc")


def test_arb_theta_inputs_balls_and_decimal_strings():
    """An arb theta is used as given; a decimal string is read at the working precision
    (not through float): '0.1' at 30 digits against mpmath's mpf('0.1')."""
    prob = _SPURIOUS
    with mpmath.workdps(40):
        want = T.reduced_loss(prob, "0.1", dps=40)
        got = T.reduced_loss(prob, "0.1", dps=30, backend="arb")
        assert abs(_mid(got) - want) <= _rad(got) + mpmath.mpf(10) ** -27
        with flint.ctx.workdps(30):
            th = flint.arb("0.1")
        got = T.reduced_loss(prob, th, dps=30, backend="arb")
        assert abs(_mid(got) - want) <= _rad(got) + mpmath.mpf(10) ** -27


def test_basin_constants_are_computed_at_dps():
    """Against the 45-digit spectrum and Lipschitz bound, to 25 digits (float64 inputs
    would agree to 15 only); the stable range's ends are both mpf."""
    prob = _SPURIOUS
    eta = 0.3
    tol = mpmath.mpf(10) ** -25
    with mpmath.workdps(60):
        sp = T.hessian_spectrum(prob, 45)
        K = T.hessian_lipschitz_bound(prob, 45)
        ev = sp.eigenvalues
        checks = [
            (T.basin_radius(prob, 30), sp.mu / (2 * K)),
            (T.contraction_factor(prob, eta, 30), max(abs(1 - eta * x) for x in ev)),
            (T.basin_contraction_factor(prob, eta, 30),
             max(abs(1 - eta * sp.mu / 2), abs(1 - eta * (sp.lam_max + sp.mu / 2)))),
            (T.stable_step_range(prob, 30)[1], 2 / sp.lam_max),
        ]
        for got, want in checks:
            assert isinstance(got, mpmath.mpf) and abs(got - want) <= tol * abs(want)
        lo, _ = T.stable_step_range(prob, 30)
        assert isinstance(lo, mpmath.mpf) and lo == 0


def test_arb_hessian_spectrum_encloses_the_45_digit_spectrum():
    """backend='arb': every eigenvalue a ball containing mpmath's 45-digit eigenvalue
    (eigsy of the tangent Hessian), radius <= 1e-25 at dps = 30; mu, lam_max and the
    condition number are the ends and their ratio."""
    prob = _SPURIOUS
    sp = T.hessian_spectrum(prob, 30, backend="arb")
    with mpmath.workdps(60):
        ref = T.hessian_spectrum(prob, 45)
        assert len(sp.eigenvalues) == len(ref.eigenvalues) == prob.p - 1 + prob.k
        for got, want in zip(sp.eigenvalues, ref.eigenvalues):
            assert isinstance(got, flint.arb) and _rad(got) <= mpmath.mpf(10) ** -25
            assert abs(_mid(got) - want) <= _rad(got) + mpmath.mpf(10) ** -40
        assert (sp.mu, sp.lam_max) == (sp.eigenvalues[0], sp.eigenvalues[-1])
        assert abs(_mid(sp.condition) - ref.condition) <= _rad(sp.condition) + mpmath.mpf(10) ** -40


@pytest.mark.parametrize("balls", [False, True])
def test_arb_tangent_hessian_encloses_the_45_digit_one(balls):
    """backend='arb' at a point off the optimum, from floats or from balls: every entry a
    ball (radius <= 1e-25 at dps = 30) containing the mpmath tangent Hessian at 45 digits."""
    prob = _SPURIOUS
    w = np.array([0.6, -0.8] + [0.0] * (prob.p - 2))
    a = np.linspace(0.3, -0.4, prob.k)
    if balls:
        with flint.ctx.workdps(30):
            wi, ai = [flint.arb(float(x)) for x in w], [flint.arb(float(x)) for x in a]
    else:
        wi, ai = w, a
    H = T.tangent_hessian(prob, wi, ai, dps=30, backend="arb")
    n = prob.p - 1 + prob.k
    assert H.shape == (n, n)
    with mpmath.workdps(60):
        ref = T.tangent_hessian(prob, w, a, dps=45)
        for r in range(n):
            for c in range(n):
                got = H[r, c]
                assert isinstance(got, flint.arb) and _rad(got) <= mpmath.mpf(10) ** -25
                assert abs(_mid(got) - ref[r, c]) <= _rad(got) + mpmath.mpf(10) ** -40


def test_saddle_filter_orientation_and_default_g_s():
    """The saddle's w is cos(theta_s) w_hat* + sin(theta_s) v with v = orthogonal_direction
    (its component along v is +sin theta_s); saddle_theta_in without g_s computes it."""
    prob = _SPURIOUS
    sd = T.saddle(prob)
    v = T.orthogonal_direction(prob)
    assert math.isclose(float(sd.w @ v), math.sin(sd.theta), rel_tol=1e-12)
    assert math.isclose(float(sd.w @ prob.w_hat_star), math.cos(sd.theta), rel_tol=1e-12)
    B = backends.Float64()
    Tt = backends.teacher(B, prob)
    assert landscape.saddle_theta_in(B, Tt) == landscape.saddle_theta_in(B, Tt, T.g_s(prob)) == sd.theta


@pytest.mark.parametrize("backend", ["float64", "mpmath"])
def test_tangent_basis_positive_pivot(backend):
    """w_hat with its largest entry positive and not on an axis; backend='float64' is the
    float64 path (a float64 array)."""
    w = np.array([0.6, 0.8, 0.0])
    with mpmath.workdps(40):
        wi = w if backend == "float64" else [mpmath.mpf(3) / 5, mpmath.mpf(4) / 5, mpmath.mpf(0)]
        Q = constants.tangent_basis(wi, None if backend == "float64" else 40, backend=backend)
        assert Q.shape == (3, 2) and (Q.dtype == np.float64) is (backend == "float64")
        for r in range(2):
            assert abs(sum(wi[i] * Q[i, r] for i in range(3))) <= 1e-15
            for c in range(2):
                assert abs(sum(Q[i, r] * Q[i, c] for i in range(3)) - (r == c)) <= 1e-15
