"""``vpgd check``: re-verify certificates with the independent checker."""
from __future__ import annotations

HELP = "re-verify certificates written by `vpgd prove` (independent arb checker)"
DESCRIPTION = ("Re-verify every certificate (*.json) in PATH, or the single file PATH, with "
               "proofs_check.checker, which imports nothing from the prover. Exit 0 when all hold, "
               "1 otherwise.")


def add_arguments(parser):
    parser.add_argument("path", metavar="PATH", help="a certificate file or a directory of them")
    parser.add_argument("--junit-xml", metavar="FILE",
                        help="also write the results as JUnit XML (one testcase per certificate)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (drawn on stderr only when it is a terminal)")


def main(args) -> int:
    import time
    from pathlib import Path

    from proofs_check import checker
    from verified_pgd import junit, progress
    from verified_pgd.checks import CheckResult, format_table
    if args.junit_xml is not None:
        junit.validate_path(args.junit_xml)
    t_start = time.perf_counter()
    path = Path(args.path)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
    elif path.is_file():
        files = [path]
    else:
        raise ValueError(f"path: {args.path} does not exist")
    if not files:
        raise ValueError(f"path: no certificates (*.json) in {args.path}")
    rows, times = [], []
    for f in progress.iterate(files, desc="vpgd check", unit="cert", quiet=args.quiet):
        t0 = time.perf_counter()
        ok, kind, msg = checker.check_file(str(f))
        dt = time.perf_counter() - t0
        times.append(dt)
        rows.append(CheckResult(check=f.name, method=f"arb re-check ({kind})", points=1,
                                max_error=dt, tolerance=5.0, passed=ok, detail=msg))
    if args.junit_xml is not None:
        junit.write(args.junit_xml, "vpgd check", junit.check_cases(
            rows, "vpgd.check", times=times, numbers=False), time.perf_counter() - t_start)
    print(format_table(rows))
    print(f"\n(max error column: seconds to re-check; target 5 s.) "
          f"{sum(r.passed for r in rows)}/{len(rows)} certificates hold")
    return 0 if all(r.passed for r in rows) else 1
