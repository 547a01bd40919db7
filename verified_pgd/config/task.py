"""A single-run *task*: ``problem``, ``init``, ``schedule``, ``solver``, ``seed`` — what
``vpgd solve`` runs and what a sweep is made of (and the blocks the run configuration
reuses)."""
from __future__ import annotations

import numbers

from .._validate import DEFAULT_EPS, MIN_DPS, parse_precision
from ..solver.schedule import geometric_levels
from ._leaves import (ConfigError, _bool, _choice, _err, _float, _int, _sub, _table,
                      _vector)

A_PATTERNS = ("mixed", "alternating", "ones", "gaussian")
INIT_KINDS = ("spurious", "random", "global", "saddle", "explicit")
SCHEDULE_KINDS = ("stages", "constant", "geometric", "theory", "epochs", "zhou2019")
# Kinds whose stages carry their own eta, sigma_w, sigma_a (vp.Stage): task files only.
FULL_KINDS = ("epochs", "zhou2019")
_STAGE_TABLE_KEYS = {"steps", "eta", "sigma_w", "sigma_a"}
_EPOCHS_KEYS = {"epochs", "steps_per_epoch", "eta0", "eta_decay", "sigma_w0", "sigma_a0",
                "sigma_decay", "final_steps", "final_eta"}


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
    from ..problem import Problem
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


def schedule_spec(v, path="schedule", full_form=False):
    """A noise schedule; see the ``[experiments.e2.schedule]`` comments in default.toml.

    ``full_form`` (task files: ``vpgd solve``, sweeps) also admits stages that carry their
    own ``eta``, ``sigma_w``, ``sigma_a`` (:class:`verified_pgd.Stage`): ``kind = "stages"``
    with tables ``{steps, eta, sigma_w, sigma_a}``, ``kind = "epochs"``
    (:meth:`Schedule.epochs`) and ``kind = "zhou2019"`` (:meth:`Schedule.zhou2019`)."""
    _table(v, path, {"kind", "stages", "sigma", "steps", "sigma0", "factor", "n_stages",
                     "final_fraction", "eps", "delta"} | _EPOCHS_KEYS, required=("kind",))
    kind = _choice(v["kind"], _sub(path, "kind"), SCHEDULE_KINDS)
    if kind in FULL_KINDS and not full_form:
        raise _err(_sub(path, "kind"), f"{kind!r} (per-stage eta, sigma_w, sigma_a) is only "
                                       "available in task files (vpgd solve, vpgd sweep)")
    allowed = {"stages": {"kind", "stages"},
               "constant": {"kind", "sigma", "steps"},
               "geometric": {"kind", "sigma0", "factor", "n_stages", "steps", "final_fraction"},
               "theory": {"kind", "eps", "delta"},
               "epochs": {"kind"} | _EPOCHS_KEYS,
               "zhou2019": {"kind"}}[kind]
    for key in v:
        if key not in allowed:
            raise _err(_sub(path, key), f"is not a key of a {kind!r} schedule "
                                        f"(allowed: {', '.join(sorted(allowed))})")
    if kind == "stages":
        _table(v, path, allowed, required=("stages",))
        raw = v["stages"]
        if not isinstance(raw, list) or not raw:
            raise _err(_sub(path, "stages"), "must be a non-empty array of [sigma, steps] pairs")
        if full_form and isinstance(raw[0], dict):
            return {"kind": kind, "stages": _full_stages(raw, _sub(path, "stages"))}
        return {"kind": kind, "stages": _noise_stages(raw, _sub(path, "stages"))}
    if kind == "zhou2019":
        return {"kind": kind}
    if kind == "epochs":
        return _epochs_spec(v, path)
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


def schedule_carries_eta(spec) -> bool:
    """Whether a (validated or raw) schedule table's stages carry their own eta: then the
    task's ``solver.eta`` must be absent (vp.pgd refuses both)."""
    if not isinstance(spec, dict):
        return False
    if spec.get("kind") == "zhou2019":
        return True
    if spec.get("kind") == "epochs":
        return "eta0" in spec
    stages = spec.get("stages")
    return (spec.get("kind") == "stages" and isinstance(stages, list) and bool(stages)
            and isinstance(stages[0], dict) and "eta" in stages[0])


def build_schedule(spec, problem=None, eta=None):
    """The :class:`verified_pgd.Schedule` a validated schedule spec stands for (every kind;
    the full-form kinds through ``Schedule``'s own constructors)."""
    from ..solver.schedule import Schedule
    kind = spec["kind"]
    if kind == "zhou2019":
        return Schedule.zhou2019()
    if kind == "epochs":
        return Schedule.epochs(**{k: x for k, x in spec.items() if k != "kind"})
    if kind == "stages" and spec["stages"] and isinstance(spec["stages"][0], dict):
        return Schedule([dict(st) for st in spec["stages"]])
    return Schedule(schedule_stages(spec, problem, eta))


def schedule_stages(spec, problem=None, eta=None):
    """The ``[(sigma, steps), ...]`` list a validated noise-only schedule spec stands for
    (:func:`build_schedule` for every kind).

    ``kind = "theory"`` asks :func:`verified_pgd.theory.schedule` (needs ``problem`` and
    ``eta``); it raises a one-line ValueError if that function is not available.
    """
    kind = spec["kind"]
    if kind in FULL_KINDS or (kind == "stages" and spec["stages"]
                              and isinstance(spec["stages"][0], dict)):
        raise ConfigError(f"config: schedule.kind: {kind!r} with per-stage eta, sigma_w, "
                          "sigma_a has no (sigma, steps) form; use build_schedule")
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
        levels = geometric_levels(spec["sigma0"], spec["factor"], n)
        stages = [(levels[i], noisy // n + (1 if i < noisy % n else 0)) for i in range(n)]
        if tail > 0:
            stages.append((0.0, tail))
        return stages
    try:
        from ..theory import schedule as theory_schedule
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
    """``"float64"``, an integer number of digits, ``"mp:<dps>"`` or ``"arb:<bits>"``
    (:func:`verified_pgd._validate.parse_precision`, the solvers' own parser)."""
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return _int(v, path, MIN_DPS, 10_000)
    try:
        parse_precision(v)
    except (TypeError, ValueError) as exc:
        raise _err(path, str(exc).removeprefix("precision: ")) from None
    return v


def _gradient(v, path):
    if v == "population":
        return v
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return _int(v, path, 1)
    raise _err(path, f"must be 'population' or a mini-batch size (integer >= 1), got {v!r}")


def solver_spec(v, path="solver", eta_required=True):
    """The solver block; ``eta`` may be absent only when the schedule carries it
    (``eta_required=False``; it is then ``None``)."""
    _table(v, path, {"eta", "chains", "normalized", "noise", "gradient", "precision", "eps",
                     "record_every", "engine"}, required=("eta",) if eta_required else ())
    if not eta_required and "eta" in v:
        raise _err(_sub(path, "eta"), "must be absent: the schedule's stages carry their own "
                                      "eta (vp.pgd refuses both)")
    return {"eta": _float(v["eta"], _sub(path, "eta"), 0.0, strict_lo=True) if eta_required
            else None,
            "chains": _int(v.get("chains", 1), _sub(path, "chains"), 1, 1_000_000),
            "normalized": _bool(v.get("normalized", True), _sub(path, "normalized")),
            "noise": _choice(v.get("noise", "gaussian"), _sub(path, "noise"), ("gaussian", "ball")),
            "gradient": _gradient(v.get("gradient", "population"), _sub(path, "gradient")),
            "precision": _precision(v.get("precision", "float64"), _sub(path, "precision")),
            "eps": _float(v.get("eps", DEFAULT_EPS), _sub(path, "eps"), 0.0, 1.0, strict_lo=True,
                          strict_hi=True),
            "record_every": _int(v.get("record_every", 0), _sub(path, "record_every"), 0),
            "engine": _choice(v.get("engine", "auto"), _sub(path, "engine"),
                              ("auto", "compiled", "numpy"))}


def validate_task(v, path=""):
    """A single PGD run: ``{problem, init, schedule, solver, seed}`` (all validated)."""
    _table(v, path, {"problem", "init", "schedule", "solver", "seed"},
           required=("schedule", "solver"))
    schedule = schedule_spec(v["schedule"], _sub(path, "schedule"), full_form=True)
    return {"problem": problem_spec(v.get("problem", {"w_star": [1.0, 0.0, 0.0, 0.0],
                                                      "a_star": [1.0, 1.0, 1.0, -1.0]}),
                                    _sub(path, "problem")),
            "init": init_spec(v.get("init", {"kind": "random"}), _sub(path, "init")),
            "schedule": schedule,
            "solver": solver_spec(v["solver"], _sub(path, "solver"),
                                  eta_required=not schedule_carries_eta(schedule)),
            "seed": _int(v.get("seed", 0), _sub(path, "seed"), 0, 2**63 - 1)}


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


def _full_stages(v, path):
    """Stages ``{steps, eta, sigma_w, sigma_a}`` (``eta`` in every stage or in none; each
    sigma non-increasing), checked here so that every message names its key."""
    out = []
    for i, st in enumerate(v):
        q = f"{path}[{i}]"
        if not isinstance(st, dict):
            raise _err(q, "must be a table {steps, eta, sigma_w, sigma_a} like stage 0, "
                          f"got {st!r}")
        _table(st, q, _STAGE_TABLE_KEYS, required=("steps", "sigma_w", "sigma_a"))
        row = {"steps": _int(st["steps"], _sub(q, "steps"), 1)}
        if ("eta" in st) != ("eta" in v[0]):
            raise _err(_sub(q, "eta"), "must be given in every stage or in none")
        if "eta" in st:
            row["eta"] = _float(st["eta"], _sub(q, "eta"), 0.0, strict_lo=True)
        for name in ("sigma_w", "sigma_a"):
            row[name] = _float(st[name], _sub(q, name), 0.0)
            if i and row[name] > out[-1][name]:
                raise _err(_sub(q, name), "must be non-increasing (noise annealing)")
        out.append(row)
    return out


def _epochs_spec(v, path):
    """``kind = "epochs"``: the parameters of :meth:`Schedule.epochs`, each checked here."""
    _table(v, path, {"kind"} | _EPOCHS_KEYS,
           required=("epochs", "steps_per_epoch", "eta0", "eta_decay", "sigma_w0", "sigma_a0",
                     "sigma_decay"))
    out = {"kind": "epochs",
           "epochs": _int(v["epochs"], _sub(path, "epochs"), 1),
           "steps_per_epoch": _int(v["steps_per_epoch"], _sub(path, "steps_per_epoch"), 1),
           "eta0": _float(v["eta0"], _sub(path, "eta0"), 0.0, strict_lo=True),
           "eta_decay": _float(v["eta_decay"], _sub(path, "eta_decay"), 0.0, strict_lo=True),
           "sigma_w0": _float(v["sigma_w0"], _sub(path, "sigma_w0"), 0.0),
           "sigma_a0": _float(v["sigma_a0"], _sub(path, "sigma_a0"), 0.0),
           "sigma_decay": _float(v["sigma_decay"], _sub(path, "sigma_decay"), 0.0, 1.0),
           "final_steps": _int(v.get("final_steps", 0), _sub(path, "final_steps"), 0)}
    if "final_eta" in v:
        if out["final_steps"] == 0:
            raise _err(_sub(path, "final_eta"), "needs final_steps >= 1 (a final stage)")
        out["final_eta"] = _float(v["final_eta"], _sub(path, "final_eta"), 0.0, strict_lo=True)
    return out
