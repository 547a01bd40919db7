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


def main(args) -> int:
    import os
    import time

    from proofs_check import checker
    path = args.path
    t0 = time.perf_counter()
    if os.path.isdir(path):
        res = checker.check_set(path)
        print("\n".join(checker.format_set(res)))
        held = sum(len(r.holds) for r in res.problems)
        total = held + sum(len(r.fails) + len(r.missing) for r in res.problems)
        print(f"{held}/{total} required lemmas hold ({time.perf_counter() - t0:.1f} s)")
        return res.code
    if not os.path.lexists(path):
        raise ValueError(f"path: {path} does not exist")
    ok, kind, msg = checker.check_file(path)
    print(f"{'HOLDS' if ok else 'REJECTED'} {path} ({kind}): {msg}")
    print("(a single certificate: which lemmas a set requires is checked only for a directory)")
    if ok:
        return 0
    cert, err = checker.load(path)
    return err[0] if err else 1
