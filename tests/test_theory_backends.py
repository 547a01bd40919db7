"""Theory written once over the backends: the same closed form in float64, mpmath and
arb agrees, arb encloses the other two, and the claims' arb enclosures equal those of the
hand derivation they replaced (kept below as an independent restatement)."""
import math

import mpmath
import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import backends, theory
from verified_pgd.claims import evaluation
from verified_pgd.theory import closed_forms as cf

PROBLEMS = [vp.Problem([1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, -1.0]),
            vp.Problem([0.3, -1.7, 0.2], [0.5, -0.25, 1.5, -0.7, 0.1]),
            vp.Problem([2.0], [1.0, -1.0])]


def _hand_arb_landscape(problem):
    """The claims module's former hand derivation (verbatim arithmetic), as a reference."""
    import flint
    with flint.ctx.workprec(200):
        a = [flint.arb(float(x)) for x in problem.a_star]
        w = [flint.arb(float(x)) for x in problem.w_star]
        A = sum(x * x for x in a)
        S = sum(a)
        s2 = sum(x * x for x in w)
        pi = flint.arb.pi()
        k = problem.k
        den = (k + pi - 1) * A - S * S
        alpha = den / ((pi - 1) * (k + pi - 1))
        ev = [(k + pi - 1) / (2 * pi)]
        if k >= 2:
            ev.append((pi - 1) / (2 * pi))
        if problem.p >= 2:
            ev.append(s2 * A / 2)
        down = [evaluation._down(e) for e in ev]
        up = [evaluation._up(e) for e in ev]
        res = {"mu": (min(down), min(up)), "lam_max": (max(down), max(up))}
        if theory.has_spurious_minimum(problem):
            g_s = 1 - (pi - 1) * S * S / den
            for key, v in (("barrier", s2 * alpha * g_s * g_s / (4 * pi)),
                           ("saddle_loss", s2 * alpha * (pi - g_s) ** 2 / (4 * pi)),
                           ("spurious_loss", s2 * alpha * (pi - 2 * g_s) / 4)):
                res[key] = (evaluation._down(v), evaluation._up(v))
        return res


@pytest.mark.parametrize("problem", PROBLEMS)
def test_claims_enclosures_equal_the_former_hand_derivation(problem):
    assert evaluation._arb_landscape(problem) == _hand_arb_landscape(problem)


def test_hand_reference_detects_a_changed_teacher():
    """Negative control: the comparison above is not vacuous."""
    p = PROBLEMS[0]
    q = vp.Problem(p.w_star, np.asarray(p.a_star) * (1 + 2 ** -40))
    assert evaluation._arb_landscape(q) != _hand_arb_landscape(p)


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("name", ["barrier", "g_s", "alpha"])
def test_one_formula_in_three_number_systems(problem, name):
    f = getattr(theory, name)
    if name == "barrier" and not theory.has_spurious_minimum(problem):
        pytest.skip("no spurious minimum")
    x64 = f(problem)
    xmp = f(problem, dps=60)
    xarb = f(problem, backend="arb", dps=60)
    import flint
    with flint.ctx.workprec(400):
        ref = flint.arb(mpmath.nstr(xmp, 70))
        assert abs(xarb - ref) < flint.arb(10) ** -57
    assert xarb.rad() < 1e-55 * max(1.0, abs(float(xarb.mid())))
    assert math.isclose(float(xmp), x64, rel_tol=1e-14)
    # negative control: a different teacher's value is not in the ball
    a = np.array(problem.a_star)
    a[0] *= 1.001               # not a rescaling: g_s is scale-invariant in a*
    other = vp.Problem(problem.w_star, a)
    if name != "barrier" or theory.has_spurious_minimum(other):
        assert not xarb.overlaps(f(other, backend="arb", dps=60))


def test_precision_alias_prec_is_deprecated_but_accepted():
    p = PROBLEMS[0]
    with pytest.warns(DeprecationWarning, match="dps"):
        x = theory.barrier(p, backend="arb", prec=200)
    assert x.overlaps(theory.barrier(p, backend="arb", dps=60))
    with pytest.raises(ValueError, match="dps/prec"):
        theory.barrier(p, dps=30, prec=100)
    with pytest.raises(ValueError, match="backend"):
        theory.barrier(p, backend="quad")


def test_workprec_is_restored_on_exit():
    import flint
    before = flint.ctx.prec, mpmath.mp.prec
    theory.barrier(PROBLEMS[0], backend="arb", dps=80)
    theory.barrier(PROBLEMS[0], dps=80)
    assert (flint.ctx.prec, mpmath.mp.prec) == before


def test_teacher_float64_is_the_problems_own_floats():
    p = PROBLEMS[1]
    T = backends.teacher(backends.Float64(), p)
    assert np.array_equal(T.w_hat_star, p.w_hat_star) and T.s == p.s
    B = backends.get("arb")
    with B.workprec(120):
        Ta = backends.teacher(B, p)
        assert all(ball.contains(float(x)) for ball, x in zip(Ta.a_star, p.a_star))
        assert abs(float(cf.barrier(B, Ta).mid()) - theory.barrier(p)) <= 1e-14 * theory.barrier(p)
