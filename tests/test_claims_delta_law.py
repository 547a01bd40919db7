"""The 1/delta law as a claims quantity (``delta_exponent``, docs/claims.md): parsing and
validation, the arb prediction, the interval construction (exactness, coverage, power),
and verdicts on PGD runs including the negative control.

Statistical assertions: every verdict here carries confidence 1 - 1e-6 (the interval of
the exponent misses with probability <= 1e-6); the coverage test's own false-failure
probability is stated where it is made.  Seeds are fixed.
"""
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom

import verified_pgd as vp
from verified_pgd import claims, theory
from verified_pgd.claims import delta_law
from verified_pgd.claims.evaluation import predicted_exponent

ROOT = Path(__file__).resolve().parent.parent

BASE = """
[[claim]]
name = "law"
quantity = "delta_exponent"
relation = "{rel}"
bound = "C * dL_over_Lspur"
constants = {{ C = {C} }}
chains = {chains}
confidence = 0.999999
[claim.problem]
w_star = [1.0, 0.0, 0.0]
a_star = [1.0, -1.0]
[claim.params]
eta = 0.5
{params}
"""


def _claim(rel=">=", C=1.0, chains=2000, params="x_max = 1.5"):
    (c,) = claims.parse_claims(BASE.format(rel=rel, C=C, chains=chains, params=params), "t.toml")
    return c


# --------------------------------------------------------------------------- parsing

@pytest.mark.parametrize("params, word", [
    ("", "x_max"),                                   # required
    ("x_max = 0.9", "x_max"),                        # fewer than two schedules
    ("x_max = 2.0\nx_min = 0", "x_min"),
    ("x_max = 2.0\nx_step = -0.5", "x_step"),
    ("x_max = 30.0\nx_step = 0.5", "x_step"),        # 60 schedules > MAX_MEMBERS
    ("x_max = 2.0\nhold = 0", "hold"),
    ("x_max = 2.0\nhold = 5000", "hold"),
    ("x_max = 2.0\nquench = 2.5", "quench"),
    ("x_max = 2.0\nquench = 0", "quench"),
])
def test_bad_ladder_parameters_are_refused_naming_the_parameter(params, word):
    with pytest.raises(claims.ClaimError, match=word):
        _claim(params=params)


def test_bad_eta_is_refused_and_the_prediction_is_a_bound_name():
    text = BASE.format(rel=">=", C=1, chains=10, params="x_max = 2.0").replace(
        "eta = 0.5", "eta = -0.5")
    with pytest.raises(claims.ClaimError, match="eta"):
        claims.parse_claims(text, "t.toml")
    c = _claim()
    assert "dL_over_Lspur" in c.bound.names
    with pytest.raises(claims.ClaimError, match="not allowed"):
        claims.parse_claims(BASE.format(rel=">=", C=1, chains=10, params="x_max = 2.0")
                            .replace("C * dL_over_Lspur", "dL_over_Lspur.real"), "t.toml")


# --------------------------------------------------------------------------- prediction

@pytest.mark.parametrize("a_star", [[1.0, -1.0], [1.0, 1.0, -1.5], [1.0, 1.0, 1.0, -1.0]])
def test_arb_prediction_encloses_the_ratio_of_the_critical_losses(a_star):
    """Two independent computations: the arb enclosure of cf.barrier / cf.spurious_loss
    against 50-digit mpmath values of the two losses, and against the identity
    L(spurious)/Delta L = (pi - g_s)^2 / g_s^2 - 1 (docs/theory.md)."""
    prob = vp.Problem([1.0] + [0.0] * (len(a_star) - 1), a_star)
    lo, hi, mid = predicted_exponent(prob)
    assert lo <= mid <= hi and hi - lo < 1e-15 * mid
    mp = float(theory.barrier(prob, dps=50) / theory.spurious_minimum(prob, dps=50).loss)
    gs = float(theory.g_s(prob, dps=50))
    ident = 1.0 / ((math.pi - gs) ** 2 / gs ** 2 - 1.0)
    for v in (mp, ident):
        assert lo - 1e-15 <= v <= hi + 1e-15
    wrong = float(theory.barrier(prob) / theory.saddle(prob).loss)   # control: L(saddle)
    assert not lo - 1e-12 <= wrong <= hi + 1e-12


def test_problem_without_spurious_minimum_is_an_error():
    prob = vp.Problem([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="spurious"):
        predicted_exponent(prob)
    with pytest.raises(ValueError, match="spurious"):
        delta_law.ladder_family(prob, 0.5, 0.5, 1.5, 0.5, 4.0, 200)


# --------------------------------------------------------------------------- the interval

T_SYN = (200, 400, 800, 1600, 3200)


def _synthetic(exponent, n, rng, C=0.5):
    delta = C * (np.asarray(T_SYN, float) / T_SYN[0]) ** (-1.0 / exponent)
    return rng.binomial(n, delta), delta


def test_slope_range_is_the_exact_range_over_the_box():
    """The interval's slope ends against brute force over the 2^J corners of the box."""
    f = (900, 300, 90, 20, 4)
    fit = delta_law.fit_exponent(T_SYN, f, 2000, 1e-6)
    u = np.log(T_SYN)
    ylo = -np.log(fit.delta_high)
    yhi = -np.log(fit.delta_low)
    slopes = [np.polyfit(u, [ylo[j] if c[j] else yhi[j] for j in range(5)], 1)[0]
              for c in itertools.product((0, 1), repeat=5)]
    assert math.isclose(fit.slope_low, min(slopes), rel_tol=1e-12)
    assert math.isclose(fit.slope_high, max(slopes), rel_tol=1e-12)
    assert math.isclose(fit.slope, np.polyfit(u, -np.log(np.asarray(f) / 2000), 1)[0],
                        rel_tol=1e-12)
    assert fit.low <= fit.exponent <= fit.high


def test_interval_covers_the_true_exponent_and_a_point_estimate_does_not():
    """Coverage at alpha = 0.2 over 150 synthetic fits (true exponent 0.3): misses are
    Bin(150, <= 0.2) if the construction is valid; the test fails only if more than x_crit
    miss, P(Bin(150, 0.2) > x_crit) <= 1e-6.  Control: the zero-width interval
    [estimate, estimate] misses almost always and is rejected by the same test."""
    rng = np.random.default_rng(1213)
    alpha, reps, e = 0.2, 150, 0.3
    x_crit = int(binom.isf(1e-6, reps, alpha))
    miss = miss_point = 0
    for _ in range(reps):
        f, _ = _synthetic(e, 4000, rng)
        fit = delta_law.fit_exponent(T_SYN, f, 4000, alpha)
        miss += not fit.low <= e <= fit.high
        miss_point += not fit.exponent == e
    assert miss <= x_crit
    assert miss_point > x_crit


def test_interval_has_power_against_twice_the_exponent_and_handles_zero_counts():
    rng = np.random.default_rng(7)
    f, _ = _synthetic(0.3, 10 ** 6, rng)
    fit = delta_law.fit_exponent(T_SYN, f, 10 ** 6, 1e-6)
    assert fit.low <= 0.3 <= fit.high < 0.6
    zero = delta_law.fit_exponent(T_SYN, (500, 100, 10, 1, 0), 1000, 1e-6)
    assert math.isnan(zero.exponent) and zero.low < zero.high
    flat = delta_law.fit_exponent(T_SYN, (500,) * 5, 1000, 1e-6)
    assert flat.high == math.inf                  # failure not falling: no finite exponent
    with pytest.raises(ValueError, match="two members"):
        delta_law.fit_exponent((100, 100), (5, 4), 1000, 1e-6)


# --------------------------------------------------------------------------- PGD runs

def test_law_holds_and_three_times_the_law_is_rejected_on_pgd_runs():
    """2000 chains, three ladder schedules (x = 0.5, 1, 1.5; a* = (1, -1), p = 3): the law
    (exponent >= Delta L / L(spurious)) holds and the negative control with 3x the
    exponent is violated, each wrong with probability <= 1e-6 (confidence 1 - 1e-6)."""
    (law,) = claims.check_claim(_claim(C=1.0))
    (ctl,) = claims.check_claim(_claim(C=3.0))       # the same simulation (cached)
    assert law.verdict == "holds", law
    assert ctl.verdict == "violated", ctl
    assert law.value == ctl.value
    lo, hi, _ = predicted_exponent(vp.Problem([1.0, 0.0, 0.0], [1.0, -1.0]))
    assert lo <= law.bound <= hi


def test_same_seed_same_counts_and_a_diverged_chain_fails():
    prob = vp.Problem([1.0, 0.0, 0.0], [1.0, -1.0])
    sp = theory.spurious_minimum(prob)
    fam = delta_law.ladder_family(prob, 0.5, 0.5, 1.0, 0.5, 2.0, 50)
    a = delta_law.failure_counts(prob, fam, 0.5, sp.w, sp.a, 300, 3)
    b = delta_law.failure_counts(prob, fam, 0.5, sp.w, sp.a, 300, 3)
    c = delta_law.failure_counts(prob, fam, 0.5, sp.w, sp.a, 300, 4)
    assert a == b and a.failures != c.failures
    # A step size far beyond the stable range: every chain diverges and counts as failed.
    big = delta_law.failure_counts(prob, fam, 50.0, sp.w, sp.a, 50, 3)
    assert big.failures == (50, 50)


@pytest.mark.slow
def test_example_file_verdicts():
    """examples/claims/delta_law.toml (20000 chains per ladder, ~1-2 min): the law holds on
    both teachers, the 2x control is violated, the ladder is within 2x of the law; restarts
    by the loss reach m_eff >= 0.75 m, kept at random they do not."""
    cs = claims.load_claims(ROOT / "examples" / "claims" / "delta_law.toml")
    verdicts = [r.verdict for c in cs for r in claims.check_claim(c)]
    assert verdicts == ["holds", "holds", "violated", "holds", "holds", "violated"]


# --------------------------------------------------------------------------- restarts

RESTART = """
[[claim]]
name = "restarts"
quantity = "restart_exponent"
relation = ">="
bound = "C * restarts"
constants = {{ C = 0.5 }}
chains = {chains}
confidence = 0.999999
{extra}
[claim.problem]
w_star = [1.0, 0.0, 0.0]
a_star = [1.0, -1.0]
[claim.params]
eta = 0.5
x = 1.5
{params}
"""


@pytest.mark.parametrize("extra, params, word", [
    ("", "", "restarts"),                            # required
    ("", "restarts = 0", "restarts"),
    ("", "restarts = 2.5", "restarts"),
    ("", "restarts = 2\nhold = 0", "hold"),
    ("", "restarts = 2\neps = 1.5", "eps"),
    ("", "restarts = 2\nquench = 0", "quench"),
    ('select = "best"', "restarts = 2", "select"),
])
def test_bad_restart_parameters_are_refused_naming_the_parameter(extra, params, word):
    with pytest.raises(claims.ClaimError, match=word):
        claims.parse_claims(RESTART.format(chains=10, extra=extra, params=params), "t.toml")


def test_select_is_refused_on_other_quantities():
    text = BASE.format(rel=">=", C=1, chains=10, params="x_max = 2.0").replace(
        'confidence = 0.999999', 'confidence = 0.999999\nselect = "random"')
    with pytest.raises(claims.ClaimError, match="select"):
        claims.parse_claims(text, "t.toml")


def test_restart_interval_is_monotone_in_the_counts_and_covers_the_corners():
    from verified_pgd.claims import restart_law
    from verified_pgd.claims.statistics import clopper_pearson
    est, lo, hi = restart_law.fit_from_counts(2000, 270, 4000, 1e-6)
    d = clopper_pearson(2000, 4000, 1e-6 / 4)
    q = clopper_pearson(270, 4000, 1e-6 / 4)
    corners = [math.log(qq) / math.log(dd) for qq in q for dd in d]
    assert math.isclose(lo, min(corners)) and math.isclose(hi, max(corners))
    assert lo <= est <= hi
    assert restart_law.fit_from_counts(2000, 0, 4000, 1e-6)[2] == math.inf
    assert restart_law.fit_from_counts(4000, 100, 4000, 1e-6)[2] == math.inf


def test_restarts_by_loss_hold_and_random_selection_is_rejected_on_pgd_runs():
    """1000 chains per sample, m = 4: m_eff >= 0.5 m holds for the selection by the loss and
    is violated by the random selection (each verdict wrong w.p. <= 1e-6)."""
    (by_loss,) = claims.check_claim(claims.parse_claims(
        RESTART.format(chains=1000, extra="", params="restarts = 4"), "t.toml")[0])
    (rand,) = claims.check_claim(claims.parse_claims(
        RESTART.format(chains=1000, extra='select = "random"', params="restarts = 4"),
        "t.toml")[0])
    assert by_loss.verdict == "holds", by_loss
    assert rand.verdict == "violated", rand


def test_an_unbounded_interval_is_null_in_strict_json():
    import json
    r = claims.PointResult("c", {}, "delta_exponent", ">=", 0.3, (0.1, math.inf), "undecided",
                           0.999999, "m", None, None, None)
    assert json.loads(json.dumps(r.to_dict(), allow_nan=False))["value"] == [0.1, None]


@pytest.mark.parametrize("key", ["horizon = 5", "probability = 0.5"])
def test_keys_the_exponents_do_not_use_are_refused(key):
    text = BASE.format(rel=">=", C=1, chains=10, params="x_max = 2.0").replace(
        "confidence = 0.999999", f"confidence = 0.999999\n{key}")
    with pytest.raises(claims.ClaimError, match=key.split()[0]):
        claims.parse_claims(text, "t.toml")
    with pytest.raises(claims.ClaimError, match="init"):
        claims.parse_claims(RESTART.format(chains=10, extra='init = "random"',
                                           params="restarts = 2"), "t.toml")
