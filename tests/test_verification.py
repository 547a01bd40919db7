"""`vpgd verify`: the three independent methods pass on the shipped implementation and
reject the faults they are meant to catch (the negative controls, docs/verification.md)."""
import json

import mpmath
import numpy as np
import pytest
from scipy.stats import norm

import verified_pgd as vp
from verified_pgd import cli
from verified_pgd.verification import FAULTS, implementation, run_all, run_method
from verified_pgd.verification.faults import moment_loss_mp
from verified_pgd.verification.montecarlo import ALPHA, z_tolerance

# Which method must reject which fault (the brief of issue 2, item 4).
MUST_REJECT = {
    "kernel-pi": {"quadrature"},
    "grad-sign": {"Monte Carlo", "finite differences"},
    "hessian-block": {"finite differences"},
}
METHOD_LABELS = {"quadrature": "quadrature", "montecarlo": "Monte Carlo",
                 "finite_diff": "finite differences"}


def _verify_json(capsys, *argv):
    rc = cli.main(["verify", "--json", *argv])
    out = capsys.readouterr().out
    return rc, json.loads(out)


def _family(method):
    # "quadrature 2-D" -> "quadrature", "FD convergence order" -> "finite differences"
    if method.startswith("quadrature"):
        return "quadrature"
    if method.startswith("FD") or method.startswith("finite"):
        return "finite differences"
    return method


def test_clean_run_passes_and_exits_0(capsys):
    rc, report = _verify_json(capsys, "--quick")
    assert rc == 0
    assert report["passed"] and report["fault"] is None
    methods = {_family(r["method"]) for r in report["checks"]}
    assert methods == {"quadrature", "Monte Carlo", "finite differences"}
    assert all(r["passed"] for r in report["checks"])


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_rejected_and_exits_1(capsys, fault):
    rc, report = _verify_json(capsys, "--quick", "--inject-fault", fault)
    assert rc == 1 and not report["passed"] and report["fault"] == fault
    rejected_by = {_family(r["method"]) for r in report["checks"] if not r["passed"]}
    assert MUST_REJECT[fault] <= rejected_by, (fault, rejected_by)


@pytest.mark.parametrize("fault, method", [(f, m) for m, label in METHOD_LABELS.items()
                                           for f in FAULTS if label in MUST_REJECT[f]])
def test_method_rejects_fault_directly(fault, method):
    """The same negative controls through the Python API, one method at a time."""
    rows = run_method(method, implementation(fault), quick=True)
    assert not all(r.passed for r in rows)
    assert all(r.passed for r in run_method(method, implementation(None), quick=True))


def test_unknown_fault_is_a_user_error(capsys):
    assert cli.main(["verify", "--inject-fault", "no-such-fault"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--inject-fault" in err[0] and all(name in err[0] for name in FAULTS)
    with pytest.raises(ValueError, match="--inject-fault"):
        run_all(fault="no-such-fault")


def test_table_output_and_solvers_flag(capsys, monkeypatch):
    assert cli.main(["verify", "--quick"]) == 0
    out = capsys.readouterr().out
    for col in ("check", "method", "points", "max error", "tolerance", "pass"):
        assert col in out
    assert "FAIL" not in out.split("details:")[0]
    # Without verified_pgd.crossval, --solvers is a one-line user error.
    import sys
    monkeypatch.setitem(sys.modules, "verified_pgd.crossval", None)
    assert cli.main(["verify", "--solvers", "--quick"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not available" in err[0]


def test_faulty_moment_loss_differs_only_by_the_kernel():
    """The loss that kernel-pi feeds to Monte Carlo is assembled from the moments; with the
    true moments the same assembly reproduces the closed form (so the fault is the kernel)."""
    from symbolic import moment_functions
    rng = np.random.default_rng(5)
    prob = vp.Problem(rng.normal(size=3), rng.normal(size=4))
    clean = moment_loss_mp(lambda: moment_functions(backend="mpmath"))
    faulty = moment_loss_mp(lambda: moment_functions(backend="mpmath", fault="kernel-pi"))
    for _ in range(3):
        w, a = rng.normal(size=3), rng.normal(size=4)
        ref = vp.loss_mp(prob, w, a, dps=40)
        assert abs(clean(prob, w, a, dps=40) - ref) <= mpmath.mpf("1e-35") * abs(ref)
        assert abs(faulty(prob, w, a, dps=40) - ref) > 1e-3 * abs(ref)


def test_mc_tolerance_is_bonferroni_with_stated_false_failure():
    for T in (1, 15, 45, 1000):
        tol = z_tolerance(T)
        assert tol >= 5.0
        assert 2 * T * norm.sf(tol) <= ALPHA * (1 + 1e-9)


@pytest.mark.slow
def test_full_default_run_passes():
    assert all(r.passed for r in run_all())


def test_solvers_flag_runs_crossval_and_reports_its_verdict(capsys, monkeypatch):
    """--solvers delegates to verified_pgd.crossval.solver_checks (a stand-in here, so the
    test does not depend on the solvers' run time) and exits 1 when one of its checks fails."""
    import sys
    import types

    from verified_pgd.checks import CheckResult
    fake = types.ModuleType("verified_pgd.crossval")
    verdict = {"passed": True}
    seen = {}

    def solver_checks(quick=False):
        seen["quick"] = quick
        return [CheckResult("stand-in", "crossval", 1, 0.0, 1.0, verdict["passed"])]
    fake.solver_checks = solver_checks
    monkeypatch.setitem(sys.modules, "verified_pgd.crossval", fake)
    assert cli.main(["verify", "--solvers", "--quick"]) == 0 and seen["quick"] is True
    verdict["passed"] = False
    assert cli.main(["verify", "--solvers"]) == 1 and seen["quick"] is False
    assert "stand-in" in capsys.readouterr().out


def test_riemannian_hessian_row_needs_the_curvature_term():
    """Negative control for the exponential-chart check: the projected Euclidean Hessian
    P H P (the Riemannian Hessian without its curvature term -(w_hat . dL/dw)/|w| P) is
    rejected, while the shipped one passes."""
    from dataclasses import replace

    from verified_pgd.verification import finite_diff

    def without_curvature(prob, w, a, dps=50, riemannian=False):
        H = np.array(vp.hessian_mp(prob, w, a, dps=dps), dtype=object)
        if riemannian:
            with mpmath.workdps(dps):
                w_hat = np.array([mpmath.mpf(x) for x in w], dtype=object)
                w_hat = w_hat / mpmath.sqrt(w_hat @ w_hat)
                p = prob.p
                P = np.eye(p, dtype=object) - np.outer(w_hat, w_hat)
                H[:p, :p] = P @ H[:p, :p] @ P
                H[p:, :p] = H[p:, :p] @ P
                H[:p, p:] = P @ H[:p, p:]
        return H

    impl = replace(implementation(None), name="no-curvature", hessian_mp=without_curvature)
    rows = {r.check: r for r in finite_diff.check(impl, quick=True)}
    assert not rows["Riemannian Hessian"].passed
    assert rows["Hessian (w, a)"].passed
