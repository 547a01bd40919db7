"""vp.pgd's `reduced` and `workers` switches route to the reduced simulator and the
process-parallel runner without changing results (their laws and bitwise invariance are
tested in test_reduced.py and test_fastpath.py)."""
import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd.reduced import pgd_reduced
from verified_pgd.solvers import rerun
from verified_pgd.theory import spurious_minimum


@pytest.fixture(scope="module")
def setup():
    prob = vp.Problem.default()
    sp = spurious_minimum(prob)
    sched = vp.Schedule([(0.5, 40), (0.0, 20)])
    return prob, sp, sched


def _same(r1, r2):
    return r1 == r2 and np.array_equal(r1.w, r2.w) and np.array_equal(r1.history.loss, r2.history.loss)


def test_reduced_switch_is_the_reduced_simulator(setup):
    prob, sp, sched = setup
    r = vp.pgd(prob, sp.w, sp.a, sched, 0.1, seed=3, chains=5, reduced=True)
    assert r.config["reduced"] is True
    assert _same(r, pgd_reduced(prob, sp.w, sp.a, sched, 0.1, seed=3, chains=5))
    # Negative control: the full simulator on the same seed takes other streams.
    full = vp.pgd(prob, sp.w, sp.a, sched, 0.1, seed=3, chains=5)
    assert not np.array_equal(full.history.theta, r.history.theta)
    assert _same(rerun(r.config), r)


@pytest.mark.parametrize("reduced", [False, True])
def test_workers_do_not_change_the_result(setup, reduced):
    prob, sp, sched = setup
    one = vp.pgd(prob, sp.w, sp.a, sched, 0.1, seed=4, chains=7, reduced=reduced)
    two = vp.pgd(prob, sp.w, sp.a, sched, 0.1, seed=4, chains=7, reduced=reduced, workers=2)
    assert _same(one, two)


def test_switches_are_validated(setup):
    prob, sp, sched = setup
    with pytest.raises(TypeError, match="^reduced"):
        vp.pgd(prob, sp.w, sp.a, sched, 0.1, reduced="yes")
    with pytest.raises(ValueError, match="^workers"):
        vp.pgd(prob, sp.w, sp.a, sched, 0.1, workers=0)
    with pytest.raises(ValueError, match="^precision"):
        vp.pgd(prob, sp.w, sp.a, sched, 0.1, reduced=True, precision=30)
