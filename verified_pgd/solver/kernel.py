"""Compiled float64 engine: one fused numba kernel per chain, chains in parallel on threads.

The numpy engine spends a few dozen array passes per step, each as expensive as drawing the
step's noise; here one chain's whole run is a scalar loop (gradient of the closed form,
noise, retraction, eps test, divergence test, records) and blocks of chains run in
parallel on ``numba.get_num_threads()`` threads (the kernel releases the GIL) with no
per-step synchronisation.  Threads from Python rather than ``prange``: a ``parallel=True``
kernel took twice as long to compile (measured 57 s vs 25 s cold on the loaded 2-core
machine) for the same run time, since the chains share nothing.

Same noise as the numpy engine: chain ``i`` draws the stream of its own
``Generator(SFC64(SeedSequence(seed, spawn_key=(i,))))`` (:mod:`verified_pgd.rng`) in the
same order — per step the noise record (``p + k`` normals, ``+ 2`` with ball noise), then
the mini-batch ``B k p`` normals, steps in order.  The stream is seeded and drawn in
compiled code (:mod:`.sfc64`: numpy's SeedSequence/SFC64 seeding and its ziggurat normal
sampler, the generator state in registers; bitwise numpy's, tested), so no Python
Generator is built per chain.  Gaussian noise with the population gradient is drawn
inside the update pass (p normals for w, then k for a), otherwise the step's record first.

Per step (see docs/performance.md, "Cost model of the compiled engine"): the state is
row ``c`` of (2, p) / (2, k) arrays and the previous state the other row (a revert flips
``c``); |w|^2 of a row comes from the loop that wrote it; the geometry and retraction
reductions are four interleaved partial sums; the loss is computed at record steps only.

Reproducibility: a chain's path depends only on its own inputs and stream, and the kernel
is compiled without fast-math (no reassociation: every sum runs in the order written), so
it is bitwise the same for any number of chains, threads and chunk sizes.  Against the
numpy engine it agrees to rounding only: the reductions run in another fixed order (four
interleaved partial sums or a running sum vs numpy's pairwise sums), w/|w| is a product
with 1/|w|, the h series is summed by Estrin's scheme, and ``Phi`` of ball noise uses
libm's erf/erfc instead of scipy's.

Imported only by :mod:`verified_pgd.solver.compiled` (the engine), which imports numba
lazily so that the numpy engine works where numba is missing.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit

from ..backends import _H_COEFFS_F64
from .bookkeeping import is_hit, step_ok
from .sfc64 import normal

__all__ = ["run_chains", "draw_normals", "H_COEFFS"]

H_COEFFS = np.ascontiguousarray(_H_COEFFS_F64)   # of h / theta^3 in powers of theta^2, ascending
if H_COEFFS.shape != (12,):    # _h is written out for 12 terms
    raise ImportError("kernel: _h expects the 12 series coefficients of backends.Float64.h")
_PI = math.pi
# The bookkeeping's own rules, compiled from the same source (they use only <=, & and ~,
# so they mean the same on scalars as on the numpy engines' arrays).
_is_hit = njit(cache=True)(is_hit)
_step_ok = njit(cache=True)(step_ok)


@njit(nogil=True, cache=True)
def _draw(c0, c1, states, out):
    for i in range(c0, c1):
        s0, s1, s2, s3 = states[i, 0], states[i, 1], states[i, 2], states[i, 3]
        for j in range(out.shape[1]):
            out[i, j], s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        states[i, 0], states[i, 1], states[i, 2], states[i, 3] = s0, s1, s2, s3


def draw_normals(states, n, out=None):
    """(M, n) standard normals, row i the next n of the stream whose SFC64 state is
    ``states[i]`` ((M, 4) uint64, :func:`.sfc64.seed_states`; advanced in place), drawn on
    numba's threads by the kernel's sampler: the stream test of the engine and the
    benchmark's in-kernel RNG bound."""
    if out is None:
        out = np.empty((len(states), n))
    _over_chains(_draw, len(states), states, out)
    return out


def _over_chains(kernel, M, *args):
    """``kernel(c0, c1, *args)`` over blocks of chains on ``numba.get_num_threads()``
    threads (the kernels release the GIL).  Blocks only split the work: every chain is
    computed by the same scalar code whatever block or thread it lands in."""
    n = min(numba.get_num_threads(), M)
    if n <= 1:
        kernel(0, M, *args)
        return
    # a few blocks per thread balance chains that stop early (divergence)
    edges = np.linspace(0, M, min(M, 4 * n) + 1).astype(np.int64)
    with ThreadPoolExecutor(n) as ex:
        for f in [ex.submit(kernel, int(lo), int(hi), *args)
                  for lo, hi in zip(edges[:-1], edges[1:])]:
            f.result()


@njit(cache=True, inline="always")
def _h(theta, C):
    """h = sin - theta cos without cancellation: the split of Float64.h (the 12-term series
    for theta < 1, else sin and cos).  The series is evaluated by Estrin's scheme (pairs,
    then powers t^2, t^4, t^8) rather than Horner's: a dependency chain of 7 operations
    instead of 24; it differs from Float64.h's Horner sum in the last bits only."""
    if theta < 1.0:
        t = theta * theta
        t2 = t * t
        t4 = t2 * t2
        q0 = C[0] + C[1] * t
        q1 = C[2] + C[3] * t
        q2 = C[4] + C[5] * t
        q3 = C[6] + C[7] * t
        q4 = C[8] + C[9] * t
        q5 = C[10] + C[11] * t
        acc = ((q0 + q1 * t2) + (q2 + q3 * t2) * t4) + (q4 + q5 * t2) * (t4 * t4)
        return acc * t * theta
    return math.sin(theta) - theta * math.cos(theta)


@njit(cache=True)
def _ndtr(x):
    # Phi(x), the cephes split (erf near 0, erfc in the tails)
    y = x * 0.7071067811865476
    z = abs(y)
    if z < 0.7071067811865476:
        return 0.5 + 0.5 * math.erf(y)
    r = 0.5 * math.erfc(z)
    return 1.0 - r if y > 0 else r


@njit(cache=True, inline="always")
def _sumsq_row(X, c):
    """sum of X[c, :]**2 in four interleaved partial sums (one fixed order for every
    chain: a shorter dependency chain than one running sum, not fast-math)."""
    n = X.shape[1]
    n4 = n - (n & 3)
    a0 = a1 = a2 = a3 = 0.0
    for i in range(0, n4, 4):
        x0 = X[c, i]
        x1 = X[c, i + 1]
        x2 = X[c, i + 2]
        x3 = X[c, i + 3]
        a0 += x0 * x0
        a1 += x1 * x1
        a2 += x2 * x2
        a3 += x3 * x3
    for i in range(n4, n):
        x0 = X[c, i]
        a0 += x0 * x0
    return (a0 + a1) + (a2 + a3)


@njit(cache=True, inline="always")
def _retract(X, c, f):
    """X[c, :] *= f; returns the new sum of squares (the order of _sumsq_row)."""
    n = X.shape[1]
    n4 = n - (n & 3)
    a0 = a1 = a2 = a3 = 0.0
    for i in range(0, n4, 4):
        x0 = X[c, i] * f
        x1 = X[c, i + 1] * f
        x2 = X[c, i + 2] * f
        x3 = X[c, i + 3] * f
        X[c, i] = x0
        X[c, i + 1] = x1
        X[c, i + 2] = x2
        X[c, i + 3] = x3
        a0 += x0 * x0
        a1 += x1 * x1
        a2 += x2 * x2
        a3 += x3 * x3
    for i in range(n4, n):
        x0 = X[c, i] * f
        X[c, i] = x0
        a0 += x0 * x0
    return (a0 + a1) + (a2 + a3)


@njit(cache=True, inline="always")
def _geometry(WS, AS, c, uu, wst, ast, s, coeffs, w_hat, d, r):
    """State row ``c`` of (WS, AS) with ``uu = |w|^2``: fills w_hat, d = w_hat* - w_hat and
    r = |w| a - s a*; returns (u, nd2, theta, delta, r1, aa) — formulas.geometry.  The
    reductions run as four interleaved partial sums (fixed order, see _sumsq_row)."""
    p = WS.shape[1]
    k = AS.shape[1]
    u = math.sqrt(uu)
    iu = 1.0 / u
    n4 = p - (p & 3)
    a0 = a1 = a2 = a3 = 0.0
    b0 = b1 = b2 = b3 = 0.0
    for i in range(0, n4, 4):
        h0 = WS[c, i] * iu
        h1 = WS[c, i + 1] * iu
        h2 = WS[c, i + 2] * iu
        h3 = WS[c, i + 3] * iu
        w_hat[i] = h0
        w_hat[i + 1] = h1
        w_hat[i + 2] = h2
        w_hat[i + 3] = h3
        d0 = wst[i] - h0
        d1 = wst[i + 1] - h1
        d2 = wst[i + 2] - h2
        d3 = wst[i + 3] - h3
        d[i] = d0
        d[i + 1] = d1
        d[i + 2] = d2
        d[i + 3] = d3
        a0 += d0 * d0
        a1 += d1 * d1
        a2 += d2 * d2
        a3 += d3 * d3
        e0 = wst[i] + h0
        e1 = wst[i + 1] + h1
        e2 = wst[i + 2] + h2
        e3 = wst[i + 3] + h3
        b0 += e0 * e0
        b1 += e1 * e1
        b2 += e2 * e2
        b3 += e3 * e3
    for i in range(n4, p):
        h0 = WS[c, i] * iu
        w_hat[i] = h0
        d0 = wst[i] - h0
        d[i] = d0
        a0 += d0 * d0
        e0 = wst[i] + h0
        b0 += e0 * e0
    nd2 = (a0 + a1) + (a2 + a3)
    ne2 = (b0 + b1) + (b2 + b3)
    theta = 2 * math.atan2(math.sqrt(nd2), math.sqrt(ne2))
    delta = (_PI / 2) * nd2 - _h(theta, coeffs)
    k4 = k - (k & 3)
    a0 = a1 = a2 = a3 = 0.0
    b0 = b1 = b2 = b3 = 0.0
    for j in range(0, k4, 4):
        x0 = AS[c, j]
        x1 = AS[c, j + 1]
        x2 = AS[c, j + 2]
        x3 = AS[c, j + 3]
        r0 = u * x0 - s * ast[j]
        r1_ = u * x1 - s * ast[j + 1]
        r2 = u * x2 - s * ast[j + 2]
        r3 = u * x3 - s * ast[j + 3]
        r[j] = r0
        r[j + 1] = r1_
        r[j + 2] = r2
        r[j + 3] = r3
        a0 += r0
        a1 += r1_
        a2 += r2
        a3 += r3
        b0 += x0 * ast[j]
        b1 += x1 * ast[j + 1]
        b2 += x2 * ast[j + 2]
        b3 += x3 * ast[j + 3]
    for j in range(k4, k):
        x0 = AS[c, j]
        r0 = u * x0 - s * ast[j]
        r[j] = r0
        a0 += r0
        b0 += x0 * ast[j]
    return u, nd2, theta, delta, (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)


# The same function, called (not inlined) at the two observations outside the step loop:
# one inlined copy of the geometry instead of three (the cold compile is ~2 s less).
_geometry_call = njit(cache=True)(_geometry.py_func)


@njit(cache=True)
def _minibatch_grad(w, a, w_star, ast, Z, off, B, normalized, w_hat, g_w, g_a, relu):
    """solvers.minibatch_grad for one chain; Z[off:] holds the (B, k, p) inputs."""
    p = w.shape[0]
    k = a.shape[0]
    for i in range(p):
        g_w[i] = 0.0
    for j in range(k):
        g_a[j] = 0.0
    for b in range(B):
        res = 0.0
        for j in range(k):
            base = off + (b * k + j) * p
            h = 0.0
            hs = 0.0
            for i in range(p):
                h += Z[base + i] * w[i]
                hs += Z[base + i] * w_star[i]
            relu[j] = h if h > 0.0 else 0.0
            res += relu[j] * a[j] - (hs if hs > 0.0 else 0.0) * ast[j]
        for j in range(k):
            g_a[j] += res * relu[j]
            if relu[j] > 0.0:
                c = res * a[j]
                base = off + (b * k + j) * p
                for i in range(p):
                    g_w[i] += c * Z[base + i]
    for j in range(k):
        g_a[j] /= B
    for i in range(p):
        g_w[i] /= B
    if normalized:
        uu = 0.0
        for i in range(p):
            uu += w[i] * w[i]
        u = math.sqrt(uu)
        proj = 0.0
        for i in range(p):
            w_hat[i] = w[i] / u
            proj += g_w[i] * w_hat[i]
        for i in range(p):
            g_w[i] -= proj * w_hat[i]


@njit(cache=True, inline="always")
def _loss(u, s, delta, aa, r, r1):
    rr = 0.0
    for j in range(r.shape[0]):
        rr += r[j] * r[j]
    return ((_PI - 1) * rr + r1 * r1 + 2 * u * s * delta * aa) / (4 * _PI), math.sqrt(rr)


@njit(cache=True, inline="always")
def _record(jr, i, c, L, theta, nr, sa_norm, WS, AS, rec_loss, rec_theta, rec_ae, rec_w,
            rec_a):
    rec_loss[jr, i] = L
    rec_theta[jr, i] = theta
    rec_ae[jr, i] = nr / sa_norm
    if rec_w.shape[0] > 0:
        for q in range(WS.shape[1]):
            rec_w[jr, i, q] = WS[c, q]
        for q in range(AS.shape[1]):
            rec_a[jr, i, q] = AS[c, q]


@njit(cache=True)
def _chain(i, st, W, A, wst, w_star, ast, s, sa_norm, seg_start, seg_stop, seg_eta, seg_sw,
           seg_sa, normalized, ball, batch, eps, bound, lo, hi, rec, coeffs,
           rec_loss, rec_theta, rec_ae, rec_w, rec_a, hit, div):
    """Chain ``i`` from (W[i], A[i]) on the SFC64 stream ``st[i]``; writes its final state
    back to W[i], A[i], its records, hit and divergence steps, and its advanced stream.

    The state lives in row ``c`` of WS (2, p) / AS (2, k), the previous state in row
    ``1 - c`` (a non-finite observation reverts to it); an update writes the other row and
    flips ``c``: no copies and no array swaps (each swap costs reference counting).
    ``uu[c]`` is |w|^2 of row c, computed by the loop that wrote the row (the update, or
    the retraction), so the geometry does not pass over w again."""
    p = W.shape[1]
    k = A.shape[1]
    R = rec.shape[0]
    s0, s1, s2, s3 = st[i, 0], st[i, 1], st[i, 2], st[i, 3]
    WS = np.empty((2, p))
    AS = np.empty((2, k))
    for q in range(p):
        WS[0, q] = W[i, q]
    for q in range(k):
        AS[0, q] = A[i, q]
    if normalized:
        u0 = math.sqrt(_sumsq_row(WS, 0))
        for q in range(p):
            WS[0, q] = WS[0, q] / u0
    for q in range(p):
        WS[1, q] = WS[0, q]
    for q in range(k):
        AS[1, q] = AS[0, q]
    uu0 = _sumsq_row(WS, 0)
    uu_c = uu0                  # |w|^2 of the current row and of the previous one
    uu_p = uu0
    c = 0
    w_hat = np.empty(p)
    d = np.empty(p)
    r = np.empty(k)
    g_w = np.empty(p)
    g_a = np.empty(k)
    relu = np.empty(k)
    nrec = p + k + (2 if ball else 0)
    z = np.empty(nrec + batch * k * p)
    two_pi = 2 * _PI
    jr = 0                      # next record index
    hit_i = -1
    div_i = -1
    frozen = False
    T = seg_stop[seg_stop.shape[0] - 1]
    t = 0
    for sg in range(seg_start.shape[0]):
        eta = seg_eta[sg]
        sw = seg_sw[sg]
        sa = seg_sa[sg]
        noisy = sw > 0 or sa > 0
        # Gaussian noise with the population gradient draws inside the update loops (the
        # same order: p normals for w, then k for a); otherwise the step's record first
        fused = noisy and not ball and batch == 0
        nz = 0 if fused else (nrec if noisy else 0) + batch * k * p
        for t in range(seg_start[sg], seg_stop[sg]):
            u, nd2, theta, delta, r1, aa = _geometry(WS, AS, c, uu_c, wst, ast, s, coeffs,
                                                     w_hat, d, r)
            if jr < R and rec[jr] == t:
                L, nr = _loss(u, s, delta, aa, r, r1)
                if not (math.isfinite(theta) and math.isfinite(L) and math.isfinite(nr)):
                    # Book.observe: flagged at t, put back to state t - 1, frozen there
                    div_i = t
                    c = 1 - c
                    uu_c = uu_p
                    frozen = True
                    break
                if hit_i < 0 and _is_hit(theta, nr, eps, sa_norm):
                    hit_i = t
                _record(jr, i, c, L, theta, nr, sa_norm, WS, AS, rec_loss, rec_theta, rec_ae,
                        rec_w, rec_a)
                jr += 1
            elif theta <= eps:
                # the eps test needs |r| only (the loss is for records)
                if hit_i < 0:
                    rr = 0.0
                    for q in range(k):
                        rr += r[q] * r[q]
                    if _is_hit(theta, math.sqrt(rr), eps, sa_norm):
                        hit_i = t
            elif not math.isfinite(theta):
                div_i = t
                c = 1 - c
                uu_c = uu_p
                frozen = True
                break
            n = 1 - c
            for q in range(nz):
                z[q], s0, s1, s2, s3 = normal(s0, s1, s2, s3)
            # formulas.grad_and_geometry from the geometry (same evaluation order)
            cu = u / two_pi
            sd = s * delta
            tang = -s * aa * (_PI - theta) / two_pi
            radial = 0.0
            half = nd2 / 2
            if batch > 0:
                _minibatch_grad(WS[c], AS[c], w_star, ast, z, nrec if noisy else 0, batch,
                                normalized, w_hat, g_w, g_a, relu)
            else:
                aMr = 0.0
                for j in range(k):
                    mr = (_PI - 1) * r[j] + r1
                    g_a[j] = cu * (mr + sd * ast[j])
                    if not normalized:      # a running sum only where it is used
                        aMr += AS[c, j] * mr
                if not normalized:
                    radial = (aMr + sd * aa) / two_pi
            uu = 0.0
            amax = -np.inf
            amin = np.inf
            anan = False
            if fused:
                # w - eta (g_w + sigma xi), the numpy engine's order: (sigma xi + g) eta;
                # the gradient of the population loss is formed in the same pass
                for q in range(p):
                    tv = d[q] + half * w_hat[q]
                    g = tang * tv if normalized else radial * w_hat[q] + tang * tv
                    xi, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                    x = WS[c, q] - (sw * xi + g) * eta
                    WS[n, q] = x
                    uu += x * x
                for q in range(k):
                    ep, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                    x = AS[c, q] - (sa * ep + g_a[q]) * eta
                    AS[n, q] = x
                    amax = max(amax, x)
                    amin = min(amin, x)
                    anan |= x != x
            else:
                if batch == 0:
                    for q in range(p):
                        tv = d[q] + half * w_hat[q]
                        g_w[q] = tang * tv if normalized else radial * w_hat[q] + tang * tv
                fw = 1.0
                fa = 1.0
                if noisy and ball:
                    nw = 0.0
                    for q in range(p):
                        nw += z[q] * z[q]
                    na = 0.0
                    for q in range(k):
                        na += z[p + q] * z[p + q]
                    fw = _ndtr(z[p + k]) ** (1.0 / p) / math.sqrt(nw)
                    fa = _ndtr(z[p + k + 1]) ** (1.0 / k) / math.sqrt(na)
                for q in range(p):
                    if noisy:
                        xi = z[q] * fw if ball else z[q]
                        x = WS[c, q] - (sw * xi + g_w[q]) * eta
                    else:
                        x = WS[c, q] - eta * g_w[q]
                    WS[n, q] = x
                    uu += x * x
                for q in range(k):
                    if noisy:
                        ep = z[p + q] * fa if ball else z[p + q]
                        x = AS[c, q] - (sa * ep + g_a[q]) * eta
                    else:
                        x = AS[c, q] - eta * g_a[q]
                    AS[n, q] = x
                    amax = max(amax, x)
                    amin = min(amin, x)
                    anan |= x != x
            un = math.sqrt(uu)
            if anan:                # NaN propagates, as numpy's max
                amax = np.nan
            if not _step_ok(un, amax, amin, lo, hi, bound):
                div_i = t + 1
                frozen = True
                break
            if normalized:
                # the retraction w / |w| (as a product with 1 / |w|), and |w|^2 of the result
                uu = _retract(WS, n, 1.0 / un)
            uu_p = uu_c
            uu_c = uu
            c = n
        if frozen:
            break
    if not frozen:
        t = T
    # Observe the final (or frozen) state at t and fill every record left with it: a frozen
    # chain stays where it is, as in the numpy engine.
    u, nd2, theta, delta, r1, aa = _geometry_call(WS, AS, c, uu_c, wst, ast, s, coeffs, w_hat,
                                                  d, r)
    L, nr = _loss(u, s, delta, aa, r, r1)
    if not frozen and not (math.isfinite(theta) and math.isfinite(L) and math.isfinite(nr)):
        div_i = t
        c = 1 - c
        uu_c = uu_p
        frozen = True
        u, nd2, theta, delta, r1, aa = _geometry_call(WS, AS, c, uu_c, wst, ast, s, coeffs, w_hat,
                                                 d, r)
        L, nr = _loss(u, s, delta, aa, r, r1)
    if not frozen and hit_i < 0 and _is_hit(theta, nr, eps, sa_norm):
        hit_i = t
    while jr < R:
        _record(jr, i, c, L, theta, nr, sa_norm, WS, AS, rec_loss, rec_theta, rec_ae, rec_w,
                rec_a)
        jr += 1
    for q in range(p):
        W[i, q] = WS[c, q]
    for q in range(k):
        A[i, q] = AS[c, q]
    hit[i] = hit_i
    div[i] = div_i
    st[i, 0], st[i, 1], st[i, 2], st[i, 3] = s0, s1, s2, s3


@njit(nogil=True, cache=True)
def _run(c0, c1, st, W, A, wst, w_star, ast, s, sa_norm, seg_start, seg_stop, seg_eta,
         seg_sw, seg_sa, normalized, ball, batch, eps, bound, lo, hi, rec, coeffs,
         rec_loss, rec_theta, rec_ae, rec_w, rec_a, hit, div):
    for i in range(c0, c1):
        _chain(i, st, W, A, wst, w_star, ast, s, sa_norm, seg_start, seg_stop, seg_eta,
               seg_sw, seg_sa, normalized, ball, batch, eps, bound, lo, hi, rec, coeffs,
               rec_loss, rec_theta, rec_ae, rec_w, rec_a, hit, div)


def run_chains(states, W0, A0, w_hat_star, w_star, a_star, s, sa_norm, segments, normalized,
               ball, batch, eps, bound, lo, hi, rec, record_states):
    """Run the chains whose SFC64 states are ``states`` ((M, 4) uint64,
    :func:`.sfc64.seed_states`; advanced in place) from (W0, A0) (each (M, p) / (M, k)).

    ``segments``: sequence of (start, stop, eta, sigma_w, sigma_a); ``batch``: mini-batch size
    or None; ``(lo, hi)``: the |w| bounds of the divergence test (bookkeeping.norm_bounds);
    ``rec``: the record steps.  Returns a dict of plain arrays: final ``w``, ``a``; records
    ``loss``, ``theta``, ``a_error`` (R, M) and with ``record_states`` ``w``/``a`` states
    (R, M, d) as ``hw``/``ha``; ``hit``, ``div`` (M,) int64 (-1: none).
    """
    M, p = W0.shape
    k = A0.shape[1]
    R = len(rec)
    if states.shape != (M, 4) or states.dtype != np.uint64 or not states.flags.c_contiguous:
        raise ValueError("states: expected a C-contiguous (chains, 4) uint64 array")
    W = np.array(W0, dtype=np.float64, order="C")
    A = np.array(A0, dtype=np.float64, order="C")
    seg = np.array([tuple(x) for x in segments], dtype=np.float64).reshape(-1, 5)
    out = {"loss": np.empty((R, M)), "theta": np.empty((R, M)), "a_error": np.empty((R, M)),
           "hw": np.empty((R if record_states else 0, M, p)),
           "ha": np.empty((R if record_states else 0, M, k)),
           "hit": np.empty(M, np.int64), "div": np.empty(M, np.int64)}
    _over_chains(_run, M, states, W, A, np.ascontiguousarray(w_hat_star, np.float64),
         np.ascontiguousarray(w_star, np.float64), np.ascontiguousarray(a_star, np.float64),
         float(s), float(sa_norm), seg[:, 0].astype(np.int64), seg[:, 1].astype(np.int64),
         np.ascontiguousarray(seg[:, 2]), np.ascontiguousarray(seg[:, 3]),
         np.ascontiguousarray(seg[:, 4]), bool(normalized), bool(ball), int(batch or 0),
         float(eps), float(bound), float(lo), float(hi), np.asarray(rec, np.int64), H_COEFFS,
         out["loss"], out["theta"], out["a_error"], out["hw"], out["ha"], out["hit"], out["div"])
    out["w"], out["a"] = W, A
    if not record_states:
        del out["hw"], out["ha"]
    return out


def _refresh_cache():
    # numba does not see edits of sfc64/bookkeeping/backends (kernel_cache's docstring)
    import sys
    from .. import backends
    from . import bookkeeping, kernel_cache, sfc64
    kernel_cache.refresh([sys.modules[__name__], sfc64], [bookkeeping, backends])


_refresh_cache()
