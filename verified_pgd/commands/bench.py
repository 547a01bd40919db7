"""``vpgd bench``: the benchmark suite (bench/suite.py) — throughput of the full and reduced
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


def _import_suite():
    try:
        from bench import suite
        return suite
    except ImportError:
        pass
    # Editable install made before "bench" was listed in pyproject's packages: use the
    # source checkout next to this package, if there is one.
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    if (root / "bench" / "suite.py").is_file() and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from bench import suite
    return suite


def main(args) -> int:
    try:
        suite = _import_suite()
    except ImportError as exc:   # a copy installed without the bench package
        raise OSError(f"bench: the benchmark package is not installed ({exc}); run "
                      "'python -m bench' from a source checkout") from None
    return suite.run_from_args(args)
