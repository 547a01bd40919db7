"""Scaling of the steps to eps-success with k and with eps (polynomial, not exponential).

Setting: the alternating teacher a* = |a*| (1, -1, ...)/sqrt(k) (a spurious minimum for
every k >= 2, with the worst ratio L(spurious)/Delta L = (pi - 1)^2 - 1), p = 3, s = 1,
|a*| = 1, every chain started AT the spurious minimum, step size eta = eta_max(problem)/2,
and theory.schedule(problem, eps, delta = 0.1, eta).  Steps to eps = the median first
eps-success step over the chains (more than half must succeed).

* k-scan: fit log steps = a + b log k (polynomial) and log steps = a + c k (exponential);
  assert 0 < b < 3 and that the exponential model's residual sum of squares is at least
  MARGIN = 2 times the polynomial one's.  (|a*| = 1 so that eta_max is set by the
  k-dependent curvature (k + pi - 1)/2pi for every k; with |a*| = 1.5 it is capped by
  s^2|a*|^2/2 for k <= 4, steps are flat then linear in k, and such a hinge is not
  separated from an exponential by a least-squares comparison on the ranges we can
  afford — a limit of this test.)
* eps-scan (k = 4; one schedule built for the smallest eps, so every eps sees the same
  trajectories): per chain the steps from reaching eps0 = 1e-2 to reaching eps, against
  log(eps0/eps): fit log steps = a + c log log(eps0/eps) (polynomial in log(1/eps)) against
  log steps = a + c' log(eps0/eps) (polynomial in 1/eps); same margin; and the slope in
  steps per e-fold is compared with the independent prediction 1/-log(rho), rho =
  theory.contraction_factor(problem, eta).

The exponents are printed (pytest -s).  CI: k in {2, 4, 8, 16}, four eps values; slow:
k in {2, ..., 64} and eps in {1e-3, ..., 1e-8}.  (Deterministic up to the median over
chains: T itself is a deterministic function of the problem.)
"""
import math

import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import strategies as vst
from verified_pgd import theory

pytestmark = pytest.mark.property

A_NORM = 1.0
DELTA = 0.1
MARGIN = 2.0
SEED = 5


def _problem(k):
    a = np.array([(-1.0) ** j for j in range(k)]) * A_NORM / math.sqrt(k)
    return vp.Problem([1.0, 0.0, 0.0], a)


def _start(prob):
    sp = theory.spurious_minimum(prob)
    return np.asarray(sp.w, float), np.asarray(sp.a, float)


def steps_to_eps(prob, eps, chains, schedule=None, eta=None):
    """Median first eps-success step from the spurious minimum (inf if <= half succeed)."""
    eta = 0.5 * vst.eta_max(prob) if eta is None else eta
    sched = schedule or theory.schedule(prob, eps, DELTA, eta)
    w0, a0 = _start(prob)
    r = vp.pgd(prob, w0, a0, sched, eta, seed=SEED, chains=chains, eps=eps,
               record_every=sched.total_steps)
    hit = np.where(r.hit_step >= 0, r.hit_step.astype(float), np.inf)
    return float(np.median(hit)), sched


def _rss(x, y):
    coef = np.polyfit(x, y, 1)
    return float(np.sum((np.polyval(coef, x) - y) ** 2)), float(coef[0])


def compare_models(x_poly, x_exp, steps):
    """(exponent, rss_poly, rate, rss_exp) for log steps against x_poly and x_exp."""
    y = np.log(np.asarray(steps, float))
    rp, b = _rss(np.asarray(x_poly, float), y)
    re, c = _rss(np.asarray(x_exp, float), y)
    return b, rp, c, re


def _k_scan(ks, chains):
    steps, designs = [], []
    for k in ks:
        prob = _problem(k)
        m, sched = steps_to_eps(prob, 1e-8, chains)
        steps.append(m)
        designs.append(sched.total_steps)
    assert all(np.isfinite(steps)), steps
    b, rp, c, re = compare_models(np.log(ks), ks, steps)
    bT, rpT, _, reT = compare_models(np.log(ks), ks, designs)
    print(f"\nk-scan {ks}: median steps {[int(s) for s in steps]}, T {designs}"
          f"\n  steps ~ k^{b:.3f} (rss {rp:.3g}); exponential rate {c:.4f}/k (rss {re:.3g}); "
          f"T ~ k^{bT:.3f}")
    return b, rp, re, bT


def _eps_scan(eps_values, chains, k=4, eps0=1e-2):
    """Per chain: steps from reaching eps0 to reaching eps (same trajectories for every eps:
    one schedule, built for the smallest eps); median over chains."""
    prob = _problem(k)
    eta = 0.5 * vst.eta_max(prob)
    sched = theory.schedule(prob, min(eps_values), DELTA, eta)
    w0, a0 = _start(prob)

    def hits(eps):
        r = vp.pgd(prob, w0, a0, sched, eta, seed=SEED, chains=chains, eps=eps,
                   record_every=sched.total_steps)
        return np.where(r.hit_step >= 0, r.hit_step.astype(float), np.inf)
    h0 = hits(eps0)
    steps = []
    for eps in eps_values:
        h = hits(eps)
        ok = np.isfinite(h) & np.isfinite(h0)       # a chain that never succeeds is slowest
        steps.append(float(np.median(np.where(ok, h - np.where(ok, h0, 0.0), np.inf))))
    assert all(np.isfinite(steps)), steps
    L = np.log(eps0 / np.asarray(eps_values))
    c, rp, cexp, re = compare_models(np.log(L), L, steps)
    # Independent prediction of the rate: GD's local contraction factor at the optimum.
    per_unit = 1.0 / -math.log(theory.contraction_factor(prob, eta))
    slope = float(np.polyfit(L, steps, 1)[0])
    print(f"\neps-scan {eps_values} (k = {k}): steps from eps0 = {eps0:g} {[int(x) for x in steps]}"
          f"\n  steps ~ log(eps0/eps)^{c:.3f} (rss {rp:.3g}); ~ (1/eps)^{cexp:.4f} (rss {re:.3g});"
          f" {slope:.3f} steps per e-fold vs 1/-log(rho) = {per_unit:.3f}")
    return c, rp, re, slope, per_unit


def test_steps_to_eps_grow_polynomially_in_k():
    b, rp, re, bT = _k_scan([2, 4, 8, 16], chains=24)
    assert 0 < b < 3 and 0 < bT < 3
    assert re >= MARGIN * rp


def test_steps_to_eps_grow_polynomially_in_log_one_over_eps():
    c, rp, re, slope, per_unit = _eps_scan([1e-3, 1e-4, 1e-6, 1e-8], chains=24)
    assert 0.5 < c < 1.5                 # linear convergence: c ~ 1
    assert re >= MARGIN * rp
    assert 0.5 < slope / per_unit < 2.0  # the local rate is GD's contraction factor


def test_negative_control_exponential_growth_is_flagged():
    # The model comparison itself must be able to fail: steps that double with k
    # (exponential) are fitted better by the exponential model.
    ks = np.array([2, 4, 8, 16, 32, 64])
    steps = 100 * 2.0 ** (ks / 4)
    b, rp, c, re = compare_models(np.log(ks), ks, steps)
    assert not re >= MARGIN * rp


@pytest.mark.slow
def test_scaling_full():
    b, rp, re, bT = _k_scan([2, 4, 8, 16, 32, 64], chains=100)
    assert 0 < b < 3 and re >= MARGIN * rp
    c, rp, re, slope, per_unit = _eps_scan([1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8], chains=200)
    assert 0.5 < c < 1.5 and re >= MARGIN * rp and 0.5 < slope / per_unit < 2.0
