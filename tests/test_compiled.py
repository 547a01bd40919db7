"""The compiled float64 engine (verified_pgd.solver.kernel / .compiled): it draws numpy's own
streams, follows the numpy engine's path to rounding, is bitwise reproducible across chains,
chunks and threads, and falls back to the numpy engine where numba is missing."""
import sys
import warnings

import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import rng
from verified_pgd.solver import compiled, reduced
from verified_pgd.solver.config import REDUCED_STREAM_TAG as STREAM_TAG
from verified_pgd.solvers import rerun

numba = pytest.importorskip("numba")
from verified_pgd.solver import kernel, sfc64  # noqa: E402

RS = np.random.default_rng(20261201)
P, K, M = 7, 5, 6
PROB = vp.Problem(RS.normal(size=P), RS.normal(size=K))
W0 = RS.normal(size=(M, P))
A0 = RS.normal(size=(M, K))
SCHED = vp.Schedule([(0.2, 600), (0.05, 300), (0.0, 100)])     # 1000 steps


def _relerr(x, y):
    """Largest normwise relative difference over the last axis."""
    return float(np.max(np.linalg.norm(x - y, axis=-1) / np.linalg.norm(y, axis=-1)))

def _assert_paths_agree(got, ref):
    """Recorded paths within 1e-12 relative, the same hit and divergence steps."""
    for x, y in zip(_paths(got), _paths(ref)):
        assert _relerr(x, y) <= 1e-12
    # the loss is ~|r|^2: near the optimum its relative error is that of r squared over
    # |r|, so it is compared on the scale of the run's losses
    assert np.max(np.abs(got.history.loss - ref.history.loss)) <= 1e-12 * ref.history.loss.max()
    np.testing.assert_array_equal(got.hit_step, ref.hit_step)
    np.testing.assert_array_equal(got.diverged_step, ref.diverged_step)


def _paths(res):
    return res.history.w, res.history.a


def test_seeded_states_are_numpys_sfc64_states_bitwise():
    # the compiled SeedSequence + SFC64 seeding against numpy's own, over many chains,
    # small and multi-word seeds and chain indices (a spawn key of one and of two words)
    for seed, start, n in ((0, 0, 2000), (11, 3, 50), (2 ** 32 + 7, 2 ** 32 - 3, 6),
                           (2 ** 100 + 3, 2 ** 40, 4), (5, 2 ** 63 - 2, 3)):
        got = sfc64.seed_states(seed, start, start + n)
        ref = sfc64.states_of(rng.chain_generators(seed, start, start + n))
        assert got.dtype == np.uint64 and np.array_equal(got, ref)
    # the reduced simulator's streams: entropy [seed, TAG], spawn key (i, j)
    for j in (0, 1):
        got = sfc64.seed_states([7, STREAM_TAG], 0, 40, (j,))
        ref = sfc64.states_of([reduced.chain_streams(7, i)[j] for i in range(40)])
        assert np.array_equal(got, ref)
    # negative control: a neighbouring seed gives other states
    assert not np.array_equal(sfc64.seed_states(1, 0, 5),
                              sfc64.states_of(rng.chain_generators(0, 0, 5)))


def test_kernel_draws_numpys_stream_bitwise_and_advances_it():
    # 64 x 20000 draws: about 0.7 % of them leave the ziggurat's fast path (wedges, tail)
    states = sfc64.seed_states(11, 3, 67)
    got = kernel.draw_normals(states, 20000)
    gens = rng.chain_generators(11, 3, 67)
    ref = [g.standard_normal(20010) for g in gens]
    assert all(np.array_equal(got[i], ref[i][:20000]) for i in range(64))
    # the states advanced in place to where numpy's generators are after 20000 draws
    again = rng.chain_generators(11, 3, 67)
    for g in again:
        g.standard_normal(20000)
    assert np.array_equal(states, sfc64.states_of(again))
    # negative control: another chain's stream is a different sequence
    assert not np.array_equal(got[0], ref[1][:20000])


@numba.njit
def _chisquares(states, df, n):
    out = np.empty((states.shape[0], n))
    for i in range(states.shape[0]):
        s0, s1, s2, s3 = states[i, 0], states[i, 1], states[i, 2], states[i, 3]
        for j in range(n):
            out[i, j], s0, s1, s2, s3 = sfc64.chisquare(df, s0, s1, s2, s3)
        states[i, 0], states[i, 1], states[i, 2], states[i, 3] = s0, s1, s2, s3
    return out


@pytest.mark.parametrize("df", [1, 2, 3, 14, 1022])
def test_compiled_chisquare_is_numpys_bitwise(df):
    # df = 1: gamma shape 1/2 (the rejection sampler below 1); 2: the exponential
    # ziggurat; >= 3: Marsaglia-Tsang on the normal sampler — the reduced simulator's
    # chi-square(p - 2) stream
    states = sfc64.seed_states([7, STREAM_TAG], 0, 16, (1,))
    got = _chisquares(states, float(df), 5000)
    gens = [reduced.chain_streams(7, i)[1] for i in range(16)]
    ref = np.array([g.chisquare(df, 5000) for g in gens])
    assert np.array_equal(got, ref)
    assert np.array_equal(states, sfc64.states_of(gens))
    # negative control: another df is another sequence
    other = _chisquares(sfc64.seed_states([7, STREAM_TAG], 0, 16, (1,)), float(df + 1), 5000)
    assert not np.array_equal(other, ref)


@pytest.mark.parametrize("normalized", [True, False])
@pytest.mark.parametrize("noise", ["gaussian", "ball"])
@pytest.mark.parametrize("gradient", ["population", 3])
def test_compiled_follows_the_numpy_path_to_1e_12(normalized, noise, gradient):
    kw = dict(seed=5, chains=M, normalized=normalized, noise=noise, gradient=gradient,
              record_every=50, record_states=True)
    ref = vp.pgd(PROB, W0, A0, SCHED, 0.02, engine="numpy", **kw)
    got = vp.pgd(PROB, W0, A0, SCHED, 0.02, engine="compiled", **kw)
    assert got.config["engine"] == "compiled" and ref.config["engine"] == "numpy"
    # generic points: |w| stays away from 0 (near w = 0 the free model is not well
    # conditioned and any two roundings part)
    assert np.min(np.linalg.norm(ref.history.w, axis=-1)) > 0.2
    _assert_paths_agree(got, ref)
    assert _relerr(got.w, ref.w) <= 1e-12 and _relerr(got.a, ref.a) <= 1e-12
    # negative control: the same comparison rejects a run on other noise
    other = vp.pgd(PROB, W0, A0, SCHED, 0.02, engine="compiled", **dict(kw, seed=6))
    assert _relerr(other.history.w, ref.history.w) > 1e-3


def test_hit_step_and_divergence_step_agree_with_the_numpy_engine():
    prob = vp.Problem.default()
    near = prob.w_star + 0.05
    a_near = prob.a_star * 1.05
    kw = dict(seed=1, chains=3, record_every=10, eps=1e-6)
    sched = vp.Schedule([(1e-3, 50), (0.0, 2000)])
    ref = vp.pgd(prob, near, a_near, sched, 0.2, engine="numpy", **kw)
    got = vp.pgd(prob, near, a_near, sched, 0.2, engine="compiled", **kw)
    assert (ref.hit_step > 0).all()
    np.testing.assert_array_equal(got.hit_step, ref.hit_step)
    kw = dict(seed=9, chains=5, normalized=False, divergence_bound=50.0, record_every=3)
    sched = vp.Schedule([(3.0, 40)])
    ref = vp.pgd(PROB, W0[0], A0[0], sched, 0.9, engine="numpy", **kw)
    got = vp.pgd(PROB, W0[0], A0[0], sched, 0.9, engine="compiled", **kw)
    assert ref.diverged.any()
    np.testing.assert_array_equal(got.diverged_step, ref.diverged_step)
    assert (got.hit_step[got.diverged] == -1).all()
    assert np.all(np.isfinite(got.history.loss))
    # a diverged chain is frozen at its last good state, in both engines
    assert _relerr(got.w, ref.w) <= 1e-12 and _relerr(got.a, ref.a) <= 1e-12


def _same(x, y):
    for name in ("w", "a", "hit_step", "diverged_step"):
        np.testing.assert_array_equal(getattr(x, name), getattr(y, name))
    for name in ("loss", "theta", "a_error", "w", "a"):
        np.testing.assert_array_equal(getattr(x.history, name), getattr(y.history, name))

def _same_on_every_thread_count(run, full):
    """``run()`` gives bitwise ``full`` on one thread and on all of numba's threads."""
    before = numba.get_num_threads()
    try:
        for n in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(n)
            _same(run(), full)
    finally:
        numba.set_num_threads(before)


def test_chain_path_is_bitwise_the_same_for_any_chains_chunks_and_threads():
    kw = dict(seed=3, normalized=True, noise="ball", gradient=2, record_every=40,
              record_states=True, engine="compiled")
    sched = vp.Schedule([(0.3, 200), (0.0, 50)])
    full = vp.pgd(PROB, W0, A0, sched, 0.05, chains=M, **kw)
    for chunk in (1, 4):
        _same(vp.pgd(PROB, W0, A0, sched, 0.05, chains=M, chunk_size=chunk, **kw), full)
    j = 4
    one = vp.pgd(PROB, W0[j], A0[j], sched, 0.05, chains=1, first_chain=j, **kw)
    for name in ("w", "a"):
        np.testing.assert_array_equal(getattr(one, name)[0], getattr(full, name)[j])
    np.testing.assert_array_equal(one.history.w[:, 0], full.history.w[:, j])
    _same_on_every_thread_count(lambda: vp.pgd(PROB, W0, A0, sched, 0.05, chains=M, **kw), full)
    # negative control: the comparison sees a different first_chain (other streams)
    shifted = vp.pgd(PROB, W0, A0, sched, 0.05, chains=M, first_chain=1, **kw)
    assert not np.array_equal(shifted.w, full.w)


def test_rerun_repeats_the_engine_that_ran():
    res = vp.pgd(PROB, W0, A0, vp.Schedule([(0.2, 30)]), 0.05, seed=2, chains=M)
    assert res.config["engine"] == "compiled"
    assert rerun(res.config) == res
    old = dict(res.config)
    del old["engine"]        # a result stored before the compiled engine existed
    assert rerun(old).config["engine"] == "numpy"


def test_engine_is_validated_at_the_boundary():
    for bad in ("fast", None, 1):
        with pytest.raises(ValueError, match="^engine: "):
            vp.pgd(PROB, W0, A0, SCHED, 0.02, chains=M, engine=bad)
    with pytest.raises(ValueError, match="^engine: .*precision"):
        vp.pgd(PROB, W0[0], A0[0], vp.Schedule([(0.1, 2)]), 0.02, precision=20,
               engine="compiled")
    red = vp.pgd(PROB, W0[0], A0[0], vp.Schedule([(0.1, 2)]), 0.02, reduced=True)
    assert red.config["engine"] == "compiled"
    hp = vp.pgd(PROB, W0[0], A0[0], vp.Schedule([(0.1, 2)]), 0.02, precision=20)
    assert hp.config["engine"] == "numpy"


@pytest.fixture
def no_numba(monkeypatch):
    """A process where ``import numba`` fails (sys.modules entry None) and the engine's
    cached import state is fresh."""
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setattr(compiled, "_state", {"kernel": None, "error": None, "warned": False})


def test_without_numba_auto_falls_back_to_numpy_with_one_warning(no_numba):
    kw = dict(seed=4, chains=M, record_every=10)
    sched = vp.Schedule([(0.2, 40)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = vp.pgd(PROB, W0, A0, sched, 0.05, **kw)
        second = vp.pgd(PROB, W0, A0, sched, 0.05, **kw)
    msgs = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(msgs) == 1 and "numba" in str(msgs[0].message)
    assert first.config["engine"] == "numpy" == second.config["engine"]
    ref = vp.pgd(PROB, W0, A0, sched, 0.05, engine="numpy", **kw)
    assert first == ref
    with pytest.raises(ImportError, match="^engine: "):
        vp.pgd(PROB, W0, A0, sched, 0.05, engine="compiled", **kw)


@pytest.mark.parametrize("p,k", [(1, 1), (2, 3), (3, 9), (8, 4)])
def test_short_rows_and_unrolled_tails_follow_the_numpy_path(p, k):
    # the kernel's reductions run four partial sums plus a tail: every p, k mod 4 and the
    # rows shorter than one block of four are compared with the numpy engine
    rs = np.random.default_rng(p * 10 + k)
    prob = vp.Problem(rs.normal(size=p), rs.normal(size=k))
    w0, a0 = rs.normal(size=(3, p)), rs.normal(size=(3, k))
    kw = dict(seed=2, chains=3, record_every=25, record_states=True, normalized=p > 1)
    sched = vp.Schedule([(0.1, 200)])
    ref = vp.pgd(prob, w0, a0, sched, 0.02, engine="numpy", **kw)
    got = vp.pgd(prob, w0, a0, sched, 0.02, engine="compiled", **kw)
    for x, y in zip(_paths(got), _paths(ref)):
        assert _relerr(x, y) <= 1e-12
    np.testing.assert_array_equal(got.hit_step, ref.hit_step)


@pytest.mark.parametrize("p,k,normalized,noise", [
    (7, 5, True, "gaussian"), (7, 5, False, "ball"), (3, 4, True, "ball"),
    (3, 4, False, "gaussian"), (2, 3, True, "gaussian"), (1, 2, False, "ball")])
def test_compiled_reduced_follows_the_numpy_reduced_simulator_to_1e_12(p, k, normalized, noise):
    # p = 1 (no perpendicular part), 2 (no chi-square rest), >= 3 (chi-square rest)
    rs = np.random.default_rng(100 * p + k + 1)
    prob = vp.Problem(rs.normal(size=p), rs.normal(size=k))
    w0, a0 = rs.normal(size=(M, p)), rs.normal(size=(M, k))
    kw = dict(seed=5, chains=M, normalized=normalized, noise=noise, reduced=True,
              record_every=50, record_states=True)
    # the free model with little noise (its chains pass near w = 0 less often, where
    # any two roundings part)
    sched = SCHED if normalized else vp.Schedule([(0.05, 600), (0.0, 400)])
    ref = vp.pgd(prob, w0, a0, sched, 0.02, engine="numpy", **kw)
    got = vp.pgd(prob, w0, a0, sched, 0.02, engine="compiled", **kw)
    assert got.config["engine"] == "compiled" and ref.config["engine"] == "numpy"
    _assert_paths_agree(got, ref)
    # negative control: other noise is seen
    other = vp.pgd(prob, w0, a0, sched, 0.02, engine="compiled", **dict(kw, seed=6))
    assert _relerr(other.history.w, ref.history.w) > 1e-3


def test_compiled_reduced_hits_and_divergence_agree_and_are_bitwise_invariant():
    prob = vp.Problem.default()
    kw = dict(seed=1, chains=3, record_every=10, eps=1e-6, reduced=True)
    sched = vp.Schedule([(1e-3, 50), (0.0, 2000)])
    args = (prob, prob.w_star + 0.05, prob.a_star * 1.05, sched, 0.2)
    ref = vp.pgd(*args, engine="numpy", **kw)
    got = vp.pgd(*args, engine="compiled", **kw)
    assert (ref.hit_step > 0).all()
    np.testing.assert_array_equal(got.hit_step, ref.hit_step)
    kw = dict(seed=9, chains=5, normalized=False, divergence_bound=50.0, record_every=3,
              reduced=True, record_states=True)
    sched = vp.Schedule([(3.0, 40)])
    ref = vp.pgd(PROB, W0[0], A0[0], sched, 0.9, engine="numpy", **kw)
    got = vp.pgd(PROB, W0[0], A0[0], sched, 0.9, engine="compiled", **kw)
    assert ref.diverged.any()
    np.testing.assert_array_equal(got.diverged_step, ref.diverged_step)
    assert (got.hit_step[got.diverged] == -1).all() and np.all(np.isfinite(got.history.loss))
    assert _relerr(got.w, ref.w) <= 1e-12 and _relerr(got.a, ref.a) <= 1e-12
    # bitwise the same for any chunking, first_chain split and thread count
    kw = dict(seed=3, noise="ball", record_every=40, record_states=True, reduced=True,
              engine="compiled")
    sched = vp.Schedule([(0.3, 200), (0.0, 50)])
    full = vp.pgd(PROB, W0, A0, sched, 0.05, chains=M, **kw)
    for chunk in (1, 4):
        _same(vp.pgd(PROB, W0, A0, sched, 0.05, chains=M, chunk_size=chunk, **kw), full)
    one = vp.pgd(PROB, W0[4], A0[4], sched, 0.05, chains=1, first_chain=4, **kw)
    np.testing.assert_array_equal(one.history.a[:, 0], full.history.a[:, 4])
    _same_on_every_thread_count(lambda: vp.pgd(PROB, W0, A0, sched, 0.05, chains=M, **kw), full)
    shifted = vp.pgd(PROB, W0, A0, sched, 0.05, chains=M, first_chain=1, **kw)
    assert not np.array_equal(shifted.a, full.a)
