"""verified_pgd.fastpath.pgd_parallel: chains split over processes give bitwise the Result of
one process (config included), for the full, reduced and high-precision solvers."""
import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd.fastpath import pgd_parallel
from verified_pgd.reduced import pgd_reduced

PROB = vp.Problem([0.5, -1.0, 0.25, 2.0, 0.1], [1.0, 1.0, 1.0, -1.0])
G = np.random.default_rng(3)
W0, A0 = G.standard_normal((7, 5)), G.standard_normal((7, 4))
SCHED = vp.Schedule([(0.4, 30), (0.1, 20), (0.0, 10)])


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("noise", ["gaussian", "ball"])
def test_parallel_equals_single_process(workers, noise):
    kw = dict(chains=7, seed=4, record_every=6, noise=noise, record_states=True, first_chain=2)
    one = vp.pgd(PROB, W0, A0, SCHED, 0.1, **kw)
    par = pgd_parallel(PROB, W0, A0, SCHED, 0.1, workers=workers, **kw)
    assert par == one
    assert par.config == one.config


def test_parallel_reduced_and_shared_initial_state():
    one = pgd_reduced(PROB, W0[0], A0[0], SCHED, 0.1, chains=5, seed=1, normalized=False)
    par = pgd_parallel(PROB, W0[0], A0[0], SCHED, 0.1, chains=5, seed=1, normalized=False,
                       workers=2, reduced=True)
    assert par == one


def test_parallel_high_precision():
    kw = dict(chains=3, seed=2, precision=20, record_every=10)
    sched = vp.Schedule([(0.2, 15)])
    assert pgd_parallel(PROB, W0[:3], A0[:3], sched, 0.1, workers=2, **kw) == \
        vp.pgd(PROB, W0[:3], A0[:3], sched, 0.1, **kw)


def test_a_different_split_of_chains_is_not_accidentally_equal():
    """Negative control: the merge really places blocks in chain order."""
    par = pgd_parallel(PROB, W0, A0, SCHED, 0.1, chains=7, seed=4, workers=2)
    one = vp.pgd(PROB, W0, A0, SCHED, 0.1, chains=7, seed=4)
    assert not np.array_equal(par.w[::-1], one.w)
    assert not np.array_equal(pgd_parallel(PROB, W0, A0, SCHED, 0.1, chains=7, seed=5,
                                           workers=2).w, one.w)


@pytest.mark.parametrize("kw, name", [(dict(workers=0), "workers"), (dict(eta=-1.0), "eta"),
                                      (dict(chains=0), "chains")])
def test_invalid_arguments(kw, name):
    args = dict(problem=PROB, w0=W0[0], a0=A0[0], schedule=SCHED, eta=0.1)
    args.update(kw)
    with pytest.raises((ValueError, TypeError)) as exc:
        pgd_parallel(**args)
    assert str(exc.value).startswith(name)
