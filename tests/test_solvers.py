"""vp.pgd: validation, reproducibility across chains/chunks, the step against an independent
recomputation, Result serialisation, divergence handling, high-precision agreement."""
import json
import math

import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import rng as vrng
from verified_pgd.result import Result
from verified_pgd.solvers import minibatch_grad, rerun

PROB = vp.Problem.default()
W0 = np.array([0.3, -1.0, 0.5, 0.2])
A0 = np.array([0.2, -0.1, 0.4, 0.3])
SCHED = vp.Schedule([(0.3, 40), (0.05, 30), (0.0, 30)])


def run(**kw):
    args = dict(problem=PROB, w0=W0, a0=A0, schedule=SCHED, eta=0.1, seed=5, record_every=7)
    args.update(kw)
    return vp.pgd(**args)


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("kw, name", [
    (dict(eta=0.0), "eta"), (dict(eta=-1.0), "eta"), (dict(eta=math.inf), "eta"),
    (dict(eta="1"), "eta"), (dict(chains=0), "chains"), (dict(chains=2.0), "chains"),
    (dict(seed=-1), "seed"), (dict(seed=1.5), "seed"), (dict(noise="uniform"), "noise"),
    (dict(gradient="sgd"), "gradient"), (dict(gradient=0), "gradient"),
    (dict(precision="float32"), "precision"), (dict(precision=10), "precision"),
    (dict(precision="arb:20"), "precision"), (dict(precision=True), "precision"),
    (dict(record_every=0), "record_every"), (dict(eps=0.0), "eps"), (dict(eps=1.0), "eps"),
    (dict(w0=[1.0, 0.0]), "w0"), (dict(w0=[0.0] * 4), "w0"), (dict(w0=[math.nan, 0, 0, 1]), "w0"),
    (dict(a0=np.zeros((3, 4)), chains=2), "a0"), (dict(a0=[1.0]), "a0"),
    (dict(schedule=[(-1.0, 3)]), "schedule"), (dict(problem="p"), "problem"),
    (dict(normalized="yes"), "normalized"), (dict(chunk_size=0), "chunk_size"),
    (dict(precision=30, gradient=4), "gradient"), (dict(first_chain=-1), "first_chain"), (dict(divergence_bound=0.5), "divergence_bound"),
])
def test_invalid_arguments_name_the_parameter(kw, name):
    with pytest.raises((ValueError, TypeError)) as exc:
        run(**kw)
    assert str(exc.value).startswith(name), str(exc.value)


# --------------------------------------------------------------------------- randomness

def test_chain_generator_is_the_spawned_child():
    kids = np.random.SeedSequence(11).spawn(5)
    for i in (0, 3, 4):
        a = np.random.Generator(np.random.SFC64(kids[i])).standard_normal(50)
        b = vrng.chain_generator(11, i).standard_normal(50)
        assert np.array_equal(a, b)


def test_block_size_does_not_change_the_stream():
    g1, g2 = vrng.chain_generator(3, 0), vrng.chain_generator(3, 0)
    one = g1.standard_normal((10, 9))
    parts = np.concatenate([g2.standard_normal((3, 9)), g2.standard_normal((7, 9))])
    assert np.array_equal(one, parts)


@pytest.mark.parametrize("noise, gradient, normalized", [
    ("gaussian", "population", True), ("ball", "population", False), ("gaussian", 3, True)])
def test_chain_path_independent_of_chains_and_chunks(noise, gradient, normalized):
    kw = dict(noise=noise, gradient=gradient, normalized=normalized, record_states=True)
    rng = np.random.default_rng(0)
    Wm, Am = rng.normal(size=(64, 4)), rng.normal(size=(64, 4))
    many = run(w0=Wm, a0=Am, chains=64, **kw)
    chunked = run(w0=Wm, a0=Am, chains=64, chunk_size=5, **kw)
    assert many == chunked
    for i in (0, 17, 63):
        # chain i alone must be chain i of the big run: same seed, spawn index i
        single = _single_chain(i, Wm[i], Am[i], **kw)
        assert np.array_equal(single.w[0], many.w[i]) and np.array_equal(single.a[0], many.a[i])
        assert np.array_equal(single.history.w[:, 0], many.history.w[:, i])
        assert np.array_equal(single.history.loss[:, 0], many.history.loss[:, i])
        assert single.hit_step[0] == many.hit_step[i]


def _single_chain(i, w0, a0, **kw):
    # chains = 1 running chain i of the seed alone
    return run(w0=w0, a0=a0, chains=1, first_chain=i, **kw)


def test_chain_path_same_with_4096_chains():
    big = run(chains=4096, schedule=vp.Schedule([(0.3, 8), (0.0, 4)]), record_every=3,
              record_states=True)   # default chunking: 4 chunks of 1024
    for i in (0, 1023, 1024, 4095):
        alone = run(chains=1, first_chain=i, schedule=vp.Schedule([(0.3, 8), (0.0, 4)]),
                    record_every=3, record_states=True)
        assert np.array_equal(alone.history.w[:, 0], big.history.w[:, i])
        assert np.array_equal(alone.history.a[:, 0], big.history.a[:, i])


def test_split_over_workers_equals_one_run():
    rng = np.random.default_rng(2)
    Wm, Am = rng.normal(size=(10, 4)), rng.normal(size=(10, 4))
    whole = run(w0=Wm, a0=Am, chains=10)
    parts = [run(w0=Wm[s:e], a0=Am[s:e], chains=e - s, first_chain=s) for s, e in [(0, 3), (3, 10)]]
    assert np.array_equal(np.concatenate([p.w for p in parts]), whole.w)
    assert np.array_equal(np.concatenate([p.history.loss for p in parts], axis=1), whole.history.loss)


def test_same_seed_same_result_different_seed_different():
    assert run() == run()
    assert not np.array_equal(run(seed=6).w, run().w)


def test_first_steps_match_an_independent_recomputation():
    """Two PGD steps recomputed by hand from vp.grad and the chain's own normals."""
    eta, sigma = 0.1, 0.3
    r = run(schedule=vp.Schedule.constant(sigma, 2), record_every=1, record_states=True, chains=3)
    for i in range(3):
        z = vrng.chain_generator(5, i).standard_normal((2, 8))
        w = W0 / np.linalg.norm(W0)
        a = A0.copy()
        for t in range(2):
            g_w, g_a = vp.grad(PROB, w, a, riemannian=True)
            w = w - eta * (g_w + sigma * z[t, :4])
            a = a - eta * (g_a + sigma * z[t, 4:])
            w = w / np.sqrt((w * w).sum())
            assert np.allclose(r.history.w[t + 1, i], w, rtol=0, atol=4e-16)
            assert np.allclose(r.history.a[t + 1, i], a, rtol=0, atol=4e-16)


def test_ball_noise_is_in_the_unit_ball_and_uniform_radius():
    z = vrng.chain_generator(1, 0).standard_normal((20000, 4 + 4 + 2))
    xi, ep = vrng.noise_from_normals(z, 4, 4, ball=True)
    r = np.linalg.norm(xi, axis=1)
    assert r.max() <= 1.0
    # r^p is uniform on (0, 1): KS test, false-failure probability 1e-7 at this threshold
    from scipy.stats import kstest
    assert kstest(r ** 4, "uniform").pvalue > 1e-7
    assert kstest(np.linalg.norm(ep, axis=1) ** 4, "uniform").pvalue > 1e-7


# --------------------------------------------------------------------------- result

def test_result_json_roundtrip_and_rerun():
    r = run(chains=3, record_states=True, noise="ball")
    d = json.loads(json.dumps(r.to_dict()))
    assert Result.from_dict(d) == r
    assert rerun(d["config"]) == r
    assert r.history.loss.shape == (len(r.history.step), 3)
    assert r.history.step[0] == 0 and r.history.step[-1] == SCHED.total_steps
    assert r.w.shape == (3, 4) and not r.w.flags.writeable


def test_result_from_dict_rejects_missing_keys():
    with pytest.raises(ValueError, match="result"):
        Result.from_dict({"w": []})


def test_hit_step_is_first_eps_success():
    prob = PROB
    w0 = prob.w_hat_star + 1e-3 * np.array([0, 1, 0, 0])
    r = vp.pgd(prob, w0, prob.a_star * 1.001, vp.Schedule.constant(0.0, 600), eta=0.2,
               eps=1e-6, record_every=1)
    ok = (r.history.theta[:, 0] <= 1e-6) & (r.history.a_error[:, 0] <= 1e-6)
    assert r.hit_step[0] == int(np.argmax(ok)) and ok.any()
    never = vp.pgd(prob, -prob.w_hat_star, prob.a_star, vp.Schedule.constant(0.0, 50), eta=0.2)
    assert never.hit_step[0] == -1


# --------------------------------------------------------------------------- divergence

@pytest.mark.parametrize("normalized", [True, False])
def test_divergence_flagged_frozen_and_finite(normalized):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(6, 4)) * np.array([[1e-3], [1], [10], [100], [1], [1]])
    with np.errstate(all="raise"):   # nothing may escape the solver's own errstate
        r = vp.pgd(PROB, W0, A, vp.Schedule.constant(0.0, 200), eta=60.0, chains=6,
                   normalized=normalized, record_every=1)
    assert r.diverged.all()
    assert np.all(r.diverged_step >= 1) and np.all(r.diverged_step <= 200)
    for arr in (r.w, r.a, r.history.loss, r.history.theta, r.history.a_error):
        assert np.all(np.isfinite(arr))
    bound = r.config["divergence_bound"]
    assert np.all(np.abs(r.a) <= bound)
    for i in range(6):
        # frozen: the recorded state is constant from the divergence step on
        s = r.diverged_step[i]
        assert np.all(r.history.loss[s - 1:, i] == r.history.loss[s - 1, i])
    # a stable step size is not flagged (negative control)
    ok = vp.pgd(PROB, W0, A, vp.Schedule.constant(0.0, 200), eta=0.1, chains=6)
    assert not ok.diverged.any() and np.all(ok.diverged_step == -1)


def test_divergence_in_high_precision_matches_float64():
    kw = dict(schedule=vp.Schedule.constant(0.0, 60), eta=60.0, record_every=5)
    f = run(**kw)
    m = run(precision=20, **kw)
    assert f.diverged[0] and m.diverged[0]
    assert f.diverged_step[0] == m.diverged_step[0]


# --------------------------------------------------------------------------- high precision

def test_mp_and_arb_follow_the_float64_path():
    f = run(record_states=True)
    m = run(record_states=True, precision=30)
    b = run(record_states=True, precision="arb:200")
    assert np.allclose(m.history.w, f.history.w, rtol=0, atol=1e-13)
    assert np.allclose(m.history.a, f.history.a, rtol=0, atol=1e-13)
    # the mp path (an independent rounding of the same exact path) lies in the arb enclosure
    assert np.all(np.abs(m.history.w - b.history.w) <= b.history.w_rad + np.spacing(np.abs(m.history.w)))
    assert np.all(np.abs(m.history.a - b.history.a) <= b.history.a_rad + np.spacing(np.abs(m.history.a)))
    assert m.exact is not None and len(m.exact["w"][0]) == 4
    assert "+/-" in b.exact["a"][0][0]
    # negative control: a different seed is a different path
    m2 = run(record_states=True, precision=30, seed=6)
    assert not np.allclose(m2.history.w, f.history.w, atol=1e-3)


@pytest.mark.parametrize("noise, normalized", [("ball", True), ("gaussian", False), ("ball", False)])
def test_hp_variants_follow_float64(noise, normalized):
    kw = dict(record_states=True, noise=noise, normalized=normalized)
    f = run(**kw)
    m = run(precision=20, **kw)
    b = run(precision="arb:200", **kw)
    assert np.allclose(m.history.w, f.history.w, rtol=0, atol=1e-13)
    assert np.allclose(m.history.a, f.history.a, rtol=0, atol=1e-13)
    # m is the float64 rounding (<= 1/2 ulp) of a 20-digit value of the exact path
    assert np.all(np.abs(m.history.a - b.history.a) <= b.history.a_rad + np.spacing(np.abs(m.history.a)))
    assert np.all(np.abs(m.history.w - b.history.w) <= b.history.w_rad + np.spacing(np.abs(m.history.w)))


def test_precision_forms():
    assert run(precision="mp:20").config["precision"] == 20
    assert run(precision=20) == run(precision="mp:20")


# --------------------------------------------------------------------------- mini-batch

def test_minibatch_gradient_single_sample_by_hand():
    rng = np.random.default_rng(4)
    w, a = rng.normal(size=4), rng.normal(size=4)
    Z = rng.normal(size=(1, 4, 4))
    f = sum(a[j] * max(w @ Z[0, j], 0) for j in range(4))
    y = sum(PROB.a_star[j] * max(PROB.w_star @ Z[0, j], 0) for j in range(4))
    g_a = np.array([(f - y) * max(w @ Z[0, j], 0) for j in range(4)])
    g_w = sum((f - y) * a[j] * (w @ Z[0, j] > 0) * Z[0, j] for j in range(4))
    gw, ga = minibatch_grad(PROB, w, a, Z)
    assert np.allclose(ga, g_a, rtol=1e-13) and np.allclose(gw, g_w, rtol=1e-13)
    gwr, _ = minibatch_grad(PROB, w, a, Z, riemannian=True)
    assert abs(gwr @ w) <= 1e-13 * np.abs(gw).max() * np.linalg.norm(w)


# --------------------------------------------------------------------------- float64 h

def test_h_is_elementwise_whatever_the_mix_of_branches():
    """Float64.h evaluates only the branches an array needs (the solver's hot path); an
    element's value must not depend on its neighbours, or chains would interact."""
    from verified_pgd.backends import Float64
    rng = np.random.default_rng(0)
    th = np.concatenate([rng.uniform(0, 1, 500), rng.uniform(1, np.pi, 500),
                         [0.0, 1e-300, 1 - 1e-16, 1.0, np.pi]])
    mixed = Float64.h(th)
    alone = np.array([Float64.h(np.array([x]))[0] for x in th])
    assert np.array_equal(mixed, alone)
    small = th < 1
    assert np.array_equal(Float64.h(th[small]), mixed[small])
    assert np.array_equal(Float64.h(th[~small]), mixed[~small])


# --------------------------------------------------------------------------- properties

from hypothesis import given, settings, strategies as st  # noqa: E402


@st.composite
def small_runs(draw):
    p, k = draw(st.integers(2, 5)), draw(st.integers(1, 5))
    vec = lambda n: st.lists(st.floats(-2, 2, allow_subnormal=False), min_size=n, max_size=n)
    w_star = draw(vec(p).filter(lambda v: np.linalg.norm(v) > 0.1))
    chains = draw(st.integers(1, 4))
    return dict(problem=vp.Problem(w_star, draw(vec(k))),
                w0=draw(vec(p).filter(lambda v: np.linalg.norm(v) > 0.1)), a0=draw(vec(k)),
                schedule=vp.Schedule([(draw(st.floats(0, 1)), 15), (0.0, 5)]),
                eta=draw(st.floats(0.01, 0.3)), seed=draw(st.integers(0, 2 ** 32)),
                chains=chains, noise=draw(st.sampled_from(["gaussian", "ball"])),
                normalized=draw(st.booleans()), record_every=4, record_states=True)


@pytest.mark.property
@settings(max_examples=15)
@given(small_runs())
def test_property_chain_is_its_own_run_and_sphere_is_kept(kw):
    r = vp.pgd(**kw)
    j = kw["chains"] - 1
    alone = vp.pgd(**(kw | dict(chains=1, first_chain=j)))
    assert np.array_equal(alone.history.w[:, 0], r.history.w[:, j])
    assert np.array_equal(alone.history.a[:, 0], r.history.a[:, j])
    assert alone.hit_step[0] == r.hit_step[j] and alone.diverged[0] == r.diverged[j]
    if kw["normalized"]:
        norms = np.linalg.norm(r.history.w, axis=-1)
        assert np.all(np.abs(norms - 1) <= 8 * np.finfo(float).eps)
    for arr in (r.history.loss, r.history.theta, r.history.a_error):
        assert np.all(np.isfinite(arr)) and np.all(arr >= 0)
    assert np.all(r.history.theta <= np.pi)
