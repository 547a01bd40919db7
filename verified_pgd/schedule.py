"""Old module path, kept importable: the code lives in :mod:`verified_pgd.solver.schedule`."""
from .solver.schedule import *  # noqa: F401,F403
from .solver.schedule import __all__  # noqa: F401
