"""Symbolic certificates: identities proved exactly with sympy.

Each identity is written as two expression strings over named variables (the checker
re-proves them exactly, :mod:`proofs_check.exact`); integrals carry an antiderivative.  The prover's proof is sympy's: the difference
``lhs - rhs`` (after ``doit()`` for integrals and derivatives) simplifies to 0.  The
strings are our own literals, never user input.

Variables: ``u = |w|``, ``s = |w*|``, ``theta``, ``a1..ak`` (a), ``b1..bk`` (a*), ``g``
(the value g(theta) where an identity is polynomial in it), ``phi``/``r``/``T``
(integration variables and limits).
"""
from __future__ import annotations

import sympy as sp

G_THETA = "(sin(theta) + (pi - theta)*cos(theta))"


_LOCALS = {n: sp.Symbol(n, real=True) for n in
           ["u", "v", "s", "theta", "phi", "r", "T", "g"] + [f"a{i}" for i in range(1, 5)]
           + [f"b{i}" for i in range(1, 5)]}
_LOCALS.update({"pi": sp.pi, "Integral": sp.Integral, "Derivative": sp.Derivative,
                "sin": sp.sin, "cos": sp.cos, "exp": sp.exp, "sqrt": sp.sqrt, "erf": sp.erf})


def parse(text):
    """Parse one of our own expression literals (fixed local names, no user input)."""
    return sp.parse_expr(text, local_dict=_LOCALS)


def _is_zero(expr):
    # rational functions: one fraction whose numerator expands to 0; else trig simplification
    diff = sp.expand(sp.numer(sp.together(expr)))
    if diff != 0:
        diff = sp.simplify(sp.expand_trig(sp.expand(expr)))
    return diff == 0


def prove(name, lhs, rhs, parts=None, antiderivatives=()):
    """Prove lhs == rhs with sympy and return the certificate entry (raises if it fails).

    With ``parts`` (lhs is the sum of their squares and rhs is "0"), each part is proved
    to vanish, which is cheaper than expanding the sum of squares.  ``antiderivatives``:
    one (variable, F) per Integral of lhs then rhs (textual order); sympy checks dF/dx
    against the integrand here, the checker re-proves it exactly.
    """
    L, R = parse(lhs), parse(rhs)
    integrals = _integrals(lhs) + _integrals(rhs)
    if len(integrals) != len(antiderivatives):
        raise AssertionError(f"{name}: one antiderivative per Integral is needed")
    for (var, F), integrand in zip(antiderivatives, integrals):
        if not _is_zero(sp.diff(parse(F), _LOCALS[var]) - parse(integrand)):
            raise AssertionError(f"{name}: the antiderivative {F} is wrong")
    if parts is not None:
        ok = R == 0 and all(_is_zero(parse(q).doit()) for q in parts)
        diff = 0 if ok else 1
    else:
        diff = 0 if _is_zero(L.doit() - R.doit()) else 1
    if diff != 0:
        diff = sp.simplify(sp.expand_trig(diff))
    if diff != 0:
        raise AssertionError(f"{name}: sympy could not prove the identity")
    return {"name": name, "vars": sorted(_names(lhs) | _names(rhs)), "lhs": lhs, "rhs": rhs,
            "antiderivatives": [{"var": var, "F": F} for var, F in antiderivatives]}


def _integrals(text):
    """Integrand texts of the Integral calls of one expression, in textual order."""
    import ast
    tree = ast.parse(text, mode="eval")
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)
                    and getattr(n.func, "id", "") == "Integral"), key=lambda n: n.col_offset)
    return [ast.unparse(n.args[0]) for n in calls]


def _names(text):
    """Variables as written (sympy may simplify some away, e.g. sin(0)*b1): every name that
    is not a function, pi, or an integration variable."""
    import ast
    tree = ast.parse(text, mode="eval")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    bound = {n.args[1].elts[0].id for n in calls if getattr(n.func, "id", "") == "Integral"}
    funcs = {n.func.id for n in calls}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - bound - funcs - {"pi"}


# --------------------------------------------------------------------------- helpers

def _vec(c, k):
    return [f"{c}{i}" for i in range(1, k + 1)]


def _sum(xs):
    return "(" + " + ".join(xs) + ")"


def _dot(x, y):
    return _sum([f"{p}*{q}" for p, q in zip(x, y)])


def _quadM(x):
    """x^T M x = (pi - 1)|x|^2 + (1.x)^2."""
    return f"((pi - 1)*{_dot(x, x)} + {_sum(x)}**2)"


def L1(k, u="u", g="g"):
    a, b = _vec("a", k), _vec("b", k)
    return (f"({u}**2*{_quadM(a)} - 2*{u}*s*(({g} - 1)*{_dot(a, b)} + {_sum(a)}*{_sum(b)})"
            f" + s**2*{_quadM(b)})/(4*pi)")


def _g_s(k):
    b = _vec("b", k)
    A, S = _dot(b, b), _sum(b)
    return f"(1 - (pi - 1)*{S}**2/(({k} + pi - 1)*{A} - {S}**2))"


def _alpha(k):
    b = _vec("b", k)
    A, S = _dot(b, b), _sum(b)
    return f"((({k} + pi - 1)*{A} - {S}**2)/((pi - 1)*({k} + pi - 1)))"


def _minv(xs, k):
    tot = _sum(xs)
    return [f"(({x}) - {tot}/({k} + pi - 1))/(pi - 1)" for x in xs]


def _a_of_g(k, g):
    b = _vec("b", k)
    return [f"(s*{e})" for e in _minv([f"({g} - 1)*{bi} + {_sum(b)}" for bi in b], k)]


def _grad_a(k, a, g):
    """(1/2pi)[M a - s((g - 1) b + (1.b) 1)] on the sphere (u = 1)."""
    b = _vec("b", k)
    return [f"((pi - 1)*{ai} + {_sum(a)} - s*(({g} - 1)*{bi} + {_sum(b)}))/(2*pi)"
            for ai, bi in zip(a, b)]


# --------------------------------------------------------------------------- certificates

# Antiderivatives of the integrands (the certificate carries them; see docs/proofs.md).
ANTI_COS = ("phi", "sin(phi)")
# cos(phi) cos(phi - theta) = cos^2(phi) cos(theta) + sin(phi) cos(phi) sin(theta)
ANTI_COS_COS = ("phi", "cos(theta)*(phi/2 + sin(phi)*cos(phi)/2) + sin(theta)*sin(phi)**2/2")
ANTI_R2 = ("r", "sqrt(pi/2)*erf(r/sqrt(2)) - r*exp(-r**2/2)")
ANTI_R3 = ("r", "-(r**2 + 2)*exp(-r**2/2)")


def moments():
    out = [
        prove("angular_1", "Integral(cos(phi), (phi, -pi/2, pi/2))", "2", antiderivatives=[ANTI_COS]),
        prove("angular_2", "Integral(cos(phi)*cos(phi - theta), (phi, theta - pi/2, pi/2))",
              f"{G_THETA}/2", antiderivatives=[ANTI_COS_COS]),
        prove("radial_2", "Integral(r**2*exp(-r**2/2), (r, 0, T))",
              "sqrt(pi/2)*erf(T/sqrt(2)) - T*exp(-T**2/2)", antiderivatives=[ANTI_R2]),
        prove("radial_3", "Integral(r**3*exp(-r**2/2), (r, 0, T))", "2 - (T**2 + 2)*exp(-T**2/2)",
              antiderivatives=[ANTI_R3]),
    ]
    T = _LOCALS["T"]
    # The radial integrals to infinity: the limits of the finite-T forms.
    assert sp.limit(parse("sqrt(pi/2)*erf(T/sqrt(2)) - T*exp(-T**2/2)"), T, sp.oo) == sp.sqrt(sp.pi / 2)
    assert sp.limit(parse("2 - (T**2 + 2)*exp(-T**2/2)"), T, sp.oo) == 2
    # E relu(x.z) = (1/2pi) int int |x| r cos(phi) r e^{-r^2/2} dr dphi over cos(phi) > 0, u = |x|
    out.append(prove("first_moment", "u*Integral(cos(phi), (phi, -pi/2, pi/2))*sqrt(pi/2)/(2*pi)",
                     "u/sqrt(2*pi)", antiderivatives=[ANTI_COS]))
    # second moment: both factors positive for phi in (theta - pi/2, pi/2); radial integral = 2
    out.append(prove("second_moment",
                     "u*v*Integral(cos(phi)*cos(phi - theta), (phi, theta - pi/2, pi/2))*2/(2*pi)",
                     f"u*v*{G_THETA}/(2*pi)", antiderivatives=[ANTI_COS_COS]))
    return out


def loss():
    out = []
    for k in range(1, 5):
        a, b = _vec("a", k), _vec("b", k)
        terms = []
        for i in range(k):
            for j in range(k):
                same = i == j
                m_ww = "u**2*pi/(2*pi)" if same else "(u/sqrt(2*pi))**2"    # g(0) = pi
                m_ws = "u*s*g/(2*pi)" if same else "(u/sqrt(2*pi))*(s/sqrt(2*pi))"
                m_ss = "s**2*pi/(2*pi)" if same else "(s/sqrt(2*pi))**2"
                terms.append(f"{a[i]}*{a[j]}*{m_ww} - 2*{a[i]}*{b[j]}*{m_ws} + {b[i]}*{b[j]}*{m_ss}")
        expansion = "(" + " + ".join(terms) + ")/2"
        out.append(prove(f"expansion_k{k}", expansion, L1(k)))
        r = [f"(u*{ai} - s*{bi})" for ai, bi in zip(a, b)]
        l2 = f"((pi - 1)*{_dot(r, r)} + {_sum(r)}**2 + 2*u*s*(pi - g)*{_dot(a, b)})/(4*pi)"
        out.append(prove(f"l2_equals_l1_k{k}", l2, L1(k)))
    return out


def gradient():
    out = []
    for k in range(1, 4):
        a, b = _vec("a", k), _vec("b", k)
        L = L1(k, g=G_THETA)
        for i in range(k):
            Ma_i = f"((pi - 1)*{a[i]} + {_sum(a)})"
            out.append(prove(f"grad_a{i + 1}_k{k}", f"Derivative({L}, {a[i]})",
                             f"(u**2*{Ma_i} - u*s*(({G_THETA} - 1)*{b[i]} + {_sum(b)}))/(2*pi)"))
    for k in range(1, 4):
        a, b = _vec("a", k), _vec("b", k)
        L = L1(k, g=G_THETA)
        out.append(prove(f"grad_u_k{k}", f"Derivative({L}, u)",
                         f"(u*{_quadM(a)} - s*({_dot(a, b)}*({G_THETA} - 1) + {_sum(a)}*{_sum(b)}))/(2*pi)"))
        out.append(prove(f"grad_theta_k{k}", f"Derivative({L}, theta)",
                         f"-(u*s/(2*pi))*{_dot(a, b)}*Derivative({G_THETA}, theta)"))
        out.append(prove(f"riemannian_k{k}", f"-Derivative({L}, theta)/u",
                         f"-(s/(2*pi))*{_dot(a, b)}*(pi - theta)*sin(theta)"))
    return out


def critical():
    out = []
    for k in range(2, 5):
        a, b = _vec("a", k), _vec("b", k)
        A, S = _dot(b, b), _sum(b)
        sq = lambda xs: " + ".join(f"({x})**2" for x in xs)
        glob = _grad_a(k, [f"(s*{bi})" for bi in b], "pi")
        out.append(prove(f"global_k{k}", sq(glob), "0", glob))
        a_bar = [f"(s/(pi - 1)*(pi*{S}/({k} + pi - 1) - {bi}))" for bi in b]
        out.append(prove(f"spurious_k{k}", sq(_grad_a(k, a_bar, "0")), "0", _grad_a(k, a_bar, "0")))
        gs = _g_s(k)
        a_s = _a_of_g(k, gs)
        out.append(prove(f"saddle_dot_k{k}", _dot(a_s, b), "0"))
        out.append(prove(f"saddle_grad_k{k}", sq(_grad_a(k, a_s, gs)), "0", _grad_a(k, a_s, gs)))
        out.append(prove(f"existence_k{k}", f"{gs}*(({k} + pi - 1)*{A} - {S}**2)",
                         f"({k} + pi - 1)*{A} - pi*{S}**2"))
        pairs = " + ".join(f"({b[i]} - {b[j]})**2" for i in range(k) for j in range(i + 1, k))
        out.append(prove(f"denominator_k{k}", f"({k} + pi - 1)*{A} - {S}**2", f"(pi - 1)*{A} + {pairs}"))
        red = f"s**2*{_alpha(k)}/(4*pi)*(pi - g)*(pi + g - 2*{gs})"
        lhs = L1(k, u="1")
        for ai, e in zip(a, _a_of_g(k, "g")):
            lhs = lhs.replace(ai, f"[{ai}]")
        for ai, e in zip(a, _a_of_g(k, "g")):
            lhs = lhs.replace(f"[{ai}]", e)
        out.append(prove(f"reduced_loss_k{k}", lhs, red))
        c = f"s**2*{_alpha(k)}/(4*pi)"
        out.append(prove(f"barrier_k{k}", f"{c}*(pi - {gs})*(pi + {gs} - 2*{gs}) - {c}*pi*(pi - 2*{gs})",
                         f"{c}*{gs}**2"))
    out.append(prove("g_prime", f"Derivative({G_THETA}, theta)", "-(pi - theta)*sin(theta)"))
    return out


def hessian():
    out = []
    for k in range(1, 4):
        a, b = _vec("a", k), _vec("b", k)
        ell = L1(k, u="1", g=G_THETA)
        ab = _dot(a, b)
        out.append(prove(f"h_thth_k{k}", f"Derivative({ell}, (theta, 2))",
                         f"-(s/(2*pi))*(sin(theta) - (pi - theta)*cos(theta))*{ab}"))
        out.append(prove(f"h_tha_k{k}", f"Derivative({ell}, theta, a1)",
                         "(s/(2*pi))*(pi - theta)*sin(theta)*b1"))
        out.append(prove(f"h_aa_k{k}", f"Derivative({ell}, (a1, 2))", "pi/(2*pi)"))
        out.append(prove(f"perp_k{k}", f"Derivative({ell}, theta)*cos(theta)/sin(theta)",
                         f"(s/(2*pi))*(pi - theta)*cos(theta)*{ab}"))
    for k in range(1, 4):   # the chart entries at the optimum theta = 0, a = s a*
        b = _vec("b", k)
        c_opt = _dot([f"(s*{bi})" for bi in b], b)
        out.append(prove(f"opt_thth_k{k}", f"-(s/(2*pi))*(sin(0) - (pi - 0)*cos(0))*{c_opt}",
                         f"s**2*{_dot(b, b)}/2"))
        out.append(prove(f"opt_perp_k{k}", f"(s/(2*pi))*(pi - 0)*cos(0)*{c_opt}", f"s**2*{_dot(b, b)}/2"))
    out.append(prove("opt_cross", "(s/(2*pi))*(pi - 0)*sin(0)*b1", "0"))
    # M = (pi - 1) I + 1 1^T (k = 3): M 1 = (k + pi - 1) 1 and M (e1 - e2) = (pi - 1)(e1 - e2)
    out.append(prove("eig_ones", "(pi - 1)*1 + (1 + 1 + 1)", "(3 + pi - 1)*1"))
    out.append(prove("eig_diff", "(pi - 1)*1 + (1 - 1 + 0)", "(pi - 1)*1"))
    return out


BUILDERS = {"sym_moments": moments, "sym_loss": loss, "sym_gradient": gradient,
            "sym_critical": critical, "sym_hessian": hessian}
