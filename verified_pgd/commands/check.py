"""``vpgd check``: re-verify certificates with the independent checker."""
from __future__ import annotations

HELP = "re-verify certificates written by `vpgd prove` (independent exact/arb checker)"
DESCRIPTION = ("Re-verify the certificate set in directory PATH (its manifest, every lemma the checker "
               "requires for each problem, no stray files), or the single certificate file PATH, with "
               "proofs_check.checker, which imports nothing from the prover. Prints per problem which "
               "lemmas hold. Exit 0 when all hold, 1 when one is invalid or missing, 2 when an input "
               "is unusable (not a regular file, unreadable).")


def add_arguments(parser):
    parser.add_argument("path", metavar="PATH", help="a certificate directory (set) or one certificate file")
    parser.add_argument("--junit-xml", metavar="FILE",
                        help="also write the results as JUnit XML (one testcase per required lemma "
                             "of each problem, and one per rejected file)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (drawn on stderr only when it is a terminal)")


def _set_cases(res):
    """JUnit cases of a set: each problem's required lemmas, then files rejected outside them."""
    from verified_pgd import junit
    msg = {f.name: f.message for f in res.files}
    cases, named = [], set()
    for r in res.problems:
        cls = f"vpgd.check.{r.problem}"
        for k in r.holds:
            cases.append(junit.Case(cls, k))
        for k in r.fails:
            m = msg.get(f"{r.problem}.{k}.json", "invalid certificate")
            cases.append(junit.Case(cls, k, "failure", message=m.splitlines()[0] if m else "",
                                    text=m, kind="certificate rejected"))
        for k in r.missing:
            cases.append(junit.Case(cls, k, "failure", message=f"missing: {r.problem}.{k}.json",
                                    kind="certificate missing"))
        named |= {f"{r.problem}.{k}.json" for k in r.holds + r.fails + r.missing}
    for f in res.files:
        if f.code and f.name not in named:
            cases.append(junit.Case("vpgd.check.files", f.name, "failure" if f.code == 1 else "error",
                                    message=f.message.splitlines()[0] if f.message else "",
                                    text=f.message, kind="file rejected"))
    return cases


def main(args) -> int:
    import os
    import time

    from proofs_check import checker
    from verified_pgd import junit, progress
    if args.junit_xml is not None:
        junit.validate_path(args.junit_xml)
    path = args.path
    t0 = time.perf_counter()
    if os.path.isdir(path):
        with progress.bar(desc="vpgd check", unit="cert", quiet=args.quiet) as b:
            def tick(name, total):
                b.total = total
                b.update(1)
            res = checker.check_set(path, on_file=tick)
        elapsed = time.perf_counter() - t0
        if args.junit_xml is not None:
            junit.write(args.junit_xml, "vpgd check", _set_cases(res), elapsed)
        print("\n".join(checker.format_set(res)))
        held = sum(len(r.holds) for r in res.problems)
        total = held + sum(len(r.fails) + len(r.missing) for r in res.problems)
        print(f"{held}/{total} required lemmas hold ({elapsed:.1f} s)")
        return res.code
    if not os.path.lexists(path):
        raise ValueError(f"path: {path} does not exist")
    ok, kind, msg = checker.check_file(path)
    elapsed = time.perf_counter() - t0
    if args.junit_xml is not None:
        case = (junit.Case("vpgd.check", os.path.basename(path), time=elapsed) if ok else
                junit.Case("vpgd.check", os.path.basename(path), "failure",
                           message=msg.splitlines()[0] if msg else "", text=msg,
                           kind="certificate rejected", time=elapsed))
        junit.write(args.junit_xml, "vpgd check", [case], elapsed)
    print(f"{'HOLDS' if ok else 'REJECTED'} {path} ({kind}): {msg}")
    print("(a single certificate: which lemmas a set requires is checked only for a directory)")
    if ok:
        return 0
    cert, err = checker.load(path)
    return err[0] if err else 1
