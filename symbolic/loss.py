"""The population loss for concrete k, built from the derived moments.

    L = 1/2 E (f(Z; w, a) - f(Z; w*, a*))^2,   f(Z; w, a) = sum_j a_j relu(w . Z_j)

Expanding the square gives sums of a_i a_j E[relu(w.Z_i) relu(w.Z_j)] and the like.
The patches Z_i, Z_j (i != j) are independent, so a product over different patches
factorises into first moments; on the same patch it is a second moment with the angle
between the two filters (0 for w with itself, theta for w with w*):

    same filter,  i == j:  m2(u)            i != j:  m1(u)^2
    w with w*,    i == j:  m11(u, s, theta)  i != j:  m1(u) m1(s)
    w* with w*,   i == j:  m2(s)            i != j:  m1(s)^2

Variables: u = |w|, s = |w*|, theta = angle(w, w*), a_1..a_k, a*_1..a*_k.
``closed_form_l1`` and ``closed_form_l2`` state docs/design.md's general-k claims; they are
not used to build anything, only compared with the expansion (``check_closed_forms``).
"""
from __future__ import annotations

import sympy as sp

from . import moments as _moments

u = sp.Symbol("u", positive=True)
s = sp.Symbol("s", positive=True)
theta = sp.Symbol("theta", nonnegative=True)


def a_symbols(k: int):
    """(a_1..a_k, a*_1..a*_k) as real sympy symbols."""
    k = check_k(k)
    a = sp.symbols(f"a1:{k + 1}", real=True)
    a_star = sp.symbols(f"a_star1:{k + 1}", real=True)
    return tuple(a), tuple(a_star)


def check_k(k, kmax=8):
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"k: expected an int, got {type(k).__name__}")
    if not 1 <= k <= kmax:
        raise ValueError(f"k: symbolic expansion supports 1 <= k <= {kmax}, got {k}")
    return k


def _moment_table(fault=None):
    m = _moments.moments(fault=fault)
    nx, ny, phi = _moments.nx, _moments.ny, _moments.phi
    m1 = lambda x: m["m1"].subs(nx, x)                              # noqa: E731
    m2 = lambda x: m["m2"].subs(nx, x)                              # noqa: E731
    m11 = lambda x, y, ang: m["m11"].subs({nx: x, ny: y, phi: ang}, simultaneous=True)  # noqa: E731
    return m1, m2, m11


def population_loss(k: int, fault=None):
    """1/2 E (f - f*)^2 for concrete k, expanded with the derived moments.

    Returns ``(L, a, a_star)``: an expression in ``u, s, theta`` and the returned
    symbols.  ``fault="kernel-pi"`` uses the faulty moment (negative control).
    """
    a, a_star = a_symbols(k)
    m1, m2, m11 = _moment_table(fault)

    ww = sum(a[i] * a[j] * (m2(u) if i == j else m1(u) ** 2) for i in range(k) for j in range(k))
    wt = sum(a[i] * a_star[j] * (m11(u, s, theta) if i == j else m1(u) * m1(s))
             for i in range(k) for j in range(k))
    tt = sum(a_star[i] * a_star[j] * (m2(s) if i == j else m1(s) ** 2)
             for i in range(k) for j in range(k))
    L = sp.Rational(1, 2) * (ww - 2 * wt + tt)
    return sp.expand(L), a, a_star


def _g(t):
    return sp.sin(t) + (sp.pi - t) * sp.cos(t)


def _M_quadratic(x, y):
    """x^T M y with M = (pi - 1) I + 1 1^T."""
    return (sp.pi - 1) * sum(xi * yi for xi, yi in zip(x, y)) + sum(x) * sum(y)


def closed_form_l1(k: int):
    """docs/design.md L1 (the claim), in the symbols of :func:`a_symbols`."""
    a, a_star = a_symbols(k)
    ada = sum(x * y for x, y in zip(a, a_star))
    return (u ** 2 * _M_quadratic(a, a)
            - 2 * u * s * ((_g(theta) - 1) * ada + sum(a) * sum(a_star))
            + s ** 2 * _M_quadratic(a_star, a_star)) / (4 * sp.pi)


def closed_form_l2(k: int):
    """docs/design.md L2 (the claim): the cancellation-free arrangement of L1."""
    a, a_star = a_symbols(k)
    r = [u * x - s * y for x, y in zip(a, a_star)]
    ada = sum(x * y for x, y in zip(a, a_star))
    return ((sp.pi - 1) * sum(x * x for x in r) + sum(r) ** 2
            + 2 * u * s * (sp.pi - _g(theta)) * ada) / (4 * sp.pi)


def is_zero(expr) -> bool:
    """True when sympy reduces ``expr`` to 0 (expand, then simplify if needed)."""
    e = sp.expand(expr)
    if e == 0:
        return True
    return sp.simplify(e) == 0


def check_closed_forms(k: int, fault=None) -> dict:
    """Differences (expanded) between the derived loss and L1, L2 for concrete k."""
    L, _, _ = population_loss(k, fault=fault)
    return {"L1": sp.simplify(sp.expand(L - closed_form_l1(k))),
            "L2": sp.simplify(sp.expand(L - closed_form_l2(k)))}
