"""Symbolic derivations (sympy) of the model's closed forms, and code generated from them.

Modules (imported on demand; importing :mod:`symbolic` itself derives nothing):

    symbolic.moments      Gaussian ReLU moments from their integrals (docs/design.md K1)
    symbolic.loss         population loss for concrete k; comparison with L1 and L2
    symbolic.derivatives  gradient and Hessian by differentiation; comparison with G
    symbolic.codegen      numpy/mpmath callables from the derivation, cached on disk

    symbolic.numeric(k, p, backend)      -> loss/grad/hessian callables (cached)
    symbolic.moment_functions(backend)   -> m1, m2, m11 callables (cached)

See docs/theory.md for the derivation written out.
"""


def numeric(k: int, p: int, backend: str = "numpy"):
    """Generated loss, gradient and Hessian for concrete (k, p); see :mod:`symbolic.codegen`."""
    from .codegen import numeric as _numeric
    return _numeric(k, p, backend)


def moment_functions(backend: str = "mpmath", fault=None):
    """Generated m1(nx), m2(nx), m11(nx, ny, phi); see :mod:`symbolic.moments`."""
    from .codegen import moment_functions as _mf
    return _mf(backend=backend, fault=fault)


__all__ = ["numeric", "moment_functions"]
