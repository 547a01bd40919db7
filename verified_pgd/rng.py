"""Old module path, kept importable: the code lives in :mod:`verified_pgd.solver.rng`."""
from .solver.rng import *  # noqa: F401,F403
from .solver.rng import __all__  # noqa: F401
