"""Old module path, kept importable: the code lives in :mod:`verified_pgd.solver.result`."""
from .solver.result import *  # noqa: F401,F403
from .solver.result import __all__  # noqa: F401
