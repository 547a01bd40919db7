"""Landscape theory of the weight-normalized problem (docs/design.md section 3).

Critical points, barrier and reduced loss (:mod:`.landscape`), and the constants a
schedule or a convergence proof needs (:mod:`.constants`).  Every function takes a
:class:`verified_pgd.Problem` and an optional ``dps``: float64 by default, mpmath
``mpf`` at ``dps`` digits otherwise, python-flint ``arb`` balls with ``backend="arb"``
(also theta_s, the saddle and the Hessian spectrum, as certified enclosures).  Derivations: docs/landscape.md.
"""
from .landscape import (CriticalPoint, alpha, barrier, g_s, global_minimum, has_spurious_minimum,
                        orthogonal_direction, reduced_loss, reduced_minimizer, saddle,
                        saddle_theta, spurious_minimum)

__all__ = ["CriticalPoint", "global_minimum", "spurious_minimum", "saddle", "barrier",
           "has_spurious_minimum", "reduced_loss", "reduced_minimizer", "saddle_theta",
           "orthogonal_direction", "g_s", "alpha"]
from .constants import (HessianSpectrum, LandscapeConstants, basin_contraction_factor,
                        basin_radius, contraction_factor, default_radius, hessian_lipschitz_bound,
                        hessian_spectrum, landscape_constants, reduced_hessian, smoothness_bound,
                        stable_step_range, tangent_hessian, x_sin_x_max)

__all__ += ["HessianSpectrum", "LandscapeConstants", "hessian_spectrum", "reduced_hessian",
            "tangent_hessian", "smoothness_bound", "hessian_lipschitz_bound", "basin_radius",
            "contraction_factor", "basin_contraction_factor", "stable_step_range",
            "default_radius", "landscape_constants", "x_sin_x_max"]
from .schedule_design import schedule  # noqa: E402  issue 5: the annealing schedule
from .escape_law import escape_time  # noqa: E402  issue 13: escape time with prefactor

__all__ += ["schedule", "escape_time"]
