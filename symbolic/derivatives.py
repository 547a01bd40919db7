"""Gradient and Hessian of the population loss, by differentiation.

Two routes, both starting from :func:`symbolic.loss.population_loss` (the loss expanded
with the derived moments, a function of u = |w|, s, theta and a, a*):

1. Chain rule in the plane of w and w* (any p).  L depends on w only through u and
   theta, so every w-derivative is a combination of the primitives

       grad u = w_hat,   d w_hat / dw = P / u  (P = I - w_hat w_hat^T),
       grad theta = -(w_hat* - cos(theta) w_hat) / (u sin(theta)),

   which :func:`check_primitives` derives for concrete p (2 and 3) by differentiating
   |w| and acos(w.w*/(|w||w*|)) componentwise.  Vectors are then coefficient pairs on
   (w_hat, w_hat*) and matrices coefficient tuples on
   (I, w_hat w_hat^T, w_hat w_hat*^T, w_hat* w_hat^T, w_hat* w_hat*^T); for p >= 3 and
   0 < theta < pi these five matrices are linearly independent, so two matrices are equal
   iff their coefficients are (p = 2 follows, being the same matrix expression).
   The gradient, its Riemannian projection and all Hessian blocks are derived this way
   and compared coefficient-wise with docs/design.md G and with the Hessian that
   verified_pgd/formulas.py implements (``claimed_*``).

2. Explicit coordinates for concrete (k, p) (:func:`explicit`): substitute
   u = sqrt(w.w), s = sqrt(w*.w*), theta = acos(w.w*/(u s)) and differentiate with
   respect to every component.  No claim enters this route; :mod:`symbolic.codegen`
   turns it into numpy/mpmath callables that tests compare with the numeric core.
"""
from __future__ import annotations

import sympy as sp

from . import loss as _loss
from .loss import s, theta, u

pi = sp.pi

# --------------------------------------------------------------------------- primitives


def w_symbols(p: int):
    """(w_1..w_p, w*_1..w*_p) as real symbols."""
    p = check_p(p)
    return (tuple(sp.symbols(f"w1:{p + 1}", real=True)),
            tuple(sp.symbols(f"w_star1:{p + 1}", real=True)))


def check_p(p, pmax=8):
    if isinstance(p, bool) or not isinstance(p, int):
        raise TypeError(f"p: expected an int, got {type(p).__name__}")
    if not 2 <= p <= pmax:
        raise ValueError(f"p: explicit coordinates support 2 <= p <= {pmax}, got {p} "
                         "(p = 1 has theta in {0, pi} only, where L is not smooth in w)")
    return p


def _dot(x, y):
    return sum(xi * yi for xi, yi in zip(x, y))


def coordinates(p: int):
    """u, s, theta and w_hat, w_hat* written through the components of w and w*."""
    w, ws = w_symbols(p)
    U = sp.sqrt(_dot(w, w))
    S = sp.sqrt(_dot(ws, ws))
    c = _dot(w, ws) / (U * S)
    return w, ws, U, S, sp.acos(c), c


def check_primitives(p: int) -> dict:
    """Differentiate |w|, w/|w| and acos(cos theta) for concrete p and return the
    differences to the chain-rule primitives used below (all should reduce to 0)."""
    w, ws, U, S, T, c = coordinates(p)
    w_hat = sp.Matrix([x / U for x in w])
    ws_hat = sp.Matrix([x / S for x in ws])
    wv = sp.Matrix(w)
    grad_u = sp.Matrix([sp.diff(U, x) for x in w])
    jac_w_hat = w_hat.jacobian(wv)
    grad_theta = sp.Matrix([sp.diff(T, x) for x in w])
    sin_t = sp.sqrt(1 - c ** 2)
    P = sp.eye(p) - w_hat * w_hat.T
    out = {
        "grad u": grad_u - w_hat,
        "d w_hat/dw": jac_w_hat - P / U,
        "grad theta": grad_theta + (ws_hat - c * w_hat) / (U * sin_t),
    }
    return {k: v.applyfunc(lambda e: sp.simplify(sp.radsimp(sp.together(e)))) for k, v in out.items()}


# --------------------------------------------------------------------------- plane calculus
# A vector is (x, y) meaning x w_hat + y w_hat*.  A matrix is a 5-tuple of coefficients on
# (I, w_hat w_hat^T, w_hat w_hat*^T, w_hat* w_hat^T, w_hat* w_hat*^T).

GRAD_U = (sp.Integer(1), sp.Integer(0))
GRAD_THETA = (sp.cos(theta) / (u * sp.sin(theta)), -1 / (u * sp.sin(theta)))


def grad_scalar(F):
    """grad_w of F(u, theta): F_u grad u + F_theta grad theta."""
    Fu, Ft = sp.diff(F, u), sp.diff(F, theta)
    return (Fu * GRAD_U[0] + Ft * GRAD_THETA[0], Fu * GRAD_U[1] + Ft * GRAD_THETA[1])


def outer(x, y):
    return (0, x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1])


def mat_add(*ms):
    return tuple(sum(col) for col in zip(*ms))


def mat_scale(c, m):
    return tuple(c * e for e in m)


P_MATRIX = (1, -1, 0, 0, 0)  # I - w_hat w_hat^T


def jacobian_field(V):
    """d/dw of the field alpha w_hat + beta w_hat* (alpha, beta functions of u, theta):
    w_hat (grad alpha)^T + alpha P / u + w_hat* (grad beta)^T."""
    alpha, beta = V
    return mat_add(outer((1, 0), grad_scalar(alpha)),
                   mat_scale(alpha / u, P_MATRIX),
                   outer((0, 1), grad_scalar(beta)))


def project(x):
    """P x: P w_hat = 0 and P w_hat* = w_hat* - cos(theta) w_hat."""
    return (-x[1] * sp.cos(theta), x[1])


def project_matrix(m):
    """P m P for m in the matrix basis."""
    cI, cww, cwws, cwsw, cwsws = m
    vecs = {1: ((1, 0), (1, 0)), 2: ((1, 0), (0, 1)), 3: ((0, 1), (1, 0)), 4: ((0, 1), (0, 1))}
    out = mat_scale(cI, P_MATRIX)
    for idx, coef in zip((1, 2, 3, 4), (cww, cwws, cwsw, cwsws)):
        x, y = vecs[idx]
        out = mat_add(out, mat_scale(coef, outer(project(x), project(y))))
    return out


def inner_w_hat(x):
    """w_hat . (x w_hat + y w_hat*)."""
    return x[0] + x[1] * sp.cos(theta)


# --------------------------------------------------------------------------- derived


def derived(k: int) -> dict:
    """Gradient and Hessian blocks of the derived loss, in the plane calculus.

    Keys: ``L``, ``a``, ``a_star``, ``grad_a`` (list), ``grad_w`` (vector),
    ``rgrad_w`` (vector, projected), ``H_aa`` (k x k list), ``H_aw`` (k vectors),
    ``H_ww`` (matrix), ``rH_ww``, ``rH_aw`` (Riemannian on the sphere of radius u:
    P H_ww P - (w_hat . grad_w L / u) P and P applied to the cross block).
    """
    L, a, a_star = _loss.population_loss(k)
    grad_a = [sp.diff(L, x) for x in a]
    grad_w = grad_scalar(L)
    H_aa = [[sp.diff(g, y) for y in a] for g in grad_a]
    H_aw = [grad_scalar(g) for g in grad_a]
    H_ww = jacobian_field(grad_w)
    radial = inner_w_hat(grad_w)
    rH_ww = mat_add(project_matrix(H_ww), mat_scale(-radial / u, P_MATRIX))
    return {"L": L, "a": a, "a_star": a_star, "grad_a": grad_a, "grad_w": grad_w,
            "rgrad_w": project(grad_w), "H_aa": H_aa, "H_aw": H_aw, "H_ww": H_ww,
            "rH_ww": rH_ww, "rH_aw": [project(v) for v in H_aw]}


# --------------------------------------------------------------------------- claims
# docs/design.md G and the Hessian of verified_pgd/formulas.py, restated in the plane calculus.
# They are the statements under test, not inputs to the derivation.


def claimed(k: int) -> dict:
    a, a_star = _loss.a_symbols(k)
    g = sp.sin(theta) + (pi - theta) * sp.cos(theta)
    Delta = pi - g
    cos_t, sin_t = sp.cos(theta), sp.sin(theta)

    def M(x):
        return [(pi - 1) * xi + sum(x) for xi in x]

    aMa = _dot(a, M(a))
    aa = _dot(a, a_star)
    one_a, one_as = sum(a), sum(a_star)
    r = [u * x - s * y for x, y in zip(a, a_star)]
    Ma, Mr = M(a), M(r)
    grad_a = [(u ** 2 * Ma[i] - u * s * ((g - 1) * a_star[i] + one_as)) / (2 * pi) for i in range(k)]
    # (1/2pi)[(a^T M a) w - s((a.a*)(sin w_hat + (pi - theta) w_hat* - w_hat) + (1.a)(1.a*) w_hat)]
    grad_w = ((u * aMa - s * (aa * (sin_t - 1) + one_a * one_as)) / (2 * pi),
              -s * aa * (pi - theta) / (2 * pi))
    t = (-cos_t, sp.Integer(1))  # w_hat* - cos(theta) w_hat
    rgrad_w = tuple(-s * aa * (pi - theta) / (2 * pi) * x for x in t)
    H_aa = [[u ** 2 * ((pi - 1) * int(i == j) + 1) / (2 * pi) for j in range(k)] for i in range(k)]
    cross = [tuple(-s * (pi - theta) / (2 * pi) * a_star[i] * x for x in t) for i in range(k)]
    H_aw = [(cross[i][0] + (u * Ma[i] + Mr[i] + s * Delta * a_star[i]) / (2 * pi), cross[i][1])
            for i in range(k)]
    coef_P = (s * aa * (sin_t - 1) + s * one_a * one_as) / u
    H_ww = mat_scale(1 / (2 * pi), mat_add(
        (aMa, 0, 0, 0, 0),
        mat_scale(-s * aa / (u * sin_t), outer(t, t)),
        mat_scale(-coef_P, P_MATRIX)))
    radial = (_dot(a, Mr) + s * Delta * aa) / (2 * pi)
    rH_ww = mat_add(project_matrix(H_ww), mat_scale(-radial / u, P_MATRIX))
    return {"grad_a": grad_a, "grad_w": grad_w, "rgrad_w": rgrad_w, "H_aa": H_aa,
            "H_aw": H_aw, "H_ww": H_ww, "rH_ww": rH_ww, "rH_aw": cross}


def _flatten(x):
    if isinstance(x, (list, tuple)):
        for e in x:
            yield from _flatten(e)
    else:
        yield x


def _reduces_to_zero(e) -> bool:
    e = sp.expand(e)
    if e == 0:
        return True
    return sp.simplify(sp.trigsimp(e)) == 0


def check_against_claims(k: int, derived_: dict | None = None, claims: dict | None = None) -> dict:
    """{name: True/False}: does each derived block equal the claimed one?

    ``claims`` defaults to :func:`claimed`; tests pass tampered claims (negative controls).
    """
    d = derived(k) if derived_ is None else derived_
    c = claimed(k) if claims is None else claims
    out = {}
    for name in ("grad_a", "grad_w", "rgrad_w", "H_aa", "H_aw", "H_ww", "rH_ww", "rH_aw"):
        diffs = [x - y for x, y in zip(_flatten(d[name]), _flatten(c[name]))]
        out[name] = all(_reduces_to_zero(e) for e in diffs)
    return out


# --------------------------------------------------------------------------- explicit


def explicit(k: int, p: int) -> dict:
    """Loss, gradient, Riemannian gradient and Hessian in explicit coordinates.

    Arguments (in this order) of every expression: w*_1..w*_p, a*_1..a*_k, w_1..w_p,
    a_1..a_k.  theta enters as acos(w.w*/(|w||w*|)) and is differentiated as such.
    """
    L, a, a_star = _loss.population_loss(k)
    w, ws, U, S, T, _ = coordinates(p)
    Lx = L.subs({u: U, s: S, theta: T}, simultaneous=True)
    gw = [sp.diff(Lx, x) for x in w]
    ga = [sp.diff(Lx, x) for x in a]
    w_hat = [x / U for x in w]
    radial = _dot(w_hat, gw)
    rgw = [g - radial * wh for g, wh in zip(gw, w_hat)]
    variables = list(w) + list(a)
    grads = gw + ga
    n = len(variables)
    H = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            H[i][j] = H[j][i] = sp.diff(grads[i], variables[j])
    args = list(ws) + list(a_star) + list(w) + list(a)
    return {"args": args, "loss": Lx, "grad_w": gw, "grad_a": ga, "rgrad_w": rgw, "hessian": H}
