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

import hashlib
import importlib.metadata
import os
import re
import tempfile
from pathlib import Path

from .counters import count_derivation, derivation_counts  # noqa: F401  (re-exported)

BACKENDS = ("numpy", "mpmath")

_MEMO: dict = {}


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
    """Forget what this process loaded or derived (the disk cache stays); for tests."""
    _MEMO.clear()
    _EXPLICIT.clear()


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


def read_or_build(filename: str, build):
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
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".tmp-")
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
        text = read_or_build(filename, build)
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


# --------------------------------------------------------------------------- loss etc.

_EXPLICIT: dict = {}


def _explicit(k, p):
    if (k, p) not in _EXPLICIT:
        from . import derivatives
        count_derivation(f"explicit k={k} p={p}")
        _EXPLICIT[(k, p)] = derivatives.explicit(k, p)
    return _EXPLICIT[(k, p)]


class Numeric:
    """Loss, gradient and Hessian for one (k, p), generated from the derivation.

    Arguments are ``(w_star, a_star, w, a)`` as 1-D sequences (not batched).  The
    ``"numpy"`` backend returns float64; ``"mpmath"`` returns ``mpf`` (object arrays)
    evaluated at the ambient ``mpmath.mp.dps``; inputs may then be floats, ints,
    decimal strings or ``mpf``.
    """

    def __init__(self, k, p, backend, fns):
        self.k, self.p, self.backend = k, p, backend
        self._fns = fns
        if backend == "numpy":
            import numpy as np
            self._conv = lambda x: float(x)
            self._np = np
        else:
            import mpmath
            import numpy as np
            self._conv = mpmath.mpf
            self._np = np

    def __repr__(self):
        return f"Numeric(k={self.k}, p={self.p}, backend={self.backend!r})"

    def _args(self, w_star, a_star, w, a):
        out = []
        for name, x, n in (("w_star", w_star, self.p), ("a_star", a_star, self.k),
                           ("w", w, self.p), ("a", a, self.k)):
            xs = list(x)
            if len(xs) != n:
                raise ValueError(f"{name}: expected length {n}, got {len(xs)}")
            out.extend(self._conv(v) for v in xs)
        return out

    def _array(self, xs):
        np = self._np
        if self.backend == "numpy":
            return np.array(xs, dtype=np.float64)
        arr = np.empty(len(xs), dtype=object)
        arr[:] = list(xs)
        return arr

    def loss(self, w_star, a_star, w, a):
        return self._fns["loss"](*self._args(w_star, a_star, w, a))[0]

    def grad(self, w_star, a_star, w, a, *, riemannian=False):
        """``(g_w, g_a)``; ``riemannian``: g_w projected on the tangent space at w."""
        args = self._args(w_star, a_star, w, a)
        g = self._fns["grad"](*args)
        g_w = self._fns["rgrad_w"](*args) if riemannian else g[:self.p]
        return self._array(g_w), self._array(g[self.p:])

    def hessian(self, w_star, a_star, w, a, *, riemannian=False):
        """(p + k) x (p + k) Hessian in (w, a); ``riemannian``: on the sphere through w
        (P H_ww P - (w_hat . g_w / |w|) P, cross block P-projected)."""
        np = self._np
        args = self._args(w_star, a_star, w, a)
        n = self.p + self.k
        H = self._array(self._fns["hessian"](*args)).reshape(n, n)
        if not riemannian:
            return H
        p = self.p
        wv = self._array(args[p + self.k: 2 * p + self.k])
        gw = self._array(self._fns["grad"](*args)[:p])
        sqrt = np.sqrt if self.backend == "numpy" else __import__("mpmath").sqrt
        u = sqrt(sum(x * x for x in wv))
        w_hat = wv / u
        P = -np.outer(w_hat, w_hat)
        for i in range(p):
            P[i, i] = P[i, i] + 1
        radial = sum(x * y for x, y in zip(w_hat, gw))
        out = H.copy()
        out[:p, :p] = P.dot(H[:p, :p]).dot(P) - P * (radial / u)
        out[p:, :p] = H[p:, :p].dot(P)
        out[:p, p:] = P.dot(H[:p, p:])
        return out


def numeric(k: int, p: int, backend: str = "numpy") -> Numeric:
    """Generated loss/grad/hessian for concrete (k, p), from :func:`symbolic.derivatives.explicit`.

    Cached on disk (see module doc): the first call for a (k, p, backend) derives and
    generates (a few seconds for k = 4, p = 3), later calls only compile the cached source.
    """
    from .derivatives import check_p
    from .loss import check_k
    check_k(k)
    check_p(p)
    _check_backend(backend)

    def build():
        e = _explicit(k, p)
        args = e["args"]
        return "\n".join([
            generate_source("loss", args, [e["loss"]], backend),
            generate_source("grad", args, e["grad_w"] + e["grad_a"], backend),
            generate_source("rgrad_w", args, e["rgrad_w"], backend),
            generate_source("hessian", args, [x for row in e["hessian"] for x in row], backend)])

    return Numeric(k, p, backend, load(f"numeric_k{k}_p{p}_{backend}.py", build, backend))
