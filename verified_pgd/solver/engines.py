"""Which engine runs a (single-process) configuration: the one place that maps a
:class:`~.config.RunConfig` to an engine module's ``run``.  The façade (:mod:`.api`) and the
process-parallel runner (:mod:`.parallel`) both ask here, so a new engine is registered once."""
from __future__ import annotations

from .config import RunConfig

__all__ = ["serial_engine"]


def serial_engine(cfg: RunConfig):
    """The ``run(cfg) -> Result`` function of the engine for ``cfg``."""
    if cfg.reduced:
        from .reduced import run
    elif cfg.engine == "compiled":
        from .compiled import run
    elif cfg.kind == "float64":
        from .numpy import run
    else:
        from .highprec import run
    return run
