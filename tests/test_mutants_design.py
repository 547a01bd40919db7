"""Fast, direct tests of ``verified_pgd/theory/schedule_design.py`` for mutation testing
(docs/testing.md, "Mutation testing", the ``design`` target; ~3 s).

The reference for a design is its construction as docs/theory.md ("The annealing
schedule") states it, written out here from the public constants (``hessian_spectrum``,
``basin_radius``, ``basin_contraction_factor``, ``barrier``, ``saddle_theta``, the
critical points): every stage's name, temperature, sigma and length and every field of
``ScheduleDesign``.  The freeze temperature is checked by its definition (the largest T
with ``spurious_fraction(T) <= level``), ``spurious_fraction`` against a direct Simpson
quadrature of the documented ratio (no minimum factored out), ``freeze_temperature``'s
bisection against a monotone stand-in with a known level crossing.  Designs with a
chosen freeze temperature (barrier levels, escape at T_freeze, overflow, p = 1) use a
recording stand-in for ``freeze_temperature``: it also checks the level and T_max passed."""
import math
import re

import numpy as np
import pytest
from scipy.integrate import simpson

import verified_pgd as vp
from verified_pgd import theory as T
from verified_pgd.solver.schedule import Schedule
from verified_pgd.theory import schedule_design as sd

_TWO = vp.Problem(np.array([1.0, 0.0, 0.0]), np.array([1.0, -1.0]))     # spurious; p = 3
_FOUR = vp.Problem(np.array([0.6, -1.2, 0.25, 2.0]), np.array([1.0, -0.8, 0.3]))  # p = 4, s != 1
_NONE = vp.Problem(np.array([0.6, 0.8, 0.0]), np.array([1.0, 2.0]))     # no spurious minimum
_P1 = vp.Problem(np.array([1.5]), np.array([1.0, -1.0]))                # spurious, no saddle (p = 1)
_P2 = vp.Problem(np.array([0.8, 0.6]), np.array([1.0, -1.0, 0.5]))      # spurious, p = 2
_SMALL = vp.Problem(np.array([0.3, 0.0, 0.0]), np.array([1.0, -1.0]))   # s |a*| = 0.42 < 1


def _eta(prob, frac=0.5):
    sp = T.hessian_spectrum(prob)
    return frac * 2.0 / (sp.lam_max + sp.mu / 2)


def _ceil1(x):
    return max(1, math.ceil(x))


def _construction(prob, eps, delta, eta, T_freeze=None, escape_factor=1.0):
    """docs/theory.md, "The annealing schedule", steps 1-4: [(name, T, steps)] and the
    numbers of ScheduleDesign (T_freeze given for a problem with a spurious minimum)."""
    sp = T.hessian_spectrum(prob)
    mu = sp.mu
    r = T.basin_radius(prob)
    rho = T.basin_contraction_factor(prob, eta)
    log3d = math.log(3.0 / delta)
    has = T.has_spurious_minimum(prob)
    if has:
        dL = T.barrier(prob)
        dist = math.pi - T.saddle_theta(prob)
        T_esc = max(dL / sd.X_ESC, T_freeze)
        losses = (dL, T.saddle(prob).loss if prob.p >= 2 else None, T.spurious_minimum(prob).loss)
    else:
        dL = None
        dist = math.pi / 2
        T_esc = T.reduced_loss(prob, math.pi) / sd.X_STAY
        T_freeze = T_esc
        losses = (None, None, None)

    def tau(t):
        return dist ** 2 / (2 * eta * t) + 2 * math.pi / (eta * (math.pi - 1))

    def hold(t):
        return sd.C_HOLD * tau(t) * (math.exp(dL / t) if has else 1.0) * log3d

    stages = [("escape", T_esc, _ceil1(escape_factor * hold(T_esc)))]
    t = T_esc
    while has and t > T_freeze:
        t = max(1.0 / (1.0 / t + 1.0 / dL), T_freeze)      # Delta L / T up by one
        stages.append(("barrier", t, _ceil1(escape_factor * hold(t))))
    dim = prob.p - 1 + prob.k
    T_end = mu * (r / 2) ** 2 / (math.sqrt(dim) + math.sqrt(2 * log3d)) ** 2
    while t > T_end:
        t = max(t / sd.GAMMA, T_end)
        stages.append(("relax", t, _ceil1(sd.C_RELAX / (eta * mu))))
    eps_abs = eps * min(1.0, prob.s * math.sqrt(float(np.sum(prob.a_star ** 2)))) / math.sqrt(2)
    stages.append(("local", 0.0, _ceil1(math.log(r / eps_abs) / math.log(1 / rho))))
    numbers = dict(T_escape=T_esc, T_freeze=T_freeze, T_end=T_end, tau_escape=tau(T_esc),
                   basin_radius=r, contraction=rho, eps_abs=eps_abs)
    return stages, numbers, losses


def _close(a, b, rel=1e-12):
    return a == b or math.isclose(a, b, rel_tol=rel)


def _check_design(d, prob, eps, delta, eta, T_freeze=None, escape_factor=1.0):
    stages, numbers, losses = _construction(prob, eps, delta, eta, T_freeze, escape_factor)
    assert [s[0] for s in d.stages] == [s[0] for s in stages]
    for (name, sig, n, t), (_, t_want, n_want) in zip(d.stages, stages):
        assert n == n_want and _close(t, t_want), (name, n, n_want, t, t_want)
        assert _close(sig, math.sqrt(2 * t_want / eta) if t_want > 0 else 0.0)
        assert type(n) is int and type(sig) is float and type(t) is float
    want = Schedule([(math.sqrt(2 * t / eta) if t > 0 else 0.0, n) for _, t, n in stages])
    assert len(d.schedule.stages) == len(want.stages)
    for got, w in zip(d.schedule.stages, want.stages):
        assert got.steps == w.steps and got.eta == w.eta
        assert _close(got.sigma_w, w.sigma_w) and _close(got.sigma_a, w.sigma_a)
    assert d.escape_steps == stages[0][2]
    assert d.descent_steps == sum(n for name, _, n in stages if name in ("barrier", "relax"))
    assert d.local_steps == stages[-1][2]
    assert d.total_steps == sum(n for _, _, n in stages) == d.schedule.total_steps
    for got, w in zip((d.barrier, d.saddle_loss, d.spurious_loss), losses):
        assert (got is None) if w is None else _close(got, w)
    for name, w in numbers.items():
        assert _close(getattr(d, name), w), name


class _Freeze:
    """A stand-in for freeze_temperature: records (level, T_max), returns factor * Delta L."""

    def __init__(self, factor):
        self.factor, self.calls = factor, []

    def __call__(self, problem, level, T_max):
        self.calls.append((problem, level, T_max))
        return self.factor * T.barrier(problem)


@pytest.mark.parametrize("delta", [0.05])
def test_design_is_the_documented_construction(delta):
    """A real design with barrier levels (p = 3, a* = (1, -1)): T_freeze by its definition
    (at the bisection's resolution), then every stage and field from the construction."""
    eps, eta = 0.1, _eta(_TWO)
    d = sd.design(_TWO, eps, delta, eta)
    level = delta / (3 * sd.FREEZE_MARGIN)
    assert sd.spurious_fraction(_TWO, d.T_freeze) <= level
    assert sd.spurious_fraction(_TWO, d.T_freeze * (1 + 1e-9)) > level
    assert d.T_freeze < T.barrier(_TWO)
    _check_design(d, _TWO, eps, delta, eta, d.T_freeze)
    assert any(s[0] == "barrier" for s in d.stages)
    assert sd.schedule(_TWO, eps, delta, eta).stages == d.schedule.stages


@pytest.mark.parametrize("factor, escape_factor", [(1 / 3.5, 1.0), (1 / 3.5, 0.37), (2.5, 1.0),
                                                   (1 / 3.5, 1e-9)])
def test_design_with_a_chosen_freeze_temperature(monkeypatch, factor, escape_factor):
    """T_freeze below Delta L: barrier levels down to it; above: escape right there, no
    barrier levels.  escape_factor scales the escape and barrier stages only (and a tiny
    one leaves one step each).  freeze_temperature gets level delta/(3F), T_max = L(spurious)."""
    fake = _Freeze(factor)
    monkeypatch.setattr(sd, "freeze_temperature", fake)
    eps, delta, eta = 0.05, 0.1, _eta(_FOUR, 0.7)
    d = sd.design(_FOUR, eps, delta, eta, escape_factor=escape_factor)
    (prob, level, T_max), = fake.calls
    assert prob is _FOUR and _close(level, delta / (3 * sd.FREEZE_MARGIN))
    assert _close(T_max, T.spurious_minimum(_FOUR).loss)
    _check_design(d, _FOUR, eps, delta, eta, factor * T.barrier(_FOUR), escape_factor)
    assert any(s[0] == "barrier" for s in d.stages) is (factor < 1)


def test_design_without_a_spurious_minimum():
    eps, delta, eta = 0.01, 0.05, _eta(_NONE, 0.3)
    d = sd.design(_NONE, eps, delta, eta)
    _check_design(d, _NONE, eps, delta, eta)
    assert d.barrier is d.saddle_loss is d.spurious_loss is None
    assert d.T_freeze == d.T_escape


@pytest.mark.parametrize("prob", [_P1, _P2, _SMALL], ids=["p1", "p2", "small-scale"])
def test_design_for_p_1_2_and_a_small_teacher(monkeypatch, prob):
    """p = 1: no saddle, so no saddle loss; p = 2: the saddle loss; s |a*| < 1: eps_abs
    scales with it."""
    monkeypatch.setattr(sd, "freeze_temperature", _Freeze(0.4))
    eps, delta, eta = 0.1, 0.05, _eta(prob)
    d = sd.design(prob, eps, delta, eta)
    assert (d.saddle_loss is None) is (prob.p == 1)
    _check_design(d, prob, eps, delta, eta, 0.4 * T.barrier(prob))


def test_design_refuses_a_stage_length_that_overflows(monkeypatch):
    """Barrier levels down to Delta L / T = 800: e^800 steps overflow a float."""
    monkeypatch.setattr(sd, "freeze_temperature", _Freeze(1 / 800))
    with pytest.raises(ValueError, match="^" + re.escape(
            "schedule: a stage length overflowed (barrier too high for this eta)") + "$"):
        sd.design(_TWO, 0.1, 0.05, _eta(_TWO))


def test_design_validates_its_arguments():
    eta = _eta(_TWO)
    with pytest.raises(TypeError, match=r"^problem: expected a verified_pgd.Problem, got str$"):
        sd.design("default", 0.1, 0.05, eta)
    for name, args in [("eps", (0.0, 0.05)), ("eps", (1.0, 0.05)), ("delta", (0.1, 1.0)),
                       ("delta", (0.1, -0.2)), ("eps", (True, 0.05)), ("delta", (0.1, "0.1")),
                       ("eps", (float("nan"), 0.05))]:
        bad = args[0] if name == "eps" else args[1]
        with pytest.raises(ValueError, match="^" + re.escape(
                f"{name}: expected a number in (0, 1), got {bad!r}") + "$"):
            sd.design(_TWO, *args, eta)
    with pytest.raises(ValueError, match=r"^eta: must be > 0, got -0.1$"):
        sd.design(_TWO, 0.1, 0.05, -0.1)
    with pytest.raises(ValueError, match=r"^escape_factor: must be > 0, got 0.0$"):
        sd.design(_TWO, 0.1, 0.05, eta, escape_factor=0.0)
    sp = T.hessian_spectrum(_TWO)
    eta_hi = 2.0 / (sp.lam_max + sp.mu / 2)
    with pytest.raises(ValueError, match="^" + re.escape(
            f"eta: must be < 2 / (lam_max + mu/2) = {eta_hi:.6g} for this problem "
            f"(certified local contraction), got {eta_hi}") + "$"):
        sd.design(_TWO, 0.1, 0.05, eta_hi)
    d = sd.design(_NONE, np.float64(0.1), 0.05, _eta(_NONE, 0.999))     # numpy reals are reals
    assert d.total_steps > 0


# --- the equilibrium fraction and the freeze temperature --------------------------------

def _fraction_by_simpson(prob, t, n=40001):
    """f(T) = int_{theta_s}^pi sin^(p-2) e^(-l/T) / int_0^pi sin^(p-2) e^(-l/T) (docs/theory.md),
    each side by Simpson's rule on n points, nothing factored out."""
    th_s = T.saddle_theta(prob)

    def side(a, b):
        th = np.linspace(a, b, n)
        y = np.sin(th) ** (prob.p - 2) * np.exp(-np.asarray(T.reduced_loss(prob, th)) / t)
        return simpson(y, x=th)
    num = side(th_s, math.pi)
    return num / (side(0.0, th_s) + num)


@pytest.mark.parametrize("prob", [_TWO, _FOUR], ids=["p3", "p4"])
@pytest.mark.parametrize("x", [0.25, 1.0, 3.0])
def test_spurious_fraction_is_the_gibbs_ratio(prob, x):
    t = T.barrier(prob) / x
    got = sd.spurious_fraction(prob, t)
    assert type(got) is float
    assert math.isclose(got, _fraction_by_simpson(prob, t), rel_tol=1e-8)


def test_spurious_fraction_without_a_spurious_minimum_and_bad_temperatures():
    assert sd.spurious_fraction(_NONE, 0.1) == 0.0
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=rf"^T: must be > 0, got {bad}$"):
            sd.spurious_fraction(_TWO, bad)


@pytest.mark.parametrize("x", [40.0, 150.0])
def test_spurious_fraction_at_a_low_temperature(x):
    """T = Delta L / x: the fraction is ~1e-60 (x = 40) or ~1e-200 (x = 150, the spurious
    well's width (T/c)^(1/3) ~ 0.2 of the interval); against the direct quadrature in logs."""
    prob = _TWO
    t = T.barrier(prob) / x
    got = sd.spurious_fraction(prob, t)
    l_sp = T.spurious_minimum(prob).loss
    th_s = T.saddle_theta(prob)
    th1 = np.linspace(th_s, math.pi, 40001)
    th0 = np.concatenate([np.linspace(0.0, 0.05, 20001), np.linspace(0.05, th_s, 20001)[1:]])
    num = simpson(np.sin(th1) * np.exp(-(np.asarray(T.reduced_loss(prob, th1)) - l_sp) / t), x=th1)
    den = simpson(np.sin(th0) * np.exp(-np.asarray(T.reduced_loss(prob, th0)) / t), x=th0)
    want_log = math.log(num) - l_sp / t - math.log(den)
    assert 0.0 < got < 1e-30
    assert abs(math.log(got) - want_log) <= 1e-7


def test_spurious_fraction_is_a_fraction_where_both_sides_underflow():
    """p = 1500 at Delta L / T = 200: sin^1498 e^(-l/T) underflows on both sides of
    theta_s; the result is still a number in [0, 1]."""
    prob = vp.Problem(np.eye(1500)[0], np.array([1.0, -1.0]))
    with np.errstate(all="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")
        f = sd.spurious_fraction(prob, T.barrier(prob) / 200)
    assert type(f) is float and 0.0 <= f <= 1.0


@pytest.mark.parametrize("level", [0.3, 1e-6, 1e-40])
def test_freeze_temperature_bisects_to_the_level_crossing(monkeypatch, level):
    """With f(T) = T / (1 + T) (increasing, f = level at T* = level / (1 - level)): the
    result is at most T*, within 2^-38 relative of it; T_max itself when f(T_max) <= level."""
    monkeypatch.setattr(sd, "spurious_fraction", lambda problem, t: t / (1.0 + t))
    t_star = level / (1.0 - level)
    got = sd.freeze_temperature(_TWO, level, 4.0)
    assert type(got) is float and got <= t_star and got >= t_star * (1 - 2.0 ** -38)
    assert sd.freeze_temperature(_TWO, level, t_star) == t_star
    low = sd.freeze_temperature(_TWO, level, np.float32(t_star / 2))
    assert type(low) is float and low == float(np.float32(t_star / 2))


def test_temperature_and_sigma_are_inverse():
    for sigma, eta in [(0.3, 0.2), (2.0, 1.5), (1e-4, 0.01)]:
        t = sd.temperature(sigma, eta)
        assert type(t) is float and math.isclose(t, eta * sigma * sigma / 2, rel_tol=1e-15)
        s = sd.sigma_for_temperature(t, eta)
        assert type(s) is float and math.isclose(s, sigma, rel_tol=1e-14)
    assert sd.temperature(np.float32(0.5), 2) == 0.25


def test_spurious_fraction_at_p1_is_the_two_point_gibbs_weight():
    """p = 1: the sphere is w = +-1, so the fraction is the Gibbs weight of w = -1.

    The reference minimises vp.loss over a at w = +1 and w = -1 (BFGS, no theory code).
    Control: sin(theta)^(p-2) = 1/sin is not integrable, so the p >= 2 quadrature gives a
    different number (it did, before p = 1 had its own case: 0.0037 at T = 0.1)."""
    from scipy.optimize import minimize

    prob = vp.Problem(w_star=np.array([1.0]), a_star=np.array([1.0, -1.0]))
    assert T.has_spurious_minimum(prob)
    ls = [minimize(lambda a, s=s: float(vp.loss(prob, np.array([s]), a)), np.zeros(2),
                   method="BFGS", options={"gtol": 1e-12}).fun for s in (1.0, -1.0)]
    for temp in (0.01, 0.1, 1.0):
        want = 1.0 / (1.0 + math.exp((ls[1] - ls[0]) / temp))
        got = sd.spurious_fraction(prob, temp)
        assert got == pytest.approx(want, rel=1e-8, abs=1e-300)
        assert abs(want - 0.5) > 0.05       # the two points are distinguished
