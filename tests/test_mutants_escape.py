"""Fast, direct tests of ``verified_pgd/theory/escape_law.py`` for mutation testing
(docs/testing.md, "Mutation testing", the ``escape`` target).

Every number against an independent computation: the 1-D mean first-passage time against
a cumulative Simpson quadrature of the same double integral in e = pi - theta; the
saddle curvature V''(theta_s) against a finite-difference second derivative of the
reduced loss (l = min_a L, so l'' is the Schur complement of the chart Hessian) plus the
volume term; the unstable eigenvalue against the generic Riemannian Hessian
(``vp.hessian``) in the frame (e_theta, a); the cubic coefficient c of the spurious well
against (l(pi - e) - l(pi)) / e^3; the saddle factor by its invariances (rotations of
the stable coordinates, an uncoupled extra direction) and its Richardson extrapolation
against a finer grid."""
import math
import re

import numpy as np
import pytest
from scipy.integrate import cumulative_simpson, simpson

import verified_pgd as vp
from verified_pgd import theory as T
from verified_pgd.theory import escape_law as el

@pytest.fixture(autouse=True)
def _fresh_saddle_factor_cache():
    """saddle_factor memoises its solves; a cached value computed by other code (an earlier
    test, or mutmut's parent process) must not stand in for this test's own computation."""
    el._saddle_factor_cached.cache_clear()
    yield


_P3 = vp.Problem(np.array([1.0, 0.0, 0.0]), np.array([1.0, -1.0]))
_P4 = vp.Problem(np.array([0.6, -1.2, 0.25, 2.0]), np.array([1.0, -0.8, 0.3]))
_P2 = vp.Problem(np.array([0.8, 0.6]), np.array([1.0, -1.0, 0.5]))


def _sigma(prob, x, eta):
    return math.sqrt(2 * T.barrier(prob) / x / eta)


def _l2(prob, th, h=2e-4):
    """l''(theta) by the five-point central difference (error ~h^4 l^(6))."""
    l = lambda t: float(T.reduced_loss(prob, t))
    return (-l(th + 2 * h) + 16 * l(th + h) - 30 * l(th) + 16 * l(th - h) - l(th - 2 * h)) / (12 * h * h)


def _generic_saddle_hessian(prob, t, vol):
    """The Riemannian Hessian of L + volume term at the saddle in the frame (e_theta, a)."""
    sd = T.saddle(prob)
    w, a = np.asarray(sd.w, float), np.asarray(sd.a, float)
    th = float(sd.theta)
    e_th = -math.sin(th) * prob.w_hat_star + math.cos(th) * T.orthogonal_direction(prob)
    H = vp.hessian(prob, w, a, riemannian=True)
    p, k = prob.p, prob.k
    G = np.zeros((p + k, 1 + k))
    G[:p, 0] = e_th
    G[p:, 1:] = np.eye(k)
    Hc = G.T @ H @ G
    Hc[0, 0] += vol * t / math.sin(th) ** 2
    return Hc


def _one_d_by_simpson(prob, t, vol, n=200001):
    """(1/T) int_0^{e_s} e^{W(e)} int_0^e e^{-W(u)} du de in e = pi - theta, W = (l - l_s)/T
    - vol log sin e (docs: the 1-D mean first-passage time), by cumulative Simpson."""
    th_s = T.saddle_theta(prob)
    e_s = math.pi - th_s
    e = np.linspace(0.0, e_s, n)
    ls = float(T.reduced_loss(prob, th_s))
    l = np.asarray(T.reduced_loss(prob, np.clip(math.pi - e, 0.0, math.pi)))
    W = (l - ls) / t
    if vol:
        with np.errstate(divide="ignore"):
            W = W - vol * np.log(np.sin(e))
    inner = cumulative_simpson(np.exp(-W), x=e, initial=0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        f = np.where(e > 0, np.exp(W) * inner, 0.0)
    return simpson(f, x=e) / t


@pytest.mark.parametrize("prob, method, vol", [(_P3, "1d", 1), (_P4, "1d", 2), (_P4, "no-volume", 0)],
                         ids=["p3", "p4", "p4-no-volume"])
def test_one_d_time_is_the_first_passage_double_integral(prob, method, vol):
    eta, x = 0.1, 3.0
    s = _sigma(prob, x, eta)
    terms = el.escape_time_terms(prob, eta, s, method=method)
    t = eta * s * s / 2
    want = _one_d_by_simpson(prob, t, vol) / eta
    assert math.isclose(terms.steps_1d, want, rel_tol=1e-6)
    if method == "1d":
        assert terms.kappa == 1.0 and terms.steps == terms.steps_1d


def test_mp_one_d_time_agrees_with_the_quadrature_and_validates_dps():
    prob, eta = _P4, 0.1
    s = _sigma(prob, 3.0, eta)
    got = el.escape_time(prob, eta, s, method="1d", dps=15)
    want = _one_d_by_simpson(prob, eta * s * s / 2, 2) / eta
    assert math.isclose(float(got), want, rel_tol=1e-6)
    # dps reaches the quadrature: the result is the mp double integral's, not the float64
    # quad's (which agrees only to its epsrel; here they differ in the last digits)
    mp_value = float(el._one_d(prob, eta * s * s / 2, 2, 15)) / eta
    assert got == mp_value != el.escape_time(prob, eta, s, method="1d")
    with pytest.raises(ValueError, match=r"^dps: must be >= 15 "):
        el.escape_time(prob, eta, s, method="1d", dps=10)


@pytest.mark.parametrize("prob, method", [(_P3, "1d"), (_P4, "saddle"), (_P4, "no-volume"),
                                          (_P2, "asymptotic")])
def test_escape_terms_fields(prob, method):
    """T, x, theta_s, barrier, p, eta, sigma; V''(theta_s) = l'' + vol T / sin^2 (finite
    differences); lambda_u from the generic Hessian."""
    eta, x = 0.05, 4.0
    s = _sigma(prob, x, eta)
    tm = el.escape_time_terms(prob, eta, s, method=method)
    t = eta * s * s / 2
    vol = 0 if method == "no-volume" else prob.p - 2
    th_s = T.saddle_theta(prob)
    assert tm.method == method and tm.p == prob.p and tm.eta == eta and tm.sigma == s
    assert math.isclose(tm.T, t, rel_tol=1e-15) and math.isclose(tm.x, x, rel_tol=1e-12)
    assert tm.theta_s == th_s and tm.barrier == T.barrier(prob)
    curv = _l2(prob, th_s) + vol * t / math.sin(th_s) ** 2
    assert math.isclose(tm.curvature, curv, rel_tol=1e-6)
    lam = np.linalg.eigvalsh(_generic_saddle_hessian(prob, t, vol))[0]
    assert math.isclose(tm.lambda_u, lam, rel_tol=1e-9)
    assert math.isclose(tm.steps, tm.steps_1d * tm.kappa, rel_tol=1e-15)
    if method in ("saddle", "no-volume"):
        H = _generic_saddle_hessian(prob, t, vol)
        assert math.isclose(tm.kappa, el.saddle_factor(H), rel_tol=1e-6)
        assert tm.kappa > 1.0


def test_separatrix_factor_and_its_refusal():
    prob, eta = _P4, 0.05
    s = _sigma(prob, 4.0, eta)
    tm = el.escape_time_terms(prob, eta, s, method="separatrix")
    t = eta * s * s / 2
    H = _generic_saddle_hessian(prob, t, 2)
    S = H[0, 0] - H[0, 1:] @ np.linalg.solve(H[1:, 1:], H[1:, 0])
    assert math.isclose(tm.kappa, S / np.linalg.eigvalsh(H)[0], rel_tol=1e-9)
    # V''(theta_s) = +0.5 |l''(theta_s)| (in (0, 1)): the volume term has removed the saddle
    th_s = T.saddle_theta(prob)
    t = 1.5 * abs(_l2(prob, th_s)) * math.sin(th_s) ** 2 / 2
    with pytest.raises(ValueError, match=r"^sigma: at this temperature the volume term removes"):
        el.escape_time_terms(prob, eta, math.sqrt(2 * t / eta), method="separatrix")
    assert el.escape_time_terms(prob, eta, _sigma(prob, 4.0, eta)).method == "saddle"
    hot = vp.Problem(np.eye(32)[0], np.array([1.0, -1.0]))       # the volume term wins
    s = _sigma(hot, 0.5, eta)
    for method, msg in [("separatrix", "sigma: at this temperature the volume term removes the "
                         "saddle at theta_s (V''(theta_s) >= 0); use method='1d'"),
                        ("saddle", "sigma: at this temperature the volume term -(p-2) T log "
                         "sin(theta) removes the saddle at theta_s (V''(theta_s) >= 0); the "
                         "saddle prefactor does not apply (use method='1d')")]:
        with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
            el.escape_time_terms(hot, eta, s, method=method)


def test_asymptotic_time_is_the_documented_closed_form():
    """half Gaussian at the saddle x Laplace integral of the cubic well x e^(Delta L/T) / T,
    with V'' and c from finite differences of the reduced loss."""
    for prob in (_P3, _P4):
        eta, x = 0.1, 6.0
        s = _sigma(prob, x, eta)
        t = eta * s * s / 2
        vol = prob.p - 2
        th_s = T.saddle_theta(prob)
        curv = _l2(prob, th_s) + vol * t / math.sin(th_s) ** 2
        e = 1e-3
        lp = float(T.reduced_loss(prob, math.pi))
        c = (float(T.reduced_loss(prob, math.pi - e)) - lp) / e ** 3
        half = 0.5 * math.sqrt(2 * math.pi * t / -curv) * math.sin(th_s) ** (-vol)
        n = vol + 1
        well = math.gamma(n / 3) / 3 * (t / c) ** (n / 3)
        want = half * well * math.exp(T.barrier(prob) / t) / t / eta
        tm = el.escape_time_terms(prob, eta, s, method="asymptotic")
        assert math.isclose(tm.steps, want, rel_tol=1e-5) and tm.kappa == 1.0


def test_escape_time_validates_its_arguments():
    eta = 0.1
    with pytest.raises(TypeError, match=r"^problem: expected a verified_pgd.Problem, got str$"):
        el.escape_time("default", eta, 1.0)
    with pytest.raises(ValueError, match=r"^eta: must be > 0, got 0.0$"):
        el.escape_time(_P3, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^sigma: must be > 0, got -1.0$"):
        el.escape_time(_P3, eta, -1.0)
    with pytest.raises(ValueError, match="^" + re.escape(
            "method: expected one of saddle, 1d, asymptotic, separatrix, no-volume, got 'gauss'") + "$"):
        el.escape_time(_P3, eta, 1.0, method="gauss")
    with pytest.raises(ValueError, match="^" + re.escape(
            "w_star: escape needs p >= 2 (theta diffuses on S^(p-1)), got p = 1") + "$"):
        el.escape_time(vp.Problem(np.array([1.0]), np.array([1.0, -1.0])), eta, 1.0)
    with pytest.raises(ValueError, match="^" + re.escape(
            "a_star: this teacher has no spurious minimum, so there is no escape time") + "$"):
        el.escape_time(vp.Problem(np.array([1.0, 0.0]), np.array([1.0, 2.0])), eta, 1.0)
    assert el.escape_time(_P3, eta, _sigma(_P3, 3.0, eta), method="1d") == \
        el.escape_time_terms(_P3, eta, _sigma(_P3, 3.0, eta), method="1d").steps


# --- the saddle factor -------------------------------------------------------------------

_H2 = np.array([[-0.2, 0.3], [0.3, 0.5]])


def _rot(c, s):
    R = np.eye(3)
    R[1:, 1:] = [[c, -s], [s, c]]
    return R


def test_saddle_factor_is_invariant_under_rotations_of_the_stable_coordinates():
    """An uncoupled third direction changes nothing (the Krylov subspace stays 2-D), nor does a
    rotation mixing it with the coupled one; the default steps are (0.4, 0.2) in 2-D."""
    k2 = el.saddle_factor(_H2)
    assert 1.0 < k2 < (_H2[0, 0] - _H2[0, 1] ** 2 / _H2[1, 1]) / np.linalg.eigvalsh(_H2)[0]
    assert k2 == el.saddle_factor(_H2, steps=(0.4, 0.2))
    H3 = np.zeros((3, 3))
    H3[:2, :2] = _H2
    H3[2, 2] = 0.8
    assert math.isclose(el.saddle_factor(H3), k2, rel_tol=1e-12)
    R = _rot(0.6, 0.8)
    assert math.isclose(el.saddle_factor(R @ H3 @ R.T), k2, rel_tol=1e-9)
    K = el._krylov(R @ H3 @ R.T)
    assert K.shape == (3, 2) and np.allclose(K.T @ K, np.eye(2), atol=1e-12)


def test_saddle_factor_extrapolation_matches_a_finer_grid():
    """Second order in the grid step: the (0.4, 0.2) extrapolation against (0.15, 0.075)."""
    fine = el.saddle_factor(_H2, steps=(0.15, 0.075))
    assert math.isclose(el.saddle_factor(_H2), fine, rel_tol=2e-4)
    k1, k2 = el._saddle_factor(_H2, 0.4), el._saddle_factor(_H2, 0.2)
    assert abs(k2 - fine) < abs(k1 - fine)


def test_saddle_factor_defaults_and_integer_input():
    """Integer entries are read as floats (the memo key is the float64 bytes); the default
    steps are (0.6, 0.45) for a 3-D Krylov subspace."""
    Hi = np.array([[-1, 1], [1, 3]])
    assert el.saddle_factor(Hi) == el.saddle_factor(Hi.astype(float)) > 1.0
    H3 = np.array([[-0.3, 0.2, 0.1], [0.2, 0.6, 0.05], [0.1, 0.05, 0.9]])
    assert el._krylov(H3).shape == (3, 3)
    assert el.saddle_factor(H3) == el.saddle_factor(H3, steps=(0.6, 0.45))


def test_saddle_factor_refuses_a_missing_saddle_or_an_indefinite_a_block():
    for H in (np.array([[0.2, 0.1], [0.1, 0.5]]), np.diag([0.3, 0.5]), np.diag([0.0, 0.5])):
        with pytest.raises(ValueError, match=r"^sigma: at this temperature the volume term"):
            el.saddle_factor(H)
    with pytest.raises(ValueError, match=r"^H: the a-block is not positive definite$"):
        el._saddle_factor(np.array([[-0.5, 0.1, 0.0], [0.1, 0.5, 0.3], [0.0, 0.3, -0.4]]), 0.4)
    assert el.saddle_factor(np.diag([-0.4, 0.5, 0.9])) == 1.0


def test_krylov_subspaces():
    assert el._krylov(np.diag([-0.4, 0.5, 0.9])).shape == (3, 1)
    # the breakdown tolerance is relative to |H|: a coupling of 1e-10 beside an entry 10
    # is numerically invariant (1e-10 <= 1e-10 * 10)
    assert el._krylov(np.array([[-0.3, 1e-10], [1e-10, 10.0]])).shape == (2, 1)
    H = np.array([[-0.3, 0.2, 0.1, 0.0], [0.2, 0.6, 0.05, 0.0], [0.1, 0.05, 0.9, 0.0],
                  [0.0, 0.0, 0.0, 1.3]])
    K = el._krylov(H)
    assert K.shape == (4, 3) and np.allclose(K.T @ K, np.eye(3), atol=1e-12)
    assert np.allclose(K[:, 0], np.eye(4)[0])
    resid = H @ K - K @ (K.T @ H @ K)
    assert np.abs(resid).max() <= 1e-12


# --- assumptions --------------------------------------------------------------------------

def test_assumptions_numbers_and_reasons():
    prob = _P4
    for eta, x in [(0.05, 4.0), (0.9, 1.5)]:
        s = _sigma(prob, x, eta)
        a = el.assumptions(prob, eta, s)
        t = eta * s * s / 2
        th_s = T.saddle_theta(prob)
        s0 = _l2(prob, th_s)
        frac = 2 * t / math.sin(th_s) ** 2 / abs(s0)
        H = _generic_saddle_hessian(prob, t, 2)
        eta_curv = eta * np.abs(np.linalg.eigvalsh(H)).max()
        assert math.isclose(a.x, x, rel_tol=1e-12)
        assert math.isclose(a.volume_fraction, frac, rel_tol=1e-6)
        assert math.isclose(a.eta_curvature, eta_curv, rel_tol=1e-9)
        assert a.saddle is (frac < 1)
        want = []
        if x < el.X_MIN:
            want.append(f"Delta L / T = {el._past(x, el.X_MIN)} < 2")
        if frac > el.VOLUME_FRACTION_MAX:
            want.append(f"volume fraction {el._past(a.volume_fraction, 0.5)} > 0.5")
        if eta_curv > el.ETA_CURVATURE_MAX:
            want.append(f"eta x curvature = {el._past(a.eta_curvature, 0.25)} > 0.25")
        assert a.reasons == tuple(want) and a.holds is (not want)
    assert el.assumptions(prob, 0.05, _sigma(prob, 4.0, 0.05)).holds


def _reads_past(reasons, head, tail, value, limit):
    """The reason ``head NUMBER tail`` is there, NUMBER is the value to its printed digits
    and does not read as the limit."""
    hits = [r for r in reasons if r.startswith(head) and r.endswith(tail)]
    assert len(hits) == 1, reasons
    num = float(hits[0][len(head):-len(tail)])
    assert num != limit and math.isclose(num, value, rel_tol=1e-5)


def test_assumptions_just_past_each_limit_read_past_it():
    """x just below 2, the volume fraction just above 0.5 (and at 1.5: no saddle), eta x
    curvature just above 0.25: each reason is present and does not print as its limit."""
    prob = _P4
    th_s = T.saddle_theta(prob)
    s0 = _l2(prob, th_s)
    dL = T.barrier(prob)
    eta = 0.01
    x = 2 * (1 - 1e-6)
    a = el.assumptions(prob, eta, math.sqrt(2 * dL / x / eta))
    _reads_past(a.reasons, "Delta L / T = ", " < 2", x, 2.0)
    for frac, saddle in ((0.5 * (1 + 1e-6), True), (1.5, False)):
        t = frac * math.sin(th_s) ** 2 * abs(s0) / 2          # vol = p - 2 = 2
        a = el.assumptions(prob, eta, math.sqrt(2 * t / eta))
        assert math.isclose(a.volume_fraction, frac, rel_tol=1e-6) and a.saddle is saddle
        if saddle:
            _reads_past(a.reasons, "volume fraction ", " > 0.5", frac, 0.5)
        else:
            assert "no saddle in V (the volume term removes it)" in a.reasons
    t = dL / 4
    top = np.abs(np.linalg.eigvalsh(_generic_saddle_hessian(prob, t, 2))).max()
    eta = 0.25 * (1 + 1e-6) / top
    a = el.assumptions(prob, eta, math.sqrt(2 * t / eta))
    _reads_past(a.reasons, "eta x curvature = ", " > 0.25", 0.25 * (1 + 1e-6), 0.25)


def test_assumptions_without_a_saddle():
    hot = vp.Problem(np.eye(32)[0], np.array([1.0, -1.0]))
    a = el.assumptions(hot, 0.05, _sigma(hot, 0.5, 0.05))
    assert not a.saddle and "no saddle in V (the volume term removes it)" in a.reasons
    assert not any(r.startswith("volume fraction") for r in a.reasons)
    x2 = el.assumptions(_P3, 0.05, _sigma(_P3, 2.0, 0.05))      # x = 2 up to rounding
    assert not any(r.startswith("Delta L") for r in x2.reasons)


def test_past_reads_different_from_the_limit():
    assert el._past(0.608, 0.5) == "0.608"
    assert el._past(0.60834, 0.5) == "0.608"        # three digits when they suffice
    assert el._past(0.25000001, 0.25) == "0.25000001"
    assert el._past(2.0, 2.0) == repr(2.0)


def test_saddle_factor_in_three_dimensions_against_the_uncoupled_and_the_two_d_limits():
    """The d = 3 normalisation of cap_trial = 2 (2 pi)^(d/2 - 1) |S| / sqrt|det H| (the
    (2 pi)^(1/2) only d = 3 sees) against two independent limits, each with a 3-D Krylov
    subspace: (i) a coupling of 1e-3 to both stable coordinates: by the Dirichlet principle
    the equilibrium potential tends to the 1-D trial h(y_0) as the coupling vanishes, so the
    finite-difference flux (a numerical sum of e^-U over the grid) must equal the closed
    form, kappa = 1 + O(coupling^2); (ii) stable eigenvalues 0.5 and 0.5 + 1e-4 with the
    coupling (b, b): at 0.5, 0.5 the vector (b, b) is an eigenvector of the a-block and the
    problem is the 2-D one with coupling b sqrt 2 (no (2 pi)^(1/2) there), continuous in the
    split.  Tolerance 1 %: the solves' own error (the 3-D steps 0.6, 0.45) is ~0.1 %."""
    e = 1e-3
    H = np.array([[-0.3, e, e], [e, 0.5, 0.0], [e, 0.0, 0.9]])
    assert el._krylov(H).shape == (3, 3)
    assert abs(el.saddle_factor(H) - 1.0) < 1e-2
    b = 0.25
    H = np.array([[-0.3, b, b], [b, 0.5, 0.0], [b, 0.0, 0.5 + 1e-4]])
    assert el._krylov(H).shape == (3, 3)
    H2 = np.array([[-0.3, b * math.sqrt(2)], [b * math.sqrt(2), 0.5]])
    k2 = el.saddle_factor(H2)
    assert k2 > 1.1                                       # a real coupling, not the trivial limit
    assert math.isclose(el.saddle_factor(H), k2, rel_tol=1e-2)


def test_krylov_breakdown_tolerance_is_relative_to_at_least_one():
    """The breakdown test is nv <= 1e-10 max(1, |H|_max): for |H| < 1 the floor 1 applies,
    so a coupling of 1.5e-10 is kept (a 2-D subspace) and 0.5e-10 is dropped."""
    assert el._krylov(np.array([[-0.3, 1.5e-10], [1.5e-10, 0.5]])).shape == (2, 2)
    assert el._krylov(np.array([[-0.3, 0.5e-10], [0.5e-10, 0.5]])).shape == (2, 1)


def test_one_d_time_at_a_high_barrier_does_not_overflow():
    """Delta L / T = 100 on the p = 3 teacher: l(theta_s) / T = 4.6 x = 460, so W must be
    shifted by l(theta_s) before exponentiating (e^(2 l_s / T) alone would overflow) and the
    time still agrees with the cumulative Simpson quadrature."""
    prob, eta, x = _P3, 0.1, 100.0
    s = _sigma(prob, x, eta)
    t = eta * s * s / 2
    assert 2 * float(T.reduced_loss(prob, T.saddle_theta(prob))) / t > 710   # e^that overflows
    got = el.escape_time_terms(prob, eta, s, method="1d").steps_1d
    assert math.isfinite(got)
    assert math.isclose(got, _one_d_by_simpson(prob, t, 1) / eta, rel_tol=1e-6)
