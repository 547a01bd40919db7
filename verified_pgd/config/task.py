"""A single-run *task*: ``problem``, ``init``, ``schedule``, ``solver``, ``seed`` — what
``vpgd solve`` runs and what a sweep is made of (and the blocks the run configuration
reuses)."""
from __future__ import annotations

import numbers

from .._validate import DEFAULT_EPS, MIN_DPS, parse_precision
from ._leaves import (ConfigError, _bool, _choice, _err, _float, _int, _sub, _table,
                      _vector)

A_PATTERNS = ("mixed", "alternating", "ones", "gaussian")
INIT_KINDS = ("spurious", "random", "global", "saddle", "explicit")
SCHEDULE_KINDS = ("stages", "constant", "geometric", "theory")


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


def solver_spec(v, path="solver"):
    _table(v, path, {"eta", "chains", "normalized", "noise", "gradient", "precision", "eps",
                     "record_every", "engine"}, required=("eta",))
    return {"eta": _float(v["eta"], _sub(path, "eta"), 0.0, strict_lo=True),
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
    return {"problem": problem_spec(v.get("problem", {"w_star": [1.0, 0.0, 0.0, 0.0],
                                                      "a_star": [1.0, 1.0, 1.0, -1.0]}),
                                    _sub(path, "problem")),
            "init": init_spec(v.get("init", {"kind": "random"}), _sub(path, "init")),
            "schedule": schedule_spec(v["schedule"], _sub(path, "schedule")),
            "solver": solver_spec(v["solver"], _sub(path, "solver")),
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
