"""Landscape theory of the weight-normalized problem (DESIGN section 3).

Critical points, barrier and reduced loss (:mod:`.landscape`), and the constants a
schedule or a convergence proof needs (:mod:`.constants`).  Every function takes a
:class:`verified_pgd.Problem` and an optional ``dps``: float64 by default, mpmath
``mpf`` at ``dps`` digits otherwise.  Derivations: docs/landscape.md.
"""
from .landscape import (CriticalPoint, alpha, barrier, g_s, global_minimum, has_spurious_minimum,
                        orthogonal_direction, reduced_loss, reduced_minimizer, saddle,
                        saddle_theta, spurious_minimum)

__all__ = ["CriticalPoint", "global_minimum", "spurious_minimum", "saddle", "barrier",
           "has_spurious_minimum", "reduced_loss", "reduced_minimizer", "saddle_theta",
           "orthogonal_direction", "g_s", "alpha"]
