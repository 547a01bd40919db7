"""``vpgd derive``: print the formulas the symbolic module derives (from its cache)."""
from __future__ import annotations

import json

HELP = "print the derived moments, loss, gradients and Hessian blocks (text, LaTeX or JSON)"
DESCRIPTION = (
    "Print what symbolic/ derives from the Gaussian integrals: the ReLU moments, the "
    "population loss for k patches, its Euclidean and Riemannian gradients and the Hessian "
    "blocks, plus the symbolic checks against docs/design.md's closed forms (L1, L2, G) and the "
    "Hessian of verified_pgd/formulas.py. Vectors in w are written on (w_hat, w_hat*). "
    "The first run derives (seconds) and caches in $VPGD_CACHE_DIR or ~/.cache/verified_pgd.")


def add_arguments(parser):
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print LaTeX")
    fmt.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--k", type=int, default=2, metavar="K",
                        help="number of patches for the loss and its derivatives (1..8, default 2)")


def main(args) -> int:
    from symbolic.report import derivation_report
    report = derivation_report(args.k)
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.latex:
        for rec in report["formulas"]:
            print(f"% {rec['name']}: {rec['meaning']}")
            print(f"{rec['latex']} \\\\")
        for name, ok in report["checks"].items():
            print(f"% check {name}: {'yes' if ok else 'NO'}")
    else:
        print(f"Derived formulas (k = {report['k']}); u = |w|, s = |w*|, theta = angle(w, w*)")
        for rec in report["formulas"]:
            print(f"\n{rec['name']}  [{rec['meaning']}]\n  {rec['text']}")
        print("\nSymbolic checks:")
        for name, ok in report["checks"].items():
            print(f"  {'yes' if ok else 'NO '}  {name}")
    return 0 if all(report["checks"].values()) else 1
