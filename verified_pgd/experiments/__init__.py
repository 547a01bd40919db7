"""The experiments of ``vpgd run`` (E1-E5): each plans tasks, then analyses their results.

An experiment module exposes

* ``ID``, ``TITLE``;
* ``plan(conf, problem) -> list[task]``: PGD tasks (plain dicts, see
  :func:`verified_pgd.config.validate_task`), each with its own seed derived from the
  master seed, so results do not depend on the runner or the number of workers;
* ``analyse(conf, problem, results, out_dir) -> Section``: figures, a table and the
  headline numbers, from the results of its tasks (in plan order).

:func:`run` plans every selected experiment, executes all tasks in one batch through
:func:`verified_pgd.sweep.run_tasks` (serial, processes or Dask) and analyses them.
"""
from __future__ import annotations

import importlib

from ._common import Section

MODULES = {"e1": "e1_landscape", "e2": "e2_spurious", "e3": "e3_success",
           "e4": "e4_precision", "e5": "e5_scaling", "e6": "e6_paper",
           "e7": "e7_escape"}

__all__ = ["MODULES", "Section", "get", "run"]


def get(name: str):
    if name not in MODULES:
        raise ValueError(f"experiment: unknown experiment {name!r} "
                         f"(known: {', '.join(MODULES)})")
    return importlib.import_module(f"{__name__}.{MODULES[name]}")


def run(conf: dict, out_dir, *, workers: int = 1, dask=None, progress: bool = True) -> list:
    """Run the experiments listed in ``conf["run"]["experiments"]``; returns their Sections."""
    from .. import config as cfg
    from ..sweep import run_tasks
    problem = cfg.build_problem(conf["problem"])
    names = conf["run"]["experiments"]
    plans = {}
    for name in names:
        plans[name] = get(name).plan(conf, problem)
    tasks = [t for name in names for t in plans[name]]
    labels = [name.upper() for name in names for _ in plans[name]]    # progress: E1..E5
    results = run_tasks(tasks, workers=workers, dask=dask, progress=progress, desc="vpgd run",
                        labels=labels)
    sections, i = [], 0
    for name in names:
        n = len(plans[name])
        sections.append(get(name).analyse(conf, problem, results[i:i + n], out_dir))
        i += n
    return sections
