"""Verdicts: holds / violated / undecided at every grid point, with the fitted constant."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .evaluation import (_env, _sample, certified_value, delta_exponent_fit, predicted_exponent,
                         restart_exponent_fit)
from .expression import ClaimError
from .spec import BOUND_RTOL, DETERMINISTIC, MP_RTOL, PROBABILITIES, Claim, _err, build_problem
from .statistics import clopper_pearson


@dataclass(frozen=True)
class PointResult:
    """The verdict at one grid point.

    ``value``: (low, high) — an enclosure (deterministic) or, for statistical claims, the
    Clopper–Pearson interval of the probability that the inequality holds (for
    success_probability: of the success probability itself).  ``verdict`` is 'holds',
    'violated' or 'undecided'; ``confidence`` the level that verdict carries;
    ``limit`` the value of the fitted constant at which the data just agree with the
    claim; ``limit_kind`` 'min' when any larger constant also agrees, 'max' when any
    smaller one does; None when there is no such value.
    """

    claim: str
    point: dict
    quantity: str
    relation: str
    bound: float
    value: tuple
    verdict: str
    confidence: float
    method: str
    fit: str | None
    limit: float | None
    limit_kind: str | None
    note: str = ""

    def to_dict(self):
        return {"claim": self.claim, "point": self.point, "quantity": self.quantity,
                "relation": self.relation, "bound": self.bound,
                # strict JSON: an unbounded end (an exponent interval's inf) is null
                "value": [v if math.isfinite(v) else None for v in self.value],
                "verdict": self.verdict, "confidence": self.confidence, "method": self.method,
                "fit": self.fit, "limit": self.limit, "limit_kind": self.limit_kind,
                "note": self.note}


def _solve_constant(claim, env, target, upper_claim):
    """``(c, kind)``: the value c > 0 of the fitted constant where bound(c) = target
    (bisection; the bound must be monotone in c) and whether the data allow any constant
    above it (``'min'``) or below it (``'max'``).  ``(None, None)`` if not bracketed."""
    c = _crossing(claim, env, target)
    if c is None:
        return None, None
    e1, e2 = dict(env), dict(env)
    e1[claim.fit], e2[claim.fit] = max(c, 1e-300), 2 * max(c, 1e-300)
    up = claim.bound.evaluate(e2) >= claim.bound.evaluate(e1)
    return c, ("min" if up == upper_claim else "max")


def _crossing(claim, env, target):
    name = claim.fit
    if name is None or not math.isfinite(target):
        return None

    def f(c):
        e = dict(env)
        e[name] = c
        return claim.bound.evaluate(e)
    lo, hi = 0.0, max(abs(float(claim.constants[name])), 1e-300)
    try:
        f_lo = f(lo)
        up = f(2 * hi) >= f(hi)
    except (ClaimError, ZeroDivisionError):
        lo = max(hi * 1e-300, 5e-324)          # just above 0 (1e-300 hi may underflow to 0)
        f_lo = f(lo)
        up = f(2 * hi) >= f(hi)
    if (f_lo - target) * (1 if up else -1) >= 0:
        return lo
    if lo == 0.0 and (f(hi) - target) * (1 if up else -1) >= 0:
        # the crossing lies in (0, hi]: halve down to its binade first (a bisection of
        # [0, hi] in 200 steps would stop near 2^-200 hi, far above a smaller crossing)
        for _ in range(1100):
            h = hi / 2
            if h == 0.0 or (f(h) - target) * (1 if up else -1) < 0:
                lo = h
                break
            hi = h
    for _ in range(2100):
        if (f(hi) - target) * (1 if up else -1) >= 0:
            break
        lo, hi = hi, hi * 2
        if hi > 1e300:
            return None
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if (f(mid) - target) * (1 if up else -1) >= 0:
            hi = mid
        else:
            lo = mid
    return hi


def _holds(rel, x, b):
    return {"<=": x <= b, "<": x < b, ">=": x >= b, ">": x > b}[rel]


def check_claim(claim: Claim) -> list:
    """Evaluate a claim at every grid point; a list of :class:`PointResult`."""
    out = []
    for point in claim.points():
        problem = build_problem(claim.problem, point)
        env = _env(claim, point, problem)
        try:
            b = claim.bound.value(env)
        except ClaimError as exc:
            raise _err(claim.name, f"at {point}: {exc}") from None
        if claim.quantity in DETERMINISTIC:
            out.append(_check_deterministic(claim, point, problem, env, b))
        elif claim.quantity in ("delta_exponent", "restart_exponent"):
            out.append(_check_exponent(claim, point, problem, env, b))
        else:
            out.append(_check_statistical(claim, point, problem, env, b))
    return out


def _check_deterministic(claim, point, problem, env, b):
    lo, hi, method = certified_value(problem, claim.quantity, point)
    tol = BOUND_RTOL * abs(b)
    rel = claim.relation
    if rel in ("<=", "<"):
        ok, bad = hi < b - tol or (rel == "<=" and hi <= b - tol), lo > b + tol
        target = hi
    else:
        ok, bad = lo > b + tol or (rel == ">=" and lo >= b + tol), hi < b - tol
        target = lo
    verdict = "holds" if ok else "violated" if bad else "undecided"
    limit, kind = _solve_constant(claim, env, target, rel in ("<=", "<"))
    mdesc = {"arb": "arb enclosure of the closed form",
             "mp50": f"mpmath 50 digits, relative tolerance {MP_RTOL:g}",
             "exact": "exact integer"}[method]
    return PointResult(claim.name, point, claim.quantity, rel, b, (lo, hi), verdict, 1.0,
                       method, claim.fit, limit, kind if claim.fit else None,
                       f"{mdesc}; bound in float64 (relative tolerance {BOUND_RTOL:g})")


def _interval_verdict(rel, lo, hi, b):
    """holds / violated / undecided for ``X rel b`` given ``X`` in ``[lo, hi]`` (``b`` in
    float64, relative tolerance BOUND_RTOL), and the end of the interval the data support."""
    tol = BOUND_RTOL * abs(b)
    if rel in ("<=", "<"):
        ok, bad = hi < b - tol or (rel == "<=" and hi <= b - tol), lo > b + tol
        return ("holds" if ok else "violated" if bad else "undecided"), hi
    ok, bad = lo > b + tol or (rel == ">=" and lo >= b + tol), hi < b - tol
    return ("holds" if ok else "violated" if bad else "undecided"), lo


def _check_exponent(claim, point, problem, env, b):
    """The 1/delta-law exponent (:mod:`.delta_law`) or the restarts' m_eff
    (:mod:`.restart_law`): its interval against the bound; the verdict is wrong with
    probability <= 1 - confidence."""
    if claim.quantity == "delta_exponent":
        fit, _, note = delta_exponent_fit(claim, point, problem)
        method = "clopper-pearson box, least-squares slope"
    else:
        fit, note = restart_exponent_fit(claim, point, problem)
        method = "clopper-pearson, ratio of logs"
    verdict, target = _interval_verdict(claim.relation, fit.low, fit.high, b)
    limit, kind = _solve_constant(claim, env, target, claim.relation in ("<=", "<"))
    if "dL_over_Lspur" in claim.bound.names:
        plo, phi, _ = predicted_exponent(problem, claim.name)
        note = f"predicted dL_over_Lspur in [{plo:.17g}, {phi:.17g}] (arb, 200 bits); {note}"
    return PointResult(claim.name, point, claim.quantity, claim.relation, b,
                       (fit.low, fit.high), verdict, claim.confidence, method, claim.fit, limit,
                       kind if (claim.fit and limit is not None) else None, note)


def _check_statistical(claim, point, problem, env, b):
    alpha = 1.0 - claim.confidence
    x, note = _sample(claim, point, problem)
    n = len(x)
    rel = claim.relation
    if claim.quantity in PROBABILITIES:
        succ = int(np.sum(np.isfinite(x)))
        lo, hi = clopper_pearson(succ, n, alpha)
        # The claim is about the probability itself: P(success) rel b.
        if rel in (">=", ">"):
            verdict = "holds" if lo >= b else "violated" if hi < b else "undecided"
            target = lo
        else:
            verdict = "holds" if hi <= b else "violated" if lo > b else "undecided"
            target = hi
        limit, kind = _solve_constant(claim, env, target, rel in ("<=", "<"))
        return PointResult(claim.name, point, claim.quantity, rel, b, (lo, hi), verdict,
                           claim.confidence, "clopper-pearson", claim.fit, limit,
                           kind if claim.fit else None, f"{succ}/{n} successes; {note}")
    # steps_to_eps / escape_time: P(X rel b) >= q.
    q = (claim.probability.value(env, "probability") if claim.probability is not None
         else 1.0 - float(point["delta"]) if "delta" in point else 0.5)
    if not 0 < q <= 1:
        raise ValueError(f"claim {claim.name!r}: probability must lie in (0, 1], got {q}")
    good = int(np.sum(_holds(rel, x, b)))
    lo, hi = clopper_pearson(good, n, alpha)
    verdict = "holds" if lo >= q else "violated" if hi < q else "undecided"
    # Limit: the most favourable bound the data support at this confidence.
    xs = np.sort(x)
    j = next((j for j in range(1, n + 1) if clopper_pearson(j, n, alpha)[0] >= q), None)
    limit = kind = None
    if j is not None:
        target = float(xs[j - 1]) if rel in ("<=", "<") else float(xs[n - j])
        limit, kind = _solve_constant(claim, env, target, rel in ("<=", "<"))
    return PointResult(claim.name, point, claim.quantity, rel, b, (lo, hi), verdict,
                       claim.confidence, "clopper-pearson", claim.fit, limit,
                       kind if (claim.fit and limit is not None) else None,
                       f"P({claim.quantity} {rel} bound) >= {q:g} tested; "
                       f"{good}/{n} chains; {note}")
