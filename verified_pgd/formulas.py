"""The population loss, its gradient and Hessian — written once, for every number system.

Notation (docs/design.md, docs/theory.md): ``u = |w|``, ``w_hat = w/u``, ``theta`` the angle
between w and w*, ``s = |w*|``, ``M = (pi - 1) I + 1 1^T`` and

    r     = u a - s a*                      (residual of the effective output weights)
    d     = w_hat* - w_hat,   e = w_hat* + w_hat
    theta = 2 atan2(|d|, |e|)               (no arccos: full accuracy near 0 and pi)
    Delta = pi - g(theta) = (pi/2)|d|^2 - h(theta),   h = sin - theta cos
    t     = w_hat* - cos(theta) w_hat = d + (|d|^2/2) w_hat   (tangent towards w_hat*)

    L     = [(pi-1)|r|^2 + (1.r)^2 + 2 u s Delta (a.a*)] / (4 pi)                 (L2)
    dL/da = u [M r + s Delta a*] / (2 pi)
    dL/dw = [(a^T M r + s Delta a.a*) w_hat - s (a.a*)(pi - theta) t] / (2 pi)
    Riemannian (sphere): -(s/2pi)(a.a*)(pi - theta) t

Every quantity that vanishes at the optimum is built from r, d or Delta directly, so
nothing is a difference of two large numbers (see docs/theory.md, "Evaluation").
``loss_l1`` keeps the textbook form L1 with arccos, only to demonstrate why L2 exists.

Functions take a backend ``B`` (verified_pgd.backends), the teacher as arrays
(``w_hat_star``, ``a_star``, scalar ``s``) and arrays ``w`` (..., p), ``a`` (..., k).
Leading axes broadcast.  No validation here: the public wrappers validate.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


def _col(B, x):
    return B.asarray(x)[..., None]


class Geometry(NamedTuple):
    u: object        # |w|
    w_hat: object    # w / |w|
    d: object        # w_hat* - w_hat
    nd2: object      # |d|^2 = 2 - 2 cos(theta)
    theta: object
    delta: object    # pi - g(theta)
    t: object        # w_hat* - cos(theta) w_hat  (|t| = sin(theta))


def geometry(B, w_hat_star, w) -> Geometry:
    u = B.sqrt(B.dot(w, w))
    w_hat = w / _col(B, u)
    d = w_hat_star - w_hat
    e = w_hat_star + w_hat
    nd2 = B.dot(d, d)
    theta = 2 * B.atan2(B.sqrt(nd2), B.sqrt(B.dot(e, e)))
    delta = (B.pi / 2) * nd2 - B.h(theta)
    t = d + _col(B, nd2 / 2) * w_hat
    return Geometry(u, w_hat, d, nd2, theta, delta, t)


def theta_of(B, w_hat_star, w):
    """The angle between w and w*, computed as 2 atan2(|w_hat - w_hat*|, |w_hat + w_hat*|)."""
    return geometry(B, w_hat_star, w).theta


def loss(B, w_hat_star, a_star, s, w, a):
    G = geometry(B, w_hat_star, w)
    return loss_l2(B, a_star, s, G.u, G.delta, a)


def loss_l2(B, a_star, s, u, delta, a):
    """L2 from the geometry's ``u = |w|`` and ``delta = pi - g(theta)`` (the part of
    :func:`loss` after :func:`geometry`).  Also the prover's entry at w = -w_hat*, where
    the geometry would take the square root of a ball around |w_hat + w_hat*|^2 = 0 but
    Delta = pi is known exactly."""
    r = _col(B, u) * a - s * a_star
    r1 = r.sum(axis=-1)
    pi = B.pi
    return ((pi - 1) * B.dot(r, r) + r1 * r1 + 2 * u * s * delta * B.dot(a, a_star)) / (4 * pi)


def grad(B, w_hat_star, a_star, s, w, a, riemannian=False):
    """(dL/dw, dL/da); with ``riemannian`` the w-part is projected on the tangent space."""
    g_w, g_a, _, _ = grad_and_geometry(B, w_hat_star, a_star, s, w, a, riemannian)
    return g_w, g_a


def grad_and_geometry(B, w_hat_star, a_star, s, w, a, riemannian=False):
    """``(g_w, g_a, G, r)``: the gradient plus the Geometry and residual r = u a - s a*.

    The solvers need theta and |r| at every step (eps-success test); returning them
    from the same evaluation avoids computing the geometry twice.
    """
    G = geometry(B, w_hat_star, w)
    pi = B.pi
    r = _col(B, G.u) * a - s * a_star
    r1 = r.sum(axis=-1)
    Mr = (pi - 1) * r + _col(B, r1)
    aa = B.dot(a, a_star)
    g_a = _col(B, G.u / (2 * pi)) * (Mr + _col(B, s * G.delta) * a_star)
    tangential = _col(B, -s * aa * (pi - G.theta) / (2 * pi)) * G.t
    if riemannian:
        return tangential, g_a, G, r
    radial = (B.dot(a, Mr) + s * G.delta * aa) / (2 * pi)
    return _col(B, radial) * G.w_hat + tangential, g_a, G, r


def _outer(x, y):
    return x[..., :, None] * y[..., None, :]


def hessian(B, w_hat_star, a_star, s, w, a, riemannian=False):
    """Hessian in the coordinates (w, a), shape (..., p + k, p + k).

    With ``riemannian`` the w-block is the Riemannian Hessian on the sphere of radius
    |w| through w (projected with P = I - w_hat w_hat^T plus the curvature term
    -(w_hat . dL/dw)/|w| P), and the cross block is projected on the tangent space.
    The normal direction (w_hat, 0) is then an eigenvector with eigenvalue 0.
    """
    G = geometry(B, w_hat_star, w)
    pi = B.pi
    p = w.shape[-1]
    k = a.shape[-1]
    u = G.u
    r = _col(B, u) * a - s * a_star
    r1 = r.sum(axis=-1)
    Mr = (pi - 1) * r + _col(B, r1)
    a1 = a.sum(axis=-1)
    Ma = (pi - 1) * a + _col(B, a1)
    aa = B.dot(a, a_star)
    one_astar = a_star.sum(axis=-1)
    c = B.dot(a, Ma)  # a^T M a
    Ik = B.eye(k)
    Mk = (pi - 1) * Ik + 1
    Ip = B.eye(p)
    P = Ip - _outer(G.w_hat, G.w_hat)

    bshape = np.broadcast_shapes(np.shape(u), np.shape(aa))
    H_aa = B.asarray(_col(B, _col(B, u * u / (2 * pi))) * Mk)
    norm_t = B.sqrt(B.dot(G.t, G.t))
    ttn = B.outer_over_norm(_outer(G.t, G.t), norm_t)
    coef_P = (s * aa * (B.sin(G.theta) - 1) + s * a1 * one_astar) / u
    H_ww = (_col(B, _col(B, c)) * Ip
            - _col(B, _col(B, s * aa / u)) * ttn
            - _col(B, _col(B, coef_P)) * P) / (2 * pi)
    cross_t = -s * _col(B, _col(B, (pi - G.theta) / (2 * pi))) * _outer(
        np.broadcast_to(a_star, bshape + (k,)), G.t)
    if riemannian:
        radial = (B.dot(a, Mr) + s * G.delta * aa) / (2 * pi)  # w_hat . dL/dw
        H_ww = _matmul(_matmul(P, H_ww), P) - _col(B, _col(B, radial / u)) * P
        H_aw = cross_t
    else:
        H_aw = _outer(_col(B, u) * Ma + Mr + _col(B, s * G.delta) * a_star, G.w_hat) / (2 * pi) + cross_t
    H_ww = np.broadcast_to(H_ww, bshape + (p, p))
    H_aw = np.broadcast_to(H_aw, bshape + (k, p))
    H_aa = np.broadcast_to(H_aa, bshape + (k, k))
    top = np.concatenate([H_ww, np.swapaxes(H_aw, -1, -2)], axis=-1)
    bottom = np.concatenate([H_aw, H_aa], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def _matmul(x, y):
    # Row-wise products (no BLAS) so object arrays work and float64 results do not
    # depend on the batch shape.
    return (x[..., :, :, None] * y[..., None, :, :]).sum(axis=-2)


def loss_l1(B, w_hat_star, a_star, s, w, a):
    """The textbook form L1 with theta = arccos(w_hat . w_hat*): cancels near the optimum.

    Kept only as the negative example that motivates L2 (tests show it fails there).
    Float64 only.
    """
    u = np.sqrt(B.dot(w, w))
    w_hat = w / u[..., None]
    cos_t = np.clip(B.dot(w_hat, w_hat_star), -1.0, 1.0)
    theta = np.arccos(cos_t)
    g = np.sin(theta) + (np.pi - theta) * np.cos(theta)
    pi = np.pi
    k = a.shape[-1]
    aMa = (pi - 1) * B.dot(a, a) + a.sum(axis=-1) ** 2
    sMs = (pi - 1) * B.dot(a_star, a_star) + a_star.sum(axis=-1) ** 2
    cross = (g - 1) * B.dot(a, a_star) + a.sum(axis=-1) * a_star.sum(axis=-1)
    del k
    return (u * u * aMa - 2 * u * s * cross + s * s * sMs) / (4 * pi)
