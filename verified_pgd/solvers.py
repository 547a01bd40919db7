"""Old module path, kept importable: the solver core is the package :mod:`verified_pgd.solver`
(façade ``solver.api``, float64 engine ``solver.numpy``, mp/arb engine ``solver.highprec``)."""
from .solver.api import pgd, rerun
from .solver.config import parse_precision
from .solver.numpy import f64_terms, minibatch_grad

__all__ = ["pgd", "rerun", "parse_precision", "minibatch_grad", "f64_terms"]
