"""The reduced simulator (verified_pgd.reduced): same law as the full solver, exact where it
must be exact.

Law equality: two-sample Kolmogorov–Smirnov tests (scipy.stats.ks_2samp) between the full
solver ``vp.pgd`` and ``pgd_reduced`` on (i) the escape time from the spurious point (first
recorded step with theta < pi/2; never -> T + 1), (ii) the final theta and (iii) the final
relative a-error.  Full and reduced samples come from independent streams (the reduced
streams are tagged), so the two samples are independent as the test requires.  For the
discrete escape times the KS p-value is conservative, so the false-failure bound holds.

False-failure probability: the N_LAW positive tests each reject at p < ALPHA_TOTAL / N_LAW
(Bonferroni), so the probability that any of them fails when the laws are equal is
<= ALPHA_TOTAL = 1e-6.  Seeds are fixed, so CI is deterministic.

Negative control: the reduced simulator with the wrong chi-square degrees of freedom (p
instead of p - 2: the noise orthogonal to the (w_hat, w_hat*) plane is too large) must be
rejected by the same test at the same threshold.  The setting (p = 3, sigma = 2) is where
the tangential noise dominates escape, so the power is high; the fixed-seed p-values are
far below the threshold (about 1e-26 for escape times) and the slow test repeats the
control over several seeds.
"""
import numpy as np
import pytest
from scipy.stats import ks_2samp

import verified_pgd as vp
from verified_pgd import theory
from verified_pgd.reduced import _pgd_reduced, chain_streams, pgd_reduced

ALPHA_TOTAL = 1e-6
ETA = 0.1
M = 1500           # chains per sample
T_NOISE = 200      # escape phase; then T_TAIL steps at sigma / 4

# (name, p, sigma, normalized, noise, statistics)
LAW_CASES = [
    ("p3", 3, 2.0, True, "gaussian", ("escape", "theta", "a_error")),
    ("p8", 8, 1.0, True, "gaussian", ("escape", "theta", "a_error")),
    ("p64", 64, 0.5, True, "gaussian", ("escape", "theta", "a_error")),
    ("p8-ball", 8, 2.0, True, "ball", ("escape", "theta", "a_error")),
    ("p8-free", 8, 1.0, False, "gaussian", ("escape", "theta", "a_error")),
    ("p2", 2, 1.0, True, "gaussian", ("escape", "theta", "a_error")),
    ("p1", 1, 8.0, True, "gaussian", ("escape", "a_error")),
    # sigma = None: the ANNEAL schedule, eta annealing and sigma_w != sigma_a (issue 12)
    ("p8-anneal", 8, None, True, "gaussian", ("escape", "theta", "a_error")),
    ("p3-anneal-free", 3, None, False, "gaussian", ("escape", "theta", "a_error")),
]
N_LAW = sum(len(c[-1]) for c in LAW_CASES)
ALPHA = ALPHA_TOTAL / N_LAW          # per-test level (Bonferroni)
T_TAIL = 50
# eta and sigma_w / sigma_a annealed separately, in the escape phase and the tail
ANNEAL = vp.Schedule([vp.Stage(T_NOISE // 2, 0.1, 2.0, 0.5), vp.Stage(T_NOISE // 2, 0.06, 1.5, 0.2),
                      vp.Stage(T_TAIL, 0.03, 0.4, 0.1)])


def problem(p):
    return vp.Problem(np.r_[1.0, np.zeros(p - 1)], [1.0, 1.0, 1.0, -1.0])


def schedule(sigma):
    if sigma is None:
        return ANNEAL
    return vp.Schedule([(sigma, T_NOISE), (sigma / 4, T_TAIL)])


def statistics(res):
    th = res.history.theta
    assert res.history.step[T_NOISE] == T_NOISE          # record_every = 1
    below = th[:T_NOISE + 1] < np.pi / 2
    escape = np.where(below.any(axis=0), below.argmax(axis=0), T_NOISE + 1)
    return {"escape": escape, "theta": th[-1], "a_error": res.history.a_error[-1]}


def run_pair(p, sigma, normalized, noise, chi_df=None, seed_full=101, seed_red=202,
             red_schedule=None):
    prob = problem(p)
    sp = theory.spurious_minimum(prob)
    sched = schedule(sigma)
    args = (prob, sp.w, sp.a, sched, None if sched.has_eta else ETA)
    full = vp.pgd(*args, seed=seed_full, chains=M, normalized=normalized, noise=noise,
                  record_every=1)
    red_args = args if red_schedule is None else (prob, sp.w, sp.a, red_schedule, args[-1])
    red = _pgd_reduced(*red_args, seed_red, M, normalized, noise, "population", "float64", 1,
                       1e-6, None, False, None, 0, _chi_df=chi_df)
    assert not full.diverged.any() and not red.diverged.any()
    return statistics(full), statistics(red)


@pytest.mark.parametrize("case", LAW_CASES, ids=[c[0] for c in LAW_CASES])
def test_reduced_has_the_law_of_the_full_solver(case):
    _, p, sigma, normalized, noise, names = case
    sf, sr = run_pair(p, sigma, normalized, noise)
    # The setting must exercise escape, else the escape-time test would be vacuous.
    assert 0.2 < np.mean(sf["escape"] <= T_NOISE)
    for name in names:
        pval = ks_2samp(sf[name], sr[name]).pvalue
        assert pval >= ALPHA, f"{name}: KS p = {pval:.3g} < {ALPHA:.3g}"


def test_wrong_chi_square_dof_is_rejected():
    """Negative control: df = p instead of p - 2 at p = 3, the same test and threshold."""
    sf, sb = run_pair(3, 2.0, True, "gaussian", chi_df=3)
    for name in ("escape", "theta"):
        pval = ks_2samp(sf[name], sb[name]).pvalue
        assert pval < ALPHA, f"{name}: wrong simulator not rejected (p = {pval:.3g})"


def test_swapped_noise_levels_are_rejected():
    """Negative control for the annealed cases: the reduced simulator run with sigma_w and
    sigma_a exchanged (as if it mixed them up) is rejected by the same test."""
    swapped = vp.Schedule([vp.Stage(st.steps, st.eta, st.sigma_a, st.sigma_w) for st in ANNEAL.stages])
    sf, sb = run_pair(8, None, True, "gaussian", red_schedule=swapped)
    assert min(ks_2samp(sf[n], sb[n]).pvalue for n in ("escape", "theta")) < ALPHA


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_wrong_chi_square_dof_is_rejected_across_seeds(seed):
    sf, sb = run_pair(3, 2.0, True, "gaussian", chi_df=3, seed_full=1000 + seed,
                      seed_red=2000 + seed)
    assert ks_2samp(sf["escape"], sb["escape"]).pvalue < ALPHA


# --------------------------------------------------------------------------- exact checks

@pytest.mark.parametrize("p", [1, 2, 3, 8, 64])
@pytest.mark.parametrize("normalized", [True, False])
def test_noise_free_path_equals_the_full_path(p, normalized):
    """sigma = 0: the reduced update is the full update written in the plane (pathwise)."""
    prob = vp.Problem(np.linspace(1.0, 2.0, p) * (-1) ** np.arange(p), [1.0, 1.0, 1.0, -1.0])
    g = np.random.default_rng(p)
    w0, a0 = g.standard_normal((6, p)), g.standard_normal((6, 4))
    sched = vp.Schedule([(0.0, 150)])
    kw = dict(chains=6, normalized=normalized, record_every=10, record_states=True)
    full = vp.pgd(prob, w0, a0, sched, 0.05, **kw)
    red = pgd_reduced(prob, w0, a0, sched, 0.05, **kw)
    scale = 1 + np.abs(full.history.w).max()
    assert np.abs(full.history.w - red.history.w).max() <= 1e-12 * scale
    assert np.abs(full.history.a - red.history.a).max() <= 1e-12 * (1 + np.abs(full.a).max())
    assert np.abs(full.history.theta - red.history.theta).max() <= 1e-12
    assert np.abs(full.history.loss - red.history.loss).max() <= 1e-12 * (1 + full.history.loss.max())
    assert np.array_equal(full.hit_step, red.hit_step)
    assert np.abs(full.w - red.w).max() <= 1e-12 * scale


def test_noise_free_path_from_the_spurious_point_stays_there():
    prob = problem(8)
    sp = theory.spurious_minimum(prob)
    red = pgd_reduced(prob, sp.w, sp.a, vp.Schedule([(0.0, 100)]), ETA)
    assert np.array_equal(red.w[0], sp.w) and np.all(red.history.theta == np.pi)


def test_p1_keeps_w_on_the_line_and_theta_in_0_pi():
    prob = problem(1)
    res = pgd_reduced(prob, [-1.0], [0.1, 0.2, 0.3, 0.4], schedule(8.0), ETA, chains=200,
                      record_every=1, seed=3)
    assert set(np.unique(res.history.theta)) <= {0.0, np.pi}
    assert set(np.unique(res.w)) <= {-1.0, 1.0}
    assert (res.history.theta == 0).any() and (res.history.theta == np.pi).any()


def test_p2_free_stays_in_the_plane_and_reconstructs_w():
    prob = problem(2)
    res = pgd_reduced(prob, [0.0, -1.0], [0.1, 0.2, 0.3, 0.4], schedule(1.0), ETA, chains=50,
                      normalized=False, record_every=25, record_states=True, seed=4)
    u = np.sqrt((res.history.w ** 2).sum(-1))
    th = vp.theta(prob, res.history.w.reshape(-1, 2)).reshape(u.shape)
    assert np.allclose(th, res.history.theta, atol=1e-12, rtol=0)
    # loss recomputed from the reconstructed states by the public evaluator
    L = vp.loss(prob, res.history.w.reshape(-1, 2), res.history.a.reshape(-1, 4))
    assert np.allclose(L.reshape(u.shape), res.history.loss, rtol=1e-12, atol=1e-14)


def test_reconstruction_matches_recorded_theta_and_loss_p64():
    prob = problem(64)
    g = np.random.default_rng(0)
    res = pgd_reduced(prob, g.standard_normal(64), g.standard_normal(4), schedule(0.5), ETA,
                      chains=20, record_every=50, record_states=True, seed=9)
    W = res.history.w.reshape(-1, 64)
    assert np.allclose(np.sqrt((W * W).sum(-1)), 1.0, rtol=0, atol=1e-14)
    assert np.allclose(vp.theta(prob, W), res.history.theta.ravel(), atol=1e-12, rtol=0)


def test_same_seed_same_result_across_chunks_and_splits():
    prob = problem(8)
    g = np.random.default_rng(1)
    w0, a0 = g.standard_normal((10, 8)), g.standard_normal((10, 4))
    args = (prob, w0, a0, vp.Schedule([(1.0, 70), (0.2, 30)]), ETA)
    one = pgd_reduced(*args, chains=10, seed=7, record_every=9)
    assert one == pgd_reduced(*args, chains=10, seed=7, record_every=9)
    assert one.w.tolist() == pgd_reduced(*args, chains=10, seed=7, record_every=9,
                                         chunk_size=3).w.tolist()
    tail = pgd_reduced(prob, w0[4:], a0[4:], args[3], ETA, chains=6, seed=7, record_every=9,
                       first_chain=4)
    assert np.array_equal(one.w[4:], tail.w) and np.array_equal(one.history.theta[:, 4:],
                                                                tail.history.theta)
    other = pgd_reduced(*args, chains=10, seed=8, record_every=9)
    assert not np.array_equal(one.w, other.w)
    assert one.config["reduced"] is True


def test_shared_w0_equals_the_same_w0_per_chain():
    prob = problem(64)
    g = np.random.default_rng(2)
    w0, a0 = g.standard_normal(64), g.standard_normal(4)
    args = (prob, w0, a0, vp.Schedule([(0.5, 30)]), ETA)
    one = pgd_reduced(*args, chains=4, seed=3, record_every=10, record_states=True)
    rows = pgd_reduced(prob, np.tile(w0, (4, 1)), a0, *args[3:], chains=4, seed=3,
                       record_every=10, record_states=True)
    assert np.array_equal(one.w, rows.w) and one.history == rows.history


def test_streams_are_not_the_full_solvers():
    from verified_pgd import rng as vrng
    zn, _ = chain_streams(5, 0)
    assert not np.array_equal(zn.standard_normal(8), vrng.chain_generator(5, 0).standard_normal(8))


def test_noise_moves_the_chain():
    """Negative control for the law tests' premise: the noise is actually applied."""
    prob = problem(8)
    sp = theory.spurious_minimum(prob)
    res = pgd_reduced(prob, sp.w, sp.a, vp.Schedule([(0.5, 20)]), ETA, chains=5)
    assert (res.history.theta[-1] < np.pi).all()


@pytest.mark.parametrize("kw, name", [
    (dict(gradient=8), "gradient"), (dict(precision=30), "precision"),
    (dict(precision="arb:128"), "precision"), (dict(eta=0.0), "eta"), (dict(noise="x"), "noise"),
    (dict(w0=[0.0] * 4), "w0"), (dict(chains=0), "chains"), (dict(seed=-1), "seed"),
    (dict(a0=[1.0]), "a0"), (dict(eps=2.0), "eps"), (dict(chunk_size=0), "chunk_size"),
])
def test_invalid_arguments_name_the_parameter(kw, name):
    args = dict(problem=vp.Problem.default(), w0=[0.3, -1.0, 0.5, 0.2], a0=[0.2, -0.1, 0.4, 0.3],
                schedule=vp.Schedule([(0.3, 10)]), eta=0.1)
    args.update(kw)
    with pytest.raises((ValueError, TypeError)) as exc:
        pgd_reduced(**args)
    assert str(exc.value).startswith(name), str(exc.value)


def test_divergence_is_detected_not_nan():
    prob = problem(8)
    res = pgd_reduced(prob, np.ones(8), np.ones(4), vp.Schedule([(0.0, 200)]), 50.0, chains=3,
                      normalized=False)
    assert res.diverged.all() and np.isfinite(res.w).all() and np.isfinite(res.history.loss).all()


def test_signature_matches_pgd():
    """vp.pgd(..., reduced=True) forwards its arguments unchanged (its own ``reduced``
    and ``workers`` switches aside, and ``engine``: the reduced simulator has one engine)."""
    import inspect
    from verified_pgd.solvers import pgd
    full = [p for name, p in inspect.signature(pgd).parameters.items()
            if name not in ("reduced", "workers", "engine")]
    assert full == list(inspect.signature(pgd_reduced).parameters.values())
