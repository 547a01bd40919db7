"""symbolic/: the derivation reproduces docs/design.md's closed forms, and code generated from it
agrees with the numeric core (verified_pgd) at random points.

The docs/design.md formulas written out in this file are the independent second statement; the
code under test derives its results from the Gaussian integrals.
"""
import json

import mpmath
import numpy as np
import pytest
import sympy as sp

import verified_pgd as vp
import symbolic
from symbolic import codegen, derivatives, loss, moments
from verified_pgd import cli

pi = sp.pi


def g_design(t):
    return sp.sin(t) + (pi - t) * sp.cos(t)


# --------------------------------------------------------------------------- moments

def test_moments_equal_design_k1():
    m = moments.derived_moments()
    nx, ny, phi = moments.nx, moments.ny, moments.phi
    assert sp.simplify(m["m1"] - nx / sp.sqrt(2 * pi)) == 0
    assert sp.simplify(m["m2"] - nx ** 2 / 2) == 0
    assert sp.simplify(m["m11"] - nx * ny * g_design(phi) / (2 * pi)) == 0
    # Internal consistency: a filter with itself at angle 0 is the second moment.
    assert sp.simplify(m["m11"].subs({ny: nx, phi: 0}) - m["m2"]) == 0


def test_kernel_pi_fault_is_a_different_moment():
    nx, ny, phi = moments.nx, moments.ny, moments.phi
    bad = moments.moments(fault="kernel-pi")["m11"]
    expected_bad = nx * ny * (sp.sin(phi) + pi * sp.cos(phi)) / (2 * pi)
    assert sp.simplify(bad - expected_bad) == 0
    assert sp.simplify(bad - nx * ny * g_design(phi) / (2 * pi)) != 0
    with pytest.raises(ValueError, match="^fault"):
        moments.moments(fault="nope")


def test_generated_moment_functions_match_the_expressions():
    m = moments.derived_moments()
    point = {moments.nx: sp.Rational(3, 2), moments.ny: sp.Rational(2, 3), moments.phi: sp.Rational(7, 5)}
    with mpmath.workdps(40):
        for backend in ("mpmath", "numpy"):
            fns = symbolic.moment_functions(backend)
            x, y, t = ((mpmath.mpf(3) / 2, mpmath.mpf(2) / 3, mpmath.mpf(7) / 5) if backend == "mpmath"
                       else (1.5, 2 / 3, 1.4))
            got = [fns["m1"](x), fns["m2"](x), fns["m11"](x, y, t)]
            want = [sp.N(m[name].subs(point), 40) for name in ("m1", "m2", "m11")]
            tol = 1e-35 if backend == "mpmath" else 1e-14
            for x, y in zip(got, want):
                assert abs(mpmath.mpf(x) - mpmath.mpf(str(y))) <= tol * abs(mpmath.mpf(str(y)))
        bad = symbolic.moment_functions("mpmath", fault="kernel-pi")
        assert abs(bad["m11"](1.5, 2 / 3, 1.4) - fns["m11"](1.5, 2 / 3, 1.4)) > 1e-3


# --------------------------------------------------------------------------- loss

@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_expanded_loss_equals_l1_and_l2(k):
    diffs = loss.check_closed_forms(k)
    assert diffs["L1"] == 0
    assert diffs["L2"] == 0


@pytest.mark.parametrize("k", [1, 3])
def test_kernel_pi_fault_breaks_the_loss_identity(k):
    diffs = loss.check_closed_forms(k, fault="kernel-pi")
    assert diffs["L1"] != 0 and diffs["L2"] != 0
    assert not loss.is_zero(diffs["L1"])


def test_loss_is_one_half_mean_square_at_a_known_point():
    # w = w* and a = a*: the loss must vanish identically (a consequence, not an input).
    L, a, a_star = loss.population_loss(3)
    at_teacher = L.subs({loss.u: loss.s, loss.theta: 0, **dict(zip(a, a_star))})
    assert sp.simplify(at_teacher) == 0


# --------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("p", [2, 3])
def test_chain_rule_primitives_by_differentiation(p):
    for name, diff in derivatives.check_primitives(p).items():
        assert all(e == 0 for e in diff), name


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_derived_gradient_and_hessian_reproduce_claims(k):
    checks = derivatives.check_against_claims(k)
    assert checks == {name: True for name in checks}
    assert set(checks) == {"grad_a", "grad_w", "rgrad_w", "H_aa", "H_aw", "H_ww", "rH_ww", "rH_aw"}


def test_riemannian_gradient_factorisation():
    # docs/design.md: (I - w_hat w_hat^T) grad_w L = -(s/2pi)(a.a*)(pi - theta)(w_hat* - cos theta w_hat)
    k = 3
    d = derivatives.derived(k)
    a, a_star = d["a"], d["a_star"]
    coef = -loss.s / (2 * pi) * sum(x * y for x, y in zip(a, a_star)) * (pi - loss.theta)
    x, y = d["rgrad_w"]
    assert sp.simplify(y - coef) == 0
    assert sp.simplify(x + coef * sp.cos(loss.theta)) == 0


@pytest.mark.parametrize("tamper", ["grad sign", "hessian factor 2", "kernel pi in grad_w"])
def test_claim_check_rejects_tampered_claims(tamper):
    k = 2
    d = derivatives.derived(k)
    c = derivatives.claimed(k)
    if tamper == "grad sign":
        c["grad_a"] = [-c["grad_a"][0]] + c["grad_a"][1:]
        name = "grad_a"
    elif tamper == "hessian factor 2":
        c["H_ww"] = derivatives.mat_scale(2, c["H_ww"])
        name = "H_ww"
    else:
        x, y = c["grad_w"]
        c["grad_w"] = (x, y.subs(pi - loss.theta, pi))
        assert c["grad_w"][1] != y
        name = "grad_w"
    checks = derivatives.check_against_claims(k, derived_=d, claims=c)
    assert checks[name] is False
    assert all(ok for other, ok in checks.items() if other != name)


# --------------------------------------------------------------------------- numeric core

def _generic_points(rng, k, p, n):
    """Random teacher/student pairs with the angle away from 0 and pi (generic points)."""
    out = []
    while len(out) < n:
        ws, a_s, w, a = rng.normal(size=p), rng.normal(size=k), rng.normal(size=p), rng.normal(size=k)
        cos_t = w @ ws / np.linalg.norm(w) / np.linalg.norm(ws)
        if abs(cos_t) < 0.95:
            out.append((ws * rng.uniform(0.3, 3), a_s, w * rng.uniform(0.3, 3), a))
    return out


def _rel(x, ref):
    x = np.asarray(x, dtype=float)
    ref = np.asarray(ref, dtype=float)
    return float(np.max(np.abs(x - ref)) / np.max(np.abs(ref)))


def _rel_mp(x, ref):
    x, ref = np.ravel(x), np.ravel(ref)
    return max(abs(xi - ri) for xi, ri in zip(x, ref)) / max(abs(r) for r in ref)


@pytest.mark.parametrize("k,p", [(1, 2), (3, 2), (4, 3)])
def test_float64_core_agrees_with_generated_code(k, p):
    gen = codegen.numeric(k, p, "numpy")
    rng = np.random.default_rng(1000 + 10 * k + p)
    for ws, a_s, w, a in _generic_points(rng, k, p, 6):
        prob = vp.Problem(ws, a_s)
        assert _rel(vp.loss(prob, w, a), gen.loss(ws, a_s, w, a)) <= 1e-12
        for riem in (False, True):
            gw, ga = vp.grad(prob, w, a, riemannian=riem)
            hw, ha = gen.grad(ws, a_s, w, a, riemannian=riem)
            assert _rel(np.concatenate([gw, ga]), np.concatenate([hw, ha])) <= 1e-12
            assert _rel(vp.hessian(prob, w, a, riemannian=riem),
                        gen.hessian(ws, a_s, w, a, riemannian=riem)) <= 1e-12


@pytest.mark.parametrize("k,p", [(1, 2), (4, 3)])
def test_mpmath_core_agrees_with_generated_code_to_30_digits(k, p):
    gen = codegen.numeric(k, p, "mpmath")
    rng = np.random.default_rng(2000 + 10 * k + p)
    dps = 40
    for ws, a_s, w, a in _generic_points(rng, k, p, 3):
        prob = vp.Problem(ws, a_s)
        with mpmath.workdps(dps):
            assert _rel_mp([vp.loss_mp(prob, w, a, dps=dps)], [gen.loss(ws, a_s, w, a)]) <= 1e-30
            for riem in (False, True):
                gw, ga = vp.grad_mp(prob, w, a, dps=dps, riemannian=riem)
                hw, ha = gen.grad(ws, a_s, w, a, riemannian=riem)
                assert _rel_mp(np.concatenate([gw, ga]), np.concatenate([hw, ha])) <= 1e-30
                assert _rel_mp(vp.hessian_mp(prob, w, a, dps=dps, riemannian=riem),
                               gen.hessian(ws, a_s, w, a, riemannian=riem)) <= 1e-30


def test_generated_code_detects_a_wrong_core():
    # Negative control for the comparison above: a core gradient with one sign flipped
    # is rejected at the same tolerance.
    gen = codegen.numeric(3, 2, "numpy")
    ws, a_s, w, a = _generic_points(np.random.default_rng(7), 3, 2, 1)[0]
    gw, ga = vp.grad(vp.Problem(ws, a_s), w, a)
    ga = ga.copy()
    ga[0] = -ga[0]
    assert _rel(np.concatenate([gw, ga]), np.concatenate(gen.grad(ws, a_s, w, a))) > 1e-12


# --------------------------------------------------------------------------- cache and CLI

def test_second_load_comes_from_the_disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VPGD_CACHE_DIR", str(tmp_path))
    codegen.clear_memo()
    try:
        before = codegen.derivation_counts().get("explicit k=1 p=2", 0)
        first = codegen.numeric(1, 2, "numpy")
        assert codegen.derivation_counts().get("explicit k=1 p=2", 0) == before + 1
        assert list((tmp_path / codegen.cache_key()).glob("numeric_k1_p2_numpy.py"))
        codegen.clear_memo()
        second = codegen.numeric(1, 2, "numpy")
        assert codegen.derivation_counts().get("explicit k=1 p=2", 0) == before + 1
        point = ([1.0, 0.5], [0.7], [-0.3, 1.1], [1.3])
        assert second.loss(*point) == first.loss(*point)
    finally:
        codegen.clear_memo()


def test_default_cache_dir_is_in_the_user_cache(monkeypatch):
    monkeypatch.delenv("VPGD_CACHE_DIR", raising=False)
    d = codegen.cache_dir()
    assert d.parts[-2:] == (".cache", "verified_pgd")
    assert "site-packages" not in d.parts


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="^k:"):
        codegen.numeric(0, 2)
    with pytest.raises(ValueError, match="^p:"):
        codegen.numeric(1, 1)
    with pytest.raises(TypeError, match="^k:"):
        codegen.numeric(1.5, 2)
    with pytest.raises(ValueError, match="^backend:"):
        codegen.numeric(1, 2, "torch")
    with pytest.raises(ValueError, match="^w:"):
        codegen.numeric(1, 2).loss([1.0, 0.0], [1.0], [1.0], [1.0])


def test_vpgd_derive_json_reports_passing_checks(capsys):
    assert cli.main(["derive", "--json", "--k", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = [r["name"] for r in report["formulas"]]
    assert {"m1", "m2", "m11", "L", "grad_w", "rgrad_w", "H_aa", "H_aw", "H_ww"} <= set(names)
    assert report["checks"] and all(report["checks"].values())
    assert cli.main(["derive", "--latex", "--k", "1"]) == 0
    assert "\\pi" in capsys.readouterr().out
    assert cli.main(["derive", "--k", "1"]) == 0
    text = capsys.readouterr().out
    assert "m11" in text and "Symbolic checks" in text and " NO " not in text


def test_vpgd_derive_bad_k_is_a_user_error(capsys):
    assert cli.main(["derive", "--k", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "k:" in err
