"""The ``[[claim]]`` TOML schema: quantities, parsing into :class:`Claim`, and the
teacher a grid point stands for."""
from __future__ import annotations

import itertools
import keyword
import math
import numbers
from dataclasses import dataclass

import numpy as np

from .._io import InputError, loads_toml, read_text
from .._validate import limit
from .expression import FUNCTIONS, ClaimError, Expression, parse_expression


DETERMINISTIC = {
    # quantity: (method, required params)
    "barrier": ("arb", ()),
    "saddle_loss": ("arb", ()),
    "spurious_loss": ("arb", ()),
    "mu": ("arb", ()),
    "lam_max": ("arb", ()),
    "smoothness": ("mp50", ()),
    "basin_radius": ("mp50", ()),
    "schedule_length": ("exact", ("eta", "eps", "delta")),
}
STATISTICAL = {
    "steps_to_eps": ("eta", "eps", "delta"),
    "success_probability": ("eta", "eps", "delta"),
    "escape_time": ("eta", "sigma"),
    "zhou2019_success": ("eps",),
    "gd_spurious": ("eta",),
    "delta_exponent": ("eta", "x_max"),
    "restart_exponent": ("eta", "x", "restarts"),
}
# probability-valued statistical quantities: the claim is about P(event) itself
PROBABILITIES = ("success_probability", "zhou2019_success", "gd_spurious")
QUANTITIES = tuple(DETERMINISTIC) + tuple(STATISTICAL)
PROBLEM_PARAMS = ("k", "p", "s", "a_norm")
DERIVED = ("sa", "barrier", "mu", "lam_max", "saddle_loss", "spurious_loss", "pi",
           "dL_over_Lspur")
_RELATIONS = ("<=", ">=", "<", ">")
_CLAIM_KEYS = {"name", "quantity", "relation", "bound", "constants", "fit", "grid", "params",
               "problem", "confidence", "chains", "seed", "probability", "init", "horizon",
              "select"}
BOUND_RTOL = 1e-15      # the bound is evaluated in float64
MP_RTOL = 1e-30         # mpmath (50 digits) values of non-arb deterministic quantities


@dataclass(frozen=True)
class Claim:
    """A parsed ``[[claim]]`` table (see docs/claims.md)."""

    name: str
    quantity: str
    relation: str
    bound: Expression
    constants: dict
    fit: str | None
    grid: dict
    params: dict
    problem: dict
    confidence: float
    chains: int
    seed: int
    probability: Expression | None
    init: str
    horizon: int | None
    source: str = ""
    select: str = "loss"          # restart_exponent: "loss" (the remedy) or "random" (control)

    def points(self):
        """The grid points (dicts), in file order (cartesian product)."""
        keys = list(self.grid)
        for combo in itertools.product(*(self.grid[k] for k in keys)):
            pt = dict(self.params)
            pt.update(zip(keys, combo))
            yield pt


def _err(claim, msg):
    return ClaimError(f"claim {claim!r}: {msg}")


def _number(x, claim, what):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise _err(claim, f"{what}: expected a finite number, got {x!r}")
    try:
        finite = math.isfinite(float(x))
    except OverflowError:                     # a 400-digit integer
        finite = False
    if not finite:
        raise _err(claim, f"{what}: expected a finite number, got {str(x)[:40]}")
    return float(x) if not isinstance(x, int) else x


def _count(x, claim, what):
    """k and p: whole numbers within the dimension limit (2.5 is refused, not truncated)."""
    x = _number(x, claim, what)
    if isinstance(x, float):
        if not x.is_integer():
            raise _err(claim, f"{what}: expected an integer, got {x!r}")
        x = int(x)
    if not 1 <= x <= limit("dimension"):
        raise _err(claim, f"{what}: expected an integer in [1, {limit('dimension')}], got {x} "
                          "(set VPGD_MAX_DIMENSION to lift the upper limit)")
    return x


def _parse_claim(d, source, index):
    if not isinstance(d, dict):
        raise ClaimError(f"{source}: claim {index + 1}: expected a table")
    name = d.get("name", f"#{index + 1}")
    if not isinstance(name, str) or not name.strip():
        raise ClaimError(f"{source}: claim {index + 1}: name must be a non-empty string")
    unknown = set(d) - _CLAIM_KEYS
    if unknown:
        raise _err(name, f"unknown key(s) {sorted(unknown)}")
    q = d.get("quantity")
    if q not in QUANTITIES:
        raise _err(name, f"quantity: expected one of {', '.join(QUANTITIES)}, got {q!r}")
    rel = d.get("relation", "<=")
    if rel not in _RELATIONS:
        raise _err(name, f"relation: expected one of {_RELATIONS}, got {rel!r}")
    consts = d.get("constants", {})
    if not isinstance(consts, dict):
        raise _err(name, "constants: expected a table of numbers")
    consts = {k: _number(v, name, f"constants.{k}") for k, v in consts.items()}
    for key in consts:
        # a constant no bound can name (e.g. "" or "a b") could still be the fitted one
        if not key.isidentifier() or keyword.iskeyword(key) or key.startswith("_") \
                or key in FUNCTIONS:
            raise _err(name, f"constants: {key!r} is not a name a bound can use (an "
                             "identifier, not starting with _, not log/exp/sqrt/min/max)")
    grid = d.get("grid", {})
    if not isinstance(grid, dict):
        raise _err(name, "grid: expected a table of lists")
    g2 = {}
    for key, vals in grid.items():
        if not isinstance(vals, list) or not vals:
            raise _err(name, f"grid.{key}: expected a non-empty list")
        conv = _count if key in ("k", "p") else _number
        g2[key] = [conv(v, name, f"grid.{key}") for v in vals]
    n_points = math.prod(len(v) for v in g2.values())
    if n_points > limit("grid"):
        raise _err(name, f"grid: {n_points} points, more than the limit {limit('grid')} "
                         "(set VPGD_MAX_GRID to lift it)")
    params = d.get("params", {})
    if not isinstance(params, dict):
        raise _err(name, "params: expected a table of numbers")
    params = {k: (_count if k in ("k", "p") else _number)(v, name, f"params.{k}")
              for k, v in params.items()}
    overlap = (set(consts) & (set(g2) | set(params))) | (set(g2) & set(params))
    if overlap:
        raise _err(name, f"name(s) {sorted(overlap)} defined twice (constants/grid/params)")
    problem = d.get("problem", {"family": "alternating"})
    if not isinstance(problem, dict):
        raise _err(name, "problem: expected a table")
    pnames = set(g2) | set(params)
    fixed = "w_star" in problem or "a_star" in problem
    if fixed and ({"k", "p"} & pnames):
        raise _err(name, "grid/params k, p conflict with an explicit w_star/a_star")
    needed = DETERMINISTIC[q][1] if q in DETERMINISTIC else STATISTICAL[q]
    missing = [x for x in needed if x not in pnames]
    if missing:
        raise _err(name, f"quantity {q} needs parameter(s) {missing} in grid or params")
    allowed = set(consts) | pnames | set(PROBLEM_PARAMS) | set(DERIVED)
    bound = parse_expression(d.get("bound"), allowed, where=f"claim {name!r}: bound")
    prob_expr = None
    if "probability" in d:
        pv = d["probability"]
        prob_expr = parse_expression(str(pv) if isinstance(pv, (int, float)) and not isinstance(pv, bool)
                                     else pv, allowed, where=f"claim {name!r}: probability")
    fit = d.get("fit", next(iter(consts), None))
    if fit is not None and fit not in consts:
        raise _err(name, f"fit: {fit!r} is not one of the constants")
    conf = d.get("confidence", 0.999)
    if isinstance(conf, bool) or not isinstance(conf, numbers.Real) or not 0 < conf < 1:
        raise _err(name, f"confidence: expected a number in (0, 1), got {conf!r}")
    chains = d.get("chains", 200)
    if isinstance(chains, bool) or not isinstance(chains, int) or not 1 <= chains <= 100_000:
        raise _err(name, f"chains: expected an integer in [1, 100000], got {chains!r}")
    seed = d.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _err(name, f"seed: expected an integer >= 0, got {seed!r}")
    init = d.get("init", "spurious")
    if init not in ("spurious", "antipodal", "random"):
        raise _err(name, f"init: expected 'spurious', 'antipodal' or 'random', got {init!r}")
    horizon = d.get("horizon")
    if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, int)
                                or not 1 <= horizon <= 10_000_000):
        raise _err(name, f"horizon: expected an integer in [1, 1e7], got {horizon!r}")
    _check_problem_spec(problem, name)
    if q in ("delta_exponent", "restart_exponent"):
        for key in ("probability", "horizon", "init" if q == "restart_exponent" else ""):
            if key in d:
                raise _err(name, f"{key}: not used by {q} (docs/claims.md)")
    if q == "delta_exponent":
        _check_delta_exponent(g2, params, name)
    select = d.get("select", "loss")
    if "select" in d and q != "restart_exponent":
        raise _err(name, "select: only restart_exponent claims take it")
    if select not in ("loss", "random"):
        raise _err(name, f"select: expected 'loss' or 'random', got {select!r}")
    if q == "restart_exponent":
        _check_restart_exponent(g2, params, name)
    return Claim(name, q, rel, bound, consts, fit, g2, params, dict(problem), float(conf),
                 chains, seed, prob_expr, init, horizon, source, select)


def _check_delta_exponent(grid, params, name):
    """The ladder parameters of ``delta_exponent`` (docs/claims.md), at every grid point,
    before anything runs: eta > 0, 0 < x_min, 0 < x_step, x_max >= x_min + x_step (at
    least two members), at most MAX_MEMBERS members, 0 < hold <= 1000, quench an integer
    in [1, 10**6]."""
    from .delta_law import DEFAULTS, MAX_MEMBERS
    keys = list(grid)
    for combo in itertools.product(*(grid[k] for k in keys)):
        pt = dict(DEFAULTS)
        pt.update(params)
        pt.update(zip(keys, combo))
        for key in ("eta", "x_min", "x_step", "hold"):
            if not pt[key] > 0:
                raise _err(name, f"{key}: expected a number > 0, got {pt[key]!r}")
        if pt["hold"] > 1000:
            raise _err(name, f"hold: expected a number in (0, 1000], got {pt['hold']!r}")
        if not pt["x_max"] >= pt["x_min"] + pt["x_step"]:
            raise _err(name, f"x_max: expected >= x_min + x_step = {pt['x_min'] + pt['x_step']:g}"
                             f" (at least two schedules), got {pt['x_max']!r}")
        n = math.floor((pt["x_max"] - pt["x_min"]) / pt["x_step"] + 1e-9) + 1
        if n > MAX_MEMBERS:
            raise _err(name, f"x_step: {n} schedules from x_min to x_max, more than "
                             f"{MAX_MEMBERS}")
        qn = pt["quench"]
        if isinstance(qn, float) and qn.is_integer():
            qn = int(qn)
        if not isinstance(qn, int) or not 1 <= qn <= 10**6:
            raise _err(name, f"quench: expected an integer in [1, 1000000], got {pt['quench']!r}")


def _check_restart_exponent(grid, params, name):
    """The parameters of ``restart_exponent`` (docs/claims.md) at every grid point: eta,
    x > 0; restarts an integer in [1, 1000]; 0 < hold <= 1000; quench an integer in
    [1, 10**6]; 0 < eps < 1."""
    from .restart_law import DEFAULTS
    keys = list(grid)
    for combo in itertools.product(*(grid[k] for k in keys)):
        pt = dict(DEFAULTS)
        pt.update(params)
        pt.update(zip(keys, combo))
        for key in ("eta", "x", "hold"):
            if not pt[key] > 0:
                raise _err(name, f"{key}: expected a number > 0, got {pt[key]!r}")
        if pt["hold"] > 1000:
            raise _err(name, f"hold: expected a number in (0, 1000], got {pt['hold']!r}")
        if not 0 < pt["eps"] < 1:
            raise _err(name, f"eps: expected a number in (0, 1), got {pt['eps']!r}")
        for key, hi in (("restarts", 1000), ("quench", 10**6)):
            v = pt[key]
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if not isinstance(v, int) or not 1 <= v <= hi:
                raise _err(name, f"{key}: expected an integer in [1, {hi}], got {pt[key]!r}")


def _check_problem_spec(spec, name):
    allowed = {"family", "w_star", "a_star", "k", "p", "s", "a_norm"}
    unknown = set(spec) - allowed
    if unknown:
        raise _err(name, f"problem: unknown key(s) {sorted(unknown)}")
    fixed = "w_star" in spec or "a_star" in spec
    if fixed and not ("w_star" in spec and "a_star" in spec):
        raise _err(name, "problem: give both w_star and a_star (or a family)")
    if fixed:
        for key in ("w_star", "a_star"):
            v = spec[key]
            if not isinstance(v, list) or not v:
                raise _err(name, f"problem.{key}: expected a non-empty list of numbers")
            for x in v:
                _number(x, name, f"problem.{key}")
    elif spec.get("family", "alternating") != "alternating":
        raise _err(name, f"problem.family: only 'alternating' is known, got {spec.get('family')!r}")
    for key in ("k", "p", "s", "a_norm"):
        if key in spec:
            (_count if key in ("k", "p") else _number)(spec[key], name, f"problem.{key}")


def parse_claims(text: str, source: str = "<string>") -> list:
    """Parse TOML text into a list of :class:`Claim` (ClaimError on anything malformed)."""
    try:
        doc = loads_toml(text, source)
    except InputError as exc:
        msg = str(exc)
        head = f"{source}: invalid TOML"          # not a replace: the source may contain it
        if msg.startswith(head):
            msg = f"{source}: not valid TOML{msg[len(head):]}"
        raise ClaimError(msg) from None
    unknown = set(doc) - {"claim"}
    if unknown:
        raise ClaimError(f"{source}: unknown top-level key(s) {sorted(unknown)} "
                         f"(claims are [[claim]] tables)")
    items = doc.get("claim")
    if not isinstance(items, list) or not items:
        raise ClaimError(f"{source}: no [[claim]] tables")
    return [_parse_claim(d, source, i) for i, d in enumerate(items)]


def load_claims(path) -> list:
    """Read and parse a claims file."""
    from pathlib import Path
    try:
        text = read_text(Path(path), "claims")
    except InputError as exc:
        raise ClaimError(str(exc)) from None
    return parse_claims(text, str(path))


# --------------------------------------------------------------------------- problems

def build_problem(spec, point):
    """The teacher for a grid point: explicit w_star/a_star, or the alternating family
    ``a* = a_norm (1, -1, 1, ...) / sqrt(k)``, ``w* = s e_1`` (spurious minimum for k >= 2)."""
    from ..problem import Problem
    if "w_star" in spec:
        return Problem(spec["w_star"], spec["a_star"])
    k = int(point.get("k", spec.get("k", 2)))
    p = int(point.get("p", spec.get("p", 3)))
    s = float(point.get("s", spec.get("s", 1.0)))
    an = float(point.get("a_norm", spec.get("a_norm", 1.0)))
    if k < 1 or p < 1 or not s > 0 or not an > 0:
        raise ValueError(f"problem: need k, p >= 1 and s, a_norm > 0 (got k={k}, p={p}, "
                         f"s={s}, a_norm={an})")
    a = np.array([(-1.0) ** j for j in range(k)]) * an / math.sqrt(k)
    w = np.zeros(p)
    w[0] = s
    return Problem(w, a)
