"""vpgd claims: check user-stated claims (TOML) at every point of their grid."""
from __future__ import annotations

HELP = "check claims files (TOML): holds / violated per grid point, smallest constant"
DESCRIPTION = (
    "Check each [[claim]] of the given TOML files (format: docs/claims.md) at every point of "
    "its parameter grid. Deterministic quantities (barrier, smoothness, ...) are checked with "
    "arb enclosures of the closed forms (or mpmath at 50 digits where stated); statistical "
    "ones (steps_to_eps, escape_time, success_probability) by PGD runs and Clopper-Pearson "
    "intervals at the claim's confidence. Prints per point: holds / violated / undecided, "
    "the confidence, and the smallest (or largest) value of the fitted constant consistent "
    "with the data. All files are parsed before anything runs. Exit code: 0 if every point "
    "holds, 1 if any is violated or undecided, 2 for a malformed file.")


def add_arguments(parser):
    parser.add_argument("files", nargs="+", metavar="FILE", help="claims files (TOML)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--chains", type=int, metavar="N",
                        help="override every statistical claim's chain count")
    parser.add_argument("--junit-xml", metavar="FILE",
                        help="also write the results as JUnit XML (one testcase per grid "
                             "point; undecided is a failure, as in the exit code)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (drawn on stderr only when it is a terminal)")


def _fmt(x):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def main(args) -> int:
    import dataclasses
    import json
    import time

    from .. import junit, progress
    from ..claim_points import check_point, claim_points
    from ..claims import load_claims
    if args.junit_xml is not None:
        junit.validate_path(args.junit_xml)
    t_start = time.perf_counter()
    claims = []
    for f in args.files:
        claims.extend(load_claims(f))          # ClaimError (ValueError) -> exit 2
    if args.chains is not None:
        if not 1 <= args.chains <= 100_000:     # the same range as a claim's own chains
            raise ValueError(f"--chains: must be an integer in [1, 100000], got {args.chains}")
        claims = [dataclasses.replace(c, chains=args.chains) for c in claims]
    results, times = [], []
    points = claim_points(claims)       # one at a time: the same verdicts as check_claim
    for cp in progress.iterate(points, desc="vpgd claims", unit="point", quiet=args.quiet,
                               label=lambda cp: f"{cp.claim.name[:40]} [{cp.label}]"):
        t0 = time.perf_counter()
        results.append(check_point(cp))
        times.append(time.perf_counter() - t0)
    if args.junit_xml is not None:
        junit.write(args.junit_xml, "vpgd claims", junit.claim_cases(results, times),
                    time.perf_counter() - t_start)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        for r in results:
            pt = ", ".join(f"{k}={_fmt(v)}" for k, v in r.point.items()) or "-"
            lim = "-" if r.limit is None else (
                f"{r.fit} {'>=' if r.limit_kind == 'min' else '<='} {_fmt(r.limit)}")
            print(f"{r.verdict.upper():9s} {r.claim} [{pt}]: {r.quantity} {r.relation} "
                  f"{_fmt(r.bound)}; value in [{_fmt(r.value[0])}, {_fmt(r.value[1])}] "
                  f"({r.method}, confidence {r.confidence:g}); consistent constant: {lim}; "
                  f"{r.note}")
        n_hold = sum(r.verdict == "holds" for r in results)
        n_bad = sum(r.verdict == "violated" for r in results)
        print(f"{n_hold} hold, {n_bad} violated, {len(results) - n_hold - n_bad} undecided "
              f"({len(results)} grid points, {len(claims)} claims)")
    return 0 if all(r.verdict == "holds" for r in results) else 1
