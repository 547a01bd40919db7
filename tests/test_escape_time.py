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


GRID_TEACHERS = {"alternating k=2": [1.0, -1.0], "default k=4": [1.0, 1.0, 1.0, -1.0]}
GRID_ETAS = (0.05, 0.2, 1.0)                 # small, moderate, large (outside) step
GRID_XS = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
GRID_XS_EXTRA = {32: (8.0, 10.0)}            # where the saddle in V is well formed at p = 32


def _grid_point(prob, eta, x, seed):
    """One grid point: the measured mean (1000 chains) against every method, and the
    assumptions of "saddle" (escape_law.assumptions)."""
    s = _sigma(prob, x, eta)
    ok = escape_law.assumptions(prob, eta, s)
    method = "saddle" if ok.saddle else "1d"
    c = escape.compare_prediction(prob, eta, x, chains=1000, seed=seed, alpha=ALPHA,
                                  method=method)
    pred = {}
    for m in ("saddle", "1d", "separatrix", "no-volume"):
        try:
            pred[m] = escape_law.escape_time(prob, eta, s, method=m)
        except ValueError:
            pred[m] = None
    return c, pred, ok


@pytest.fixture(scope="module")
def grid():
    """The issue-13 grid: two teachers, p = 3, 8, 32, eta = 0.05, 0.2 (small) and 1.0
    (large), Delta L / T = 0.5 ... 6 (and 8, 10 at p = 32), 1000 chains per point,
    intervals at 1 - 1e-6.  Printed per point: the ratio measured / predicted for every
    method, whether the assumptions hold (escape_law.assumptions) and, if not, why."""
    rows = []
    for teacher, a in GRID_TEACHERS.items():
        for p in (3, 8, 32):
            prob = vp.Problem([1.0] + [0.0] * (p - 1), a)
            for eta in GRID_ETAS:
                for x in GRID_XS + GRID_XS_EXTRA.get(p, ()):
                    c, pred, ok = _grid_point(prob, eta, x,
                                              seed=1000 * p + int(10 * x) + int(100 * eta))
                    ratios = " ".join(f"{m} {c.mean / v:.3f}" if v else f"{m} -"
                                      for m, v in pred.items())
                    tag = "holds" if ok.holds else "OUTSIDE (" + "; ".join(ok.reasons) + ")"
                    print(f"\nGRID {teacher} p={p} eta={eta} x={x}: measured {c.mean:.1f} "
                          f"[{c.low:.1f}, {c.high:.1f}] cv {c.cv:.2f} censored {c.censored} | "
                          f"{ratios} | {c.method} "
                          f"{'agrees' if _agrees(c, c.predicted) else 'DISAGREES'} | {tag}",
                          flush=True)
                    rows.append((teacher, p, eta, x, c, pred, ok))
    return rows


# False failure of the three grid tests together: <= 1e-6 per asserted interval, at most
# 2 x 138 intervals -> <= 3e-4 (Bonferroni).

@pytest.mark.slow
@pytest.mark.property
def test_escape_time_grid_agrees_where_the_assumptions_hold_and_rejects_the_control(grid):
    """Where escape_law.assumptions holds (Delta L / T >= 2, the volume term below half
    the saddle's curvature, eta x curvature <= 1/4): "saddle" agrees within TOL = 25 %
    and the no-volume control is rejected, at every such point."""
    inside = [r for r in grid if r[6].holds]
    assert len(inside) >= 20
    for teacher, p, eta, x, c, pred, ok in inside:
        assert c.censored <= 2
        assert _agrees(c, c.predicted), (teacher, p, eta, x, c.ratio)
        assert not _agrees(c, pred["no-volume"]), (teacher, p, eta, x)


@pytest.mark.slow
@pytest.mark.property
def test_escape_time_grid_one_d_is_a_lower_bound_everywhere(grid):
    """The 1-D formula is a Dirichlet-principle lower bound: the interval's upper end
    reaches it at every grid point, inside the assumptions or not."""
    for teacher, p, eta, x, c, pred, ok in grid:
        assert c.high >= pred["1d"], (teacher, p, eta, x, c.mean / pred["1d"])


@pytest.mark.slow
@pytest.mark.property
def test_escape_time_grid_shows_where_the_assumptions_fail(grid):
    """Outside the assumptions the points are expected-disagreement points, not skipped:

    * the missing saddle (only "1d" defined) and the large step (eta x curvature > 1/4;
      measured: rejected singly only together with the weakened saddle of p = 32) each
      produce points whose interval misses [1 - TOL, 1 + TOL];
    * the large step alone (eta = 1 where V has a well-formed saddle, Delta L / T >= 2,
      ratios 1.07-1.40 measured) slows escape against the diffusion: the hypothesis
      "every ratio <= 1" is rejected by the pooled statistic sum_i S_i / predicted_i
      (S_i the sum of point i's times), which under it is stochastically below
      Gamma(n_total, 1) (exponential times); rejected when above its 1 - 1e-6 quantile.
    """
    from scipy.stats import gamma
    rejected = [(t, p, eta, x, round(c.ratio, 3), ok.reasons) for t, p, eta, x, c, pred, ok
                in grid if not ok.holds and not _agrees(c, c.predicted)]
    print("\nexpected-disagreement points rejected:", *rejected, sep="\n  ")
    assert any(any("eta x" in r for r in reasons) and "no saddle" not in " ".join(reasons)
               for *_, reasons in rejected)
    assert any(any("no saddle" in r for r in reasons) for *_, reasons in rejected)
    large = [c for t, p, eta, x, c, pred, ok in grid
             if ok.reasons and all(r.startswith("eta x") for r in ok.reasons)]
    assert len(large) >= 10
    stat = sum(float(np.sum(c.times)) / c.predicted for c in large)
    n = sum(c.chains for c in large)
    print(f"\nlarge step alone: {len(large)} points, pooled ratio {stat / n:.3f}, "
          f"[{stat / gamma.ppf(1 - ALPHA / 2, n):.3f}, {stat / gamma.ppf(ALPHA / 2, n):.3f}]")
    assert stat > gamma.ppf(1 - ALPHA, n)


def test_an_assumption_reason_never_reads_as_its_own_limit():
    # the control: three digits print 0.25000001 as the limit itself ("0.25 > 0.25")
    assert float(f"{0.25000001:.3g}") == 0.25
    for v, lim in ((0.25000001, 0.25), (0.2503, 0.25), (1.9999999, 2.0), (0.608, 0.5)):
        assert float(escape_law._past(v, lim)) != lim
    assert escape_law._past(0.608, 0.5) == "0.608"
