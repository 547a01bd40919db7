"""Compiled arithmetic of the reduced simulator (:mod:`verified_pgd.solver.reduced`): one
block of steps of every chain as a scalar loop on the 2-vector (x, y) and a, chains in
parallel on numba's threads.

The random numbers are the numpy engine's: each chain's two streams
(``reduced.chain_streams``) are seeded by :func:`.sfc64.seed_states` and drawn by
:mod:`.sfc64`'s ports of numpy's normal and chi-square samplers (bitwise numpy's, tested),
per step in the numpy engine's order — the step's record of normals, then one chi-square
variate — so both engines see identical noise; the step is the numpy engine's formulas
in its order (``formulas.grad_and_geometry`` on the 2-vector,
then the update of ``reduced._chunk``), so the paths agree to rounding (tested to 1e-12).
A chain's path depends only on its own inputs and stream: bitwise the same for any
number of chains, threads and chunk sizes.

Bookkeeping is the numpy engine's (:class:`~.bookkeeping.Book`), per chain: a record step
observes the state (a non-finite theta, loss or a-error puts the chain back to its
previous state, flagged at t and frozen), theta <= eps tests the eps-hit, an update that
fails :func:`~.bookkeeping.step_ok` flags the chain at t + 1 and keeps the state; a
frozen chain is still recorded, at its frozen state.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .bookkeeping import is_hit, step_ok
from .kernel import H_COEFFS, _h, _ndtr, _over_chains
from .sfc64 import chisquare, normal, seed_states

__all__ = ["run_chunk"]

_PI = math.pi
_is_hit = njit(cache=True)(is_hit)
_step_ok = njit(cache=True)(step_ok)


@njit(cache=True, inline="always")
def _geometry2(x, y, a, ast, s, coeffs, r):
    """formulas.geometry on the 2-vector (x, y) with w_hat* = (1, 0), and r = u a - s a*:
    (u, xh, yh, d1, d2, nd2, theta, delta, r1, aa)."""
    u = math.sqrt(x * x + y * y)
    xh = x / u
    yh = y / u
    d1 = 1.0 - xh
    d2 = 0.0 - yh
    e1 = 1.0 + xh
    e2 = 0.0 + yh
    nd2 = d1 * d1 + d2 * d2
    theta = 2 * math.atan2(math.sqrt(nd2), math.sqrt(e1 * e1 + e2 * e2))
    delta = (_PI / 2) * nd2 - _h(theta, coeffs)
    r1 = 0.0
    aa = 0.0
    for j in range(a.shape[0]):
        rj = u * a[j] - s * ast[j]
        r[j] = rj
        r1 += rj
        aa += a[j] * ast[j]
    return u, xh, yh, d1, d2, nd2, theta, delta, r1, aa


@njit(cache=True, inline="always")
def _observe(x, y, a, ast, s, coeffs, r):
    """(theta, loss, |r|) of a state (formulas.loss)."""
    u, xh, yh, d1, d2, nd2, theta, delta, r1, aa = _geometry2(x, y, a, ast, s, coeffs, r)
    rr = 0.0
    for j in range(r.shape[0]):
        rr += r[j] * r[j]
    L = ((_PI - 1) * rr + r1 * r1 + 2 * u * s * delta * aa) / (4 * _PI)
    return theta, L, math.sqrt(rr)


@njit(cache=True, inline="always")
def _record(jr, i, theta, L, nr, sa_norm, x, y, a, rec_loss, rec_theta, rec_ae, rec_x,
            rec_y, rec_a):
    rec_loss[jr, i] = L
    rec_theta[jr, i] = theta
    rec_ae[jr, i] = nr / sa_norm
    if rec_x.shape[0] > 0:
        rec_x[jr, i] = x
        rec_y[jr, i] = y
        for q in range(a.shape[0]):
            rec_a[jr, i, q] = a[q]


@njit(nogil=True, cache=True)
def _block(c0, c1, X, Y, A, XP, YP, AP, SN, SC, chi_df, t0, t1, jr0, eta, sig_w, sig_a, noisy,
           nz, ball, normalized, p, s, ast, sa_norm, eps, bound, lo, hi, rec, coeffs, rec_loss,
           rec_theta, rec_ae, rec_x, rec_y, rec_a, hit, div, frozen, step):
    """Steps t0 <= t < t1 of chains c0..c1-1 (``step`` False: only observe state t0, the
    final observation).  (X, Y, A) / (XP, YP, AP): current / previous states, updated in
    place; SN, SC (chains, 4) the SFC64 states of the chains' normal and chi-square
    streams (advanced in place); ``jr0`` the index of the first record step >= t0."""
    k = A.shape[1]
    R = rec.shape[0]
    has_chi = chi_df > 0
    zs = np.empty(nz + k + (2 if ball else 0))
    r = np.empty(k)
    g_a = np.empty(k)
    a = np.empty(k)
    ap = np.empty(k)
    an = np.empty(k)
    for i in range(c0, c1):
        x = X[i]
        y = Y[i]
        xp = XP[i]
        yp = YP[i]
        for q in range(k):
            a[q] = A[i, q]
            ap[q] = AP[i, q]
        fz = frozen[i]
        jr = jr0
        n0, n1, n2, n3 = SN[i, 0], SN[i, 1], SN[i, 2], SN[i, 3]
        h0, h1, h2, h3 = SC[i, 0], SC[i, 1], SC[i, 2], SC[i, 3]
        for t in range(t0, t1):
            rec_t = jr < R and rec[jr] == t
            if not fz:
                u, xh, yh, d1, d2, nd2, theta, delta, r1, aa = _geometry2(x, y, a, ast, s,
                                                                          coeffs, r)
                if rec_t:
                    rr = 0.0
                    for q in range(k):
                        rr += r[q] * r[q]
                    nr = math.sqrt(rr)
                    L = ((_PI - 1) * rr + r1 * r1 + 2 * u * s * delta * aa) / (4 * _PI)
                    if not (math.isfinite(theta) and math.isfinite(L)
                            and math.isfinite(nr / sa_norm)):
                        # Book.observe: back to the previous state, flagged at t, frozen;
                        # the record below observes that state
                        x, y = xp, yp
                        for q in range(k):
                            a[q] = ap[q]
                        div[i] = t
                        fz = True
                    else:
                        if hit[i] < 0 and _is_hit(theta, nr, eps, sa_norm):
                            hit[i] = t
                        _record(jr, i, theta, L, nr, sa_norm, x, y, a, rec_loss, rec_theta,
                                rec_ae, rec_x, rec_y, rec_a)
                        jr += 1
                        rec_t = False
                elif theta <= eps and hit[i] < 0:
                    rr = 0.0
                    for q in range(k):
                        rr += r[q] * r[q]
                    if _is_hit(theta, math.sqrt(rr), eps, sa_norm):
                        hit[i] = t
            if step and not fz:
                # formulas.grad_and_geometry (riemannian when normalized), its order
                two_pi = 2 * _PI
                cu = u / two_pi
                sd = s * delta
                aMr = 0.0
                for j in range(k):
                    mr = (_PI - 1) * r[j] + r1
                    aMr += a[j] * mr
                    g_a[j] = cu * (mr + sd * ast[j])
                tang = -s * aa * (_PI - theta) / two_pi
                half = nd2 / 2
                g1 = tang * (d1 + half * xh)
                g2 = tang * (d2 + half * yh)
                if not normalized:
                    radial = (aMr + sd * aa) / two_pi
                    g1 = radial * xh + g1
                    g2 = radial * yh + g2
                if noisy:
                    # the step's normals (z1 [, z2], then k for a [, 2 for the radii]) and
                    # its chi-square: the numpy engine's records, in its order
                    for q in range(zs.shape[0]):
                        zs[q], n0, n1, n2, n3 = normal(n0, n1, n2, n3)
                    rest2 = 0.0
                    if has_chi:
                        rest2, h0, h1, h2, h3 = chisquare(chi_df, h0, h1, h2, h3)
                    z1 = zs[0]
                    z2 = zs[1] if nz == 2 else 0.0
                    rho_w = 1.0
                    rho_a = 1.0
                    if ball:
                        rho_w = _ndtr(zs[nz + k]) ** (1.0 / p) / math.sqrt(
                            z1 * z1 + z2 * z2 + rest2)
                        na = 0.0
                        for q in range(k):
                            na += zs[nz + q] * zs[nz + q]
                        rho_a = _ndtr(zs[nz + k + 1]) ** (1.0 / k) / math.sqrt(na)
                    sw = sig_w * rho_w
                    xn = x - eta * (g1 + sw * z1)
                    y_in = y - eta * (g2 + sw * z2)
                    if has_chi:
                        yn = math.copysign(math.sqrt(y_in * y_in + (eta * sw) ** 2 * rest2),
                                           y_in)
                    else:
                        yn = y_in
                    sa_ = sig_a * rho_a if ball else sig_a
                    for q in range(k):
                        an[q] = a[q] - eta * (g_a[q] + sa_ * zs[nz + q])
                else:
                    xn = x - eta * g1
                    yn = y - eta * g2
                    for q in range(k):
                        an[q] = a[q] - eta * g_a[q]
                un = math.sqrt(xn * xn + yn * yn)
                if normalized:
                    xn = xn / un
                    yn = yn / un
                amax = -np.inf
                amin = np.inf
                anan = False
                for q in range(k):
                    v = an[q]
                    amax = max(amax, v)
                    amin = min(amin, v)
                    anan |= v != v
                if anan:
                    amax = np.nan
                if not _step_ok(un, amax, amin, lo, hi, bound):
                    div[i] = t + 1          # Book.check_step: the state stays at t
                    fz = True
                else:
                    xp, yp = x, y
                    x, y = xn, yn
                    for q in range(k):
                        ap[q] = a[q]
                        a[q] = an[q]
            if rec_t:
                # a frozen chain is recorded at its (frozen) state
                theta, L, nr = _observe(x, y, a, ast, s, coeffs, r)
                _record(jr, i, theta, L, nr, sa_norm, x, y, a, rec_loss, rec_theta, rec_ae,
                        rec_x, rec_y, rec_a)
                jr += 1
        X[i] = x
        Y[i] = y
        XP[i] = xp
        YP[i] = yp
        for q in range(k):
            A[i, q] = a[q]
            AP[i, q] = ap[q]
        frozen[i] = fz
        SN[i, 0], SN[i, 1], SN[i, 2], SN[i, 3] = n0, n1, n2, n3
        SC[i, 0], SC[i, 1], SC[i, 2], SC[i, 3] = h0, h1, h2, h3


def run_chunk(cfg, out, x, y, a, c0, c1, chi_df, stream_tag):
    """Chains c0..c1-1 of the reduced run ``cfg`` from (x, y, a) (already normalized with
    the numpy engine's arithmetic); their streams are
    ``SFC64(SeedSequence([seed, stream_tag], spawn_key=(i, 0 | 1)))`` (normals | chi-square,
    ``reduced.chain_streams``), seeded and drawn in compiled code.  Fills ``out``
    (Outputs) for these chains and returns the final ((Mc, 2) w, (Mc, k) a)."""
    problem = cfg.problem
    p, k = problem.p, problem.k
    Mc = c1 - c0
    ast = np.ascontiguousarray(problem.a_star, np.float64)
    s = float(problem.s)
    sa_norm = s * float(np.sqrt((ast * ast).sum()))
    from .bookkeeping import norm_bounds
    lo, hi = norm_bounds(cfg)
    nz = min(p, 2)
    X, Y = np.ascontiguousarray(x, np.float64), np.ascontiguousarray(y, np.float64)
    A = np.array(a, dtype=np.float64, order="C")
    XP, YP, AP = X.copy(), Y.copy(), A.copy()
    first = cfg.first_chain
    SN = seed_states([cfg.seed, stream_tag], first + c0, first + c1, (0,))
    SC = seed_states([cfg.seed, stream_tag], first + c0, first + c1, (1,))
    rec = np.asarray(cfg.record_steps, np.int64)
    R = len(rec)
    keep = R if cfg.record_states else 0
    rec_loss, rec_theta, rec_ae = np.empty((R, Mc)), np.empty((R, Mc)), np.empty((R, Mc))
    rec_x, rec_y, rec_a = np.empty((keep, Mc)), np.empty((keep, Mc)), np.empty((keep, Mc, k))
    hit = np.full(Mc, -1, np.int64)
    div = np.full(Mc, -1, np.int64)
    frozen = np.zeros(Mc, np.bool_)

    def run(t0, t1, eta, sw, sa, noisy, step):
        _over_chains(_block, Mc, X, Y, A, XP, YP, AP, SN, SC, float(chi_df), t0, t1,
                     int(np.searchsorted(rec, t0)), float(eta), float(sw), float(sa),
                     bool(noisy), nz, bool(cfg.ball), bool(cfg.normalized), p, s, ast,
                     sa_norm, float(cfg.eps), float(cfg.divergence_bound), float(lo),
                     float(hi), rec, H_COEFFS, rec_loss, rec_theta, rec_ae, rec_x, rec_y,
                     rec_a, hit, div, frozen, step)

    for seg in cfg.segments:
        run(seg.start, seg.stop, seg.eta, seg.sigma_w, seg.sigma_a, seg.noisy, True)
    T = cfg.total_steps
    run(T, T + 1, 1.0, 0.0, 0.0, False, False)
    states = None
    if cfg.record_states:
        states = {"x": rec_x[..., None], "y": rec_y[..., None], "a": rec_a}
    out.absorb(c0, c1, hit, div, rec_loss, rec_theta, rec_ae, states)
    return np.stack([X, Y], axis=-1), A


def _refresh_cache():
    # numba does not see edits of kernel/sfc64/bookkeeping (kernel_cache's docstring)
    import sys
    from .. import backends
    from . import bookkeeping, kernel, kernel_cache, sfc64
    kernel_cache.refresh([sys.modules[__name__]], [kernel, sfc64, bookkeeping, backends])


_refresh_cache()
