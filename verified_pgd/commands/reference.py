"""vpgd reference: high-precision loss, gradient, Hessian and critical points -> JSON."""
from __future__ import annotations

HELP = "high-precision loss, gradient, Hessian and critical points at (w, a), as JSON"
DESCRIPTION = (
    "Evaluate L, grad L and the Hessian at (w, a) with mpmath at --dps decimal digits and "
    "list the critical points (global minimum, spurious minimum, saddle) and the barrier "
    "of the weight-normalized problem. All numbers are decimal strings. Inputs are read "
    "as decimal strings, so '0.1' means exactly one tenth.")


def add_arguments(parser):
    parser.add_argument("--w", required=True, metavar="X,Y,...",
                        help="filter w (p numbers; write --w=-1,0 when the first is negative)")
    parser.add_argument("--a", required=True, metavar="X,Y,...", help="output weights a (k numbers)")
    parser.add_argument("--problem", metavar="FILE",
                        help="TOML file with a [problem] table (default: Problem.default())")
    parser.add_argument("--dps", type=int, default=50, help="decimal digits (default 50, >= 15)")
    parser.add_argument("--riemannian", action="store_true",
                        help="also the Riemannian gradient and Hessian on the sphere through w")
    parser.add_argument("--out", metavar="FILE", help="write the JSON here (atomically)")


def _decimals(text, flag):
    import mpmath
    items = [x.strip() for x in text.split(",")]
    for x in items:
        try:
            v = mpmath.mpf(x)
        except (ValueError, TypeError):
            raise ValueError(f"{flag}: {x!r} is not a decimal number") from None
        if not mpmath.isfinite(v):
            raise ValueError(f"{flag}: contains NaN or inf")
    return items


def main(args) -> int:
    import json
    import sys
    import mpmath
    import numpy as np
    import verified_pgd as vp
    from .. import config as cfg
    from .. import theory
    from .._io import read_toml
    from .._validate import check_dps, check_dps_cap
    from ..store import atomic_write
    dps = check_dps_cap(check_dps(args.dps), "--dps")
    if args.out:
        from .._io import check_output
        check_output(args.out, "--out", {"--problem": args.problem})
    if args.problem:
        raw = read_toml(args.problem, "--problem")
        if not isinstance(raw.get("problem"), dict):
            raise ValueError(f"--problem: {args.problem} has no [problem] table")
        problem = cfg.build_problem(cfg.problem_spec(raw["problem"]))
    else:
        problem = vp.Problem.default()
    w = _decimals(args.w, "--w")
    a = _decimals(args.a, "--a")

    def s(x):
        return mpmath.nstr(x, dps)   # dps significant digits, independent of mp.dps

    def vec(v):
        return [s(x) for x in v]

    g_w, g_a = vp.grad_mp(problem, w, a, dps=dps)
    H = vp.hessian_mp(problem, w, a, dps=dps)
    th = vp.theta_mp(problem, w, dps=dps)
    doc = {"dps": dps, "problem": problem.to_dict(), "w": w, "a": a,
           "theta": s(th), "loss": s(vp.loss_mp(problem, w, a, dps=dps)),
           "gradient": {"w": vec(g_w), "a": vec(g_a)},
           "hessian": [vec(row) for row in np.asarray(H)]}
    if args.riemannian:
        rg_w, rg_a = vp.grad_mp(problem, w, a, dps=dps, riemannian=True)
        rH = vp.hessian_mp(problem, w, a, dps=dps, riemannian=True)
        doc["riemannian"] = {"gradient": {"w": vec(rg_w), "a": vec(rg_a)},
                             "hessian": [vec(row) for row in np.asarray(rH)]}
    crit = {"global": theory.global_minimum(problem, dps=dps)}
    spurious = theory.has_spurious_minimum(problem)
    if spurious:
        crit["spurious"] = theory.spurious_minimum(problem, dps=dps)
        crit["saddle"] = theory.saddle(problem, dps=dps)
    doc["critical_points"] = {name: {"w": vec(c.w), "a": vec(c.a), "theta": s(c.theta),
                                     "loss": s(c.loss)} for name, c in crit.items()}
    doc["spurious_minimum_exists"] = bool(spurious)
    doc["barrier"] = s(theory.barrier(problem, dps=dps)) if spurious else None
    text = json.dumps(doc, indent=1) + "\n"
    if args.out:
        atomic_write(args.out, text)
    else:
        sys.stdout.write(text)
    return 0
