"""The ``vpgd sweep`` configuration: a base task plus a grid."""
from __future__ import annotations

import copy
import math

from .._validate import limit
from ._leaves import ConfigError, _err, _int, _sub, _table
from .run import read_toml
from .task import validate_task


def _grid_leaves(grid, path=""):
    """Flatten the ``[grid]`` table into ``[(dotted.path, [values...]), ...]``."""
    out = []
    for key, value in grid.items():
        p = _sub(path, key)
        if isinstance(value, dict):
            out.extend(_grid_leaves(value, p))
        elif isinstance(value, list) and value:
            out.append((p, value))
        else:
            raise _err(f"grid.{p}", "must be a non-empty array of values to sweep over")
    return out


def _set_path(d, dotted, value):
    keys = dotted.split(".")
    for key in keys[:-1]:
        d = d.setdefault(key, {})
        if not isinstance(d, dict):
            raise _err(f"grid.{dotted}", "does not address a key of the task")
    d[keys[-1]] = value


def load_sweep(path) -> dict:
    """A sweep: ``seed``, ``[sweep]`` (replicates), ``[task]`` (base) and ``[grid]``.

    Returns ``{"seed", "replicates", "axes": [(path, values)], "points": [task, ...]}``
    where every grid point is a fully validated task (without seed).  A bad grid value is
    reported with its grid path, e.g. ``config: grid.solver.eta[1]: ...``.
    """
    raw = read_toml(path)
    _table(raw, "", {"seed", "sweep", "task", "grid"}, required=("task",))
    seed = _int(raw.get("seed", 0), "seed", 0, 2**63 - 1)
    sweep = _table(raw.get("sweep", {}), "sweep", {"replicates"})
    replicates = _int(sweep.get("replicates", 1), "sweep.replicates", 1, 1_000_000)
    base = raw["task"]
    _table(base, "task", {"problem", "init", "schedule", "solver"})
    validate_task(base, "task")
    grid = _table(raw.get("grid", {}), "grid", {"problem", "init", "schedule", "solver"})
    axes = _grid_leaves(grid)
    n_tasks = math.prod(len(values) for _, values in axes) * replicates
    if n_tasks > limit("grid"):
        raise _err("grid", f"expands to {n_tasks} tasks, more than the limit {limit('grid')} "
                           "(counted before expansion; set VPGD_MAX_GRID to lift it)")
    points = [copy.deepcopy(base)]
    for dotted, values in axes:
        new = []
        for pt in points:
            for i, value in enumerate(values):
                q = copy.deepcopy(pt)
                _set_path(q, dotted, value)
                try:
                    validate_task(q, "task")
                except ConfigError as exc:
                    msg = str(exc).split(": ", 2)[-1]
                    raise _err(f"grid.{dotted}[{i}]", msg) from None
                new.append(q)
        points = new
    tasks = [validate_task(pt, "task") for pt in points]
    return {"seed": seed, "replicates": replicates,
            "axes": [(p, v) for p, v in axes], "points": tasks}
