"""Cross-validation of the solvers (``vpgd verify --solvers``).

Each check compares two independent computations and returns a
:class:`verified_pgd.checks.CheckResult`:

* float64 vs mpmath at 50 digits, identical noise, on a path in the basin of the global
  minimum: relative state deviation <= 1e-9 over the run;
* the same on the paper's protocol (``Schedule.zhou2019()``: eta and sigma_w, sigma_a
  annealed per epoch) from the spurious minimum, over its first epoch (400 steps at
  sigma_w = 36) — the quick run — or its first three epochs;
* near the saddle: float64 vs 50 digits from the saddle itself, noise-free.  The
  deviation starts at rounding level and grows; its measured growth rate per step is
  shown next to the local instability rate ``log(1 + eta |lambda_min|)`` of the
  Riemannian Hessian there (lambda_min < 0 at a saddle), and must match it within 25 %;
* mpmath at two precisions (50 and 70 digits): the reference's own rounding is negligible;
* arb enclosure: the float64 path lies in the arb enclosure of the exact-arithmetic path
  widened by an a-priori float64 rounding budget ``c u t |x|`` (c = 64 (p + k),
  u = 2^-53, t the step); otherwise the detail names the first step where it leaves;
* the mean of many mini-batch gradients equals the population gradient within 5.5
  standard errors per component (false-failure probability <= 2 (p + k) Phi(-5.5) < 1e-6).

The functions below take their inputs as arguments so the tests can feed them negative
controls (a wrong gradient, a mismatched noise stream, a too-low precision).
"""
from __future__ import annotations

import math

import numpy as np

from .checks import CheckResult
from .problem import Problem
from .solver.api import pgd
from .solver.numpy import minibatch_grad
from .solver.schedule import Schedule
from .evaluate import grad as grad_f64, hessian

__all__ = ["solver_checks", "trajectory_check", "paper_protocol_check", "saddle_check",
           "two_precision_check",
           "enclosure_check", "minibatch_check", "basin_start", "arb_bits"]


def _states(res):
    return np.concatenate([res.history.w[:, 0], res.history.a[:, 0]], axis=-1)


def basin_start(problem: Problem):
    """A start in the basin of the global minimum, away from the saddle: theta = 1, a = a*/2."""
    rng = np.random.default_rng(7)
    v = rng.normal(size=problem.p)
    v -= (v @ problem.w_hat_star) * problem.w_hat_star
    v /= np.linalg.norm(v)
    w0 = math.cos(1.0) * problem.w_hat_star + math.sin(1.0) * v
    return w0, 0.5 * problem.s * problem.a_star


def trajectory_check(problem, w0, a0, schedule, eta, seed=0, dps=50, tol=1e-9, mp_seed=None,
                     record_every=10, label="float64 vs mp trajectory",
                     where="path in the global basin", engine="numpy") -> CheckResult:
    """float64 (``engine``: "numpy" or "compiled") vs mpmath trajectories with the same noise:
    max relative state deviation (``eta=None``: the schedule's own step sizes)."""
    kw = dict(record_every=record_every, record_states=True)
    f = pgd(problem, w0, a0, schedule, eta, seed=seed, engine=engine, **kw)
    m = pgd(problem, w0, a0, schedule, eta, seed=seed if mp_seed is None else mp_seed,
            precision=dps, **kw)
    xf, xm = _states(f), _states(m)
    rel = np.linalg.norm(xf - xm, axis=-1) / np.linalg.norm(xm, axis=-1)
    worst = float(rel.max())
    return CheckResult(
        label + (" (compiled engine)" if engine == "compiled" else ""),
        f"same noise, {dps} digits, {schedule.total_steps} steps",
        len(rel), worst, tol, bool(worst <= tol),
        f"max relative |x_f64 - x_mp| / |x_mp| over {len(rel)} recorded states "
        f"({where}, theta0 = {float(f.history.theta[0, 0]):.3g})")


def paper_protocol_check(problem, epochs=1, seed=0, **kw) -> CheckResult:
    """:func:`trajectory_check` on the first ``epochs`` epochs of ``Schedule.zhou2019()``
    (per-stage eta, sigma_w != sigma_a) from the spurious minimum (the problem must have
    one: ValueError naming a_star otherwise)."""
    from .theory import spurious_minimum
    sp = spurious_minimum(problem)
    sched = Schedule(Schedule.zhou2019().stages[:epochs])
    return trajectory_check(problem, sp.w, sp.a, sched, None, seed=seed,
                            label="float64 vs mp, Zhou et al. 2019 protocol",
                            where=f"first {epochs} epoch(s) of Schedule.zhou2019() from the "
                                  "spurious point", **kw)


def saddle_check(problem, eta=0.2, steps=3000, dps=50, rel_tol=0.25, start=None,
                 record_every=10) -> CheckResult:
    """Deviation growth from the saddle vs the local instability rate.

    Fits log |x_f64 - x_mp| against the step over the window where the deviation lies in
    [1e-13, 1e-4] (grown well above rounding, still linear), and compares the slope with
    ``log(1 + eta |lambda_min|)``.  Also requires the deviation over the first 50 steps to
    be at rounding level (<= 1e-13): a wrong gradient fails there.
    """
    from . import theory
    sad = theory.saddle(problem)
    w0, a0 = (np.array(sad.w, float), np.array(sad.a, float)) if start is None else start
    sched = Schedule.constant(0.0, steps)
    kw = dict(record_every=record_every, record_states=True)
    f = pgd(problem, w0, a0, sched, eta, engine="numpy", **kw)   # the reference engine
    m = pgd(problem, w0, a0, sched, eta, precision=dps, **kw)
    dev = np.linalg.norm(_states(f) - _states(m), axis=-1)
    t = f.history.step.astype(float)
    H = hessian(problem, w0, a0, riemannian=True)
    lam = np.linalg.eigvalsh(H)
    lam_min = float(lam.min())
    predicted = math.log(abs(1 - eta * lam_min))
    early = float(dev[t <= 50].max())
    win = (dev >= 1e-13) & (dev <= 1e-4)
    if win.sum() >= 5:
        slope = float(np.polyfit(t[win], np.log(dev[win]), 1)[0])
    else:
        slope = float("nan")
    err = abs(slope - predicted) / predicted if predicted > 0 else float("inf")
    ok = bool(np.isfinite(err) and err <= rel_tol and early <= 1e-13)
    return CheckResult(
        "deviation growth at the saddle", f"float64 vs {dps} digits, noise-free, eta={eta}",
        int(win.sum()), err if np.isfinite(err) else float("inf"), rel_tol, ok,
        f"measured growth {slope:.4g}/step vs instability log(1+eta|lambda_min|) = "
        f"{predicted:.4g}/step (lambda_min = {lam_min:.4g}, lambda_max = {float(lam.max()):.4g}); "
        f"deviation over steps <= 50: {early:.2g}; final deviation {float(dev[-1]):.2g}")


def two_precision_check(problem, w0, a0, schedule, eta, seed=0, dps=(50, 70), tol=1e-40,
                        record_every=10) -> CheckResult:
    """mpmath at two precisions: the reference's own rounding error is below ``tol``."""
    kw = dict(seed=seed, record_every=record_every)
    lo = pgd(problem, w0, a0, schedule, eta, precision=dps[0], **kw)
    hi = pgd(problem, w0, a0, schedule, eta, precision=dps[1], **kw)
    import mpmath
    with mpmath.workdps(dps[1] + 10):
        worst = mpmath.mpf(0)
        for key in ("w", "a"):
            for xs, ys in zip(lo.exact[key], hi.exact[key]):
                for x, y in zip(xs, ys):
                    x, y = mpmath.mpf(x), mpmath.mpf(y)
                    worst = max(worst, abs(x - y) / max(abs(y), mpmath.mpf(1e-300)))
        worst = float(worst)
    return CheckResult(
        "mp rounding negligible", f"{dps[0]} vs {dps[1]} digits, {schedule.total_steps} steps",
        problem.p + problem.k, worst, tol, bool(worst <= tol),
        "max relative difference of the final states computed at the two precisions")


def enclosure_check(problem, w0, a0, schedule, eta, seed=0, bits=256, arb_seed=None,
                    record_every=10) -> CheckResult:
    """The float64 path lies in the arb enclosure widened by its rounding budget."""
    kw = dict(record_every=record_every, record_states=True)
    f = pgd(problem, w0, a0, schedule, eta, seed=seed, engine="numpy", **kw)
    b = pgd(problem, w0, a0, schedule, eta, seed=seed if arb_seed is None else arb_seed,
            precision=f"arb:{bits}", **kw)
    xf, xb = _states(f), _states(b)
    rad = np.concatenate([b.history.w_rad[:, 0], b.history.a_rad[:, 0]], axis=-1)
    t = f.history.step.astype(float)
    c = 64 * (problem.p + problem.k)
    budget = c * 2.0 ** -53 * np.maximum(t, 1)[:, None] * np.linalg.norm(xb, axis=-1)[:, None]
    excess = np.abs(xf - xb) - rad
    ratio = (excess / budget).max(axis=-1)
    out = np.nonzero(ratio > 1)[0]
    worst = float(ratio.max())
    where = ("inside at every recorded step" if len(out) == 0 else
             f"leaves the enclosure at step {int(f.history.step[out[0]])}")
    return CheckResult(
        "arb enclosure contains float64 path", f"arb:{bits}, budget {c} u t |x|",
        len(t), worst, 1.0, bool(len(out) == 0),
        f"{where}; max (|x_f64 - mid| - rad) / budget = {worst:.3g}; "
        f"max enclosure radius {float(rad.max()):.3g}")


def minibatch_check(problem, w, a, batch=8, batches=4000, seed=0, z_tol=5.5,
                    grad_fn=minibatch_grad, riemannian=False) -> CheckResult:
    """Mean of ``batches`` sample gradients vs the population gradient, per component."""
    gen = np.random.Generator(np.random.SFC64(seed))
    Z = gen.standard_normal((batches, batch, problem.k, problem.p))
    gw, ga = grad_fn(problem, np.broadcast_to(w, (batches, problem.p)),
                     np.broadcast_to(a, (batches, problem.k)), Z, riemannian=riemannian)
    G = np.concatenate([gw, ga], axis=-1)
    mean = G.mean(axis=0)
    se = G.std(axis=0, ddof=1) / math.sqrt(batches)
    pw, pa = grad_f64(problem, w, a, riemannian=riemannian)
    pop = np.concatenate([pw, pa])
    z = np.abs(mean - pop) / se
    worst = float(z.max())
    return CheckResult(
        "mini-batch gradient unbiased", f"{batches} batches of B={batch}",
        len(z), worst, z_tol, bool(worst <= z_tol),
        f"max |mean - population| / standard error over {len(z)} components "
        f"(false-failure probability <= {2 * len(z) * 0.5 * math.erfc(z_tol / math.sqrt(2)):.1g})")


def arb_bits(steps: int, eta: float, c: float = 4.0) -> int:
    """Working precision that keeps an arb enclosure below ~2^-64 after ``steps`` steps.

    The interval evaluation of one step widens a box by about ``1 + c eta`` (c ~ 4 for the
    default problem: the gradient's dependence on w is counted once per occurrence).
    """
    return int(96 + math.ceil(1.25 * steps * math.log2(1 + c * eta)))


def solver_checks(quick: bool = False) -> list:
    """All solver cross-validation checks on the default problem (``vpgd verify --solvers``)."""
    prob = Problem.default()
    w0, a0 = basin_start(prob)
    steps = 300 if quick else 1000
    sched = Schedule([(0.05, steps // 2), (0.0, steps - steps // 2)])
    eta = 0.1
    rows = [
        trajectory_check(prob, w0, a0, sched, eta, seed=1),
        trajectory_check(prob, w0, a0, sched, eta, seed=1, engine="compiled"),
        paper_protocol_check(prob, epochs=1 if quick else 3, seed=1),
        saddle_check(prob, steps=1500 if quick else 3000),
        two_precision_check(prob, w0, a0, Schedule([(0.05, 100), (0.0, 100)]) if quick else sched,
                            eta, seed=1),
        # Interval evaluation widens the enclosure by about (1 + 4 eta) per step here
        # (wrapping), so the bits must grow with the steps: 64 + T log2(1 + 4 eta) + margin.
        enclosure_check(prob, w0, a0, sched, eta, seed=1, bits=arb_bits(steps, eta)),
    ]
    rng = np.random.default_rng(3)
    w = rng.normal(size=prob.p)
    a = rng.normal(size=prob.k)
    rows.append(minibatch_check(prob, w, a, batches=1000 if quick else 4000, seed=2))
    return rows
