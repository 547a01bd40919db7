"""theta_s, the saddle and the Hessian spectrum in arb: each ball contains the value that
mpmath computes at a much higher precision (an independent algorithm: bisection / eigsy
on the generic mp Hessian), has a radius > 0 where rounding happened, and the
containment test rejects a zero-radius or shifted ball (negative controls)."""
import flint
import mpmath
import numpy as np
import pytest

import verified_pgd as vp
from proofs_check import ball_certs
from proofs_check.prover import random_problems
from verified_pgd import backends, formulas, theory
from verified_pgd.theory import constants

HIGH = 120      # digits of the mpmath reference (the arb balls are at 50)
PROBLEMS = [vp.Problem([1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, -1.0])] + random_problems(2, seed=7)


def _exact(x):
    """The exact arb of an mpf (no rounding)."""
    sign, man, exp, _ = x._mpf_      # not mpmath.mpf(x): that rounds to mp.dps
    with flint.ctx.workprec(max(64, int(man).bit_length() + 8)):
        return +flint.arb((-int(man) if sign else int(man), int(exp)))


def _encloses(ball, ref):
    """ball contains the mp reference, and the two controls are rejected."""
    assert ball.rad() > 0
    exact = _exact(ref)
    assert exact.rad() == 0
    assert ball.contains(exact)
    # Negative controls: the ball shifted by 3 radii, and (unless the value is a short
    # dyadic such as 2 = s^2 |a*|^2 / 2, which a midpoint can hit) the midpoint alone.
    with flint.ctx.workprec(2000):
        if int(ref._mpf_[1]).bit_length() > 64:
            assert not flint.arb(ball.mid()).contains(exact)
        assert not flint.arb(ball.mid() + 3 * ball.rad(), ball.rad()).contains(exact)


@pytest.mark.parametrize("problem", PROBLEMS)
def test_arb_theta_s_contains_the_high_precision_root(problem):
    ball = theory.saddle_theta(problem, backend="arb")
    _encloses(ball, theory.saddle_theta(problem, dps=HIGH))
    assert ball.rad() < flint.arb(10) ** -45      # at 50 digits, not merely [0, pi]


@pytest.mark.parametrize("problem", PROBLEMS)
def test_arb_saddle_contains_the_high_precision_saddle(problem):
    sa, ref = theory.saddle(problem, backend="arb"), theory.saddle(problem, dps=HIGH)
    _encloses(sa.theta, ref.theta)
    _encloses(sa.loss, ref.loss)
    for b, r in zip(list(sa.w) + list(sa.a), list(ref.w) + list(ref.a)):
        if r == 0:      # an exact zero coordinate of w_hat* (and of v): exact in arb too
            assert b.contains(0)
            continue
        _encloses(b, r)


@pytest.mark.parametrize("problem", PROBLEMS)
def test_arb_hessian_spectrum_contains_the_high_precision_eigenvalues(problem):
    sp, ref = theory.hessian_spectrum(problem, backend="arb"), theory.hessian_spectrum(problem, dps=HIGH)
    assert len(sp.eigenvalues) == len(ref.eigenvalues) == problem.p - 1 + problem.k
    for b, r in zip(sp.eigenvalues, ref.eigenvalues):
        _encloses(b, r)
    _encloses(sp.mu, ref.mu)
    _encloses(sp.lam_max, ref.lam_max)


def test_symmetric_eigenvalue_enclosure_of_a_clustered_matrix():
    """A random orthogonal conjugate of diag(1, 1, 1, 2, 3 + 1e-30): triple and near-double
    eigenvalues (flint's acb_mat.eig does not isolate these)."""
    B = backends.get("arb")
    rng = np.random.default_rng(3)
    with mpmath.workdps(150):
        Q, _ = mpmath.qr(mpmath.matrix(rng.normal(size=(5, 5)).tolist()))
        D = mpmath.diag([1, 1, 1, 2, 3 + mpmath.mpf(10) ** -30])
        A = Q * D * Q.T
        A = (A + A.T) / 2
        ref = sorted(mpmath.eigsy(A, eigvals_only=True))
        with B.workdps(50):
            H = np.array([[_exact(A[r, c]) for c in range(5)] for r in range(5)], dtype=object)
            ev = constants.symmetric_eigenvalues_arb(B, H)
            for b, r in zip(ev, ref):
                _encloses(b, r)
            # Negative control: a perturbed matrix's eigenvalues are not those of A.
            H2 = H.copy()
            H2[0, 0] = H2[0, 0] + flint.arb(10) ** -20
            ev2 = constants.symmetric_eigenvalues_arb(B, H2)
            assert not all(b.contains(_exact(r)) for b, r in zip(ev2, ref))


def test_generic_arb_hessian_at_the_optimum_is_finite_and_the_prover_check_bites():
    """At w = w_hat* the ball |w_hat - w_hat*|^2 contains 0: the arb sqrt and t t^T/|t| must
    stay finite (they gave nan, which made the prover's power-sum check vacuous)."""
    problem = PROBLEMS[1]
    B = backends.get("arb")
    with B.workdps(50):
        T = backends.teacher(B, problem)
        H = constants.tangent_hessian_in(B, T, T.w_hat_star.copy(), T.s * T.a_star)
        assert all(x.is_finite() for x in H.flat)
    old = flint.ctx.prec
    flint.ctx.prec = ball_certs.prec_bits(30)
    try:
        Tc = ball_certs.Teacher(problem)
        ev = sorted(Tc.spectrum(), key=ball_certs.to_fraction)
        ball_certs._check_power_sums(Tc, ev)
        wrong = ev[:-1] + [ev[-1] * (1 + flint.arb(10) ** -25)]
        with pytest.raises(ball_certs.ProofError, match="trace"):
            ball_certs._check_power_sums(Tc, wrong)
    finally:
        flint.ctx.prec = old


def test_arb_outer_over_norm_encloses_the_limit_and_nearby_values():
    """t t^T / |t| for a ball t around a small non-zero vector: the enclosure contains the
    exact value (the former tt * (1/|t|) with 1/|t| -> [-|t|, |t|] did not)."""
    B = backends.get("arb")
    with B.workprec(100):
        t = np.array([flint.arb(3e-12, 1e-11), flint.arb(-4e-12, 1e-11)], dtype=object)
        tt = t[:, None] * t[None, :]
        norm = B.sqrt((t * t).sum())
        out = B.outer_over_norm(tt, norm)
        exact = np.array([[9, -12], [-12, 16]]) * 1e-24 / 5e-12      # at t = (3, -4) 1e-12
        assert all(o.contains(flint.arb(float(e))) for o, e in zip(out.flat, exact.flat))
        old = tt * B.asarray(B.safe_div(1, norm))[..., None, None]
        assert not all(o.contains(flint.arb(float(e))) for o, e in zip(old.flat, exact.flat))


def test_arb_sqrt_of_a_negative_ball_stays_nan():
    B = backends.get("arb")
    assert not B.sqrt(np.array([flint.arb(-1)], dtype=object))[0].is_finite()
    assert B.sqrt(np.array([flint.arb(0, 1e-30)], dtype=object))[0].contains(0)


def test_loss_l2_is_the_loss_after_the_geometry_bitwise():
    rng = np.random.default_rng(0)
    p = vp.Problem(rng.normal(size=4), rng.normal(size=3))
    B = backends.get("float64")
    T = backends.teacher(B, p)
    w, a = rng.normal(size=(50, 4)), rng.normal(size=(50, 3))
    G = formulas.geometry(B, T.w_hat_star, w)
    assert np.array_equal(formulas.loss(B, T.w_hat_star, T.a_star, T.s, w, a),
                          formulas.loss_l2(B, T.a_star, T.s, G.u, G.delta, a))
