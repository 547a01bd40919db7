"""The solver as an algorithm, through vp.pgd only: mini-batch steps, ball noise's joint
law, a user's divergence_bound, arb runs as enclosures.

* Mini-batch PGD: each recorded step is recomputed from the model definition
  f(Z; w, a) = sum_j a_j relu(w . Z_j) -- the sample gradient by central differences of
  the mini-batch loss, not by the solver's formula -- with the inputs Z and the noise read
  from chain i's documented stream (docs/solvers.md, "Randomness": per step p + k noise
  normals, then B k p normals for Z).  A loop that used the population gradient is off
  by O(1/sqrt(B)), far above the tolerance.
* Ball noise: from one free-parametrization step, xi = ((w0 - w1)/eta - grad_w)/sigma
  recovers the noise exactly (up to rounding); (|xi|^p, |eps|^k, the CDF-transformed first
  direction coordinates of xi and eps) must be four independent U(0, 1): one chi-square
  test on a 4^4 grid.  Correlated w- and a-radii, a radius exponent 1/k for w, or a
  direction that depends on the radius fail it.
* divergence_bound: the run with a user's bound is the unbounded run cut off at the
  first state (found independently from the recorded path) that leaves the bound.
* arb: the enclosures contain a 60-digit mpmath run of the same noise draws, are tight
  (radius < 1e-30) and are not zero where rounding happened (the mpmath value is not
  the midpoint).

False-failure probability: the chi-square tests are the only statistical assertions;
N_STAT of them, each at ALPHA = 1e-6 / N_STAT (Bonferroni): total <= 1e-6.  Fixed seeds.
"""
import re

import mpmath
import numpy as np
import pytest
from scipy.special import ndtr, ndtri
from scipy.stats import beta, chisquare

import verified_pgd as vp

BALL_SIZES = [(2, 5), (9, 3)]
N_STAT = len(BALL_SIZES)
ALPHA = 1e-6 / N_STAT


def chain_normals(seed, i):
    """Chain i's stream as documented (independent of verified_pgd.rng)."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(i,))))


# --------------------------------------------------------------------------- mini-batch

def sample_loss(prob, w, a, Z):
    """1/2 mean_b (f(Z_b; w, a) - f(Z_b; w*, a*))^2 from the model definition."""
    f = lambda w_, a_: (np.maximum(Z @ w_, 0.0) * a_).sum(-1)    # Z: (B, k, p)
    return 0.5 * np.mean((f(w, a) - f(prob.w_star, prob.a_star)) ** 2)


def fd_grad(fun, x, h=1e-6):
    # The mini-batch loss is piecewise quadratic: central differences are exact on a piece
    # up to rounding (~1e-10 here); a kink within h of x has probability ~1e-5 per step.
    g = np.empty_like(x)
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        g[j] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("normalized", [True, False])
def test_minibatch_steps_use_the_sample_gradient_of_fresh_inputs(normalized):
    prob = vp.Problem([1.0, -0.5, 0.25], [1.0, 1.0, -1.0])
    p, k, B, eta, sigma, T, seed = 3, 3, 5, 0.1, 0.3, 4, 11
    w0, a0 = np.array([0.3, -1.0, 0.5]), np.array([0.2, -0.1, 0.4])
    res = vp.pgd(prob, w0, a0, vp.Schedule([(sigma, T)]), eta, seed=seed, chains=2,
                 normalized=normalized, gradient=B, record_every=1, record_states=True)
    pop = vp.pgd(prob, w0, a0, vp.Schedule([(sigma, T)]), eta, seed=seed, chains=2,
                 normalized=normalized, record_every=1, record_states=True)
    for i in range(2):
        gen = chain_normals(seed, i)
        rec = gen.standard_normal((T, p + k + B * k * p))
        for t in range(T):
            w, a = res.history.w[t, i], res.history.a[t, i]
            Z = rec[t, p + k:].reshape(B, k, p)
            xi, ep = rec[t, :p], rec[t, p:p + k]
            g_w = fd_grad(lambda x: sample_loss(prob, x, a, Z), w)
            g_a = fd_grad(lambda x: sample_loss(prob, w, x, Z), a)
            if normalized:
                g_w = g_w - (g_w @ w) / (w @ w) * w
            w1 = w - eta * (g_w + sigma * xi)
            a1 = a - eta * (g_a + sigma * ep)
            if normalized:
                w1 = w1 / np.linalg.norm(w1)
            assert np.abs(w1 - res.history.w[t + 1, i]).max() < 1e-8
            assert np.abs(a1 - res.history.a[t + 1, i]).max() < 1e-8
    # negative control: the population-gradient run is far from the mini-batch one
    assert np.abs(pop.history.a[1:] - res.history.a[1:]).max() > 1e-3


# --------------------------------------------------------------------------- ball noise

def ball_uniforms(p, k, chains, seed):
    """Four variables that are independent U(0, 1) iff the noise is uniform in the balls."""
    prob = vp.Problem(np.r_[1.0, np.zeros(p - 1)], np.r_[np.ones(k - 1), -1.0])
    g = np.random.default_rng(seed)
    w0, a0 = g.standard_normal(p), g.standard_normal(k)
    eta = sigma = 1.0
    res = vp.pgd(prob, w0, a0, vp.Schedule([(sigma, 1)]), eta, seed=seed, chains=chains,
                 normalized=False, noise="ball", record_every=1)
    g_w, g_a = vp.grad(prob, w0, a0)
    xi = ((w0 - res.w) / eta - g_w) / sigma
    ep = ((a0 - res.a) / eta - g_a) / sigma
    rw, ra = np.linalg.norm(xi, axis=1), np.linalg.norm(ep, axis=1)
    assert rw.max() <= 1 + 1e-12 and ra.max() <= 1 + 1e-12

    def direction(x, r, d):
        # first coordinate of a uniform unit vector in R^d: (c + 1)/2 ~ Beta((d-1)/2, (d-1)/2)
        return beta.cdf((x[:, 0] / r + 1) / 2, (d - 1) / 2, (d - 1) / 2)

    return np.column_stack([np.minimum(rw, 1) ** p, np.minimum(ra, 1) ** k,
                            direction(xi, rw, p), direction(ep, ra, k)])


def grid_pvalue(U, bins=4):
    cells = np.minimum((U * bins).astype(int), bins - 1)
    idx = np.ravel_multi_index(cells.T, (bins,) * U.shape[1])
    counts = np.bincount(idx, minlength=bins ** U.shape[1])
    return chisquare(counts).pvalue


@pytest.mark.parametrize("p, k", BALL_SIZES)
def test_ball_noise_joint_law(p, k):
    U = ball_uniforms(p, k, chains=60000, seed=5 + p)
    pval = grid_pvalue(U)
    assert pval >= ALPHA, f"ball noise not uniform/independent: p = {pval:.3g}"
    # negative controls, same data: mildly correlated radii (Gaussian copula, rho = 0.1),
    # a w-radius exponent 1/k instead of 1/p, a direction tied to the radius
    z = ndtri(np.clip(U[:, :2], 1e-300, 1 - 1e-16))
    corr = U.copy()
    corr[:, 1] = ndtr(0.1 * z[:, 0] + np.sqrt(1 - 0.01) * z[:, 1])
    wrong_exp = U.copy()
    wrong_exp[:, 0] = U[:, 0] ** (k / p)
    tied = U.copy()
    tied[:, 2] = np.where(U[:, 0] < 0.25, U[:, 2] ** 1.3, U[:, 2])
    for name, bad in (("correlated radii", corr), ("exponent", wrong_exp), ("tied", tied)):
        assert grid_pvalue(bad) < ALPHA, name


# --------------------------------------------------------------------------- divergence_bound

@pytest.mark.parametrize("precision", ["float64", 30])
def test_user_divergence_bound_cuts_the_path_where_it_is_left(precision):
    prob = vp.Problem([1.0, 0.0, 0.0], [1.0, 1.0, -1.0])
    w0, a0, bound = [0.3, -1.0, 0.5], [0.2, -0.1, 0.4], 3.0
    args = (prob, w0, a0, vp.Schedule([(3.0, 150)]), 0.2)
    kw = dict(seed=2, chains=3, normalized=False, record_every=1, record_states=True,
              precision=precision)
    free = vp.pgd(*args, **kw)
    u = np.linalg.norm(free.history.w, axis=-1)                    # (T+1, M)
    amax = np.abs(free.history.a).max(axis=-1)
    out = (amax > bound) | (u > bound) | (u < 1 / bound)
    assert out.any(axis=0).all() and not free.diverged.any()      # the bound matters
    first = out.argmax(axis=0)
    cut = vp.pgd(*args, divergence_bound=bound, **kw)
    assert cut.diverged.all()
    assert cut.diverged_step.tolist() == first.tolist()
    for i, t in enumerate(first):
        assert np.array_equal(cut.history.w[:t, i], free.history.w[:t, i])
        # frozen at the last good state, never past the bound
        assert np.array_equal(cut.w[i], free.history.w[t - 1, i])
        assert (np.abs(cut.history.a[:, i]) <= bound).all()


# --------------------------------------------------------------------------- arb enclosures

_BALL = re.compile(r"\[\s*(\S+)\s*\+/-\s*(\S+)\s*\]")


def arb_text(s):
    m = _BALL.fullmatch(s.strip())
    assert m, s
    return mpmath.mpf(m.group(1)), mpmath.mpf(m.group(2))


@pytest.mark.parametrize("normalized, noise, steps", [
    (True, "gaussian", 12), (False, "ball", 12), (True, "gaussian", 5)])
def test_arb_balls_enclose_a_60_digit_run(normalized, noise, steps):
    prob = vp.Problem([1.0, 0.0, 0.0], [1.0, 1.0, -1.0])
    # The sigma = 0.5 stage is 5 steps in all cases: steps = 5 stops right after it (the
    # noise draws do not depend on the total length), an enclosure of an intermediate state.
    stages = [(0.5, 5)] + ([(0.0, steps - 5)] if steps > 5 else [])
    args = (prob, [0.2, -1.0, 0.3], [0.1, 0.4, -0.2], vp.Schedule(stages), 0.05)
    kw = dict(seed=1, chains=2, normalized=normalized, noise=noise)
    arb = vp.pgd(*args, precision="arb:128", record_states=True, **kw)
    with mpmath.workdps(80):
        ref = vp.pgd(*args, precision=60, **kw)
        for i in range(2):
            for key, hist, rad in (("w", arb.history.w, arb.history.w_rad),
                                   ("a", arb.history.a, arb.history.a_rad)):
                for j, (ball, exact) in enumerate(zip(arb.exact[key][i], ref.exact[key][i])):
                    x = mpmath.mpf(exact)
                    mid, r = arb_text(ball)
                    assert abs(x - mid) <= r, (key, i, j)           # contains the reference
                    assert 0 < r < 1e-30                               # tight, not zero
                    assert x != mid                                    # rounding happened
                    # the float64 history enclosure of the last state contains it too
                    lo = mpmath.mpf(float(hist[-1, i, j])) - mpmath.mpf(float(rad[-1, i, j]))
                    hi = mpmath.mpf(float(hist[-1, i, j])) + mpmath.mpf(float(rad[-1, i, j]))
                    assert lo <= x <= hi and rad[-1, i, j] > 0
