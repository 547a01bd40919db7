"""The closed forms of the landscape, written once against a backend ``B`` (float64,
mpmath, arb) and a teacher ``T`` = :func:`verified_pgd.backends.teacher` ``(B, problem)``.

This is the one place that states g_s, alpha, a(theta), g, Delta, the reduced loss, the
barrier, the critical losses, the Hessian spectrum at the optimum, the chart Hessian
entries and the bounds K and L_R (derivations: docs/landscape.md; docs/design.md section 3).
:mod:`.landscape` and :mod:`.constants` wrap them with validation and precision,
``claims`` and the prover (``proofs_check.ball_certs``) evaluate them in arb.  The
independent checker (``proofs_check/checker.py``) and ``symbolic`` restate them on purpose.

Every function is pure: scalars in, scalars out, under the caller's working precision
(``B.workdps`` / ``B.workprec``).  ``min``/``max`` of arb balls is the caller's business
(a ball comparison is three-valued), so the functions here never compare numbers.
"""
from __future__ import annotations

import numpy as np


def existence_margin(B, T):
    """``(k + pi - 1)|a*|^2 - pi (1.a*)^2``: > 0 iff the spurious minimum exists."""
    return (T.k + T.pi - 1) * T.A - T.pi * T.S * T.S


def alpha(B, T):
    """``alpha = a*^T M^-1 a* = ((k + pi - 1)|a*|^2 - (1.a*)^2) / ((pi - 1)(k + pi - 1))``."""
    pi, k = T.pi, T.k
    return ((k + pi - 1) * T.A - T.S * T.S) / ((pi - 1) * (k + pi - 1))


def g_s_denominator(B, T):
    return (T.k + T.pi - 1) * T.A - T.S * T.S


def g_s(B, T):
    """``g_s = 1 - (pi - 1)(1.a*)^2 / ((k + pi - 1)|a*|^2 - (1.a*)^2)`` (g at the saddle)."""
    return 1 - (T.pi - 1) * T.S * T.S / g_s_denominator(B, T)


def g(B, theta, T):
    """``g(theta) = h(pi - theta)``, ``h(x) = sin x - x cos x`` (backend's cancellation-free h)."""
    return B.h(T.pi - theta)


def minv(B, T, x):
    """``M^-1 x = (x - (1.x)/(k + pi - 1) 1) / (pi - 1)`` for x of shape (..., k)."""
    tot = np.asarray(x.sum(axis=-1) / (T.k + T.pi - 1), dtype=x.dtype)
    return (x - tot[..., None]) / (T.pi - 1)


def a_of_g(B, T, g_value):
    """``a(theta) = argmin_a L = s M^-1((g - 1) a* + (1.a*) 1)`` as a function of g(theta);
    batched over the leading axes of ``g_value``; shape (..., k)."""
    gv = np.asarray(g_value, dtype=B.dtype)[..., None]
    b = (gv - 1) * T.a_star + T.S
    return T.s * minv(B, T, b)


def delta(B, T, theta):
    """``Delta(theta) = pi - g(theta) = 2 pi sin^2(theta/2) - h(theta)`` (cancellation-free)."""
    return 2 * T.pi * B.sin(theta / 2) ** 2 - B.h(theta)


def reduced_loss(B, T, theta):
    """``l(theta) = (s^2 alpha / 4 pi) Delta(theta) (pi + g(theta) - 2 g_s)``."""
    return (T.s * T.s * alpha(B, T) / (4 * T.pi) * delta(B, T, theta)
            * (T.pi + g(B, theta, T) - 2 * g_s(B, T)))


def barrier(B, T):
    """``Delta L = l(theta_s) - l(pi) = |w*|^2 alpha g_s^2 / (4 pi)``."""
    gs = g_s(B, T)
    return T.s2 * alpha(B, T) * gs * gs / (4 * T.pi)


def saddle_loss(B, T):
    """``L(saddle) = |w*|^2 alpha (pi - g_s)^2 / (4 pi)``."""
    return T.s2 * alpha(B, T) * (T.pi - g_s(B, T)) ** 2 / (4 * T.pi)


def spurious_loss(B, T):
    """``L(spurious) = l(pi) = |w*|^2 alpha (pi - 2 g_s) / 4``."""
    return T.s2 * alpha(B, T) * (T.pi - 2 * g_s(B, T)) / 4


def m_spectrum(B, T):
    """Eigenvalues of the a-block ``M / (2 pi)``, ``M = (pi - 1) I + 1 1^T``, as
    ``[(value, multiplicity), ...]``: ``(k + pi - 1)/(2 pi)`` x1 (eigenvector 1) and
    ``(pi - 1)/(2 pi)`` x(k - 1) (left out for k = 1)."""
    out = [((T.k + T.pi - 1) / (2 * T.pi), 1)]
    if T.k >= 2:
        out.append(((T.pi - 1) / (2 * T.pi), T.k - 1))
    return out


def m_min(B, T):
    """``lambda_min(M / (2 pi))``: ``(pi - 1)/(2 pi)`` for k >= 2, ``pi/(2 pi)`` for k = 1."""
    return m_spectrum(B, T)[-1][0]


def m_floor(B, T):
    """``(pi - 1)/(2 pi) <= lambda_min(M / (2 pi))`` for every k (the k-free lower bound)."""
    return (T.pi - 1) / (2 * T.pi)


def spectrum(B, T):
    """The Hessian spectrum at the global minimum, as ``[(value, multiplicity), ...]``:
    ``(k + pi - 1)/(2 pi)`` x1, ``(pi - 1)/(2 pi)`` x(k - 1), ``|w*|^2 |a*|^2 / 2`` x(p - 1)
    (entries of multiplicity 0 left out; unsorted)."""
    out = m_spectrum(B, T)
    if T.p >= 2:
        out.append((T.s2 * T.A / 2, T.p - 1))
    return out


def orthogonal_direction(B, T, i):
    """``v = (e_i - w_hat*_i w_hat*) / |e_i - w_hat*_i w_hat*|``, a unit vector orthogonal to
    w_hat* (Gram-Schmidt of the axis e_i; the caller picks i with |w_hat*_i| < 1)."""
    wh = T.w_hat_star
    v = -wh[i] * wh
    v[i] = v[i] + 1
    return v / B.sqrt((v * v).sum())


def saddle_filter(B, T, theta, v):
    """``w_s = cos(theta) w_hat* + sin(theta) v``: the saddle's filter for theta = theta_s and
    a unit v orthogonal to w_hat* (the saddle set is the (p-2)-sphere of such v)."""
    return B.cos(theta) * T.w_hat_star + B.sin(theta) * v


def chart(B, T, theta, aa):
    """Entries of the chart Hessian at angle ``theta`` with ``aa = a.a*``:
    ``(h_tt, beta, lam_perp)`` with ``H_red = [[h_tt, beta a*^T], [beta a*, M/(2 pi)]]``,
    ``h_tt = -(s/2pi) g''(theta) aa``, ``beta = (s/2pi)(pi - theta) sin theta``,
    ``lam_perp = (s/2pi)(pi - theta) cos theta aa`` (g'' = sin theta - (pi - theta) cos theta)."""
    pi, s = T.pi, T.s
    sin, cos = B.sin(theta), B.cos(theta)
    g2 = sin - (pi - theta) * cos
    return (-s / (2 * pi) * g2 * aa, s / (2 * pi) * (pi - theta) * sin,
            s / (2 * pi) * (pi - theta) * cos * aa)


def chart_beta(B, T, theta):
    """``beta = (s/2pi)(pi - theta) sin theta``, the theta-a coupling of :func:`chart`."""
    return T.s / (2 * T.pi) * (T.pi - theta) * B.sin(theta)


def c0(B, T):
    """``pi^2 / 4 >= (pi - theta) sin theta`` on [0, pi] (the elementary bound)."""
    return T.pi ** 2 / 4


def hessian_lipschitz(B, T):
    """``K = (s/2pi)(2 pi |a*| + (2 + pi^2/4) s |a*|^2)``."""
    na = B.sqrt(T.A)
    return T.s / (2 * T.pi) * (2 * T.pi * na + (2 + c0(B, T)) * T.s * T.A)


def smoothness_terms(B, T, R):
    """``(s R |a*| / 2, (k + pi - 1)/(2 pi), s pi |a*| / 8)``: L_R = max(first, second) + third."""
    na = B.sqrt(T.A)
    return T.s * R * na / 2, (T.k + T.pi - 1) / (2 * T.pi), T.s / (2 * T.pi) * c0(B, T) * na
