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
    (B + "grid = 3\n", "claim 'n': grid: expected a table of lists"),
    (B + "grid = { k = [] }\n", "claim 'n': grid.k: expected a non-empty list"),
    (B + "grid = { s = 2 }\n", "claim 'n': grid.s: expected a non-empty list"),
    (B + "grid = { k = [2.5] }\n", "claim 'n': grid.k: expected an integer, got 2.5"),
    (B + "grid = { p = [0] }\n", "claim 'n': grid.p: expected an integer in [1, 100000], got 0 "
                                 "(set VPGD_MAX_DIMENSION to lift the upper limit)"),
    (B + "grid = { k = [100001] }\n", "claim 'n': grid.k: expected an integer in [1, 100000], "
                                      "got 100001 (set VPGD_MAX_DIMENSION to lift the upper limit)"),
    (B + "grid = { s = [1, true] }\n", "claim 'n': grid.s: expected a finite number, got True"),
    (B + "params = 3\n", "claim 'n': params: expected a table of numbers"),
    (B + "params = { k = 1.5 }\n", "claim 'n': params.k: expected an integer, got 1.5"),
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
    for bad in ({"k": 0}, {"p": 0}, {"s": 0.0}, {"a_norm": -1.0}, {"s": math.nan}):
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
