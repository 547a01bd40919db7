"""Bad input is refused at the boundary (docs/design.md section 8): ValueError/TypeError whose
message starts with the name of the offending parameter, for Problem and every public
evaluator (float64 and mpmath)."""
import math

import numpy as np
import pytest

import verified_pgd as vp

PROB = vp.Problem([1.0, 0.5, -0.2], [1.0, -0.5])   # p = 3, k = 2
W = [0.3, -0.2, 0.9]
A = [0.5, 0.7]

# name -> callable(prob, w, a); theta ignores a.
EVALUATORS = {
    "loss": lambda prob, w, a: vp.loss(prob, w, a),
    "grad": lambda prob, w, a: vp.grad(prob, w, a),
    "grad riemannian": lambda prob, w, a: vp.grad(prob, w, a, riemannian=True),
    "hessian": lambda prob, w, a: vp.hessian(prob, w, a),
    "theta": lambda prob, w, a: vp.theta(prob, w),
    "loss_mp": lambda prob, w, a: vp.loss_mp(prob, w, a, dps=20),
    "grad_mp": lambda prob, w, a: vp.grad_mp(prob, w, a, dps=20),
    "hessian_mp": lambda prob, w, a: vp.hessian_mp(prob, w, a, dps=20),
}
FLOAT_ONLY = {"loss", "grad", "grad riemannian", "hessian", "theta"}
MP = {"loss_mp", "grad_mp", "hessian_mp"}

NAN, INF = math.nan, math.inf


def _raises_naming(param, fn, *args, **kwargs):
    with pytest.raises((ValueError, TypeError)) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert msg.startswith(f"{param}:") or msg.startswith(f"{param},"), msg
    assert "\n" not in msg  # the CLI prints it as one line
    return info


def test_valid_input_is_accepted():
    """The baseline every case below perturbs (so a rejection is caused by the change)."""
    for fn in EVALUATORS.values():
        fn(PROB, W, A)


# --------------------------------------------------------------------------- w and a

W_CASES = {
    "w = 0": [0.0, 0.0, 0.0],
    "NaN": [NAN, 1.0, 0.0],
    "inf": [0.0, INF, 0.0],
    "-inf": [0.0, 0.0, -INF],
    "too long": [1.0, 2.0, 3.0, 4.0],
    "too short": [1.0, 2.0],
    "empty": [],
    "scalar": 1.0,
    "string": "1 2 3",
    "None": None,
    "dict": {"x": 1.0, "y": 2.0, "z": 3.0},
    "dict with numeric keys": {1.0: 0.0, 2.0: 0.0, 3.0: 0.0},
    "set": {1.0, 2.0, 3.0},
    "non-numeric element": [1.0, "two", 3.0],
    "None element": [1.0, None, 3.0],
    "complex": np.array([1 + 1j, 0.0, 0.0]),
    "object": object(),
    "ragged": [[1.0, 2.0, 3.0], [1.0, 2.0]],
}
A_CASES = {
    "NaN": [NAN, 1.0],
    "inf": [INF, 1.0],
    "too long": [1.0, 2.0, 3.0],
    "too short": [1.0],
    "empty": [],
    "string": "ab",
    "None": None,
    "dict": {"a": 1.0, "b": 2.0},
    "complex": np.array([1.0, 2j]),
}


@pytest.mark.parametrize("fn_name", sorted(EVALUATORS))
@pytest.mark.parametrize("case", sorted(W_CASES))
def test_bad_w(fn_name, case):
    _raises_naming("w", EVALUATORS[fn_name], PROB, W_CASES[case], A)


@pytest.mark.parametrize("fn_name", sorted(set(EVALUATORS) - {"theta"}))
@pytest.mark.parametrize("case", sorted(A_CASES))
def test_bad_a(fn_name, case):
    _raises_naming("a", EVALUATORS[fn_name], PROB, W, A_CASES[case])


@pytest.mark.parametrize("fn_name", sorted(FLOAT_ONLY))
def test_batched_w_zero_or_nan_anywhere(fn_name):
    W_batch = np.array([W, W, W])
    for bad in (np.zeros(3), np.array([1.0, NAN, 0.0]), np.array([INF, 0.0, 0.0])):
        Wb = W_batch.copy()
        Wb[1] = bad
        _raises_naming("w", EVALUATORS[fn_name], PROB, Wb, A)


@pytest.mark.parametrize("fn_name", sorted(FLOAT_ONLY - {"theta"}))
def test_batch_shapes_that_do_not_broadcast(fn_name):
    _raises_naming("w", EVALUATORS[fn_name], PROB, np.ones((2, 3)), np.ones((3, 2)))


@pytest.mark.parametrize("fn_name", sorted(FLOAT_ONLY))
def test_norm_overflow_is_refused_not_nan(fn_name):
    _raises_naming("w", EVALUATORS[fn_name], PROB, [1e200, 1e200, 0.0], A)


@pytest.mark.parametrize("fn_name", sorted(MP))
def test_mp_functions_are_not_batched(fn_name):
    _raises_naming("w", EVALUATORS[fn_name], PROB, [W, W], A)


# --------------------------------------------------------------------------- prob

@pytest.mark.parametrize("fn_name", sorted(EVALUATORS))
@pytest.mark.parametrize("prob", [None, "prob", {"w_star": [1.0], "a_star": [1.0]}, ([1.0], [1.0])])
def test_prob_must_be_a_problem(fn_name, prob):
    _raises_naming("prob", EVALUATORS[fn_name], prob, W, A)


# --------------------------------------------------------------------------- Problem

GOOD_W_STAR, GOOD_A_STAR = [1.0, 0.0], [1.0, -1.0]


@pytest.mark.parametrize("param, w_star, a_star", [
    ("w_star", [0.0, 0.0], GOOD_A_STAR),             # s = 0
    ("w_star", [NAN, 1.0], GOOD_A_STAR),
    ("w_star", [INF, 1.0], GOOD_A_STAR),
    ("w_star", [], GOOD_A_STAR),                     # p = 0
    ("w_star", [[1.0, 0.0]], GOOD_A_STAR),           # not 1-D
    ("w_star", 1.0, GOOD_A_STAR),
    ("w_star", "1,0", GOOD_A_STAR),
    ("w_star", None, GOOD_A_STAR),
    ("w_star", {"x": 1.0}, GOOD_A_STAR),
    ("w_star", np.array([1j, 1.0]), GOOD_A_STAR),
    ("w_star", [1e200, 1e200], GOOD_A_STAR),         # |w_star| overflows
    ("a_star", GOOD_W_STAR, []),                     # k = 0
    ("a_star", GOOD_W_STAR, [NAN, 1.0]),
    ("a_star", GOOD_W_STAR, [1.0, -INF]),
    ("a_star", GOOD_W_STAR, [[1.0], [2.0]]),
    ("a_star", GOOD_W_STAR, "ab"),
    ("a_star", GOOD_W_STAR, None),
    ("a_star", GOOD_W_STAR, {1: 2.0}),
])
def test_bad_problem(param, w_star, a_star):
    _raises_naming(param, vp.Problem, w_star, a_star)


def test_problem_accepts_good_input():
    prob = vp.Problem(GOOD_W_STAR, GOOD_A_STAR)
    assert (prob.p, prob.k, prob.s) == (2, 2, 1.0)


# --------------------------------------------------------------------------- dps

@pytest.mark.parametrize("fn", [vp.loss_mp, vp.grad_mp, vp.hessian_mp])
@pytest.mark.parametrize("dps, exc", [
    (14, ValueError), (0, ValueError), (-50, ValueError),      # below float64's precision
    (20.5, TypeError), (30.0, TypeError), ("50", TypeError), (None, TypeError),
    (True, TypeError),
])
def test_bad_dps(fn, dps, exc):
    info = _raises_naming("dps", fn, PROB, W, A, dps=dps)
    assert info.type is exc


@pytest.mark.parametrize("fn", [vp.loss_mp, vp.grad_mp, vp.hessian_mp])
def test_smallest_dps_and_numpy_integers_are_accepted(fn):
    fn(PROB, W, A, dps=15)
    fn(PROB, W, A, dps=np.int64(20))
