"""User-stated claims (TOML) about quantities the project measures or computes.

A claims file holds one or more ``[[claim]]`` tables (format: docs/claims.md)::

    [[claim]]
    name = "escape is Kramers-fast"
    quantity = "escape_time"             # see QUANTITIES
    relation = "<="                      # quantity <relation> bound
    bound = "C * exp(2 * barrier / (eta * sigma**2)) / (eta * sigma**2)"
    constants = { C = 50.0 }
    confidence = 0.999
    chains = 200
    [claim.problem]
    family = "alternating"               # or w_star = [...], a_star = [...]
    [claim.grid]
    k = [2, 4]
    eta = [0.3]
    sigma = [0.5, 0.7]

For every point of the grid (the cartesian product of the ``grid`` lists) the claim is
*holds*, *violated* or *undecided*, with the confidence that verdict carries, plus the
smallest value of the claim's (first) constant that the data are consistent with.

Bounds are expressions parsed with an AST whitelist (numbers, parameter and constant
names, ``+ - * / **``, unary ``-``/``+``, ``log exp sqrt min max``) and evaluated by a
small interpreter over that tree: text from a claims file never reaches ``eval``,
``exec`` or sympy.  Anything else (attribute access, subscripts, lambdas, comprehensions,
other calls, ``__import__``, strings) is a :class:`ClaimError` naming the claim, raised
while the file is read, before anything is evaluated.
"""
from __future__ import annotations

import ast
import itertools
import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["ClaimError", "Expression", "parse_expression", "Claim", "load_claims",
           "parse_claims", "check_claim", "PointResult", "QUANTITIES", "DETERMINISTIC",
           "STATISTICAL", "clopper_pearson", "success_slack", "success_verdict",
           "SuccessVerdict", "certified_value"]


class ClaimError(ValueError):
    """A malformed claim (a user error: the CLI prints one line and exits 2)."""


# --------------------------------------------------------------------------- expressions

FUNCTIONS = {"log": (1, 1), "exp": (1, 1), "sqrt": (1, 1), "min": (2, 16), "max": (2, 16)}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_UNARY = (ast.USub, ast.UAdd)
MAX_LENGTH = 2000
MAX_DEPTH = 60


def _describe(node):
    names = {ast.Attribute: "attribute access", ast.Subscript: "subscript",
             ast.Lambda: "lambda", ast.Call: "call", ast.Compare: "comparison",
             ast.BoolOp: "boolean operator", ast.IfExp: "conditional expression",
             ast.ListComp: "comprehension", ast.GeneratorExp: "comprehension",
             ast.SetComp: "comprehension", ast.DictComp: "comprehension",
             ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict", ast.Set: "set",
             ast.JoinedStr: "f-string", ast.Starred: "starred argument",
             ast.NamedExpr: "assignment expression", ast.Await: "await"}
    return names.get(type(node), type(node).__name__)


class Expression:
    """A checked bound expression; ``names`` are the free names it uses (functions
    excluded); ``evaluate(env)`` walks the whitelisted tree with float arithmetic."""

    __slots__ = ("text", "tree", "names")

    def __init__(self, text, tree, names):
        self.text, self.tree, self.names = text, tree, frozenset(names)

    def __repr__(self):
        return f"Expression({self.text!r})"

    def evaluate(self, env) -> float:
        """The value in float64; overflow gives inf (the constant search relies on it)."""
        return _eval(self.tree.body, env)

    def value(self, env, where="bound") -> float:
        """:meth:`evaluate`, but a non-finite result is a ClaimError: a bound that
        overflows float64 is no bound (it would make any claim hold)."""
        v = self.evaluate(env)
        if not math.isfinite(v):
            raise ClaimError(f"{where}: {self.text[:60]!r} evaluates to {v} (overflows "
                             "float64) at this point")
        return v


def parse_expression(text, allowed_names=None, where="bound") -> Expression:
    """Parse ``text`` into an :class:`Expression` or raise :class:`ClaimError`.

    ``allowed_names``: if given, every free name must be in it (functions are separate).
    Nothing is evaluated here.
    """
    if not isinstance(text, str):
        raise ClaimError(f"{where}: expected an expression string, got {type(text).__name__}")
    if not text.strip():
        raise ClaimError(f"{where}: empty expression")
    if len(text) > MAX_LENGTH:
        raise ClaimError(f"{where}: expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ClaimError(f"{where}: not a valid expression ({exc.msg})") from None
    names = set()

    def check(node, depth):
        if depth > MAX_DEPTH:
            raise ClaimError(f"{where}: expression nested deeper than {MAX_DEPTH}")
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ClaimError(f"{where}: constant {v!r} is not allowed (numbers only)")
            if isinstance(v, int) and v.bit_length() > 1023 and math.isinf(_as_float(v)):
                raise ClaimError(f"{where}: number literal with {len(str(v))} digits is "
                                 "too large for float64")
            return
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise ClaimError(f"{where}: name {node.id!r} is not allowed")
            if node.id in FUNCTIONS:
                raise ClaimError(f"{where}: function {node.id!r} used without a call")
            if allowed_names is not None and node.id not in allowed_names:
                raise ClaimError(f"{where}: unknown name {node.id!r} (known: "
                                 f"{', '.join(sorted(allowed_names))})")
            names.add(node.id)
            return
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINOPS):
                raise ClaimError(f"{where}: operator {type(node.op).__name__} is not allowed "
                                 f"(only + - * / **)")
            check(node.left, depth + 1)
            check(node.right, depth + 1)
            return
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, _UNARY):
                raise ClaimError(f"{where}: unary {type(node.op).__name__} is not allowed")
            check(node.operand, depth + 1)
            return
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                what = ast.unparse(node.func) if hasattr(ast, "unparse") else "?"
                raise ClaimError(f"{where}: call of {what!r} is not allowed (only "
                                 f"{', '.join(FUNCTIONS)})")
            if node.keywords:
                raise ClaimError(f"{where}: keyword arguments are not allowed")
            lo, hi = FUNCTIONS[node.func.id]
            if not lo <= len(node.args) <= hi:
                raise ClaimError(f"{where}: {node.func.id} takes "
                                 f"{lo if lo == hi else f'{lo} to {hi}'} argument(s), "
                                 f"got {len(node.args)}")
            for a in node.args:
                if isinstance(a, ast.Starred):
                    raise ClaimError(f"{where}: starred argument is not allowed")
                check(a, depth + 1)
            return
        raise ClaimError(f"{where}: {_describe(node)} is not allowed (only numbers, names, "
                         f"+ - * / **, log, exp, sqrt, min, max)")

    check(tree.body, 0)
    return Expression(text.strip(), tree, names)


def _as_float(v) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf


def _eval(node, env):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return float(env[node.id])
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        x, y = _eval(node.left, env), _eval(node.right, env)
        op = node.op
        try:
            if isinstance(op, ast.Add):
                return x + y
            if isinstance(op, ast.Sub):
                return x - y
            if isinstance(op, ast.Mult):
                return x * y
            if isinstance(op, ast.Div):
                if y == 0:
                    raise ClaimError("bound: division by zero")
                return x / y
            r = x ** y                          # floats: overflow raises, never hangs
            if isinstance(r, complex):
                raise ClaimError("bound: negative number to a fractional power")
            return r
        except OverflowError:
            return math.inf
        except ZeroDivisionError:               # 0.0 ** -1
            raise ClaimError("bound: zero to a negative power") from None
    if isinstance(node, ast.Call):
        args = [_eval(a, env) for a in node.args]
        f = node.func.id
        try:
            if f == "log":
                return math.log(args[0])
            if f == "exp":
                return math.exp(args[0])
            if f == "sqrt":
                return math.sqrt(args[0])
        except OverflowError:
            return math.inf
        except ValueError:
            raise ClaimError(f"bound: {f}({args[0]!r}) is undefined") from None
        return min(args) if f == "min" else max(args)
    raise ClaimError(f"bound: {_describe(node)} is not allowed")   # unreachable after check
# --------------------------------------------------------------------------- statistics

def clopper_pearson(successes: int, n: int, alpha: float = 1e-6):
    """One-sided-``alpha`` Clopper–Pearson bounds ``(low, high)`` of a binomial proportion
    (the two-sided exact interval at level ``1 - 2 alpha``; scipy's binomtest)."""
    from scipy.stats import binomtest
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=1 - 2 * alpha,
                                                        method="exact")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class SuccessVerdict:
    """Outcome of :func:`success_verdict`: ``holds`` iff the Clopper–Pearson lower bound
    ``low`` is >= ``threshold = 1 - delta - slack``."""

    holds: bool
    successes: int
    n: int
    low: float
    high: float
    threshold: float
    slack: float
    alpha: float


def success_slack(n: int, delta: float, alpha: float = 1e-6) -> float:
    """The slack that makes "CP lower bound >= 1 - delta - slack" fail with probability
    <= ``alpha`` whenever the true success probability is >= 1 - delta.

    Failures X ~ Bin(n, q) with q <= delta; x_crit = the smallest x with
    P(X > x | q = delta) <= alpha (stochastically largest at q = delta).  The verdict
    holds iff X <= x_crit, i.e. iff the lower bound is >= CP_low(n - x_crit, n); the slack
    is the distance from 1 - delta to that threshold (computed, not chosen).
    """
    from scipy.stats import binom
    x_crit = int(binom.isf(alpha, int(n), float(delta)))
    while binom.sf(x_crit, n, delta) > alpha:
        x_crit += 1
    low, _ = clopper_pearson(n - x_crit, n, alpha)
    return max(0.0, 1.0 - delta - low)


def success_verdict(successes: int, n: int, delta: float, alpha: float = 1e-6,
                    slack: float | None = None) -> SuccessVerdict:
    """Does an observed ``successes`` out of ``n`` support "success probability >=
    1 - delta"?  Default slack: :func:`success_slack` (false failure <= alpha)."""
    if slack is None:
        slack = success_slack(n, delta, alpha)
    low, high = clopper_pearson(successes, n, alpha)
    thr = 1.0 - delta - slack
    return SuccessVerdict(bool(low >= thr - 1e-12), int(successes), int(n), low, high, thr,
                          float(slack), float(alpha))


# --------------------------------------------------------------------------- claims

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
}
# probability-valued statistical quantities: the claim is about P(event) itself
_PROBABILITIES = ("success_probability", "zhou2019_success", "gd_spurious")
QUANTITIES = tuple(DETERMINISTIC) + tuple(STATISTICAL)
PROBLEM_PARAMS = ("k", "p", "s", "a_norm")
DERIVED = ("sa", "barrier", "mu", "lam_max", "saddle_loss", "spurious_loss", "pi")
_RELATIONS = ("<=", ">=", "<", ">")
_CLAIM_KEYS = {"name", "quantity", "relation", "bound", "constants", "fit", "grid", "params",
               "problem", "confidence", "chains", "seed", "probability", "init", "horizon"}
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
    from ._validate import limit
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
        raise ClaimError(f"{source}: claim {index}: expected a table")
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
    grid = d.get("grid", {})
    if not isinstance(grid, dict):
        raise _err(name, "grid: expected a table of lists")
    g2 = {}
    for key, vals in grid.items():
        if not isinstance(vals, list) or not vals:
            raise _err(name, f"grid.{key}: expected a non-empty list")
        conv = _count if key in ("k", "p") else _number
        g2[key] = [conv(v, name, f"grid.{key}") for v in vals]
    from ._validate import limit
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
    return Claim(name, q, rel, bound, consts, fit, g2, params, dict(problem), float(conf),
                 chains, seed, prob_expr, init, horizon, source)


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
    from ._io import InputError, loads_toml
    try:
        doc = loads_toml(text, source)
    except InputError as exc:
        raise ClaimError(str(exc).replace("invalid TOML", "not valid TOML", 1)) from None
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
    from ._io import InputError, read_text
    try:
        text = read_text(Path(path), "claims")
    except InputError as exc:
        raise ClaimError(str(exc)) from None
    return parse_claims(text, str(path))


# --------------------------------------------------------------------------- problems

def build_problem(spec, point):
    """The teacher for a grid point: explicit w_star/a_star, or the alternating family
    ``a* = a_norm (1, -1, 1, ...) / sqrt(k)``, ``w* = s e_1`` (spurious minimum for k >= 2)."""
    from .problem import Problem
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


def _down(x):
    """A float <= every point of the arb ball x (float() rounds to nearest: step one ulp)."""
    return math.nextafter(float(x.lower()), -math.inf)


def _up(x):
    return math.nextafter(float(x.upper()), math.inf)


def _arb_landscape(problem):
    """arb enclosures of Delta L, L(saddle), L(spurious), mu, lam_max from the closed forms
    (DESIGN section 3 / theory.landscape), with the teacher's floats taken exactly."""
    import flint
    old = flint.ctx.prec
    flint.ctx.prec = 200
    try:
        a = [flint.arb(float(x)) for x in problem.a_star]
        w = [flint.arb(float(x)) for x in problem.w_star]
        A = sum(x * x for x in a)
        S = sum(a)
        s2 = sum(x * x for x in w)
        pi = flint.arb.pi()
        k = problem.k
        den = (k + pi - 1) * A - S * S
        alpha = den / ((pi - 1) * (k + pi - 1))
        out = {}
        ev = [(k + pi - 1) / (2 * pi)]
        if k >= 2:
            ev.append((pi - 1) / (2 * pi))
        if problem.p >= 2:
            ev.append(s2 * A / 2)
        # min/max of enclosures: [min of lowers, min of uppers], [max of lowers, max of uppers]
        lows = [_down(e) for e in ev]
        ups = [_up(e) for e in ev]
        res = {"mu": (min(lows), min(ups)), "lam_max": (max(lows), max(ups))}
        from .theory import has_spurious_minimum
        if has_spurious_minimum(problem):
            g_s = 1 - (pi - 1) * S * S / den
            out["barrier"] = s2 * alpha * g_s * g_s / (4 * pi)
            out["saddle_loss"] = s2 * alpha * (pi - g_s) ** 2 / (4 * pi)
            out["spurious_loss"] = s2 * alpha * (pi - 2 * g_s) / 4
        res.update({key: (_down(v), _up(v)) for key, v in out.items()})
        return res
    finally:
        flint.ctx.prec = old


def certified_value(problem, quantity, point=None):
    """``(low, high, method)`` for a deterministic quantity: arb enclosures of the closed
    forms (``method='arb'``), mpmath at 50 digits widened by ``MP_RTOL`` (``'mp50'``), or the
    exact integer length of :func:`verified_pgd.theory.schedule` (``'exact'``)."""
    method = DETERMINISTIC[quantity][0]
    if method == "arb":
        vals = _arb_landscape(problem)
        if quantity not in vals:
            raise ValueError(f"{quantity}: undefined for this problem (no spurious minimum)")
        lo, hi = vals[quantity]
        return lo, hi, method
    if method == "mp50":
        from . import theory
        if quantity == "smoothness":
            v = theory.smoothness_bound(problem, theory.default_radius(problem), dps=50)
        else:
            v = theory.basin_radius(problem, dps=50)
        v = float(v)
        return v - MP_RTOL * abs(v), v + MP_RTOL * abs(v), method
    from .theory.schedule_design import design
    n = design(problem, point["eps"], point["delta"], point["eta"]).total_steps
    return float(n), float(n), method


# --------------------------------------------------------------------------- checking

@dataclass(frozen=True)
class PointResult:
    """The verdict at one grid point.

    ``value``: (low, high) — an enclosure (deterministic) or, for statistical claims, the
    Clopper–Pearson interval of the probability that the inequality holds (for
    success_probability: of the success probability itself).  ``verdict`` is 'holds',
    'violated' or 'undecided'; ``confidence`` the level that verdict carries;
    ``limit`` the value of the fitted constant at which the data just agree with the
    claim; ``limit_kind`` 'min' when any larger constant also agrees, 'max' when any
    smaller one does; None when there is no such value.
    """

    claim: str
    point: dict
    quantity: str
    relation: str
    bound: float
    value: tuple
    verdict: str
    confidence: float
    method: str
    fit: str | None
    limit: float | None
    limit_kind: str | None
    note: str = ""

    def to_dict(self):
        return {"claim": self.claim, "point": self.point, "quantity": self.quantity,
                "relation": self.relation, "bound": self.bound, "value": list(self.value),
                "verdict": self.verdict, "confidence": self.confidence, "method": self.method,
                "fit": self.fit, "limit": self.limit, "limit_kind": self.limit_kind,
                "note": self.note}


def _env(claim, point, problem):
    env = {"pi": math.pi, "k": problem.k, "p": problem.p, "s": problem.s,
           "a_norm": float(np.linalg.norm(problem.a_star))}
    env["sa"] = env["s"] * env["a_norm"]
    from . import theory
    sp = theory.hessian_spectrum(problem)
    env["mu"], env["lam_max"] = float(sp.mu), float(sp.lam_max)
    if any(n in claim.bound.names for n in ("barrier", "saddle_loss", "spurious_loss")) or (
            claim.probability is not None and claim.probability.names
            & {"barrier", "saddle_loss", "spurious_loss"}):
        if not theory.has_spurious_minimum(problem):
            raise ValueError(f"claim {claim.name!r}: bound uses the barrier but the problem "
                             f"at {point} has no spurious minimum")
        env["barrier"] = float(theory.barrier(problem))
        env["saddle_loss"] = float(theory.saddle(problem).loss)
        env["spurious_loss"] = float(theory.spurious_minimum(problem).loss)
    env.update(point)
    env.update(claim.constants)
    return env


def _solve_constant(claim, env, target, upper_claim):
    """``(c, kind)``: the value c > 0 of the fitted constant where bound(c) = target
    (bisection; the bound must be monotone in c) and whether the data allow any constant
    above it (``'min'``) or below it (``'max'``).  ``(None, None)`` if not bracketed."""
    c = _crossing(claim, env, target)
    if c is None:
        return None, None
    e1, e2 = dict(env), dict(env)
    e1[claim.fit], e2[claim.fit] = max(c, 1e-300), 2 * max(c, 1e-300)
    up = claim.bound.evaluate(e2) >= claim.bound.evaluate(e1)
    return c, ("min" if up == upper_claim else "max")


def _crossing(claim, env, target):
    name = claim.fit
    if name is None or not math.isfinite(target):
        return None

    def f(c):
        e = dict(env)
        e[name] = c
        return claim.bound.evaluate(e)
    lo, hi = 0.0, max(abs(float(claim.constants[name])), 1e-300)
    try:
        f_lo = f(lo)
        up = f(2 * hi) >= f(hi)
    except (ClaimError, ZeroDivisionError):
        lo = hi * 1e-300
        f_lo = f(lo)
        up = f(2 * hi) >= f(hi)
    if (f_lo - target) * (1 if up else -1) >= 0:
        return lo
    for _ in range(2100):
        if (f(hi) - target) * (1 if up else -1) >= 0:
            break
        lo, hi = hi, hi * 2
        if hi > 1e300:
            return None
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if (f(mid) - target) * (1 if up else -1) >= 0:
            hi = mid
        else:
            lo = mid
    return hi


def _holds(rel, x, b):
    return {"<=": x <= b, "<": x < b, ">=": x >= b, ">": x > b}[rel]


def _sample(claim, point, problem):
    """Statistical sample: per chain the value of the quantity (steps or escape time;
    ``inf`` when not reached), or success indicators."""
    from . import theory
    from .solvers import pgd
    if claim.quantity in ("zhou2019_success", "gd_spurious"):
        return _sample_protocol(claim, point, problem)
    eta = float(point["eta"])
    if claim.quantity == "escape_time":
        from .escape import escape_times
        horizon = claim.horizon or 100_000
        smp = escape_times(problem, float(point["sigma"]), eta, chains=claim.chains,
                           horizon=horizon, seed=claim.seed, record_every=1 if horizon <= 20_000
                           else None)
        return np.asarray(smp.times, float), f"horizon {horizon}, resolution {smp.record_every}"
    sched = theory.schedule(problem, float(point["eps"]), float(point["delta"]), eta)
    if claim.init == "spurious" and theory.has_spurious_minimum(problem):
        sp = theory.spurious_minimum(problem)
        w0, a0 = np.asarray(sp.w, float), np.asarray(sp.a, float)
    else:
        w0 = -np.asarray(problem.w_hat_star, float)
        a0 = np.zeros(problem.k)
    res = pgd(problem, w0, a0, sched, eta, seed=claim.seed, chains=claim.chains,
              eps=float(point["eps"]), record_every=sched.total_steps)
    hit = np.where((res.hit_step >= 0) & ~res.diverged, res.hit_step.astype(float), np.inf)
    return hit, f"theory.schedule T = {sched.total_steps}, init {claim.init}"


def _starts(claim, problem):
    from . import theory
    if claim.init == "random":
        rng = np.random.default_rng([claim.seed, 0x1213])
        w = rng.standard_normal((claim.chains, problem.p))
        w /= np.linalg.norm(w, axis=1, keepdims=True)
        return w, rng.standard_normal((claim.chains, problem.k)) / np.sqrt(problem.k)
    if claim.init == "spurious" and theory.has_spurious_minimum(problem):
        sp = theory.spurious_minimum(problem)
        return np.asarray(sp.w, float), np.asarray(sp.a, float)
    return -np.asarray(problem.w_hat_star, float), np.zeros(problem.k)


def _sample_protocol(claim, point, problem):
    """``zhou2019_success``: final eps-success of PGD with ``Schedule.zhou2019()``
    (Gaussian rho) from ``init``; ``gd_spurious``: GD at ``eta`` for ``horizon`` steps
    (default 8000) from ``init`` ends on the spurious side theta > theta_s.  Returned as
    ``0`` (event) / ``inf`` (no event) per chain, like success indicators."""
    from . import theory
    from .solver import Schedule, pgd
    w0, a0 = _starts(claim, problem)
    if claim.quantity == "zhou2019_success":
        eps = float(point["eps"])
        res = pgd(problem, w0, a0, Schedule.zhou2019(), seed=claim.seed, chains=claim.chains,
                  eps=eps, record_every=Schedule.zhou2019().total_steps)
        ev = (res.history.theta[-1] <= eps) & (res.history.a_error[-1] <= eps) & ~res.diverged
        return np.where(ev, 0.0, np.inf), f"Schedule.zhou2019(), init {claim.init}, final state"
    horizon = claim.horizon or 8000
    th_s = float(theory.saddle_theta(problem)) if theory.has_spurious_minimum(problem) else np.pi
    res = pgd(problem, w0, a0, Schedule.constant(0.0, horizon), float(point["eta"]),
              seed=claim.seed, chains=claim.chains, record_every=horizon)
    ev = (res.history.theta[-1] > th_s) & ~res.diverged
    return np.where(ev, 0.0, np.inf), f"GD {horizon} steps, init {claim.init}, final theta > theta_s"


def check_claim(claim: Claim) -> list:
    """Evaluate a claim at every grid point; a list of :class:`PointResult`."""
    out = []
    for point in claim.points():
        problem = build_problem(claim.problem, point)
        env = _env(claim, point, problem)
        try:
            b = claim.bound.value(env)
        except ClaimError as exc:
            raise _err(claim.name, f"at {point}: {exc}") from None
        if claim.quantity in DETERMINISTIC:
            out.append(_check_deterministic(claim, point, problem, env, b))
        else:
            out.append(_check_statistical(claim, point, problem, env, b))
    return out


def _check_deterministic(claim, point, problem, env, b):
    lo, hi, method = certified_value(problem, claim.quantity, point)
    tol = BOUND_RTOL * abs(b)
    rel = claim.relation
    if rel in ("<=", "<"):
        ok, bad = hi < b - tol or (rel == "<=" and hi <= b - tol), lo > b + tol
        target = hi
    else:
        ok, bad = lo > b + tol or (rel == ">=" and lo >= b + tol), hi < b - tol
        target = lo
    verdict = "holds" if ok else "violated" if bad else "undecided"
    limit, kind = _solve_constant(claim, env, target, rel in ("<=", "<"))
    mdesc = {"arb": "arb enclosure of the closed form",
             "mp50": f"mpmath 50 digits, relative tolerance {MP_RTOL:g}",
             "exact": "exact integer"}[method]
    return PointResult(claim.name, point, claim.quantity, rel, b, (lo, hi), verdict, 1.0,
                       method, claim.fit, limit, kind if claim.fit else None,
                       f"{mdesc}; bound in float64 (relative tolerance {BOUND_RTOL:g})")


def _check_statistical(claim, point, problem, env, b):
    alpha = 1.0 - claim.confidence
    x, note = _sample(claim, point, problem)
    n = len(x)
    rel = claim.relation
    if claim.quantity in _PROBABILITIES:
        succ = int(np.sum(np.isfinite(x)))
        lo, hi = clopper_pearson(succ, n, alpha)
        # The claim is about the probability itself: P(success) rel b.
        if rel in (">=", ">"):
            verdict = "holds" if lo >= b else "violated" if hi < b else "undecided"
            target = lo
        else:
            verdict = "holds" if hi <= b else "violated" if lo > b else "undecided"
            target = hi
        limit, kind = _solve_constant(claim, env, target, rel in ("<=", "<"))
        return PointResult(claim.name, point, claim.quantity, rel, b, (lo, hi), verdict,
                           claim.confidence, "clopper-pearson", claim.fit, limit,
                           kind if claim.fit else None, f"{succ}/{n} successes; {note}")
    # steps_to_eps / escape_time: P(X rel b) >= q.
    q = (claim.probability.value(env, "probability") if claim.probability is not None
         else 1.0 - float(point["delta"]) if "delta" in point else 0.5)
    if not 0 < q <= 1:
        raise ValueError(f"claim {claim.name!r}: probability must lie in (0, 1], got {q}")
    good = int(np.sum(_holds(rel, x, b)))
    lo, hi = clopper_pearson(good, n, alpha)
    verdict = "holds" if lo >= q else "violated" if hi < q else "undecided"
    # Limit: the most favourable bound the data support at this confidence.
    xs = np.sort(x)
    j = next((j for j in range(1, n + 1) if clopper_pearson(j, n, alpha)[0] >= q), None)
    limit = kind = None
    if j is not None:
        target = float(xs[j - 1]) if rel in ("<=", "<") else float(xs[n - j])
        limit, kind = _solve_constant(claim, env, target, rel in ("<=", "<"))
    return PointResult(claim.name, point, claim.quantity, rel, b, (lo, hi), verdict,
                       claim.confidence, "clopper-pearson", claim.fit, limit,
                       kind if (claim.fit and limit is not None) else None,
                       f"P({claim.quantity} {rel} bound) >= {q:g} tested; "
                       f"{good}/{n} chains; {note}")
