"""numba's cache and edits of a kernel's dependencies (verified_pgd.solver.kernel_cache).

numba keys a cached function on its own file only: after an edit of a module whose
compiled function it calls, a fresh process loads the old machine code.  The control
shows that (numba alone returns the stale value); with ``kernel_cache.refresh`` the
fresh process sees the edit, and an unchanged source keeps the cache (no recompile).
"""
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parents[1]

CALLER = textwrap.dedent("""
    import os, sys
    from numba import njit
    from . import callee

    @njit(cache=True)
    def f():
        return callee.g() * 10

    if os.environ.get("GUARD") == "1":
        from verified_pgd.solver import kernel_cache
        FLUSHED = kernel_cache.refresh([sys.modules[__name__]], [callee])
    else:
        FLUSHED = None
""")


def _callee(value):
    return f"from numba import njit\n\n@njit(cache=True)\ndef g():\n    return {value}\n"


def _run(tmp, guard):
    env = dict(os.environ, GUARD="1" if guard else "0",
               PYTHONPATH=os.pathsep.join([str(tmp), str(ROOT)]))
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c",
                          "import pkg.caller as c; print(c.f(), c.FLUSHED, "
                          "c.f.stats.cache_hits and 'hit' or 'compiled')"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def _package(tmp):
    pkg = tmp / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "caller.py").write_text(CALLER)
    (pkg / "callee.py").write_text(_callee(1))
    return pkg


def _edit_callee(pkg, value):
    time.sleep(0.01)  # a distinct mtime; the size is the same ("1" -> "2")
    (pkg / "callee.py").write_text(_callee(value))
    st = (pkg / "callee.py").stat()
    os.utime(pkg / "callee.py", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def test_numba_alone_keeps_stale_code_after_a_dependency_edit(tmp_path):
    pkg = _package(tmp_path)
    assert _run(tmp_path, guard=False)[0] == "10"
    _edit_callee(pkg, 2)
    # the control: without the guard the caller's cache still holds g() == 1
    assert _run(tmp_path, guard=False)[0] == "10"


def test_refresh_recompiles_after_a_dependency_edit_and_keeps_a_fresh_cache(tmp_path):
    pkg = _package(tmp_path)
    value, flushed, how = _run(tmp_path, guard=True)
    assert (value, how) == ("10", "compiled")
    # unchanged sources: the second process loads the cache, nothing flushed
    assert _run(tmp_path, guard=True) == ["10", "False", "hit"]
    _edit_callee(pkg, 2)
    assert _run(tmp_path, guard=True) == ["20", "True", "compiled"]
    assert _run(tmp_path, guard=True) == ["20", "False", "hit"]


def test_the_engines_guard_their_kernels():
    from verified_pgd.solver import kernel, kernel_cache, reduced_kernel, sfc64
    from verified_pgd.solver.kernel_cache import _dispatchers
    from verified_pgd import backends
    from verified_pgd.solver import bookkeeping
    names = {d.py_func.__name__ for d in _dispatchers([kernel, sfc64], [bookkeeping, backends])}
    assert {"_run", "_chain", "normal"} <= names
    red = _dispatchers([reduced_kernel], [kernel, sfc64, bookkeeping, backends])
    assert red and all(d.py_func.__module__ == reduced_kernel.__name__ for d in red)
    assert kernel_cache.refresh([kernel, sfc64], [bookkeeping, backends]) is False
