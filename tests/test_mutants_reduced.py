"""Fast, direct tests of the reduced simulator (verified_pgd/solver/reduced.py) written
against its mutation survivors (docs/testing.md, "Mutation testing"): the default
chi-square degrees of freedom (p - 2, none below p = 3), the engine dispatch, the
numpy engine's chunk invariance, the frame of a w0 parallel to w*, the p = 1 output
dtype, the block size's memory bound, and a non-finite loss at a finite state (the
rollback of a recorded step).  No statistical assertions: every comparison is exact or
to rounding, with fixed seeds.
"""
import warnings

import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd.solver import reduced
from verified_pgd.solver.config import build_config

PB = vp.Problem([1.0, 0.0, 0.0], [1.0, 1.0, 1.0, -1.0])


def problem(p):
    return vp.Problem(np.r_[1.0, np.zeros(p - 1)], [1.0, 1.0, -1.0])


def _cfg(prob, engine, w0=None, a0=None, chains=5, sched=None, **kw):
    w0 = -prob.w_hat_star + 0.3 if w0 is None else w0
    a0 = np.zeros(prob.k) if a0 is None else a0
    sched = vp.Schedule([(1.0, 30)]) if sched is None else sched
    kw.setdefault("record_every", 10)
    return build_config(prob, w0, a0, sched, 0.1, 3, chains, reduced=True, engine=engine, **kw)


def _same(r, s):
    np.testing.assert_array_equal(r.w, s.w)
    np.testing.assert_array_equal(r.a, s.a)
    np.testing.assert_array_equal(r.history.theta, s.history.theta)
    np.testing.assert_array_equal(r.hit_step, s.hit_step)


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_default_chi_square_degrees_of_freedom_are_p_minus_2(engine, p):
    """R^2 ~ chi^2(p - 2) for p >= 3, no rest below (module docstring)."""
    prob = problem(p)
    cfg = _cfg(prob, engine)
    got = reduced.run(cfg)
    _same(got, reduced.run(cfg, _chi_df=max(p - 2, 0)))
    if p >= 3:        # control: one degree of freedom more is seen
        other = reduced.run(cfg, _chi_df=p - 1)
        assert not np.array_equal(other.history.theta, got.history.theta)


def test_engine_dispatch(monkeypatch):
    calls = []
    for name in ("_chunk", "_chunk_compiled"):
        real = getattr(reduced, name)
        monkeypatch.setattr(reduced, name, lambda *a, _n=name, _r=real: calls.append(_n) or _r(*a))
    reduced.run(_cfg(PB, "numpy", chunk_size=2))
    assert calls == ["_chunk"] * 3
    calls.clear()
    reduced.run(_cfg(PB, "compiled"))
    assert calls == ["_chunk_compiled"]


@pytest.mark.parametrize("noise", ["gaussian", "ball"])
def test_numpy_engine_is_bitwise_the_same_for_every_chunking(noise):
    full = reduced.run(_cfg(PB, "numpy", chains=7, noise=noise, record_states=True))
    for chunk in (1, 3, 5):
        _same(reduced.run(_cfg(PB, "numpy", chains=7, noise=noise, chunk_size=chunk,
                               record_states=True)), full)
    one = reduced.run(_cfg(PB, "numpy", chains=1, noise=noise, first_chain=4))
    np.testing.assert_array_equal(one.a[0], full.a[4])


def test_numpy_engine_with_many_chains_and_a_large_k():
    # 4096 chains and 13 normals per step: the block is shorter than 64 steps
    prob = vp.Problem([1.0, 0.0, 0.0], np.r_[np.ones(9), -1.0])
    big = reduced.run(_cfg(prob, "numpy", chains=4096, sched=vp.Schedule([(0.5, 3)]),
                           record_every=3))
    small = reduced.run(_cfg(prob, "numpy", chains=4096, chunk_size=1000,
                             sched=vp.Schedule([(0.5, 3)]), record_every=3))
    _same(big, small)


@pytest.mark.parametrize("Mc, n", [(1, 1), (1, 3), (4096, 4), (4096, 9), (4096, 13),
                                   (10 ** 5, 3), (10 ** 6, 2), (3 * 10 ** 6, 7), (77, 0)])
def test_block_steps_is_the_longest_block_within_16_mib(Mc, n):
    """At most 64 steps, at least one; otherwise the most steps whose normals and
    chi-square variates (8 bytes each, n + 1 per chain and step) fit in 16 MiB."""
    fits = [s for s in range(1, 65) if 8 * Mc * (n + 1) * s <= 16 * 2 ** 20]
    want = max(fits) if fits else 1
    got = reduced._block_steps(None, Mc, n)
    assert got == want and type(got) is int


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
def test_w0_parallel_to_w_star_gets_an_orthogonal_frame(engine):
    """w0 = w* (and rows of it among others): e_perp is a unit vector orthogonal to w*, so
    the lifted w has the recorded theta and |w| = 1."""
    prob = problem(4)
    rs = np.random.default_rng(2)
    W0 = rs.normal(size=(4, 4))
    W0[1] = prob.w_hat_star
    W0[3] = 2.0 * prob.w_hat_star
    for w0 in (prob.w_hat_star, W0):
        chains = 4
        res = reduced.run(_cfg(prob, engine, w0=w0, chains=chains, record_states=True,
                               sched=vp.Schedule([(0.5, 20)])))
        w = res.w
        np.testing.assert_allclose(np.linalg.norm(w, axis=-1), 1.0, rtol=1e-12)
        theta = np.arccos(np.clip(w @ prob.w_hat_star, -1, 1))
        np.testing.assert_allclose(theta, res.history.theta[-1], rtol=1e-9, atol=1e-12)
        hw = res.history.w
        th = np.arccos(np.clip(hw @ prob.w_hat_star, -1, 1))
        np.testing.assert_allclose(th, res.history.theta, rtol=1e-9, atol=1e-9)
        assert np.all(res.history.theta[-1] > 1e-6)        # the chains left the axis


def test_p1_outputs_are_float64_on_the_line():
    prob = problem(1)
    for engine in ("numpy", "compiled"):
        res = reduced.run(_cfg(prob, engine, w0=np.array([-1.0]), record_states=True))
        assert res.w.dtype == np.float64 and res.history.w.dtype == np.float64
        np.testing.assert_array_equal(np.abs(res.w), 1.0)


def test_a_non_finite_loss_at_a_finite_state_rolls_the_chain_back():
    """a grows by a factor ~ (1 - eta c) per step: at step 2 it is still below the
    divergence bound (passes the step check) but the loss overflows; the chain is flagged
    diverged at 2 and kept at its step-1 state, in both engines, without warnings (step 2
    inside the schedule, and as its final state)."""
    for steps in (3, 2):
        _rollback(vp.Schedule([(0.0, steps)]))


def _rollback(sched):
    out = {}
    for engine in ("numpy", "compiled"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out[engine] = vp.pgd(PB, PB.w_hat_star + 0.1, PB.a_star * 1e152, sched, 10.0,
                                 chains=2, reduced=True, engine=engine, divergence_bound=1e300,
                                 record_every=1, record_states=True)
    r = out["numpy"]
    np.testing.assert_array_equal(r.diverged_step, [2, 2])
    assert np.all(np.isfinite(r.history.loss)) and np.all(np.abs(r.a) < 1e300)
    np.testing.assert_array_equal(r.history.loss[2], r.history.loss[1])
    np.testing.assert_array_equal(r.a, r.history.a[1])
    np.testing.assert_array_equal(out["compiled"].diverged_step, r.diverged_step)
    np.testing.assert_allclose(out["compiled"].a, r.a, rtol=1e-12)


def test_numpy_engine_divergence_raises_no_floating_point_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = vp.pgd(PB, PB.w_hat_star, PB.a_star * 1e3, vp.Schedule([(3.0, 40)]), 10.0,
                   chains=3, reduced=True, engine="numpy", normalized=False, record_every=1)
    assert r.diverged.all()
