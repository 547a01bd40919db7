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
                 "verified_pgd/solver/api.py", "verified_pgd/solver/parallel.py",
                 "verified_pgd/solver/result.py", "verified_pgd/solver/engines.py"],
                # only tests that never start the compiled engine: its kernel njit-compiles
                # bookkeeping.is_hit/step_ok, and numba cannot compile mutmut's trampolines
                ["tests/test_mutants_solvers.py",
                 "tests/test_blindspots_solver.py::test_arb_balls_enclose_a_60_digit_run"]),
    # reduced: test_reduced.py runs the compiled engine (auto); the numpy engine (_chunk) is
    # reached by the numpy-vs-compiled agreement tests.  The 1500-chain law tests are ~1 s
    # each: three of the nine (p1, p8, p8-ball) are selected.
    "reduced": ("verified_pgd/solver/reduced.py",
                ["tests/test_compiled.py::test_compiled_reduced_follows_the_numpy_reduced_simulator_to_1e_12",
                 "tests/test_compiled.py::test_compiled_reduced_hits_and_divergence_agree_and_are_bitwise_invariant",
                 "tests/test_reduced.py::test_wrong_chi_square_dof_is_rejected",
                 "tests/test_reduced.py::test_swapped_noise_levels_are_rejected",
                 "tests/test_reduced.py::test_noise_free_path_equals_the_full_path",
                 "tests/test_reduced.py::test_noise_free_path_from_the_spurious_point_stays_there",
                 "tests/test_reduced.py::test_p1_keeps_w_on_the_line_and_theta_in_0_pi",
                 "tests/test_reduced.py::test_p2_free_stays_in_the_plane_and_reconstructs_w",
                 "tests/test_reduced.py::test_reconstruction_matches_recorded_theta_and_loss_p64",
                 "tests/test_reduced.py::test_same_seed_same_result_across_chunks_and_splits",
                 "tests/test_reduced.py::test_shared_w0_equals_the_same_w0_per_chain",
                 "tests/test_reduced.py::test_streams_are_not_the_full_solvers",
                 "tests/test_reduced.py::test_noise_moves_the_chain",
                 "tests/test_reduced.py::test_invalid_arguments_name_the_parameter",
                 "tests/test_reduced.py::test_divergence_is_detected_not_nan",
                 "tests/test_reduced.py::test_signature_matches_pgd",
                 "tests/test_reduced.py::test_reduced_has_the_law_of_the_full_solver[p1]",
                 "tests/test_reduced.py::test_reduced_has_the_law_of_the_full_solver[p8]",
                 "tests/test_reduced.py::test_reduced_has_the_law_of_the_full_solver[p8-ball]",
                 "tests/test_blindspots_reduced.py", "tests/test_mutants_reduced.py"]),
    # the compiled engine: its @njit kernels get no mutants, only their Python drivers do
    "compiled": (["verified_pgd/solver/compiled.py", "verified_pgd/solver/kernel.py",
                  "verified_pgd/solver/sfc64.py", "verified_pgd/solver/reduced_kernel.py",
                  "verified_pgd/solver/kernel_cache.py"],
                 ["tests/test_compiled.py", "tests/test_kernel_cache.py",
                  "tests/test_mutants_compiled.py"]),
    # claims: not the examples/ files (not copied into ./mutants; holds.toml is 27 s), nor
    # the 6 s slack test at n = 1000, nor the 1000-2000-chain law runs and the 150-fit
    # coverage test of test_claims_delta_law.py; test_mutants_claims.py checks the same
    # functions at tiny sizes
    "claims": ("verified_pgd/claims/*",
               ["tests/test_mutants_claims.py", "tests/test_blindspots_claims.py"]
               + [f"tests/test_claims.py::{t}" for t in (
                   "test_whitelisted_expressions_evaluate_like_python_arithmetic",
                   "test_malicious_or_foreign_expressions_are_refused",
                   "test_refusal_names_the_claim_and_nothing_is_evaluated",
                   "test_module_never_calls_eval_exec_compile_or_sympify",
                   "test_unknown_names_and_missing_parameters_are_errors",
                   "test_overflow_in_a_bound_is_infinity_not_a_hang",
                   "test_arb_closed_forms_enclose_the_theory_modules_mp_values",
                   "test_perturbed_bound_at_the_reported_constant_flips_the_verdict",
                   "test_success_slack_has_the_stated_false_failure_probability[100-0.1]",
                   "test_undecided_when_the_interval_straddles_the_bound")]
               + [f"tests/test_claims_delta_law.py::{t}" for t in (
                   "test_bad_ladder_parameters_are_refused_naming_the_parameter",
                   "test_bad_eta_is_refused_and_the_prediction_is_a_bound_name",
                   "test_arb_prediction_encloses_the_ratio_of_the_critical_losses",
                   "test_problem_without_spurious_minimum_is_an_error",
                   "test_slope_range_is_the_exact_range_over_the_box",
                   "test_interval_has_power_against_twice_the_exponent_and_handles_zero_counts",
                   "test_bad_restart_parameters_are_refused_naming_the_parameter",
                   "test_select_is_refused_on_other_quantities",
                   "test_restart_interval_is_monotone_in_the_counts_and_covers_the_corners",
                   "test_an_unbounded_interval_is_null_in_strict_json",
                   "test_keys_the_exponents_do_not_use_are_refused")]),
    # direct analyse/plan calls on raw results built in the test (no PGD run, figures
    # captured unrendered); test_run.py's `vpgd run` (25 s) and test_blindspots_report.py
    # (a theory design and a PNG per test) are too slow per mutant
    "experiments": ("verified_pgd/experiments/*", ["tests/test_mutants_experiments.py"]),
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
