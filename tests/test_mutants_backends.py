"""The number systems of ``verified_pgd/backends.py`` checked directly, element by element,
against mpmath at a much higher precision (found by mutation testing, docs/testing.md,
"Mutation testing": the formulas tests reach the backends only through whole loss values,
which left the object backends' elementwise functions, ``safe_div`` at zero, the mpmath
series' stopping rule and fallback, and ``teacher`` unchecked)."""
import math

import flint
import mpmath
import numpy as np
import pytest

from verified_pgd import backends
from verified_pgd.backends import Arb, Float64, MPMath
from verified_pgd.problem import Problem


def _h_ref(theta, dps=120):
    """h(theta) = sin(theta) - theta cos(theta), direct, at dps digits: the cancellation
    costs about log10(3 / theta^2) digits, far fewer than the margin kept here."""
    with mpmath.workdps(dps):
        t = mpmath.mpf(theta)
        return mpmath.sin(t) - t * mpmath.cos(t)


# --------------------------------------------------------------------------- Float64

_THETAS = [0.0, 1e-300, 1e-8, 1e-3, 0.3, 0.999, 1.0, 1.5, 2.0, 3.0, math.pi]


def test_float64_h_accurate_on_mixed_batches():
    """One array mixing the series (theta < 1) and the direct branch: every element within
    a few ulps of the reference (the direct formula would lose all digits at 1e-8)."""
    th = np.array(_THETAS)
    got = Float64.h(th)
    assert got.dtype == np.float64 and got.shape == th.shape
    for t, g in zip(_THETAS, got):
        ref = _h_ref(t)
        assert abs(mpmath.mpf(float(g)) - ref) <= 4 * 2.0 ** -52 * abs(ref), t


def test_float64_h_computes_in_float64_for_float32_input():
    th = np.array([0.5, 1.5, 2.5], dtype=np.float32)
    got = Float64.h(th)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, Float64.h(th.astype(np.float64)))


def test_float64_h_scalar_and_convert():
    v = Float64.h_scalar(0.25)
    assert np.ndim(v) == 0 and v == Float64.h(np.array([0.25]))[0]
    c = Float64.convert(3)
    assert type(c) is np.float64 and c == 3.0


def test_float64_asarray_is_float64():
    x = Float64.asarray([1, 2, 3])
    assert x.dtype == Float64.dtype == np.float64


def test_float64_safe_div_is_num_over_den_and_zero_at_zero():
    """Batched t t^T / |t|: a (3, 2, 2) numerator over a (3, 1, 1) denominator with one
    zero, one exactly-one and one other denominator."""
    rng = np.random.default_rng(0)
    num = rng.normal(size=(3, 2, 2))
    den = np.array([0.0, 1.0, 0.37]).reshape(3, 1, 1)
    got = Float64.safe_div(num, den)
    assert got.dtype == np.float64 and got.shape == (3, 2, 2)
    np.testing.assert_array_equal(got[0], np.zeros((2, 2)))
    np.testing.assert_array_equal(got[1], num[1])
    np.testing.assert_array_equal(got[2], num[2] / 0.37)


def test_float64_dot_is_rowwise():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(2, 3, 4))
    got = Float64.dot(x, y)
    assert got.shape == (3,)
    np.testing.assert_allclose(got, [float(np.dot(x[i], y[i])) for i in range(3)], rtol=1e-14)


# --------------------------------------------------------------------------- MPMath

def _mp_array(vals):
    return np.array([mpmath.mpf(v) for v in vals], dtype=object)


def test_mpmath_elementwise_functions_match_mpmath_scalars():
    B = MPMath()
    xs = [0.25, 1.0, 2.5]
    with B.workdps(40):
        x = _mp_array(xs)
        y = _mp_array([-1.0, 0.5, 3.0])
        for name, f in [("sin", mpmath.sin), ("cos", mpmath.cos), ("sqrt", mpmath.sqrt)]:
            got = getattr(B, name)(x)
            assert got.dtype == object and all(g == f(v) for g, v in zip(got, x)), name
        got = B.atan2(y, x)
        assert all(g == mpmath.atan2(a, b) for g, a, b in zip(got, y, x))
        assert B.pi == mpmath.pi and mpmath.mp.dps == 40


@pytest.mark.parametrize("dps", [30, 60])
@pytest.mark.parametrize("theta", [0.0, 1e-20, 1e-5, 0.1, 0.5, 0.999, 1.0, 1.7, 3.0])
def test_mpmath_h_to_working_precision(dps, theta):
    """The series (theta < 1) and the direct formula, each to the working precision,
    including tiny theta where the direct formula would cancel away every digit."""
    B = MPMath()
    ref = _h_ref(theta, dps=dps + 60)
    with B.workdps(dps):
        got = B.h(_mp_array([theta]))[0]
        scalar = B.h_scalar(mpmath.mpf(theta))
        assert got == scalar
    with mpmath.workdps(dps + 60):
        assert abs(got - ref) <= mpmath.mpf(10) ** (2 - dps) * abs(ref)


def test_mpmath_h_falls_back_to_direct_at_very_high_precision():
    """At 300 digits theta = 0.99 needs more than the 39 tabulated terms: the fallback
    (the direct formula, which at theta ~ 1 loses under one digit) must be right."""
    B = MPMath()
    ref = _h_ref(0.99, dps=400)
    with B.workdps(300):
        got = B.h_scalar(mpmath.mpf(0.99))
    with mpmath.workdps(400):
        assert abs(got - ref) <= mpmath.mpf(10) ** -297 * abs(ref)


def test_mpmath_safe_div_and_dot_and_eye():
    B = MPMath()
    with B.workdps(30):
        num = _mp_array([1.0, 2.0, 3.0])
        den = _mp_array([0.0, 1.0, 4.0])
        got = B.safe_div(num, den)
        assert list(got) == [mpmath.mpf(0), mpmath.mpf(2), mpmath.mpf(3) / 4]
        x = np.array([_mp_array([1, 2, 3]), _mp_array([4, 5, 6])], dtype=object)
        assert list(B.dot(x, x)) == [14, 77]
        e = B.eye(3)
        assert e.dtype == object and e.shape == (3, 3)
        assert all(isinstance(v, mpmath.mpf) for v in e.ravel())
        assert [[float(v) for v in row] for row in e] == np.eye(3).tolist()
        assert B.asarray([1.0, 2.0]).dtype == B.dtype == object


def test_mpmath_workprec_sets_and_restores_bits():
    B = MPMath()
    before = mpmath.mp.prec
    with B.workprec(200):
        assert mpmath.mp.prec == 200
        assert B.convert(0.1) == mpmath.mpf(0.1)
    assert mpmath.mp.prec == before


# --------------------------------------------------------------------------- Arb

def test_arb_elementwise_functions_enclose_mpmath_values():
    B = Arb()
    with B.workdps(40):
        xs = [0.25, 1.0, 2.5]
        x = np.array([B.convert(v) for v in xs], dtype=object)
        for name, f in [("sin", mpmath.sin), ("cos", mpmath.cos), ("sqrt", mpmath.sqrt),
                        ("h", lambda t: mpmath.sin(t) - t * mpmath.cos(t))]:
            got = getattr(B, name)(x)
            for g, v in zip(got, xs):
                with mpmath.workdps(80):
                    ref = f(mpmath.mpf(v))
                    mid, rad = mpmath.mpf(g.mid().str(60, radius=False)), mpmath.mpf(g.rad().str(5, radius=False))
                    assert abs(mid - ref) <= rad + mpmath.mpf(10) ** -55, (name, v)
                    assert rad < mpmath.mpf(10) ** -35, (name, v)
        y = np.array([B.convert(-1.0)], dtype=object)
        got = B.atan2(y, x[:1])[0]
        assert got.contains(flint.arb.atan2(B.convert(-1.0), B.convert(0.25)))
        assert B.h_scalar(x[0]).overlaps(B.h(x[:1])[0])
        assert B.h_scalar(x[2]).contains(B.h(x[2:])[0])


def test_arb_safe_div_encloses_the_limit_at_zero():
    """|t t^T|_ij / |t| <= |t| -> 0: a denominator ball containing 0 gives [0 +/- |den|]
    (finite, centred at 0, covering the ball); an exact 0 gives 0; a positive one num/den."""
    B = Arb()
    num = np.array([flint.arb(3), flint.arb(3), flint.arb(3), flint.arb(3)], dtype=object)
    den = np.array([flint.arb(0), flint.arb(0, 1e-10), flint.arb(0.5), flint.arb(2.0)],
                   dtype=object)
    got = B.safe_div(num, den)
    assert got[0].mid() == 0 and got[0].rad() == 0
    assert got[1].mid() == 0 and got[1].is_finite()
    assert got[1].contains(flint.arb(1e-10)) and got[1].contains(flint.arb(-1e-10))
    assert got[2] == flint.arb(6) and got[3] == flint.arb(1.5)


def test_arb_constants_and_precision():
    B = Arb()
    assert B.zero() == 0 and B.zero().rad() == 0 and B.one() == 1 and B.one().rad() == 0
    assert B.convert(0.1).mid() == flint.arb(0.1).mid() and B.convert(0.1).rad() == 0
    e = B.eye(2)
    assert e.shape == (2, 2) and all(isinstance(v, flint.arb) for v in e.ravel())
    assert all(e[i, j] == (1 if i == j else 0) and e[i, j].rad() == 0
               for i in range(2) for j in range(2))
    before = flint.ctx.prec
    with B.workprec(300):
        assert flint.ctx.prec == 300
    with B.workdps(50):
        assert flint.ctx.dps == 50
    assert flint.ctx.prec == before


# --------------------------------------------------------------------------- get, teacher

def test_get_names_and_instances():
    assert type(backends.get("float64")) is Float64
    assert type(backends.get("mpmath")) is MPMath and type(backends.get("mp")) is MPMath
    assert type(backends.get("arb")) is Arb
    b = MPMath()
    assert backends.get(b) is b
    for bad in ["numpy", 64, None, b"arb"]:
        with pytest.raises(ValueError, match=r"^backend: must be one of 'float64', 'mpmath', "
                                             r"'arb', got " + repr(bad).replace("(", r"\(")
                                             .replace(")", r"\)") + "$"):
            backends.get(bad)


_PROB = Problem(np.array([0.6, -1.2, 0.25, 2.0]), np.array([0.7, -0.4, 1.3]))


def test_teacher_float64_fields():
    T = backends.teacher(Float64(), _PROB)
    w, a = np.array([0.6, -1.2, 0.25, 2.0]), np.array([0.7, -0.4, 1.3])
    assert T.w_hat_star.dtype == np.float64 and T.a_star.dtype == np.float64
    np.testing.assert_allclose(T.w_hat_star, w / np.linalg.norm(w), rtol=1e-15)
    np.testing.assert_array_equal(T.a_star, a)
    assert math.isclose(T.s, math.sqrt(math.fsum(w * w)), rel_tol=1e-15)
    assert math.isclose(T.s2, math.fsum(w * w), rel_tol=1e-15)
    assert math.isclose(T.A, math.fsum(a * a), rel_tol=1e-15)
    assert math.isclose(T.S, math.fsum(a), rel_tol=1e-15)
    assert T.pi == math.pi and (T.k, T.p) == (3, 4)


@pytest.mark.parametrize("B", [MPMath(), Arb()], ids=["mpmath", "arb"])
def test_teacher_object_fields(B):
    w, a = [0.6, -1.2, 0.25, 2.0], [0.7, -0.4, 1.3]
    with B.workdps(50):
        T = backends.teacher(B, _PROB)
    with mpmath.workdps(80):
        W, A_ = [mpmath.mpf(x) for x in w], [mpmath.mpf(x) for x in a]
        s2 = mpmath.fsum(x * x for x in W)
        want = {"s2": s2, "s": mpmath.sqrt(s2), "A": mpmath.fsum(x * x for x in A_),
                "S": mpmath.fsum(A_), "pi": mpmath.pi}

        def val(x):
            return mpmath.mpf(x) if isinstance(x, mpmath.mpf) else mpmath.mpf(x.mid().str(70, radius=False))

        for name, ref in want.items():
            assert abs(val(getattr(T, name)) - ref) <= mpmath.mpf(10) ** -45 * abs(ref), name
        for got, x in zip(T.w_hat_star, W):
            assert abs(val(got) - x / want["s"]) <= mpmath.mpf(10) ** -45
        assert [val(x) for x in T.a_star] == A_
    assert T.w_hat_star.dtype == object and T.a_star.dtype == object
    assert (T.k, T.p) == (3, 4)


def test_float64_safe_div_never_divides_by_zero():
    """'safe': the zero denominators are replaced before the division, so no division by
    zero happens (callers may run under np.errstate(divide='raise'))."""
    num = np.array([[1.0, 2.0], [3.0, 4.0]])
    den = np.array([[0.0], [1.0]])
    with np.errstate(divide="raise", invalid="raise"):
        got = Float64.safe_div(num, den)
    np.testing.assert_array_equal(got, [[0.0, 0.0], [3.0, 4.0]])
