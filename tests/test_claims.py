"""Claims files: the AST whitelist (malicious inputs never evaluated), verdicts of the
shipped examples (the violated one is the negative control), certified values against the
theory module's mpmath values, the fitted constant, and the CLI exit codes."""
import ast
import dataclasses
import math
from pathlib import Path

import mpmath
import pytest
from scipy.stats import binom

import verified_pgd as vp
import verified_pgd.claims as C
from verified_pgd import theory
from verified_pgd.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "claims"


# ------------------------------------------------------------------ expressions

@pytest.mark.parametrize("text, env, expected", [
    ("C * k**2 * log(1/delta) / (eta * sigma**2)",
     {"C": 2.0, "k": 3, "delta": 0.01, "eta": 0.5, "sigma": 0.3},
     2.0 * 9 * math.log(100) / (0.5 * 0.09)),
    ("-x + +y - 2**-1", {"x": 1.5, "y": 4.0}, -1.5 + 4.0 - 0.5),
    ("min(a, b, 3) + max(a, b) + sqrt(4) + exp(0)", {"a": 5.0, "b": -1.0}, -1 + 5 + 2 + 1),
    ("1e3 * (k + 1) / 4", {"k": 7}, 2000.0),
])
def test_whitelisted_expressions_evaluate_like_python_arithmetic(text, env, expected):
    e = C.parse_expression(text)
    assert e.evaluate(env) == pytest.approx(expected, rel=1e-15)


MALICIOUS = [
    "__import__('os').system('touch /tmp/pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "k.real",
    "x[0]",
    "(lambda: 1)()",
    "eval('1')",
    "exec('import os')",
    "open('/etc/passwd')",
    "[x for x in k]",
    "'text'",
    "1 if k else 2",
    "k and s",
    "k < s",
    "log(*k)",
    "log(k, 2)",
    "max(k)",
    "log",
    "_secret",
    "True",
    "1j",
    "k // 2",
    "k % 2",
    "k @ s",
    "~k",
    "not k",
    "(k := 3)",
    "{k: 1}",
    "f'{k}'",
    "log(k=1)",
    "k; s",
    "",
]


@pytest.mark.parametrize("text", MALICIOUS)
def test_malicious_or_foreign_expressions_are_refused(text):
    with pytest.raises(C.ClaimError):
        C.parse_expression(text)


def test_refusal_names_the_claim_and_nothing_is_evaluated(tmp_path):
    target = tmp_path / "pwned"
    bad = (f'[[claim]]\nname = "evil"\nquantity = "barrier"\n'
           f'bound = "__import__(\'pathlib\').Path(\'{target}\').touch()"\n')
    with pytest.raises(C.ClaimError, match="claim 'evil'"):
        C.parse_claims(bad)
    assert not target.exists()


def test_module_never_calls_eval_exec_compile_or_sympify():
    files = sorted((ROOT / "verified_pgd" / "claims").glob("*.py"))
    assert len(files) >= 5          # the package, not a stale single module
    for f in files:
        tree = ast.parse(f.read_text())
        calls = {n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
                 for n in ast.walk(tree) if isinstance(n, ast.Call)}
        assert not calls & {"eval", "exec", "compile", "sympify", "parse_expr"}, (f, calls)


def test_unknown_names_and_missing_parameters_are_errors():
    with pytest.raises(C.ClaimError, match="unknown name 'zeta'"):
        C.parse_claims('[[claim]]\nname = "n"\nquantity = "barrier"\nbound = "zeta * k"\n')
    with pytest.raises(C.ClaimError, match="needs parameter"):
        C.parse_claims('[[claim]]\nname = "n"\nquantity = "escape_time"\nbound = "k"\n')
    with pytest.raises(C.ClaimError, match="unknown key"):
        C.parse_claims('[[claim]]\nname = "n"\nquantity = "barrier"\nbound = "k"\nfoo = 1\n')
    with pytest.raises(C.ClaimError, match="not valid TOML"):
        C.parse_claims('[[claim]\n')


def test_overflow_in_a_bound_is_infinity_not_a_hang():
    assert C.parse_expression("2 ** 10 ** 10").evaluate({}) == math.inf
    assert C.parse_expression("exp(1e6)").evaluate({}) == math.inf


# ------------------------------------------------------------------ certified values

@pytest.mark.parametrize("a_star", [[1.0, -1.0], [1.0, 1.0, 1.0, -1.0], [0.3, -1.2, 0.5]])
def test_arb_closed_forms_enclose_the_theory_modules_mp_values(a_star):
    prob = vp.Problem([1.0, 0.5, -0.25], a_star)
    mp_vals = {"barrier": theory.barrier(prob, dps=50),
               "saddle_loss": theory.saddle(prob, dps=50).loss,
               "spurious_loss": theory.spurious_minimum(prob, dps=50).loss,
               "mu": theory.hessian_spectrum(prob, dps=50).mu,
               "lam_max": theory.hessian_spectrum(prob, dps=50).lam_max}
    for q, v in mp_vals.items():
        lo, hi, method = C.certified_value(prob, q)
        assert method == "arb"
        assert hi - lo <= 1e-14 * abs(float(v))
        with mpmath.workdps(50):
            assert lo - 1e-40 <= v <= hi + 1e-40, (q, lo, v, hi)


def test_perturbed_bound_at_the_reported_constant_flips_the_verdict():
    claim = C.parse_claims(
        '[[claim]]\nname = "b"\nquantity = "barrier"\nbound = "C * s**2 * a_norm**2"\n'
        'constants = { C = 1.0 }\n[claim.grid]\nk = [3]\n')[0]
    (r,) = C.check_claim(claim)
    assert r.verdict == "holds" and r.limit_kind == "min"
    up = dataclasses.replace(claim, constants={"C": r.limit * (1 + 1e-9)})
    down = dataclasses.replace(claim, constants={"C": r.limit * (1 - 1e-9)})
    assert C.check_claim(up)[0].verdict == "holds"
    assert C.check_claim(down)[0].verdict == "violated"


# ------------------------------------------------------------------ statistics

@pytest.mark.parametrize("n, delta", [(100, 0.1), (400, 0.05), (1000, 0.01)])
def test_success_slack_has_the_stated_false_failure_probability(n, delta):
    slack = C.success_slack(n, delta, 1e-6)
    # Independent: the verdict fails iff failures > x_crit; binomial tail at q = delta.
    fails = [x for x in range(n + 1) if not C.success_verdict(n - x, n, delta, 1e-6, slack).holds]
    x_first = min(fails)
    assert binom.sf(x_first - 1, n, delta) <= 1e-6
    assert binom.sf(x_first - 2, n, delta) > 1e-6      # and the slack is not wastefully large


# ------------------------------------------------------------------ examples and CLI

def test_holds_example_exits_0(capsys):
    assert cli_main(["claims", str(EXAMPLES / "holds.toml")]) == 0
    out = capsys.readouterr().out
    assert "VIOLATED" not in out and "0 violated, 0 undecided" in out


def test_violated_example_is_reported_violated_and_exits_1(capsys):
    assert cli_main(["claims", str(EXAMPLES / "violated.toml")]) == 1
    out = capsys.readouterr().out
    lines = [x for x in out.splitlines() if x[:9].strip() in ("HOLDS", "VIOLATED", "UNDECIDED")]
    assert lines and all(x.startswith("VIOLATED") for x in lines), out


def test_malformed_file_exits_2_with_one_line_naming_the_claim(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text('[[claim]]\nname = "sneaky"\nquantity = "barrier"\n'
                 'bound = "k.__class__"\n')
    assert cli_main(["claims", str(EXAMPLES / "holds.toml"), str(f)]) == 2
    err = capsys.readouterr()
    assert err.out == ""                   # parsed before anything ran
    assert len(err.err.strip().splitlines()) == 1 and "sneaky" in err.err


def test_json_output_and_chain_override(capsys):
    import json
    assert cli_main(["claims", "--json", "--chains", "20", str(EXAMPLES / "violated.toml")]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [r["verdict"] for r in rows] == ["violated"] * 3
    stat = [r for r in rows if r["quantity"] == "steps_to_eps"]
    assert stat and "/20 chains" in stat[0]["note"]


def test_undecided_when_the_interval_straddles_the_bound(tmp_path):
    # 20 chains cannot decide "success probability >= 0.9" at confidence 0.999 either way
    # unless nearly all or nearly none succeed; a bound of 0.5 with a true ~1 is decided.
    text = ('[[claim]]\nname = "u"\nquantity = "success_probability"\nrelation = ">="\n'
            'bound = "q"\nchains = 20\n[claim.params]\neta = 0.4\neps = 1e-6\ndelta = 0.2\n'
            'k = 2\na_norm = 1.5\n[claim.grid]\nq = [0.5, 0.99]\n')
    results = C.check_claim(C.parse_claims(text)[0])
    assert results[0].verdict == "holds"
    assert results[1].verdict == "undecided"
