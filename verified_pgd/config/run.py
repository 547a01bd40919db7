"""The ``vpgd run`` configuration: the built-in default ``verified_pgd/data/default.toml``
(documented there, key by key) merged with a user file, then validated."""
from __future__ import annotations

import copy
import tomllib
from importlib import resources

from ._leaves import _choice, _err, _float, _int, _list, _table
from .task import A_PATTERNS, _noise_stages, init_spec, problem_spec, schedule_spec

EXPERIMENTS = ("e1", "e2", "e3", "e4", "e5", "e6", "e7")


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


def _e6(v, p):
    _table(v, p, {"chains", "eps", "batch", "teachers", "inits", "methods", "max_theory_steps"},
           required=("chains",))
    methods = ("gd", "pgd_gaussian", "pgd_ball", "sgd_b4", "theory")
    return {"chains": _int(v["chains"], f"{p}.chains", 1, 1_000_000),
            "inits": _list(v.get("inits", ["random", "spurious"]), f"{p}.inits",
                           lambda x, q: _choice(x, q, ("random", "spurious")), unique=True),
            "methods": _list(v.get("methods", list(methods)), f"{p}.methods",
                             lambda x, q: _choice(x, q, methods), unique=True),
            "max_theory_steps": _int(v.get("max_theory_steps", 20_000), f"{p}.max_theory_steps", 1),
            "eps": _float(v.get("eps", 1e-3), f"{p}.eps", 0.0, 1.0, strict_lo=True, strict_hi=True),
            "batch": _int(v.get("batch", 4), f"{p}.batch", 1, 1_000_000),
            "teachers": _list(v.get("teachers", []), f"{p}.teachers",
                              lambda x, q: _list(x, q, lambda y, r: _float(y, r), min_len=1),
                              min_len=0)}


def _e7(v, p):
    _table(v, p, {"chains", "teachers", "ps", "etas", "xs", "tol", "alpha"},
           required=("chains",))
    pos = lambda x, q: _float(x, q, 0.0, strict_lo=True)   # noqa: E731
    return {"chains": _int(v["chains"], f"{p}.chains", 2, 100_000),
            "teachers": _list(v.get("teachers", []), f"{p}.teachers",
                              lambda x, q: _list(x, q, lambda y, r: _float(y, r), min_len=1),
                              min_len=0),
            "ps": _list(v.get("ps", [3, 8]), f"{p}.ps", lambda x, q: _int(x, q, 2, 10_000),
                        min_len=1, unique=True),
            "etas": _list(v.get("etas", [0.2]), f"{p}.etas", lambda x, q: _float(
                x, q, 0.0, 2.0, strict_lo=True), min_len=1, unique=True),
            "xs": sorted(_list(v.get("xs", [1.0, 2.0, 3.0, 4.0]), f"{p}.xs",
                               lambda x, q: _float(x, q, 0.0, 12.0, strict_lo=True),
                               min_len=1, unique=True)),
            "tol": _float(v.get("tol", 0.25), f"{p}.tol", 0.0, 1.0, strict_lo=True,
                          strict_hi=True),
            "alpha": _float(v.get("alpha", 1e-6), f"{p}.alpha", 0.0, 0.5, strict_lo=True)}


_EXPERIMENT_VALIDATORS = {"e1": _e1, "e2": _e2, "e3": _e3, "e4": _e4, "e5": _e5, "e6": _e6,
                          "e7": _e7}


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
    """Parse a TOML file through the bounded reader (:mod:`verified_pgd._io`: regular
    files only, size and nesting limits); every failure is a one-line message."""
    from .._io import read_toml as bounded_read_toml
    return bounded_read_toml(path, "config")


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
        # the user's values are validated as they are, before [quick] may replace them:
        # --quick must reject what the full run rejects
        validate_run(raw)
        raw = merge(raw, quick_table)
    return validate_run(raw)
