"""The public contract of ``import verified_pgd``: __all__ is exactly what dir() shows."""
import importlib
import subprocess
import sys

import verified_pgd as vp


def test_dir_shows_exactly_all():
    public = {n for n in dir(vp) if not n.startswith("_")}
    assert public == {n for n in vp.__all__ if not n.startswith("_")}


def test_every_public_name_resolves():
    for name in vp.__all__:
        assert getattr(vp, name) is not None, name
    assert vp.theory.barrier(vp.Problem.default()) > 0
    assert vp.Result.__name__ == "Result" and callable(vp.rerun) and callable(vp.theta_mp)


def test_unknown_name_is_an_attribute_error():
    import pytest
    with pytest.raises(AttributeError, match="no_such_name"):
        vp.no_such_name


def test_dir_check_detects_a_leak():
    """Negative control: importing submodules (which binds them as attributes) leaks
    nothing into dir(); a module without __dir__ would show them."""
    importlib.import_module("verified_pgd.formulas")
    importlib.import_module("verified_pgd.backends")
    assert "formulas" not in dir(vp) and "formulas" in vars(vp)


def test_theta_mp_agrees_with_float64_theta():
    import numpy as np
    p = vp.Problem.default()
    w = np.array([0.3, -1.0, 2.0, 0.5])
    assert abs(float(vp.theta_mp(p, w, dps=40)) - vp.theta(p, w)) < 1e-14


def test_import_is_lazy():
    code = ("import sys, verified_pgd; "
            "print(any(m in sys.modules for m in ('verified_pgd.solvers', 'verified_pgd.theory')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
