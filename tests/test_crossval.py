"""Solver cross-validation: every check passes on the real solvers and rejects a negative
control (wrong gradient in float64 only, mismatched noise stream, too-low precision,
biased mini-batch gradient)."""
import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import crossval
from verified_pgd.solver import numpy as f64_engine
from verified_pgd.checks import CheckResult, format_table

PROB = vp.Problem.default()
W0, A0 = crossval.basin_start(PROB)
SCHED = vp.Schedule([(0.05, 100), (0.0, 100)])


@pytest.fixture
def wrong_float64_gradient(monkeypatch):
    """g_a off by 1e-7 relative + 1e-9 absolute (so also at critical points), in the float64
    solver only (mp/arb untouched)."""
    real = f64_engine.f64_terms

    def fake(*args, **kw):
        g_w, g_a, theta, r = real(*args, **kw)
        return g_w, g_a * (1 + 1e-7) + 1e-9, theta, r

    monkeypatch.setattr(f64_engine, "f64_terms", fake)


def test_trajectory_check_passes_and_rejects_controls(monkeypatch):
    ok = crossval.trajectory_check(PROB, W0, A0, SCHED, 0.1, seed=1)
    assert isinstance(ok, CheckResult) and ok.passed and ok.max_error < 1e-12
    bad_noise = crossval.trajectory_check(PROB, W0, A0, SCHED, 0.1, seed=1, mp_seed=2)
    assert not bad_noise.passed
    comp = crossval.trajectory_check(PROB, W0, A0, SCHED, 0.1, seed=1, engine="compiled")
    assert comp.passed and comp.max_error < 1e-12
    assert not crossval.trajectory_check(PROB, W0, A0, SCHED, 0.1, seed=1, mp_seed=2,
                                         engine="compiled").passed


def test_trajectory_check_rejects_wrong_gradient(wrong_float64_gradient):
    assert not crossval.trajectory_check(PROB, W0, A0, SCHED, 0.1, seed=1).passed


def test_paper_protocol_check_passes_and_rejects_controls():
    ok = crossval.paper_protocol_check(PROB, epochs=1, seed=1)
    assert ok.passed and "zhou2019" in ok.detail and ok.method.endswith("400 steps")
    assert not crossval.paper_protocol_check(PROB, epochs=1, seed=1, mp_seed=2).passed


def test_paper_protocol_check_rejects_wrong_gradient(wrong_float64_gradient):
    assert not crossval.paper_protocol_check(PROB, epochs=1, seed=1).passed


def test_saddle_check_measures_the_instability_rate():
    r = crossval.saddle_check(PROB, steps=1500)
    assert r.passed and "measured growth" in r.detail


def test_saddle_check_rejects_wrong_gradient(wrong_float64_gradient):
    assert not crossval.saddle_check(PROB, steps=400).passed


def test_saddle_check_rejects_a_start_away_from_the_saddle():
    # From the basin start the paths agree to rounding: no growth at the saddle's rate.
    assert not crossval.saddle_check(PROB, steps=400, start=(W0, A0)).passed


def test_two_precision_check_and_low_precision_control():
    assert crossval.two_precision_check(PROB, W0, A0, SCHED, 0.1, seed=1).passed
    assert not crossval.two_precision_check(PROB, W0, A0, SCHED, 0.1, seed=1, dps=(15, 50)).passed


def test_enclosure_check_and_controls():
    ok = crossval.enclosure_check(PROB, W0, A0, SCHED, 0.1, seed=1, bits=crossval.arb_bits(200, 0.1))
    assert ok.passed, ok.detail
    bad = crossval.enclosure_check(PROB, W0, A0, SCHED, 0.1, seed=1, arb_seed=2, bits=200)
    assert not bad.passed and "leaves the enclosure at step" in bad.detail


def test_enclosure_check_rejects_wrong_gradient(wrong_float64_gradient):
    assert not crossval.enclosure_check(PROB, W0, A0, SCHED, 0.1, seed=1,
                                        bits=crossval.arb_bits(200, 0.1)).passed


def test_minibatch_check_and_biased_control():
    rng = np.random.default_rng(3)
    w, a = rng.normal(size=4), rng.normal(size=4)
    assert crossval.minibatch_check(PROB, w, a, batches=1000, seed=2).passed
    assert crossval.minibatch_check(PROB, w, a, batches=1000, seed=2, riemannian=True).passed

    def biased(problem, w, a, Z, riemannian=False):   # forgets the relu indicator in g_w
        g_w, g_a = crossval.minibatch_grad(problem, w, a, Z, riemannian)
        h = (Z * w[..., None, None, :]).sum(-1)
        res = (np.maximum(h, 0) * a[..., None, :]).sum(-1) - (
            np.maximum((Z * problem.w_star).sum(-1), 0) * problem.a_star).sum(-1)
        g_w = (res[..., None, None] * a[..., None, :, None] * Z).sum(-2).mean(-2)
        return g_w, g_a

    assert not crossval.minibatch_check(PROB, w, a, batches=1000, seed=2, grad_fn=biased).passed


def test_solver_checks_quick_table():
    rows = crossval.solver_checks(quick=True)
    assert len(rows) == 7 and all(isinstance(r, CheckResult) for r in rows)
    assert "(compiled engine)" in format_table(rows)
    assert any("Zhou" in r.check for r in rows)
    assert all(r.passed for r in rows), format_table(rows)
    assert "deviation growth at the saddle" in format_table(rows)


@pytest.mark.slow
def test_solver_checks_full_table():
    rows = crossval.solver_checks(quick=False)
    assert all(r.passed for r in rows), format_table(rows)
