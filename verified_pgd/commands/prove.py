"""``vpgd prove``: write landscape certificates (symbolic identities and arb bounds)."""
from __future__ import annotations

HELP = "write certificates of the landscape (critical points, barrier, Hessian, smoothness, basin)"
DESCRIPTION = ("Write one JSON certificate per lemma for the default problem (or --problem FILE), "
               "a few random problems and the problem-independent symbolic identities, and the set's "
               "manifest.json (its problems' exact teacher data). "
               "Re-check them with `vpgd check DIR`.")


MAX_RANDOM = 100


def add_arguments(parser):
    parser.add_argument("--problem", metavar="FILE",
                        help="TOML or JSON file with w_star and a_star (top level or a [problem] table)")
    parser.add_argument("--out", metavar="DIR", required=True, help="directory to write certificates to")
    parser.add_argument("--random", type=int, default=2, metavar="N",
                        help="number of random problems to certify as well (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random problems (default 0)")
    parser.add_argument("--no-symbolic", action="store_true",
                        help="skip the problem-independent symbolic certificates (the set is then "
                             "incomplete: `vpgd check` names them missing until symbolic.*.json are copied in)")
    parser.add_argument("--digits", type=int, default=30,
                        help="significant digits of every enclosure (20..60, default 30)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (drawn on stderr only when it is a terminal)")


def load_problem(path):
    """A Problem from a TOML or JSON file (validated by Problem)."""
    from verified_pgd._io import read_document
    from verified_pgd.problem import Problem
    data = read_document(path, "problem")
    if isinstance(data, dict) and "problem" in data:
        data = data["problem"]
    return Problem.from_dict(data)


def main(args) -> int:
    import time

    from verified_pgd._validate import check_int
    check_int(args.random, "random", minimum=0)
    if args.random > MAX_RANDOM:
        raise ValueError(f"random: must be <= {MAX_RANDOM} (each random problem is a full set "
                         f"of certificates), got {args.random}")
    digits = check_int(args.digits, "digits", minimum=20)
    if digits > 60:
        raise ValueError(f"digits: must be <= 60, got {digits}")
    problem = load_problem(args.problem) if args.problem else None
    if problem is not None and problem.p < 2:
        raise ValueError("problem: p = 1 has no sphere to certify on; the certificates need p >= 2")
    from proofs_check import ball_certs, prover
    from verified_pgd import progress
    t0 = time.perf_counter()
    bar = progress.bar(total=1 + args.random + (not args.no_symbolic), desc="vpgd prove",
                       unit="part", quiet=args.quiet)

    def done(name):
        bar.set_postfix_str(name, refresh=False)
        bar.update(1)
    try:
        with bar:
            paths = prover.prove_all(args.out, problem=problem, n_random=args.random,
                                     seed=args.seed, digits=digits,
                                     symbolic=not args.no_symbolic, on_done=done)
    except ball_certs.ProofError as exc:   # not a user error: the prover could not close a proof
        print(f"vpgd prove: could not certify: {exc}")
        return 1
    for p in paths:
        print(p)
    print(f"wrote {len(paths)} certificates in {time.perf_counter() - t0:.1f} s; "
          f"verify with: vpgd check {args.out}")
    return 0
