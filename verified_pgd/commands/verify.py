"""``vpgd verify``: check the closed forms by quadrature, Monte Carlo and finite differences.

Exit 0 when every check passes, 1 when one fails (also what ``--inject-fault`` must
produce), 2 for a user error.
"""
from __future__ import annotations

HELP = "verify the closed forms by quadrature, Monte Carlo and finite differences"
DESCRIPTION = (
    "Verify the derived moments, the loss, its gradients and Hessian against three "
    "independent computations (mpmath quadrature, Monte Carlo with sampled inputs, "
    "60-digit finite differences) and print a table; exit 0 only if every check passes. "
    "--inject-fault runs the same checks on a deliberately wrong implementation, which "
    "must fail (exit 1). See docs/verification.md.")


def add_arguments(parser) -> None:
    from ..verification.faults import FAULTS
    parser.add_argument("--quick", action="store_true",
                        help="fewer points and samples (a few seconds)")
    parser.add_argument("--inject-fault", metavar="NAME", default=None,
                        help="negative control: one of " + ", ".join(sorted(FAULTS)))
    parser.add_argument("--solvers", action="store_true",
                        help="run the solver cross-validation instead (verified_pgd.crossval)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--junit-xml", metavar="FILE",
                        help="also write the results as JUnit XML (one testcase per check)")


def _solver_checks(quick):
    import importlib

    from ..cli import UserError
    try:
        crossval = importlib.import_module("verified_pgd.crossval")
    except ImportError as exc:
        if getattr(exc, "name", None) not in (None, "verified_pgd.crossval"):
            raise
        raise UserError("--solvers: the solver cross-validation (verified_pgd.crossval) "
                        "is not available in this installation") from None
    return crossval.solver_checks(quick=quick)


def main(args) -> int:
    import json
    import time

    from .. import junit
    from ..checks import format_table
    from ..verification import run_all, validate_fault

    fault = validate_fault(args.inject_fault)
    if args.junit_xml is not None:
        junit.validate_path(args.junit_xml)
    t0 = time.perf_counter()
    if args.solvers:
        if fault is not None:
            raise ValueError("--inject-fault: applies to the closed-form checks, "
                             "not to --solvers")
        rows = _solver_checks(args.quick)
    else:
        rows = run_all(fault=fault, quick=args.quick)
    passed = all(r.passed for r in rows)
    if args.junit_xml is not None:
        suite = "vpgd verify" + (" --solvers" if args.solvers else "") + (
            f" --inject-fault {fault}" if fault else "")
        classname = "vpgd.verify.solvers" if args.solvers else "vpgd.verify"
        junit.write(args.junit_xml, suite, junit.check_cases(rows, classname),
                    time.perf_counter() - t0)
    if args.json:
        print(json.dumps({"passed": passed, "fault": fault, "quick": bool(args.quick),
                          "solvers": bool(args.solvers),
                          "checks": [r.to_dict() for r in rows]}, indent=2))
    else:
        title = "solver cross-validation" if args.solvers else "closed-form verification"
        if fault:
            title += f" with injected fault {fault!r} (negative control: must FAIL)"
        print(title)
        print(format_table(rows))
        failed = [r.check for r in rows if not r.passed]
        print(f"\n{len(rows) - len(failed)}/{len(rows)} checks passed"
              + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 0 if passed else 1
