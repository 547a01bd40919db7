"""The solver core (docs/solvers.md, "Layout"): one validated run configuration, one
bookkeeping, one engine per file.

    config.py       RunConfig: every argument of pgd, validated once (frozen)
    schedule.py     Schedule / Stage / StepParams: (eta, sigma_w, sigma_a) per step
    rng.py          per-chain random streams
    bookkeeping.py  record, eps-hit, divergence, freeze: used by every engine
    numpy.py        float64 engine (batched chains)
    highprec.py     mpmath / arb engine (one chain at a time)
    reduced.py      dimension-free reduced simulator (float64)
    parallel.py     chains split over processes (any serial engine)
    engines.py      RunConfig -> engine
    api.py          pgd, rerun: validate, dispatch
    result.py       Result, History

Import order is acyclic: schedule, rng, result <- bookkeeping (reads a RunConfig but
does not import config) <- kernel <- compiled <- config <- engines <- parallel <- api;
engines never import the façade.
"""
from .api import pgd, rerun
from .config import RunConfig, build_config, parse_precision
from .result import History, Result
from .schedule import Schedule, Stage, StepParams

__all__ = ["pgd", "rerun", "RunConfig", "build_config", "parse_precision", "History",
           "Result", "Schedule", "Stage", "StepParams"]
