"""Keep numba's on-disk cache of the compiled kernels consistent with their sources.

numba keys a cached function on its own source file (mtime and size) and its own
bytecode, not on the functions it calls or the globals it freezes in.  The kernels call
compiled functions of ``sfc64.py`` and ``bookkeeping.py`` and freeze the h-series
coefficients of ``backends.py``: after an edit of one of those files (a ``git pull`` in
an editable install) numba would load the old machine code and the engine would silently
run old arithmetic.  :func:`refresh` closes that hole: it hashes every source file the
kernels depend on and, when the digest differs from the one recorded beside the cache,
empties the cache index of every kernel function before any of them is dispatched, so
they are recompiled from the current sources.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

__all__ = ["sources_digest", "refresh"]

MARKER = "vpgd-sources.{name}.{tag}.sha256"


def sources_digest(paths) -> str:
    """sha256 over the bytes of ``paths`` (in the given order, each with its name)."""
    h = hashlib.sha256()
    for p in paths:
        p = Path(p)
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _dispatchers(modules, dependencies):
    """The cached dispatchers named in ``modules``, less those whose function lives in a
    dependency (those are guarded by their own module's call; a caller's cache holds
    its callees' code, so flushing the callers suffices)."""
    from numba.core.registry import CPUDispatcher
    foreign = {m.__name__ for m in dependencies}
    seen = {}
    for m in modules:
        for obj in vars(m).values():
            cache = getattr(obj, "_cache", None)
            if (isinstance(obj, CPUDispatcher) and getattr(cache, "cache_path", None)
                    and obj.py_func.__module__ not in foreign):
                seen[id(obj)] = obj
    return list(seen.values())


def refresh(modules, dependencies=()) -> bool:
    """Flush the numba cache of every cached dispatcher in ``modules`` when the sources
    of ``modules`` and ``dependencies`` (module objects) changed since the cache was
    written.  Returns True when it flushed.  Must run before the first call of any
    kernel in this process.  I/O errors (a read-only cache dir) leave numba's own
    behaviour in place: numba then cannot write a cache there either."""
    files = [Path(m.__file__) for m in (*modules, *dependencies)]
    digest = sources_digest(files)
    flushed = False
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
    by_dir = {}
    for d in _dispatchers(modules, dependencies):
        by_dir.setdefault(d._cache.cache_path, []).append(d)
    for cache_dir, group in by_dir.items():
        marker = Path(cache_dir) / MARKER.format(name=modules[0].__name__, tag=tag)
        try:
            if marker.is_file() and marker.read_text().strip() == digest:
                continue
            # the directory first: a flush that fails for want of it would leave no
            # marker, and the next process would throw away a cache that was fresh
            os.makedirs(cache_dir, exist_ok=True)
            for d in group:
                d._cache.flush()
            tmp = marker.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(digest + "\n")
            os.replace(tmp, marker)
            flushed = True
        except OSError:
            continue
    return flushed
