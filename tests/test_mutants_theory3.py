"""Third round of mutation survivors of ``verified_pgd/theory`` (docs/testing.md, "Mutation
testing", the ``theory`` row): every field of ``hessian_spectrum`` on a problem whose
eigenvalues are all simple, on each path (float64, mpmath, arb, and the explicit
``backend=`` spellings); the arb eigenvalue enclosure ``symmetric_eigenvalues_arb`` on
matrices of balls (its Weyl and diagonal terms, its orthonormality guard); the arb saddle
for a g_s ball reaching down towards 0; the arb smoothness bound where its two terms
cross; the ``prec`` alias of ``barrier``; an arb theta at the lower end of pi.

References are independent computations: the closed-form spectrum (docs/design.md
section 3) at 45 digits, ``mpmath.eigsy`` at 80 digits, the eigenvalues of explicit member
matrices of a ball matrix, an mpmath root of h(x) = g, the mpmath smoothness bound at 60
digits."""
import math
import re
import warnings

import flint
import mpmath
import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import backends
from verified_pgd import theory as T
from verified_pgd.theory import closed_forms as cf
from verified_pgd.theory import constants, landscape

# s = |w*| != 1 and p = k = 2: the spectrum (pi-1)/(2pi) < (k+pi-1)/(2pi) < s^2|a*|^2/2 has
# three simple eigenvalues, so mu, lam_max and the condition number each name one of them.
_SIMPLE = vp.Problem(np.array([0.6, 1.7]), np.array([0.9, -0.35]))
_SPURIOUS = vp.Problem.default()


def _mid(x):
    return mpmath.mpf(x.mid().str(300, radius=False))


def _rad(x):
    return mpmath.mpf(x.rad().str(20, radius=False))


def _closed_spectrum(prob, dps):
    """The closed-form eigenvalues, expanded by multiplicity and sorted, as mpf at dps."""
    B = backends.get("mpmath")
    with B.workdps(dps):
        pairs = cf.spectrum(B, backends.teacher(B, prob))
        return sorted(+v for v, m in pairs for _ in range(m))


def test_simple_problem_has_three_distinct_eigenvalues():
    with mpmath.workdps(50):
        ev = _closed_spectrum(_SIMPLE, 45)
        assert len(ev) == 3 and ev[1] - ev[0] > 0.1 and ev[2] - ev[1] > 0.1


@pytest.mark.parametrize("spelling", [{}, {"backend": "float64"}])
def test_float64_hessian_spectrum_fields_against_the_closed_form(spelling):
    sp = T.hessian_spectrum(_SIMPLE, **spelling)
    with mpmath.workdps(50):
        ref = _closed_spectrum(_SIMPLE, 45)
        assert len(sp.eigenvalues) == 3 and all(type(x) is float for x in sp.eigenvalues)
        for got, want in zip(sp.eigenvalues, ref):
            assert abs(got - want) <= 1e-12 * want
        assert abs(sp.mu - ref[0]) <= 1e-12 * ref[0]
        assert abs(sp.lam_max - ref[-1]) <= 1e-12 * ref[-1]
        assert abs(sp.condition - ref[-1] / ref[0]) <= 1e-12 * ref[-1] / ref[0]


@pytest.mark.parametrize("spelling", [{}, {"backend": "mpmath"}])
def test_mpmath_hessian_spectrum_fields_against_the_closed_form(spelling):
    sp = T.hessian_spectrum(_SIMPLE, 30, **spelling)
    with mpmath.workdps(50):
        ref = _closed_spectrum(_SIMPLE, 45)
        want = list(ref) + [ref[0], ref[-1], ref[-1] / ref[0]]
        got = list(sp.eigenvalues) + [sp.mu, sp.lam_max, sp.condition]
        for g, w in zip(got, want):
            assert isinstance(g, mpmath.mpf) and abs(g - w) <= mpmath.mpf(10) ** -25 * w


@pytest.mark.parametrize("dps", [30, 60])
def test_arb_hessian_spectrum_fields_enclose_the_closed_form_tightly(dps):
    """Each ball contains the closed-form value at dps + 20 digits and is tight at the
    requested dps (radius <= 10^(5 - dps) relative): at dps = 60 a 50-digit result fails."""
    sp = T.hessian_spectrum(_SIMPLE, dps, backend="arb")
    with mpmath.workdps(dps + 40):
        ref = _closed_spectrum(_SIMPLE, dps + 20)
        want = list(ref) + [ref[0], ref[-1], ref[-1] / ref[0]]
        got = list(sp.eigenvalues) + [sp.mu, sp.lam_max, sp.condition]
        assert len(sp.eigenvalues) == 3
        for g, w in zip(got, want):
            assert isinstance(g, flint.arb)
            assert abs(_mid(g) - w) <= _rad(g)
            assert _rad(g) <= mpmath.mpf(10) ** (5 - dps) * w


def test_mp_basin_constants_are_at_dps_whatever_the_ambient_precision():
    """Called with mpmath's ambient precision at its default 15 digits, the dps = 30 results
    agree with 45-digit ones to 25 digits (they were computed at the ambient precision:
    1e-17 off).  The references: the 45-digit closed-form spectrum."""
    eta = 0.3
    with mpmath.workdps(15):
        got = [T.contraction_factor(_SIMPLE, eta, 30), T.stable_step_range(_SIMPLE, 30)[1],
               T.basin_contraction_factor(_SIMPLE, eta, 30), T.hessian_spectrum(_SIMPLE, 30).condition]
        lo = T.stable_step_range(_SIMPLE, 30)[0]
    with mpmath.workdps(50):
        ev = _closed_spectrum(_SIMPLE, 45)
        mu, lam = ev[0], ev[-1]
        want = [max(abs(1 - eta * x) for x in ev), 2 / lam,
                max(abs(1 - eta * mu / 2), abs(1 - eta * (lam + mu / 2))), lam / mu]
        for g, w in zip(got, want):
            assert isinstance(g, mpmath.mpf) and abs(g - w) <= mpmath.mpf(10) ** -25 * w
    assert isinstance(lo, mpmath.mpf) and lo == 0


@pytest.mark.parametrize("backend, dps", [("float64", 30), ("mpmath", None)])
def test_hessian_spectrum_backend_and_dps_must_agree(backend, dps):
    with pytest.raises(ValueError, match="^" + re.escape(
            f"backend: {backend!r} with dps={dps!r}; give dps for 'mpmath', "
            "none for 'float64', or backend='arb'") + "$"):
        T.hessian_spectrum(_SIMPLE, dps, backend=backend)


def test_mp_tangent_hessian_is_computed_at_dps_above_50():
    """dps = 80 against Q^T H Q formed here from the 100-digit generic Hessian
    (``hessian_mp``) and the tangent basis, to 70 digits (one taken at 50 digits agrees to 50)."""
    w = np.array([0.28, -0.96])
    a = np.array([0.4, 1.3])
    with mpmath.workdps(120):
        lo = T.tangent_hessian(_SIMPLE, w, a, 80)
        H = mpmath.matrix(vp.hessian_mp(_SIMPLE, w, a, dps=100, riemannian=True).tolist())
        Q = mpmath.zeros(4, 3)
        Tb = constants.tangent_basis(w, 100)
        Q[0, 0], Q[1, 0], Q[2, 1], Q[3, 2] = Tb[0, 0], Tb[1, 0], 1, 1
        hi = Q.T * H * Q
        assert lo.rows == lo.cols == 3
        for r in range(3):
            for c in range(3):
                assert abs(lo[r, c] - hi[r, c]) <= mpmath.mpf(10) ** -70 * (1 + abs(hi[r, c]))


# --- symmetric_eigenvalues_arb on matrices of balls -------------------------------------

_ARB = backends.get("arb")


def _ball_matrix(mid, rad):
    n = len(mid)
    return np.array([[flint.arb(mid[r][c], rad[r][c]) for c in range(n)] for r in range(n)],
                    dtype=object)


def _members_enclosed(ev, members):
    """Every member matrix's i-th smallest eigenvalue (mpmath, 60 digits) lies in ball i."""
    with mpmath.workdps(60):
        for M in members:
            lam = sorted(mpmath.eigsy(mpmath.matrix(M), eigvals_only=True))
            for ball, x in zip(ev, lam):
                assert abs(_mid(ball) - x) <= _rad(ball), (M, ball, x)


def test_arb_eigenvalues_of_uncertain_off_diagonals_use_the_weyl_term():
    """H = I + off-diagonal balls [0 +/- r] (n = 3): the members I +/- r (J - I) have the
    eigenvalues 1 +/- 2r and 1 -/+ r; the balls contain them and are no wider than the
    Weyl bound |offdiag|_F = sqrt(6) r (plus rounding)."""
    r = 2.0 ** -10
    n = 3
    with _ARB.workdps(30):
        H = _ball_matrix([[float(i == j) for j in range(n)] for i in range(n)],
                         [[0.0 if i == j else r for j in range(n)] for i in range(n)])
        ev = constants.symmetric_eigenvalues_arb(_ARB, H)
    assert len(ev) == n
    J = np.ones((n, n))
    _members_enclosed(ev, [np.eye(n) + sgn * r * (J - np.eye(n)) for sgn in (1, -1)]
                      + [np.eye(n)])
    for ball in ev:
        assert _rad(ball) <= math.sqrt(n * (n - 1)) * r * (1 + 1e-6)


def test_arb_eigenvalues_of_uncertain_diagonals_span_both_ends():
    """H = diag(1, 2, 3) with radius r on the diagonal: the members diag(i -/+ r) give the
    lower and upper ends of each ball."""
    r = 2.0 ** -12
    with _ARB.workdps(30):
        H = _ball_matrix([[float(i + 1) if i == j else 0.0 for j in range(3)] for i in range(3)],
                         [[r if i == j else 0.0 for j in range(3)] for i in range(3)])
        ev = constants.symmetric_eigenvalues_arb(_ARB, H)
    _members_enclosed(ev, [np.diag([1.0 + s, 2.0 + s, 3.0 + s]) for s in (-r, 0.0, r)])
    for ball in ev:
        assert _rad(ball) <= r * (1 + 1e-6)   # radii are rounded up to 30 bits


def test_arb_eigenvalues_of_an_exact_matrix_are_tight():
    """An exact symmetric matrix with non-trivial eigenvectors: balls around mpmath's
    80-digit eigenvalues, radius <= 2^(12 - prec) |lambda|_max at the working precision (the
    approximate eigenvectors taken 20 bits above it)."""
    A = [[2.0, 1.0, 0.0, 0.5], [1.0, 3.0, 1.0, 0.0], [0.0, 1.0, 4.0, -1.0], [0.5, 0.0, -1.0, 1.5]]
    with _ARB.workdps(40):
        prec = flint.ctx.prec
        ev = constants.symmetric_eigenvalues_arb(_ARB, _ball_matrix(A, [[0.0] * 4] * 4))
    with mpmath.workdps(80):
        lam = sorted(mpmath.eigsy(mpmath.matrix(A), eigvals_only=True))
        top = max(abs(x) for x in lam)
        for ball, x in zip(ev, lam):
            assert abs(_mid(ball) - x) <= _rad(ball)
            assert _rad(ball) <= mpmath.mpf(2) ** (12 - prec) * top


def test_arb_eigenvalues_refuse_eigenvectors_that_are_not_orthonormal(monkeypatch):
    """The guard on |V^T V - I|_F < 1 (Ostrowski needs it): eigsy's vectors scaled by 1.2
    (|G|_F = 0.44 sqrt(2) ~ 0.62, accepted, the balls still enclose), by sqrt(0.75) and
    sqrt(1.1) (one column each: accepted, enclosing) and by 1.45 (|G|_F ~ 1.56: refused,
    with the message)."""
    A = [[2.0, 1.0], [1.0, 3.0]]
    eigsy = mpmath.eigsy

    def scaled(c):
        def f(M, *args, **kw):
            E, Q = eigsy(M, *args, **kw)
            return E, Q * c
        return f

    monkeypatch.setattr(mpmath, "eigsy", scaled(1.2))
    with _ARB.workdps(30):
        ev = constants.symmetric_eigenvalues_arb(_ARB, _ball_matrix(A, [[0.0] * 2] * 2))
    monkeypatch.setattr(mpmath, "eigsy", eigsy)
    _members_enclosed(ev, [np.array(A)])
    # columns scaled unequally, |V^T V - I|_F = 0.27 > 1 - c1^2 = 0.25: dividing by
    # t = [1 -/+ 0.27] brings c1^2 lambda_1 back over lambda_1, multiplying would not
    monkeypatch.setattr(mpmath, "eigsy", scaled(mpmath.diag([mpmath.sqrt(0.75), mpmath.sqrt(1.1)])))
    with _ARB.workdps(30):
        ev = constants.symmetric_eigenvalues_arb(_ARB, _ball_matrix(A, [[0.0] * 2] * 2))
    monkeypatch.setattr(mpmath, "eigsy", eigsy)
    _members_enclosed(ev, [np.array(A)])
    monkeypatch.setattr(mpmath, "eigsy", scaled(1.45))
    with _ARB.workdps(30), pytest.raises(ArithmeticError, match="^" + re.escape(
            "eigenvalues: the approximate eigenvectors are not orthonormal enough "
            "(raise the working precision)") + "$"):
        constants.symmetric_eigenvalues_arb(_ARB, _ball_matrix(A, [[0.0] * 2] * 2))


# --- the arb saddle, the smoothness bound, barrier's prec, theta at pi -------------------

def _root_x(g, dps):
    """x in (0, pi) with h(x) = sin x - x cos x = g (mpmath's bracketing Illinois solver)."""
    with mpmath.workdps(dps):
        return mpmath.findroot(lambda x: mpmath.sin(x) - x * mpmath.cos(x) - g, (0, mpmath.pi),
                               solver="illinois")


def test_arb_theta_s_for_a_g_s_ball_reaching_towards_zero():
    """g_s in [1e-7, 0.1] (a ball around 0.05): x_s runs from ~0.0067 to ~0.67, so the
    doubling search must clamp the lower end at x = 0 and certify both sides; the
    result contains pi - x for the roots at both ends of the ball."""
    with _ARB.workdps(30):
        Tt = backends.teacher(_ARB, _SPURIOUS)
        gs = flint.arb(0.05, 0.05 - 1e-7)
        ball = landscape.saddle_theta_in(_ARB, Tt, gs)
    with mpmath.workdps(40):
        for g in (mpmath.mpf(1e-7), mpmath.mpf(0.1)):
            th = mpmath.pi - _root_x(g, 40)
            assert abs(_mid(ball) - th) <= _rad(ball)


# p = 2, k = 7 (seeded normal draws): at MIN_DPS the first term's ball is wider than the
# second's, so near the crossing it overlaps it while its value lies above the second's ball
_CROSSING = vp.Problem(np.array([-0.31630015636915454, 0.4116305363741328]),
                       np.array([1.0425133694426776, -0.12853466294403426, 1.3664634705496859,
                                 -0.6651946734866135, 0.3515100700930197, 0.9034701816518086,
                                 0.09401229776087457]))


def test_arb_smoothness_bound_encloses_where_its_terms_cross():
    """At MIN_DPS the two terms of the max, s R |a*|/2 and (k + pi - 1)/(2 pi), overlap as
    balls for R within a few ulps of their crossing; for each such float R the ball must
    contain the 60-digit mpmath bound."""
    prob = _CROSSING
    with mpmath.workdps(60):
        Tt = backends.teacher(backends.get("mpmath"), prob)
        R0 = float((Tt.k + Tt.pi - 1) / (2 * Tt.pi) * 2 / (Tt.s * mpmath.sqrt(Tt.A)))
    Rs = [R0]
    for _ in range(30):
        Rs = [np.nextafter(Rs[0], 0.0)] + Rs + [np.nextafter(Rs[-1], 10.0)]
    with mpmath.workdps(80):
        for R in Rs:
            ball = T.smoothness_bound(prob, float(R), dps=landscape.MIN_DPS, backend="arb")
            want = T.smoothness_bound(prob, float(R), dps=60)
            assert abs(_mid(ball) - want) <= _rad(ball), R


def test_barrier_prec_alias_is_passed_on():
    """prec= (bits, deprecated) is dps = int(prec / log2(10)): a warning at the caller's line
    and the same mpf."""
    with pytest.warns(DeprecationWarning, match=r"^prec= \(bits\) is deprecated") as rec:
        got = T.barrier(_SPURIOUS, prec=100)
    # attributed to the caller's line (here), so Python's default filters show it there
    assert [w.filename for w in rec] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        want = T.barrier(_SPURIOUS, dps=30)
    assert isinstance(got, mpmath.mpf) and got == want


def test_arb_theta_at_the_lower_end_of_pi_is_in_range():
    """theta = the exact lower end of the pi ball is <= pi certainly: a valid input."""
    with flint.ctx.workdps(30):
        pi = flint.arb.pi()
    with flint.ctx.workprec(400):
        th = flint.arb(pi.mid()) - flint.arb(pi.rad())      # exact: mid and rad are dyadic
    assert th.rad() == 0
    got = T.reduced_loss(_SPURIOUS, th, dps=30, backend="arb")
    with mpmath.workdps(50):
        want = T.reduced_loss(_SPURIOUS, _mid(th), dps=45)
        assert abs(_mid(got) - want) <= _rad(got) + mpmath.mpf(10) ** -40


# --- closed forms only the prover calls (proofs_check.ball_certs) -----------------------

_K1 = vp.Problem(np.array([1.0, 0.5, -0.3]), np.array([1.1]))
_K3 = vp.Problem(np.array([0.6, -1.2, 0.25]), np.array([0.7, -0.4, 1.3]))


@pytest.mark.parametrize("prob", [_K1, _K3, _SPURIOUS, _SIMPLE], ids=["k1", "k3", "default", "simple"])
@pytest.mark.parametrize("name", ["float64", "mpmath", "arb"])
def test_existence_margin_m_min_m_floor_chart_beta(prob, name):
    """existence_margin: > 0 exactly when has_spurious_minimum (decided in rationals; 0 for
    k = 1), and
    g_s times its denominator; m_min: the smallest eigenvalue of the a-block of the generic
    Hessian at the optimum; m_floor: that value for k >= 2, below it for k = 1;
    chart_beta: the theta-a coupling of the reduced Hessian, H_red[0, 1:] = beta a*."""
    B = backends.get(name)
    gm = T.global_minimum(prob)
    H = vp.hessian(prob, gm.w, gm.a, riemannian=True)
    lam_a = float(np.linalg.eigvalsh(H[prob.p:, prob.p:])[0])
    theta = 0.7
    H_red, _ = T.reduced_hessian(prob, theta, np.ones(prob.k))
    with B.workdps(30):
        Tt = backends.teacher(B, prob)
        margin = cf.existence_margin(B, Tt)
        if prob.k == 1:     # (k + pi - 1)|a*|^2 = pi (1.a*)^2: zero up to rounding
            assert abs(float(margin)) <= 1e-14 * float(Tt.A)
            assert not landscape.has_spurious_minimum(prob)
        else:
            assert (float(margin) > 0) is landscape.has_spurious_minimum(prob)
        gsd = cf.g_s(B, Tt) * cf.g_s_denominator(B, Tt)
        assert abs(float(margin - gsd)) <= 1e-14 * float(Tt.A)
        assert math.isclose(float(cf.m_min(B, Tt)), lam_a, rel_tol=1e-12)
        floor = float(cf.m_floor(B, Tt))
        if prob.k >= 2:
            assert math.isclose(floor, lam_a, rel_tol=1e-12)
        else:
            assert floor < lam_a and math.isclose(floor, float(cf.m_min(B, Tt)) - 1 / (2 * math.pi),
                                                  rel_tol=1e-12)
        beta = cf.chart_beta(B, Tt, B.convert(theta))
        for j in range(prob.k):
            want = H_red[0, 1 + j]
            assert math.isclose(float(beta * Tt.a_star[j]), want, rel_tol=1e-12, abs_tol=1e-15)


def test_saddle_passes_the_backend_and_names_p_1():
    """backend='arb': theta, loss and the entries of w and a are balls containing the
    45-digit mpmath saddle; backend='mpmath' with dps is the mpmath one."""
    sd = T.saddle(_SPURIOUS, backend="arb")
    with mpmath.workdps(60):
        ref = T.saddle(_SPURIOUS, dps=45)
        mp30 = T.saddle(_SPURIOUS, dps=30, backend="mpmath")
        assert isinstance(mp30.theta, mpmath.mpf) and abs(mp30.theta - ref.theta) <= 1e-28
        pairs = [(sd.theta, ref.theta), (sd.loss, ref.loss)] + list(zip(sd.w, ref.w)) \
            + list(zip(sd.a, ref.a))
        for got, want in pairs:
            assert isinstance(got, flint.arb) and abs(_mid(got) - want) <= _rad(got) + 1e-40
    with pytest.raises(ValueError, match=r"^w_star: p = 1 has no direction orthogonal to w\*$"):
        T.saddle(vp.Problem(np.array([2.0]), np.array([1.0, -1.0])))


def test_has_spurious_minimum_raises_the_precision_until_decided(monkeypatch):
    """An arb backend whose pi is a ball of radius 2^(150 - prec) leaves the comparison
    undecided at 64 and 128 bits: the precision must go up (never below 64 bits) until
    the answer, the same as with the true pi, is decided."""
    real = backends.get("arb")
    seen = []

    class Wide:
        name = "arb"

        def workprec(self, bits):
            assert isinstance(bits, int) and bits >= 64, bits
            seen.append(bits)
            return real.workprec(bits)

        def convert(self, x):
            return real.convert(x)

        @property
        def pi(self):
            return flint.arb(real.pi.mid(), flint.arb(2) ** (150 - flint.ctx.prec))

    monkeypatch.setattr(landscape, "get_backend", lambda name: Wide())
    for a in ([1.0, -1.0], [1.0, 2.0], [1.0, 0.1], [1.0, 1.0, 1.0, -1.0], [0.3, 0.9, 1.1]):
        prob = vp.Problem(np.array([1.0, 0.0]), np.array(a))
        X = sum(a) ** 2 - sum(x * x for x in a)
        if X <= 0:
            continue        # decided in rationals
        seen.clear()
        got = landscape.has_spurious_minimum(prob)
        assert got is (math.pi * X < (len(a) - 1) * sum(x * x for x in a))
        assert len(seen) >= 2 and seen == sorted(seen)


def test_float_theta_s_to_the_last_bits():
    """Brent's x_s to ~4 eps relative (rtol) and no absolute floor: against 40 digits for
    seeded teachers, |error| <= 40 eps x_s (brentq's default xtol = 2e-12 gives ~800 eps)."""
    rng = np.random.default_rng(2)
    n = 0
    while n < 20:
        prob = vp.Problem(rng.normal(size=3), rng.normal(size=int(rng.integers(2, 6))))
        if not T.has_spurious_minimum(prob):
            continue
        n += 1
        th = T.saddle_theta(prob)
        with mpmath.workdps(40):
            ref = T.saddle_theta(prob, dps=40)
            assert abs(th - ref) <= 40 * 2.0 ** -52 * (mpmath.pi - ref)


def test_g_s_where_its_float64_denominator_is_exactly_one_or_underflows():
    """a* = (0.3616.., -0.3330..): (k + pi - 1)|a*|^2 - (1.a*)^2 is exactly 1.0 in float64
    (a valid teacher: g_s agrees with 30 digits); a* ~ 1e-200: |a*|^2 underflows, the
    float64 landscape is degenerate and refused, naming a_star."""
    prob = vp.Problem(np.array([1.0, 0.5]), np.array([0.36161512957668807, -0.3329944293302129]))
    B = backends.Float64()
    assert cf.g_s_denominator(B, backends.teacher(B, prob)) == 1.0
    with mpmath.workdps(40):
        assert abs(T.g_s(prob) - T.g_s(prob, dps=30)) <= 1e-15
    tiny = vp.Problem(np.array([1.0, 0.5]), np.array([1e-200, 3e-200]))
    with pytest.raises(ValueError, match="^" + re.escape(
            "a_star: must be non-zero (the landscape is degenerate for a* = 0)") + "$"):
        T.g_s(tiny)
    # at 20 digits |a*|^2 = 1e-399 is representable: g_s, scale-free, is that of a* = (1, 3)
    unit = vp.Problem(np.array([1.0, 0.5]), np.array([1.0, 3.0]))
    assert abs(T.g_s(tiny, dps=20) - T.g_s(unit)) <= 1e-15
