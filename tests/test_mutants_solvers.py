"""Fast, direct tests of the solver engines (numpy, high precision) and their bookkeeping,
config, result, dispatch and parallel code, written against the mutants of the `solvers`
target (tools/mutation.py, docs/testing.md "Mutation testing").

Every engine run here passes ``engine="numpy"`` (or a high precision): the compiled kernel
compiles ``bookkeeping.is_hit``/``step_ok`` with numba, which cannot compile mutmut's
trampolines, so this file never starts it.  Expected values come from an independent
re-implementation in the test: a plain loop over the chain's documented random stream
(``Generator(SFC64(SeedSequence(seed, spawn_key=(i,))))``, per step ``p + k [+ 2]`` noise
normals then ``B k p`` mini-batch normals), the public closed-form gradient ``vp.grad``
(or ``vp.grad_mp``), and per-sample gradients summed by hand.
"""
import json
import math
import os

import mpmath
import numpy as np
import pytest
from scipy.stats import norm

import verified_pgd as vp
from verified_pgd.solver import api, bookkeeping, config, engines, highprec, parallel
from verified_pgd.solver import numpy as npeng
from verified_pgd.solver.result import History, Result

PROB = vp.Problem([0.9, -0.4, 0.3], [1.0, -0.6])        # p = 3, k = 2: tiny and asymmetric
W0 = np.array([0.2, 0.9, -0.5])
A0 = np.array([0.4, 0.7])


def _gen(seed, i):
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(i,))))


def _stages():
    # own eta per stage, sigma_w != sigma_a, a stage longer than a 64-step block, one
    # sigma zero on its own (still draws a record), a noise-free stage (draws none)
    return vp.Schedule([vp.Stage(3, 0.07, 0.4, 0.2), vp.Stage(70, 0.02, 0.05, 0.03),
                        vp.Stage(2, 0.05, 0.0, 0.03), vp.Stage(3, 0.03, 0.0, 0.0)])


def _sample_grad(prob, w, a, Z):
    """Mini-batch gradient summed sample by sample (f(z) = sum_j a_j relu(w . z_j))."""
    B = Z.shape[0]
    g_w, g_a = np.zeros_like(w), np.zeros_like(a)
    for b in range(B):
        h = Z[b] @ w
        res = a @ np.maximum(h, 0) - prob.a_star @ np.maximum(Z[b] @ prob.w_star, 0)
        g_a += res * np.maximum(h, 0) / B
        for j in range(len(a)):
            if h[j] > 0:
                g_w += res * a[j] * Z[b, j] / B
    return g_w, g_a


def _ref_path(prob, w0, a0, stages, seed, chain, normalized, ball, batch):
    """States 0..T of one chain, by the documented rules, plain numpy."""
    p, k = prob.p, prob.k
    g = _gen(seed, chain)
    w, a = np.array(w0, float), np.array(a0, float)
    if normalized:
        w = w / np.linalg.norm(w)
    path = [(w, a)]
    for st in stages:
        for _ in range(st.steps):
            noisy = st.sigma_w > 0 or st.sigma_a > 0
            if noisy:
                z = g.standard_normal(p + k + (2 if ball else 0))
                xi, ep = z[:p], z[p:p + k]
                if ball:
                    xi = xi / np.linalg.norm(xi) * norm.cdf(z[p + k]) ** (1 / p)
                    ep = ep / np.linalg.norm(ep) * norm.cdf(z[p + k + 1]) ** (1 / k)
            else:
                xi, ep = np.zeros(p), np.zeros(k)
            if batch:
                Z = g.standard_normal(batch * k * p).reshape(batch, k, p)
                g_w, g_a = _sample_grad(prob, w, a, Z)
                if normalized:
                    wh = w / np.linalg.norm(w)
                    g_w = g_w - (g_w @ wh) * wh
            else:
                g_w, g_a = vp.grad(prob, w, a, riemannian=normalized)
            w = w - st.eta * (g_w + st.sigma_w * xi)
            a = a - st.eta * (g_a + st.sigma_a * ep)
            if normalized:
                w = w / np.linalg.norm(w)
            path.append((w, a))
    return path


def _theta(prob, w):
    c = w @ prob.w_hat_star / np.linalg.norm(w)
    return math.acos(max(-1.0, min(1.0, c)))


def _a_error(prob, w, a):
    sa = prob.s * prob.a_star
    return np.linalg.norm(np.linalg.norm(w) * a - sa) / np.linalg.norm(sa)


def _pgd(**kw):
    args = dict(problem=PROB, w0=W0, a0=A0, schedule=_stages(), seed=11, record_every=1,
                record_states=True, engine="numpy")
    args.update(kw)
    return vp.pgd(**args)


# --------------------------------------------------------------------------- numpy engine

@pytest.mark.parametrize("normalized, noise, gradient", [
    (True, "gaussian", "population"), (False, "ball", "population"),
    (True, "ball", 2), (False, "gaussian", 3)])
def test_numpy_engine_path_is_the_documented_recursion(normalized, noise, gradient):
    batch = None if gradient == "population" else gradient
    rng = np.random.default_rng(4)
    Wm, Am = W0 + 0.3 * rng.normal(size=(3, 3)), A0 + 0.3 * rng.normal(size=(3, 2))
    r = _pgd(w0=Wm, a0=Am, chains=3, first_chain=2, chunk_size=2, normalized=normalized,
             noise=noise, gradient=gradient)
    T = _stages().total_steps
    assert np.array_equal(r.history.step, np.arange(T + 1))
    for i in range(3):
        path = _ref_path(PROB, Wm[i], Am[i], _stages().stages, 11, 2 + i, normalized,
                         noise == "ball", batch)
        Wr = np.array([w for w, _ in path])
        Ar = np.array([a for _, a in path])
        np.testing.assert_allclose(r.history.w[:, i], Wr, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.history.a[:, i], Ar, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.w[i], Wr[-1], rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.a[i], Ar[-1], rtol=0, atol=1e-12)
        np.testing.assert_allclose(r.history.loss[:, i],
                                   [vp.loss(PROB, w, a) for w, a in path], rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(r.history.theta[:, i], [_theta(PROB, w) for w, _ in path],
                                   rtol=0, atol=1e-7)
        np.testing.assert_allclose(r.history.a_error[:, i],
                                   [_a_error(PROB, w, a) for w, a in path], rtol=1e-10, atol=1e-14)
    assert not r.diverged.any() and np.all(r.diverged_step == -1)


def test_numpy_engine_bitwise_the_same_over_chunks_chains_and_first_chain():
    rng = np.random.default_rng(5)
    Wm, Am = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    for kw in (dict(), dict(noise="ball", normalized=False), dict(gradient=2)):
        whole = _pgd(w0=Wm, a0=Am, chains=5, **kw)
        for cs in (1, 2, 3):
            chunked = _pgd(w0=Wm, a0=Am, chains=5, chunk_size=cs, **kw)
            assert chunked == whole and chunked.config["engine"] == "numpy"
        alone = _pgd(w0=Wm[3], a0=Am[3], chains=1, first_chain=3, **kw)
        assert np.array_equal(alone.history.w[:, 0], whole.history.w[:, 3])
        assert np.array_equal(alone.history.a[:, 0], whole.history.a[:, 3])


def test_numpy_engine_default_chunking_matches_one_chain_runs():
    # 200 chains: more than one default chunk for the mini-batch (B k p = 18: chunk 29127?)
    # and the population gradient with the default chunk of max(64, 16384 // 3) chains
    rng = np.random.default_rng(6)
    M = 70
    Wm, Am = rng.normal(size=(M, 3)), rng.normal(size=(M, 2))
    sched = vp.Schedule([vp.Stage(3, 0.05, 0.2, 0.2)])
    for grad in ("population", 500):
        big = _pgd(w0=Wm, a0=Am, chains=M, schedule=sched, gradient=grad)
        small = _pgd(w0=Wm, a0=Am, chains=M, schedule=sched, gradient=grad, chunk_size=7)
        assert big == small
    # a mini-batch large enough that the default chunk is smaller than the run
    grad = 2 ** 16
    sched1 = vp.Schedule([vp.Stage(1, 0.05, 0.0, 0.0)])
    big = _pgd(w0=Wm[:3], a0=Am[:3], chains=3, schedule=sched1, gradient=grad)
    one = _pgd(w0=Wm[2], a0=Am[2], chains=1, first_chain=2, schedule=sched1, gradient=grad)
    assert np.array_equal(big.w[2], one.w[0])


def test_f64_terms_are_the_closed_form_gradient_and_angle():
    rng = np.random.default_rng(7)
    W, A = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    for riem in (False, True):
        g_w, g_a, theta, r = npeng.f64_terms(PROB.w_hat_star, PROB.a_star, PROB.s, W, A,
                                             riemannian=riem)
        for i in range(4):
            gw, ga = vp.grad(PROB, W[i], A[i], riemannian=riem)
            np.testing.assert_allclose(g_w[i], gw, rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(g_a[i], ga, rtol=1e-13, atol=1e-15)
            assert abs(theta[i] - _theta(PROB, W[i])) < 1e-7
            np.testing.assert_allclose(np.linalg.norm(r[i]),
                                       _a_error(PROB, W[i], A[i]) * PROB.s * np.linalg.norm(PROB.a_star),
                                       rtol=1e-12)


@pytest.mark.parametrize("riemannian", [False, True])
def test_minibatch_grad_is_the_sum_of_sample_gradients(riemannian):
    rng = np.random.default_rng(8)
    w, a = rng.normal(size=(2, 3, 3)), rng.normal(size=(2, 3, 2))
    Z = rng.normal(size=(2, 3, 4, 2, 3))
    g_w, g_a = npeng.minibatch_grad(PROB, w, a, Z, riemannian=riemannian)
    assert g_w.shape == (2, 3, 3) and g_a.shape == (2, 3, 2)
    for idx in np.ndindex(2, 3):
        gw, ga = _sample_grad(PROB, w[idx], a[idx], Z[idx])
        if riemannian:
            wh = w[idx] / np.linalg.norm(w[idx])
            gw = gw - (gw @ wh) * wh
        np.testing.assert_allclose(g_w[idx], gw, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g_a[idx], ga, rtol=1e-12, atol=1e-14)
    # lists are accepted as arrays (the conversion to float64)
    gl = npeng.minibatch_grad(PROB, w[0, 0].tolist(), a[0, 0].tolist(), Z[0, 0].tolist())
    assert np.array_equal(gl[0], npeng.minibatch_grad(PROB, w[0, 0], a[0, 0], Z[0, 0])[0])


# --------------------------------------------------------------------------- bookkeeping

def _first(flags):
    idx = [t for t, f in enumerate(flags) if f]
    return idx[0] if idx else -1


@pytest.mark.parametrize("start", ["theta_first", "a_first", "both"])
def test_hit_step_is_the_first_state_meeting_both_conditions(start):
    """GD (no noise) from a start where one condition holds long before the other; the
    hit is the first state index with theta <= eps and a-error <= eps, also between the
    recorded steps (record_every > T: only 0 and T are recorded)."""
    eps = 2e-3
    sa = PROB.s * PROB.a_star
    if start == "theta_first":
        w0, a0 = PROB.w_star.copy(), sa * 1.3
    elif start == "a_first":
        w0, a0 = PROB.w_star + np.array([0.0, 0.05, 0.0]), sa.copy()
    else:
        w0, a0 = PROB.w_star + np.array([0.0, 0.03, 0.01]), sa * 1.1
    sched = vp.Schedule([vp.Stage(200, 0.3, 0.0, 0.0)])
    path = _ref_path(PROB, w0, a0, sched.stages, 0, 0, True, False, None)
    th = [_theta(PROB, w) for w, _ in path]
    ae = [_a_error(PROB, w, a) for w, a in path]
    hit = _first([t <= eps and e <= eps for t, e in zip(th, ae)])
    assert 0 < hit < 200
    assert _first([t <= eps for t in th]) != hit or _first([e <= eps for e in ae]) != hit
    # no near-ties at the decisive step
    assert abs(th[hit] - eps) > 1e-9 or abs(ae[hit] - eps) > 1e-9
    for prec in ("float64", 20):
        r = vp.pgd(PROB, w0, a0, sched, seed=0, eps=eps, record_every=1000, precision=prec,
                   engine="numpy")
        assert r.hit_step[0] == hit, prec
        assert r.success[0]
        assert np.array_equal(r.history.step, [0, 200])


def test_hit_at_state_zero_and_never():
    sa = PROB.s * PROB.a_star
    sched = vp.Schedule([vp.Stage(3, 0.1, 0.0, 0.0)])
    r = vp.pgd(PROB, PROB.w_star, sa, sched, engine="numpy")
    assert r.hit_step[0] == 0
    r = vp.pgd(PROB, W0, A0, sched, engine="numpy")
    assert r.hit_step[0] == -1 and not r.success[0]


def _ref_divergence(prob, w0, a0, eta, steps, bound):
    """First state index whose |w| leaves [1/b, b] or a coordinate of a leaves [-b, b] or
    whose loss is not finite (free parametrization, GD), by hand."""
    w, a = np.array(w0, float), np.array(a0, float)
    states = [(w, a)]
    with np.errstate(all="ignore"):
        for t in range(steps):
            g_w, g_a = vp.grad(prob, w, a) if np.all(np.isfinite(w)) else (w * np.nan, a * np.nan)
            w, a = w - eta * g_w, a - eta * g_a
            u = np.linalg.norm(w)
            ok = (1 / bound <= u <= bound) and np.all(np.abs(a) <= bound)
            if not ok:
                return t + 1, states
            states.append((w, a))
    return -1, states


@pytest.mark.parametrize("prec", ["float64", 20])
def test_divergence_step_and_frozen_state(prec):
    w0, a0, eta, steps, bound = np.array([2.0, 1.5, -1.0]), np.array([3.0, -2.5]), 0.5, 30, 40.0
    d, states = _ref_divergence(PROB, w0, a0, eta, steps, bound)
    assert 2 < d < steps
    sched = vp.Schedule([vp.Stage(steps, eta, 0.0, 0.0)])
    r = vp.pgd(PROB, w0, a0, sched, normalized=False, divergence_bound=bound, record_every=1,
               record_states=True, precision=prec, engine="numpy")
    assert r.diverged[0] and r.diverged_step[0] == d and r.hit_step[0] == -1
    wf, af = states[-1]
    np.testing.assert_allclose(r.w[0], wf, rtol=1e-12)
    np.testing.assert_allclose(r.a[0], af, rtol=1e-12)
    # the history after the divergence holds the frozen state, finite
    assert np.all(np.isfinite(r.history.loss)) and np.all(np.isfinite(r.history.a))
    np.testing.assert_allclose(r.history.a[d:, 0], np.broadcast_to(af, (steps + 1 - d, 2)),
                               rtol=1e-12)
    np.testing.assert_allclose(r.history.a[d - 1, 0], af, rtol=1e-12)
    # the same with a larger bound: later (or no) divergence
    r2 = vp.pgd(PROB, w0, a0, sched, normalized=False, divergence_bound=bound * 1e3,
                record_every=1, precision=prec, engine="numpy")
    assert r2.diverged_step[0] == -1 or r2.diverged_step[0] > d


def test_divergence_of_one_chain_leaves_the_others_alone():
    w0 = np.array([[2.0, 1.5, -1.0], [0.2, 0.9, -0.5]])
    a0 = np.array([[3.0, -2.5], [0.4, 0.7]])
    sched = vp.Schedule([vp.Stage(30, 1.2, 0.0, 0.0)])
    both = vp.pgd(PROB, w0, a0, sched, normalized=False, divergence_bound=40.0, chains=2,
                  engine="numpy", record_every=1, record_states=True)
    calm = vp.pgd(PROB, w0[1], a0[1], sched, normalized=False, divergence_bound=40.0,
                  first_chain=1, engine="numpy", record_every=1, record_states=True)
    assert both.diverged.tolist() == [True, False]
    assert np.array_equal(both.history.w[:, 1], calm.history.w[:, 0])
    assert both.hit_step[1] == calm.hit_step[0]


def test_small_norm_of_w_is_a_divergence_in_the_free_parametrization():
    # w shrinks below 1/bound: a-step pushes, w-step pulls |w| down
    d_bound = 1.5
    sched = vp.Schedule([vp.Stage(40, 0.5, 0.0, 0.0)])
    w0, a0 = np.array([0.9, 0.1, 0.0]), np.array([-1.0, 0.6])
    d, states = _ref_divergence(PROB, w0, a0, 0.5, 40, d_bound)
    assert d > 0
    u = np.linalg.norm(states[-1][0])
    r = vp.pgd(PROB, w0, a0, sched, normalized=False, divergence_bound=d_bound, engine="numpy")
    assert r.diverged_step[0] == d


def test_loss_overflow_at_a_recorded_state_is_a_divergence():
    """With a huge bound the loss overflows before a bound is left: the state whose loss
    is not finite is flagged, the chain kept at the state before, nothing non-finite
    recorded."""
    bound = 1e300
    w0, a0, eta = np.array([2.0, 1.5, -1.0]), np.array([3.0, -2.5]), 1.2
    w, a = w0.copy(), a0.copy()
    states = [(w, a)]
    d = -1
    with np.errstate(all="ignore"):
        for t in range(200):
            g_w, g_a = vp.grad(PROB, w, a)
            w, a = w - eta * g_w, a - eta * g_a
            u = np.linalg.norm(w)
            if not (1 / bound <= u <= bound and np.all(np.abs(a) <= bound)) or \
                    not np.isfinite(vp.loss(PROB, w, a)):
                d = t + 1
                break
            states.append((w, a))
    assert d > 0 and np.all(np.abs(states[-1][1]) <= bound)
    sched = vp.Schedule([vp.Stage(d + 5, eta, 0.0, 0.0)])
    r = vp.pgd(PROB, w0, a0, sched, normalized=False, divergence_bound=bound, record_every=1,
               engine="numpy")
    assert r.diverged_step[0] == d
    assert np.all(np.isfinite(r.history.loss)) and np.all(np.isfinite(r.w))
    np.testing.assert_allclose(r.w[0], states[-1][0], rtol=1e-10)
    assert r.history.loss[-1, 0] == r.history.loss[d - 1, 0]


def test_step_ok_and_is_hit_rules_one_comparison_at_a_time():
    ok = bookkeeping.step_ok
    assert ok(1.0, 2.0, -2.0, 0.5, 2.0, 2.0)
    assert not ok(0.4, 0.0, 0.0, 0.5, 2.0, 2.0)          # |w| < lo
    assert not ok(2.1, 0.0, 0.0, 0.5, 2.0, 2.0)          # |w| > hi
    assert ok(0.5, 0.0, 0.0, 0.5, 2.0, 2.0) and ok(2.0, 0.0, 0.0, 0.5, 2.0, 2.0)
    assert not ok(0.0, 0.0, 0.0, 0.0, np.inf, 2.0)       # |w| = 0
    assert not ok(np.inf, 0.0, 0.0, 0.0, np.inf, 2.0)    # |w| = inf
    assert not ok(np.nan, 0.0, 0.0, 0.0, np.inf, 2.0)
    assert not ok(1.0, 2.1, 0.0, 0.0, np.inf, 2.0)       # a_j > bound
    assert not ok(1.0, 0.0, -2.1, 0.0, np.inf, 2.0)      # a_j < -bound
    assert ok(1.0, 2.0, -2.0, 0.0, np.inf, 2.0)
    assert not ok(1.0, np.nan, 0.0, 0.0, np.inf, 2.0)
    v = ok(np.array([1.0, 3.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]), 0.5, 2.0, 2.0)
    assert v.tolist() == [True, False]
    hit = bookkeeping.is_hit
    assert hit(0.1, 0.2, 0.1, 2.0)                     # both at equality: a hit
    assert not hit(0.11, 0.0, 0.1, 2.0) and not hit(0.0, 0.21, 0.1, 2.0)
    assert not hit(np.nan, 0.0, 0.1, 2.0) and not hit(0.0, np.nan, 0.1, 2.0)


def test_norm_bounds():
    cfg = config.build_config(PROB, W0, A0, [(0.1, 2)], eta=0.1, divergence_bound=8.0,
                              engine="numpy")
    assert bookkeeping.norm_bounds(cfg) == (0.0, np.inf)
    cfg = config.build_config(PROB, W0, A0, [(0.1, 2)], eta=0.1, divergence_bound=8.0,
                              normalized=False, engine="numpy")
    assert bookkeeping.norm_bounds(cfg) == (1 / 8.0, 8.0)


def _cfg(M=3, R_every=1, T=4, **kw):
    return config.build_config(PROB, W0, A0, vp.Schedule([vp.Stage(T, 0.1, 0.0, 0.0)]),
                               chains=M, record_every=R_every, engine="numpy", **kw)


def test_outputs_absorb_applies_the_run_rules_and_fills_its_slice():
    cfg = _cfg(M=4, record_states=True)
    out = bookkeeping.Outputs(cfg, {"w": 3, "a": 2})
    R = len(cfg.record_steps)
    assert out.loss.shape == out.theta.shape == out.a_error.shape == (R, 4)
    assert set(out.states) == {"w", "a"} and out.states["w"].shape == (R, 4, 3)
    assert np.all(out.hit == -1) and np.all(out.div == -1)
    vals = np.arange(R * 2, dtype=float).reshape(R, 2)
    out.absorb(1, 3, np.array([2, 3]), np.array([-1, 1]), vals, vals + 1, vals + 2,
               {"w": np.ones((R, 2, 3)), "a": np.zeros((R, 2, 2))})
    assert out.hit.tolist() == [-1, 2, -1, -1]         # the diverged chain has no hit
    assert out.div.tolist() == [-1, -1, 1, -1]
    assert np.array_equal(out.loss[:, 1:3], vals) and np.array_equal(out.theta[:, 1:3], vals + 1)
    assert np.array_equal(out.a_error[:, 1:3], vals + 2)
    assert np.all(out.states["w"][:, 1:3] == 1)
    for name in ("loss", "theta", "a_error"):
        bad = [vals, vals, vals]
        bad[["loss", "theta", "a_error"].index(name)] = vals * np.nan
        with pytest.raises(RuntimeError, match=f"non-finite {name} was recorded"):
            out.absorb(0, 2, np.array([0, 0]), np.array([-1, -1]), *bad)
    r = out.result(np.zeros((4, 3)), np.zeros((4, 2)))
    assert r.diverged.tolist() == [False, False, True, False]
    assert r.diverged_step.tolist() == [-1, -1, 1, -1]
    assert r.hit_step.tolist() == [-1, 2, -1, -1]
    assert r.seed == cfg.seed and r.config == cfg.to_dict()
    assert np.array_equal(r.history.w[:, 1:3], np.ones((R, 2, 3)))
    assert np.array_equal(r.history.step, cfg.record_steps)


def test_outputs_radii_and_history_override():
    cfg = _cfg(M=2, record_states=True)
    out = bookkeeping.Outputs(cfg, {"w": 3, "a": 2}, radii=True)
    assert set(out.states) == {"w", "a", "w_rad", "a_rad"}
    assert out.states["a_rad"].shape == (len(cfg.record_steps), 2, 2)
    for v in out.states.values():
        v[...] = 0.5
    for v in (out.loss, out.theta, out.a_error):
        v[...] = 1.0
    lifted = np.full((len(cfg.record_steps), 2, 3), 7.0)
    r = out.result(np.zeros((2, 3)), np.zeros((2, 2)), exact={"w": [], "a": []},
                   history_states={"w": lifted})
    assert np.all(r.history.w == 7.0) and np.all(r.history.a_rad == 0.5)
    assert np.all(r.history.w_rad == 0.5) and np.all(r.history.a == 0.5)
    assert r.exact == {"w": [], "a": []}
    out2 = bookkeeping.Outputs(_cfg(M=2), {"w": 3, "a": 2}, radii=True)
    assert out2.states == {}


def test_book_observe_records_only_at_record_steps_and_hits_between():
    cfg = _cfg(M=2, R_every=3, T=7)       # records 0, 3, 6, 7
    out = bookkeeping.Outputs(cfg, {"w": 3, "a": 2})
    out.loss[...] = out.theta[...] = out.a_error[...] = -1
    book = bookkeeping.Book(cfg, out, 0, 2, 2.0)
    calls = []

    def ev(t):
        def evaluate(state):
            th = np.array([1.0, 1e-9]) if t >= 5 else np.array([1.0, 1.0])
            return bookkeeping.Observation(th, lambda: (calls.append(t), np.array([0.0, 0.0]))[1],
                                           lambda: np.full(2, float(t)),
                                           a_error=None), "payload"
        return evaluate

    for t in range(8):
        st, pay = book.observe(t, ("s",), ("p",), ev(t), None)
        assert pay == "payload" and st == ("s",)
    # nr evaluated only where a theta <= eps or a record is due
    assert calls == [0, 3, 5, 6, 7]
    assert out.loss[:, 0].tolist() == [0.0, 3.0, 6.0, 7.0]
    assert out.theta[:, 1].tolist() == [1.0, 1.0, 1e-9, 1e-9]
    assert out.a_error[:, 0].tolist() == [0.0] * 4
    book.finish()
    assert out.hit.tolist() == [-1, 5]
    assert out.div.tolist() == [-1, -1]


def test_book_a_error_default_and_custom():
    cfg = _cfg(M=1, T=1)
    out = bookkeeping.Outputs(cfg, {"w": 3, "a": 2})
    book = bookkeeping.Book(cfg, out, 0, 1, 4.0)
    obs = bookkeeping.Observation(np.array([1.0]), np.array([2.0]), lambda: np.array([0.0]))
    book.observe(0, 0, 0, lambda s: (obs, None), None)
    assert out.a_error[0, 0] == 0.5
    obs = bookkeeping.Observation(np.array([1.0]), np.array([2.0]), lambda: np.array([0.0]),
                                  a_error=lambda: np.array([0.25]))
    book.observe(1, 0, 0, lambda s: (obs, None), None)
    assert out.a_error[1, 0] == 0.25


def test_book_observe_non_finite_flags_and_reverts_and_a_second_failure_raises():
    cfg = _cfg(M=3, T=4)
    out = bookkeeping.Outputs(cfg, {"w": 3, "a": 2})
    book = bookkeeping.Book(cfg, out, 0, 3, 1.0)
    good, bad_ = np.array([1.0, 1.0, 1.0]), np.array([1.0, np.nan, 1.0])

    def evaluate(state):
        th = bad_ if state == "new" else good
        loss = np.array([1.0, 1.0, np.inf]) if state == "new" else np.ones(3)
        return bookkeeping.Observation(th, np.zeros(3), lambda: loss), state

    def select(mask, prev, state):
        assert mask.tolist() == [False, True, True]
        return "prev"

    st, pay = book.observe(2, "new", "prev", evaluate, select)
    assert st == "prev" and pay == "prev"
    assert book.div.tolist() == [-1, 2, 2] and book.frozen.tolist() == [False, True, True]
    assert book.any_frozen
    assert out.loss[2].tolist() == [1.0, 1.0, 1.0]
    # a frozen chain flagged again keeps its first divergence step
    book.observe(3, "new", "prev", evaluate, select)
    assert book.div.tolist() == [-1, 2, 2]

    def always_bad(state):
        return bookkeeping.Observation(bad_, np.zeros(3), lambda: np.ones(3)), None

    with pytest.raises(RuntimeError, match="step 4: a frozen chain's previous state is not finite"):
        book.observe(4, "new", "prev", always_bad, lambda m, p, s: s)


def test_book_check_step_hold_and_finish():
    cfg = config.build_config(PROB, W0, A0, [(0.1, 3)], eta=0.1, divergence_bound=10.0,
                              normalized=False, chains=3, engine="numpy")
    out = bookkeeping.Outputs(cfg, {"w": 3, "a": 2})
    book = bookkeeping.Book(cfg, out, 0, 3, 1.0)
    a_ok = np.zeros((3, 2))
    old, new = np.zeros((3, 2)), np.ones((3, 2))
    assert book.hold(new, old) is new
    book.check_step(0, np.array([1.0, 1.0, 1.0]), a_ok)
    assert book.div.tolist() == [-1, -1, -1] and not book.any_frozen
    book.check_step(0, np.array([1.0, 11.0, 1.0]), a_ok)       # only the max |w| too big
    assert book.div.tolist() == [-1, 1, -1]
    book.check_step(1, np.array([1.0, 1.0, 0.05]), a_ok)       # |w| < 1/bound
    assert book.div.tolist() == [-1, 1, 2]
    assert np.array_equal(book.hold(new, old), [[1, 1], [0, 0], [0, 0]])
    h3 = book.hold(np.ones((3, 2, 2)), np.zeros((3, 2, 2)))
    assert h3[0].min() == 1 and h3[1].max() == 0
    # a frozen chain is not flagged again; extra_bad flags an otherwise fine chain
    book.check_step(2, np.array([1.0, 1e9, 1e9]), a_ok)
    assert book.div.tolist() == [-1, 1, 2]
    book.check_step(2, np.array([1.0, 1.0, 1.0]), a_ok, np.array([True, False, False]))
    assert book.div.tolist() == [3, 1, 2]
    book.hit[:] = [1, 2, 3]
    book.finish()
    assert out.div.tolist() == [3, 1, 2] and out.hit.tolist() == [-1, -1, -1]
    # a coordinate of a beyond the bound (either sign) at one chain only
    book2 = bookkeeping.Book(cfg, out, 0, 3, 1.0)
    book2.check_step(0, np.ones(3), np.array([[0.0, 0.0], [0.0, 10.5], [-10.5, 0.0]]))
    assert book2.div.tolist() == [-1, 1, 1]
    book3 = bookkeeping.Book(cfg, out, 1, 3, 1.0)
    book3.hit[:] = [4, 5]
    book3.finish()
    assert out.hit.tolist() == [-1, 4, 5] and out.div.tolist() == [3, -1, -1]


# --------------------------------------------------------------------------- config

def test_config_to_dict_and_defaults():
    sched = vp.Schedule([(0.2, 30), (0.0, 20)])
    cfg = config.build_config(PROB, W0, A0, sched, eta=0.05, seed=3, chains=2, engine="numpy")
    d = cfg.to_dict()
    assert d == {
        "problem": PROB.to_dict(), "w0": W0.tolist(), "a0": A0.tolist(),
        "schedule": sched.to_dict(), "eta": 0.05, "seed": 3, "chains": 2, "normalized": True,
        "noise": "gaussian", "gradient": "population", "precision": "float64",
        "record_every": 1, "eps": 1e-6, "record_states": False,
        "divergence_bound": 1e6 * max(1.0, PROB.s * 1.0, 0.7, float(np.linalg.norm(W0))),
        "first_chain": 0, "bit_generator": "SFC64", "engine": "numpy"}
    assert json.loads(json.dumps(d)) == d
    assert cfg.record_every == 1                       # max(1, 50 // 100)
    cfg = config.build_config(PROB, W0, A0, vp.Schedule([(0.2, 250)]), eta=0.05,
                              gradient=4, noise="ball", normalized=False, eps=0.25,
                              record_states=True, first_chain=5, divergence_bound=7.5,
                              engine="numpy")
    d = cfg.to_dict()
    assert d["record_every"] == 2 and d["gradient"] == 4 and d["noise"] == "ball"
    assert d["normalized"] is False and d["eps"] == 0.25 and d["record_states"] is True
    assert d["first_chain"] == 5 and d["divergence_bound"] == 7.5
    assert cfg.ball and cfg.batch == 4 and cfg.total_steps == 250
    assert np.array_equal(cfg.record_steps, np.arange(0, 251, 2))
    assert cfg.W0.shape == (1, 3) and not cfg.W0.flags.writeable and not cfg.w0.flags.writeable
    assert not cfg.a0.flags.writeable and not cfg.A0.flags.writeable
    assert config.build_config(PROB, W0, A0, vp.Schedule([(0.2, 99)]), eta=0.05,
                               engine="numpy").record_every == 1
    cfg = config.build_config(PROB, W0, A0, [(0.1, 3)], eta=0.1, precision=25)
    assert cfg.to_dict()["precision"] == 25 and cfg.kind == "mp" and cfg.prec == 25
    assert cfg.engine == "numpy"
    cfg = config.build_config(PROB, W0, A0, [(0.1, 3)], eta=0.1, precision="arb:80")
    assert cfg.to_dict()["precision"] == "arb:80" and cfg.precision == "arb:80"
    cfg = config.build_config(PROB, W0, A0, [(0.1, 3)], eta=0.1, reduced=True, engine="numpy")
    d = cfg.to_dict()
    assert d["reduced"] is True and d["stream"] == ("reduced:SeedSequence([seed, 0x52454455], "
                                                   "spawn_key=(chain, 0|1))")
    assert config.REDUCED_STREAM_TAG == int.from_bytes(b"REDU", "big")


def test_default_divergence_bound_takes_the_largest_scale():
    sched = [(0.1, 2)]
    small = vp.Problem([0.5, 0.0, 0.0], [1.0, -0.6])           # s |a*|_inf = 0.5
    w0s, a0s = [0.3, 0.1, 0.0], [0.2, 0.1]
    for w0, a0, big in [(w0s, a0s, 1.0), (w0s, [30.0, -2.0], 30.0), (w0s, [1.0, -40.0], 40.0),
                        ([[0.0, 50.0, 0.0], [1.0, 0.0, 0.0]], [[1.0, 2.0]] * 2, 50.0)]:
        cfg = config.build_config(small, w0, a0, sched, eta=0.1, chains=np.shape(w0)[0]
                                  if np.ndim(w0) == 2 else 1, engine="numpy")
        assert cfg.divergence_bound == 1e6 * big
    for w0, a0, big in [
                        (W0, [30.0, -2.0], 30.0),
                        (W0, [1.0, -40.0], 40.0),
                        ([[0.0, 50.0, 0.0], [1.0, 0.0, 0.0]], [1.0, 2.0], 50.0)]:
        cfg = config.build_config(PROB, w0, a0, sched, eta=0.1, chains=np.shape(w0)[0]
                                  if np.ndim(w0) == 2 else 1, engine="numpy")
        assert cfg.divergence_bound == 1e6 * big
    big_teacher = vp.Problem([30.0, 40.0, 0.0], [2.0, -1.0])
    cfg = config.build_config(big_teacher, W0, A0, sched, eta=0.1, engine="numpy")
    assert cfg.divergence_bound == 1e6 * 100.0


def test_record_steps():
    for total, every in [(10, 3), (9, 3), (1, 1), (5, 7)]:
        want = sorted(set(range(0, total + 1, every)) | {total})
        got = config.record_steps(total, every)
        assert got.tolist() == want and got.dtype == np.int64 and not got.flags.writeable


def test_segments_resolve_eta_and_noisy():
    sched = vp.Schedule([vp.Stage(2, 0.5, 0.2, 0.0), vp.Stage(3, 0.25, 0.0, 0.0)])
    cfg = config.build_config(PROB, W0, A0, sched, engine="numpy")
    segs = cfg.segments
    assert [(s.start, s.stop, s.eta, s.sigma_w, s.sigma_a) for s in segs] == [
        (0, 2, 0.5, 0.2, 0.0), (2, 5, 0.25, 0.0, 0.0)]
    assert [s.noisy for s in segs] == [True, False]
    assert config.Segment(0, 1, 0.1, 0.0, 0.3).noisy
    cfg = config.build_config(PROB, W0, A0, [(0.1, 2), (0.0, 3)], eta=0.3, engine="numpy")
    assert [(s.start, s.stop, s.eta) for s in cfg.segments] == [(0, 2, 0.3), (2, 5, 0.3)]
    assert cfg.eta == 0.3


def test_block_is_a_run_of_its_own():
    Wm, Am = np.arange(12.0).reshape(4, 3) + 1, np.arange(8.0).reshape(4, 2)
    cfg = config.build_config(PROB, Wm, Am, [(0.1, 2)], eta=0.1, chains=4, first_chain=2,
                              engine="numpy")
    b = cfg.block(1, 3)
    assert b.chains == 2 and b.first_chain == 3
    assert np.array_equal(b.W0, Wm[1:3]) and np.array_equal(b.A0, Am[1:3])
    assert np.array_equal(b.w0, Wm[1:3]) and np.array_equal(b.a0, Am[1:3])
    cfg1 = config.build_config(PROB, W0, A0, [(0.1, 2)], eta=0.1, chains=4, engine="numpy")
    b1 = cfg1.block(1, 3)
    assert np.array_equal(b1.w0, W0) and np.array_equal(b1.a0, A0)
    assert b1.W0.shape == (2, 3)


@pytest.mark.parametrize("kw, exc, words", [
    (dict(problem="p"), TypeError, "problem: expected a verified_pgd.Problem, got str"),
    (dict(eta=None), ValueError, "eta: required"),
    (dict(schedule=vp.Schedule([vp.Stage(2, 0.1, 0.1, 0.1)])), ValueError,
     "eta: the schedule carries its own step size"),
    (dict(eta=-1.0), ValueError, "eta"),
    (dict(seed=-1), ValueError, "seed"), (dict(chains=0), ValueError, "chains"),
    (dict(first_chain=-1), ValueError, "first_chain"),
    (dict(normalized=1), TypeError, "normalized: expected True or False, got 1"),
    (dict(reduced="yes"), TypeError, "reduced: expected True or False"),
    (dict(record_states=None), TypeError, "record_states: expected True or False"),
    (dict(noise="uniform"), ValueError, "noise"),
    (dict(gradient=True), ValueError, "gradient: expected 'population' or an integer batch size, got True"),
    (dict(gradient=2.0), ValueError, "gradient: expected 'population' or an integer"),
    (dict(gradient="pop"), ValueError, "gradient: expected"),
    (dict(gradient=0), ValueError, "gradient"),
    (dict(gradient=2, precision=20), ValueError, "gradient: mini-batch gradients are float64 only"),
    (dict(record_every=0), ValueError, "record_every"),
    (dict(eps=0.0), ValueError, "eps: expected a number in (0, 1), got 0.0"),
    (dict(eps=1.0), ValueError, "eps: expected a number in (0, 1)"),
    (dict(eps=True), ValueError, "eps: expected a number in (0, 1)"),
    (dict(eps="0.1"), ValueError, "eps: expected a number in (0, 1)"),
    (dict(chunk_size=0), ValueError, "chunk_size"),
    (dict(w0=[1.0, 0.0]), ValueError, "w0: length is 2 but the problem has p = 3"),
    (dict(a0=[1.0]), ValueError, "a0: length is 1 but the problem has k = 2"),
    (dict(w0=np.ones((2, 3))), ValueError, "w0: expected shape (3,) or (chains, 3) = (1, 3), got (2, 3)"),
    (dict(a0=np.ones((1, 1, 2))), ValueError, "a0: expected shape (2,) or (chains, 2)"),
    (dict(w0=[0.0, 0.0, 0.0]), ValueError, "w0"),
    (dict(divergence_bound=1.0), ValueError, "divergence_bound: must be > 1, got 1.0"),
    (dict(divergence_bound=-3.0), ValueError, "divergence_bound"),
    (dict(reduced=True, gradient=2), ValueError, "gradient: the reduced simulator needs the population"),
    (dict(reduced=True, precision=20), ValueError, "precision: the reduced simulator is float64 only"),
    (dict(a0=[1e200, 1.0]), ValueError, "a0: the initial loss overflows float64"),
    (dict(w0=[1e150, 0.0, 0.0], a0=[1e10, 1.0], normalized=False), ValueError,
     "w0: the initial loss overflows"),
    (dict(w0=[1e120, 0.0, 0.0], a0=[1e100, 1.0], normalized=False), ValueError,
     "w0: the initial loss overflows"),
    (dict(w0=[1e100, 0.0, 0.0], a0=[1e120, 1.0], normalized=False), ValueError,
     "a0: the initial loss overflows"),
    (dict(schedule=[(0.1, 0)]), ValueError, "schedule: expected a Schedule"),
    (dict(schedule=5), TypeError, "schedule: expected a Schedule"),
])
def test_build_config_refuses_naming_the_parameter(kw, exc, words):
    args = dict(problem=PROB, w0=W0, a0=A0, schedule=[(0.1, 3)], eta=0.1, engine="numpy")
    args.update(kw)
    with pytest.raises(exc) as info:
        config.build_config(**args)
    assert str(info.value).startswith(words.split(":")[0] + ":") and words in str(info.value), \
        str(info.value)


def test_build_config_accepts_the_edge_values():
    args = dict(problem=PROB, w0=W0, a0=A0, schedule=[(0.1, 3)], eta=0.1, engine="numpy")
    cfg = config.build_config(**{**args, "divergence_bound": 1.5, "eps": 0.999, "gradient": 1,
                                 "chunk_size": 1, "normalized": np.bool_(False),
                                 "seed": np.int64(2), "eps": np.float32(0.5)})
    assert cfg.divergence_bound == 1.5 and cfg.batch == 1 and cfg.chunk_size == 1
    assert cfg.normalized is False and cfg.seed == 2 and cfg.eps == 0.5
    assert type(cfg.eps) is float
    cfg = config.build_config(**{**args, "schedule": {"stages": [
        {"steps": 3, "eta": None, "sigma_w": 0.1, "sigma_a": 0.1}]}})
    assert cfg.schedule == vp.Schedule([(0.1, 3)])
    # a large but finite loss at the start is accepted (free w, normalized w of any size)
    config.build_config(**{**args, "w0": [1e150, 0.0, 0.0]})
    config.build_config(**{**args, "a0": [1e100, 1.0]})
    config.build_config(**{**args, "w0": [1e100, 0.0, 0.0], "normalized": False})


# --------------------------------------------------------------------------- result

def _result(**over):
    d = dict(w=[[1.0, 2.0]], a=[[3.0]], history=History(step=[0, 1], loss=[[1.0], [0.5]],
                                                       theta=[[0.1], [0.05]],
                                                       a_error=[[0.2], [0.1]]),
             hit_step=[1], diverged=[False], diverged_step=[-1], seed=4, config={"x": 1},
             exact=None)
    d.update(over)
    return Result(**d)


def test_result_fields_dtypes_and_read_only():
    r = _result()
    assert r.w.dtype == np.float64 and r.hit_step.dtype == np.int64
    assert r.diverged.dtype == bool and r.diverged_step.dtype == np.int64
    assert r.history.step.dtype == np.int64 and r.history.loss.dtype == np.float64
    for x in (r.w, r.a, r.hit_step, r.diverged, r.diverged_step, r.history.step,
              r.history.loss, r.history.theta, r.history.a_error):
        assert not x.flags.writeable
    assert r.history.w is None and r.chains == 1
    # a plain list is copied; a HandOver array is frozen in place
    from verified_pgd.solver.result import HandOver
    src = np.array([[1.0, 2.0]])
    r2 = _result(w=src)
    src[0, 0] = 9.0
    assert r2.w[0, 0] == 1.0
    h = np.array([[5.0, 6.0]])
    r3 = _result(w=HandOver(h))
    assert r3.w[0, 0] == 5.0 and not h.flags.writeable
    r4 = _result(hit_step=HandOver(np.array([2])))
    assert r4.hit_step.dtype == np.int64
    assert History(step=HandOver(np.array([0, 1])), loss=[[1.0]], theta=[[1.0]],
                   a_error=[[1.0]]).step.dtype == np.int64
    assert _result(w=[[1, 2]]).w.dtype == np.float64


def test_result_success_excludes_diverged_and_unhit():
    r = _result(w=np.zeros((4, 2)), a=np.zeros((4, 1)), hit_step=[3, -1, 0, 2],
                diverged=[False, False, False, True], diverged_step=[-1, -1, -1, 1])
    assert r.success.tolist() == [True, False, True, False] and r.chains == 4


def test_result_equality_sees_every_field():
    r = _result()
    assert r == _result() and not (r != _result())
    hist = r.history
    others = [
        _result(w=[[1.0, 2.5]]), _result(a=[[3.5]]), _result(hit_step=[0]),
        _result(diverged=[True]), _result(diverged_step=[0]), _result(seed=5),
        _result(config={"x": 2}), _result(exact={"w": []}),
        _result(w=[[1.0, 2.0, 0.0]]),
        _result(history=History(step=[0, 2], loss=hist.loss, theta=hist.theta, a_error=hist.a_error)),
        _result(history=History(step=hist.step, loss=[[1.0], [0.4]], theta=hist.theta,
                                a_error=hist.a_error)),
        _result(history=History(step=hist.step, loss=hist.loss, theta=[[0.1], [0.0]],
                                a_error=hist.a_error)),
        _result(history=History(step=hist.step, loss=hist.loss, theta=hist.theta,
                                a_error=[[0.2], [0.0]])),
        _result(history=History(step=hist.step, loss=hist.loss, theta=hist.theta,
                                a_error=hist.a_error, w=[[[1.0, 1.0]], [[1.0, 1.0]]])),
    ]
    for o in others:
        assert r != o and o != r
    assert r != "r" and hist != "h" and hist == History(**{f: getattr(hist, f) for f in
                                                          ("step", "loss", "theta", "a_error")})
    # shapes differ, values broadcast-equal: not equal
    h1 = History(step=[0], loss=[[1.0, 1.0]], theta=[[0.0, 0.0]], a_error=[[0.0, 0.0]])
    h2 = History(step=[0], loss=[[1.0], [1.0]], theta=[[0.0, 0.0]], a_error=[[0.0, 0.0]])
    assert h1 != h2


def test_result_dict_round_trip_and_errors():
    full = _result(history=History(step=[0, 1], loss=[[1.0], [0.5]], theta=[[0.1], [0.05]],
                                   a_error=[[0.2], [0.1]], w=[[[1.0, 2.0]], [[0.5, 0.1]]],
                                   a=[[[1.0]], [[2.0]]], w_rad=[[[0.0, 0.1]], [[0.2, 0.3]]],
                                   a_rad=[[[0.01]], [[0.02]]]),
                   exact={"w": [["1", "2"]], "a": [["3"]]})
    d = json.loads(json.dumps(full.to_dict()))
    assert set(d) == {"w", "a", "history", "hit_step", "diverged", "diverged_step", "seed",
                      "config", "exact"}
    assert d["w"] == [[1.0, 2.0]] and d["hit_step"] == [1] and d["diverged"] == [False]
    assert d["diverged_step"] == [-1] and d["seed"] == 4 and d["config"] == {"x": 1}
    assert d["history"]["a_rad"] == [[[0.01]], [[0.02]]] and d["history"]["step"] == [0, 1]
    back = Result.from_dict(d)
    assert back == full and back.exact == full.exact
    assert Result.from_dict(_result().to_dict()) == _result()
    assert _result().to_dict()["history"]["w"] is None
    d2 = dict(d)
    del d2["config"], d2["exact"]
    r = Result.from_dict(d2)
    assert r.config == {} and r.exact is None
    d3 = dict(d, seed="4")
    assert Result.from_dict(d3).seed == 4
    r5 = Result(w=[[1.0]], a=[[1.0]], history=full.history.to_dict(), hit_step=[1],
                diverged=[False], diverged_step=[-1], seed=0)
    assert r5.history == full.history
    with pytest.raises(ValueError, match="result: expected a table"):
        Result.from_dict([1])
    for key in ("w", "a", "history", "hit_step", "diverged", "diverged_step", "seed"):
        bad = dict(d)
        del bad[key]
        with pytest.raises(ValueError) as info:
            Result.from_dict(bad)
        assert str(info.value) == f"result: missing keys {[key]}"
    with pytest.raises(ValueError, match=r"result: missing keys \['a', 'w'\]"):
        Result.from_dict({k: v for k, v in d.items() if k not in ("w", "a")})


# --------------------------------------------------------------------------- api, dispatch

def test_serial_engine_dispatch():
    from verified_pgd.solver import compiled, reduced
    b = dict(problem=PROB, w0=W0, a0=A0, schedule=[(0.1, 2)], eta=0.1)
    assert engines.serial_engine(config.build_config(**b, engine="numpy")) is npeng.run
    assert engines.serial_engine(config.build_config(**b, precision=20)) is highprec.run
    assert engines.serial_engine(config.build_config(**b, precision="arb:64")) is highprec.run
    assert engines.serial_engine(config.build_config(**b, reduced=True,
                                                     engine="numpy")) is reduced.run
    if compiled.available():
        assert engines.serial_engine(config.build_config(**b, engine="compiled")) is compiled.run
        assert engines.serial_engine(config.build_config(**b, reduced=True,
                                                         engine="compiled")) is reduced.run


def test_pgd_passes_every_argument_to_the_config():
    sched = vp.Schedule([(0.2, 6)])
    kw = dict(eta=0.05, seed=9, chains=2, normalized=False, noise="ball", gradient=2,
              precision="float64", record_every=2, eps=0.3, chunk_size=1, record_states=True,
              divergence_bound=1e3, first_chain=4, engine="numpy")
    r = vp.pgd(PROB, W0, A0, sched, **kw)
    want = config.build_config(PROB, W0, A0, sched, **kw).to_dict()
    assert r.config == want
    assert r.history.w is not None and r.history.w.shape == (4, 2, 3)
    assert r == npeng.run(config.build_config(PROB, W0, A0, sched, **kw))
    # the positional order of pgd's parameters
    r2 = vp.pgd(PROB, W0, A0, sched, 0.05, 9, 2, False, "ball", 2, "float64", 2, 0.3, 1,
                record_states=True, divergence_bound=1e3, first_chain=4, engine="numpy")
    assert r2 == r
    # reduced reaches the reduced simulator
    rr = vp.pgd(PROB, W0, A0, sched, eta=0.05, reduced=True, engine="numpy")
    assert rr.config["reduced"] is True
    # the defaults of pgd are those of build_config
    d = vp.pgd(PROB, W0, A0, sched, eta=0.05, engine="numpy")
    assert d.config == config.build_config(PROB, W0, A0, sched, eta=0.05,
                                           engine="numpy").to_dict()
    assert d.config["seed"] == 0 and d.config["chains"] == 1 and d.config["eps"] == 1e-6


@pytest.mark.parametrize("kw", [dict(), dict(noise="ball", normalized=False, gradient=2),
                                dict(precision=20), dict(precision="arb:64"),
                                dict(reduced=True)])
def test_rerun_reproduces_bitwise(kw):
    sched = vp.Schedule([(0.2, 4), (0.0, 2)])
    r = vp.pgd(PROB, W0, A0, sched, eta=0.05, seed=3, chains=2, record_every=2,
               record_states=True, engine="numpy", **kw)
    assert api.rerun(r.config) == r
    assert api.rerun(json.loads(json.dumps(r.config))) == r


def _rerun_without(r, *keys):
    c = dict(r.config)
    for key in keys:
        del c[key]
    assert api.rerun(c) == r
    assert not set(keys) & set(c)     # the caller's dict is not changed


def test_rerun_of_a_config_without_engine_runs_numpy():
    sched = vp.Schedule([(0.2, 4)])
    _rerun_without(vp.pgd(PROB, W0, A0, sched, eta=0.05, seed=3, engine="numpy"), "engine")


# --------------------------------------------------------------------------- parallel

def test_check_workers():
    assert parallel.check_workers(None) == (os.cpu_count() or 1)
    assert parallel.check_workers(3) == 3
    with pytest.raises(ValueError, match="workers"):
        parallel.check_workers(0)
    with pytest.raises(ValueError, match="workers"):
        vp.pgd(PROB, W0, A0, [(0.1, 2)], eta=0.1, workers=0, engine="numpy")


@pytest.mark.parametrize("kw", [dict(record_states=True), dict(precision="arb:64", record_states=True),
                                dict(precision=20)])
def test_merge_of_blocks_is_the_whole_run(kw):
    Wm = np.array([[0.2, 0.9, -0.5], [1.0, 0.1, 0.2], [0.3, -0.4, 0.8]])
    Am = np.array([[0.4, 0.7], [-0.2, 0.3], [0.9, 0.1]])
    cfg = config.build_config(PROB, Wm, Am, [(0.2, 3)], eta=0.1, chains=3, record_every=1,
                              engine="numpy", **kw)
    whole = engines.serial_engine(cfg)(cfg)
    for edges in ([0, 1, 3], [0, 2, 3], [0, 1, 2, 3]):
        parts = [engines.serial_engine(cfg.block(lo, hi))(cfg.block(lo, hi))
                 for lo, hi in zip(edges[:-1], edges[1:])]
        assert parallel._merge(parts, cfg.to_dict()) == whole
    assert parallel.run(cfg, 1) == whole
    assert parallel.run(cfg, 1).config == cfg.to_dict()


class _InlinePool:
    """Stands in for ProcessPoolExecutor (mutmut's workers cannot start a fork server: the
    parent's __main__ is not importable from ./mutants): records its arguments and maps
    in this process.  The real processes: tests/test_mutants_solvers_workers.py."""

    made = []

    def __init__(self, n, mp_context=None):
        self.n, self.ctx = n, mp_context
        _InlinePool.made.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, items):
        self.items = list(items)
        return map(fn, self.items)


def test_parallel_run_splits_into_even_blocks_and_merges(monkeypatch):
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _InlinePool)
    _InlinePool.made.clear()
    rng = np.random.default_rng(9)
    Wm, Am = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    sched = vp.Schedule([(0.2, 3)])
    one = vp.pgd(PROB, Wm, Am, sched, eta=0.1, chains=5, record_states=True, engine="numpy",
                 first_chain=1)
    for workers, blocks in [(2, [(0, 2), (2, 5)]), (3, [(0, 1), (1, 3), (3, 5)]),
                            (9, [(i, i + 1) for i in range(5)])]:
        r = vp.pgd(PROB, Wm, Am, sched, eta=0.1, chains=5, record_states=True, workers=workers,
                   engine="numpy", first_chain=1)
        assert r == one
        pool = _InlinePool.made[-1]
        assert pool.n == len(blocks) and pool.ctx is not None
        assert pool.ctx.get_start_method() == parallel._context().get_start_method()
        assert [(b.first_chain - 1, b.first_chain - 1 + b.chains) for b in pool.items] == blocks
    # workers=None: one per core (at most the chains)
    _InlinePool.made.clear()
    r = vp.pgd(PROB, Wm, Am, sched, eta=0.1, chains=5, record_states=True, workers=None,
               engine="numpy", first_chain=1)
    assert r == one
    n = min(os.cpu_count() or 1, 5)
    assert (_InlinePool.made[-1].n if _InlinePool.made else 1) == n
    # more workers than chains with one chain: no pool at all
    _InlinePool.made.clear()
    assert vp.pgd(PROB, Wm[0], Am[0], sched, eta=0.1, workers=4, engine="numpy") == \
        vp.pgd(PROB, Wm[0], Am[0], sched, eta=0.1, engine="numpy")
    assert _InlinePool.made == []


def test_parallel_context_is_a_clean_start():
    ctx = parallel._context()
    assert ctx.get_start_method() in ("forkserver", "spawn")
    if "forkserver" in __import__("multiprocessing").get_all_start_methods():
        assert ctx.get_start_method() == "forkserver"


# --------------------------------------------------------------------------- high precision

def _mp_path(prob, w0, a0, stages, seed, dps, normalized, ball):
    """The chain's path in mpmath at ``dps`` digits, from the same float64 noise."""
    p, k = prob.p, prob.k
    g = _gen(seed, 0)
    with mpmath.workdps(dps):
        w = [mpmath.mpf(float(x)) for x in w0]
        a = [mpmath.mpf(float(x)) for x in a0]
        if normalized:
            n = mpmath.sqrt(sum(x * x for x in w))
            w = [x / n for x in w]
        path = [(w, a)]
        for st in stages:
            eta, sw, sa = mpmath.mpf(st.eta), mpmath.mpf(st.sigma_w), mpmath.mpf(st.sigma_a)
            for _ in range(st.steps):
                if st.sigma_w > 0 or st.sigma_a > 0:
                    z = g.standard_normal(p + k + (2 if ball else 0))
                    xi, ep = z[:p], z[p:p + k]
                    if ball:
                        # the float64 noise vector, rounded as documented: xi (U^(1/p) / |xi|)
                        xi = xi * (norm.cdf(z[p + k]) ** (1 / p) / np.sqrt((xi * xi).sum()))
                        ep = ep * (norm.cdf(z[p + k + 1]) ** (1 / k) / np.sqrt((ep * ep).sum()))
                else:
                    xi, ep = np.zeros(p), np.zeros(k)
                g_w, g_a = vp.grad_mp(prob, w, a, dps=dps, riemannian=normalized)
                w = [x - eta * (gx + sw * mpmath.mpf(float(n_))) for x, gx, n_ in zip(w, g_w, xi)]
                a = [x - eta * (gx + sa * mpmath.mpf(float(n_))) for x, gx, n_ in zip(a, g_a, ep)]
                if normalized:
                    n = mpmath.sqrt(sum(x * x for x in w))
                    w = [x / n for x in w]
                path.append((w, a))
    return path


@pytest.mark.parametrize("normalized, noise", [(True, "gaussian"), (False, "ball"),
                                               (False, "gaussian"), (True, "ball")])
def test_mp_engine_follows_an_independent_mp_path(normalized, noise):
    sched = vp.Schedule([vp.Stage(2, 0.07, 0.4, 0.1), vp.Stage(67, 0.02, 0.05, 0.03),
                         vp.Stage(1, 0.05, 0.0, 0.0)])
    dps = 30
    r = vp.pgd(PROB, W0, A0, sched, seed=11, precision=dps, record_every=1, record_states=True,
               normalized=normalized, noise=noise)
    ref = _mp_path(PROB, W0, A0, sched.stages, 11, 40, normalized, noise == "ball")
    with mpmath.workdps(40):
        for t in (0, 1, 2, 3, 4, 69, 70):
            w, a = ref[t]
            np.testing.assert_allclose(r.history.w[t, 0], [float(x) for x in w], rtol=0, atol=1e-15)
            np.testing.assert_allclose(r.history.a[t, 0], [float(x) for x in a], rtol=0, atol=1e-15)
            assert abs(r.history.loss[t, 0] - float(vp.loss_mp(PROB, w, a, dps=40))) <= 1e-15
            ae = mpmath.sqrt(sum((mpmath.sqrt(sum(x * x for x in w)) * y - PROB.s * mpmath.mpf(float(s_))) ** 2
                                 for y, s_ in zip(a, PROB.a_star)))
            ae /= PROB.s * mpmath.sqrt(sum(mpmath.mpf(float(s_)) ** 2 for s_ in PROB.a_star))
            assert abs(r.history.a_error[t, 0] - float(ae)) <= 1e-15 * max(1, float(ae))
            assert abs(r.history.theta[t, 0] - float(vp.theta_mp(PROB, w, dps=40))) <= 1e-14
        # the exact strings: the final state to ~dps digits, with dps + 5 digits written
        # (ball noise: numpy's vectorised power in the engine's block of radii may differ
        # from the scalar one here in the last bit of a noise vector, ~1e-20 in the path)
        wT, aT = ref[-1]
        tol = mpmath.mpf(10) ** (-dps + 3) if noise == "gaussian" else mpmath.mpf(1e-17)
        for s_, x in zip(r.exact["w"][0] + r.exact["a"][0], wT + aT):
            assert abs(mpmath.mpf(s_) - x) < tol
            assert len(s_.lstrip("-").replace(".", "").lstrip("0")) >= dps
        np.testing.assert_allclose(r.w[0], [float(x) for x in wT], rtol=0, atol=1e-16)


def test_mp_engine_two_chains_use_their_own_streams():
    sched = vp.Schedule([vp.Stage(3, 0.07, 0.4, 0.1)])
    Wm = np.array([W0, [1.0, 0.1, 0.2]])
    Am = np.array([A0, [-0.2, 0.3]])
    r = vp.pgd(PROB, Wm, Am, sched, seed=11, chains=2, precision=20, record_states=True,
               record_every=1)
    for i in range(2):
        one = vp.pgd(PROB, Wm[i], Am[i], sched, seed=11, first_chain=i, precision=20,
                     record_states=True, record_every=1)
        assert np.array_equal(one.history.w[:, 0], r.history.w[:, i])
        assert one.exact["w"][0] == r.exact["w"][i] and one.exact["a"][0] == r.exact["a"][i]
    f = vp.pgd(PROB, Wm, Am, sched, seed=11, chains=2, record_states=True, record_every=1,
               engine="numpy")
    np.testing.assert_allclose(r.history.w, f.history.w, rtol=0, atol=1e-14)


@pytest.mark.parametrize("normalized", [True, False])
def test_arb_balls_enclose_the_mp_path_and_are_not_points(normalized):
    sched = vp.Schedule([vp.Stage(2, 0.07, 0.4, 0.1), vp.Stage(66, 0.02, 0.05, 0.03),
                         vp.Stage(1, 0.05, 0.0, 0.0)])
    r = vp.pgd(PROB, W0, A0, sched, seed=11, precision="arb:60", record_every=1,
               record_states=True, normalized=normalized)
    ref = _mp_path(PROB, W0, A0, sched.stages, 11, 50, normalized, False)
    assert r.history.w_rad.shape == r.history.w.shape
    for t in (1, 2, 3, 69):
        w, a = ref[t]
        for mid, rad, x in zip(np.r_[r.history.w[t, 0], r.history.a[t, 0]],
                               np.r_[r.history.w_rad[t, 0], r.history.a_rad[t, 0]], w + a):
            assert abs(mpmath.mpf(mid) - x) <= mpmath.mpf(rad)
            assert 0 < rad < 1e-12
    # the exact strings are arb balls enclosing the final state
    import flint
    wT, aT = ref[-1]
    old = flint.ctx.prec
    try:
        flint.ctx.prec = 200
        for s_, x in zip(r.exact["w"][0] + r.exact["a"][0], wT + aT):
            ball = flint.arb(s_)
            assert ball.rad() > 0 and ball.contains(flint.arb(mpmath.nstr(x, 45)))
    finally:
        flint.ctx.prec = old
    assert flint.ctx.prec == old


def test_hp_context_restores_the_precision_and_converts_exactly():
    import flint
    old_dps, old_prec = mpmath.mp.dps, flint.ctx.prec
    with highprec.HPContext("mp", 40) as X:
        assert mpmath.mp.dps == 40
        v = X.vec([0.1, 1 / 3])
        assert v.dtype == object and v[0] == mpmath.mpf(0.1) and v[1] == mpmath.mpf(1 / 3)
        assert X.floats(v).tolist() == [0.1, 1 / 3] and X.floats(v).dtype == np.float64
        assert X.to_float(mpmath.mpf(1) / 3) == 1 / 3
        assert X.text(mpmath.mpf(1) / 3) == mpmath.nstr(mpmath.mpf(1) / 3, 45, strip_zeros=False)
    assert mpmath.mp.dps == old_dps
    with highprec.HPContext("arb", 100) as X:
        assert flint.ctx.prec == 100
        v = X.vec([0.1, -2.5])
        assert v[0] == flint.arb(0.1) and v[0].rad() == 0 and v[1].mid() == -2.5
        third = flint.arb(1) / 3
        assert X.to_float(third) == 1 / 3
        mid, rad = X.enclosure(third)
        assert mid == float(third.mid())
        exact_err = abs(third.mid() - flint.arb(mid))
        assert rad >= float(third.rad()) + float(exact_err) and rad > 0
        assert rad <= 1.01 * (float(third.rad()) + float(exact_err.upper()))
        pt = flint.arb(0.5)
        assert X.enclosure(pt) == (0.5, 0.0)
        assert X.text(third) == third.str(radius=True, more=True)
        assert X.floats([third]).tolist() == [1 / 3]
    assert flint.ctx.prec == old_prec
    with pytest.raises(ZeroDivisionError):
        with highprec.HPContext("mp", 30):
            1 / 0
    assert mpmath.mp.dps == old_dps
    with pytest.raises(ZeroDivisionError):
        with highprec.HPContext("arb", 90):
            1 / 0
    assert flint.ctx.prec == old_prec
    assert highprec.HPContext("mp", 30).__enter__().__exit__(None, None, None) in (None, False)
    assert mpmath.mp.dps == old_dps


# --------------------------------------------------------------------------- second round
# (written against the survivors of the first mutmut run of the `solvers` target)

def test_minibatch_grad_default_is_euclidean_and_float32_is_computed_in_float64():
    rng = np.random.default_rng(10)
    w, a, Z = rng.normal(size=3), rng.normal(size=2), rng.normal(size=(5, 2, 3))
    gw, ga = _sample_grad(PROB, w, a, Z)
    d_w, d_a = npeng.minibatch_grad(PROB, w, a, Z)
    np.testing.assert_allclose(d_w, gw, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(d_a, ga, rtol=1e-12, atol=1e-14)
    w32, a32, Z32 = w.astype(np.float32), a.astype(np.float32), Z.astype(np.float32)
    want = _sample_grad(PROB, w32.astype(float), a32.astype(float), Z32.astype(float))
    for i in range(3):
        args = [w32.astype(float), a32.astype(float), Z32.astype(float)]
        args[i] = (w32, a32, Z32)[i]
        g = npeng.minibatch_grad(PROB, *args)
        assert g[0].dtype == np.float64 and g[1].dtype == np.float64
        np.testing.assert_allclose(g[0], want[0], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(g[1], want[1], rtol=1e-13, atol=1e-15)


def test_minibatch_grad_relu_derivative_is_zero_at_zero():
    """An input with w . z_j = 0 exactly: relu'(0) = 0 (the indicator h > 0)."""
    w, a = np.array([1.0, 0.0, 0.0]), np.array([0.7, -0.4])
    Z = np.array([[[0.0, 1.0, 1.0], [0.5, 0.2, -0.3]], [[-0.2, 1.0, 0.0], [0.0, -2.0, 1.0]]])
    gw, ga = _sample_grad(PROB, w, a, Z)
    d_w, d_a = npeng.minibatch_grad(PROB, w, a, Z)
    np.testing.assert_allclose(d_w, gw, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(d_a, ga, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("prec", ["float64", 20])
@pytest.mark.parametrize("steps", [1, 3])
def test_overflowing_loss_after_an_acceptable_step_reverts_the_chain(prec, steps):
    """A huge a-noise: the step passes the bound test (|a| <= 1e300) but the loss of the new
    state overflows float64, so the observation flags it and puts the chain back to its
    previous state (state 0), in the step loop (steps=3) and at the final observation
    (steps=1)."""
    sched = vp.Schedule([vp.Stage(steps, 1.0, 0.0, 1e200)])
    r = vp.pgd(PROB, np.array([W0, W0]), np.array([A0, A0]), sched, divergence_bound=1e300,
               record_every=1, record_states=True, precision=prec, engine="numpy", chains=2)
    w_start = W0 / np.linalg.norm(W0)
    assert r.diverged.tolist() == [True, True] and r.diverged_step.tolist() == [1, 1]
    np.testing.assert_allclose(r.w, [w_start, w_start], rtol=1e-15)
    assert np.array_equal(r.a, [A0, A0])
    assert np.all(np.isfinite(r.history.loss)) and np.all(np.isfinite(r.history.a))
    assert np.all(r.history.a == A0)
    assert np.all(r.history.loss == r.history.loss[0])


def test_outputs_absorb_messages_and_a_divergence_at_state_zero():
    cfg = _cfg(M=2)
    out = bookkeeping.Outputs(cfg, {"w": 3, "a": 2})
    R = len(cfg.record_steps)
    ok = np.zeros((R, 2))
    with pytest.raises(RuntimeError) as info:
        out.absorb(0, 2, [0, 0], [-1, -1], np.full((R, 2), np.inf), ok, ok)
    assert str(info.value) == ("engine contract: a non-finite loss was recorded (a chain must "
                               "be frozen before its values leave float64)")
    out.absorb(0, 2, [0, 3], [0, -1], ok, ok, ok)
    assert out.hit.tolist() == [-1, 3] and out.div.tolist() == [0, -1]
    out.absorb(0, 2, [0, 3], [1, 2], ok, ok, ok)
    assert out.hit.tolist() == [-1, -1]


def test_hp_text_keeps_trailing_zeros_and_more_arb_digits():
    with highprec.HPContext("mp", 40) as X:
        s = X.text(mpmath.mpf(0.5))
        assert s == "0." + "5" + "0" * 44 and len(s) == 47
    with highprec.HPContext("arb", 100) as X:
        import flint
        x = flint.arb(1 / 3, 1e-3)
        s = X.text(x)
        # every digit of the float64 midpoint, not only the ones the radius certifies
        assert s.startswith("[0.333333333333333") and "+/-" in s
        assert flint.arb(s).contains(x)


def _covers(mid, rad, x):
    import flint
    old = flint.ctx.prec
    flint.ctx.prec = 2000          # exact for float64 and 200-bit numbers
    try:
        lo, hi = flint.arb(mid) - flint.arb(rad), flint.arb(mid) + flint.arb(rad)
        x_lo, x_hi = x.mid() - x.rad(), x.mid() + x.rad()
        return bool(lo <= x_lo) and bool(x_hi <= hi)
    finally:
        flint.ctx.prec = old


def test_hp_enclosure_covers_every_ball_and_is_tight():
    import flint
    rng = np.random.default_rng(12)
    with highprec.HPContext("arb", 200) as X:
        balls = [flint.arb(0.5, 2.0 ** -30), flint.arb(-1.25, 1e-10)]
        for _ in range(300):
            m = flint.arb(float(rng.normal())) + flint.arb(float(rng.normal())) * 2.0 ** -60 \
                + flint.arb(float(rng.normal())) * 2.0 ** -120
            balls.append(flint.arb(m.mid(), float(2.0 ** rng.integers(-60, -20))))
            balls.append(m / 3)
        for x in balls:
            mid, rad = X.enclosure(x)
            assert mid == float(x.mid())
            assert _covers(mid, rad, x), x
            # no wider than the ball plus the midpoint's rounding, to a relative 1e-12
            need = float(x.rad()) + abs(float(x.mid() - flint.arb(mid)))
            assert rad <= need * (1 + 1e-12) + 1e-300
        # a ball whose midpoint is a float64 number: the radius is the ball's own
        x = flint.arb(0.5, 2.0 ** -30)
        mid, rad = X.enclosure(x)
        assert mid == 0.5 and float(x.rad()) <= rad <= float(x.rad()) * (1 + 1e-12)


def test_hp_a_error_is_the_correctly_rounded_high_precision_quotient():
    """The a-error of an mp run is its own quotient |r| / |s a*| rounded once, not the
    quotient of two float64 roundings."""
    sched = vp.Schedule([vp.Stage(12, 0.07, 0.4, 0.3)])
    rng = np.random.default_rng(13)
    n_diff = 0
    for c in range(4):
        w0, a0 = rng.normal(size=3), rng.normal(size=2)
        r = vp.pgd(PROB, w0, a0, sched, seed=c, precision=30, record_every=1, record_states=True)
        ref = _mp_path_chain(PROB, w0, a0, sched.stages, c, 50)
        with mpmath.workdps(50):
            s_exact = mpmath.sqrt(sum(mpmath.mpf(float(x)) ** 2 for x in PROB.w_star))
            sa = [s_exact * mpmath.mpf(float(s_)) for s_ in PROB.a_star]
            nsa = mpmath.sqrt(sum(x * x for x in sa))
            for t, (w, a) in enumerate(ref):
                nw = mpmath.sqrt(sum(x * x for x in w))
                nr = mpmath.sqrt(sum((nw * y - z) ** 2 for y, z in zip(a, sa)))
                assert r.history.a_error[t, 0] == float(nr / nsa)
                n_diff += float(nr) / float(nsa) != float(nr / nsa)
    assert n_diff > 0    # the double rounding differs somewhere: the test can see it


def _mp_path_chain(prob, w0, a0, stages, chain, dps):
    g = _gen(chain, 0)
    p, k = prob.p, prob.k
    with mpmath.workdps(dps):
        w = [mpmath.mpf(float(x)) for x in w0]
        a = [mpmath.mpf(float(x)) for x in a0]
        n = mpmath.sqrt(sum(x * x for x in w))
        w = [x / n for x in w]
        path = [(w, a)]
        for st in stages:
            for _ in range(st.steps):
                z = g.standard_normal(p + k)
                g_w, g_a = vp.grad_mp(prob, w, a, dps=dps, riemannian=True)
                w = [x - st.eta * (gx + st.sigma_w * mpmath.mpf(float(n_)))
                     for x, gx, n_ in zip(w, g_w, z[:p])]
                a = [x - st.eta * (gx + st.sigma_a * mpmath.mpf(float(n_)))
                     for x, gx, n_ in zip(a, g_a, z[p:])]
                n = mpmath.sqrt(sum(x * x for x in w))
                w = [x / n for x in w]
                path.append((w, a))
    return path


@pytest.mark.parametrize("prec", ["arb:64", 20, "float64"])
def test_free_norm_bound_is_tested_on_the_true_norm_in_every_precision(prec):
    """Free parametrization, |w0| = 3 with bound 2.5: the first update leaves the bound
    (|w1| ~ 3), in arb too (where the normalized model's norm identity must not be used)."""
    w0 = np.array([3.0, 0.0, 0.0])
    sched = vp.Schedule([vp.Stage(3, 0.01, 0.0, 0.0)])
    r = vp.pgd(PROB, w0, A0, sched, normalized=False, divergence_bound=2.5, precision=prec,
               engine="numpy")
    assert np.linalg.norm(w0 - 0.01 * vp.grad(PROB, w0, A0)[0]) > 2.5
    assert r.diverged_step[0] == 1 and np.array_equal(r.w[0], w0)


def test_rerun_of_a_config_without_bit_generator_or_stream():
    sched = vp.Schedule([(0.2, 4)])
    r = vp.pgd(PROB, W0, A0, sched, eta=0.05, seed=3, engine="numpy")
    _rerun_without(r, "bit_generator")
    _rerun_without(vp.pgd(PROB, W0, A0, sched, eta=0.05, seed=3, engine="numpy", reduced=True),
                   "stream", "bit_generator")
    c = dict(r.config)
    c.pop("reduced", None)
    assert api.rerun(c).config.get("reduced") is None


def test_check_workers_edges(monkeypatch):
    assert parallel.check_workers(1) == 1
    with pytest.raises(ValueError) as info:
        parallel.check_workers(0)
    assert str(info.value).startswith("workers:")
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: None)
    assert parallel.check_workers(None) == 1
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 3)
    assert parallel.check_workers(None) == 3


def test_context_falls_back_to_spawn(monkeypatch):
    monkeypatch.setattr(parallel.mp, "get_all_start_methods", lambda: ["fork", "spawn"])
    assert parallel._context().get_start_method() == "spawn"


def test_result_from_dict_not_a_table_message():
    for bad in ([1], None, "x"):
        with pytest.raises(ValueError) as info:
            Result.from_dict(bad)
        assert str(info.value) == "result: expected a table"


def test_f64_terms_default_is_the_euclidean_gradient():
    rng = np.random.default_rng(14)
    W, A = rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    g_w, g_a, _, _ = npeng.f64_terms(PROB.w_hat_star, PROB.a_star, PROB.s, W, A)
    for i in range(2):
        np.testing.assert_allclose(g_w[i], vp.grad(PROB, W[i], A[i])[0], rtol=1e-13, atol=1e-15)


def test_minibatch_grad_projects_a_float32_w_in_float64():
    """The tangent projection of a float32 w is computed in float64 (|w| and w/|w| too)."""
    rng = np.random.default_rng(15)
    w32 = rng.normal(size=3).astype(np.float32)
    a, Z = rng.normal(size=2), rng.normal(size=(4, 2, 3))
    gw, _ = _sample_grad(PROB, w32.astype(float), a, Z)
    wh = w32.astype(float) / np.linalg.norm(w32.astype(float))
    want = gw - (gw @ wh) * wh
    got, _ = npeng.minibatch_grad(PROB, w32, a, Z, riemannian=True)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


# --------------------------------------------------------------------------- third round

_BASE = dict(problem=PROB, w0=W0, a0=A0, schedule=[(0.1, 3)], eta=0.1, engine="numpy")


@pytest.mark.parametrize("kw, message", [
    (dict(eta=None), "eta: required: the schedule's stages carry no step size "
                     "(give eta=..., or Stage(steps, eta, sigma_w, sigma_a) stages)"),
    (dict(schedule=vp.Schedule([vp.Stage(2, 0.1, 0.1, 0.1)])),
     "eta: the schedule carries its own step size per stage; pass eta=None (an explicit eta "
     "would silently override it)"),
    (dict(gradient=2, precision=20), "gradient: mini-batch gradients are float64 only "
                                     "(precision must be 'float64')"),
    (dict(reduced=True, gradient=2), "gradient: the reduced simulator needs the population "
     "gradient (mini-batch gradients are not isotropic in the reduced frame); use reduced=False"),
    (dict(reduced=True, precision=20), "precision: the reduced simulator is float64 only; use "
                                       "reduced=False for mpmath/arb runs"),
    (dict(a0=[1e200, 1.0]), "a0: the initial loss overflows float64 (|w0| |a0| too large for "
                            "this problem); rescale the initial state (w0, a0)"),
])
def test_build_config_messages_in_full(kw, message):
    with pytest.raises(ValueError) as info:
        config.build_config(**{**_BASE, **kw})
    assert str(info.value) == message


def test_build_config_names_w0_and_a0_in_conversion_errors():
    for name in ("w0", "a0"):
        with pytest.raises(TypeError) as info:
            config.build_config(**{**_BASE, name: "abc"})
        assert str(info.value).startswith(f"{name}: expected an array of real numbers")


def test_initial_loss_check_normalizes_w0_first_and_names_the_larger_factor():
    # normalized: |w0| = 1e150 is scaled to 1, so a loss of ~1e20 is fine
    config.build_config(**{**_BASE, "w0": [1e150, 0.0, 0.0], "a0": [1e10, 1.0]})
    with pytest.raises(ValueError, match="^w0: the initial loss overflows"):
        config.build_config(**{**_BASE, "w0": [1e150, 0.0, 0.0], "a0": [1e10, 1.0],
                               "normalized": False})
    # a tie between the largest |w0| and |a0| entries names a0
    with pytest.raises(ValueError, match="^a0: the initial loss overflows"):
        config.build_config(**{**_BASE, "w0": [1e120, 0.0, 0.0], "a0": [1e120, 1.0],
                               "normalized": False})


def test_no_floating_point_warnings_escape():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="^a0: the initial loss overflows"):
            config.build_config(**{**_BASE, "a0": [1e200, 1.0]})
        sched = vp.Schedule([vp.Stage(3, 1.0, 0.0, 1e200)])
        r = vp.pgd(PROB, W0, A0, sched, divergence_bound=1e300, engine="numpy")
        assert r.diverged_step[0] == 1
        w0, a0 = np.array([2.0, 1.5, -1.0]), np.array([3.0, -2.5])
        r = vp.pgd(PROB, w0, a0, vp.Schedule([vp.Stage(300, 1.2, 0.0, 0.0)]), normalized=False,
                   divergence_bound=1e300, engine="numpy")
        assert r.diverged[0]


def test_default_record_every_is_a_hundredth_of_the_steps():
    for total, every in [(200, 2), (1000, 10), (99, 1), (150, 1), (250, 2)]:
        cfg = config.build_config(**{**_BASE, "schedule": [(0.1, total)]})
        assert cfg.record_every == every, total


def test_outputs_result_counts_a_divergence_at_state_zero():
    cfg = _cfg(M=2)
    out = bookkeeping.Outputs(cfg, {"w": 3, "a": 2})
    ok = np.zeros((len(cfg.record_steps), 2))
    out.absorb(0, 2, [0, 0], [0, -1], ok, ok, ok)
    r = out.result(np.zeros((2, 3)), np.zeros((2, 2)))
    assert r.diverged.tolist() == [True, False] and r.hit_step.tolist() == [-1, 0]
    assert r.diverged_step.tolist() == [0, -1]


def test_book_state_zero_divergence_and_theta_exactly_eps():
    cfg = _cfg(M=2, R_every=10, T=20)      # records 0, 10, 20
    out = bookkeeping.Outputs(cfg, {"w": 3, "a": 2})
    book = bookkeeping.Book(cfg, out, 0, 2, 1.0)
    eps = cfg.eps
    bad = bookkeeping.Observation(np.array([np.nan, 1.0]), np.zeros(2), lambda: np.ones(2))
    good = bookkeeping.Observation(np.array([0.0, 1.0]), np.zeros(2), lambda: np.ones(2))
    seq = iter([bad, good])
    book.observe(0, "s", "p", lambda s: (next(seq), None), lambda m, p, s: p)
    assert book.div.tolist() == [0, -1]
    # theta exactly eps at a step that is not recorded: a hit (theta <= eps)
    edge = bookkeeping.Observation(np.array([1.0, eps]), lambda: np.array([0.0, 0.0]),
                                   lambda: np.ones(2))
    book.observe(3, "s", "p", lambda s: (edge, None), None)
    assert book.hit.tolist() == [0, 3]
    book.finish()
    assert out.hit.tolist() == [-1, 3] and out.div.tolist() == [0, -1]


def test_book_frozen_chains_stay_frozen_when_others_fail():
    cfg = _cfg(M=3, T=4)
    out = bookkeeping.Outputs(cfg, {"w": 3, "a": 2})
    book = bookkeeping.Book(cfg, out, 0, 3, 1.0)
    book.check_step(0, np.array([1.0, 1.0, np.inf]), np.zeros((3, 2)))
    assert book.frozen.tolist() == [False, False, True]
    obs = [bookkeeping.Observation(np.array([1.0, np.nan, 1.0]), np.zeros(3), lambda: np.ones(3)),
           bookkeeping.Observation(np.ones(3), np.zeros(3), lambda: np.ones(3))]
    seq = iter(obs)
    book.observe(2, "s", "p", lambda s: (next(seq), None), lambda m, p, s: p)
    assert book.frozen.tolist() == [False, True, True]
    assert book.div.tolist() == [-1, 2, 1]
    # extra_bad adds to the bound test's failures, it does not replace them
    book2 = bookkeeping.Book(cfg, out, 0, 3, 1.0)
    book2.check_step(0, np.array([1.0, np.inf, 1.0]), np.zeros((3, 2)), np.array([True, False, False]))
    assert book2.div.tolist() == [1, 1, -1]


def test_result_fields_take_their_dtypes_from_any_input():
    from verified_pgd.solver.result import HandOver
    r = _result(w=HandOver(np.array([[1, 2]])), a=[[3]], hit_step=[1.0], diverged=[0],
                diverged_step=[-1.0],
                history=History(step=[0.0, 1.0], loss=[[1], [0]], theta=[[0], [0]],
                                a_error=[[1], [1]], w=[[[1, 2]], [[1, 2]]]))
    assert r.w.dtype == np.float64 and r.a.dtype == np.float64
    assert r.hit_step.dtype == np.int64 and r.diverged.dtype == bool
    assert r.diverged_step.dtype == np.int64
    h = r.history
    assert h.step.dtype == np.int64 and h.loss.dtype == np.float64 and h.w.dtype == np.float64
    assert h.theta.dtype == np.float64 and h.a_error.dtype == np.float64
    assert History(step=HandOver(np.array([0.0])), loss=HandOver(np.array([[1]])),
                   theta=[[0.0]], a_error=[[0.0]]).loss.dtype == np.float64


def test_pgd_validates_and_passes_chunk_size(monkeypatch):
    with pytest.raises(ValueError, match="^chunk_size"):
        vp.pgd(PROB, W0, A0, [(0.1, 2)], eta=0.1, chunk_size=0, engine="numpy")
    with pytest.raises(TypeError, match="^chunk_size"):
        vp.pgd(PROB, W0, A0, [(0.1, 2)], eta=0.1, chunk_size=1.5, engine="numpy")
    seen = []
    real = npeng.run

    def spy(cfg):
        seen.append(cfg.chunk_size)
        return real(cfg)

    monkeypatch.setattr(npeng, "run", spy)      # serial_engine imports it at each call
    vp.pgd(PROB, W0, A0, [(0.1, 2)], eta=0.1, chunk_size=3, engine="numpy")
    assert seen == [3]
