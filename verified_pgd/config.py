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
"""
from __future__ import annotations

import copy
import math
import numbers
import tomllib
from importlib import resources
from pathlib import Path

EXPERIMENTS = ("e1", "e2", "e3", "e4", "e5")
A_PATTERNS = ("mixed", "alternating", "ones", "gaussian")
INIT_KINDS = ("spurious", "random", "global", "saddle", "explicit")
SCHEDULE_KINDS = ("stages", "constant", "geometric", "theory")
MIN_DPS = 15


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


def _err(path, msg):
    return ConfigError(f"config: {path}: {msg}")


# --------------------------------------------------------------------------- leaves

def _int(v, path, lo=None, hi=None):
    what = "an integer" + (f" >= {lo}" if lo is not None else "") + (
        f"{' and' if lo is not None else ''} <= {hi}" if hi is not None else "")
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise _err(path, f"must be {what}, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise _err(path, f"must be {what}, got {v!r}")
    return int(v)


def _range(lo, hi, strict_lo=False):
    if lo is not None and hi is not None:
        return f" in {'(' if strict_lo else '['}{lo}, {hi}]"
    if lo is not None:
        return f" {'>' if strict_lo else '>='} {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


def _float(v, path, lo=None, hi=None, strict_lo=False, strict_hi=False):
    what = "a finite number" + _range(lo, hi, strict_lo)
    if strict_hi and hi is not None:
        what = what.replace(f"{hi}]", f"{hi})")
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise _err(path, f"must be {what}, got {v!r}")
    v = float(v)
    if not math.isfinite(v):
        raise _err(path, f"must be {what}, got {v!r}")
    if lo is not None and (v < lo or (strict_lo and v == lo)):
        raise _err(path, f"must be {what}, got {v!r}")
    if hi is not None and (v > hi or (strict_hi and v == hi)):
        raise _err(path, f"must be {what}, got {v!r}")
    return v


def _bool(v, path):
    if not isinstance(v, bool):
        raise _err(path, f"must be true or false, got {v!r}")
    return v


def _choice(v, path, choices):
    if not isinstance(v, str) or v not in choices:
        raise _err(path, f"must be one of {', '.join(map(repr, choices))}, got {v!r}")
    return v


def _vector(v, path, length=None):
    if not isinstance(v, list) or not v:
        raise _err(path, f"must be a non-empty array of numbers, got {v!r}")
    out = [_float(x, f"{path}[{i}]") for i, x in enumerate(v)]
    if length is not None and len(out) != length:
        raise _err(path, f"must have length {length}, got {len(out)}")
    return out


def _list(v, path, item, min_len=1, unique=False):
    if not isinstance(v, list) or len(v) < min_len:
        raise _err(path, f"must be an array with at least {min_len} element(s), got {v!r}")
    out = [item(x, f"{path}[{i}]") for i, x in enumerate(v)]
    if unique and len(set(map(repr, out))) != len(out):
        raise _err(path, "must not contain duplicates")
    return out


def _table(v, path, allowed, required=()):
    """Check that ``v`` is a table whose keys are all in ``allowed``."""
    if not isinstance(v, dict):
        raise _err(path, f"must be a table, got {type(v).__name__}")
    for key in v:
        if key not in allowed:
            raise _err(f"{path}.{key}" if path else key,
                       f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in v:
            raise _err(f"{path}.{key}" if path else key, "is required")
    return v


def _sub(path, key):
    return f"{path}.{key}" if path else key


# --------------------------------------------------------------------------- blocks

def problem_spec(v, path="problem"):
    """``{w_star, a_star}`` explicitly, or a family ``{p, k, s, a_pattern, a_seed, a_norm}``.

    Family: ``w* = s e_1``; ``a*`` from the pattern, rescaled to ``|a*| = a_norm`` when
    ``a_norm`` is given (so that k can vary at a fixed teacher scale s|a*|).
    """
    _table(v, path, {"w_star", "a_star", "p", "k", "s", "a_pattern", "a_seed", "a_norm"})
    if "w_star" in v or "a_star" in v:
        extra = set(v) - {"w_star", "a_star"}
        if extra:
            raise _err(_sub(path, sorted(extra)[0]),
                       "cannot be combined with explicit w_star/a_star")
        _table(v, path, {"w_star", "a_star"}, required=("w_star", "a_star"))
        w = _vector(v["w_star"], _sub(path, "w_star"))
        if all(x == 0.0 for x in w):
            raise _err(_sub(path, "w_star"), "must be non-zero")
        return {"w_star": w, "a_star": _vector(v["a_star"], _sub(path, "a_star"))}
    out = {"p": _int(v.get("p", 4), _sub(path, "p"), 1, 10_000),
           "k": _int(v.get("k", 4), _sub(path, "k"), 1, 10_000),
           "s": _float(v.get("s", 1.0), _sub(path, "s"), 0.0, strict_lo=True),
           "a_pattern": _choice(v.get("a_pattern", "mixed"), _sub(path, "a_pattern"), A_PATTERNS),
           "a_seed": _int(v.get("a_seed", 0), _sub(path, "a_seed"), 0)}
    if "a_norm" in v:
        out["a_norm"] = _float(v["a_norm"], _sub(path, "a_norm"), 0.0, strict_lo=True)
    if out["a_pattern"] == "mixed" and out["k"] < 2:
        raise _err(_sub(path, "k"), "must be >= 2 for a_pattern = 'mixed'")
    return out


def build_problem(spec):
    """A :class:`verified_pgd.Problem` from a validated problem spec."""
    import numpy as np
    from .problem import Problem
    if "w_star" in spec:
        return Problem(spec["w_star"], spec["a_star"])
    p, k, s = spec["p"], spec["k"], spec["s"]
    w = np.zeros(p)
    w[0] = s
    pat = spec["a_pattern"]
    if pat == "mixed":        # (1, ..., 1, -1): the pattern of Problem.default()
        a = np.ones(k)
        a[-1] = -1.0
    elif pat == "alternating":
        a = np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
    elif pat == "ones":
        a = np.ones(k)
    else:
        a = np.random.default_rng(spec["a_seed"]).standard_normal(k)
    if "a_norm" in spec:
        a = a * (spec["a_norm"] / np.sqrt(np.sum(a * a)))
    return Problem(w, a)


def schedule_spec(v, path="schedule"):
    """A noise schedule; see the ``[experiments.e2.schedule]`` comments in default.toml."""
    _table(v, path, {"kind", "stages", "sigma", "steps", "sigma0", "factor", "n_stages",
                     "final_fraction", "eps", "delta"}, required=("kind",))
    kind = _choice(v["kind"], _sub(path, "kind"), SCHEDULE_KINDS)
    allowed = {"stages": {"kind", "stages"},
               "constant": {"kind", "sigma", "steps"},
               "geometric": {"kind", "sigma0", "factor", "n_stages", "steps", "final_fraction"},
               "theory": {"kind", "eps", "delta"}}[kind]
    for key in v:
        if key not in allowed:
            raise _err(_sub(path, key), f"is not a key of a {kind!r} schedule "
                                        f"(allowed: {', '.join(sorted(allowed))})")
    if kind == "stages":
        _table(v, path, allowed, required=("stages",))
        raw = v["stages"]
        if not isinstance(raw, list) or not raw:
            raise _err(_sub(path, "stages"), "must be a non-empty array of [sigma, steps] pairs")
        return {"kind": kind, "stages": _noise_stages(raw, _sub(path, "stages"))}
    if kind == "constant":
        _table(v, path, allowed, required=("sigma", "steps"))
        return {"kind": kind, "sigma": _float(v["sigma"], _sub(path, "sigma"), 0.0),
                "steps": _int(v["steps"], _sub(path, "steps"), 1)}
    if kind == "geometric":
        _table(v, path, allowed, required=("sigma0", "factor", "n_stages", "steps"))
        out = {"kind": kind,
               "sigma0": _float(v["sigma0"], _sub(path, "sigma0"), 0.0),
               "factor": _float(v["factor"], _sub(path, "factor"), 0.0, 1.0, strict_lo=True,
                                strict_hi=True),
               "n_stages": _int(v["n_stages"], _sub(path, "n_stages"), 1),
               "steps": _int(v["steps"], _sub(path, "steps"), 1),
               "final_fraction": _float(v.get("final_fraction", 0.25),
                                        _sub(path, "final_fraction"), 0.0, 1.0, strict_hi=True)}
        if out["steps"] < out["n_stages"] + 1:
            raise _err(_sub(path, "steps"), "must be larger than n_stages")
        return out
    _table(v, path, allowed, required=("eps", "delta"))
    return {"kind": kind,
            "eps": _float(v["eps"], _sub(path, "eps"), 0.0, 1.0, strict_lo=True, strict_hi=True),
            "delta": _float(v["delta"], _sub(path, "delta"), 0.0, 1.0, strict_lo=True,
                            strict_hi=True)}


def schedule_stages(spec, problem=None, eta=None):
    """The ``[(sigma, steps), ...]`` list a validated schedule spec stands for.

    ``kind = "theory"`` asks :func:`verified_pgd.theory.schedule` (needs ``problem`` and
    ``eta``); it raises a one-line ValueError if that function is not available.
    """
    kind = spec["kind"]
    if kind == "stages":
        return [(float(s), int(n)) for s, n in spec["stages"]]
    if kind == "constant":
        return [(spec["sigma"], spec["steps"])]
    if kind == "geometric":
        # n_stages noisy stages of equal length, sigma0 * factor**i, then a noise-free tail
        # of final_fraction * steps (the local linear phase of GD).
        T = spec["steps"]
        tail = int(round(spec["final_fraction"] * T))
        noisy = T - tail
        n = min(spec["n_stages"], noisy) if noisy > 0 else 0
        stages = []
        for i in range(n):
            length = noisy // n + (1 if i < noisy % n else 0)
            stages.append((spec["sigma0"] * spec["factor"] ** i, length))
        if tail > 0:
            stages.append((0.0, tail))
        return stages
    try:
        from .theory import schedule as theory_schedule
    except ImportError:
        raise ConfigError("config: schedule.kind: 'theory' needs verified_pgd.theory.schedule, "
                          "which this installation does not provide") from None
    sched = theory_schedule(problem, spec["eps"], spec["delta"], eta)
    stages = sched.to_dict()["stages"] if hasattr(sched, "to_dict") else sched   # [[sigma, steps]]
    return [(float(s), int(n)) for s, n in stages]


def init_spec(v, path="init"):
    """Where chains start: a landscape point, random, or explicit ``w``/``a``."""
    _table(v, path, {"kind", "w", "a", "scale"}, required=("kind",))
    kind = _choice(v["kind"], _sub(path, "kind"), INIT_KINDS)
    if kind == "explicit":
        _table(v, path, {"kind", "w", "a"}, required=("w", "a"))
        w = _vector(v["w"], _sub(path, "w"))
        if all(x == 0.0 for x in w):
            raise _err(_sub(path, "w"), "w = 0 is a non-differentiable point of the loss")
        return {"kind": kind, "w": w, "a": _vector(v["a"], _sub(path, "a"))}
    if kind == "random":
        _table(v, path, {"kind", "scale"})
        return {"kind": kind, "scale": _float(v.get("scale", 1.0), _sub(path, "scale"), 0.0,
                                              strict_lo=True)}
    _table(v, path, {"kind"})
    return {"kind": kind}


def _precision(v, path):
    if v == "float64":
        return v
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return _int(v, path, MIN_DPS, 10_000)
    raise _err(path, f"must be 'float64' or an integer number of digits >= {MIN_DPS}, got {v!r}")


def _gradient(v, path):
    if v == "population":
        return v
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return _int(v, path, 1)
    raise _err(path, f"must be 'population' or a mini-batch size (integer >= 1), got {v!r}")


def solver_spec(v, path="solver"):
    _table(v, path, {"eta", "chains", "normalized", "noise", "gradient", "precision", "eps",
                     "record_every", "engine"}, required=("eta",))
    return {"eta": _float(v["eta"], _sub(path, "eta"), 0.0, strict_lo=True),
            "chains": _int(v.get("chains", 1), _sub(path, "chains"), 1, 1_000_000),
            "normalized": _bool(v.get("normalized", True), _sub(path, "normalized")),
            "noise": _choice(v.get("noise", "gaussian"), _sub(path, "noise"), ("gaussian", "ball")),
            "gradient": _gradient(v.get("gradient", "population"), _sub(path, "gradient")),
            "precision": _precision(v.get("precision", "float64"), _sub(path, "precision")),
            "eps": _float(v.get("eps", 1e-3), _sub(path, "eps"), 0.0, 1.0, strict_lo=True,
                          strict_hi=True),
            "record_every": _int(v.get("record_every", 0), _sub(path, "record_every"), 0),
            "engine": _choice(v.get("engine", "auto"), _sub(path, "engine"),
                              ("auto", "compiled", "numpy"))}


def validate_task(v, path=""):
    """A single PGD run: ``{problem, init, schedule, solver, seed}`` (all validated)."""
    _table(v, path, {"problem", "init", "schedule", "solver", "seed"},
           required=("schedule", "solver"))
    return {"problem": problem_spec(v.get("problem", {"w_star": [1.0, 0.0, 0.0, 0.0],
                                                      "a_star": [1.0, 1.0, 1.0, -1.0]}),
                                    _sub(path, "problem")),
            "init": init_spec(v.get("init", {"kind": "random"}), _sub(path, "init")),
            "schedule": schedule_spec(v["schedule"], _sub(path, "schedule")),
            "solver": solver_spec(v["solver"], _sub(path, "solver")),
            "seed": _int(v.get("seed", 0), _sub(path, "seed"), 0, 2**63 - 1)}


# --------------------------------------------------------------------------- run config

def _run_table(v):
    _table(v, "run", {"experiments"})
    exps = _list(v.get("experiments", list(EXPERIMENTS)), "run.experiments",
                 lambda x, p: _choice(x, p, EXPERIMENTS), unique=True)
    return {"experiments": [e for e in EXPERIMENTS if e in exps]}


def _e1(v, p):
    _table(v, p, {"points"})
    return {"points": _int(v.get("points", 361), f"{p}.points", 11, 100_000)}


def _e2(v, p):
    _table(v, p, {"eta", "chains", "record_every", "schedule", "noise"},
           required=("eta", "schedule"))
    return {"eta": _float(v["eta"], f"{p}.eta", 0.0, strict_lo=True),
            "chains": _int(v.get("chains", 4), f"{p}.chains", 1, 10_000),
            "record_every": _int(v.get("record_every", 10), f"{p}.record_every", 1),
            "noise": _choice(v.get("noise", "gaussian"), f"{p}.noise", ("gaussian", "ball")),
            "schedule": schedule_spec(v["schedule"], f"{p}.schedule")}


def _e3(v, p):
    _table(v, p, {"eta", "chains", "eps", "init_scale", "methods"},
           required=("eta", "chains", "methods"))
    methods = _table(v["methods"], f"{p}.methods", set(v["methods"]) if isinstance(
        v["methods"], dict) else set())
    if not methods:
        raise _err(f"{p}.methods", "must define at least one method")
    return {"eta": _float(v["eta"], f"{p}.eta", 0.0, strict_lo=True),
            "chains": _int(v["chains"], f"{p}.chains", 1, 1_000_000),
            "eps": _float(v.get("eps", 1e-2), f"{p}.eps", 0.0, 1.0, strict_lo=True, strict_hi=True),
            "init_scale": _float(v.get("init_scale", 1.0), f"{p}.init_scale", 0.0, strict_lo=True),
            "methods": {name: schedule_spec(s, f"{p}.methods.{name}")
                        for name, s in methods.items()}}


def _e4(v, p):
    _table(v, p, {"eta", "chains", "steps", "sigma", "factor", "n_stages", "final_fraction",
                  "init"}, required=("eta", "steps", "sigma"))
    out = {"eta": _float(v["eta"], f"{p}.eta", 0.0, strict_lo=True),
           "chains": _int(v.get("chains", 8), f"{p}.chains", 1, 1_000_000),
           "steps": _list(v["steps"], f"{p}.steps", lambda x, q: _int(x, q, 2), min_len=2,
                          unique=True),
           "sigma": _float(v["sigma"], f"{p}.sigma", 0.0, strict_lo=True),
           "factor": _float(v.get("factor", 0.5), f"{p}.factor", 0.0, 1.0, strict_lo=True,
                            strict_hi=True),
           "n_stages": _int(v.get("n_stages", 6), f"{p}.n_stages", 1),
           "final_fraction": _float(v.get("final_fraction", 0.25), f"{p}.final_fraction", 0.0,
                                    1.0, strict_hi=True),
           "init": init_spec(v.get("init", {"kind": "spurious"}), f"{p}.init")}
    out["steps"] = sorted(out["steps"])
    if out["steps"][0] < out["n_stages"] + 1:
        raise _err(f"{p}.steps", "every budget must be larger than n_stages")
    return out


def _noise_stages(v, path):
    if not isinstance(v, list):
        raise _err(path, "must be an array of [sigma, steps] pairs (may be empty)")
    out = []
    for i, st in enumerate(v):
        q = f"{path}[{i}]"
        if not isinstance(st, list) or len(st) != 2:
            raise _err(q, f"must be a pair [sigma, steps], got {st!r}")
        out.append([_float(st[0], f"{q}[0]", 0.0), _int(st[1], f"{q}[1]", 1)])
        if i and out[i][0] > out[i - 1][0]:
            raise _err(q, "sigma must be non-increasing (noise annealing)")
    return out


def _e5(v, p):
    _table(v, p, {"eta", "chains", "ks", "eps", "eps_values", "p", "s", "a_pattern", "a_norm",
                  "noise_stages", "max_steps", "init_scale"},
           required=("eta", "ks", "eps_values", "max_steps"))
    out = {"eta": _float(v["eta"], f"{p}.eta", 0.0, strict_lo=True),
           "chains": _int(v.get("chains", 8), f"{p}.chains", 1, 1_000_000),
           "ks": _list(v["ks"], f"{p}.ks", lambda x, q: _int(x, q, 2, 10_000), min_len=2,
                       unique=True),
           "eps": _float(v.get("eps", 1e-3), f"{p}.eps", 0.0, 1.0, strict_lo=True, strict_hi=True),
           "eps_values": _list(v["eps_values"], f"{p}.eps_values",
                               lambda x, q: _float(x, q, 0.0, 1.0, strict_lo=True, strict_hi=True),
                               min_len=2, unique=True),
           "p": _int(v.get("p", 4), f"{p}.p", 1, 10_000),
           "s": _float(v.get("s", 1.0), f"{p}.s", 0.0, strict_lo=True),
           "a_pattern": _choice(v.get("a_pattern", "mixed"), f"{p}.a_pattern", A_PATTERNS),
           "a_norm": _float(v.get("a_norm", 1.0), f"{p}.a_norm", 0.0, strict_lo=True),
           "noise_stages": _noise_stages(v.get("noise_stages", []), f"{p}.noise_stages"),
           "max_steps": _int(v["max_steps"], f"{p}.max_steps", 1),
           "init_scale": _float(v.get("init_scale", 1.0), f"{p}.init_scale", 0.0, strict_lo=True)}
    out["ks"] = sorted(out["ks"])
    out["eps_values"] = sorted(out["eps_values"], reverse=True)
    if out["a_pattern"] == "mixed" and out["ks"][0] < 2:
        raise _err(f"{p}.ks", "must be >= 2 for a_pattern = 'mixed'")
    if out["max_steps"] <= sum(n for _, n in out["noise_stages"]):
        raise _err(f"{p}.max_steps", "must be larger than the steps of noise_stages")
    return out


_EXPERIMENT_VALIDATORS = {"e1": _e1, "e2": _e2, "e3": _e3, "e4": _e4, "e5": _e5}


def validate_run(v):
    """Validate a complete ``vpgd run`` configuration (after merging); returns a new dict."""
    _table(v, "", {"seed", "problem", "run", "experiments", "quick"})
    exps = _table(v.get("experiments", {}), "experiments", set(EXPERIMENTS))
    run = _run_table(v.get("run", {}))
    out = {"seed": _int(v.get("seed", 0), "seed", 0, 2**63 - 1),
           "problem": problem_spec(v.get("problem", {}), "problem"),
           "run": run, "experiments": {}}
    for name in EXPERIMENTS:
        if name in exps:
            out["experiments"][name] = _EXPERIMENT_VALIDATORS[name](exps[name],
                                                                   f"experiments.{name}")
        elif name in run["experiments"]:
            raise _err(f"experiments.{name}", "is required (listed in run.experiments)")
    return out


# --------------------------------------------------------------------------- loading

def merge(base, override):
    """Deep merge of TOML tables: tables merge key by key, anything else replaces.

    A table with a ``kind`` key (a schedule or a starting point) replaces the base table
    whole: its keys depend on the kind, so mixing two kinds' keys would never validate.
    """
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "kind" not in value:
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_toml(path) -> dict:
    """Parse a TOML file; OSError and syntax errors become one-line messages."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OSError(f"config: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config: {path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path}: invalid TOML ({exc})") from None


def default_text() -> str:
    """The documented built-in default (``verified_pgd/data/default.toml``)."""
    return resources.files("verified_pgd").joinpath("data/default.toml").read_text("utf-8")


def load_run(path=None, *, quick=False) -> dict:
    """The ``vpgd run`` configuration: the built-in default, overridden by ``path``.

    A user file only needs the keys it changes (tables merge key by key).  With
    ``quick=True`` the merged ``[quick]`` table is merged over the rest once more.
    """
    raw = tomllib.loads(default_text())
    if path is not None:
        user = read_toml(path)
        if "quick" in user and not isinstance(user["quick"], dict):
            raise _err("quick", "must be a table")
        raw = merge(raw, user)
    quick_table = raw.pop("quick", {})
    _table(quick_table, "quick", {"seed", "problem", "run", "experiments"})
    if quick:
        raw = merge(raw, quick_table)
    return validate_run(raw)


# --------------------------------------------------------------------------- sweep config

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
    if len(tasks) * replicates > 1_000_000:
        raise _err("grid", f"expands to {len(tasks) * replicates} tasks (limit 1000000)")
    return {"seed": seed, "replicates": replicates,
            "axes": [(p, v) for p, v in axes], "points": tasks}
