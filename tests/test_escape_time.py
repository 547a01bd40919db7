"""The predicted escape time (theory.escape_time) against the measured one.

Statistics: the mean of ``chains`` escape times carries the exact chi-square interval of an
exponential law at confidence 1 - 1e-6 (escape.mean_interval; the measured coefficients
of variation are 0.7-1.05, and a spread below the exponential one makes the interval
conservative).  "Agrees within tol" means the interval for measured/predicted meets
[1 - TOL, 1 + TOL]; if the prediction is within TOL of the truth this fails with
probability <= 1e-6 per point.  A control "is rejected" when the interval misses
[1 - TOL, 1 + TOL] of the control's prediction.  Fixed seeds.
"""
import math

import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import escape, theory
from verified_pgd.theory import escape_law

TOL = 0.25
ALPHA = 1e-6


def _alternating(p, k=2):
    return vp.Problem([1.0] + [0.0] * (p - 1), [(-1.0) ** j for j in range(k)])


DEFAULT = vp.Problem([1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, -1.0])


def _sigma(prob, x, eta):
    return math.sqrt(2 * float(theory.barrier(prob)) / x / eta)


def _agrees(c, predicted):
    lo, hi = c.low / predicted, c.high / predicted
    return hi >= 1 - TOL and lo <= 1 + TOL


# -- the pieces, against independent computations ----------------------------------------

def test_saddle_factor_is_one_without_coupling_and_between_one_and_the_separatrix_factor():
    assert escape_law.saddle_factor(np.diag([-0.4, 0.5, 0.9])) == pytest.approx(1.0, abs=1e-9)
    H = np.array([[0.03, 0.3], [0.3, 0.34]])
    S = H[0, 0] - H[0, 1] ** 2 / H[1, 1]
    sep = S / np.linalg.eigvalsh(H)[0]
    kappa = escape_law.saddle_factor(H)
    # Dirichlet principle: the trial function h(theta) over-estimates the capacity
    assert 1.0 < kappa < sep
    # grid convergence: two step pairs agree after extrapolation
    assert escape_law.saddle_factor(H, steps=(0.3, 0.15)) == pytest.approx(kappa, rel=2e-3)


def test_one_d_quadrature_float64_agrees_with_mpmath():
    prob = _alternating(3)
    eta, sig = 0.1, _sigma(prob, 3.0, 0.1)
    a = escape_law.escape_time(prob, eta, sig, method="1d")
    b = escape_law.escape_time(prob, eta, sig, method="1d", dps=15)
    assert float(b) == pytest.approx(a, rel=1e-7)


def test_asymptotic_closed_form_approaches_the_quadrature_at_low_temperature():
    prob = DEFAULT
    errs = []
    for x in (4.0, 16.0, 64.0):
        s = _sigma(prob, x, 0.1)
        errs.append(abs(escape_law.escape_time(prob, 0.1, s, method="asymptotic")
                        / escape_law.escape_time(prob, 0.1, s, method="1d") - 1))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 0.1


def test_predictions_scale_as_one_over_eta_and_validate():
    prob = _alternating(3)
    T = float(theory.barrier(prob)) / 3
    t1 = escape_law.escape_time(prob, 0.1, math.sqrt(2 * T / 0.1), method="1d")
    t2 = escape_law.escape_time(prob, 0.05, math.sqrt(2 * T / 0.05), method="1d")
    assert t2 == pytest.approx(2 * t1, rel=1e-9)
    with pytest.raises(ValueError, match="method"):
        escape_law.escape_time(prob, 0.1, 1.0, method="gauss")
    with pytest.raises(ValueError, match="eta"):
        escape_law.escape_time(prob, 0.0, 1.0)
    with pytest.raises(ValueError, match="a_star"):
        escape_law.escape_time(vp.Problem([1.0, 0.0], [1.0] * 5), 0.1, 1.0)
    assert theory.escape_time is escape_law.escape_time


def test_assumptions_name_each_failed_condition_and_agree_with_where_the_saddle_exists():
    for prob, eta, x in ((_alternating(3), 0.05, 3.0), (_alternating(8), 0.05, 1.0),
                         (_alternating(32), 0.05, 4.0), (DEFAULT, 1.0, 3.0), (DEFAULT, 0.05, 1.0)):
        s = _sigma(prob, x, eta)
        a = escape_law.assumptions(prob, eta, s)
        try:
            escape_law.escape_time(prob, eta, s, method="saddle")
            defined = True
        except ValueError:
            defined = False
        # two computations of "V has a saddle at theta_s": the volume fraction and the
        # Schur complement the saddle factor refuses
        assert a.saddle == defined
        assert (a.x < escape_law.X_MIN) == any("Delta L / T" in r for r in a.reasons)
        assert (a.eta_curvature > escape_law.ETA_CURVATURE_MAX) == any("eta x" in r for r in a.reasons)
        assert a.x == pytest.approx(x, rel=1e-12)
    assert escape_law.assumptions(_alternating(3), 0.05, _sigma(_alternating(3), 3.0, 0.05)).holds
    assert not escape_law.assumptions(DEFAULT, 1.0, _sigma(DEFAULT, 3.0, 1.0)).holds


# -- the segmented sampler -----------------------------------------------------------------

def _ks_p(a, b, horizon):
    """KS p-value of two samples censored at the same horizon (inf -> horizon + 1: the
    laws of min(tau, horizon + 1) are compared)."""
    from scipy.stats import ks_2samp
    return ks_2samp(np.where(np.isfinite(a), a, horizon + 1),
                    np.where(np.isfinite(b), b, horizon + 1)).pvalue


def test_segmented_escape_times_have_the_law_of_one_run_and_reject_a_broken_restart(monkeypatch):
    """KS two-sample test at level 1e-6 (false failure <= 1e-6); control: segments that
    restart from the spurious point instead of the last state (a 20-step segment rarely
    reaches theta_s from the minimum) must be rejected at the same level."""
    prob = _alternating(3)
    eta, x = 0.2, 2.0
    s = _sigma(prob, x, eta)
    kw = dict(chains=600, horizon=3000, record_every=1)          # mean ~290 steps
    one = escape.escape_times(prob, s, eta, seed=3, **kw).times
    seg = escape.escape_times(prob, s, eta, seed=4, segment=20, **kw)
    assert _ks_p(one, seg.times, 3000) > ALPHA
    again = escape.escape_times(prob, s, eta, seed=4, segment=20, **kw)
    assert np.array_equal(again.times, seg.times)          # bitwise reproducible
    import verified_pgd.solvers as solvers
    real = solvers.pgd
    sp = theory.spurious_minimum(prob)

    def from_the_minimum(problem, w0, a0, *args, **kwargs):
        n = np.shape(w0)[0]
        return real(problem, np.tile(np.asarray(sp.w, float), (n, 1)),
                    np.tile(np.asarray(sp.a, float), (n, 1)), *args, **kwargs)
    monkeypatch.setattr(solvers, "pgd", from_the_minimum)
    bad = escape.escape_times(prob, s, eta, seed=4, segment=20, **kw).times
    assert _ks_p(one, bad, 3000) < ALPHA
    with pytest.raises(ValueError, match="record_every"):
        escape.escape_times(prob, s, eta, segment=20, record_every=5)
    with pytest.raises(ValueError, match="segment"):
        escape.escape_times(prob, s, eta, segment=0, record_every=1)


# -- measured against predicted ------------------------------------------------------------

@pytest.mark.property
def test_escape_time_agrees_with_the_saddle_prediction_and_rejects_the_no_volume_control():
    prob = _alternating(8)
    eta, x = 0.1, 3.0
    c = escape.compare_prediction(prob, eta, x, chains=1000, seed=7, alpha=ALPHA)
    s = _sigma(prob, x, eta)
    ctl = escape_law.escape_time(prob, eta, s, method="no-volume")
    print(f"\np=8 k=2 eta={eta} dL/T={x}: measured {c.mean:.0f} [{c.low:.0f}, {c.high:.0f}], "
          f"predicted {c.predicted:.0f} (ratio {c.ratio:.3f}), no-volume control {ctl:.0f}, "
          f"1d {escape_law.escape_time(prob, eta, s, method='1d'):.0f}, cv {c.cv:.2f}")
    assert c.censored <= 2
    assert _agrees(c, c.predicted)
    assert not _agrees(c, ctl)


@pytest.mark.slow
@pytest.mark.property
@pytest.mark.parametrize("a_star", [[1.0, -1.0], [1.0, 1.0, 1.0, -1.0]])
@pytest.mark.parametrize("p", [3, 8])
@pytest.mark.parametrize("eta", [0.05, 0.2])
def test_escape_time_grid(a_star, p, eta):
    """Grid where the assumptions hold (Delta L / T = 2, 3, 4; a saddle in V): agreement
    within TOL at every point (1000 chains; false failure <= 1e-6 per point, <= 2.4e-5 over
    the 24 points), the no-volume control rejected at every point.  Printed: the ratio
    measured / predicted for "saddle", "1d" and "separatrix"."""
    prob = vp.Problem([1.0] + [0.0] * (p - 1), a_star)
    for x in (2.0, 3.0, 4.0):
        c = escape.compare_prediction(prob, eta, x, chains=1000, seed=50 + p, alpha=ALPHA)
        s = _sigma(prob, x, eta)
        one = escape_law.escape_time(prob, eta, s, method="1d")
        sep = escape_law.escape_time(prob, eta, s, method="separatrix")
        ctl = escape_law.escape_time(prob, eta, s, method="no-volume")
        print(f"\nk={prob.k} p={p} eta={eta} x={x}: measured {c.mean:.0f} [{c.low:.0f}, "
              f"{c.high:.0f}] ratio saddle {c.ratio:.3f} 1d {c.mean / one:.3f} "
              f"separatrix {c.mean / sep:.3f}")
        assert _agrees(c, c.predicted)
        assert not _agrees(c, ctl)
