"""Independent checker for verified_pgd certificates (``vpgd check PATH``).

Audit notes.  The checker is this file, :mod:`proofs_check.exact` (the exact normal form
of the symbolic identities) and :mod:`proofs_check.strictjson` (bounded, strict file
reading); together they import only the standard library and python-flint, nothing from
verified_pgd or from the prover.  Every formula is written out here from docs/proofs.md.
A certificate SET (a directory, ``check_set``) holds only if

* its manifest names the problems (exact decimal teacher data, no repeats); for each the
  checker itself decides which lemmas are required (all five numeric kinds when the
  problem has a spurious minimum, decided exactly, else three), plus the five symbolic
  kinds; a missing one fails with its name, a stray ``*.json`` file fails;
* every certificate's ``id`` is its file name, and its ``problem`` is the manifest's
  entry for that name, exactly;
* each certificate holds on its own (``check_cert``): the format, kind, prover version
  and statement are the ones this checker knows; every stated enclosure is the canonical
  one (the tightest pair of grid points of spacing 10^(E - digits + 1) around this
  checker's own ball enclosure), so changing any bound is detected; box lists tile their
  domain exactly (exact decimals, volumes add up, interiors disjoint by sort and sweep);
  the per-box inequality holds in ball arithmetic on every box; every symbolic identity
  is PROVED exactly (zero normal form, antiderivatives for integrals; anything outside
  the class is "not certifiable"), and the identities are the ones pinned by sha256 here.

Every file is read strictly and with bounds (strictjson): one line per rejected file.
Usage: ``python -m proofs_check.checker DIR`` or ``... FILE...``; exit 0 iff all hold,
1 if a certificate is invalid or missing, 2 if an input is unusable (not a regular file).
"""
import functools
import hashlib
import json
import math
import os
import re
import sys
from dataclasses import dataclass
from fractions import Fraction

import flint
from flint import arb, fmpq

from proofs_check import exact, strictjson

FORMAT = "verified_pgd-certificate/1"
SET_FORMAT = "verified_pgd-certificate-set/1"
MANIFEST = "manifest.json"
MAX_BOXES = 50_000              # per certificate, checked before any box is read
MAX_PROBLEMS = 64               # per set
MAX_DIM = 64                    # p and k
PROVER = {"name": "proofs_check.prover", "version": "1"}
DELTA = Fraction(1, 100)          # half-width of the excluded theta-neighbourhoods (no_critical)
THETA_MAX = Fraction(16, 5)       # smoothness domain in theta: [0, 3.2] contains [0, pi]
STATEMENTS = {
    "sym_moments": "For z ~ N(0, I): E relu(x.z) = |x|/sqrt(2 pi) and E relu(x.z) relu(y.z) = "
                   "|x||y| g(angle(x, y))/(2 pi), by reduction to the plane of x, y and polar "
                   "coordinates (angular and radial integrals below).",
    "sym_loss": "For k = 1..4 the population loss equals L1 (docs/design.md K1 and L1), and L2 equals L1.",
    "sym_gradient": "The gradient formulas G are the derivatives of L1 (a-part, radial and angular "
                    "w-parts), and the Riemannian w-gradient is -(s/2pi)(a.a*)(pi - theta) sin(theta) "
                    "along the unit tangent towards w*: it vanishes only at theta in {0, pi} or a.a* = 0.",
    "sym_critical": "For k = 2..4 the gradient vanishes exactly at the global minimum, the spurious "
                    "point and the saddle set; g_s > 0 iff pi (1.a*)^2 < (k + pi - 1)|a*|^2; "
                    "g' = -(pi - theta) sin(theta); reduced loss and barrier closed forms.",
    "sym_hessian": "The chart Hessian (second derivatives of the loss on the great circle and "
                   "l_theta cot(theta) across it) at the global minimum has eigenvalues "
                   "(pi-1)/(2pi) x(k-1), (k+pi-1)/(2pi) x1, s^2|a*|^2/2 x(p-1).",
    "critical_points": "The spurious point (-w_hat*, a_bar) and the saddle at theta_s (g(theta_s) = g_s, "
                       "a_s.a* = 0) are critical points; theta_s exists and is unique in (0, pi); the "
                       "enclosures of a_bar, a_s, their losses and the barrier are rigorous.",
    "hessian_spectrum": "The Riemannian Hessian at the global minimum on the tangent space of "
                        "S^(p-1) x R^k has exactly the stated eigenvalues and multiplicities.",
    "smoothness": "For |w| = 1, theta in [0, pi] and |a| <= R = 2 s |a*|, the operator norm of the "
                  "Riemannian Hessian is <= L_R = max(s R |a*|/2, (k+pi-1)/(2pi)) + s pi |a*|/8.",
    "basin": "With mu the smallest Hessian eigenvalue at the optimum and K = (s/2pi)(2 pi |a*| + "
             "(2 + pi^2/4) s |a*|^2), rho = mu/(2K): for theta <= rho and |a - s a*| <= rho the "
             "Riemannian Hessian is >= mu/2.",
    "no_critical": "The Riemannian gradient norm is > 0 for every a in R^k whenever theta lies in "
                   "[1/100, theta_s - 1/100] or [theta_s + 1/100, pi - 1/100].",
}
SYMBOLIC_DIGESTS = {   # sha256 of each kind's statements (identities_digest); pinned here
    "sym_moments": "8023d09a5e4aada816a3b01631a90fd7d40a51d9397bdc8fedf76ebd62b99037",
    "sym_loss": "6757fff8610c4c41376e5cd8b0ebe8ba9e08d2f11f43d1073c8a8e346d69ac52",
    "sym_gradient": "c189f5c8a3dae4cc4ec22ed4b4eaccfad227664e00f41affc5a25af8e7db915f",
    "sym_critical": "37655ea65349335a43c0ef8675d6ddd360b2284b4f663d0d4851149247981ee3",
    "sym_hessian": "e6d4bb0e24d4ad5226f60d85fd0d07bfa6c403f86c675e4761378dca71015f57",
}
SYMBOLIC_IDS = {
    "sym_moments": ["angular_1", "angular_2", "radial_2", "radial_3", "first_moment", "second_moment"],
    "sym_loss": [f"{f}_k{k}" for k in range(1, 5) for f in ("expansion", "l2_equals_l1")],
    "sym_gradient": [f"grad_a{i}_k{k}" for k in range(1, 4) for i in range(1, k + 1)]
    + [f"{f}_k{k}" for k in range(1, 4) for f in ("grad_u", "grad_theta", "riemannian")],
    "sym_critical": [f"{f}_k{k}" for k in range(2, 5) for f in
                     ("global", "spurious", "saddle_dot", "saddle_grad", "existence", "denominator",
                      "reduced_loss", "barrier")] + ["g_prime"],
    "sym_hessian": [f"{f}_k{k}" for k in range(1, 4) for f in
                    ("h_thth", "h_tha", "h_aa", "perp")]
    + [f"opt_{f}_k{k}" for k in range(1, 4) for f in ("thth", "perp")] + ["opt_cross", "eig_ones", "eig_diff"],
}


class Reject(Exception):
    """The certificate does not hold (message says why)."""


def need(cond, msg):
    if not cond:
        raise Reject(msg)


# ----------------------------------------------------------------------------- numbers

DECIMAL = re.compile(r"-?\d{1,400}(\.\d{1,400})?([eE][-+]?\d{1,3})?")   # bounded: no 1e999999999


def dec(s, what):
    need(isinstance(s, str) and DECIMAL.fullmatch(s), f"{what}: expected a decimal string, got {str(s)[:40]!r}")
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        raise Reject(f"{what}: not a decimal: {s[:40]!r}") from None


def ball(q):
    return arb(fmpq(q.numerator, q.denominator))


def frac_of(x):
    """The midpoint of an arb ball as an exact Fraction."""
    m, e = x.mid().man_exp()
    return Fraction(int(m)) * Fraction(2) ** int(e)


def grid(x, digits):
    """Grid spacing q = 10^(E - digits + 1) for the value enclosed by ball x."""
    f = abs(frac_of(x))
    need(f != 0 and not x.contains(0), "enclosure: quantity not bounded away from 0")
    E = len(str(f.numerator)) - len(str(f.denominator))   # floor(log10 f) is E or E - 1
    if Fraction(10) ** E > f:
        E -= 1
    return Fraction(10) ** (E - digits + 1)


def canonical(x, pair, digits, what):
    """Check that pair = [lo, hi] is the tightest grid pair around ball x."""
    need(isinstance(pair, list) and len(pair) == 2, f"{what}: expected [lo, hi]")
    lo, hi = dec(pair[0], what), dec(pair[1], what)
    q = grid(x, digits)
    need(x.rad() < ball(q) / 4, f"{what}: enclosure too wide for {digits} digits")
    need((lo / q).denominator == 1 and (hi / q).denominator == 1, f"{what}: not on the {digits}-digit grid")
    need(ball(lo) < x and x < ball(hi), f"{what}: [{pair[0]}, {pair[1]}] does not enclose the value")
    need(not (ball(lo + q) < x) and not (x < ball(hi - q)), f"{what}: enclosure not the tightest")
    return lo, hi


# ----------------------------------------------------------------------------- the model

class Model:
    """Teacher quantities in arb: s^2, s, |a*|^2, 1.a*, k, p, pi."""

    def __init__(self, problem):
        w, a = problem_values(problem)
        need(any(w), "problem: need w* != 0")
        self.p, self.k = len(w), len(a)
        self.a = [ball(v) for v in a]
        self.s2 = ball(sum(v * v for v in w))
        self.s = self.s2.sqrt()
        self.A = ball(sum(v * v for v in a))
        self.S = ball(sum(a))
        self.pi = arb.pi()

    def minv(self, x):
        """M^-1 x with M = (pi - 1) I + 1 1^T."""
        t = sum(x) / (self.k + self.pi - 1)
        return [(v - t) / (self.pi - 1) for v in x]

    def g(self, th):
        return th.sin() + (self.pi - th) * th.cos()

    def g_s(self):
        pi, k = self.pi, self.k
        return 1 - (pi - 1) * self.S ** 2 / ((k + pi - 1) * self.A - self.S ** 2)

    def a_of_g(self, g):
        return [self.s * v for v in self.minv([(g - 1) * ai + self.S for ai in self.a])]

    def loss(self, Delta, a):
        """L2 on the sphere: [(pi-1)|a - s a*|^2 + (1.(a - s a*))^2 + 2 s Delta a.a*]/(4pi)."""
        r = [ai - self.s * bi for ai, bi in zip(a, self.a)]
        aa = sum(ai * bi for ai, bi in zip(a, self.a))
        return ((self.pi - 1) * sum(v * v for v in r) + sum(r) ** 2
                + 2 * self.s * Delta * aa) / (4 * self.pi)

    def grad_a(self, Delta, a):
        r = [ai - self.s * bi for ai, bi in zip(a, self.a)]
        return [((self.pi - 1) * ri + sum(r) + self.s * Delta * bi) / (2 * self.pi)
                for ri, bi in zip(r, self.a)]

    def chart(self, th, c):
        """(alpha, beta, lam_perp): H_red = [[alpha, beta a*^T], [beta a*, M/2pi]], c = a.a*."""
        pi, f = self.pi, self.s / (2 * self.pi)
        return (-f * (th.sin() - (pi - th) * th.cos()) * c, f * (pi - th) * th.sin(),
                f * (pi - th) * th.cos() * c)

    def spectrum(self):
        """Eigenvalues at the optimum: the chart is block diagonal there (beta(0) = 0)."""
        pi, k = self.pi, self.k
        ones, ev = [arb(1)] * k, []
        for j in range(1, k):   # M (e_1 - e_j) = (pi - 1)(e_1 - e_j);  M 1 = (k + pi - 1) 1
            v = [arb(int(i == 0) - int(i == j)) for i in range(k)]
            Mv = [(pi - 1) * vi + sum(v) for vi in v]
            need(all((x - (pi - 1) * y).contains(0) for x, y in zip(Mv, v)), "spectrum: eigvec")
        need(all(((pi - 1) * o + k - (k + pi - 1) * o).contains(0) for o in ones), "spectrum: eigvec")
        alpha, beta, perp = self.chart(arb(0), self.s * self.A)
        need(beta.contains(0) and (alpha - perp).contains(0), "spectrum: chart at theta = 0")
        alpha = self.s2 * self.A / 2    # = alpha(0) exactly: -(s/2pi) g''(0) s|a*|^2, g''(0) = -pi
        ev += [alpha] * (self.p - 1) + [(pi - 1) / (2 * pi)] * (k - 1) + [(k + pi - 1) / (2 * pi)]
        return ev


# ----------------------------------------------------------------------------- boxes

def boxes_tile(boxes, domain, what):
    """Boxes (lists of 2d decimal strings: lo_1, hi_1, lo_2, hi_2, ...) tile the domain
    (d = 1 or 2): inside it, volumes adding up exactly, interiors pairwise disjoint.
    All edges are put on one common decimal scale 10^E, so every test below is on exact
    integers; disjointness by sort and sweep, O(n log n) (n <= MAX_BOXES)."""
    need(isinstance(boxes, list) and boxes, f"{what}: no boxes")
    need(len(boxes) <= MAX_BOXES, f"{what}: more than {MAX_BOXES} boxes")
    d = len(domain)
    need(d in (1, 2), f"{what}: only 1- and 2-dimensional domains")
    raw = []
    for b in boxes:
        need(isinstance(b, list) and len(b) == 2 * d, f"{what}: bad box {str(b)[:60]}")
        raw.append([_scaled(v, what) for v in b])
    dom = [_frac_scaled(q, what) for lo_hi in domain for q in lo_hi]
    E = min(e for box in raw + [dom] for _, e in box)
    pw = {}

    def conv(me):
        k = me[1] - E
        if k not in pw:
            pw[k] = 10 ** k
        return me[0] * pw[k]
    out = [[(conv(b[2 * i]), conv(b[2 * i + 1])) for i in range(d)] for b in raw]
    dom = [(conv(dom[2 * i]), conv(dom[2 * i + 1])) for i in range(d)]
    for b, iv in zip(boxes, out):
        need(all(dom[i][0] <= lo < hi <= dom[i][1] for i, (lo, hi) in enumerate(iv)),
             f"{what}: box {str(b)[:120]} empty or outside the domain")
    vol = lambda iv: math.prod(hi - lo for lo, hi in iv)
    need(sum(vol(iv) for iv in out) == vol(dom), f"{what}: boxes do not cover the domain")
    need(_disjoint(out), f"{what}: boxes overlap")
    scale = fmpq(10) ** E if E >= 0 else 1 / fmpq(10) ** (-E)
    cache = {}

    def edge(v):
        if v not in cache:
            cache[v] = arb(fmpq(v) * scale)
        return cache[v]
    return [[edge(lo).union(edge(hi)) for lo, hi in iv] for iv in out]


def _scaled(s, what):
    """A decimal string as (m, e) with value m * 10^e, exactly."""
    need(isinstance(s, str) and DECIMAL.fullmatch(s), f"{what}: expected a decimal string, got {str(s)[:40]!r}")
    mant, _, exp = s.lower().partition("e")
    ip, _, fp = mant.partition(".")
    return int(ip + fp) if not ip.startswith("-") else -int(ip[1:] + fp), int(exp or 0) - len(fp)


def _frac_scaled(q, what):
    """A Fraction with a denominator 2^a 5^b as (m, e), m * 10^e = q."""
    den, k = q.denominator, 0
    while den % 10 == 0:
        den //= 10
        k += 1
    while den % 2 == 0 or den % 5 == 0:
        den //= 2 if den % 2 == 0 else 5
        k += 1
    need(den == 1, f"{what}: domain bound {q} is not a decimal")
    return q.numerator * 10 ** k // q.denominator, -k


def _disjoint(boxes):
    """Whether the open boxes are pairwise disjoint (d = 1: sorted neighbours; d = 2: a sweep
    in the first coordinate over an ordered list of the active second-coordinate intervals,
    which are disjoint by induction, so a new one only needs its two neighbours checked)."""
    if len(boxes[0]) == 1:
        iv = sorted(b[0] for b in boxes)
        return all(x[1] <= y[0] for x, y in zip(iv, iv[1:]))
    import bisect
    events = sorted([(b[0][1], 0, n) for n, b in enumerate(boxes)]      # removals first at a tie:
                    + [(b[0][0], 1, n) for n, b in enumerate(boxes)])   # touching boxes do not meet
    active = []                                                          # sorted (lo, hi, n)
    for _, insert, n in events:
        key = (boxes[n][1][0], boxes[n][1][1], n)
        j = bisect.bisect_left(active, key)
        if not insert:
            del active[j]
            continue
        if j > 0 and active[j - 1][1] > key[0]:
            return False
        if j < len(active) and active[j][0] < key[1]:
            return False
        active.insert(j, key)
    return True


def arb_interval(lo, hi):
    return ball(lo).union(ball(hi))


# ----------------------------------------------------------------------------- numeric kinds

def check_critical_points(m, cl, dg):
    need((m.k + m.pi - 1) * m.A - m.pi * m.S ** 2 > 0, "existence condition fails")
    gs = m.g_s()
    canonical(gs, cl["g_s"], dg, "g_s")
    need(gs > 0, "g_s <= 0")
    t_lo, t_hi = (dec(v, "theta_s") for v in cl["theta_s"])
    q = grid(arb_interval(t_lo, t_hi), dg)
    need(t_hi - t_lo == q and (t_lo / q).denominator == 1, "theta_s: not the tightest grid pair")
    need(0 < t_lo and ball(t_hi) < m.pi, "theta_s: outside (0, pi)")
    # g(lo) > g_s > g(hi): a root in between (IVT); g' = -(pi - theta) sin(theta) < 0 on (0, pi)
    need(m.g(ball(t_lo)) > gs and m.g(ball(t_hi)) < gs, "theta_s: no sign change of g - g_s")
    a_bar, a_s = m.a_of_g(arb(0)), m.a_of_g(gs)
    for name, vec in (("a_bar", a_bar), ("a_s", a_s)):
        need(isinstance(cl[name], list) and len(cl[name]) == m.k, f"{name}: length")
        for i, (x, pair) in enumerate(zip(vec, cl[name])):
            canonical(x, pair, dg, f"{name}[{i}]")
    need(sum(x * y for x, y in zip(a_s, m.a)).contains(0), "saddle: a_s.a* != 0")
    for Delta, a in ((m.pi, a_bar), (m.pi - gs, a_s)):
        need(all(v.contains(0) for v in m.grad_a(Delta, a)), "critical point: grad_a != 0")
    L_sp, L_sd = m.loss(m.pi, a_bar), m.loss(m.pi - gs, a_s)
    canonical(L_sp, cl["loss_spurious"], dg, "loss_spurious")
    canonical(L_sd, cl["loss_saddle"], dg, "loss_saddle")
    canonical(L_sd - L_sp, cl["barrier"], dg, "barrier")
    return {"detail": "theta_s in [%s, %s]" % tuple(cl["theta_s"])}


def check_hessian_spectrum(m, cl, dg):
    ev = sorted(m.spectrum(), key=frac_of)
    groups = []
    for x in ev:
        lo_hi = _canon(x, dg)   # the checker's own grid pair, only to group equal eigenvalues
        if groups and groups[-1][1] == lo_hi:
            groups[-1][2] += 1
        else:
            groups.append([x, lo_hi, 1])
    stated = cl["eigenvalues"]
    need(isinstance(stated, list) and len(stated) == len(groups), "eigenvalues: wrong count")
    for (x, _, mult), st in zip(groups, stated):
        need(isinstance(st, dict) and set(st) == {"value", "multiplicity"}, "eigenvalues: bad entry")
        canonical(x, st["value"], dg, "eigenvalue")
        need(st["multiplicity"] == mult and type(st["multiplicity"]) is int, "multiplicity differs")
    canonical(ev[0], cl["mu"], dg, "mu")
    canonical(ev[-1], cl["lam_max"], dg, "lam_max")
    return {"detail": f"{len(ev)} eigenvalues"}


def _canon(x, dg):
    """The canonical grid pair around ball x (the checker's own, to group equal eigenvalues)."""
    q = grid(x, dg)
    f = frac_of(x)
    lo = Fraction(math.floor(f / q)) * q
    while not ball(lo) < x:
        lo -= q
    while ball(lo + q) < x:
        lo += q
    hi = lo + q
    while not x < ball(hi):
        hi += q
    return lo, hi


def check_smoothness(m, cl, boxes, dg):
    na = m.A.sqrt()
    canonical(2 * m.s * na, cl["R"], dg, "R")
    _, C = canonical(2 * m.s * m.A, cl["c_max"], dg, "c_max")   # |a.a*| <= R |a*| = 2 s |a*|^2
    L_R = _max(m.s * 2 * m.s * na * na / 2, (m.k + m.pi - 1) / (2 * m.pi)) + m.s * m.pi * na / 8
    B, _ = canonical(L_R, cl["bound"], dg, "bound")
    lam_M = (m.k + m.pi - 1) / (2 * m.pi)
    worst = arb(0)
    for th, c in boxes_tile(boxes, [(Fraction(0), THETA_MAX), (-C, C)], "boxes"):
        alpha, beta, perp = m.chart(th, c)
        U = _max(_max(abs(alpha), lam_M) + abs(beta) * na, abs(perp))
        need(U < ball(B), f"Hessian bound fails on a box ({U} >= {B})")
        worst = _max(worst, U)
    return {"detail": f"{len(boxes)} boxes, max box bound {float(worst.upper()):.6g} <= {float(B):.6g}"}


def _max(x, y):
    return x.max(y) if hasattr(x, "max") else (x if x > y else y)


def _min(x, y):
    return x.min(y) if hasattr(x, "min") else (x if x < y else y)


def check_basin(m, cl, boxes, dg):
    mu = m.spectrum()
    mu = min(mu, key=frac_of)
    na = m.A.sqrt()
    K = m.s / (2 * m.pi) * (2 * m.pi * na + (2 + m.pi ** 2 / 4) * m.s * m.A)
    canonical(mu, cl["mu"], dg, "mu")
    canonical(K, cl["K"], dg, "K")
    _, rho = canonical(mu / (2 * K), cl["rho"], dg, "rho")
    c_lo, _ = canonical(m.s * m.A - ball(rho) * na, cl["c_lo"], dg, "c_lo")
    _, c_hi = canonical(m.s * m.A + ball(rho) * na, cl["c_hi"], dg, "c_hi")
    lam_M = ((m.pi - 1) if m.k > 1 else m.pi) / (2 * m.pi)
    worst = None
    for th, c in boxes_tile(boxes, [(Fraction(0), rho), (c_lo, c_hi)], "boxes"):
        alpha, beta, perp = m.chart(th, c)
        low = _min(_min(alpha, lam_M), perp) - abs(beta) * na
        need(low > mu / 2, f"Hessian lower bound fails on a box ({low})")
        worst = low if worst is None else _min(worst, low)
    return {"detail": f"{len(boxes)} boxes, min box bound {float(worst.lower()):.6g} > mu/2"}


def check_no_critical(m, cl, boxes, dg):
    gs = m.g_s()
    need(gs > 0, "g_s <= 0")
    t_lo, t_hi = (dec(v, "theta_s") for v in cl["theta_s"])
    q = grid(arb_interval(t_lo, t_hi), dg)
    need(t_hi - t_lo == q and (t_lo / q).denominator == 1, "theta_s: not the tightest grid pair")
    need(m.g(ball(t_lo)) > gs and m.g(ball(t_hi)) < gs, "theta_s: no sign change of g - g_s")
    _, top = canonical(m.pi - ball(DELTA), cl["pi_minus_delta"], dg, "pi_minus_delta")
    canonical(m.s, cl["s"], dg, "s")   # the region does not depend on s; the bound below does
    need(isinstance(boxes, list) and len(boxes) == 2, "boxes: expected two segments")
    na = m.A.sqrt()
    B0 = ((m.pi - 1) / (2 * m.pi)) ** 2
    worst = None
    for seg, dom in zip(boxes, [(DELTA, t_hi - DELTA), (t_lo + DELTA, top)]):
        for (th,) in boxes_tile(seg, [dom], "boxes"):
            A0 = (m.s / (2 * m.pi) * (m.pi - th) * th.sin()) ** 2
            mm = sum(x * y for x, y in zip(m.a_of_g(m.g(th)), m.a))   # a(theta).a*
            low = A0 * B0 * mm ** 2 / (A0 * na ** 2 + B0)              # <= |grad_R|^2 for all a
            need(low > 0, f"gradient lower bound not positive on [{th}]")
            worst = low if worst is None else _min(worst, low)
    return {"detail": f"{sum(map(len, boxes))} boxes, |grad|^2 >= {float(worst.lower()):.3g}"}


# ----------------------------------------------------------------------------- symbolic kinds

def identities_digest(ids):
    """sha256 of the statements (name, vars, lhs, rhs) of a list of identities."""
    rows = [[it["name"], it["vars"], it["lhs"], it["rhs"]] for it in ids]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


@functools.lru_cache(maxsize=256)
def _prove(lhs, rhs, variables, antiderivatives, name):
    """exact.prove_identity, memoised: it is a pure function of its (string) arguments, so a
    set re-checked in one process proves each identity once (failures are not cached)."""
    exact.prove_identity(lhs, rhs, list(variables), json.loads(antiderivatives), name)


def check_symbolic(cert):
    """Every identity proved exactly (proofs_check.exact), and the list is the checker's own."""
    ids = cert["identities"]
    need(isinstance(ids, list) and all(isinstance(i, dict) for i in ids)
         and [i.get("name") for i in ids] == SYMBOLIC_IDS[cert["kind"]], "identities: not the required list")
    for it in ids:
        need(set(it) == {"name", "vars", "lhs", "rhs", "antiderivatives"}, f"{it['name']}: bad keys")
    # The statements first (cheap), then their proofs: both must hold.
    need(identities_digest(ids) == SYMBOLIC_DIGESTS[cert["kind"]],
         "identities: not the statements this checker requires (sha256 differs)")
    for it in ids:
        name = it["name"]
        v = it["vars"]
        need(isinstance(v, list) and len(v) <= 24 and all(isinstance(x, str) for x in v)
             and v == sorted(set(v)), f"{name}: vars must be a sorted list of at most 24 names")
        try:
            trees = [exact.parse(it[side], f"{name} {side}") for side in ("lhs", "rhs")]
            need(v == sorted(exact.names_in(trees[0]) | exact.names_in(trees[1])), f"{name}: vars differ")
            _prove(it["lhs"], it["rhs"], tuple(v), json.dumps(it["antiderivatives"]), name)
        except exact.Disproved as exc:
            raise Reject(f"false identity: {exc}") from None
        except exact.NotCertifiable as exc:
            raise Reject(f"not certifiable: {exc}") from None
    return {"detail": f"{len(ids)} identities proved exactly"}


# ----------------------------------------------------------------------------- certificates

NUMERIC = {"critical_points": ({"g_s", "theta_s", "a_bar", "a_s", "loss_spurious", "loss_saddle",
                                "barrier"}, False, check_critical_points),
           "hessian_spectrum": ({"eigenvalues", "mu", "lam_max"}, False, check_hessian_spectrum),
           "smoothness": ({"R", "c_max", "bound"}, True, check_smoothness),
           "basin": ({"mu", "K", "rho", "c_lo", "c_hi"}, True, check_basin),
           "no_critical": ({"theta_s", "pi_minus_delta", "s"}, True, check_no_critical)}
ALWAYS = ("hessian_spectrum", "smoothness", "basin")          # every problem
SPURIOUS = ("critical_points", "no_critical")                 # problems with a spurious minimum
NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def check_cert(cert):
    """Raise Reject unless the certificate holds on its own; return a dict with a 'detail'
    line.  (Which certificates a set needs, and their problems: :func:`check_set`.)"""
    need(isinstance(cert, dict), "not a JSON object")
    need(cert.get("format") == FORMAT, "unknown format")
    need(cert.get("prover") == PROVER, "unknown prover or version")
    kind = cert.get("kind")
    need(isinstance(kind, str) and kind in STATEMENTS and cert.get("statement") == STATEMENTS[kind],
         "unknown kind or statement")
    cid = cert.get("id")
    need(isinstance(cid, str) and "." in cid and cid.split(".", 1)[1] == kind
         and NAME.fullmatch(cid.split(".", 1)[0]), f"id: expected '<name>.{kind}'")
    old = flint.ctx.prec
    try:
        if kind in SYMBOLIC_IDS:
            need(cid == f"symbolic.{kind}", f"id: expected 'symbolic.{kind}'")
            need(set(cert) == {"format", "prover", "kind", "statement", "id", "identities"}, "bad keys")
            return check_symbolic(cert)
        need(cid.split(".")[0] != "symbolic", "id: 'symbolic' names the symbolic certificates")
        claims, has_boxes, fn = NUMERIC[kind]
        keys = {"format", "prover", "kind", "statement", "id", "digits", "problem", "claims"}
        need(set(cert) == keys | ({"boxes"} if has_boxes else set()), "bad keys")
        dg = cert["digits"]
        need(type(dg) is int and 20 <= dg <= 60, "digits: expected an integer in [20, 60]")
        need(isinstance(cert["claims"], dict) and set(cert["claims"]) == claims, "claims: bad keys")
        flint.ctx.prec = int(dg * 3.33) + 80
        m = Model(cert["problem"])
        need(kind in required_kinds(cert["problem"]), f"{kind}: not a lemma of this problem")
        args = (cert["boxes"],) if has_boxes else ()
        return fn(m, cert["claims"], *args, dg)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError, AttributeError) as exc:
        raise Reject(f"malformed certificate ({type(exc).__name__})") from None
    finally:
        flint.ctx.prec = old


# ----------------------------------------------------------------------------- problems

def problem_values(problem):
    """(w*, a*) as exact Fractions, bounded; Reject unless well formed."""
    need(isinstance(problem, dict) and set(problem) == {"w_star", "a_star"}, "problem: bad keys")
    w, a = problem["w_star"], problem["a_star"]
    need(isinstance(w, list) and isinstance(a, list) and 2 <= len(w) <= MAX_DIM and 1 <= len(a) <= MAX_DIM,
         f"problem: need 2 <= p <= {MAX_DIM}, 1 <= k <= {MAX_DIM}")
    return [dec(v, "w_star") for v in w], [dec(v, "a_star") for v in a]


def has_spurious_minimum(problem):
    """pi (1.a*)^2 < (k + pi - 1)|a*|^2, decided exactly (X = S^2 - A, Y = (k - 1) A: pi X < Y)."""
    _, a = problem_values(problem)
    A, S = sum(x * x for x in a), sum(a)
    X, Y = S * S - A, (len(a) - 1) * A
    if X <= 0:
        return Y > 0 or X < 0
    old = flint.ctx.prec
    try:
        for bits in (64, 256, 1024, 4096):   # pi is irrational: some precision decides
            flint.ctx.prec = bits
            d = arb.pi() - ball(Y / X)
            if not d.contains(0):
                return d < 0
    finally:
        flint.ctx.prec = old
    raise Reject("problem: cannot decide whether it has a spurious minimum")


def required_kinds(problem):
    """The numeric lemmas the checker requires for a problem (its own list)."""
    return ALWAYS + (SPURIOUS if has_spurious_minimum(problem) else ())


def problem_digest(problem):
    """sha256 of the exact teacher data (canonical: reduced fractions)."""
    w, a = problem_values(problem)
    text = "w_star=" + ",".join(map(str, w)) + ";a_star=" + ",".join(map(str, a))
    return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------------------- sets

@dataclass(frozen=True)
class FileResult:
    """One certificate file: ``code`` 0 holds, 1 invalid, 2 unusable input."""
    name: str
    kind: str
    code: int
    message: str


@dataclass(frozen=True)
class ProblemResult:
    """The lemmas of one problem of a set (``problem`` is 'symbolic' for the identities)."""
    problem: str
    digest: str
    dims: str
    holds: tuple
    fails: tuple
    missing: tuple


@dataclass(frozen=True)
class SetResult:
    files: tuple          # FileResult, one per *.json file (manifest included)
    problems: tuple       # ProblemResult
    code: int             # 0 every required lemma holds, 1 something invalid or missing, 2 unusable

    @property
    def ok(self):
        return self.code == 0


def load(path, root=None):
    """(cert, None) or (None, FileResult-less (code, reason)) for one file."""
    try:
        return strictjson.load(path, root), None
    except strictjson.Unusable as exc:
        return None, (2, str(exc))
    except strictjson.Invalid as exc:
        return None, (1, str(exc))


def read_manifest(directory):
    """{name: problem dict} from the set's manifest; Reject (or an OSError-like code 2)."""
    cert, err = load(os.path.join(directory, MANIFEST), directory)
    if err:
        return None, err
    try:
        need(set(cert) == {"format", "prover", "problems"}, "bad keys")
        need(cert["format"] == SET_FORMAT, "unknown set format")
        need(cert["prover"] == PROVER, "unknown prover or version")
        probs = cert["problems"]
        need(isinstance(probs, list) and 1 <= len(probs) <= MAX_PROBLEMS,
             f"problems: expected a list of 1..{MAX_PROBLEMS}")
        out, seen = {}, set()
        for e in probs:
            need(isinstance(e, dict) and set(e) == {"name", "w_star", "a_star"}, "problems: bad entry")
            name = e["name"]
            need(isinstance(name, str) and NAME.fullmatch(name) and name != "symbolic",
                 f"problems: bad name {str(name)[:40]!r}")
            need(name not in out, f"problems: duplicate name {name}")
            prob = {"w_star": e["w_star"], "a_star": e["a_star"]}
            dg = problem_digest(prob)
            need(dg not in seen, f"problems: {name} repeats another problem's teacher data")
            seen.add(dg)
            out[name] = prob
        return out, None
    except Reject as exc:
        return None, (1, str(exc))


def check_set(directory, on_file=None):
    """Check a certificate directory: the manifest's problems, for each the checker's
    required lemmas (missing ones named), each certificate bound to its problem by the
    exact teacher data and to its file by its id, no stray *.json files.
    ``on_file(name, total)``, if given, is called after each file (progress)."""
    tick = on_file or (lambda name, total: None)
    try:
        names = sorted(e.name for e in os.scandir(directory) if e.name.endswith(".json"))
    except OSError as exc:
        return SetResult((FileResult(directory, "?", 2, exc.strerror or str(exc)),), (), 2)
    problems, err = read_manifest(directory)
    if err:
        return SetResult((FileResult(MANIFEST, "manifest", err[0], err[1]),), (), err[0])
    files = [FileResult(MANIFEST, "manifest", 0, f"{len(problems)} problems")]
    expected = {f"symbolic.{k}": ("symbolic", k) for k in SYMBOLIC_IDS}
    for pname, prob in problems.items():
        try:
            kinds = required_kinds(prob)
        except Reject as exc:
            files.append(FileResult(MANIFEST, "manifest", 1, f"{pname}: {exc}"))
            continue
        expected.update({f"{pname}.{k}": (pname, k) for k in kinds})
    status = {}
    for fname in names:
        tick(fname, len(names))
        if fname == MANIFEST:
            continue
        stem = fname[:-len(".json")]
        if stem not in expected:
            files.append(FileResult(fname, "?", 1, "stray file: not a certificate this set requires"))
            continue
        pname, kind = expected[stem]
        cert, err = load(os.path.join(directory, fname), directory)
        if err is None:
            try:
                need(cert.get("id") == stem, f"id {str(cert.get('id'))[:40]!r} is not the file's {stem!r}")
                if pname != "symbolic":
                    need(cert.get("problem") == problems[pname],
                         f"problem: not the teacher data of {pname} in the manifest")
                need(cert.get("kind") == kind, f"kind: expected {kind}")
                err = (0, check_cert(cert)["detail"])
            except Reject as exc:
                err = (1, str(exc))
        files.append(FileResult(fname, kind, *err))
        status[stem] = err[0] == 0
    rows = []
    for pname in ["symbolic"] + list(problems):
        stems = [s for s, (p, _) in expected.items() if p == pname]
        kinds = lambda ok: tuple(expected[s][1] for s in stems if status.get(s) is ok)
        if pname == "symbolic":
            dg, dims = "", "problem-independent"
        else:
            w, a = problem_values(problems[pname])
            dg, dims = problem_digest(problems[pname]), f"p={len(w)} k={len(a)}"
        rows.append(ProblemResult(pname, dg, dims, kinds(True), kinds(False),
                                  tuple(expected[s][1] for s in stems if s not in status)))
    code = max([f.code for f in files] + [1 if any(r.missing for r in rows) else 0])
    return SetResult(tuple(files), tuple(rows), code)


def check_file(path):
    """(ok, kind, message) for one certificate file on its own (no set context)."""
    cert, err = load(path)
    if err:
        return False, "?", err[1]
    kind = cert.get("kind", "?") if isinstance(cert.get("kind"), str) else "?"
    try:
        return True, kind[:40], check_cert(cert)["detail"]
    except Reject as exc:
        return False, kind[:40], str(exc)


def format_set(result):
    """Lines of the report: per problem which lemmas hold, fail or are missing; then every
    file that did not hold, one line each."""
    lines, msg = [], {f.name: f.message for f in result.files}
    for r in result.problems:
        head = f"{r.problem} ({r.dims}{', sha256 ' + r.digest[:16] if r.digest else ''})"
        lines.append(f"{head}: {len(r.holds)}/{len(r.holds) + len(r.fails) + len(r.missing)} lemmas hold")
        lines += [f"  HOLDS    {k:17s} {msg.get(f'{r.problem}.{k}.json', '')}" for k in r.holds]
        lines += [f"  FAILS    {k}" for k in r.fails]
        lines += [f"  MISSING  {k}  ({r.problem}.{k}.json)" for k in r.missing]
    for f in result.files:
        if f.code:   # a file name may hold any character but '/': keep the report one line per file
            name = f.name if f.name.isprintable() else repr(f.name)
            lines.append(f"REJECTED {name}: {f.message}")
    return lines


def main(argv=None):
    """``python -m proofs_check.checker DIR`` (a set) or ``FILE...`` (single certificates)."""
    paths = sys.argv[1:] if argv is None else argv
    if len(paths) == 1 and os.path.isdir(paths[0]):
        res = check_set(paths[0])
        print("\n".join(format_set(res)))
        return res.code
    results = [(p, *check_file(p)) for p in paths]
    for p, ok, kind, msg in results:
        print(f"{'PASS' if ok else 'FAIL'}  {kind:17s} {p}: {msg}")
    return 0 if results and all(r[1] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
