"""Independent verification of the closed forms (``vpgd verify``).

Three methods, each checking the implementation under test against a computation that
shares nothing with it, and each with a negative control it must reject
(:mod:`.faults`; docs/verification.md):

* :mod:`.quadrature`  -- the derived Gaussian ReLU moments vs ``mpmath.quad``;
* :mod:`.montecarlo`  -- loss and gradients vs unbiased sample estimates (z-scores);
* :mod:`.finite_diff` -- gradient and Hessian vs 60-digit finite differences.
"""
from __future__ import annotations

from ..checks import CheckResult
from .faults import FAULTS, Implementation, implementation, validate_fault

__all__ = ["run_all", "METHODS", "FAULTS", "Implementation", "implementation", "validate_fault"]

# Method name -> module; the order is the order of the table.
METHODS = ("quadrature", "montecarlo", "finite_diff")


def run_method(method: str, impl: Implementation, quick: bool = False) -> list[CheckResult]:
    import importlib
    mod = importlib.import_module(f"{__name__}.{method}")
    return mod.check(impl, quick=quick)


def run_all(fault=None, quick: bool = False) -> list[CheckResult]:
    """Run every method on the implementation with ``fault`` injected (None: as shipped)."""
    impl = implementation(fault)
    rows: list[CheckResult] = []
    for method in METHODS:
        rows += run_method(method, impl, quick=quick)
    return rows
