"""Configuration files: TOML (stdlib ``tomllib``) validated against a fixed schema.

Nothing in a configuration is ever evaluated: values are TOML scalars, arrays and tables,
checked key by key.  Every problem raises ``ValueError`` (or ``TypeError``) whose message
names the key path, e.g. ``config: experiments.e3.chains: must be an integer >= 1``, so
the CLI prints it as one line and exits 2.

Three documents share the building blocks below:

* the ``vpgd run`` configuration (:func:`load_run`), whose built-in default is
  ``verified_pgd/data/default.toml`` (documented there, key by key);
* a single-run *task* (:func:`validate_task`): ``problem``, ``init``, ``schedule``,
  ``solver``, ``seed`` — what ``vpgd solve`` runs and what a sweep is made of;
* the ``vpgd sweep`` configuration (:func:`load_sweep`): a base task plus a grid.

This package is the façade: :mod:`._leaves` (leaf validators), :mod:`.task` (problem,
init, schedule, solver blocks and the single-run task), :mod:`.run` (the ``vpgd run``
document and loading) and :mod:`.sweep` (the sweep grid).  ``verified_pgd.config.X``
keeps working for every name below.
"""
from ._leaves import (ConfigError, _bool, _choice, _err, _float, _int, _list, _range, _sub,
                      _table, _vector)
from .run import (EXPERIMENTS, _EXPERIMENT_VALIDATORS, _e1, _e2, _e3, _e4, _e5, _e6, _e7,
                  _run_table,
                  default_text, load_run, merge, read_toml, validate_run)
from .sweep import _grid_leaves, _set_path, load_sweep
from .task import (A_PATTERNS, FULL_KINDS, INIT_KINDS, MIN_DPS, SCHEDULE_KINDS, _gradient,
                   _noise_stages, _precision, build_problem, build_schedule, init_spec,
                   problem_spec, schedule_carries_eta, schedule_spec, schedule_stages,
                   solver_spec, validate_task)

__all__ = ["ConfigError", "EXPERIMENTS", "A_PATTERNS", "INIT_KINDS", "SCHEDULE_KINDS",
           "MIN_DPS", "problem_spec", "build_problem", "schedule_spec", "schedule_stages",
           "build_schedule", "schedule_carries_eta", "FULL_KINDS",
           "init_spec", "solver_spec", "validate_task", "validate_run", "merge", "read_toml",
           "default_text", "load_run", "load_sweep"]
