"""The problems and points every verification method uses (fixed seeds)."""
from __future__ import annotations

import numpy as np

from ..problem import Problem


def problems() -> list[Problem]:
    """The problems every method uses: the default (p = k = 4, spurious minimum) and a
    random teacher with p = 3, k = 2 and s != 1."""
    rng = np.random.default_rng(11)
    return [Problem.default(), Problem(1.7 * rng.normal(size=3), rng.normal(size=2))]


def points(prob: Problem, n: int, seed: int):
    """n random (w, a) at a generic position (Gaussian, |w| of order s)."""
    rng = np.random.default_rng(seed)
    return [(prob.s * rng.normal(size=prob.p) / np.sqrt(prob.p), rng.normal(size=prob.k))
            for _ in range(n)]
