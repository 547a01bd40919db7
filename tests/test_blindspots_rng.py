"""Schedule and random-stream details that the behaviour tests do not pin down (found by
mutation testing, docs/testing.md): every validation message names its parameter, the
geometric levels are the stated formula, hashing follows equality, and the noise records
are the documented functions of the normals."""
import math

import numpy as np
import pytest
from scipy.special import ndtr

from verified_pgd import rng
from verified_pgd.schedule import Schedule, Stage, StepParams


# --------------------------------------------------------------------------- Schedule

@pytest.mark.parametrize("call, exc, message", [
    (lambda: Schedule.geometric(-1.0, 0.1, 3, 10), ValueError, "sigma: sigma0: must be >= 0, got -1.0"),
    (lambda: Schedule.geometric(1.0, math.inf, 3, 10), ValueError, "sigma: sigma_end: must be finite, got inf"),
    (lambda: Schedule.geometric("1", 0.1, 3, 10), TypeError, "sigma: sigma0: expected a real number, got '1'"),
    (lambda: Schedule.geometric(1.0, 0.0, 3, 10), ValueError,
     "sigma: geometric annealing needs sigma0 > 0 and sigma_end > 0 (the noise-free tail is final_steps)"),
    (lambda: Schedule.geometric(0.1, 1.0, 3, 10), ValueError,
     "sigma: sigma_end = 1.0 exceeds sigma0 = 0.1 (annealing decreases)"),
    (lambda: Schedule.geometric(1.0, 0.1, 0, 10), ValueError, "stages: number of stages: must be >= 1, got 0"),
    (lambda: Schedule.geometric(1.0, 0.1, 2.0, 10), TypeError,
     "stages: number of stages: expected an integer >= 1, got 2.0"),
    (lambda: Schedule.geometric(1.0, 0.1, 3, 0), ValueError, "steps_per_stage: per stage: must be >= 1, got 0"),
    (lambda: Schedule.geometric(1.0, 0.1, 3, 10, final_steps=-1), ValueError,
     "final_steps: expected an integer >= 0, got -1"),
    (lambda: Schedule.geometric(1.0, 0.1, 3, 10, final_steps=True), ValueError,
     "final_steps: expected an integer >= 0, got True"),
    (lambda: Schedule.geometric(1.0, 0.1, 3, 10, final_steps=2.0), ValueError,
     "final_steps: expected an integer >= 0, got 2.0"),
    (lambda: Schedule("ab"), TypeError, "stages: expected a sequence of (sigma, steps) pairs or Stage records"),
    (lambda: Schedule(None), TypeError, "stages: expected a sequence of (sigma, steps) pairs or Stage records"),
    (lambda: Schedule(5), TypeError, "stages: expected a sequence of (sigma, steps) pairs or Stage records"),
    (lambda: Schedule([]), ValueError, "stages: must contain at least one (sigma, steps) stage"),
    (lambda: Schedule([(1.0, 2, 3)]), ValueError, "stages: stage 0 is not a (sigma, steps) pair: (1.0, 2, 3)"),
    (lambda: Schedule([(0.5, 2), (1.0, 2)]), ValueError,
     "sigma: stage 1: noise levels must be non-increasing (1.0 follows 0.5)"),
    (lambda: Schedule([(1.0, True)]), TypeError, "steps: stage 0: expected an integer >= 1, got True"),
    (lambda: Schedule([(True, 3)]), TypeError, "sigma: stage 0: expected a real number, got True"),
    (lambda: Schedule.from_dict({"x": 1}), ValueError, "schedule: expected a table with key 'stages'"),
    (lambda: Schedule.from_dict([[1.0, 2]]), ValueError, "schedule: expected a table with key 'stages'"),
    (lambda: Schedule.from_dict({"stages": [[1.0, 2, 3]]}), ValueError,
     "stages: stage 0 is not a (sigma, steps) pair: (1.0, 2, 3)"),
    (lambda: Schedule.from_dict({"stages": [5]}), ValueError, "stages: stage 0 is not a (sigma, steps) pair: 5"),
    (lambda: Schedule([(1.0, 5)]).sigma_at(5), ValueError, "t: step 5 is outside the schedule [0, 5)"),
    (lambda: Schedule([(1.0, 5)]).sigma_at(-1), ValueError, "t: step -1 is outside the schedule [0, 5)"),
    (lambda: Schedule([(1.0, 5)]).sigma_at(1.0), TypeError, "t: expected an integer step, got 1.0"),
    (lambda: Schedule([(1.0, 5)]).sigma_at(True), TypeError, "t: expected an integer step, got True"),
])
def test_schedule_errors_are_exact(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == message


def test_immutable_message():
    with pytest.raises(AttributeError, match="^Schedule is immutable$"):
        Schedule([(1.0, 2)]).x = 1


def test_geometric_levels_are_the_stated_formula():
    for s0, s1, n, T, fin in ((2.0, 0.02, 5, 7, None), (1.0, 0.5, 2, 3, 0), (0.3, 0.3, 4, 1, 2),
                              (1.0, 0.1, 1, 4, 3)):
        sch = Schedule.geometric(s0, s1, n, T, final_steps=fin)
        want = [s0 * (s1 / s0) ** (i / (n - 1)) for i in range(n)] if n > 1 else [s0]
        levels = [st.sigma_w for st in sch.stages[:n]]
        # geometric() builds the noise-only form: one level for both, the run's eta
        assert all(st.sigma_a == st.sigma_w and st.eta is None for st in sch.stages)
        assert np.allclose(levels, want, rtol=1e-15, atol=0)
        assert levels[-1] == (s1 if n > 1 else s0)
        assert all(x >= y for x, y in zip(levels, levels[1:]))
        assert [st.steps for st in sch.stages[:n]] == [T] * n
        fin = T if fin is None else fin
        assert sch.stages[n:] == ((Stage(fin, None, 0.0, 0.0),) if fin else ())
        assert sch.total_steps == n * T + fin


def test_hash_follows_value():
    a, b = Schedule([(1.0, 3), (0.0, 2)]), Schedule([[1.0, 3], [0.0, 2]])
    c = Schedule([(1.0, 3), (0.0, 3)])
    assert a == b and hash(a) == hash(b)
    assert a != c and hash(a) != hash(c)
    assert len({a, b, c}) == 2
    assert a != a.to_dict() and repr(a) == ("Schedule([Stage(steps=3, eta=None, sigma_w=1.0, sigma_a=1.0), "
                                            "Stage(steps=2, eta=None, sigma_w=0.0, sigma_a=0.0)])")
    assert len(a) == 2 and a.boundaries() == (0, 3, 5)


def test_piecewise_accepts_one_list_and_one_pair():
    want = Schedule([(1.0, 3), (0.5, 2)])
    assert Schedule.piecewise([(1.0, 3), (0.5, 2)]) == want
    assert Schedule.piecewise((1.0, 3), (0.5, 2)) == want
    assert Schedule.piecewise([(1.0, 3)]) == Schedule([(1.0, 3)])
    assert Schedule.piecewise((1.0, 3)) == Schedule([(1.0, 3)])
    assert Schedule.piecewise([[1.0, 3], [0.5, 2]]) == want
    assert Schedule.piecewise(((1.0, 3), (0.5, 2))) == want          # one tuple of two pairs
    assert Schedule.piecewise(((1.0, 3), (0.5, 2), (0.0, 1))) == Schedule([(1.0, 3), (0.5, 2), (0.0, 1)])


def test_from_dict_roundtrip_and_sigmas():
    s = Schedule([(0.75, 2), (0.25, 3), (0.0, 1)])
    assert Schedule.from_dict(s.to_dict()) == s and s.to_dict() == {"stages": [[0.75, 2], [0.25, 3], [0.0, 1]]}
    assert Schedule.from_dict({"stages": [(0.5, 1)]}) == Schedule([(0.5, 1)])
    sig = s.sigmas()
    assert sig.dtype == np.float64 and sig.tolist() == [0.75, 0.75, 0.25, 0.25, 0.25, 0.0]
    assert [s.sigma_at(t) for t in range(6)] == sig.tolist()
    # schedule(t) is StepParams(eta, sigma_w, sigma_a); eta None: the run's step size
    assert [s(t) for t in range(6)] == [StepParams(None, x, x) for x in sig.tolist()]


# --------------------------------------------------------------------------- rng

def test_record_length_counts_the_normals_of_a_step():
    p, k = 5, 3
    assert rng.record_length(p, k, False, False, None) == 0
    assert rng.record_length(p, k, False, True, None) == 0
    assert rng.record_length(p, k, True, False, None) == p + k
    assert rng.record_length(p, k, True, True, None) == p + k + 2
    assert rng.record_length(p, k, True, False, 4) == p + k + 4 * k * p
    assert rng.record_length(p, k, False, False, 4) == 4 * k * p
    assert rng.record_length(p, k, True, True, 2) == p + k + 2 + 2 * k * p


def test_chain_generator_is_the_spawned_child():
    for seed, i in ((0, 0), (7, 3), (2 ** 40, 11)):
        child = np.random.SeedSequence(seed).spawn(i + 2)[i]
        want = np.random.Generator(np.random.SFC64(child)).standard_normal(6)
        assert np.array_equal(rng.chain_generator(seed, i).standard_normal(6), want)
    gens = rng.chain_generators(5, 2, 5)
    assert len(gens) == 3
    assert np.array_equal(gens[1].standard_normal(4), rng.chain_generator(5, 3).standard_normal(4))
    assert rng.BIT_GENERATOR == "SFC64"
    assert isinstance(rng.chain_generator(1, 0).bit_generator, np.random.SFC64)


def test_draw_block_is_the_streams_in_order_and_reuses_a_buffer():
    gens = rng.chain_generators(3, 0, 2)
    Z = rng.draw_block(gens, 4, 5)
    assert Z.shape == (2, 4, 5)
    for i in range(2):
        g = rng.chain_generator(3, i)
        assert np.array_equal(Z[i], g.standard_normal((4, 5)))
    buf = np.full(100, np.nan)
    Z2 = rng.draw_block(rng.chain_generators(3, 0, 2), 4, 5, out=buf)
    assert np.array_equal(Z2, Z) and np.shares_memory(Z2, buf)
    exact = np.full(2 * 4 * 5, np.nan)                                  # exactly the size needed
    assert np.shares_memory(rng.draw_block(rng.chain_generators(3, 0, 2), 4, 5, out=exact), exact)
    small = np.empty(3)
    Z3 = rng.draw_block(rng.chain_generators(3, 0, 2), 4, 5, out=small)
    assert np.array_equal(Z3, Z) and not np.shares_memory(Z3, small)


def test_noise_from_normals_gaussian_and_ball():
    g = np.random.default_rng(0)
    p, k = 4, 3
    z = g.standard_normal((6, p + k + 2))
    xi, ep = rng.noise_from_normals(z[:, :p + k], p, k, False)
    assert np.array_equal(xi, z[:, :p]) and np.array_equal(ep, z[:, p:p + k])
    xi, ep = rng.noise_from_normals(z, p, k, True)
    for v, d, zz, u in ((xi, p, z[:, :p], z[:, p + k]), (ep, k, z[:, p:p + k], z[:, p + k + 1])):
        r = np.linalg.norm(v, axis=1)
        assert np.allclose(r, ndtr(u) ** (1 / d), rtol=1e-14, atol=0)
        assert np.allclose(v / r[:, None], zz / np.linalg.norm(zz, axis=1)[:, None], rtol=0, atol=1e-14)
    # leading axes broadcast: a (chains, steps, record) block gives the rows' noise
    z3 = g.standard_normal((3, 5, p + k + 2))
    xi3, ep3 = rng.noise_from_normals(z3, p, k, True)
    for i in range(3):
        xi1, ep1 = rng.noise_from_normals(z3[i], p, k, True)
        assert np.array_equal(xi3[i], xi1) and np.array_equal(ep3[i], ep1)
