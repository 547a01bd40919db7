"""The high-precision engine: one chain at a time in mpmath (``precision=dps``) or in
python-flint arb balls (``precision="arb:<bits>"``).

The chains consume the very same float64 noise vectors as the float64 engine (chain i's
generator, :mod:`.rng`), converted exactly, and every stage's eta, sigma_w and sigma_a are
converted exactly too (a float64 is a binary fraction: exact in mpmath and as an arb ball
of radius 0).  arb: the enclosures contain the exact-arithmetic trajectory for those
draws.  Bookkeeping (eps-hit, divergence, records): :mod:`.bookkeeping`, on the float64
values of the high-precision numbers.
"""
from __future__ import annotations

import numpy as np

from .. import formulas
from . import rng
from .bookkeeping import Book, Observation, Outputs
from .config import RunConfig

__all__ = ["run", "HPContext"]

_BLOCK_STEPS = 64


class HPContext:
    """Precision context, backend and exact conversion for mpmath or arb."""

    def __init__(self, kind, prec):
        self.kind, self.prec = kind, prec

    def __enter__(self):
        if self.kind == "mp":
            import mpmath
            from ..backends import MPMath
            self._ctx = mpmath.workdps(self.prec)
            self._ctx.__enter__()
            self.B = MPMath()
            self.conv = mpmath.mpf
        else:
            import flint
            from ..backends import Arb
            self._flint = flint
            self._old = flint.ctx.prec
            flint.ctx.prec = self.prec
            self.B = Arb()
            self.conv = flint.arb
        return self

    def __exit__(self, *exc):
        if self.kind == "mp":
            return self._ctx.__exit__(*exc)
        self._flint.ctx.prec = self._old
        return False

    def vec(self, x):
        # float64 -> exact in both mpmath (binary mantissa) and arb (exact ball of radius 0)
        return np.array([self.conv(float(v)) for v in x], dtype=object)

    def to_float(self, x):
        return float(x.mid()) if self.kind == "arb" else float(x)

    def floats(self, v):
        return np.array([self.to_float(x) for x in v], dtype=np.float64)

    def enclosure(self, x):
        """float64 (mid, rad) with [mid - rad, mid + rad] containing the ball ``x``."""
        mid = float(x.mid())
        rad = float(x.rad()) * (1 + 2.0 ** -50) + float(abs(x.mid() - self.conv(mid))) * (1 + 2.0 ** -50)
        return mid, rad

    def text(self, x):
        if self.kind == "mp":
            import mpmath
            return mpmath.nstr(x, self.prec + 5, strip_zeros=False)
        return x.str(radius=True, more=True) if hasattr(x, "str") else str(x)


def run(cfg: RunConfig):
    """The Result of the run ``cfg`` (``cfg.kind`` "mp" or "arb")."""
    M, p, k = cfg.chains, cfg.problem.p, cfg.problem.k
    arb = cfg.kind == "arb"
    out = Outputs(cfg, {"w": p, "a": k}, radii=arb)
    W, A = np.empty((M, p)), np.empty((M, k))
    exact = {"w": [], "a": []}
    with HPContext(cfg.kind, cfg.prec) as X:
        for i in range(M):
            w, a = _chain(cfg, X, out, i)
            W[i], A[i] = X.floats(w), X.floats(a)
            exact["w"].append([X.text(v) for v in w])
            exact["a"].append([X.text(v) for v in a])
    return out.result(W, A, exact=exact)


def _chain(cfg: RunConfig, X: HPContext, out: Outputs, i: int):
    B = X.B
    problem = cfg.problem
    p, k = problem.p, problem.k
    normalized, ball = cfg.normalized, cfg.ball
    arb = X.kind == "arb"
    w_star = X.vec(problem.w_star)
    s = B.sqrt((w_star * w_star).sum())
    wst = w_star / s
    ast = X.vec(problem.a_star)
    sa_norm = s * B.sqrt((ast * ast).sum())
    book = Book(cfg, out, i, i + 1, X.to_float(sa_norm))
    w, a = X.vec(cfg.W0[i]), X.vec(cfg.A0[i])
    if normalized:
        w = w / B.sqrt((w * w).sum())
    gen = rng.chain_generator(cfg.seed, cfg.first_chain + i)

    def states(w, a):
        if not arb:
            return {"w": X.floats(w)[None], "a": X.floats(a)[None]}
        res = {}
        for name, v in (("w", w), ("a", a)):
            mr = [X.enclosure(x) for x in v]
            res[name] = np.array([[m for m, _ in mr]])
            res[name + "_rad"] = np.array([[r_ for _, r_ in mr]])
        return res

    def evaluate(state):
        w, a = state
        g_w, g_a, G, r = formulas.grad_and_geometry(B, wst, ast, s, w, a, riemannian=normalized)
        nr = B.sqrt((r * r).sum())
        # Success is decided on the (mid)point values: the float64 roundings of the
        # high-precision numbers, compared with the float64 eps.
        return Observation(np.array([X.to_float(G.theta)]), np.array([X.to_float(nr)]),
                           lambda: np.array([X.to_float(formulas.loss(B, wst, ast, s, w, a))]),
                           lambda: states(w, a),
                           lambda: np.array([X.to_float(nr / sa_norm)])), (g_w, g_a)

    def select(mask, prev, state):
        return prev if mask[0] else state

    state = prev = (w, a)
    for seg in cfg.segments:
        eta, sigma_w, sigma_a = X.conv(seg.eta), X.conv(seg.sigma_w), X.conv(seg.sigma_a)
        nnoise = rng.record_length(p, k, seg.noisy, ball, None)
        for b0 in range(seg.start, seg.stop, _BLOCK_STEPS):
            b1 = min(seg.stop, b0 + _BLOCK_STEPS)
            if nnoise:
                z = gen.standard_normal((b1 - b0, nnoise))
                xis, eps_s = rng.noise_from_normals(z, p, k, ball)
            for t in range(b0, b1):
                state, (g_w, g_a) = book.observe(t, state, prev, evaluate, select)
                if book.frozen[0]:
                    continue
                w, a = state
                if nnoise:
                    xi = X.vec(xis[t - b0])
                    v = g_w + sigma_w * xi
                    w_new = w - eta * v
                    a_new = a - eta * (g_a + sigma_a * X.vec(eps_s[t - b0]))
                else:
                    v = g_w
                    w_new = w - eta * g_w
                    a_new = a - eta * g_a
                if arb and normalized:
                    # |w - eta v|^2 = 1 - 2 eta sigma_w w.xi + eta^2 |v|^2 holds exactly on
                    # the exact trajectory (|w| = 1 and w.g_w = 0 there).  Interval
                    # evaluation of sqrt(w_new . w_new) would instead double the enclosure
                    # every step (wrapping: each w_i enters the norm again); this form
                    # grows it by 1 + O(eta) per step only.
                    n2 = 1 + eta * eta * (v * v).sum()
                    if nnoise:
                        n2 = n2 - 2 * eta * sigma_w * (w * xi).sum()
                    u = B.sqrt(B.asarray([n2]))[0]
                else:
                    u = B.sqrt((w_new * w_new).sum())
                extra = None
                if arb:
                    # A ball that lost all accuracy is no enclosure worth continuing.
                    extra = np.array([not (u.is_finite() and all(x.is_finite() for x in a_new)
                                           and all(x.is_finite() for x in w_new))])
                book.check_step(t, np.array([X.to_float(u)]), X.floats(a_new)[None], extra)
                if book.frozen[0]:
                    continue
                if normalized:
                    w_new = w_new / u
                prev, state = state, (w_new, a_new)
    state, _ = book.observe(cfg.total_steps, state, prev, evaluate, select)
    book.finish()
    return state
