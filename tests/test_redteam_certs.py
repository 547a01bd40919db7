"""Red team: an attack catalogue against `vpgd check` (docs/proofs.md, "Attacks").

Each attack alters an honest set from `vpgd prove` (or feeds a hostile file or expression)
and requires: rejection (exit 1 or 2), ONE line naming the file and the reason, no
traceback, within a time bound (generous: a loaded 2-core machine).  Hang-prone inputs
(a FIFO, /dev/zero) are checked in a subprocess with a timeout.  Positive controls: the
honest set holds, and true identities (e.g. adding c (sin^2 + cos^2 - 1)) are accepted.
"""
import json
import os
import shutil
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from proofs_check import checker, exact
from verified_pgd import cli

ROOT = Path(__file__).resolve().parents[1]
TIME_BOUND = 30.0        # seconds per attack, whole check (the honest set checks in ~2-3 s)


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    d = tmp_path_factory.mktemp("honest")
    assert cli.main(["prove", "--out", str(d), "--random", "1"]) == 0
    return d


@pytest.fixture
def forged(honest, tmp_path):
    d = tmp_path / "set"
    shutil.copytree(honest, d)
    return d


def check(d, capsys):
    """(exit code, REJECTED/MISSING lines, all output) of `vpgd check d`, timed."""
    capsys.readouterr()
    t0 = time.perf_counter()
    code = cli.main(["check", str(d)])
    dt = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert dt < TIME_BOUND, dt
    bad = [ln for ln in out.splitlines() if ln.startswith("REJECTED") or "MISSING" in ln]
    return code, bad, out


def rejected_once(d, capsys, fname, reason, code=1):
    c, bad, out = check(d, capsys)
    assert c == code, out
    lines = [ln for ln in bad if ln.startswith(f"REJECTED {fname}:")]
    assert len(lines) == 1 and reason in lines[0], out
    return out


def edit(path, fn):
    cert = json.loads(path.read_text())
    fn(cert)
    path.write_text(json.dumps(cert))


def test_honest_set_holds(honest, capsys):
    code, bad, out = check(honest, capsys)
    assert code == 0 and not bad and "15/15 required lemmas hold" in out


# ----------------------------------------------------------------------------- set attacks

def test_deleted_certificate_is_named_missing(forged, capsys):
    (forged / "random0.basin.json").unlink()
    code, bad, out = check(forged, capsys)
    assert code == 1 and bad == ["  MISSING  basin  (random0.basin.json)"], out
    assert "random0 (" in out and "4/5 lemmas hold" in out


def test_deleted_symbolic_certificate_is_named_missing(forged, capsys):
    (forged / "symbolic.sym_critical.json").unlink()
    code, bad, _ = check(forged, capsys)
    assert code == 1 and bad == ["  MISSING  sym_critical  (symbolic.sym_critical.json)"]


def test_deleted_manifest(forged, capsys):
    (forged / "manifest.json").unlink()
    rejected_once(forged, capsys, "manifest.json", "No such file", code=2)


def test_problem_dropped_from_manifest_leaves_stray_certificates(forged, capsys):
    edit(forged / "manifest.json", lambda m: m["problems"].pop())
    code, bad, _ = check(forged, capsys)
    assert code == 1 and len(bad) == 5 and all("stray file" in b and "random0." in b for b in bad)


def test_certificate_copied_over_another_problem(forged, capsys):
    shutil.copy(forged / "default.basin.json", forged / "random0.basin.json")
    rejected_once(forged, capsys, "random0.basin.json", "is not the file's")


def test_copied_certificate_with_rewritten_id(forged, capsys):
    shutil.copy(forged / "default.basin.json", forged / "random0.basin.json")
    edit(forged / "random0.basin.json", lambda c: c.update(id="random0.basin"))
    rejected_once(forged, capsys, "random0.basin.json", "not the teacher data of random0")


def test_copied_certificate_with_rewritten_id_and_problem(forged, capsys):
    prob = json.loads((forged / "random0.smoothness.json").read_text())["problem"]
    shutil.copy(forged / "default.basin.json", forged / "random0.basin.json")
    edit(forged / "random0.basin.json", lambda c: c.update(id="random0.basin", problem=prob))
    rejected_once(forged, capsys, "random0.basin.json", "basin")   # its claims are default's


def test_manifest_problems_swapped(forged, capsys):
    def swap(m):
        a, b = m["problems"]
        a["w_star"], b["w_star"], a["a_star"], b["a_star"] = b["w_star"], a["w_star"], b["a_star"], a["a_star"]
    edit(forged / "manifest.json", swap)
    code, bad, _ = check(forged, capsys)
    assert code == 1 and len(bad) == 10 and all("not the teacher data" in b for b in bad)


def test_duplicate_problem_in_manifest(forged, capsys):
    def dup(m):
        m["problems"][1].update(w_star=m["problems"][0]["w_star"], a_star=m["problems"][0]["a_star"])
    edit(forged / "manifest.json", dup)
    rejected_once(forged, capsys, "manifest.json", "repeats another problem")


def test_duplicate_certificate_is_stray(forged, capsys):
    shutil.copy(forged / "default.basin.json", forged / "default.basin.copy.json")
    rejected_once(forged, capsys, "default.basin.copy.json", "stray file")


def test_stray_file(forged, capsys):
    (forged / "extra.json").write_text("{}")
    rejected_once(forged, capsys, "extra.json", "stray file")


def test_lemma_not_required_for_a_problem(forged, capsys, tmp_path):
    """A problem without a spurious minimum: a critical_points file for it is stray."""
    edit(forged / "manifest.json", lambda m: m["problems"][1].update(
        w_star=["0", "2", "0"], a_star=["1", "1", "1"]))
    code, bad, _ = check(forged, capsys)
    assert code == 1
    assert any(b.startswith("REJECTED random0.critical_points.json: stray") for b in bad)


# ----------------------------------------------------------------------------- hostile files

def _raw(forged, name, text):
    p = forged / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def test_duplicate_key_forged_first_honest_last(forged, capsys):
    p = forged / "default.critical_points.json"
    text = p.read_text()
    forged_text = text.replace('"barrier":', '"barrier": ["0", "1"], "barrier":', 1)
    assert forged_text != text   # plain json.loads: the honest value, last, wins
    assert json.loads(forged_text)["claims"]["barrier"] == json.loads(text)["claims"]["barrier"]
    p.write_text(forged_text)
    rejected_once(forged, capsys, p.name, "duplicate key 'barrier'")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_tokens(forged, capsys, token):
    p = forged / "default.basin.json"
    p.write_text(p.read_text().replace('"digits": 30', f'"digits": {token}', 1))
    rejected_once(forged, capsys, p.name, f"{token} is not allowed")


@pytest.mark.parametrize("text,reason", [("null", "top level is NoneType"), ("[1, 2]", "top level is list"),
                                         ('"x"', "top level is str"), ("", "not JSON"),
                                         ("{" * 3, "not JSON"), (b"\xff\xfe{}", "not UTF-8"),
                                         ('{"digits": 3.5}', "non-integer number"),
                                         ('{"digits": ' + "9" * 5000 + "}", "not JSON")])
def test_malformed_json(forged, capsys, text, reason):
    _raw(forged, "default.basin.json", text)
    rejected_once(forged, capsys, "default.basin.json", reason)


def test_deep_nesting(forged, capsys):
    _raw(forged, "default.basin.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    rejected_once(forged, capsys, "default.basin.json", "nested deeper than")


def test_oversized_file(forged, capsys):
    p = forged / "default.basin.json"
    with open(p, "wb") as fh:            # sparse: costs no disk
        fh.truncate(checker.strictjson.MAX_BYTES + 1)
    rejected_once(forged, capsys, p.name, "larger than")


def test_directory_named_like_a_certificate(forged, capsys):
    (forged / "default.basin.json").unlink()
    (forged / "default.basin.json").mkdir()
    rejected_once(forged, capsys, "default.basin.json", "not a regular file", code=2)


def test_symlink_inside_the_set_is_followed(forged, capsys):
    (forged / "default.basin.json").rename(forged / "real_basin")
    os.symlink("real_basin", forged / "default.basin.json")
    code, bad, _ = check(forged, capsys)
    assert code == 0 and not bad


@pytest.fixture
def minimal(honest, tmp_path):
    """A set directory with only the manifest (subprocess checks stay quick)."""
    d = tmp_path / "minimal"
    d.mkdir()
    shutil.copy(honest / "manifest.json", d / "manifest.json")
    return d


def _subprocess_check(d, timeout=60):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "verified_pgd", "check", str(d)], capture_output=True,
                       text=True, timeout=timeout, env=env)
    assert "Traceback" not in r.stdout + r.stderr
    return r.returncode, [ln for ln in r.stdout.splitlines() if ln.startswith("REJECTED")]


@pytest.mark.parametrize("name,reason", [("default.basin.json", "symlink pointing outside"),
                                         ("zero.json", "stray file")])
def test_symlink_to_dev_zero(minimal, name, reason):
    os.symlink("/dev/zero", minimal / name)
    code, bad = _subprocess_check(minimal)
    assert code in (1, 2) and len(bad) == 1 and name in bad[0] and reason in bad[0]


@pytest.mark.parametrize("name,reason,want", [("default.basin.json", "not a regular file", 2),
                                              ("x.json", "stray file", 1)])
def test_fifo_does_not_hang(minimal, name, reason, want):
    os.mkfifo(minimal / name)
    code, bad = _subprocess_check(minimal)     # a hang would raise TimeoutExpired
    assert code == want and len(bad) == 1 and name in bad[0] and reason in bad[0]


def test_single_file_mode_fifo_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "x.json")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "verified_pgd", "check", str(tmp_path / "x.json")],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2 and "not a regular file" in r.stdout and "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- boxes

def _grid_boxes(cert, n_theta, n_c):
    from decimal import Decimal, localcontext
    C = Fraction(cert["claims"]["c_max"][1])

    def d(q):
        with localcontext() as ctx:
            ctx.prec = 120
            return format(Decimal(q.numerator) / Decimal(q.denominator), "f")
    th = [Fraction(16, 5) * i / n_theta for i in range(n_theta + 1)]
    cc = [-C + 2 * C * j / n_c for j in range(n_c + 1)]
    return [[d(th[i]), d(th[i + 1]), d(cc[j]), d(cc[j + 1])] for i in range(n_theta) for j in range(n_c)]


def test_20000_boxes_check_in_seconds(forged, capsys):
    """20 000 boxes (4 theta slabs x 5000: 5000 boxes share each slab, the old pairwise sweep's
    worst case) hold and check quickly; one overlapping box among them is found."""
    p = forged / "default.smoothness.json"
    cert = json.loads(p.read_text())
    boxes = _grid_boxes(cert, 4, 5000)
    t0 = time.perf_counter()
    assert "20000 boxes" in checker.check_cert(dict(cert, boxes=boxes))["detail"]
    assert time.perf_counter() - t0 < 15.0
    cert["boxes"] = boxes
    p.write_text(json.dumps(cert))
    code, bad, _ = check(forged, capsys)
    assert code == 0 and not bad
    # overlap: move one box's top edge into its neighbour and shrink the neighbour's volume
    # elsewhere so the volumes still add up -- the sweep must find it
    b = [list(x) for x in boxes]
    b[1][2] = b[0][3] = b[0][2]                       # box 0 becomes empty -> outside/empty
    cert["boxes"] = b
    with pytest.raises(checker.Reject):
        checker.check_cert(cert)


def test_overlapping_boxes_with_correct_volume_are_rejected():
    sq = lambda x0, x1, y0, y1: [str(x0), str(x1), str(y0), str(y1)]
    dom = [(Fraction(0), Fraction(2)), (Fraction(0), Fraction(2))]
    ok = [sq(0, 1, 0, 1), sq(1, 2, 0, 1), sq(0, 1, 1, 2), sq(1, 2, 1, 2)]
    checker.boxes_tile(ok, dom, "boxes")
    overlap = [sq(0, 2, 0, 1), sq(0, 1, 0.5, 1.5), sq(1, 2, 1, 2)]   # volume 4, one overlap
    with pytest.raises(checker.Reject, match="overlap"):
        checker.boxes_tile(overlap, dom, "boxes")
    with pytest.raises(checker.Reject, match="more than"):
        checker.boxes_tile([ok[0]] * (checker.MAX_BOXES + 1), dom, "boxes")


# ----------------------------------------------------------------------------- expressions

def prove(lhs, rhs, variables=("theta",), anti=()):
    t0 = time.perf_counter()
    try:
        exact.prove_identity(lhs, rhs, sorted(variables), list(anti), "x")
        return "proved"
    except exact.Disproved:
        return "false"
    except exact.NotCertifiable as exc:
        return f"not certifiable: {exc}"
    finally:
        assert time.perf_counter() - t0 < TIME_BOUND


BALANCED = "a" + "<a" * 29_000      # flat (no parser recursion): 58 k characters, 87 k AST nodes
OLD_POINTS = [Fraction((1009 + 613 * (j + 1) * 2) % 1000 + 200, 400) for j in range(3)]
VANISH_OLD = "*".join(f"(theta - {p.numerator}/{p.denominator})" for p in OLD_POINTS)


@pytest.mark.parametrize("lhs,rhs", [
    ("sin(theta)**2", "1 - cos(theta)**2"),
    ("sin(theta)**2", f"1 - cos(theta)**2 + 7*(sin(theta)**2 + cos(theta)**2 - 1)*theta*pi"),
    ("Derivative(sin(theta) + (pi - theta)*cos(theta), theta)", "-(pi - theta)*sin(theta)"),
    ("cos(2*theta)", "cos(theta)**2 - sin(theta)**2"),
    ("sin(theta + pi/2)", "cos(theta)"),
    ("sqrt(2*pi)**2", "2*pi"),
    ("Derivative(exp(-theta**2/2), (theta, 2))", "(theta**2 - 1)*exp(-theta**2/2)"),
])
def test_true_identities_are_proved(lhs, rhs):
    assert prove(lhs, rhs) == "proved"


@pytest.mark.parametrize("rhs", [
    f"1 - cos(theta)**2 + {VANISH_OLD}",                          # zero at the old fixed points
    f"1 - cos(theta)**2 + sin(theta)*{VANISH_OLD}",
    "1 - cos(theta)**2 + sin(theta)*(theta - 1)*(theta - 2)",      # zero at 0, 1, 2, k pi
    "1 - cos(theta)**2 + sin(theta)*cos(theta)*sin(2*theta)*(1 - cos(4*theta))",
    "1 - cos(theta)**2 + theta/" + "1" + "0" * 39,                  # below any sane tolerance
    "1 - cos(theta)**2 + (pi - 355/113)",                          # pi's rational look-alike
    "1 - cos(theta)",
])
def test_false_identities_are_rejected(rhs):
    assert prove("sin(theta)**2", rhs) == "false"


@pytest.mark.parametrize("lhs,reason", [
    ("x" * 200_000, "longer than"),
    ("(" * 100 + "theta" + ")" * 100, "nested deeper"),
    ("+".join(["1"] * 7000), "does not parse"),         # the parser's own recursion limit
    (BALANCED, "expression nodes"),
    ("Derivative(theta, (theta, 10**11))", "integer literal"),
    ("Derivative(theta, (theta, 100000000000))", "outside [1, 4]"),
    ("Derivative(theta, theta, theta, theta, theta, theta)", "total order"),
    ("Derivative(theta, (theta, 3), (theta, 2))", "total order"),
    ("Derivative(theta)", "Derivative: expected"),
    ("Derivative(theta, 1)", "expected a variable"),
    ("Derivative(theta, (theta,))", "expected (variable, order)"),
    ("Derivative(theta, phi)", "unknown variable"),
    ("Integral(theta)", "Integral: expected"),
    ("Integral(theta, theta)", "Integral: expected"),
    ("Integral(theta, (theta, 0))", "Integral: expected"),
    ("Integral(theta, (1, 0, 1))", "Integral: expected"),
    ("10**10**10", "power: expected an integer literal"),
    ("theta**100", "outside [-16, 16]"),
    ("((((theta + pi + 1)**16)**16)**16)", "too large"),
    ("theta**0.5", "power: expected an integer literal"),
    ("0.5*theta", "is not an integer"),
    ("sqrt(3)", "sqrt"), ("sqrt(theta)", "sqrt"), ("sin(1)", "multiple of pi/2"),
    ("sin(theta**2)", "integer combination"), ("sin(theta/2)", "integer"),
    ("1/(theta - theta)", "division by zero"),
    ("__import__('os').system('true')", "not allowed"),
    ("theta.real", "not allowed"), ("[theta][0]", "not allowed"), ("abs(theta)", "not allowed"),
    ("lambda: 0", "not allowed"), ("theta if theta else 0", "not allowed"),
    ("sin(theta, theta)", "one argument"), ("sin(*theta)", "one argument"),
    ("exp(theta)*exp(2*theta)*exp(3*theta)*exp(4*theta)*exp(5*theta)*exp(6*theta)*exp(7*theta)"
     "*exp(8*theta)*exp(9*theta)", "exp/erf"),
    ("1" * 41, "digits"),
])
def test_hostile_expressions_are_not_certifiable(lhs, reason):
    res = prove(lhs, "0")
    assert res.startswith("not certifiable") and reason in res, res


@pytest.mark.parametrize("lhs,rhs,anti,verdict", [
    ("Integral(cos(phi), (phi, -pi/2, pi/2))", "2", [("phi", "sin(phi)")], "proved"),
    ("Integral(cos(phi), (phi, -pi/2, pi/2))", "2", [("phi", "sin(phi) + 5")], "proved"),   # F + c is fine
    ("Integral(cos(phi), (phi, -pi/2, pi/2))", "2", [("phi", "sin(phi) + phi")], "derivative is not"),
    ("Integral(cos(phi), (phi, -pi/2, pi/2))", "3", [("phi", "sin(phi)")], "false"),
    ("Integral(cos(phi), (phi, -pi/2, pi/2))", "2", [], "one antiderivative per Integral"),
    ("Integral(cos(phi), (phi, -pi/2, pi/2))", "2", [("r", "sin(r)")], "in r, the integral in phi"),
    ("Integral(cos(phi), (phi, 0, pi/3))", "0", [("phi", "sin(phi)")], "multiple of pi/2"),
    ("Integral(cos(phi), (phi, 0, sin(theta)))", "0", [("phi", "sin(phi)")], "not a polynomial"),
    ("Integral(cos(phi), (phi, 0, phi))", "0", [("phi", "sin(phi)")], "depends on the integration"),
    # FTC needs F smooth on [a, b]: -1/x is an antiderivative of 1/x^2 but not across 0
    ("Integral(1/phi**2, (phi, -1, 1))", "-2", [("phi", "-1/phi")], "denominator depending on phi"),
    ("Integral(Integral(phi, (phi, 0, 1)), (phi, 0, 1))", "1/2", [("phi", "phi"), ("phi", "phi**2/2")],
     "nested"),
    ("Derivative(Integral(phi, (phi, 0, theta)), theta)", "theta", [("phi", "phi**2/2")],
     "of an Integral"),
])
def test_integrals(lhs, rhs, anti, verdict):
    res = prove(lhs, rhs, variables=("theta",), anti=[{"var": v, "F": f} for v, f in anti])
    assert verdict in res, res


# Hypothesis: adding any nonzero term of the class to a true identity makes it false; adding a
# multiple of sin^2 + cos^2 - 1 keeps it true (negative and positive control in one property).
TRUE = [("sin(theta)**2", "1 - cos(theta)**2"),
        ("Derivative(sin(theta) + (pi - theta)*cos(theta), theta)", "-(pi - theta)*sin(theta)"),
        ("(a1 + pi*theta)**2", "a1**2 + 2*pi*theta*a1 + pi**2*theta**2")]
term = st.tuples(st.fractions(min_value=-10**6, max_value=10**6).filter(bool),
                 *[st.integers(0, 3)] * 5)


def _text(c, e):
    return (f"({c.numerator}/{c.denominator})*theta**{e[0]}*pi**{e[1]}*sin(theta)**{e[2]}"
            f"*cos(theta)**{e[3]}*a1**{e[4]}")


@given(st.sampled_from(TRUE), term, term)
def test_property_perturbed_identities_are_rejected(ident, t1, t2):
    lhs, rhs = ident
    c, *e = t1
    assert prove(lhs, f"{rhs} + {_text(c, e)}", variables=("a1", "theta")) == "false"
    c2, *e2 = t2
    assert prove(lhs, f"{rhs} + {_text(c2, e2)}*(sin(theta)**2 + cos(theta)**2 - 1)",
                 variables=("a1", "theta")) == "proved"


def test_forged_symbolic_statement_is_rejected_by_the_pin_and_by_the_proof(honest, monkeypatch):
    cert = json.loads((honest / "symbolic.sym_critical.json").read_text())
    it = cert["identities"][-1]
    assert it["name"] == "g_prime"
    it["rhs"] = f"{it['rhs']} + sin(theta)*(theta - 1)*(theta - 2)"
    with pytest.raises(checker.Reject, match="sha256 differs"):
        checker.check_cert(cert)
    monkeypatch.setitem(checker.SYMBOLIC_DIGESTS, "sym_critical", checker.identities_digest(cert["identities"]))
    with pytest.raises(checker.Reject, match="false identity: g_prime"):
        checker.check_cert(cert)


# ----------------------------------------------------------------------------- independence

POISON = r"""
import sys, importlib.abc
BANNED = ("sympy", "numpy", "scipy", "mpmath", "verified_pgd", "proofs_check.prover",
          "proofs_check.ball_certs", "proofs_check.symbolic_certs", "proofs_check.mutate")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BANNED):
            raise ImportError("poisoned: " + name)
sys.meta_path.insert(0, Block())
from proofs_check import checker
code = checker.main([sys.argv[1]])
extra = sorted(m for m in {m.split(".")[0] for m in sys.modules} - set(sys.stdlib_module_names)
               - {"flint", "proofs_check", "__main__", "cython_runtime", "_distutils_hack"}
               if not m.startswith("_cython_"))      # flint's Cython runtime; the venv's .pth hook
print("NONSTDLIB", extra)
sys.exit(code)
"""


def test_checker_runs_with_the_prover_and_sympy_poisoned(honest):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", POISON, str(honest)], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "NONSTDLIB []" in r.stdout and "REJECTED" not in r.stdout


def test_file_name_with_a_newline_stays_one_line(forged, capsys):
    (forged / "evil\nREJECTED nothing.json").write_text("{}")
    c, bad, out = check(forged, capsys)
    assert c == 1 and len(bad) == 1 and "stray file" in bad[0] and "\\n" in bad[0], out


def test_huge_field_values_give_short_messages(forged, capsys):
    edit(forged / "default.basin.json", lambda c: c["claims"].update(mu=["9" * 1_000_000, "1"]))
    out = rejected_once(forged, capsys, "default.basin.json", "expected a decimal string")
    assert max(map(len, out.splitlines())) < 300
