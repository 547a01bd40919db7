"""The derived formulas as printable records (used by ``vpgd derive``), cached as JSON.

Each record is ``{"name", "meaning", "text", "latex"}``; vectors in the plane of w, w*
are written as coefficients on w_hat and w_hat*, matrices on
(I, w_hat w_hat^T, w_hat w_hat*^T, w_hat* w_hat^T, w_hat* w_hat*^T)
(see :mod:`symbolic.derivatives`).  ``checks`` records the comparisons with docs/design.md
(L1, L2, G) and with verified_pgd/formulas.py (Hessian blocks).
"""
from __future__ import annotations

import json

MATRIX_BASIS = ("I", "w_hat w_hat^T", "w_hat w_hat*^T", "w_hat* w_hat^T", "w_hat* w_hat*^T")


def _build(k: int) -> dict:
    import sympy as sp

    from . import derivatives as D
    from . import loss as Lm
    from . import moments as M

    records = []

    def tidy(e):
        # simplify() is slow on the k-term sums; expanding and pulling out common
        # factors is enough for display (the checks below decide correctness).
        return sp.factor_terms(sp.expand(e))

    def add(name, meaning, expr):
        e = tidy(expr) if not isinstance(expr, sp.Matrix) else expr.applyfunc(tidy)
        records.append({"name": name, "meaning": meaning, "text": sp.sstr(e),
                        "latex": sp.latex(e)})

    m = M.derived_moments()
    add("m1", "E relu(x.z), nx = |x|", m["m1"])
    add("m2", "E relu(x.z)^2", m["m2"])
    add("m11", "E relu(x.z) relu(y.z), phi = angle(x, y)", m["m11"])
    d = D.derived(k)
    L = sp.collect(sp.expand(d["L"]), [Lm.u ** 2, Lm.u * Lm.s, Lm.s ** 2])
    records.append({"name": "L", "meaning": f"1/2 E (f - f*)^2 for k = {k}",
                    "text": sp.sstr(L), "latex": sp.latex(L)})
    for i, g in enumerate(d["grad_a"], 1):
        add(f"dL/da{i}", "Euclidean gradient in a", g)
    add("grad_w", "Euclidean gradient in w: [coef of w_hat, coef of w_hat*]",
        sp.Matrix([d["grad_w"]]))
    beta = d["rgrad_w"][1]
    add("rgrad_w", "Riemannian gradient = (this) * (w_hat* - cos(theta) w_hat)", beta)
    add("H_aa", "Hessian block d2L/da2", sp.Matrix(d["H_aa"]))
    add("H_aw", "Hessian block d2L/da dw: row i = [coef of w_hat, coef of w_hat*]",
        sp.Matrix([list(v) for v in d["H_aw"]]))
    add("H_ww", "Hessian block d2L/dw2 on (" + ", ".join(MATRIX_BASIS) + ")",
        sp.Matrix([list(d["H_ww"])]))
    add("rH_ww", "Riemannian Hessian block on the sphere through w, same basis",
        sp.Matrix([list(d["rH_ww"])]))
    diffs = Lm.check_closed_forms(k)
    checks = {f"L - L1 (docs/design.md) = 0, k={k}": diffs["L1"] == 0,
              f"L - L2 (docs/design.md) = 0, k={k}": diffs["L2"] == 0}
    for name, ok in D.check_against_claims(k, derived_=d).items():
        checks[f"{name} = docs/design.md G / formulas.py"] = bool(ok)
    return {"k": k,
            "symbols": {"u": "|w|", "s": "|w*|", "theta": "angle(w, w*)",
                        "a1..ak": "output weights", "a_star1..a_stark": "teacher weights"},
            "formulas": records, "checks": checks}


def derivation_report(k: int = 2) -> dict:
    """The report for ``k`` (from the cache when available)."""
    from . import codegen
    from .loss import check_k
    check_k(k)

    def build():
        codegen.count_derivation(f"report k={k}")
        return json.dumps(_build(k), indent=1)

    return json.loads(codegen.read_or_build(f"derive_k{k}.json", build))
