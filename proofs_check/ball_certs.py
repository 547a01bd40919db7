"""Rigorous numeric certificates for one problem, in python-flint arb ball arithmetic.

The prover evaluates everything through verified_pgd over the arb backend, at the
certificate's working precision: the closed forms of ``theory.closed_forms``, the
certified theta_s enclosure ``theory.landscape.saddle_theta_in``, the generic loss L2
and Riemannian Hessian of ``formulas`` (``theory.constants.tangent_hessian_in``); it
re-derives none of them.  Every certified number is also cross-checked against
``verified_pgd.theory`` in float64, so a certificate also certifies the library's constants.  Every enclosure is written in the canonical
form the checker re-derives (the tightest pair of points of the decimal grid with
spacing 10^(E - digits + 1) around the ball), and boxes come from branch and bound.
"""
from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import flint
import numpy as np
from flint import arb, fmpq

from verified_pgd import formulas, theory
from verified_pgd.backends import Arb, teacher
from verified_pgd.problem import Problem
from verified_pgd.theory import closed_forms as cf
from verified_pgd.theory.constants import tangent_hessian_in
from verified_pgd.theory.landscape import orthogonal_axis, saddle_theta_in

DELTA = Fraction(1, 100)        # excluded half-width around theta in {0, theta_s, pi} (no_critical)
THETA_MAX = Fraction(16, 5)     # smoothness domain [0, 3.2] contains [0, pi]
MAX_BOXES = 20000


class ProofError(RuntimeError):
    """The prover could not establish a certificate (not a user error)."""


def prec_bits(digits: int) -> int:
    return int(digits * 3.33) + 80


# ----------------------------------------------------------------------------- numbers

def ball(q: Fraction) -> arb:
    return arb(fmpq(q.numerator, q.denominator))


def interval(lo: Fraction, hi: Fraction) -> arb:
    return ball(lo).union(ball(hi))


def to_fraction(x: arb) -> Fraction:
    m, e = x.mid().man_exp()
    return Fraction(int(m)) * Fraction(2) ** int(e)


def dec_str(q: Fraction) -> str:
    """Exact decimal string of a Fraction with a power-of-ten (times 2^j) denominator."""
    with localcontext() as ctx:
        ctx.prec = 400
        d = Decimal(q.numerator) / Decimal(q.denominator)
    if Fraction(d) != q:
        raise ProofError(f"{q} has no short exact decimal form")
    return format(d, "f") if abs(d.adjusted()) < 30 else str(d)


def exact_float_str(x: float) -> str:
    """The exact decimal expansion of a float (the parameters are stated exactly)."""
    return dec_str(Fraction(float(x)))


def spacing(x: arb, digits: int) -> Fraction:
    f = abs(to_fraction(x))
    if f == 0 or x.contains(0):
        raise ProofError("a certified quantity is not bounded away from 0")
    E = math.floor(math.log10(f)) if f > 0 else 0
    while Fraction(10) ** E > f:
        E -= 1
    while Fraction(10) ** (E + 1) <= f:
        E += 1
    return Fraction(10) ** (E - digits + 1)


def canonical(x: arb, digits: int) -> list:
    """[lo, hi]: the tightest grid points with lo < x < hi certainly (strings)."""
    q = spacing(x, digits)
    if not x.rad() < ball(q) / 4:
        raise ProofError("enclosure too wide; raise the working precision")
    lo = Fraction(math.floor(to_fraction(x) / q)) * q
    while not ball(lo) < x:
        lo -= q
    while ball(lo + q) < x:
        lo += q
    hi = lo + q
    while not x < ball(hi):
        hi += q
    return [dec_str(lo), dec_str(hi)]


def _agree(name, certified_pair, reference, rel=1e-9):
    lo, hi = (float(Fraction(v)) for v in certified_pair)
    mid = (lo + hi) / 2
    if not abs(mid - float(reference)) <= rel * max(1.0, abs(float(reference))):
        raise ProofError(f"{name}: certified {mid!r} disagrees with verified_pgd.theory {reference!r}")


# ----------------------------------------------------------------------------- teacher in arb

class Teacher:
    """The teacher in arb at the certificate's working precision, with the closed forms
    of :mod:`verified_pgd.theory.closed_forms` evaluated on it (nothing re-derived here)."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.T = T = teacher(_ARB, problem)
        self.p, self.k = T.p, T.k
        self.a = list(T.a_star)
        self.s2, self.s, self.A, self.S, self.pi = T.s2, T.s, T.A, T.S, T.pi
        self.na = _ARB.sqrt(T.A)

    def g_s(self):
        return cf.g_s(_ARB, self.T)

    def alpha(self):
        return cf.alpha(_ARB, self.T)

    def a_of_g(self, g):
        """s M^-1((g - 1) a* + (1.a*) 1)."""
        return list(cf.a_of_g(_ARB, self.T, g))

    def g(self, theta):
        return cf.g(_ARB, theta, self.T)

    def chart(self, th, c):
        """(h_tt, beta, lam_perp) of the chart Hessian."""
        return cf.chart(_ARB, self.T, th, c)

    def theta_s(self):
        """A ball certified to contain theta_s (``theory.landscape.saddle_theta_in``)."""
        return saddle_theta_in(_ARB, self.T, self.g_s())

    def spectrum(self):
        return [v for v, m in cf.spectrum(_ARB, self.T) for _ in range(m)]

    def mu(self):
        return min(self.spectrum(), key=to_fraction)

    def arrays(self):
        return self.T.w_hat_star, self.T.a_star, self.T.s


_ARB = Arb()


def _problem_dict(problem):
    return {"w_star": [exact_float_str(v) for v in problem.w_star],
            "a_star": [exact_float_str(v) for v in problem.a_star]}


# ----------------------------------------------------------------------------- theta_s

def theta_s_pair(T: Teacher, digits: int) -> list:
    """[lo, hi], consecutive grid points with g(lo) > g_s > g(hi)."""
    th = T.theta_s()
    q = spacing(th, digits)
    lo = Fraction(math.floor(to_fraction(th) / q)) * q
    gs = T.g_s()
    if not (T.g(ball(lo)) > gs and T.g(ball(lo + q)) < gs):
        raise ProofError("theta_s: no certified sign change")
    return [dec_str(lo), dec_str(lo + q)]


# ----------------------------------------------------------------------------- certificates

def critical_points(problem: Problem, digits: int) -> dict:
    T = Teacher(problem)
    if not cf.existence_margin(_ARB, T.T) > 0:
        raise ProofError("a_star: no spurious minimum (existence condition fails)")
    gs = T.g_s()
    a_bar, a_s = T.a_of_g(arb(0)), T.a_of_g(gs)
    # The losses through the library's generic L2 (arb backend) at the two points.
    w_hat, a_star, s = T.arrays()
    th = T.theta_s()
    if not th.rad() < ball(spacing(th, digits)) / 10 ** 10:
        raise ProofError("theta_s: enclosure too wide; raise the working precision")
    v = cf.orthogonal_direction(_ARB, T.T, orthogonal_axis(problem))
    w_s = cf.saddle_filter(_ARB, T.T, th, v)
    # At w = -w_hat* the generic geometry's theta is a ball around pi whose sine is not
    # bounded away from 0, so the spurious loss is the generic L2 given |w| = 1 and
    # Delta(pi) = pi - g(pi) = pi (formulas.loss_l2).
    L_sp = formulas.loss_l2(_ARB, a_star, s, arb(1), cf.delta(_ARB, T.T, T.pi),
                            np.array(a_bar, dtype=object))
    L_sd = formulas.loss(_ARB, w_hat, a_star, s, w_s, np.array(a_s, dtype=object))
    bar = L_sd - L_sp
    closed = cf.barrier(_ARB, T.T)
    if not bar.overlaps(closed):
        raise ProofError("barrier: generic loss difference disagrees with the closed form")
    claims = {"g_s": canonical(gs, digits), "theta_s": theta_s_pair(T, digits),
              "a_bar": [canonical(x, digits) for x in a_bar],
              "a_s": [canonical(x, digits) for x in a_s],
              "loss_spurious": canonical(L_sp, digits), "loss_saddle": canonical(L_sd, digits),
              "barrier": canonical(bar, digits)}
    _agree("barrier", claims["barrier"], theory.barrier(problem))
    _agree("theta_s", claims["theta_s"], theory.saddle_theta(problem))
    _agree("loss_spurious", claims["loss_spurious"], theory.spurious_minimum(problem).loss)
    return {"claims": claims}


def hessian_spectrum(problem: Problem, digits: int) -> dict:
    T = Teacher(problem)
    ev = sorted(T.spectrum(), key=to_fraction)
    _check_power_sums(T, ev)
    groups = []
    for x in ev:
        pair = canonical(x, digits)
        if groups and groups[-1]["value"] == pair:
            groups[-1]["multiplicity"] += 1
        else:
            groups.append({"value": pair, "multiplicity": 1})
    claims = {"eigenvalues": groups, "mu": canonical(ev[0], digits), "lam_max": canonical(ev[-1], digits)}
    sp = theory.hessian_spectrum(problem)
    _agree("mu", claims["mu"], sp.mu)
    _agree("lam_max", claims["lam_max"], sp.lam_max)
    return {"claims": claims}


def _check_power_sums(T, ev):
    """The closed-form spectrum against the library's generic Hessian in arb: equal traces
    of H^j, j = 1..n, on the tangent space (Newton's identities then fix the multiset)."""
    w_hat, a_star, s = T.arrays()
    Ht = tangent_hessian_in(_ARB, T.T, w_hat.copy(), s * a_star)
    if not all(x.is_finite() for x in Ht.flat):
        raise ProofError("Hessian spectrum: the generic Hessian is not finite at the optimum")
    P = Ht.copy()
    for j in range(1, len(ev) + 1):
        tr = sum(P[r, r] for r in range(len(ev)))
        if not (tr.is_finite() and tr.overlaps(sum(x ** j for x in ev))):
            raise ProofError(f"Hessian spectrum: trace of H^{j} disagrees with the closed form")
        P = P.dot(Ht)


def _bnb(domain, ok, what):
    """Branch and bound: split boxes (lists of (lo, hi) Fractions) until ok(box) holds."""
    todo, done = [domain], []
    while todo:
        box = todo.pop()
        if ok([interval(lo, hi) for lo, hi in box]):
            done.append(box)
            continue
        if len(done) + len(todo) > MAX_BOXES:
            raise ProofError(f"{what}: branch and bound did not close within {MAX_BOXES} boxes")
        # split the coordinate with the largest width relative to its domain
        j = max(range(len(box)), key=lambda d: (box[d][1] - box[d][0]) / (domain[d][1] - domain[d][0]))
        lo, hi = box[j]
        mid = (lo + hi) / 2
        for part in ((lo, mid), (mid, hi)):
            todo.append(box[:j] + [part] + box[j + 1:])
    done.sort()
    return [[dec_str(v) for lo_hi in box for v in lo_hi] for box in done]


def smoothness(problem: Problem, digits: int) -> dict:
    T = Teacher(problem)
    R = canonical(2 * T.s * T.na, digits)
    c_max = canonical(2 * T.s * T.A, digits)
    top, lam_M, tail = cf.smoothness_terms(_ARB, T.T, 2 * T.s * T.na)
    L_R = top.max(lam_M) + tail
    bound = canonical(L_R, digits)
    _agree("bound", bound, theory.smoothness_bound(problem, theory.default_radius(problem)))
    B, C = ball(Fraction(bound[0])), Fraction(c_max[1])

    def ok(box):
        alpha, beta, perp = T.chart(*box)
        return ((abs(alpha).max(lam_M) + abs(beta) * T.na).max(abs(perp))) < B
    boxes = _bnb([(Fraction(0), THETA_MAX), (-C, C)], ok, "smoothness")
    return {"claims": {"R": R, "c_max": c_max, "bound": bound}, "boxes": boxes}


def basin(problem: Problem, digits: int) -> dict:
    T = Teacher(problem)
    mu = T.mu()
    K = cf.hessian_lipschitz(_ARB, T.T)
    rho_pair = canonical(mu / (2 * K), digits)
    _agree("rho", rho_pair, theory.basin_radius(problem))
    rho = Fraction(rho_pair[1])
    c_lo = canonical(T.s * T.A - ball(rho) * T.na, digits)
    c_hi = canonical(T.s * T.A + ball(rho) * T.na, digits)
    lam_M = cf.m_min(_ARB, T.T)
    half = mu / 2

    def ok(box):
        alpha, beta, perp = T.chart(*box)
        return alpha.min(lam_M).min(perp) - abs(beta) * T.na > half
    boxes = _bnb([(Fraction(0), rho), (Fraction(c_lo[0]), Fraction(c_hi[1]))], ok, "basin")
    claims = {"mu": canonical(mu, digits), "K": canonical(K, digits), "rho": rho_pair,
              "c_lo": c_lo, "c_hi": c_hi}
    return {"claims": claims, "boxes": boxes}


def no_critical(problem: Problem, digits: int) -> dict:
    T = Teacher(problem)
    pair = theta_s_pair(T, digits)
    t_lo, t_hi = Fraction(pair[0]), Fraction(pair[1])
    top = canonical(T.pi - ball(DELTA), digits)
    B0 = cf.m_floor(_ARB, T.T) ** 2

    def ok(box):
        (th,) = box
        A0 = cf.chart_beta(_ARB, T.T, th) ** 2
        m = sum(x * y for x, y in zip(T.a_of_g(T.g(th)), T.a))
        return A0 * B0 * (m * m) / (A0 * T.A + B0) > 0

    if not (DELTA < t_hi - DELTA and t_lo + DELTA < Fraction(top[1])):
        raise ProofError("no_critical: theta_s is within 2/100 of 0 or pi (nothing to certify)")
    segments = [_bnb([(DELTA, t_hi - DELTA)], ok, "no_critical"),
                _bnb([(t_lo + DELTA, Fraction(top[1]))], ok, "no_critical")]
    return {"claims": {"theta_s": pair, "pi_minus_delta": top, "s": canonical(T.s, digits)},
            "boxes": segments}


BUILDERS = {"critical_points": critical_points, "hessian_spectrum": hessian_spectrum,
            "smoothness": smoothness, "basin": basin, "no_critical": no_critical}


def build(kind: str, problem: Problem, digits: int) -> dict:
    """Claims (and boxes) of one numeric certificate, at ``digits`` significant digits."""
    old = flint.ctx.prec
    flint.ctx.prec = prec_bits(digits)
    try:
        out = BUILDERS[kind](problem, digits)
    finally:
        flint.ctx.prec = old
    return {"digits": digits, "problem": _problem_dict(problem), **out}
