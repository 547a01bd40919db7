"""numpy and mpmath callables generated from the derived expressions, with a disk cache.

Generation is ``sympy.lambdify(..., cse=True)`` on flat lists of expressions; what is
cached is the *generated Python source*, so a warm load needs neither sympy nor a
derivation: it reads a file, compiles it and binds numpy or mpmath names.

Cache location: ``$VPGD_CACHE_DIR`` or ``~/.cache/verified_pgd`` (never site-packages),
in a sub-directory named by a hash of the sources of :mod:`symbolic` and the sympy
version, so editing a derivation or upgrading sympy regenerates everything.  Files are
written atomically (temporary file + rename), so concurrent processes at worst both
derive.  The cache holds code that is executed on load: it is as trusted as the user's
own home directory (the same trust Python places in ``__pycache__``).

``derivation_counts()`` tells how many derivations this process ran (tests use it to
show that a second load comes from the cache).
"""
from __future__ import annotations

import collections
import hashlib
import importlib.metadata
import os
import re
import tempfile
from pathlib import Path

BACKENDS = ("numpy", "mpmath")

_COUNTS: collections.Counter = collections.Counter()
_MEMO: dict = {}


def count_derivation(name: str) -> None:
    _COUNTS[name] += 1


def derivation_counts() -> dict:
    """How many times each derivation ran in this process (cache misses)."""
    return dict(_COUNTS)


def cache_dir() -> Path:
    """Root of the cache: ``$VPGD_CACHE_DIR`` or ``~/.cache/verified_pgd``."""
    env = os.environ.get("VPGD_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "verified_pgd"


def cache_key() -> str:
    """Hash of the symbolic sources and the sympy version (no sympy import needed)."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for path in sorted(here.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(importlib.metadata.version("sympy").encode())
    return h.hexdigest()[:20]


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")


def clear_memo() -> None:
    """Forget what this process loaded (the disk cache stays); for tests."""
    _MEMO.clear()


# --------------------------------------------------------------------------- source

def generate_source(name: str, args, exprs, backend: str) -> str:
    """Source of ``def name(*args): return [exprs...]`` for ``backend``."""
    import inspect

    import sympy as sp
    f = sp.lambdify(list(args), list(exprs), modules=backend, cse=True, docstring_limit=0)
    src = inspect.getsource(f)
    src, n = re.subn(r"^def _lambdifygenerated\(", f"def {name}(", src, count=1)
    if n != 1:  # pragma: no cover - sympy changed its generated name
        raise RuntimeError("unexpected lambdify output")
    return src


def _namespace(backend):
    if backend == "numpy":
        import numpy
        ns = dict(numpy.__dict__)
        ns["numpy"] = numpy
    else:
        import mpmath
        ns = dict(mpmath.__dict__)
        ns["mpmath"] = mpmath
    return ns


def _read_or_build(filename: str, build):
    """The cached text for ``filename``, building (and storing) it on a miss."""
    root = cache_dir() / cache_key()
    path = root / filename
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    text = build()
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".tmp-", suffix=".py")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        # A read-only or missing cache directory only costs speed.
        pass
    return text


def _compile(text: str, backend: str, filename: str) -> dict:
    ns = _namespace(backend)
    exec(compile(text, filename, "exec"), ns)
    names = re.findall(r"^def (\w+)\(", text, flags=re.M)
    return {n: ns[n] for n in names}


def load(filename: str, build, backend: str) -> dict:
    """Functions defined in the cached (or freshly built) source ``filename``."""
    _check_backend(backend)
    key = (filename, backend)
    if key not in _MEMO:
        text = _read_or_build(filename, build)
        _MEMO[key] = _compile(text, backend, str(cache_dir() / filename))
    return _MEMO[key]


# --------------------------------------------------------------------------- moments

def moment_functions(backend="mpmath", fault=None):
    """``{"m1": m1(nx), "m2": m2(nx), "m11": m11(nx, ny, phi)}`` generated from
    :func:`symbolic.moments.derived_moments` (``fault="kernel-pi"``: the negative control)."""
    _check_backend(backend)
    from .moments import FAULTS
    if fault not in FAULTS:
        raise ValueError(f"fault: unknown fault {fault!r}; expected one of {FAULTS}")
    tag = "exact" if fault is None else fault.replace("-", "_")

    def build():
        from . import moments as M
        m = M.moments(fault=fault)
        return "\n".join([
            generate_source("m1", [M.nx], [m["m1"]], backend),
            generate_source("m2", [M.nx], [m["m2"]], backend),
            generate_source("m11", [M.nx, M.ny, M.phi], [m["m11"]], backend)])

    fns = load(f"moments_{tag}_{backend}.py", build, backend)
    return {name: _unwrap(fns[name]) for name in ("m1", "m2", "m11")}


def _unwrap(f):
    def scalar(*args):
        return f(*args)[0]
    scalar.__name__ = f.__name__
    scalar.__doc__ = f"Generated from the derived expression ({f.__name__})."
    return scalar
