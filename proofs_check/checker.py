"""Independent checker for verified_pgd certificates (``vpgd check PATH``).

Audit notes.  This file imports only the standard library and python-flint (arb ball
arithmetic); nothing from verified_pgd or from the prover.  It is one file of about 525
lines (a fifth of them the statement texts).  Every formula it needs is written out here
from docs/proofs.md.  It accepts a certificate only if

* the format, kind, prover version and statement are the ones this checker knows;
* every stated enclosure is the canonical one: the tightest pair of grid points
  (spacing 10^(E - digits + 1), E the decimal exponent of the value) around this
  checker's own ball enclosure of the quantity -- so changing any bound is detected;
* box lists tile their domain exactly (all edges exact decimals, volumes add up,
  interiors disjoint) -- so moving any box edge is detected;
* the per-box inequality holds in ball arithmetic on every box;
* symbolic identities (derived by the prover with sympy) hold in ball arithmetic at
  fixed sample points (a spot check: sympy's proof itself is trusted, not re-run).

Parameters are exact decimal strings; they enter every enclosure, so changing one is
detected.  Usage: ``python -m proofs_check.checker PATH...`` (exit 0 iff all hold).
"""
import ast
import json
import math
import re
import sys
from fractions import Fraction

import flint
from flint import acb, arb, arb_series, fmpq

FORMAT = "verified_pgd-certificate/1"
PROVER = {"name": "proofs_check.prover", "version": "1"}
DELTA = Fraction(1, 100)          # half-width of the excluded theta-neighbourhoods (no_critical)
THETA_MAX = Fraction(16, 5)       # smoothness domain in theta: [0, 3.2] contains [0, pi]
STATEMENTS = {
    "sym_moments": "For z ~ N(0, I): E relu(x.z) = |x|/sqrt(2 pi) and E relu(x.z) relu(y.z) = "
                   "|x||y| g(angle(x, y))/(2 pi), by reduction to the plane of x, y and polar "
                   "coordinates (angular and radial integrals below).",
    "sym_loss": "For k = 1..4 the population loss equals L1 (DESIGN K1 and L1), and L2 equals L1.",
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
    need(isinstance(s, str) and DECIMAL.fullmatch(s), f"{what}: expected a decimal string, got {s!r}")
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        raise Reject(f"{what}: not a decimal: {s!r}") from None


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
        need(isinstance(problem, dict) and set(problem) == {"w_star", "a_star"}, "problem: bad keys")
        w = [dec(v, "w_star") for v in problem["w_star"]]
        a = [dec(v, "a_star") for v in problem["a_star"]]
        need(len(w) >= 2 and len(a) >= 1 and any(w), "problem: need p >= 2, k >= 1, w* != 0")
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
    """Boxes (lists of 2d decimal strings: lo_1, hi_1, lo_2, hi_2, ...) tile the domain."""
    need(isinstance(boxes, list) and boxes, f"{what}: no boxes")
    d = len(domain)
    out = []
    for b in boxes:
        need(isinstance(b, list) and len(b) == 2 * d, f"{what}: bad box {b!r}")
        e = [dec(v, what) for v in b]
        iv = [(e[2 * i], e[2 * i + 1]) for i in range(d)]
        need(all(domain[i][0] <= lo < hi <= domain[i][1] for i, (lo, hi) in enumerate(iv)),
             f"{what}: box {b} empty or outside the domain")
        out.append(iv)
    vol = lambda iv: math.prod(hi - lo for lo, hi in iv)
    need(sum(vol(iv) for iv in out) == vol(domain), f"{what}: boxes do not cover the domain")
    order = sorted(range(len(out)), key=lambda i: out[i][0][0])
    for n, i in enumerate(order):   # sweep on the first coordinate: no two interiors overlap
        for j in order[n + 1:]:
            if out[j][0][0] >= out[i][0][1]:
                break
            need(not all(max(a[0], b[0]) < min(a[1], b[1]) for a, b in zip(out[i], out[j])),
                 f"{what}: boxes overlap")
    return [[arb_interval(lo, hi) for lo, hi in iv] for iv in out]


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

FUNCS = {"sin", "cos", "exp", "sqrt", "erf"}


def evaluate(node, env):
    """Evaluate a whitelisted expression AST on arb / arb_series / acb values."""
    if isinstance(node, ast.Expression):
        return evaluate(node.body, env)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return arb(node.value)
    if isinstance(node, ast.Name):
        if node.id == "pi":
            return arb.pi()
        need(node.id in env, f"unknown name {node.id}")
        return env[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = evaluate(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        x, y = evaluate(node.left, env), evaluate(node.right, env)
        ops = {ast.Add: lambda: x + y, ast.Sub: lambda: x - y, ast.Mult: lambda: x * y,
               ast.Div: lambda: x / y, ast.Pow: lambda: _pow(x, node.right, y)}
        need(type(node.op) in ops, "operator not allowed")
        return ops[type(node.op)]()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        f, args = node.func.id, node.args
        if f in FUNCS and len(args) == 1:
            return getattr(evaluate(args[0], env), f)()
        if f == "Derivative":
            return _derivative(args, env)
        if f == "Integral" and len(args) == 2 and isinstance(args[1], ast.Tuple):
            var, lo, hi = args[1].elts
            need(isinstance(var, ast.Name), "Integral: variable")
            a, b = evaluate(lo, env), evaluate(hi, env)
            r = acb.integral(lambda z, _: evaluate(args[0], {**env, var.id: z}), a, b)
            need(r.imag.contains(0), "Integral: not real")
            return r.real
    raise Reject(f"expression not allowed: {ast.dump(node)[:60]}")


def _pow(x, right, y):
    if isinstance(right, ast.Constant) or (isinstance(right, ast.UnaryOp) and isinstance(right.operand, ast.Constant)):
        n = int(frac_of(y))
        need(abs(n) <= 64, "power too large")
        out = arb(1)
        for _ in range(abs(n)):   # repeated product: arb's ** is nan on balls containing 0
            out = out * x
        return out if n >= 0 else 1 / out
    raise Reject("only integer powers are allowed")


def _derivative(args, env):
    """Derivative(f, x), Derivative(f, x, y), Derivative(f, (x, 2)): first or second order."""
    order = []
    for a in args[1:]:
        if isinstance(a, ast.Tuple):
            need(isinstance(a.elts[0], ast.Name) and isinstance(a.elts[1], ast.Constant), "Derivative")
            order += [a.elts[0].id] * int(a.elts[1].value)
        else:
            need(isinstance(a, ast.Name), "Derivative: variable")
            order.append(a.id)
    need(1 <= len(order) <= 2 and all(v in env for v in order), "Derivative: order or variable")

    def coeff(direction, n):
        e = {k: (arb_series([v, direction.get(k, 0)], prec=3) if k in direction else v)
             for k, v in env.items()}
        s = evaluate(args[0], e)
        if not isinstance(s, arb_series):   # constant in the variable
            return arb(0)
        c = s.coeffs()
        return c[n] if n < len(c) else arb(0)
    if len(order) == 1:
        return coeff({order[0]: 1}, 1)
    x, y = order
    if x == y:
        return 2 * coeff({x: 1}, 2)
    return coeff({x: 1, y: 1}, 2) - coeff({x: 1}, 2) - coeff({y: 1}, 2)


def names_in(tree):
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    bound = {n.args[1].elts[0].id for n in calls if getattr(n.func, "id", "") == "Integral"}
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - bound - called - {"pi"}


def check_symbolic(cert):
    ids = cert["identities"]
    need(isinstance(ids, list) and [i.get("name") for i in ids if isinstance(i, dict)]
         == SYMBOLIC_IDS[cert["kind"]], "identities: not the required list")
    for it in ids:
        need(set(it) == {"name", "vars", "lhs", "rhs"}, f"{it['name']}: bad keys")
        try:
            lhs, rhs = (ast.parse(it[s], mode="eval") for s in ("lhs", "rhs"))
        except (SyntaxError, TypeError):
            raise Reject(f"{it['name']}: does not parse") from None
        need(it["vars"] == sorted(names_in(lhs) | names_in(rhs)), f"{it['name']}: vars differ")
        need(len(it["vars"]) <= 24, f"{it['name']}: too many variables")
        for j in range(3):   # fixed points in [0.5, 3]; the 24 coordinates of each are distinct
            env = {v: ball(Fraction((1009 * (i + 1) + 613 * (j + 1) * (i + 2)) % 1000 + 200, 400))
                   for i, v in enumerate(it["vars"])}
            d = evaluate(lhs, env) - evaluate(rhs, env)
            need(isinstance(d, arb) and d.contains(0) and d.rad() < arb(2) ** -60,
                 f"{it['name']}: lhs != rhs at a sample point ({d})")
    return {"detail": f"{len(ids)} identities at 3 points each"}


# ----------------------------------------------------------------------------- driver

NUMERIC = {"critical_points": ({"g_s", "theta_s", "a_bar", "a_s", "loss_spurious", "loss_saddle",
                                "barrier"}, False, check_critical_points),
           "hessian_spectrum": ({"eigenvalues", "mu", "lam_max"}, False, check_hessian_spectrum),
           "smoothness": ({"R", "c_max", "bound"}, True, check_smoothness),
           "basin": ({"mu", "K", "rho", "c_lo", "c_hi"}, True, check_basin),
           "no_critical": ({"theta_s", "pi_minus_delta", "s"}, True, check_no_critical)}


def check_cert(cert):
    """Raise Reject unless the certificate holds; return a dict with a 'detail' line."""
    need(isinstance(cert, dict), "not a JSON object")
    need(cert.get("format") == FORMAT, "unknown format")
    need(cert.get("prover") == PROVER, "unknown prover or version")
    kind = cert.get("kind")
    need(kind in STATEMENTS and cert.get("statement") == STATEMENTS[kind], "unknown kind or statement")
    old = flint.ctx.prec
    try:
        if kind in SYMBOLIC_IDS:
            need(set(cert) == {"format", "prover", "kind", "statement", "identities"}, "bad keys")
            flint.ctx.prec = 128
            return check_symbolic(cert)
        claims, has_boxes, fn = NUMERIC[kind]
        keys = {"format", "prover", "kind", "statement", "digits", "problem", "claims"}
        need(set(cert) == keys | ({"boxes"} if has_boxes else set()), "bad keys")
        dg = cert["digits"]
        need(type(dg) is int and 20 <= dg <= 60, "digits: expected an integer in [20, 60]")
        need(isinstance(cert["claims"], dict) and set(cert["claims"]) == claims, "claims: bad keys")
        flint.ctx.prec = int(dg * 3.33) + 80
        m = Model(cert["problem"])
        args = (cert["boxes"],) if has_boxes else ()
        return fn(m, cert["claims"], *args, dg)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise Reject(f"malformed certificate ({type(exc).__name__}: {exc})") from None
    finally:
        flint.ctx.prec = old


def check_file(path):
    """(ok, kind, message) for one certificate file."""
    try:
        with open(path, encoding="utf-8") as fh:
            cert = json.load(fh)
    except (OSError, ValueError) as exc:
        return False, "?", f"unreadable: {exc}"
    try:
        return True, cert.get("kind", "?"), check_cert(cert)["detail"]
    except Reject as exc:
        return False, cert.get("kind", "?") if isinstance(cert, dict) else "?", str(exc)


def main(argv=None):
    paths = sys.argv[1:] if argv is None else argv
    results = [(p, *check_file(p)) for p in paths]
    for p, ok, kind, msg in results:
        print(f"{'PASS' if ok else 'FAIL'}  {kind:17s} {p}: {msg}")
    return 0 if results and all(r[1] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
