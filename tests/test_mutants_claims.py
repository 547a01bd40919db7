"""Fast, direct tests of verified_pgd.claims written against its mutation survivors
(docs/testing.md, "Mutation testing"): the exact validation messages and rejections of
the bound language and the TOML schema (the claims text is user input and never eval'd),
the interpreter's arithmetic and error cases, the Clopper-Pearson helpers against beta
quantiles, the verdict logic on controlled values (the statistical samples and the
exponent fits substituted), the fitted constant against a perturbed re-check, and the
delta / restart laws at tiny sizes against independent recomputations.

Statistical content: none of these tests is statistical except where stated (the
simulations use fixed seeds and are compared with an independent run of the same
documented procedure, which is exact, not a test of a law).
"""
import ast
import dataclasses
import math

import numpy as np
import pytest
from scipy.stats import beta as beta_dist
from scipy.stats import binom

import verified_pgd as vp
import verified_pgd.claims as C
from verified_pgd import theory
from verified_pgd.claims import delta_law, evaluation, expression, restart_law, spec, verdicts
from verified_pgd.claims.expression import ClaimError, parse_expression

ONLY = "(only numbers, names, + - * / **, log, exp, sqrt, min, max)"


def message(fn, *args, **kw):
    with pytest.raises(ClaimError) as info:
        fn(*args, **kw)
    return str(info.value)


# ------------------------------------------------------------------ the bound language

@pytest.mark.parametrize("text, expected", [
    ("await k", f"bound: await is not allowed {ONLY}"),
    ("(yield)", f"bound: Yield is not allowed {ONLY}"),
    ("k.real", f"bound: attribute access is not allowed {ONLY}"),
    ("x[0]", f"bound: subscript is not allowed {ONLY}"),
    ("lambda: 1", f"bound: lambda is not allowed {ONLY}"),
    ("k < s", f"bound: comparison is not allowed {ONLY}"),
    ("k and s", f"bound: boolean operator is not allowed {ONLY}"),
    ("1 if k else 2", f"bound: conditional expression is not allowed {ONLY}"),
    ("[x for x in k]", f"bound: comprehension is not allowed {ONLY}"),
    ("(x for x in k)", f"bound: comprehension is not allowed {ONLY}"),
    ("{x for x in k}", f"bound: comprehension is not allowed {ONLY}"),
    ("{x: 1 for x in k}", f"bound: comprehension is not allowed {ONLY}"),
    ("[k]", f"bound: list is not allowed {ONLY}"),
    ("(k, s)", f"bound: tuple is not allowed {ONLY}"),
    ("{k: 1}", f"bound: dict is not allowed {ONLY}"),
    ("{k}", f"bound: set is not allowed {ONLY}"),
    ("f'{k}'", f"bound: f-string is not allowed {ONLY}"),
    ("(k := 3)", f"bound: assignment expression is not allowed {ONLY}"),
    ("k // 2", "bound: operator FloorDiv is not allowed (only + - * / **)"),
    ("k % 2", "bound: operator Mod is not allowed (only + - * / **)"),
    ("k @ s", "bound: operator MatMult is not allowed (only + - * / **)"),
    ("~k", "bound: unary Invert is not allowed"),
    ("not k", "bound: unary Not is not allowed"),
    ("log(k=1)", "bound: keyword arguments are not allowed"),
    ("log(*k)", "bound: starred argument is not allowed"),
    ("eval(1)", "bound: call of 'eval' is not allowed (only log, exp, sqrt, min, max)"),
    ("__import__('os')",
     "bound: call of '__import__' is not allowed (only log, exp, sqrt, min, max)"),
    ("k.real(1)", "bound: call of 'k.real' is not allowed (only log, exp, sqrt, min, max)"),
    ("True", "bound: constant True is not allowed (numbers only)"),
    ("None", "bound: constant None is not allowed (numbers only)"),
    ("'s'", "bound: constant 's' is not allowed (numbers only)"),
    ("1j", "bound: constant 1j is not allowed (numbers only)"),
    ("_x", "bound: name '_x' is not allowed"),
    ("log", "bound: function 'log' used without a call"),
    ("max + 1", "bound: function 'max' used without a call"),
    ("log(1, 2)", "bound: log takes 1 argument(s), got 2"),
    ("exp()", "bound: exp takes 1 argument(s), got 0"),
    ("sqrt(1, 2)", "bound: sqrt takes 1 argument(s), got 2"),
    ("min(1)", "bound: min takes 2 to 16 argument(s), got 1"),
    ("max(" + ", ".join(["1"] * 17) + ")", "bound: max takes 2 to 16 argument(s), got 17"),
    ("", "bound: empty expression"),
    ("   ", "bound: empty expression"),
    ("x" * 2001, "bound: expression longer than 2000 characters"),
])
def test_each_refusal_has_its_exact_message(text, expected):
    assert message(parse_expression, text) == expected


def test_refusals_inside_a_tree_are_found_at_every_position():
    # the check recurses into both operands, the unary operand and every call argument
    for text in ("1 + k.real", "k.real + 1", "-k.real", "min(1, k.real)", "max(k.real, 1)",
                 "log(k.real)"):
        assert message(parse_expression, text) == f"bound: attribute access is not allowed {ONLY}"


def test_syntax_errors_name_the_parser_message_and_hide_the_traceback():
    for text in ("k; s", "k +", "(k"):
        try:
            ast.parse(text, mode="eval")
        except SyntaxError as exc:
            want = f"bound: not a valid expression ({exc.msg})"
        with pytest.raises(ClaimError) as info:
            parse_expression(text)
        assert str(info.value) == want
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_non_strings_are_refused_with_their_type_and_where_names_the_place():
    assert message(parse_expression, 3) == "bound: expected an expression string, got int"
    assert message(parse_expression, None) == "bound: expected an expression string, got NoneType"
    assert message(parse_expression, "k.real", where="here") == \
        f"here: attribute access is not allowed {ONLY}"
    assert message(parse_expression, "zeta", {"b", "a"}, "w") == \
        "w: unknown name 'zeta' (known: a, b)"


def test_length_and_depth_limits_are_exact():
    assert parse_expression("x" * 2000).names == {"x" * 2000}
    assert parse_expression("x" * 1999 + " ").text == "x" * 1999       # 2000 characters
    assert parse_expression(" " * 5 + "k" + " " * 5).text == "k"  # stripped, but counted
    assert message(parse_expression, "k" + " " * 2000) == \
        "bound: expression longer than 2000 characters"
    # depth: the root is at depth 0, each unary minus one level deeper
    assert parse_expression("-" * 60 + "1").evaluate({}) == 1.0
    assert message(parse_expression, "-" * 61 + "1") == "bound: expression nested deeper than 60"
    assert parse_expression("(" * 30 + "1" + "+1)" * 30).evaluate({}) == 31.0
    # binary operators: both operands one level deeper
    left = lambda n: "(" * n + "1" + "+1)" * n          # noqa: E731  depth n on the left
    right = lambda n: "(1+" * n + "1" + ")" * n         # noqa: E731  depth n on the right
    assert parse_expression(left(60)).evaluate({}) == 61.0
    assert parse_expression(right(60)).evaluate({}) == 61.0
    for text in (left(61), right(61)):
        assert message(parse_expression, text) == "bound: expression nested deeper than 60"
    nested_call = "log(" * 60 + "1" + ")" * 60
    assert message(parse_expression, "log(" * 61 + "1" + ")" * 61) == \
        "bound: expression nested deeper than 60"
    with pytest.raises(ClaimError, match="undefined"):   # log(0) after one log: parsed fine
        parse_expression(nested_call).evaluate({})
    assert parse_expression("max(" + ", ".join(map(str, range(16))) + ")").evaluate({}) == 15.0
    assert parse_expression("min(3, 2)").evaluate({}) == 2.0


def test_integer_literals_too_large_for_float64_are_refused():
    ok = 2 ** 1023                       # bit length 1024, finite in float64
    assert parse_expression(str(ok)).evaluate({}) == float(ok)
    edge = 2 ** 1024 - 2 ** 970 - 1      # the largest integer that rounds to a finite float
    assert parse_expression(str(edge)).evaluate({}) == float(edge)
    for big in (2 ** 1024 - 2 ** 970, 2 ** 1024 - 1, 2 ** 1024, 10 ** 400):
        digits = len(str(big))
        assert message(parse_expression, str(big)) == \
            f"bound: number literal with {digits} digits is too large for float64"
    assert expression._as_float(10 ** 400) == math.inf
    assert expression._as_float(7) == 7.0


def test_names_exclude_functions_and_known_names_are_checked():
    e = parse_expression("log(x) + y * min(z, 1, x) - sqrt(w) ** exp(v) / max(u, u)")
    assert e.names == frozenset("xyzwvu") and isinstance(e.names, frozenset)
    assert parse_expression("k", {"k"}).names == {"k"}
    assert parse_expression("2").names == frozenset()
    assert repr(parse_expression("  C * k ")) == "Expression('C * k')"


@pytest.mark.parametrize("text, env, expected", [
    ("x - y", {"x": 5.0, "y": 2.0}, 3.0),
    ("x / y", {"x": 5.0, "y": 2.0}, 2.5),
    ("x ** y", {"x": 5.0, "y": 2.0}, 25.0),
    ("x * y + x", {"x": 5.0, "y": 2.0}, 15.0),
    ("-x", {"x": 5.0}, -5.0),
    ("+x", {"x": 5.0}, 5.0),
    ("--x", {"x": 5.0}, 5.0),
    ("min(x, y, 7)", {"x": 5.0, "y": 2.0}, 2.0),
    ("max(x, y, -7)", {"x": 5.0, "y": 2.0}, 5.0),
    ("log(x)", {"x": math.e ** 2}, 2.0),
    ("exp(x)", {"x": 0.0}, 1.0),
    ("sqrt(x)", {"x": 6.25}, 2.5),
    ("2 ** -2", {}, 0.25),
    ("x", {"x": 3}, 3.0),
])
def test_interpreter_arithmetic(text, env, expected):
    v = parse_expression(text).evaluate(env)
    assert type(v) is float and v == expected


def test_interpreter_errors_and_overflow():
    ev = lambda t, env=None: parse_expression(t).evaluate(env or {})   # noqa: E731
    assert message(ev, "1 / x", {"x": 0.0}) == "bound: division by zero"
    assert message(ev, "0 ** -1") == "bound: zero to a negative power"
    assert message(ev, "(-8) ** (1 / 3)") == "bound: negative number to a fractional power"
    assert ev("(-2) ** 3") == -8.0
    assert message(ev, "log(0)") == "bound: log(0.0) is undefined"
    assert message(ev, "log(-1)") == "bound: log(-1.0) is undefined"
    assert message(ev, "sqrt(-4)") == "bound: sqrt(-4.0) is undefined"
    assert ev("exp(1000)") == math.inf and ev("10.0 ** 400") == math.inf
    assert ev("exp(-1000)") == 0.0
    assert ev("1e308 * 10") == math.inf and ev("1e308 + 1e308") == math.inf
    assert ev("-1e308 - 1e308") == -math.inf
    # an unknown node reaching the interpreter (not possible after the check) is refused
    with pytest.raises(ClaimError, match="bound: subscript is not allowed"):
        expression._eval(ast.parse("x[0]", mode="eval").body, {})


def test_value_refuses_a_non_finite_bound_naming_where_and_the_text():
    e = parse_expression("exp(x)")
    assert e.value({"x": 1.0}) == math.e
    assert message(e.value, {"x": 1000.0}) == \
        "bound: 'exp(x)' evaluates to inf (overflows float64) at this point"
    assert message(e.value, {"x": 1000.0}, "probability") == \
        "probability: 'exp(x)' evaluates to inf (overflows float64) at this point"
    long = parse_expression("exp(x) + " + " + ".join(["x"] * 40))
    assert message(long.value, {"x": 1000.0}) == \
        f"bound: {long.text[:60]!r} evaluates to inf (overflows float64) at this point"
    assert len(long.text) > 60
    assert message(parse_expression("x - x").value, {"x": math.inf}) == \
        "bound: 'x - x' evaluates to nan (overflows float64) at this point"


# ------------------------------------------------------------------ statistics

@pytest.mark.parametrize("x, n, alpha", [(0, 10, 1e-6), (3, 10, 1e-6), (10, 10, 1e-6),
                                         (37, 200, 0.05), (1, 1, 0.1)])
def test_clopper_pearson_is_the_beta_quantile_interval(x, n, alpha):
    lo, hi = C.clopper_pearson(x, n, alpha)
    want_lo = 0.0 if x == 0 else beta_dist.ppf(alpha, x, n - x + 1)
    want_hi = 1.0 if x == n else beta_dist.isf(alpha, x + 1, n - x)
    assert math.isclose(lo, want_lo, rel_tol=1e-9, abs_tol=1e-300)
    assert math.isclose(hi, want_hi, rel_tol=1e-9)
    assert type(lo) is float and type(hi) is float
    if alpha == 1e-6:
        assert C.clopper_pearson(x, n) == (lo, hi)      # the default alpha


@pytest.mark.parametrize("n, delta, alpha", [(50, 0.1, 1e-6), (200, 0.02, 1e-3),
                                             (30, 0.5, 0.01), (20, 0.001, 1e-6)])
def test_success_slack_is_the_critical_count_threshold(n, delta, alpha):
    # x_crit by a direct scan of the binomial tail, the threshold by the beta quantile
    x_crit = next(x for x in range(n + 1) if binom.sf(x, n, delta) <= alpha)
    s = n - x_crit
    low = 0.0 if s == 0 else beta_dist.ppf(alpha, s, n - s + 1)
    want = max(0.0, 1.0 - delta - low)
    assert math.isclose(C.success_slack(n, delta, alpha), want, rel_tol=1e-9, abs_tol=1e-12)
    if alpha == 1e-6:
        assert C.success_slack(n, delta) == C.success_slack(n, delta, alpha)
    v = C.success_verdict(s, n, delta, alpha)
    assert v.holds and not C.success_verdict(s - 1, n, delta, alpha).holds if s > 0 else True
    assert v.threshold == pytest.approx(1.0 - delta - v.slack, abs=1e-15)


def test_success_verdict_fields():
    v = C.success_verdict(90, 100, 0.2, 1e-3, slack=0.05)
    lo, hi = C.clopper_pearson(90, 100, 1e-3)
    assert (v.successes, v.n, v.low, v.high, v.slack, v.alpha) == (90, 100, lo, hi, 0.05, 1e-3)
    assert v.threshold == 1.0 - 0.2 - 0.05 and v.holds is (lo >= 0.75 - 1e-12)
    assert type(v.holds) is bool and type(v.slack) is float and type(v.alpha) is float
    # the threshold exactly at the lower bound holds (tolerance 1e-12 below it)
    exact = C.success_verdict(90, 100, 1.0 - lo, 1e-3, slack=0.0)
    assert exact.holds
    assert not C.success_verdict(90, 100, 1.0 - lo - 1e-9, 1e-3, slack=0.0).holds
    assert C.success_verdict(90, 100, 1.0 - lo - 0.5e-12, 1e-3, slack=0.0).holds
    # exactly at the tolerance: low == threshold - 1e-12 holds
    d = 1.0 - lo - 1e-12
    for _ in range(200):
        if (1.0 - d - 0.0) - 1e-12 == lo:
            break
        d = math.nextafter(d, -math.inf if (1.0 - d) - 1e-12 < lo else math.inf)
    assert (1.0 - d) - 1e-12 == lo
    assert C.success_verdict(90, 100, d, 1e-3, slack=0.0).holds
    default = C.success_verdict(95, 100, 0.1)
    assert default.alpha == 1e-6 and default.slack == C.success_slack(100, 0.1, 1e-6)


# ------------------------------------------------------------------ the TOML schema

H = '[[claim]]\nname = "n"\n'
B = H + 'quantity = "barrier"\nbound = "1"\n'


@pytest.mark.parametrize("text, expected", [
    ("claim = [1]\n", "f.toml: claim 1: expected a table"),
    ('[[claim]]\nname = ""\nquantity = "barrier"\nbound = "1"\n',
     "f.toml: claim 1: name must be a non-empty string"),
    ('[[claim]]\nname = "a"\nquantity = "barrier"\nbound = "1"\n[[claim]]\nname = " "\n',
     "f.toml: claim 2: name must be a non-empty string"),
    ('[[claim]]\nname = 3\n', "f.toml: claim 1: name must be a non-empty string"),
    (B + "zz = 1\nyy = 2\n", "claim 'n': unknown key(s) ['yy', 'zz']"),
    (H + 'quantity = "bar"\nbound = "1"\n',
     f"claim 'n': quantity: expected one of {', '.join(C.QUANTITIES)}, got 'bar'"),
    (H + 'bound = "1"\n',
     f"claim 'n': quantity: expected one of {', '.join(C.QUANTITIES)}, got None"),
    (B + 'relation = "=="\n',
     "claim 'n': relation: expected one of ('<=', '>=', '<', '>'), got '=='"),
    (B + "constants = 3\n", "claim 'n': constants: expected a table of numbers"),
    (B + 'constants = { C = "x" }\n', "claim 'n': constants.C: expected a finite number, got 'x'"),
    (B + "constants = { C = true }\n",
     "claim 'n': constants.C: expected a finite number, got True"),
    (B + "constants = { C = inf }\n", "claim 'n': constants.C: expected a finite number, got inf"),
    (B + "constants = { C = nan }\n", "claim 'n': constants.C: expected a finite number, got nan"),
    (B + "constants = { C = 1" + "0" * 400 + " }\n",
     "claim 'n': constants.C: expected a finite number, got 1" + "0" * 39),
    (B + 'constants = { "" = 1 }\n', "claim 'n': constants: '' is not a name a bound can "
                                       "use (an identifier, not starting with _, not "
                                       "log/exp/sqrt/min/max)"),
    (B + 'constants = { "a b" = 1 }\n', "claim 'n': constants: 'a b' is not a name a bound can "
                                         "use (an identifier, not starting with _, not "
                                         "log/exp/sqrt/min/max)"),
    (B + 'constants = { _C = 1 }\n', "claim 'n': constants: '_C' is not a name a bound can "
                                      "use (an identifier, not starting with _, not "
                                      "log/exp/sqrt/min/max)"),
    (B + 'constants = { log = 1 }\n', "claim 'n': constants: 'log' is not a name a bound can "
                                       "use (an identifier, not starting with _, not "
                                       "log/exp/sqrt/min/max)"),
    (B + 'constants = { lambda = 1 }\n', "claim 'n': constants: 'lambda' is not a name a bound "
                                          "can use (an identifier, not starting with _, not "
                                          "log/exp/sqrt/min/max)"),
    (B + "grid = 3\n", "claim 'n': grid: expected a table of lists"),
    (B + "grid = { k = [] }\n", "claim 'n': grid.k: expected a non-empty list"),
    (B + "grid = { s = 2 }\n", "claim 'n': grid.s: expected a non-empty list"),
    (B + "grid = { k = [2.5] }\n", "claim 'n': grid.k: expected an integer, got 2.5"),
    (B + "grid = { p = [0] }\n", "claim 'n': grid.p: expected an integer in [1, 100000], got 0 "
                                 "(set VPGD_MAX_DIMENSION to lift the upper limit)"),
    (B + "grid = { k = [100001] }\n", "claim 'n': grid.k: expected an integer in [1, 100000], "
                                      "got 100001 (set VPGD_MAX_DIMENSION to lift the upper limit)"),
    (B + "grid = { s = [1, true] }\n", "claim 'n': grid.s: expected a finite number, got True"),
    (B + 'grid = { k = ["x"] }\n', "claim 'n': grid.k: expected a finite number, got 'x'"),
    (B + "params = { p = true }\n", "claim 'n': params.p: expected a finite number, got True"),
    (B + "params = 3\n", "claim 'n': params: expected a table of numbers"),
    (B + "params = { k = 1.5 }\n", "claim 'n': params.k: expected an integer, got 1.5"),
    (B + "params = { p = 2.5 }\n", "claim 'n': params.p: expected an integer, got 2.5"),
    (B + "params = { k = 2 }\nproblem = { w_star = [1.0] }\n",
     "claim 'n': grid/params k, p conflict with an explicit w_star/a_star"),
    (B + "params = { p = 2 }\nproblem = { a_star = [1.0] }\n",
     "claim 'n': grid/params k, p conflict with an explicit w_star/a_star"),
    (B + "params = { q = true }\n", "claim 'n': params.q: expected a finite number, got True"),
    (B + "constants = { C = 1 }\nparams = { C = 2 }\n",
     "claim 'n': name(s) ['C'] defined twice (constants/grid/params)"),
    (B + "constants = { C = 1 }\ngrid = { C = [2] }\n",
     "claim 'n': name(s) ['C'] defined twice (constants/grid/params)"),
    (B + "params = { q = 1 }\ngrid = { q = [2] }\n",
     "claim 'n': name(s) ['q'] defined twice (constants/grid/params)"),
    (B + "problem = 3\n", "claim 'n': problem: expected a table"),
    (B + "params = { k = 2 }\nproblem = { w_star = [1.0], a_star = [1.0] }\n",
     "claim 'n': grid/params k, p conflict with an explicit w_star/a_star"),
    (B + "grid = { p = [2] }\nproblem = { a_star = [1.0], w_star = [1.0] }\n",
     "claim 'n': grid/params k, p conflict with an explicit w_star/a_star"),
    (H + 'quantity = "escape_time"\nbound = "1"\nparams = { eta = 1 }\n',
     "claim 'n': quantity escape_time needs parameter(s) ['sigma'] in grid or params"),
    (H + 'quantity = "schedule_length"\nbound = "1"\ngrid = { eps = [1] }\n',
     "claim 'n': quantity schedule_length needs parameter(s) ['eta', 'delta'] in grid or params"),
    (H + 'quantity = "barrier"\n',
     "claim 'n': bound: expected an expression string, got NoneType"),
    (H + 'quantity = "barrier"\nbound = "zeta"\nconstants = { C = 1 }\nparams = { q = 1 }\n',
     "claim 'n': bound: unknown name 'zeta' (known: C, a_norm, barrier, dL_over_Lspur, k, "
     "lam_max, mu, p, pi, q, s, sa, saddle_loss, spurious_loss)"),
    (H + 'quantity = "escape_time"\nbound = "1"\nparams = { eta = 1, sigma = 1 }\n'
         'probability = "zz"\n',
     "claim 'n': probability: unknown name 'zz' (known: a_norm, barrier, dL_over_Lspur, eta, "
     "k, lam_max, mu, p, pi, s, sa, saddle_loss, sigma, spurious_loss)"),
    (H + 'quantity = "escape_time"\nbound = "1"\nparams = { eta = 1, sigma = 1 }\n'
         'probability = true\n',
     "claim 'n': probability: expected an expression string, got bool"),
    (B + 'constants = { C = 1 }\nfit = "D"\n', "claim 'n': fit: 'D' is not one of the constants"),
    (B + 'fit = "C"\n', "claim 'n': fit: 'C' is not one of the constants"),
    (B + "confidence = 1\n", "claim 'n': confidence: expected a number in (0, 1), got 1"),
    (B + "confidence = 0\n", "claim 'n': confidence: expected a number in (0, 1), got 0"),
    (B + "confidence = true\n", "claim 'n': confidence: expected a number in (0, 1), got True"),
    (B + 'confidence = "0.9"\n', "claim 'n': confidence: expected a number in (0, 1), got '0.9'"),
    (B + "chains = 0\n", "claim 'n': chains: expected an integer in [1, 100000], got 0"),
    (B + "chains = 100001\n", "claim 'n': chains: expected an integer in [1, 100000], got 100001"),
    (B + "chains = 2.0\n", "claim 'n': chains: expected an integer in [1, 100000], got 2.0"),
    (B + "chains = true\n", "claim 'n': chains: expected an integer in [1, 100000], got True"),
    (B + "seed = -1\n", "claim 'n': seed: expected an integer >= 0, got -1"),
    (B + "seed = 1.0\n", "claim 'n': seed: expected an integer >= 0, got 1.0"),
    (B + "seed = false\n", "claim 'n': seed: expected an integer >= 0, got False"),
    (B + 'init = "x"\n', "claim 'n': init: expected 'spurious', 'antipodal' or 'random', got 'x'"),
    (B + "horizon = 0\n", "claim 'n': horizon: expected an integer in [1, 1e7], got 0"),
    (B + "horizon = 10000001\n",
     "claim 'n': horizon: expected an integer in [1, 1e7], got 10000001"),
    (B + "horizon = 5.0\n", "claim 'n': horizon: expected an integer in [1, 1e7], got 5.0"),
    (B + "horizon = true\n", "claim 'n': horizon: expected an integer in [1, 1e7], got True"),
    (B + 'select = "loss"\n', "claim 'n': select: only restart_exponent claims take it"),
    (B + "problem = { zz = 1, yy = 2 }\n", "claim 'n': problem: unknown key(s) ['yy', 'zz']"),
    (B + "problem = { w_star = [1.0] }\n",
     "claim 'n': problem: give both w_star and a_star (or a family)"),
    (B + "problem = { a_star = [1.0] }\n",
     "claim 'n': problem: give both w_star and a_star (or a family)"),
    (B + "problem = { w_star = [], a_star = [1.0] }\n",
     "claim 'n': problem.w_star: expected a non-empty list of numbers"),
    (B + "problem = { w_star = [1.0], a_star = 1.0 }\n",
     "claim 'n': problem.a_star: expected a non-empty list of numbers"),
    (B + 'problem = { w_star = ["a"], a_star = [1.0] }\n',
     "claim 'n': problem.w_star: expected a finite number, got 'a'"),
    (B + "problem = { w_star = [1.0], a_star = [inf] }\n",
     "claim 'n': problem.a_star: expected a finite number, got inf"),
    (B + 'problem = { family = "x" }\n',
     "claim 'n': problem.family: only 'alternating' is known, got 'x'"),
    (B + "problem = { k = 0 }\n", "claim 'n': problem.k: expected an integer in [1, 100000], "
                                  "got 0 (set VPGD_MAX_DIMENSION to lift the upper limit)"),
    (B + "problem = { p = 2.5 }\n", "claim 'n': problem.p: expected an integer, got 2.5"),
    (B + "problem = { s = true }\n", "claim 'n': problem.s: expected a finite number, got True"),
    (B + "problem = { a_norm = inf }\n",
     "claim 'n': problem.a_norm: expected a finite number, got inf"),
    ("x = 1\ny = 2\n", "f.toml: unknown top-level key(s) ['x', 'y'] (claims are [[claim]] tables)"),
    ("", "f.toml: no [[claim]] tables"),
    ("claim = 1\n", "f.toml: no [[claim]] tables"),
    ("claim = []\n", "f.toml: no [[claim]] tables"),
])
def test_each_schema_refusal_has_its_exact_message(text, expected):
    assert message(C.parse_claims, text, "f.toml") == expected


def test_refusals_happen_while_reading_and_name_the_source():
    assert message(C.parse_claims, "[[claim]\n").startswith("<string>: not valid TOML (")
    assert message(C.parse_claims, "[[claim]\n", "f.toml").startswith("f.toml: not valid TOML (")
    m = message(C.parse_claims, "[[claim]\n", "invalid TOML.toml")
    assert m.startswith("invalid TOML.toml: not valid TOML (") and m.count("invalid TOML") == 1
    assert message(C.parse_claims, "x = 1\n") == \
        "<string>: unknown top-level key(s) ['x'] (claims are [[claim]] tables)"


def test_load_claims_reads_a_file_and_a_missing_file_is_a_claim_error(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text(B)
    (c,) = C.load_claims(f)
    assert c.source == str(f) and c.name == "n"
    with pytest.raises(OSError, match="claims: cannot read .*missing.toml"):
        C.load_claims(tmp_path / "missing.toml")
    f.write_bytes(b"\xff\xfe")
    assert message(C.load_claims, f) == f"claims: {f}: not UTF-8 text"
    f.write_text("x = 1\n")
    assert message(C.load_claims, f) == \
        f"{f}: unknown top-level key(s) ['x'] (claims are [[claim]] tables)"


def test_defaults_of_a_minimal_claim():
    (c,) = C.parse_claims('[[claim]]\nquantity = "barrier"\nbound = "2 * k"\n', "s.toml")
    assert c.name == "#1" and c.quantity == "barrier" and c.relation == "<="
    assert c.bound.text == "2 * k" and c.constants == {} and c.fit is None
    assert c.grid == {} and c.params == {} and c.problem == {"family": "alternating"}
    assert c.confidence == 0.999 and type(c.confidence) is float
    assert (c.chains, c.seed, c.probability, c.init, c.horizon, c.source, c.select) == \
        (200, 0, None, "spurious", None, "s.toml", "loss")
    two = C.parse_claims('[[claim]]\nquantity = "barrier"\nbound = "1"\n' * 2)
    assert [x.name for x in two] == ["#1", "#2"] and two[0].source == "<string>"


def test_every_key_is_read_into_the_claim():
    text = (H + 'quantity = "escape_time"\nrelation = ">"\nbound = "D * k + C"\n'
            'constants = { C = 2, D = 0.5 }\nfit = "D"\nconfidence = 0.9\nchains = 7\n'
            'seed = 3\nprobability = 0.25\ninit = "random"\nhorizon = 100\n'
            '[claim.params]\neta = 0.5\n[claim.grid]\nsigma = [1, 2.5]\nk = [2, 3.0]\n'
            '[claim.problem]\nfamily = "alternating"\np = 4\ns = 2\na_norm = 1.5\n')
    (c,) = C.parse_claims(text)
    assert (c.relation, c.fit, c.confidence, c.chains, c.seed, c.init, c.horizon) == \
        (">", "D", 0.9, 7, 3, "random", 100)
    assert c.constants == {"C": 2, "D": 0.5} and type(c.constants["C"]) is int
    assert c.grid == {"sigma": [1, 2.5], "k": [2, 3]} and type(c.grid["k"][1]) is int
    assert c.params == {"eta": 0.5}
    assert c.problem == {"family": "alternating", "p": 4, "s": 2, "a_norm": 1.5}
    assert c.probability.evaluate({}) == 0.25
    assert list(c.points()) == [{"eta": 0.5, "sigma": s, "k": k}
                                for s in (1, 2.5) for k in (2, 3)]
    # the first constant is fitted by default
    (d,) = C.parse_claims(B + "constants = { B = 1, A = 2 }\n")
    assert d.fit == "B"
    assert list(C.parse_claims(B)[0].points()) == [{}]


def test_chains_and_horizon_at_their_limits():
    for key, lo, hi in (("chains", 1, 100_000), ("horizon", 1, 10_000_000)):
        for v in (lo, hi):
            assert getattr(C.parse_claims(B + f"{key} = {v}\n")[0], key) == v


def test_the_default_grid_limit(monkeypatch):
    monkeypatch.delenv("VPGD_MAX_GRID", raising=False)
    a = ", ".join(["1"] * 1001)
    b = ", ".join(["2"] * 1000)
    assert message(C.parse_claims, B + f"grid = {{ s = [{a}], a_norm = [{b}] }}\n") == (
        "claim 'n': grid: 1001000 points, more than the limit 1000000 (set VPGD_MAX_GRID to "
        "lift it)")


def test_counts_accept_whole_floats_and_the_dimension_limit(monkeypatch):
    (c,) = C.parse_claims(B + "params = { k = 3.0, p = 1 }\n")
    assert c.params == {"k": 3, "p": 1} and type(c.params["k"]) is int
    monkeypatch.setenv("VPGD_MAX_DIMENSION", "5")
    assert C.parse_claims(B + "grid = { k = [5] }\n")[0].grid == {"k": [5]}
    assert message(C.parse_claims, B + "grid = { k = [6] }\n") == (
        "claim 'n': grid.k: expected an integer in [1, 5], got 6 "
        "(set VPGD_MAX_DIMENSION to lift the upper limit)")


def test_the_grid_limit_counts_the_cartesian_product(monkeypatch):
    monkeypatch.setenv("VPGD_MAX_GRID", "6")
    ok = B + "grid = { s = [1, 2, 3], a_norm = [1, 2] }\n"
    assert len(list(C.parse_claims(ok)[0].points())) == 6
    assert message(C.parse_claims, B + "grid = { s = [1, 2, 3, 4], a_norm = [1, 2] }\n") == (
        "claim 'n': grid: 8 points, more than the limit 6 (set VPGD_MAX_GRID to lift it)")


def test_numbers_keep_their_type():
    assert spec._number(3, "c", "x") == 3 and type(spec._number(3, "c", "x")) is int
    assert type(spec._number(np.float32(0.5), "c", "x")) is float
    assert spec._count(4.0, "c", "k") == 4 and type(spec._count(4.0, "c", "k")) is int
    assert spec._count(1, "c", "k") == 1


def test_probability_numbers_and_strings_both_parse():
    base = H + 'quantity = "escape_time"\nbound = "1"\nparams = { eta = 1, sigma = 1 }\n'
    for pv, want in (("0.5", 0.5), ("1", 1.0), ('"1 - 0.25"', 0.75)):
        (c,) = C.parse_claims(base + f"probability = {pv}\n")
        assert c.probability.evaluate({}) == want


def test_build_problem_alternating_family_and_explicit_teachers():
    pb = C.build_problem({"family": "alternating"}, {})
    assert (pb.k, pb.p, pb.s) == (2, 3, 1.0)
    np.testing.assert_array_equal(pb.w_star, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(pb.a_star, np.array([1.0, -1.0]) / np.sqrt(2), rtol=1e-15)
    pb = C.build_problem({"k": 3, "p": 2, "s": 2.0, "a_norm": 3.0}, {})
    np.testing.assert_allclose(pb.a_star, np.array([1.0, -1.0, 1.0]) * 3.0 / np.sqrt(3),
                               rtol=1e-15)
    np.testing.assert_array_equal(pb.w_star, [2.0, 0.0])
    # the grid point overrides the problem table
    pb = C.build_problem({"k": 3, "p": 2, "s": 2.0, "a_norm": 3.0},
                         {"k": 4, "p": 5, "s": 0.5, "a_norm": 2.0})
    np.testing.assert_allclose(pb.a_star, [1.0, -1.0, 1.0, -1.0], rtol=1e-15)
    np.testing.assert_array_equal(pb.w_star, [0.5, 0, 0, 0, 0])
    pb = C.build_problem({"w_star": [0.0, 2.0], "a_star": [1.0, 0.5]}, {"k": 9})
    np.testing.assert_array_equal(pb.w_star, [0.0, 2.0])
    np.testing.assert_array_equal(pb.a_star, [1.0, 0.5])
    pb = C.build_problem({}, {"k": 1, "p": 1})            # the smallest valid sizes
    assert (pb.k, pb.p) == (1, 1)
    for bad in ({"k": 0}, {"p": 0}, {"s": 0.0}, {"a_norm": -1.0}, {"a_norm": 0.0},
                {"s": math.nan}):
        point = {"k": 2, "p": 3, "s": 1.0, "a_norm": 1.0}
        point.update(bad)
        with pytest.raises(ValueError) as info:
            C.build_problem({}, point)
        assert str(info.value) == (
            f"problem: need k, p >= 1 and s, a_norm > 0 (got k={point['k']}, p={point['p']}, "
            f"s={float(point['s'])}, a_norm={float(point['a_norm'])})")


# ------------------------------------------------------------------ ladder / restart params

LAW = (H + 'quantity = "delta_exponent"\nrelation = ">="\nbound = "dL_over_Lspur"\n'
       '[claim.params]\neta = 0.5\n')
RST = (H + 'quantity = "restart_exponent"\nrelation = ">="\nbound = "restarts"\n'
       '[claim.params]\neta = 0.5\nx = 1.5\n')


@pytest.mark.parametrize("params, expected", [
    ("x_max = 1.0\neta_ = 1", None),
    ("x_max = 0.99", "x_max: expected >= x_min + x_step = 1 (at least two schedules), got 0.99"),
    ("x_max = 2.0\nx_min = 0", "x_min: expected a number > 0, got 0"),
    ("x_max = 2.0\nx_step = 0", "x_step: expected a number > 0, got 0"),
    ("x_max = 2.0\nhold = -1", "hold: expected a number > 0, got -1"),
    ("x_max = 2.0\nhold = 1000", None),
    ("x_max = 2.0\nhold = 1000.5", "hold: expected a number in (0, 1000], got 1000.5"),
    ("x_max = 20.0", None),                              # 40 schedules: the maximum
    ("x_max = 20.5", "x_step: 41 schedules from x_min to x_max, more than 40"),
    ("x_max = 0.3\nx_min = 0.1\nx_step = 0.1", None),     # 3 members despite rounding
    ("x_max = 2.0\nquench = 1", None),
    ("x_max = 2.0\nquench = 1000000", None),
    ("x_max = 2.0\nquench = 3.0", None),
    ("x_max = 2.0\nquench = 1000001",
     "quench: expected an integer in [1, 1000000], got 1000001"),
    ("x_max = 2.0\nquench = 0", "quench: expected an integer in [1, 1000000], got 0"),
    ("x_max = 2.0\nquench = 2.5", "quench: expected an integer in [1, 1000000], got 2.5"),
])
def test_ladder_parameters_at_their_limits(params, expected):
    text = LAW + params.replace("eta_ = 1", "") + "\n"
    if expected is None:
        assert C.parse_claims(text)[0].quantity == "delta_exponent"
    else:
        assert message(C.parse_claims, text) == f"claim 'n': {expected}"


def test_ladder_parameters_are_checked_at_every_grid_point():
    text = LAW.replace("[claim.params]\neta = 0.5\n", "[claim.grid]\neta = [0.5, -1]\nx_max = [2.0]\n")
    assert message(C.parse_claims, text) == "claim 'n': eta: expected a number > 0, got -1"
    text = LAW + "[claim.grid]\nx_max = [2.0, 0.5]\n"
    assert message(C.parse_claims, text).startswith("claim 'n': x_max: expected >= x_min")


@pytest.mark.parametrize("params, expected", [
    ("restarts = 1", None),
    ("restarts = 1000", None),
    ("restarts = 4.0", None),
    ("restarts = 1001", "restarts: expected an integer in [1, 1000], got 1001"),
    ("restarts = 0", "restarts: expected an integer in [1, 1000], got 0"),
    ("restarts = 2\nquench = 1000000", None),
    ("restarts = 2\nquench = 1000001", "quench: expected an integer in [1, 1000000], got 1000001"),
    ("restarts = 2\nquench = 7.0", None),
    ("restarts = 2\nhold = 1000", None),
    ("restarts = 2\nhold = 1000.5", "hold: expected a number in (0, 1000], got 1000.5"),
    ("restarts = 2\nhold = 0", "hold: expected a number > 0, got 0"),
    ("restarts = 2\nx_ = 0", None),
    ("restarts = 2\neps = 0", "eps: expected a number in (0, 1), got 0"),
    ("restarts = 2\neps = 1", "eps: expected a number in (0, 1), got 1"),
    ("restarts = 2\neps = 0.999", None),
])
def test_restart_parameters_at_their_limits(params, expected):
    text = RST + params.replace("x_ = 0", "") + "\n"
    if expected is None:
        assert C.parse_claims(text)[0].quantity == "restart_exponent"
    else:
        assert message(C.parse_claims, text) == f"claim 'n': {expected}"


def test_restart_parameters_are_checked_at_every_grid_point():
    text = RST + "restarts = 2\n[claim.grid]\nhold = [1.0, 2000.0]\n"
    assert message(C.parse_claims, text) == \
        "claim 'n': hold: expected a number in (0, 1000], got 2000.0"
    text = RST + "[claim.grid]\nrestarts = [2, 3]\n"
    assert [pt["restarts"] for pt in C.parse_claims(text)[0].points()] == [2, 3]


def test_restart_x_and_eta_must_be_positive_and_select_is_read():
    assert message(C.parse_claims, RST.replace("x = 1.5", "x = 0") + "restarts = 2\n") == \
        "claim 'n': x: expected a number > 0, got 0"
    assert message(C.parse_claims, RST.replace("eta = 0.5", "eta = 0") + "restarts = 2\n") == \
        "claim 'n': eta: expected a number > 0, got 0"
    text = RST.replace('bound = "restarts"\n', 'bound = "restarts"\nselect = "random"\n')
    assert C.parse_claims(text + "restarts = 2\n")[0].select == "random"
    bad = RST.replace('bound = "restarts"\n', 'bound = "restarts"\nselect = "best"\n')
    assert message(C.parse_claims, bad + "restarts = 2\n") == \
        "claim 'n': select: expected 'loss' or 'random', got 'best'"


def test_keys_the_exponents_do_not_use():
    for key, line in (("probability", "probability = 0.5"), ("horizon", "horizon = 5")):
        text = LAW.replace("[claim.params]", f"{line}\n[claim.params]") + "x_max = 2.0\n"
        assert message(C.parse_claims, text) == \
            f"claim 'n': {key}: not used by delta_exponent (docs/claims.md)"
        text = RST.replace("[claim.params]", f"{line}\n[claim.params]") + "restarts = 2\n"
        assert message(C.parse_claims, text) == \
            f"claim 'n': {key}: not used by restart_exponent (docs/claims.md)"
    text = RST.replace("[claim.params]", 'init = "random"\n[claim.params]') + "restarts = 2\n"
    assert message(C.parse_claims, text) == \
        "claim 'n': init: not used by restart_exponent (docs/claims.md)"
    # delta_exponent takes init
    text = LAW.replace("[claim.params]", 'init = "random"\n[claim.params]') + "x_max = 2.0\n"
    assert C.parse_claims(text)[0].init == "random"


# ------------------------------------------------------------------ certified values, env

PB = vp.Problem([1.0, 0.0, 0.0], [1.0, -1.0])          # has a spurious minimum
NO_SPUR = vp.Problem([1.0, 0.0], [1.0, 1.0])           # has none


def test_arb_ends_are_one_ulp_outside_the_nearest_floats():
    from flint import arb
    x = arb(1) / 3
    assert evaluation._down(x) == math.nextafter(float(x.lower()), -math.inf)
    assert evaluation._up(x) == math.nextafter(float(x.upper()), math.inf)
    assert evaluation._down(x) < 1 / 3 < evaluation._up(x)


def test_mp50_values_are_enclosed_by_their_float_ends():
    import mpmath
    for q, v in (("smoothness", theory.smoothness_bound(PB, theory.default_radius(PB), dps=50)),
                 ("basin_radius", theory.basin_radius(PB, dps=50))):
        lo, hi, method = C.certified_value(PB, q)
        assert method == "mp50"
        with mpmath.workdps(50):
            assert mpmath.mpf(lo) < v < mpmath.mpf(hi)
        assert lo == math.nextafter(float(v), -math.inf) and hi == math.nextafter(float(v), math.inf)


def test_certified_values_dispatch_and_the_undefined_case():
    lo, hi, method = C.certified_value(PB, "schedule_length", {"eps": 0.1, "delta": 0.5, "eta": 0.3})
    n = sum(st.steps for st in theory.schedule(PB, 0.1, 0.5, 0.3).stages)
    assert (lo, hi, method) == (float(n), float(n), "exact") and type(lo) is float
    for q in ("mu", "lam_max"):
        lo, hi, method = C.certified_value(NO_SPUR, q)
        assert method == "arb" and lo < hi
    sp = theory.hessian_spectrum(NO_SPUR)
    assert C.certified_value(NO_SPUR, "mu")[0] <= float(sp.mu) <= C.certified_value(NO_SPUR, "mu")[1]
    assert C.certified_value(NO_SPUR, "lam_max")[0] <= float(sp.lam_max) \
        <= C.certified_value(NO_SPUR, "lam_max")[1]
    for q in ("barrier", "saddle_loss", "spurious_loss"):
        with pytest.raises(ValueError) as info:
            C.certified_value(NO_SPUR, q)
        assert str(info.value) == f"{q}: undefined for this problem (no spurious minimum)"
        lo, hi, _ = C.certified_value(PB, q)
        assert lo < hi and hi - lo < 1e-14 * abs(hi)


def _claim(text):
    (c,) = C.parse_claims(text)
    return c


def test_the_bound_environment():
    c = _claim(H + 'quantity = "barrier"\nbound = "C * sa"\nconstants = { C = 2.5 }\n'
                   'params = { q = 7 }\n')
    env = evaluation._env(c, {"q": 7}, PB)
    assert env["pi"] == math.pi and (env["k"], env["p"], env["s"]) == (2, 3, 1.0)
    assert env["a_norm"] == math.sqrt(2) and env["sa"] == 1.0 * math.sqrt(2)
    assert env["C"] == 2.5 and env["q"] == 7
    for q in ("mu", "lam_max"):
        lo, hi, _ = C.certified_value(PB, q)
        assert lo <= env[q] <= hi
    # the landscape values only when a bound (or the probability) names them
    assert not {"barrier", "saddle_loss", "spurious_loss", "dL_over_Lspur"} & set(env)
    pb2 = vp.Problem([0.0, 2.0, 0.0], [1.0, -0.5, 0.3])
    for names in ("barrier", "saddle_loss", "spurious_loss"):
        c = _claim(H + f'quantity = "barrier"\nbound = "{names}"\n')
        env = evaluation._env(c, {}, pb2)
        for q in ("barrier", "saddle_loss", "spurious_loss"):
            lo, hi, _ = C.certified_value(pb2, q)
            assert lo - 1e-15 * abs(lo) <= env[q] <= hi + 1e-15 * abs(hi), q
        assert env["s"] == 2.0 and env["a_norm"] == math.sqrt(1 + 0.25 + 0.09)
        assert env["sa"] == 2.0 * env["a_norm"]
    base = H + 'quantity = "escape_time"\nbound = "1"\nparams = { eta = 1, sigma = 1 }\n'
    for prob_text in ('"barrier"', '"saddle_loss"', '"spurious_loss"'):
        c = _claim(base + f"probability = {prob_text}\n")
        assert "barrier" in evaluation._env(c, {}, pb2)
    c = _claim(base + 'probability = "dL_over_Lspur"\n')
    env = evaluation._env(c, {}, pb2)
    assert env["dL_over_Lspur"] == pytest.approx(env["mu"] * 0 + float(
        theory.barrier(pb2, dps=50) / theory.spurious_minimum(pb2, dps=50).loss), rel=1e-14)
    c = _claim(H + 'quantity = "barrier"\nbound = "dL_over_Lspur"\n')
    assert evaluation._env(c, {}, pb2)["dL_over_Lspur"] == evaluation.predicted_exponent(pb2)[2]
    # a probability that names no landscape value needs no spurious minimum
    c = _claim(base + "probability = 0.5\n")
    assert "barrier" not in evaluation._env(c, {}, NO_SPUR)
    # dL_over_Lspur without a spurious minimum: the error names the claim
    c = _claim(H + 'quantity = "mu"\nbound = "dL_over_Lspur"\n')
    with pytest.raises(ValueError) as info:
        evaluation._env(c, {}, NO_SPUR)
    assert str(info.value) == ("claim 'n': dL_over_Lspur needs a spurious minimum, and the "
                               "problem has none")
    # constants come last: they override everything
    c = _claim(H + 'quantity = "barrier"\nbound = "mu"\nconstants = { mu = 3.5 }\n')
    assert evaluation._env(c, {}, PB)["mu"] == 3.5


def test_a_bound_on_the_barrier_without_a_spurious_minimum_is_an_error():
    for text in (H + 'quantity = "mu"\nbound = "barrier"\n',
                 H + 'quantity = "escape_time"\nbound = "1"\nparams = { eta = 1, sigma = 1 }\n'
                     'probability = "spurious_loss"\n'):
        with pytest.raises(ValueError) as info:
            evaluation._env(_claim(text), {"k": 2}, NO_SPUR)
        assert str(info.value) == ("claim 'n': bound uses the barrier but the problem at "
                                   "{'k': 2} has no spurious minimum")
    with pytest.raises(ValueError) as info:
        evaluation.predicted_exponent(NO_SPUR, "x")
    assert str(info.value) == ("claim 'x': dL_over_Lspur needs a spurious minimum, and the "
                               "problem has none")
    with pytest.raises(ValueError, match="claim '[?]'"):
        evaluation.predicted_exponent(NO_SPUR)


def test_predicted_exponent_is_the_ratio_of_the_losses():
    lo, hi, mid = evaluation.predicted_exponent(PB)
    b = theory.barrier(PB, dps=50)
    s = theory.spurious_minimum(PB, dps=50).loss
    import mpmath
    with mpmath.workdps(50):
        assert mpmath.mpf(lo) < b / s < mpmath.mpf(hi)
    assert mid == (lo + hi) / 2 and hi - lo < 1e-15


def test_starts_by_init():
    spc = theory.spurious_minimum(PB)
    for init, prob, want in (("spurious", PB, (spc.w, spc.a)),
                             ("antipodal", PB, (-PB.w_hat_star, np.zeros(2))),
                             ("spurious", NO_SPUR, (-NO_SPUR.w_hat_star, np.zeros(2)))):
        c = dataclasses.replace(_claim(B), init=init)
        w, a = evaluation._starts(c, prob)
        np.testing.assert_array_equal(w, want[0])
        np.testing.assert_array_equal(a, want[1])
    c = dataclasses.replace(_claim(B), init="random", chains=4000, seed=5)
    w, a = evaluation._starts(c, PB)
    assert w.shape == (4000, 3) and a.shape == (4000, 2)
    np.testing.assert_allclose(np.linalg.norm(w, axis=1), 1.0, rtol=1e-14)
    # a ~ N(0, I/k): the variance 1/2 within 6 standard errors (false failure < 1e-8)
    assert abs(np.var(a) - 0.5) < 6 * 0.5 * math.sqrt(2 / a.size)
    assert abs(np.mean(w)) < 6 / math.sqrt(3 * w.size)
    w2, a2 = evaluation._starts(c, PB)
    np.testing.assert_array_equal(w2, w)
    # the documented stream (docs/claims.md): default_rng([seed, 0x1213]), w rows, then a
    rng = np.random.default_rng([5, 0x1213])
    z = rng.standard_normal((4000, 3))
    np.testing.assert_allclose(w, z / np.linalg.norm(z, axis=1, keepdims=True), rtol=1e-15)
    np.testing.assert_allclose(a, rng.standard_normal((4000, 2)) / np.sqrt(2), rtol=1e-15)
    w3, _ = evaluation._starts(dataclasses.replace(c, seed=6), PB)
    assert not np.array_equal(w3, w)


# ------------------------------------------------------------------ verdicts

def test_relations():
    assert [verdicts._holds(r, 1.0, 1.0) for r in ("<=", "<", ">=", ">")] == \
        [True, False, True, False]
    assert [verdicts._holds(r, 0.5, 1.0) for r in ("<=", "<", ">=", ">")] == \
        [True, True, False, False]
    assert [verdicts._holds(r, 2.0, 1.0) for r in ("<=", "<", ">=", ">")] == \
        [False, False, True, True]


def _edge_above(x):
    """A bound b with b - BOUND_RTOL |b| == x exactly (the '<=' edge), or None."""
    b = x
    for _ in range(64):
        b = math.nextafter(b, math.inf)
        if b - C.spec.BOUND_RTOL * abs(b) == x:
            return b
    return None


def _edge_below(x):
    b = x
    for _ in range(64):
        b = math.nextafter(b, -math.inf)
        if b + C.spec.BOUND_RTOL * abs(b) == x:
            return b
    return None


def test_interval_verdicts_with_the_bound_tolerance():
    iv = verdicts._interval_verdict
    lo, hi = 2.0, 3.0
    assert iv("<=", lo, hi, 3.5) == ("holds", hi) and iv("<", lo, hi, 3.5) == ("holds", hi)
    assert iv("<=", lo, hi, 2.5) == ("undecided", hi)
    assert iv("<=", lo, hi, 1.5) == ("violated", hi) and iv("<", lo, hi, 1.5) == ("violated", hi)
    assert iv(">=", lo, hi, 1.5) == ("holds", lo) and iv(">", lo, hi, 1.5) == ("holds", lo)
    assert iv(">=", lo, hi, 2.5) == ("undecided", lo)
    assert iv(">=", lo, hi, 3.5) == ("violated", lo) and iv(">", lo, hi, 3.5) == ("violated", lo)
    # within the relative tolerance of an end: undecided
    assert iv("<=", lo, hi, 3.0 * (1 + 5e-16))[0] == "undecided"
    assert iv("<=", lo, hi, 2.0 * (1 - 5e-16))[0] == "undecided"
    assert iv(">=", lo, hi, 2.0 * (1 - 5e-16))[0] == "undecided"
    assert iv(">=", lo, hi, 3.0 * (1 + 5e-16))[0] == "undecided"
    assert iv("<=", lo, hi, 3.0 * (1 + 4e-15))[0] == "holds"
    assert iv("<=", lo, hi, 2.0 * (1 - 4e-15))[0] == "violated"
    assert iv(">=", lo, hi, 2.0 * (1 - 4e-15))[0] == "holds"
    assert iv(">=", lo, hi, 3.0 * (1 + 4e-15))[0] == "violated"
    # exactly at the tolerance edge: the non-strict relation holds, the strict one does not
    b = _edge_above(hi)
    assert b is not None
    assert iv("<=", lo, hi, b)[0] == "holds" and iv("<", lo, hi, b)[0] == "undecided"
    assert iv("<=", lo, hi, _edge_below(lo))[0] == "undecided"   # lo == b + tol: not violated
    b = _edge_below(lo)
    assert b is not None
    assert iv(">=", lo, hi, b)[0] == "holds" and iv(">", lo, hi, b)[0] == "undecided"
    assert iv(">=", lo, hi, _edge_above(hi))[0] == "undecided"   # hi == b - tol: not violated
    # negative bounds: the tolerance is relative to |b|
    assert iv("<=", -3.0, -2.0, -2.0 * (1 - 4e-15))[0] == "holds"
    assert iv(">=", -3.0, -2.0, -3.0 * (1 + 4e-15))[0] == "holds"


def _fake_certified(lo, hi, method="arb"):
    return lambda problem, quantity, point=None: (lo, hi, method)


@pytest.mark.parametrize("method, desc", [
    ("arb", "arb enclosure of the closed form"),
    ("mp50", "mpmath 50 digits, relative tolerance 1e-30"),
    ("exact", "exact integer")])
def test_deterministic_verdicts_on_a_controlled_enclosure(monkeypatch, method, desc):
    monkeypatch.setattr(verdicts, "certified_value", _fake_certified(2.0, 3.0, method))
    cases = [("<=", 3.5, "holds"), ("<", 3.5, "holds"), ("<=", 2.5, "undecided"),
             ("<", 1.5, "violated"), ("<=", 1.5, "violated"), (">=", 1.5, "holds"),
             (">", 1.5, "holds"), (">=", 2.5, "undecided"), (">", 3.5, "violated"),
             (">=", 3.5, "violated"), ("<=", _edge_above(3.0), "holds"),
             ("<", _edge_above(3.0), "undecided"), (">=", _edge_below(2.0), "holds"),
             (">", _edge_below(2.0), "undecided"),
             ("<=", _edge_below(2.0), "undecided"), (">=", _edge_above(3.0), "undecided"),
             ("<=", 3.0 * (1 + 5e-16), "undecided"), ("<=", 2.0 * (1 - 5e-16), "undecided"),
             (">=", 2.0 * (1 - 5e-16), "undecided"), (">=", 3.0 * (1 + 5e-16), "undecided")]
    for rel, b, want in cases:
        c = _claim(H + f'quantity = "barrier"\nrelation = "{rel}"\nbound = "{b!r}"\n')
        (r,) = C.check_claim(c)
        assert r.verdict == want, (rel, b, r)
        assert (r.claim, r.point, r.quantity, r.relation, r.bound, r.value) == \
            ("n", {}, "barrier", rel, b, (2.0, 3.0))
        assert (r.confidence, r.method, r.fit, r.limit, r.limit_kind) == \
            (1.0, method, None, None, None)
        assert r.note == f"{desc}; bound in float64 (relative tolerance 1e-15)"


def _smallest(f, target, guess):
    """The smallest float c with f(c) >= target, by stepping floats from a guess."""
    c = guess
    while f(c) < target:
        c = math.nextafter(c, math.inf)
    while f(math.nextafter(c, -math.inf)) >= target:
        c = math.nextafter(c, -math.inf)
    return c


@pytest.mark.parametrize("rel, kind_up", [("<=", "min"), ("<", "min"), (">=", "max"),
                                          (">", "max")])
def test_fitted_constant_of_an_increasing_bound(monkeypatch, rel, kind_up):
    monkeypatch.setattr(verdicts, "certified_value", _fake_certified(2.0, 3.0))
    c = _claim(H + f'quantity = "barrier"\nrelation = "{rel}"\nbound = "C * k"\n'
                   'constants = { C = 0.01 }\n')
    (r,) = C.check_claim(c)
    target = 3.0 if rel in ("<=", "<") else 2.0
    assert r.fit == "C" and r.limit_kind == kind_up
    assert r.limit == _smallest(lambda x: x * 2, target, target / 2)
    # the decreasing bound: the other kind
    c = _claim(H + f'quantity = "barrier"\nrelation = "{rel}"\nbound = "k / C"\n'
                   'constants = { C = 5 }\n')
    (r,) = C.check_claim(c)
    assert r.limit_kind == ("max" if kind_up == "min" else "min")
    assert r.limit == pytest.approx(2 / target, rel=1e-15)


def test_fitted_constant_search_cases():
    def claim(bound, C0, name="C"):
        return _claim(H + f'quantity = "barrier"\nbound = "{bound}"\n'
                          f'constants = {{ {name} = {C0} }}\n')
    cross = verdicts._crossing
    # bracket from far below: doubling from 1e-300 to 1e300 (about 2000 doublings)
    c = cross(claim("C", "1e-300"), {}, 1e299)
    assert c == _smallest(lambda x: x, 1e299, 1e299)
    # beyond 1e300: not bracketed
    assert cross(claim("C", 1), {}, 1e301) is None
    assert verdicts._solve_constant(claim("C", 1), {}, 1e301, True) == (None, None)
    # a constant bound never reaches the target
    assert cross(claim("C * 0 + 1", 1), {}, 5.0) is None
    # already beyond the target at C = 0: zero
    assert cross(claim("C + 10", 1), {}, 5.0) == 0.0
    assert verdicts._solve_constant(claim("C + 10", 1), {}, 5.0, True) == (0.0, "min")
    # negative starting value: its magnitude is the first step
    assert cross(claim("C", -4), {}, 3.0) == 3.0
    # undefined at 0: the search starts just above it
    assert cross(claim("1 / C", 1), {}, 0.5) == pytest.approx(2.0, rel=1e-15)
    assert cross(claim("1 / C", 1), {}, 1e200) == pytest.approx(1e-200, rel=1e-15)
    c = cross(claim("1 / C", 1), {}, 1e299)
    assert c == pytest.approx(1e-299, rel=1e-15)
    assert cross(claim("log(C)", 1), {}, -1.0) == pytest.approx(math.exp(-1), rel=1e-15)
    # the crossing far below the starting constant (bisection from 0 reaches it)
    assert cross(claim("C", 1), {}, 1e-100) == _smallest(lambda x: x, 1e-100, 1e-100)
    assert cross(claim("C * C", 1), {}, 1e-200) == _smallest(lambda x: x * x, 1e-200, 1e-100)
    for c0 in (0.5, 2, 1e10):                      # any starting constant above the crossing
        assert cross(claim("C", c0), {}, 1e-100) == 1e-100
    assert cross(claim("C - 1", 1), {}, -0.5) == _smallest(lambda x: x - 1, -0.5, 0.5)
    # decreasing: the crossing where the bound falls to the target, far below the constant
    assert cross(claim("1e-100 - C", 1), {}, 0.0) == 1e-100
    assert cross(claim("1e-100 - C", 1), {}, -1e-100) == 2e-100
    # exactly at the target at C = 0, or above it: zero
    assert cross(claim("C", 1), {}, 0.0) == 0.0
    assert cross(claim("C + 10", 1), {}, 9.5) == 0.0
    # the doubling may reach 1e300 itself
    assert cross(dataclasses.replace(claim("C", 1), constants={"C": 1e300 / 2}), {}, 1e300) == 1e300
    # undefined at 0 and constant in C: never reaches the target
    assert cross(claim("0 * (1 / C) + 1", 1), {}, 5.0) is None
    assert cross(claim("0 * (1 / C) + 1", 1), {}, -5.0) > 0
    # a starting constant so small that 1e-300 of it underflows: the search still starts
    assert cross(claim("1 / C", "1e-30"), {}, 1e20) == pytest.approx(1e-20, rel=1e-15)
    # non-finite target, no fitted constant
    assert cross(claim("C", 1), {}, math.inf) is None
    assert cross(claim("C", 1), {}, math.nan) is None
    assert cross(dataclasses.replace(claim("C", 1), fit=None), {}, 1.0) is None
    # the environment is used and not modified
    env = {"k": 4}
    assert cross(claim("C * k", 1), env, 2.0) == 0.5 and env == {"k": 4}
    # decreasing: the crossing from above
    assert cross(claim("10 - C", 1), {}, 4.0) == 6.0
    assert verdicts._solve_constant(claim("10 - C", 1), {}, 4.0, True) == (6.0, "max")
    assert verdicts._solve_constant(claim("10 - C", 1), {}, 4.0, False) == (6.0, "min")
    assert verdicts._solve_constant(claim("C * 2", 1), {}, 4.0, False) == (2.0, "max")


def test_a_bound_error_at_a_point_names_the_claim_and_the_point():
    c = _claim(H + 'quantity = "barrier"\nbound = "1 / (k - 2)"\n[claim.grid]\nk = [2]\n')
    assert message(C.check_claim, c) == "claim 'n': at {'k': 2}: bound: division by zero"
    c = _claim(H + 'quantity = "barrier"\nbound = "exp(1000 * k)"\n[claim.grid]\nk = [2]\n')
    assert message(C.check_claim, c) == ("claim 'n': at {'k': 2}: bound: 'exp(1000 * k)' "
                                         "evaluates to inf (overflows float64) at this point")


def test_check_claim_runs_every_grid_point_in_order(monkeypatch):
    monkeypatch.setattr(verdicts, "certified_value", _fake_certified(2.0, 3.0))
    c = _claim(H + 'quantity = "barrier"\nbound = "k"\n[claim.grid]\nk = [4, 1, 3]\n')
    rs = C.check_claim(c)
    assert [r.point for r in rs] == [{"k": 4}, {"k": 1}, {"k": 3}]
    assert [r.verdict for r in rs] == ["holds", "violated", "undecided"]
    assert [r.bound for r in rs] == [4.0, 1.0, 3.0]


def test_point_result_to_dict():
    r = C.PointResult("c", {"k": 2}, "barrier", "<=", 1.5, (0.1, math.inf), "holds", 0.99,
                      "arb", "C", 0.25, "min", "a note")
    assert r.to_dict() == {"claim": "c", "point": {"k": 2}, "quantity": "barrier",
                           "relation": "<=", "bound": 1.5, "value": [0.1, None],
                           "verdict": "holds", "confidence": 0.99, "method": "arb", "fit": "C",
                           "limit": 0.25, "limit_kind": "min", "note": "a note"}
    r = dataclasses.replace(r, value=(-math.inf, math.nan))
    assert r.to_dict()["value"] == [None, None]
    assert C.PointResult("c", {}, "q", "<", 1.0, (1.0, 2.0), "v", 1.0, "m", None, None,
                         None).note == ""


STAT = (H + 'quantity = "steps_to_eps"\nrelation = "{rel}"\nbound = "C"\n'
        'constants = {{ C = 1 }}\nchains = {n}\nconfidence = 0.9\n{extra}'
        '[claim.params]\neta = 0.5\neps = 0.01\ndelta = 0.25\n')


def _with_sample(monkeypatch, x):
    monkeypatch.setattr(verdicts, "_sample", lambda claim, point, problem: (np.asarray(x, float),
                                                                             "sample note"))


def _cp(x, n, alpha):
    lo = 0.0 if x == 0 else beta_dist.ppf(alpha, x, n - x + 1)
    hi = 1.0 if x == n else beta_dist.isf(alpha, x + 1, n - x)
    return lo, hi


@pytest.mark.parametrize("rel", ["<=", "<", ">=", ">"])
def test_statistical_verdict_counts_the_chains_and_the_limit_flips_it(monkeypatch, rel):
    n = 20
    x = np.r_[np.arange(1.0, 19.0), [np.inf] * 2]          # 18 finite values, 2 never
    rng = np.random.default_rng(3)
    rng.shuffle(x)
    _with_sample(monkeypatch, x)
    for b in (0.5, 10.0, 17.0, 18.0, 100.0):
        c = dataclasses.replace(_claim(STAT.format(rel=rel, n=n, extra="")),
                                constants={"C": b})
        (r,) = C.check_claim(c)
        good = int(np.sum({"<=": x <= b, "<": x < b, ">=": x >= b, ">": x > b}[rel]))
        lo, hi = _cp(good, n, 0.1)
        assert r.value == pytest.approx((lo, hi), rel=1e-9, abs=1e-300)
        want = "holds" if lo >= 0.75 else "violated" if hi < 0.75 else "undecided"
        assert r.verdict == want, (b, good, r)
        assert (r.confidence, r.method, r.quantity) == (0.9, "clopper-pearson", "steps_to_eps")
        assert r.note == (f"P(steps_to_eps {rel} bound) >= 0.75 tested; {good}/{n} chains; "
                          "sample note")
        assert r.limit is not None and r.limit_kind == ("min" if rel in ("<=", "<") else "max")
        assert (r.claim, r.point, r.relation, r.bound, r.fit) == \
            ("n", {"eta": 0.5, "eps": 0.01, "delta": 0.25}, rel, b, "C")
    # the limit: the claim holds just on the good side of it and not on the other
    lim, kind = r.limit, r.limit_kind
    up, down = lim * (1 + 1e-9), lim * (1 - 1e-9)
    agree, disagree = (up, down) if kind == "min" else (down, up)
    base = _claim(STAT.format(rel=rel, n=n, extra=""))
    assert C.check_claim(dataclasses.replace(base, constants={"C": agree}))[0].verdict == "holds"
    assert C.check_claim(dataclasses.replace(base, constants={"C": disagree}))[0].verdict != "holds"


def test_statistical_probability_and_its_defaults(monkeypatch):
    n = 30
    _with_sample(monkeypatch, np.r_[np.arange(1.0, 29.0), [np.inf] * 2])
    (r,) = C.check_claim(_claim(STAT.format(rel="<=", n=n, extra="probability = 0.5\n")))
    assert "P(steps_to_eps <= bound) >= 0.5 tested; 1/30 chains" in r.note
    (r,) = C.check_claim(_claim(STAT.format(rel="<=", n=n, extra="probability = \"1 - k / 4\"\n")))
    assert ">= 0.5 tested" in r.note
    # without delta (escape_time): 0.5
    text = (H + 'quantity = "escape_time"\nbound = "C"\nconstants = { C = 100 }\nchains = 30\n'
            'confidence = 0.9\nparams = { eta = 0.5, sigma = 1 }\n')
    (r,) = C.check_claim(_claim(text))
    assert r.note.startswith("P(escape_time <= bound) >= 0.5 tested; 28/30 chains")
    for q in ("0", "1.5", "-0.5"):
        with pytest.raises(ValueError) as info:
            C.check_claim(_claim(STAT.format(rel="<=", n=n, extra=f"probability = {q}\n")))
        assert str(info.value) == f"claim 'n': probability must lie in (0, 1], got {float(q)}"
    (r,) = C.check_claim(_claim(STAT.format(rel="<=", n=n, extra="probability = 1\n")))
    assert r.verdict == "violated"           # 2 of 30 never reach eps: P = 1 is refuted
    # a non-finite probability is refused naming it
    with pytest.raises(ClaimError) as info:
        C.check_claim(_claim(STAT.format(rel="<=", n=n, extra='probability = "exp(1000)"\n')))
    assert str(info.value) == ("probability: 'exp(1000)' evaluates to inf (overflows float64) "
                               "at this point")
    # no sample size reaches the probability: no limit
    _with_sample(monkeypatch, [1.0, 2.0])
    (r,) = C.check_claim(_claim(STAT.format(rel="<=", n=2, extra="probability = 0.99\n")))
    assert r.limit is None and r.limit_kind is None


def test_statistical_verdict_and_limit_at_the_probability_edges(monkeypatch):
    """q equal to a Clopper-Pearson end: the verdict's >= / < and the limit's first count j
    with CP_low(j) >= q, checked at q = CP_low(j) exactly, for j = 1, 10 and n."""
    n, alpha = 20, 1 - 0.9
    x = np.arange(1.0, 21.0)[::-1].copy()                  # all finite, unsorted
    _with_sample(monkeypatch, x)

    def run(q, b=10.0):
        c = _claim(STAT.format(rel="<=", n=n, extra=f"probability = {q!r}\n"))
        return C.check_claim(dataclasses.replace(c, constants={"C": b}))[0]
    lo, hi = C.clopper_pearson(10, n, alpha)                # 10 of 20 values are <= 10
    assert run(lo).verdict == "holds"                       # CP_low == q holds
    assert run(hi).verdict == "undecided"                   # CP_high == q is not refuted
    assert run(math.nextafter(hi, 2.0)).verdict == "violated"
    for j in (1, 10, n):
        q = C.clopper_pearson(j, n, alpha)[0]
        r = run(q)
        assert r.limit == pytest.approx(np.sort(x)[j - 1], rel=1e-12), j
    q = math.nextafter(C.clopper_pearson(n - 1, n, alpha)[0], 1.0)   # only j = n reaches it
    assert run(q).limit == pytest.approx(20.0, rel=1e-12)


@pytest.mark.parametrize("rel", [">=", ">", "<=", "<"])
def test_probability_claims_are_about_the_success_probability(monkeypatch, rel):
    n = 50
    x = np.r_[np.zeros(40), [np.inf] * 10]
    _with_sample(monkeypatch, x)
    text = (H + f'quantity = "success_probability"\nrelation = "{rel}"\nbound = "C"\n'
            'constants = { C = 0.5 }\nchains = 50\nconfidence = 0.95\n'
            '[claim.params]\neta = 0.5\neps = 0.01\ndelta = 0.25\n')
    alpha = 1 - 0.95                              # as the checker computes it
    lo, hi = C.clopper_pearson(40, n, alpha)      # the ends themselves as bounds (edge cases)
    assert (lo, hi) == pytest.approx(_cp(40, n, alpha), rel=1e-9)
    for b in (0.5, 0.7, 0.8, 0.9, 0.95, lo, hi):
        (r,) = C.check_claim(dataclasses.replace(_claim(text), constants={"C": b}))
        assert r.value == pytest.approx((lo, hi), rel=1e-9)
        if rel in (">=", ">"):
            want = "holds" if lo >= b else "violated" if hi < b else "undecided"
        else:
            want = "holds" if hi <= b else "violated" if lo > b else "undecided"
        assert r.verdict == want, (b, r)
        assert r.note == "40/50 successes; sample note" and r.method == "clopper-pearson"
        assert (r.claim, r.quantity, r.relation, r.bound, r.fit) == \
            ("n", "success_probability", rel, b, "C")
        assert r.point == {"eta": 0.5, "eps": 0.01, "delta": 0.25}
        assert r.confidence == 0.95
        target = lo if rel in (">=", ">") else hi
        assert r.limit == pytest.approx(target, rel=1e-15)
        assert r.limit_kind == ("max" if rel in (">=", ">") else "min")
    (r,) = C.check_claim(dataclasses.replace(_claim(text), fit=None))
    assert r.limit is None and r.limit_kind is None


@dataclasses.dataclass
class _Fit:
    low: float
    high: float


@pytest.mark.parametrize("quantity", ["delta_exponent", "restart_exponent"])
def test_exponent_verdicts_on_a_controlled_interval(monkeypatch, quantity):
    seen = []

    def check_args(claim, point, problem):
        assert isinstance(claim, C.Claim) and claim.quantity == quantity
        assert isinstance(point, dict) and point["eta"] == 0.5
        assert isinstance(problem, vp.Problem)
        seen.append(1)
    monkeypatch.setattr(verdicts, "delta_exponent_fit",
                        lambda *a: check_args(*a) or (_Fit(2.0, 3.0), None, "law note"))
    monkeypatch.setattr(verdicts, "restart_exponent_fit",
                        lambda *a: check_args(*a) or (_Fit(2.0, 3.0), "restart note"))
    note = "law note" if quantity == "delta_exponent" else "restart note"
    method = ("clopper-pearson box, least-squares slope" if quantity == "delta_exponent"
              else "clopper-pearson, ratio of logs")
    text = LAW if quantity == "delta_exponent" else RST
    extra = "x_max = 2.0\n" if quantity == "delta_exponent" else "restarts = 2\n"
    for rel, b, want in ((">=", 1.5, "holds"), (">=", 2.5, "undecided"), (">", 3.5, "violated"),
                         ("<=", 3.5, "holds"), ("<", 1.5, "violated")):
        t = text.replace('relation = ">="', f'relation = "{rel}"').replace(
            'bound = "dL_over_Lspur"', f'bound = "C"\nconstants = {{ C = {b} }}').replace(
            'bound = "restarts"', f'bound = "C"\nconstants = {{ C = {b} }}')
        (r,) = C.check_claim(_claim(t + extra))
        assert (r.verdict, r.value, r.method, r.note, r.bound) == (want, (2.0, 3.0), method,
                                                                   note, b), (rel, b)
        assert r.confidence == 0.999 and r.quantity == quantity
        assert (r.claim, r.relation, r.fit) == ("n", rel, "C")
        assert r.point == dict(next(_claim(t + extra).points()))
        assert r.limit == (3.0 if rel in ("<=", "<") else 2.0)
        assert r.limit_kind == ("min" if rel in ("<=", "<") else "max")
    (r,) = C.check_claim(_claim(text + extra))
    assert r.fit is None and r.limit is None and r.limit_kind is None
    assert len(seen) == 6
    if quantity == "delta_exponent":
        prob = C.build_problem({"family": "alternating"}, {})
        plo, phi, _ = evaluation.predicted_exponent(prob)
        assert r.note == f"predicted dL_over_Lspur in [{plo:.17g}, {phi:.17g}] (arb, 200 bits); law note"
    else:
        assert r.note == "restart note"


# ------------------------------------------------------------------ the 1/delta law (tiny)

def test_ladder_family_against_its_definition():
    eta, hold, quench = 0.5, 0.5, 20
    fam = delta_law.ladder_family(PB, eta, 0.5, 1.0, 0.5, hold, quench)
    dL = float(theory.barrier(PB))
    assert fam.levels == (0.5, 1.0) and fam.quench == 20 and type(fam.quench) is int
    steps = []
    for x, sigma in zip(fam.levels, fam.sigmas):
        assert dL / (eta * sigma ** 2 / 2) == pytest.approx(x, rel=1e-14)   # x = Delta L / T
        tau = theory.escape_time(PB, eta, sigma, method="1d")
        steps.append(max(1, math.ceil(hold * tau)))
    assert fam.steps == tuple(steps) and all(type(s) is int for s in fam.steps)
    assert fam.total_steps == (steps[0] + quench, steps[0] + steps[1] + quench)
    assert all(type(t) is int for t in fam.total_steps)
    # floating-point level counts: 0.1, 0.2, 0.3 are three members
    fam = delta_law.ladder_family(PB, eta, 0.1, 0.3, 0.1, 1e-6, 5)
    assert len(fam.levels) == 3 and fam.levels[2] == pytest.approx(0.3)
    assert fam.steps == (1, 1, 1) and fam.total_steps == (6, 7, 8)     # at least one step


def test_ladder_family_refuses_schedules_beyond_the_step_limit(monkeypatch):
    eta = 0.5
    fam = delta_law.ladder_family(PB, eta, 0.5, 1.0, 0.5, 1.0, 1)
    monkeypatch.setenv("VPGD_MAX_STEPS", str(fam.steps[1] - 1))
    tau = theory.escape_time(PB, eta, fam.sigmas[1], method="1d")
    with pytest.raises(ValueError) as info:
        delta_law.ladder_family(PB, eta, 0.5, 1.0, 0.5, 1.0, 1)
    assert str(info.value) == (f"delta_exponent: level x = 1 needs {tau:.3g} steps (more than "
                               f"the limit {fam.steps[1] - 1}; lower x_max)")
    monkeypatch.setenv("VPGD_MAX_STEPS", str(fam.total_steps[1] - 1))
    with pytest.raises(ValueError) as info:
        delta_law.ladder_family(PB, eta, 0.5, 1.0, 0.5, 1.0, 1)
    assert str(info.value) == (f"delta_exponent: the longest schedule has {fam.total_steps[1]} "
                               f"steps (more than the limit {fam.total_steps[1] - 1}; lower x_max)")
    monkeypatch.setenv("VPGD_MAX_STEPS", str(fam.total_steps[1]))
    assert delta_law.ladder_family(PB, eta, 0.5, 1.0, 0.5, 1.0, 1) == fam
    with pytest.raises(ValueError) as info:
        delta_law.ladder_family(NO_SPUR, eta, 0.5, 1.0, 0.5, 1.0, 1)
    assert str(info.value) == "delta_exponent: the problem has no spurious minimum (no barrier)"


def test_ladder_step_limits_at_their_edges(monkeypatch):
    from verified_pgd._validate import LIMITS
    monkeypatch.delenv("VPGD_MAX_STEPS", raising=False)
    monkeypatch.setattr(theory, "escape_time", lambda *a, **k: 1e3)
    # three levels of 4000 steps: each at the limit is allowed, the total is not
    monkeypatch.setenv("VPGD_MAX_STEPS", "4000")
    with pytest.raises(ValueError) as info:
        delta_law.ladder_family(PB, 0.5, 0.5, 1.5, 0.5, 4.0, 7)
    assert str(info.value) == ("delta_exponent: the longest schedule has 12007 steps (more "
                               "than the limit 4000; lower x_max)")
    monkeypatch.setenv("VPGD_MAX_STEPS", "10000")           # the last member, not the second
    with pytest.raises(ValueError, match="the longest schedule has 12007 steps"):
        delta_law.ladder_family(PB, 0.5, 0.5, 1.5, 0.5, 4.0, 7)
    monkeypatch.setenv("VPGD_MAX_STEPS", "12007")
    assert delta_law.ladder_family(PB, 0.5, 0.5, 1.5, 0.5, 4.0, 7).total_steps == \
        (4007, 8007, 12007)
    # the default limit (no environment variable)
    monkeypatch.delenv("VPGD_MAX_STEPS")
    big = LIMITS["steps"]
    monkeypatch.setattr(theory, "escape_time", lambda *a, **k: float(big))
    with pytest.raises(ValueError) as info:
        delta_law.ladder_family(PB, 0.5, 0.5, 1.0, 0.5, 2.0, 7)
    assert str(info.value) == (f"delta_exponent: level x = 0.5 needs {2.0 * big:.3g} steps "
                               f"(more than the limit {big}; lower x_max)")
    monkeypatch.setattr(theory, "escape_time", lambda *a, **k: float(big) / 4)
    with pytest.raises(ValueError) as info:
        delta_law.ladder_family(PB, 0.5, 0.5, 1.5, 0.5, 2.0, 7)
    assert str(info.value) == (f"delta_exponent: the longest schedule has {3 * big // 2 + 7} "
                               f"steps (more than the limit {big}; lower x_max)")
    monkeypatch.setattr(theory, "escape_time", lambda *a, **k: math.inf)
    with pytest.raises(ValueError, match="level x = 0.5 needs inf steps"):
        delta_law.ladder_family(PB, 0.5, 0.5, 1.0, 0.5, 2.0, 7)


def test_level_seeds_are_the_documented_seed_sequence():
    seeds = {delta_law._level_seed(s, j) for s in (0, 1) for j in range(3)}
    assert len(seeds) == 6
    want = int(np.random.SeedSequence([3, 0xDE17A, 2]).generate_state(1)[0])
    assert delta_law._level_seed(3, 2) == want and type(delta_law._level_seed(3, 2)) is int


def _failed(prob, res, th_s):
    th = np.asarray(res.history.theta[-1], float)
    return ~np.isfinite(th) | (th >= th_s) | np.asarray(res.diverged, bool)


def test_failure_counts_replicate_member_by_member():
    """Each member re-run from the start (levels 0..j, then the quench): the ladder's
    incremental run must give the same counts."""
    from verified_pgd.solver import Schedule
    eta, chains, seed = 0.5, 8, 4
    fam = delta_law.ladder_family(PB, eta, 0.5, 1.0, 0.5, 0.5, 15)
    sp = theory.spurious_minimum(PB)
    th_s = float(theory.saddle_theta(PB))
    got = delta_law.failure_counts(PB, fam, eta, sp.w, sp.a, chains, seed)
    want = []
    for j in range(len(fam.levels)):
        W = np.tile(sp.w, (chains, 1))
        A = np.tile(sp.a, (chains, 1))
        for i in range(j + 1):
            r = vp.pgd(PB, W, A, Schedule.constant(fam.sigmas[i], fam.steps[i]), eta,
                       seed=delta_law._level_seed(seed, i), chains=chains,
                       record_every=fam.steps[i])
            W, A = r.w, r.a
        q = vp.pgd(PB, W, A, Schedule.constant(0.0, fam.quench), eta, chains=chains,
                   record_every=fam.quench)
        want.append(int(np.sum(_failed(PB, q, th_s))))
    assert got.failures == tuple(want) and got.chains == chains and got.family == fam
    assert type(got.chains) is int and 0 < sum(want) < chains * len(want)   # not trivial
    # from the optimum with little noise nothing fails; a diverging step fails everything
    fam_cold = delta_law.ladder_family(PB, eta, 8.0, 9.0, 1.0, 1e-6, 10)
    ok = delta_law.failure_counts(PB, fam_cold, eta, PB.w_hat_star, PB.a_star, 5, 0)
    assert ok.failures == (0, 0)
    cold = delta_law.failure_counts(PB, fam_cold, eta, sp.w, sp.a, 5, 0)
    assert cold.failures == (5, 5)               # at the spurious minimum theta = pi >= theta_s
    big = delta_law.failure_counts(PB, fam_cold, 50.0, PB.w_hat_star, PB.a_star, 4, 0)
    assert big.failures == (4, 4)


def test_a_chain_that_diverged_stays_failed(monkeypatch):
    """Chains diverging in level 0 (flagged, or with a non-finite w or a) are reset to the
    start (here the optimum, where the quench keeps them): they must still count as failed
    in every later member, and the other chains not."""
    from verified_pgd.solver import api
    real = api.pgd
    calls = []

    def pgd(problem, W, A, sched, eta, **kw):
        r = real(problem, W, A, sched, eta, **kw)
        calls.append(sched.total_steps)
        if len(calls) == 1:                      # level 0: chain 1 diverges
            d = np.array(r.diverged, bool)
            d[1] = True
            w, a = np.array(r.w, float), np.array(r.a, float)
            w[2] = np.nan                        # chain 2: a non-finite w
            a[3, 1] = np.inf                     # chain 3: a non-finite a
            r = dataclasses.replace(r, diverged=d, w=w, a=a)
        return r
    monkeypatch.setattr(api, "pgd", pgd)
    import verified_pgd.solver as solver
    monkeypatch.setattr(solver, "pgd", pgd)
    fam = delta_law.ladder_family(PB, 0.5, 8.0, 9.0, 1.0, 1e-6, 10)
    got = delta_law.failure_counts(PB, fam, 0.5, PB.w_hat_star, PB.a_star, 5, 0)
    assert got.failures == (3, 3)


def test_failed_reads_the_final_theta():
    from types import SimpleNamespace as NS
    th_s = 2.0
    hist = NS(theta=np.array([[3.0, 0.1, 3.0, 0.1, 0.1],     # initial
                              [3.0, 3.0, 0.1, 0.1, 0.1],     # middle
                              [0.1, th_s, 3.0, np.nan, 0.1]]))  # final
    res = NS(history=hist, diverged=np.array([False, False, False, False, True]))
    np.testing.assert_array_equal(delta_law._failed(PB, res, th_s),
                                  [False, True, True, True, True])


def test_cached_counts_are_shared():
    fam = delta_law.ladder_family(PB, 0.5, 8.0, 9.0, 1.0, 1e-6, 10)
    key = (tuple(PB.w_hat_star), tuple(PB.a_star))
    a = delta_law.cached_failure_counts(PB, fam, 0.5, *key, 3, 0)
    assert delta_law.cached_failure_counts(PB, fam, 0.5, *key, 3, 0) is a
    assert a == delta_law.failure_counts(PB, fam, 0.5, PB.w_hat_star, PB.a_star, 3, 0)


def test_fit_exponent_against_independent_computations():
    T = (100, 300, 900, 2700)
    f, n, alpha = (400, 150, 50, 12), 1000, 0.01
    fit = delta_law.fit_exponent(T, f, n, alpha)
    J = len(T)
    for j, x in enumerate(f):
        lo, hi = _cp(x, n, alpha / (2 * J))      # two-sided 1 - alpha/J
        assert fit.delta_low[j] == pytest.approx(lo, rel=1e-9)
        assert fit.delta_high[j] == pytest.approx(hi, rel=1e-9)
    u = np.log(T)
    slope = np.polyfit(u, -np.log(np.asarray(f) / n), 1)[0]
    assert fit.slope == pytest.approx(slope, rel=1e-12) and fit.exponent == pytest.approx(1 / slope)
    y_lo, y_hi = -np.log(fit.delta_high), -np.log(fit.delta_low)
    import itertools
    corners = [np.polyfit(u, [y_lo[j] if c[j] else y_hi[j] for j in range(J)], 1)[0]
               for c in itertools.product((0, 1), repeat=J)]
    assert fit.slope_low == pytest.approx(min(corners), rel=1e-12)
    assert fit.slope_high == pytest.approx(max(corners), rel=1e-12)
    assert fit.low == pytest.approx(1 / max(corners)) and fit.high == pytest.approx(1 / min(corners))
    assert fit.alpha == alpha and type(fit.alpha) is float
    assert type(fit.delta_low) is tuple and type(fit.delta_high) is tuple
    # the members given in decreasing length: the same fit (the weights carry the sign)
    rev = delta_law.fit_exponent(T[::-1], f[::-1], n, alpha)
    assert rev.slope == pytest.approx(fit.slope) and rev.low == pytest.approx(fit.low)
    assert rev.high == pytest.approx(fit.high)
    # failures rising with T: slope < 0, no exponent
    up = delta_law.fit_exponent(T, f[::-1], n, alpha)
    assert math.isnan(up.exponent) and up.slope < 0 and up.high == math.inf
    # a member with one failure still gives an estimate; a slope below 1 (exponent > 1)
    for ff in ((400, 150, 50, 1), (400, 230, 133, 77)):
        fit = delta_law.fit_exponent(T, ff, n, alpha)
        slope = np.polyfit(u, -np.log(np.asarray(ff) / n), 1)[0]
        assert fit.exponent == pytest.approx(1 / slope, rel=1e-12), ff
    assert fit.exponent > 1
    # a member of weight 0 (log T at the mean) without failures: finite ends, not nan
    T3 = (100, 1000, 10000)
    assert np.log(1000.0) - np.mean(np.log(T3)) == 0.0
    mid0 = delta_law.fit_exponent(T3, (50, 0, 5), 1000, alpha)
    full = delta_law.fit_exponent((100, 10000), (50, 5), 1000, alpha * 2 / 3)   # same CP level
    assert mid0.slope_low == pytest.approx(full.slope_low, rel=1e-12)
    assert mid0.slope_high == pytest.approx(full.slope_high, rel=1e-12)
    assert not math.isnan(mid0.low) and not math.isnan(mid0.high)
    # failures not falling at all: slope exactly 0 (log 4 = 2 log 2), no exponent
    flat = delta_law.fit_exponent((1, 4), (50, 50), n, alpha)
    assert flat.slope == 0.0 and math.isnan(flat.exponent)
    zero = delta_law.fit_exponent(T, (400, 150, 50, 0), n, alpha)
    assert math.isnan(zero.exponent) and math.isnan(zero.slope)
    assert zero.slope_high == math.inf and zero.low == 0.0
    for args in (((100,), (5,)), ((100, 100), (5, 4)), ((100, 200), (5,))):
        with pytest.raises(ValueError) as info:
            delta_law.fit_exponent(*args, 1000, 0.01)
        assert str(info.value) == "delta_exponent: need at least two members of different lengths"
    assert delta_law._inv(0.0) == math.inf and delta_law._inv(-1.0) == math.inf
    assert delta_law._inv(math.inf) == 0.0 and delta_law._inv(4.0) == 0.25


def test_delta_exponent_fit_wires_the_claim_to_the_ladder():
    text = (LAW.replace('bound = "dL_over_Lspur"', 'bound = "dL_over_Lspur"\nchains = 6\n'
                                                     'seed = 2\nconfidence = 0.9')
            + "x_min = 0.5\nx_max = 1.0\nx_step = 0.5\nhold = 0.5\nquench = 20\n"
            "[claim.problem]\nw_star = [1.0, 0.0, 0.0]\na_star = [1.0, -1.0]\n").replace(
                "chains = 6\nseed = 2", "chains = 20\nseed = 1")
    c = _claim(text)
    point = next(c.points())
    fit, counts, note = evaluation.delta_exponent_fit(c, point, PB)
    fam = delta_law.ladder_family(PB, 0.5, 0.5, 1.0, 0.5, 0.5, 20)
    sp = theory.spurious_minimum(PB)
    want = delta_law.failure_counts(PB, fam, 0.5, sp.w, sp.a, 20, 1)
    assert counts == want
    assert fit == delta_law.fit_exponent(fam.total_steps, want.failures, 20, 1 - 0.9)
    assert math.isfinite(fit.exponent)               # failures fall along the ladder
    members = "; ".join(f"x={x:g}: T={t}, {f}/20 failed"
                        for x, t, f in zip(fam.levels, fam.total_steps, want.failures))
    assert note == (f"least-squares exponent {fit.exponent:.4g} of T ~ delta^-e over 2 ladder "
                    f"schedules (hold 0.5 x tau_1d, quench 20, init spurious); per-member "
                    f"Clopper-Pearson at 1 - alpha/2; {members}")
    # the defaults (x_min 0.5, x_step 0.5, hold 4, quench 200) fill what the claim omits
    c2 = _claim(LAW + "x_max = 1.0\n")
    assert delta_law.DEFAULTS == {"x_min": 0.5, "x_step": 0.5, "hold": 4.0, "quench": 200}
    # random starts: one per chain, the same for the same seed
    c3 = dataclasses.replace(c, init="random")
    fit3, counts3, note3 = evaluation.delta_exponent_fit(c3, point, PB)
    w0, a0 = evaluation._starts(c3, PB)
    assert counts3 == delta_law.failure_counts(PB, fam, 0.5, w0, a0, 20, 1)
    assert "init random" in note3
    del c2


# ------------------------------------------------------------------ restarts (tiny)

def test_restart_schedule_against_its_definition():
    eta, x, hold, quench = 0.5, 1.0, 0.7, 9
    s = restart_law.restart_schedule(PB, eta, x, hold, quench)
    sigma = math.sqrt(2 * float(theory.barrier(PB)) / x / eta)
    tau = theory.escape_time(PB, eta, sigma, method="1d")
    assert [(st.sigma_w, st.steps) for st in s.stages] == [(sigma, math.ceil(hold * tau)),
                                                           (0.0, quench)]
    s = restart_law.restart_schedule(PB, eta, 8.0, 1e-9, 3.0)
    assert [st.steps for st in s.stages] == [1, 3]
    with pytest.raises(ValueError) as info:
        restart_law.restart_schedule(NO_SPUR, eta, x, hold, quench)
    assert str(info.value) == "restart_exponent: the problem has no spurious minimum (no barrier)"
    tau_big = theory.escape_time(PB, eta, math.sqrt(2 * float(theory.barrier(PB)) / 10 / eta),
                                 method="1d")
    hold_big = 1.01e8 / tau_big
    with pytest.raises(ValueError) as info:
        restart_law.restart_schedule(PB, eta, 10.0, hold_big, quench)
    assert str(info.value) == (f"restart_exponent: x = 10 needs {hold_big * tau_big:.3g} steps "
                               "(lower x)")

def test_restart_schedule_step_limit_is_1e8(monkeypatch):
    monkeypatch.setattr(theory, "escape_time", lambda *a, **k: 1e6)
    # the limit itself, 1e8 steps, is allowed; a half step more is not
    assert restart_law.restart_schedule(PB, 0.5, 10.0, 100.0, 1).stages[0].steps == 10 ** 8
    with pytest.raises(ValueError) as info:
        restart_law.restart_schedule(PB, 0.5, 10.0, 100.0000005, 1)
    assert str(info.value) == "restart_exponent: x = 10 needs 1e+08 steps (lower x)"
    monkeypatch.setattr(theory, "escape_time", lambda *a, **k: math.inf)
    with pytest.raises(ValueError) as info:
        restart_law.restart_schedule(PB, 0.5, 10.0, 1.0, 1)
    assert str(info.value) == "restart_exponent: x = 10 needs inf steps (lower x)"


def test_ratio_and_fit_from_counts():
    r = restart_law._ratio
    assert r(0.25, 0.5) == 2.0
    assert r(0.0, 0.5) == math.inf and r(0.25, 1.0) == math.inf and r(0.0, 1.0) == math.inf
    assert r(0.25, 0.0) == 0.0 and math.isnan(r(0.0, 0.0))
    n, alpha = 400, 0.01
    for f1, f2 in ((200, 60), (400, 10), (0, 5), (100, 0), (200, 400)):
        est, lo, hi = restart_law.fit_from_counts(f1, f2, n, alpha)
        d_lo, d_hi = _cp(f1, n, alpha / 4)
        q_lo, q_hi = _cp(f2, n, alpha / 4)

        def ratio(q, d):
            return (math.inf if q == 0 else -math.log(q)) / (math.inf if d == 0 else -math.log(d)) \
                if 0 < d < 1 or d == 0 and q > 0 else (math.inf if d == 1 else math.nan)
        assert lo == pytest.approx(ratio(q_hi, d_lo), rel=1e-9), (f1, f2)
        assert hi == pytest.approx(ratio(q_lo, d_hi), rel=1e-9), (f1, f2)
        if 0 < f1 < n and f2 > 0:
            assert est == pytest.approx(math.log(n / f2) / math.log(n / f1), rel=1e-14)
        else:
            assert math.isnan(est)


def test_restart_fit_and_its_claim_wiring(monkeypatch):
    import verified_pgd.restarts as R
    real = R.pgd_restarts
    calls = []

    def rec(*args, **kw):
        calls.append((args, kw))
        return real(*args, **kw)
    monkeypatch.setattr(R, "pgd_restarts", rec)
    eta, x, m = 0.5, 0.5, 3
    fit = restart_law.restart_fit(PB, eta, x, m, hold=2.0, quench=15, eps=0.3, select="loss",
                                  chains=10, seed=7, alpha=0.02)
    sched = restart_law.restart_schedule(PB, eta, x, 2.0, 15)
    sp = theory.spurious_minimum(PB)
    (a1, k1), (a2, k2) = calls
    for a in (a1, a2):
        assert a[0] is PB and a[3] == sched and a[4] == eta
        np.testing.assert_array_equal(a[1], sp.w)
        np.testing.assert_array_equal(a[2], sp.a)
    assert k1 == dict(restarts=1, chains=10, seed=7, eps=0.3, record_every=sched.total_steps)
    assert k2 == dict(restarts=m, chains=10, seed=8, select="loss", eps=0.3,
                      record_every=sched.total_steps)
    single, group = real(*a1, **k1), real(*a2, **k2)
    f1, f2 = 10 - int(np.sum(single.success)), 10 - int(np.sum(group.success))
    est, lo, hi = restart_law.fit_from_counts(f1, f2, 10, 0.02)
    assert (fit.single_failures, fit.restart_failures, fit.chains, fit.restarts) == (f1, f2, 10, m)
    assert fit.steps == sched.total_steps and fit.alpha == 0.02
    assert (fit.low, fit.high) == (lo, hi)
    assert fit.m_eff == est and 0 < f1 < 10 and f2 > 0      # a finite m_eff
    # through the claim: defaults hold 2, quench 300, eps 0.01 and select / seed / chains
    assert restart_law.DEFAULTS == {"hold": 2.0, "quench": 300, "eps": 1e-2}
    calls.clear()
    c = _claim(RST.replace('bound = "restarts"', 'bound = "restarts"\nchains = 10\nseed = 7\n'
                           'confidence = 0.9\nselect = "random"').replace("x = 1.5", "x = 0.5")
               + "restarts = 2\nhold = 2.0\nquench = 15\neps = 0.3\n")
    fit, note = evaluation.restart_exponent_fit(c, next(c.points()), PB)
    sched = restart_law.restart_schedule(PB, 0.5, 0.5, 2.0, 15)
    assert calls[1][1] == dict(restarts=2, chains=10, seed=8, select="random", eps=0.3,
                               record_every=sched.total_steps)
    assert math.isfinite(fit.m_eff)
    assert fit.alpha == pytest.approx(0.1, rel=1e-12)
    est = "undefined" if not math.isfinite(fit.m_eff) else f"{fit.m_eff:.4g}"
    assert note == (f"m_eff = log(1/q)/log(1/delta0) = {est}: single-run failures "
                    f"{fit.single_failures}/10, 2 restarts selected by random: "
                    f"{fit.restart_failures}/10 failed; schedule {sched.total_steps} steps "
                    "(x = 0.5, hold 2 x tau_1d, eps 0.3); Clopper-Pearson at 1 - alpha/2 each")
    calls.clear()
    c = _claim(RST + "restarts = 2\n")
    monkeypatch.setattr(restart_law, "restart_fit", lambda *a, **k: (a, k))
    got = evaluation.restart_exponent_fit
    with pytest.raises(AttributeError):          # the stub's tuple has no m_eff: args seen
        got(c, next(c.points()), PB)


# ------------------------------------------------------------------ samples (wiring, tiny)

class _Recorder:
    """Records the calls of a solver entry point and calls the real one."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, *args, **kw):
        self.calls.append((args, kw))
        return self.real(*args, **kw)


def _stat_claim(quantity, extra="", params="eta = 0.5\neps = 0.05\ndelta = 0.5\n"):
    return _claim(H + f'quantity = "{quantity}"\nbound = "1e9"\nchains = 5\nseed = 9\n{extra}'
                      f'[claim.params]\n{params}')


def test_steps_sample_runs_the_theory_schedule_from_the_start(monkeypatch):
    import verified_pgd.solvers as solvers
    short = vp.Schedule([(0.3, 40), (0.0, 60)])
    sched_calls = []
    monkeypatch.setattr(theory, "schedule",
                        lambda *a: sched_calls.append(a) or short)
    rec = _Recorder(solvers.pgd)
    monkeypatch.setattr(solvers, "pgd", rec)
    sp = theory.spurious_minimum(PB)
    for init, w0, a0 in (("spurious", sp.w, sp.a),
                         ("antipodal", -PB.w_hat_star, np.zeros(2))):
        rec.calls.clear()
        c = _stat_claim("steps_to_eps", f'init = "{init}"\n')
        x, note = evaluation._sample(c, next(c.points()), PB)
        assert sched_calls[-1] == (PB, 0.05, 0.5, 0.5)
        ((args, kw),) = rec.calls
        assert args[0] is PB and args[3] is short and args[4] == 0.5
        np.testing.assert_array_equal(args[1], w0)
        np.testing.assert_array_equal(args[2], a0)
        assert kw == dict(seed=9, chains=5, eps=0.05, record_every=100)
        res = vp.pgd(PB, w0, a0, short, 0.5, seed=9, chains=5, eps=0.05, record_every=100)
        want = np.where((res.hit_step >= 0) & ~res.diverged, res.hit_step, np.inf)
        np.testing.assert_array_equal(x, want)
        assert x.dtype == float and note == f"theory.schedule T = 100, init {init}"
    # without a spurious minimum the spurious init starts antipodal, and reaches eps
    c = _stat_claim("steps_to_eps")
    x, _ = evaluation._sample(c, next(c.points()), NO_SPUR)
    np.testing.assert_array_equal(rec.calls[-1][0][1], -NO_SPUR.w_hat_star)
    np.testing.assert_array_equal(rec.calls[-1][0][2], np.zeros(2))
    res = vp.pgd(NO_SPUR, -NO_SPUR.w_hat_star, np.zeros(2), short, 0.5, seed=9, chains=5,
                 eps=0.05, record_every=100)
    assert np.all(res.hit_step > 0)
    np.testing.assert_array_equal(x, res.hit_step.astype(float))
    # a diverged chain never counts as reaching eps
    rec.calls.clear()
    monkeypatch.setattr(solvers, "pgd", lambda *a, **k: dataclasses.replace(
        rec.real(*a, **k), diverged=np.ones(5, bool)))
    x, _ = evaluation._sample(c, next(c.points()), PB)
    assert np.all(x == np.inf)


def test_escape_sample_passes_the_claim(monkeypatch):
    import verified_pgd.escape as escape
    rec = _Recorder(escape.escape_times)
    monkeypatch.setattr(escape, "escape_times", rec)
    c = _stat_claim("escape_time", "horizon = 300\n", "eta = 0.5\nsigma = 0.8\n")
    x, note = evaluation._sample(c, next(c.points()), PB)
    ((args, kw),) = rec.calls
    assert args == (PB, 0.8, 0.5)
    assert kw == dict(chains=5, horizon=300, seed=9, record_every=1)
    want = escape.escape_times(PB, 0.8, 0.5, chains=5, horizon=300, seed=9, record_every=1)
    np.testing.assert_array_equal(x, want.times)
    assert x.dtype == float and note == "horizon 300, resolution 1"
    # the default horizon 100000 is recorded at escape_times' default resolution
    monkeypatch.setattr(escape, "escape_times", lambda *a, **k: rec.calls.append((a, k)) or
                        dataclasses.replace(want, record_every=50))
    c = _stat_claim("escape_time", "", "eta = 0.5\nsigma = 0.8\n")
    x, note = evaluation._sample(c, next(c.points()), PB)
    assert rec.calls[-1][1] == dict(chains=5, horizon=100_000, seed=9, record_every=None)
    assert note == "horizon 100000, resolution 50"
    for h, every in ((20_000, 1), (20_001, None)):
        c = _stat_claim("escape_time", f"horizon = {h}\n", "eta = 0.5\nsigma = 0.8\n")
        evaluation._sample(c, next(c.points()), PB)
        assert rec.calls[-1][1]["record_every"] == every


def test_protocol_samples(monkeypatch):
    import verified_pgd.solver as solver
    from verified_pgd.solver import Schedule
    rec = _Recorder(solver.pgd)
    monkeypatch.setattr(solver, "pgd", rec)
    sp = theory.spurious_minimum(PB)
    # zhou2019_success from the optimum: every chain ends eps-close
    c = _stat_claim("zhou2019_success", 'init = "antipodal"\n', "eps = 0.5\n")
    c = dataclasses.replace(c, chains=3)
    x, note = evaluation._sample(c, next(c.points()), PB)
    ((args, kw),) = rec.calls
    z = Schedule.zhou2019()
    assert args[3] == z and kw == dict(seed=9, chains=3, eps=0.5, record_every=z.total_steps)
    res = rec.real(*args, **kw)
    ev = (res.history.theta[-1] <= 0.5) & (res.history.a_error[-1] <= 0.5) & ~res.diverged
    np.testing.assert_array_equal(x, np.where(ev, 0.0, np.inf))
    assert note == "Schedule.zhou2019(), init antipodal, final state"
    # gd_spurious: GD from the spurious minimum stays there (theta = pi > theta_s)
    rec.calls.clear()
    c = _stat_claim("gd_spurious", "horizon = 30\n", "eta = 0.5\n")
    x, note = evaluation._sample(c, next(c.points()), PB)
    ((args, kw),) = rec.calls
    np.testing.assert_array_equal(args[1], sp.w)
    assert args[3] == Schedule.constant(0.0, 30) and args[4] == 0.5
    assert kw == dict(seed=9, chains=5, record_every=30)
    assert np.all(x == 0.0) and note == "GD 30 steps, init spurious, final theta > theta_s"
    # from the antipodal start GD leaves the spurious side ... or not: against theta_s
    rec.calls.clear()
    c = _stat_claim("gd_spurious", 'init = "antipodal"\n', "eta = 0.5\n")
    x, note = evaluation._sample(c, next(c.points()), PB)
    ((args, kw),) = rec.calls
    assert args[3] == Schedule.constant(0.0, 8000) and kw["record_every"] == 8000
    res = rec.real(*args, **kw)
    ev = (res.history.theta[-1] > float(theory.saddle_theta(PB))) & ~res.diverged
    np.testing.assert_array_equal(x, np.where(ev, 0.0, np.inf))
    # no spurious minimum: theta_s = pi, nothing is on the spurious side
    rec.calls.clear()
    c = _stat_claim("gd_spurious", "horizon = 20\n", "eta = 0.5\n")
    x, _ = evaluation._sample(c, next(c.points()), NO_SPUR)
    assert np.all(x == np.inf)
    # diverged chains are never events
    monkeypatch.setattr(solver, "pgd", lambda *a, **k: dataclasses.replace(
        rec.real(*a, **k), diverged=np.ones(5, bool)))
    c = _stat_claim("gd_spurious", "horizon = 30\n", "eta = 0.5\n")
    x, _ = evaluation._sample(c, next(c.points()), PB)
    assert np.all(x == np.inf)
    c = _stat_claim("zhou2019_success", 'init = "antipodal"\n', "eps = 0.5\n")
    x, _ = evaluation._sample(c, next(c.points()), PB)
    assert np.all(x == np.inf)


def test_protocol_events_are_read_from_the_final_state_at_their_edges(monkeypatch):
    """Forged histories (the solver's result with its recorded rows replaced): the
    zhou2019 event is theta <= eps and a_error <= eps at the final state (equality counts),
    the gd_spurious event theta > theta_s at the final state, not the initial one."""
    import verified_pgd.solver as solver
    real = solver.pgd
    forged = {}

    def pgd(*a, **k):
        r = real(*a, **k)
        h = r.history
        assert h.theta.shape[0] == 2                   # the initial and the final state
        th, ae = np.array(h.theta), np.array(h.a_error)
        th[:], ae[:] = forged["theta"], forged["a_error"]
        return dataclasses.replace(r, history=dataclasses.replace(h, theta=th, a_error=ae))
    monkeypatch.setattr(solver, "pgd", pgd)
    eps = 0.5
    forged["theta"] = [[3.0, 3.0, 0.1], [eps, 0.2, eps]]
    forged["a_error"] = [[9.0, 9.0, 0.1], [eps, eps, math.nextafter(eps, 1.0)]]
    c = dataclasses.replace(_stat_claim("zhou2019_success", 'init = "antipodal"\n', "eps = 0.5\n"),
                            chains=3)
    x, _ = evaluation._sample(c, next(c.points()), PB)
    np.testing.assert_array_equal(x, [0.0, 0.0, np.inf])
    th_s = float(theory.saddle_theta(PB))
    forged["theta"] = [[3.0, 3.0, 0.1], [0.1, th_s, math.nextafter(th_s, 4.0)]]
    forged["a_error"] = [[0.0] * 3, [0.0] * 3]
    c = dataclasses.replace(_stat_claim("gd_spurious", "horizon = 10\n", "eta = 0.5\n"), chains=3)
    x, _ = evaluation._sample(c, next(c.points()), PB)
    np.testing.assert_array_equal(x, [np.inf, np.inf, 0.0])
