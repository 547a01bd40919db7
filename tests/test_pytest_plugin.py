"""The pytest plugin (verified_pgd.pytest_plugin): claims files as test items, fixtures,
and the Done-when check: a separate project that installs this package and runs
``pytest --vpgd-claims`` sees per-claim passes and the expected failure.

The claims used here are cheap: barrier (an arb enclosure of a closed form) and a
3-chain success probability (undecided at confidence 0.999 whatever the chains do:
the Clopper-Pearson interval of 3 trials always straddles 1/2).
"""
import os
import re
import shutil
import site
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from verified_pgd.claim_points import check_point, claim_points, fmt
from verified_pgd.claims import check_claim, parse_claims

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "verified_pgd.pytest_plugin"

HOLDS = """
[[claim]]
name = "barrier small"
quantity = "barrier"
relation = "<="
bound = "C * s**2 * a_norm**2"
constants = { C = 0.0372 }
[claim.grid]
k = [2, 3]
"""
VIOLATED = """
[[claim]]
name = "barrier tiny"
quantity = "barrier"
relation = "<="
bound = "C * s**2 * a_norm**2"
constants = { C = 0.01 }
[claim.grid]
k = [2]
"""
UNDECIDED = """
[[claim]]
name = "tiny success"
quantity = "success_probability"
relation = ">="
bound = "1 - delta"
chains = 3
[claim.grid]
k = [2]
[claim.params]
eta = 0.4
eps = 1e-2
delta = 0.5
"""


def _run(pytester, *args):
    # In a subprocess: an in-process run unloads the modules it imported (numpy.fft among
    # them), and numpy's extension modules cannot be loaded twice in one process.
    return pytester.runpytest_subprocess(*args)


def _write(pytester, **files):
    for name, text in files.items():
        (pytester.path / name).write_text(text)


def test_one_item_per_claim_and_grid_point_with_its_verdict(pytester):
    _write(pytester, **{"claims.toml": HOLDS + VIOLATED + UNDECIDED})
    res = _run(pytester, "-p", PLUGIN, "--vpgd-claims", "claims.toml", "-rA")
    res.assert_outcomes(passed=2, failed=1, xfailed=1)
    res.stdout.fnmatch_lines([
        "PASSED claims.toml::barrier small[[]k=2[]]",
        "PASSED claims.toml::barrier small[[]k=3[]]",
        "XFAIL claims.toml::tiny success[[]k=2[]] - undecided: *",
        "FAILED claims.toml::barrier tiny[[]k=2[]] - violated: barrier <= *"])
    assert res.ret == 1


def test_a_violated_claim_fails_with_value_bound_and_constant(pytester):
    _write(pytester, **{"claims.toml": VIOLATED})
    res = _run(pytester, "-p", PLUGIN, "--vpgd-claims", "claims.toml")
    res.assert_outcomes(failed=1)
    # The numbers the failure must show, computed on the whole grid by check_claim.
    (r,) = check_claim(parse_claims(VIOLATED)[0])
    assert r.verdict == "violated"
    out = res.stdout.str()
    assert (f"violated: barrier <= {fmt(r.bound)}; value in [{fmt(r.value[0])}, "
            f"{fmt(r.value[1])}]") in out
    assert f"consistent constant: C >= {fmt(r.limit)}" in out


def test_undecided_fails_when_asked(pytester):
    _write(pytester, **{"claims.toml": UNDECIDED})
    res = _run(pytester, "-p", PLUGIN, "--vpgd-claims", "claims.toml",
                             "--vpgd-undecided=fail")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*undecided: success_probability >= 0.5*"])


def test_inert_without_the_option_and_pyproject_is_not_a_claims_file(pytester):
    _write(pytester, **{"claims.toml": VIOLATED,
                        "pyproject.toml": "[tool.other]\nx = 1\n",
                        "test_plain.py": "def test_ok():\n    pass\n"})
    res = _run(pytester, "-p", PLUGIN)               # a violated claim, but not asked
    res.assert_outcomes(passed=1)
    res = _run(pytester, "-p", PLUGIN, "--vpgd-claims")   # directory walk
    res.assert_outcomes(passed=1, failed=1)
    assert "pyproject.toml " not in res.stdout.str()    # no "pyproject.toml F" line


def test_malformed_claims_file_is_a_collection_error_naming_the_claim(pytester):
    _write(pytester, **{"bad.toml": VIOLATED.replace('"C * s**2 * a_norm**2"',
                                                     '"__import__(1)"')})
    res = _run(pytester, "-p", PLUGIN, "--vpgd-claims", "bad.toml")
    res.assert_outcomes(errors=1)
    res.stdout.fnmatch_lines(["*claim 'barrier tiny'*"])


def test_chains_option_is_validated(pytester):
    _write(pytester, **{"claims.toml": UNDECIDED})
    res = _run(pytester, "-p", PLUGIN, "--vpgd-claims", "--vpgd-chains", "0", "claims.toml")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*--vpgd-chains: must be >= 1, got 0*"])


def test_fixtures_expose_strategies_and_the_default_problem(pytester):
    _write(pytester, **{"test_fix.py": """
import numpy as np
from hypothesis import given, settings, strategies as st
import verified_pgd.strategies
from verified_pgd import theory
from verified_pgd.problem import Problem

def test_problem(vpgd_problem):
    ref = Problem.default()
    assert np.array_equal(vpgd_problem.w_star, ref.w_star)
    assert np.array_equal(vpgd_problem.a_star, ref.a_star)

@settings(max_examples=3, derandomize=True, deadline=None)
@given(data=st.data())
def test_strategies(vpgd_strategies, data):
    assert vpgd_strategies is verified_pgd.strategies
    assert theory.has_spurious_minimum(data.draw(vpgd_strategies.problems(k=2, spurious=True)))
"""})
    _run(pytester, "-p", PLUGIN).assert_outcomes(passed=2)


def test_points_checked_one_by_one_agree_with_the_whole_grid():
    claim = parse_claims(HOLDS)[0]
    whole = check_claim(claim)
    single = [check_point(cp) for cp in claim_points([claim])]
    assert [r.to_dict() for r in single] == [r.to_dict() for r in whole]
    assert [cp.label for cp in claim_points([claim])] == ["k=2", "k=3"]


# --------------------------------------------------------------------------- Done when

def _copy_package(dest):
    """The files `pip install` needs: pyproject, README and every top-level package
    (not .git, not a CI venv, not build leftovers), so the worktree stays clean."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for d in ROOT.iterdir():
        if d.is_dir() and (d / "__init__.py").is_file():
            shutil.copytree(d, dest / d.name, ignore=ignore)
    return dest


def test_throwaway_project_installs_the_package_and_runs_its_claims(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True)
    py = venv / "bin" / "python"
    # --system-site-packages sees the base interpreter's packages; this interpreter may be
    # a venv itself (dev venv, CI's .ci-venv), so make its packages (numpy, pytest, pip,
    # setuptools...) visible too.  They come after the new venv's own site-packages.
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path("
                              "'purelib'))"], check=True, capture_output=True,
                             text=True).stdout.strip()
    parents = [p for p in site.getsitepackages() if os.path.isdir(p)]
    Path(purelib, "_parent_env.pth").write_text("\n".join(parents) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS",
                                                           "PYTEST_PLUGINS")}
    src = _copy_package(tmp_path / "src")
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--no-build-isolation", "--ignore-installed", str(src)],
                   check=True, env=env, cwd=tmp_path)

    proj = tmp_path / "other_project"
    (proj / "tests").mkdir(parents=True)
    (proj / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (proj / "claims.toml").write_text(HOLDS + VIOLATED)
    (proj / "tests" / "test_own.py").write_text(f"""
import verified_pgd

def test_uses_the_installed_package(vpgd_problem):
    assert verified_pgd.__file__.startswith({str(venv)!r}), verified_pgd.__file__
    assert vpgd_problem.k == 4
""")
    res = subprocess.run([str(py), "-m", "pytest", "--vpgd-claims", "claims.toml", "tests",
                          "-rA", "--junitxml", "out.xml"],
                         cwd=proj, env=env, capture_output=True, text=True, timeout=600)
    out = res.stdout
    assert res.returncode == 1, out + res.stderr       # the expected failure
    for line in ("PASSED claims.toml::barrier small[k=2]",
                 "PASSED claims.toml::barrier small[k=3]",
                 "PASSED tests/test_own.py::test_uses_the_installed_package",
                 "FAILED claims.toml::barrier tiny[k=2]"):
        assert line in out, out
    assert re.search(r"\b1 failed, 3 passed\b", out), out
    # pytest's own JUnit file carries the verdicts as properties.
    cases = {c.get("name"): c for c in ET.parse(proj / "out.xml").iter("testcase")}
    assert cases["barrier tiny[k=2]"].find("failure") is not None
    props = {p.get("name"): p.get("value")
             for p in cases["barrier small[k=2]"].iter("property")}
    assert props["verdict"] == "holds"


def test_one_point_can_be_selected_by_its_node_id(pytester):
    _write(pytester, **{"claims.toml": HOLDS})
    res = _run(pytester, "-p", PLUGIN, "--vpgd-claims", "claims.toml::barrier small[k=3]", "-rA")
    res.assert_outcomes(passed=1)
    res.stdout.fnmatch_lines(["PASSED claims.toml::barrier small[[]k=3[]]"])
