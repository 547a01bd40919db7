"""``vpgd bench``: the benchmark suite (verified_pgd/bench/suite.py) — throughput of the full and reduced
solvers against a PyTorch baseline and the RNG bound, high-precision steps/s, derivation
and certification times, with the issue's targets as PASS/MISS ratios."""
from __future__ import annotations

HELP = "measure solver throughput, RNG bound, high precision, derivation/certification times"


def add_arguments(parser):
    parser.add_argument("--quick", action="store_true",
                        help="M = 512 chains and shorter timings (about a minute)")
    parser.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")
    parser.add_argument("--only", metavar="SECTION", action="append",
                        choices=("throughput", "rng", "hp", "derive", "certify", "solvers"),
                        help="run only these sections (repeatable)")


def main(args) -> int:
    from ..bench import suite
    return suite.run_from_args(args)
