"""verified_pgd.strategies generate what they promise, checked against independent
computations (the exact spurious-minimum test, the theory module's critical points, the
gradient), plus a negative control on the construction's boundary."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import verified_pgd as vp
from verified_pgd import strategies as vst
from verified_pgd import theory
from verified_pgd.schedule import Schedule


@given(vst.problems(spurious=True))
def test_spurious_true_problems_have_a_spurious_minimum(prob):
    assert theory.has_spurious_minimum(prob)
    assert theory.barrier(prob) > 0
    a, k = prob.a_star, prob.k
    assert math.pi * a.sum() ** 2 < (k + math.pi - 1) * (a @ a)    # docs/design.md section 3


@given(vst.problems(spurious=False))
def test_spurious_false_problems_have_none(prob):
    assert not theory.has_spurious_minimum(prob)
    with pytest.raises(ValueError, match="a_star"):
        theory.spurious_minimum(prob)


@given(vst.problems(k=5, p=3, s=st.floats(0.7, 0.9), a_norm=2.5))
def test_sizes_are_respected(prob):
    assert prob.k == 5 and prob.p == 3
    assert 0.7 * (1 - 1e-15) <= prob.s <= 0.9 * (1 + 1e-15)     # |s * unit vector|, rounded
    assert np.linalg.norm(prob.a_star) == pytest.approx(2.5, rel=1e-12)


@pytest.mark.parametrize("frac, expected", [(1 - 1e-9, True), (1 + 1e-9, False)])
def test_negative_control_construction_boundary_is_the_design_condition(frac, expected):
    # a* = c 1/sqrt(k) + v (v orthogonal to 1, |v| = 1): the landscape flips at c = c_max.
    k = 4
    one = np.ones(k) / 2.0
    v = np.array([1.0, -1.0, 0.0, 0.0]) / math.sqrt(2)
    c = frac * vst._c_max_ratio(k)
    prob = vp.Problem([1.0, 0.0, 0.0], c * one + v)
    assert theory.has_spurious_minimum(prob) is expected


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="spurious"):
        vst.problems(spurious="yes").example()
    with pytest.raises(ValueError, match="k"):
        vst.problems(k=1, spurious=True).example()
    with pytest.raises(ValueError, match="kind"):
        vst.initialisations(vp.Problem.default(), kind="nowhere").example()
    with pytest.raises(ValueError, match="kind"):
        vst.initialisations(vp.Problem([1.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]),
                            kind="saddle").example()
    with pytest.raises(ValueError, match="low, high"):
        vst.step_sizes(vp.Problem.default(), 0.5, 1.0)


SPURIOUS = vst.problems(k=st.integers(2, 5), p=st.integers(2, 5), spurious=True)


def _riemannian_grad_norm(prob, w, a):
    g_w, g_a = vp.grad(prob, w, a, riemannian=True)
    return float(np.linalg.norm(g_w)), float(np.linalg.norm(g_a))


@given(st.data())
def test_each_initialisation_kind_is_what_it_says(data):
    prob = data.draw(SPURIOUS)
    kind = data.draw(st.sampled_from(vst.STATE_KINDS))
    init = data.draw(vst.initialisations(prob, kind=kind))
    assert init.kind == kind
    assert init.w.shape == (prob.p,) and init.a.shape == (prob.k,)
    assert np.all(np.isfinite(init.w)) and np.all(np.isfinite(init.a))
    sa = prob.s * np.linalg.norm(prob.a_star)
    th = float(vp.theta(prob, init.w))
    if kind == "spurious":
        sp = theory.spurious_minimum(prob)
        assert np.array_equal(init.w, np.asarray(sp.w, float))
        assert np.array_equal(init.a, np.asarray(sp.a, float))
        gw, ga = _riemannian_grad_norm(prob, init.w, init.a)
        assert gw <= 1e-12 and ga <= 1e-12 * max(1, sa)
    elif kind == "near_spurious":
        sp = theory.spurious_minimum(prob)
        d = math.hypot(np.linalg.norm(init.w - sp.w), np.linalg.norm(init.a - sp.a))
        assert 0 < d <= 2e-3
    elif kind == "saddle":
        assert th == pytest.approx(theory.saddle_theta(prob), abs=1e-9)
        assert np.allclose(init.a, np.asarray(theory.saddle(prob).a, float), atol=1e-15)
        gw, ga = _riemannian_grad_norm(prob, init.w, init.a)     # a critical point
        assert gw <= 1e-9 * max(1, sa) and ga <= 1e-9 * max(1, sa)
    elif kind == "large_a":
        assert np.linalg.norm(init.a) >= 10 * sa * (1 - 1e-12)
    elif kind == "antipodal":
        assert th == math.pi
        gw, _ = _riemannian_grad_norm(prob, init.w, init.a)      # GD cannot move w here
        assert gw == 0.0
    else:
        assert np.linalg.norm(init.w) == pytest.approx(1.0, abs=1e-12)


@given(st.data())
def test_no_spurious_problem_kinds_exclude_the_spurious_ones(data):
    prob = data.draw(vst.problems(spurious=False))
    init = data.draw(vst.initialisations(prob))
    assert init.kind in ("uniform", "large_a", "antipodal")


@given(st.data())
def test_step_sizes_lie_in_the_stable_range(data):
    prob = data.draw(vst.problems())
    eta = data.draw(vst.step_sizes(prob))
    lo, hi = theory.stable_step_range(prob)
    assert lo < eta < vst.eta_max(prob) < hi
    assert theory.basin_contraction_factor(prob, eta) < 1
    assert theory.contraction_factor(prob, eta) < 1


@given(vst.schedules(max_stages=5, sigma_max=2.0, max_steps=50))
def test_schedules_are_valid_annealing(sched):
    sig = [st.sigma_w for st in sched.stages]
    assert all(x >= y for x, y in zip(sig, sig[1:]))
    assert 0 <= min(sig) and max(sig) <= 2.0
    assert isinstance(sched, Schedule) and 1 <= sched.total_steps <= 250


@given(vst.schedules(final_zero=True))
def test_final_zero_schedules_end_without_noise(sched):
    assert sched.stages[-1].sigma_w == 0.0


@given(vst.schedules(final_zero=False))
def test_final_zero_false_schedules_end_with_noise(sched):
    assert sched.stages[-1].sigma_w > 0.0


@settings(max_examples=10)
@given(vst.cases())
def test_cases_compose(case):
    prob, init, eta = case
    assert theory.has_spurious_minimum(prob)
    assert 0 < eta < vst.eta_max(prob)
    assert init.kind in vst.STATE_KINDS
