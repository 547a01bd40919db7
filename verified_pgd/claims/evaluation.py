"""Values of the quantities a claim is about: certified enclosures of deterministic
quantities, the bound environment, and statistical samples."""
from __future__ import annotations

import math

import numpy as np

from .spec import DETERMINISTIC


def _down(x):
    """A float <= every point of the arb ball x (float() rounds to nearest: step one ulp)."""
    return math.nextafter(float(x.lower()), -math.inf)


def _up(x):
    return math.nextafter(float(x.upper()), math.inf)


ARB_BITS = 200    # working precision of the claims' arb enclosures


def _arb_landscape(problem):
    """arb enclosures of Delta L, L(saddle), L(spurious), mu, lam_max from the closed forms
    (:mod:`verified_pgd.theory.closed_forms`), with the teacher's floats taken exactly."""
    from ..backends import get, teacher
    from ..theory import closed_forms as cf, has_spurious_minimum
    B = get("arb")
    with B.workprec(ARB_BITS):
        T = teacher(B, problem)
        ev = [v for v, _ in cf.spectrum(B, T)]
        # min/max of enclosures: [min of lowers, min of uppers], [max of lowers, max of uppers]
        lows = [_down(e) for e in ev]
        ups = [_up(e) for e in ev]
        res = {"mu": (min(lows), min(ups)), "lam_max": (max(lows), max(ups))}
        if has_spurious_minimum(problem):
            out = {"barrier": cf.barrier(B, T), "saddle_loss": cf.saddle_loss(B, T),
                   "spurious_loss": cf.spurious_loss(B, T)}
            res.update({key: (_down(v), _up(v)) for key, v in out.items()})
        return res


def certified_value(problem, quantity, point=None):
    """``(low, high, method)`` for a deterministic quantity: arb enclosures of the closed
    forms (``method='arb'``), mpmath at 50 digits rounded outward to floats (``'mp50'``), or the
    exact integer length of :func:`verified_pgd.theory.schedule` (``'exact'``)."""
    method = DETERMINISTIC[quantity][0]
    if method == "arb":
        vals = _arb_landscape(problem)
        if quantity not in vals:
            raise ValueError(f"{quantity}: undefined for this problem (no spurious minimum)")
        lo, hi = vals[quantity]
        return lo, hi, method
    if method == "mp50":
        from .. import theory
        if quantity == "smoothness":
            v = theory.smoothness_bound(problem, theory.default_radius(problem), dps=50)
        else:
            v = theory.basin_radius(problem, dps=50)
        # float(v) is the nearest float (within half an ulp, far more than the 50-digit
        # value's MP_RTOL error): one ulp outward makes the ends enclose the value itself
        # (v -/+ MP_RTOL |v| in float64 would be v again, not an enclosure)
        v = float(v)
        return math.nextafter(v, -math.inf), math.nextafter(v, math.inf), method
    from ..theory.schedule_design import design
    n = design(problem, point["eps"], point["delta"], point["eta"]).total_steps
    return float(n), float(n), method


def _env(claim, point, problem):
    env = {"pi": math.pi, "k": problem.k, "p": problem.p, "s": problem.s,
           "a_norm": float(np.linalg.norm(problem.a_star))}
    env["sa"] = env["s"] * env["a_norm"]
    from .. import theory
    sp = theory.hessian_spectrum(problem)
    env["mu"], env["lam_max"] = float(sp.mu), float(sp.lam_max)
    if any(n in claim.bound.names for n in ("barrier", "saddle_loss", "spurious_loss")) or (
            claim.probability is not None and claim.probability.names
            & {"barrier", "saddle_loss", "spurious_loss"}):
        if not theory.has_spurious_minimum(problem):
            raise ValueError(f"claim {claim.name!r}: bound uses the barrier but the problem "
                             f"at {point} has no spurious minimum")
        env["barrier"] = float(theory.barrier(problem))
        env["saddle_loss"] = float(theory.saddle(problem).loss)
        env["spurious_loss"] = float(theory.spurious_minimum(problem).loss)
    if "dL_over_Lspur" in claim.bound.names or (
            claim.probability is not None and "dL_over_Lspur" in claim.probability.names):
        env["dL_over_Lspur"] = predicted_exponent(problem, claim.name)[2]
    env.update(point)
    env.update(claim.constants)
    return env


def predicted_exponent(problem, claim_name="?"):
    """``(low, high, value)``: the arb enclosure (200 bits) of the 1/delta-law exponent
    ``Delta L / L(spurious)`` from :mod:`verified_pgd.theory.closed_forms`, and the float
    nearest its midpoint (what a bound expression sees)."""
    from ..backends import get, teacher
    from ..theory import closed_forms as cf, has_spurious_minimum
    if not has_spurious_minimum(problem):
        raise ValueError(f"claim {claim_name!r}: dL_over_Lspur needs a spurious minimum, "
                         "and the problem has none")
    B = get("arb")
    with B.workprec(ARB_BITS):
        T = teacher(B, problem)
        # the exponent of the 1/delta law (docs/theory.md, "The annealing schedule")
        c = cf.barrier(B, T) / cf.spurious_loss(B, T)
        lo, hi = _down(c), _up(c)
    return lo, hi, (lo + hi) / 2


def delta_exponent_fit(claim, point, problem):
    """``(fit, counts, note)`` for ``delta_exponent``: the ladder family of
    :mod:`.delta_law` from ``init``, ``claim.chains`` chains, ``claim.seed``, fitted at
    false-coverage ``1 - claim.confidence``."""
    from . import delta_law
    pt = dict(delta_law.DEFAULTS)
    pt.update(point)
    eta = float(pt["eta"])
    fam = delta_law.ladder_family(problem, eta, float(pt["x_min"]), float(pt["x_max"]),
                                  float(pt["x_step"]), float(pt["hold"]), int(pt["quench"]))
    w0, a0 = _starts(claim, problem)
    if np.ndim(w0) == 2:          # random starts: one per chain, hashed as nested tuples
        key_w, key_a = tuple(map(tuple, w0)), tuple(map(tuple, a0))
    else:
        key_w, key_a = tuple(w0), tuple(a0)
    counts = delta_law.cached_failure_counts(problem, fam, eta, key_w, key_a, claim.chains,
                                             claim.seed)
    fit = delta_law.fit_exponent(fam.total_steps, counts.failures, counts.chains,
                                 1.0 - claim.confidence)
    members = "; ".join(f"x={x:g}: T={t}, {f}/{counts.chains} failed"
                        for x, t, f in zip(fam.levels, fam.total_steps, counts.failures))
    est = "undefined" if not math.isfinite(fit.exponent) else f"{fit.exponent:.4g}"
    note = (f"least-squares exponent {est} of T ~ delta^-e over {len(fam.levels)} ladder "
            f"schedules (hold {pt['hold']:g} x tau_1d, quench {fam.quench}, init "
            f"{claim.init}); per-member Clopper-Pearson at 1 - alpha/{len(fam.levels)}; "
            f"{members}")
    return fit, counts, note


def _sample(claim, point, problem):
    """Statistical sample: per chain the value of the quantity (steps or escape time;
    ``inf`` when not reached), or success indicators."""
    from .. import theory
    from ..solvers import pgd
    if claim.quantity in ("zhou2019_success", "gd_spurious"):
        return _sample_protocol(claim, point, problem)
    eta = float(point["eta"])
    if claim.quantity == "escape_time":
        from ..escape import escape_times
        horizon = claim.horizon or 100_000
        smp = escape_times(problem, float(point["sigma"]), eta, chains=claim.chains,
                           horizon=horizon, seed=claim.seed, record_every=1 if horizon <= 20_000
                           else None)
        return np.asarray(smp.times, float), f"horizon {horizon}, resolution {smp.record_every}"
    sched = theory.schedule(problem, float(point["eps"]), float(point["delta"]), eta)
    if claim.init == "spurious" and theory.has_spurious_minimum(problem):
        sp = theory.spurious_minimum(problem)
        w0, a0 = np.asarray(sp.w, float), np.asarray(sp.a, float)
    else:
        w0 = -np.asarray(problem.w_hat_star, float)
        a0 = np.zeros(problem.k)
    res = pgd(problem, w0, a0, sched, eta, seed=claim.seed, chains=claim.chains,
              eps=float(point["eps"]), record_every=sched.total_steps)
    hit = np.where((res.hit_step >= 0) & ~res.diverged, res.hit_step.astype(float), np.inf)
    return hit, f"theory.schedule T = {sched.total_steps}, init {claim.init}"


def _starts(claim, problem):
    from .. import theory
    if claim.init == "random":
        rng = np.random.default_rng([claim.seed, 0x1213])
        w = rng.standard_normal((claim.chains, problem.p))
        w /= np.linalg.norm(w, axis=1, keepdims=True)
        return w, rng.standard_normal((claim.chains, problem.k)) / np.sqrt(problem.k)
    if claim.init == "spurious" and theory.has_spurious_minimum(problem):
        sp = theory.spurious_minimum(problem)
        return np.asarray(sp.w, float), np.asarray(sp.a, float)
    return -np.asarray(problem.w_hat_star, float), np.zeros(problem.k)


def _sample_protocol(claim, point, problem):
    """``zhou2019_success``: final eps-success of PGD with ``Schedule.zhou2019()``
    (Gaussian rho) from ``init``; ``gd_spurious``: GD at ``eta`` for ``horizon`` steps
    (default 8000) from ``init`` ends on the spurious side theta > theta_s.  Returned as
    ``0`` (event) / ``inf`` (no event) per chain, like success indicators."""
    from .. import theory
    from ..solver import Schedule, pgd
    w0, a0 = _starts(claim, problem)
    if claim.quantity == "zhou2019_success":
        eps = float(point["eps"])
        res = pgd(problem, w0, a0, Schedule.zhou2019(), seed=claim.seed, chains=claim.chains,
                  eps=eps, record_every=Schedule.zhou2019().total_steps)
        ev = (res.history.theta[-1] <= eps) & (res.history.a_error[-1] <= eps) & ~res.diverged
        return np.where(ev, 0.0, np.inf), f"Schedule.zhou2019(), init {claim.init}, final state"
    horizon = claim.horizon or 8000
    th_s = float(theory.saddle_theta(problem)) if theory.has_spurious_minimum(problem) else np.pi
    res = pgd(problem, w0, a0, Schedule.constant(0.0, horizon), float(point["eta"]),
              seed=claim.seed, chains=claim.chains, record_every=horizon)
    ev = (res.history.theta[-1] > th_s) & ~res.diverged
    return np.where(ev, 0.0, np.inf), f"GD {horizon} steps, init {claim.init}, final theta > theta_s"


def restart_exponent_fit(claim, point, problem):
    """``(fit, note)`` for ``restart_exponent`` (:mod:`.restart_law`)."""
    from . import restart_law
    pt = dict(restart_law.DEFAULTS)
    pt.update(point)
    fit = restart_law.restart_fit(
        problem, float(pt["eta"]), float(pt["x"]), int(pt["restarts"]), hold=float(pt["hold"]),
        quench=int(pt["quench"]), eps=float(pt["eps"]), select=claim.select,
        chains=claim.chains, seed=claim.seed, alpha=1.0 - claim.confidence)
    est = "undefined" if not math.isfinite(fit.m_eff) else f"{fit.m_eff:.4g}"
    note = (f"m_eff = log(1/q)/log(1/delta0) = {est}: single-run failures "
            f"{fit.single_failures}/{fit.chains}, {fit.restarts} restarts selected by "
            f"{claim.select}: {fit.restart_failures}/{fit.chains} failed; schedule {fit.steps} "
            f"steps (x = {float(pt['x']):g}, hold {float(pt['hold']):g} x tau_1d, eps "
            f"{float(pt['eps']):g}); Clopper-Pearson at 1 - alpha/2 each")
    return fit, note
