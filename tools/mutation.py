"""Mutation testing of verified_pgd with mutmut 3.x (docs/testing.md).  Not part of CI.

    python -m tools.mutation                       # every target module, whole test suite
    python -m tools.mutation formulas rng schedule # a focused run: those modules, their tests
    python -m tools.mutation --max-children 2 formulas
    python -m tools.mutation solvers --files verified_pgd/solver/api.py --tests tests/test_x.py
    python -m tools.mutation claims --sample 0.25  # a seeded quarter of the mutants
    python -m tools.mutation claims --resume       # go on after a stopped run
    mutmut results / mutmut show NAME              # afterwards: survivors, one mutant's diff

mutmut copies ``verified_pgd/`` (and ``tests/``, ``pyproject.toml``, the ``also_copy``
directories) into ``./mutants``, rewrites each function of a target module into a
trampoline over its mutated variants, runs the selected tests once to learn which tests
reach which function, then runs, for each mutant, only those tests.  The configuration
is ``[tool.mutmut]`` in pyproject.toml; this script narrows its ``only_mutate`` and the
test selection for a focused run (the machine has 2 cores), and filters mutmut's mutant
list to the named modules' mutants (optionally a seeded sample, or those without a result).
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

# Module -> (source glob, tests that exercise it).  The tests are the fast, direct ones;
# the full suite also reaches the module through slower end-to-end tests.
TARGETS = {
    "formulas": ("verified_pgd/formulas.py",
                 ["tests/test_accuracy.py", "tests/test_symbolic.py", "tests/test_core_smoke.py",
                  "tests/test_blindspots_formulas.py"]),
    "backends": ("verified_pgd/backends.py",
                 ["tests/test_accuracy.py", "tests/test_blindspots_formulas.py",
                  "tests/test_blindspots_solver.py", "tests/test_mutants_backends.py"]),
    "rng": ("verified_pgd/solver/rng.py",
            ["tests/test_blindspots_rng.py", "tests/test_blindspots_solver.py"]),
    "schedule": ("verified_pgd/solver/schedule.py",
                 ["tests/test_schedule.py", "tests/test_blindspots_rng.py",
                  "tests/test_mutants_schedule.py"]),
    # theory is split: schedule_design and escape_law are their own targets (below).
    "theory": (["verified_pgd/theory/closed_forms.py", "verified_pgd/theory/constants.py",
                "verified_pgd/theory/landscape.py"],
               ["tests/test_theory.py",
                "tests/test_blindspots_theory.py::test_hessian_spectrum_is_the_tangent_hessians",
                "tests/test_blindspots_claims.py", "tests/test_mutants_theory.py",
                "tests/test_mutants_theory2.py", "tests/test_mutants_theory3.py"]),
    # design and escape: their own fast, direct test files (a whole design or an escape
    # measurement per mutant would take ~10 s; the PGD-based escape tests are left out)
    "design": ("verified_pgd/theory/schedule_design.py", ["tests/test_mutants_design.py"]),
    "escape": ("verified_pgd/theory/escape_law.py",
               ["tests/test_mutants_escape.py",
                "tests/test_escape_time.py::test_saddle_factor_is_one_without_coupling_and_between_one_and_the_separatrix_factor",
                "tests/test_escape_time.py::test_predictions_scale_as_one_over_eta_and_validate",
                "tests/test_escape_time.py::test_an_assumption_reason_never_reads_as_its_own_limit"]),
    "solvers": (["verified_pgd/solver/numpy.py", "verified_pgd/solver/highprec.py",
                 "verified_pgd/solver/bookkeeping.py", "verified_pgd/solver/config.py",
                 "verified_pgd/solver/api.py", "verified_pgd/solver/parallel.py"],
                ["tests/test_solvers.py", "tests/test_solvers_behaviour.py",
                 "tests/test_blindspots_solver.py", "tests/test_blindspots_arb.py"]),
    "reduced": ("verified_pgd/solver/reduced.py", ["tests/test_reduced.py", "tests/test_blindspots_reduced.py"]),
    # the compiled engine: its @njit kernels get no mutants, only their Python drivers do
    "compiled": (["verified_pgd/solver/compiled.py", "verified_pgd/solver/kernel.py",
                  "verified_pgd/solver/sfc64.py", "verified_pgd/solver/reduced_kernel.py",
                  "verified_pgd/solver/kernel_cache.py"],
                 ["tests/test_compiled.py", "tests/test_kernel_cache.py",
                  "tests/test_mutants_compiled.py"]),
    "claims": ("verified_pgd/claims/*",
               ["tests/test_claims.py", "tests/test_blindspots_claims.py"]),
    "experiments": ("verified_pgd/experiments/*",
                    ["tests/test_run.py", "tests/test_blindspots_report.py"]),
}


def _globs(module):
    g = TARGETS[module][0]
    return [g] if isinstance(g, str) else list(g)


def _in_sample(name: str, fraction: float, seed: int) -> bool:
    """A mutant's membership of a seeded sample: a hash of its name, not of the run order,
    so the same (fraction, seed) picks the same mutants on every machine and run."""
    h = int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")
    return h < fraction * 2.0**64


def _narrow_run(prefixes, fraction, seed, resume):
    """Wrap mutmut's mutant collection: only the named modules' mutants, a seeded sample of
    them, and (resume) only those without a result yet."""
    import fnmatch

    import mutmut.__main__ as mm
    collect = mm.collect_source_file_mutation_data

    def narrowed(*, mutant_names):
        mutants, by_path = collect(mutant_names=mutant_names)
        keep = [(m, key, result) for m, key, result in mutants
                if (not prefixes or any(fnmatch.fnmatch(key, p) for p in prefixes))
                and (fraction >= 1.0 or _in_sample(key, fraction, seed))
                and not (resume and result is not None)]
        print(f"    {len(keep)} of {len(mutants)} mutants selected"
              f"{f' (sample {fraction:g}, seed {seed})' if fraction < 1.0 else ''}"
              f"{' (resume: without a result yet)' if resume else ''}")
        return keep, by_path

    mm.collect_source_file_mutation_data = narrowed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modules", nargs="*",
                    help=f"modules to mutate (default: all of {', '.join(sorted(TARGETS))})")
    ap.add_argument("--max-children", type=int, default=1,
                    help="parallel mutant workers (default 1: the machine is shared)")
    ap.add_argument("--keep", action="store_true",
                    help="keep ./mutants from an earlier run (default: start afresh)")
    ap.add_argument("--resume", action="store_true",
                    help="keep ./mutants and run only the mutants without a result yet")
    ap.add_argument("--files", nargs="+", metavar="GLOB",
                    help="mutate only these source files (default: the targets' files)")
    ap.add_argument("--tests", nargs="+", metavar="TEST",
                    help="the test selection (default: the targets' tests)")
    ap.add_argument("--sample", type=float, default=1.0, metavar="FRACTION",
                    help="run a seeded sample of this fraction of the mutants (default 1: all)")
    ap.add_argument("--sample-seed", type=int, default=0, metavar="SEED",
                    help="seed of --sample (default 0)")
    args = ap.parse_args(argv)
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        print(f"modules: unknown {unknown}; choose from {sorted(TARGETS)}", file=sys.stderr)
        return 2
    if not 0.0 < args.sample <= 1.0:
        print(f"--sample: must be in (0, 1], got {args.sample}", file=sys.stderr)
        return 2
    if not (args.keep or args.resume) and Path("mutants").exists():
        shutil.rmtree("mutants")

    from mutmut import configuration
    cfg = configuration._load_config()
    globs = args.files or [g for m in args.modules for g in _globs(m)]
    if globs:
        cfg.only_mutate = globs
    tests = args.tests or sorted({t for m in args.modules for t in TARGETS[m][1]})
    if tests:
        cfg.pytest_add_cli_args_test_selection = [t for t in tests
                                                  if Path(t.split("::")[0]).exists()]
    configuration._config = cfg
    # mutant names are dotted module paths: verified_pgd/rng.py -> verified_pgd.rng.*
    prefixes = [g.replace("/*", ".*").replace(".py", ".*").replace("/", ".") for g in globs]
    _narrow_run(prefixes, args.sample, args.sample_seed, args.resume)
    from mutmut.__main__ import cli
    cli_args = ["run", "--max-children", str(args.max_children)]
    return cli.main(cli_args, prog_name="mutmut", standalone_mode=False) or 0


if __name__ == "__main__":
    sys.exit(main())
