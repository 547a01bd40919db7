"""The implementation under test, and the faults that can be injected into it.

Every verification method takes an :class:`Implementation` (a record of callables) and
checks it against something computed independently of it.  A fault is a *wrapper*
around the real implementation (the core is never edited), so ``vpgd verify
--inject-fault NAME`` runs exactly the same checks on a deliberately wrong formula.
A method that still passes under a fault it is meant to catch is a defect.

Faults (the negative controls; which method must reject which is in docs/verification.md):

``grad-sign``      the gradient with the sign of one component flipped (the component of
                   largest magnitude, so that the flip is never invisible);
``kernel-pi``      the arc-cosine kernel with (pi - phi) replaced by pi: the derived
                   moment m11 from ``symbolic.moments`` (its own ``fault="kernel-pi"``),
                   and a loss assembled from those faulty moments;
``hessian-block``  the Hessian with its a-block (d^2L/da^2) multiplied by 2.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from .. import evaluate

FAULTS = {
    "grad-sign": "gradient with the sign of its largest component flipped",
    "kernel-pi": "kernel with (pi - theta) replaced by pi (moments and the loss built on them)",
    "hessian-block": "Hessian with the a-block d2L/da2 multiplied by 2",
}


@dataclass(frozen=True)
class Implementation:
    """What the checks verify.  Signatures follow :mod:`verified_pgd.evaluate`.

    ``moments()`` returns the derived Gaussian ReLU moments as mpmath callables,
    ``{"m1": f(nx), "m2": f(nx), "m11": f(nx, ny, phi)}``.
    """

    name: str
    loss: Callable
    grad: Callable
    loss_mp: Callable
    grad_mp: Callable
    hessian_mp: Callable
    moments: Callable


def _derived_moments(fault=None):
    from symbolic import moment_functions
    return moment_functions(backend="mpmath", fault=fault)


def reference() -> Implementation:
    """The implementation as shipped: the core evaluators and the symbolic moments."""
    return Implementation("clean", evaluate.loss, evaluate.grad, evaluate.loss_mp,
                          evaluate.grad_mp, evaluate.hessian_mp, _derived_moments)


def validate_fault(name):
    """``None`` or a known fault name; anything else is a user error naming the option."""
    if name is None or name in FAULTS:
        return name
    raise ValueError(f"--inject-fault: unknown fault {name!r}; valid names: "
                     + ", ".join(sorted(FAULTS)))


def implementation(fault=None) -> Implementation:
    """The reference implementation with ``fault`` (a name in :data:`FAULTS`) injected."""
    fault = validate_fault(fault)
    ref = reference()
    if fault is None:
        return ref
    if fault == "grad-sign":
        return replace(ref, name=fault, grad=_flip_sign(ref.grad), grad_mp=_flip_sign(ref.grad_mp))
    if fault == "hessian-block":
        return replace(ref, name=fault, hessian_mp=_double_a_block(ref.hessian_mp))
    if fault == "kernel-pi":
        moments = lambda: _derived_moments("kernel-pi")  # noqa: E731
        loss_mp = moment_loss_mp(moments)
        return replace(ref, name=fault, moments=moments, loss_mp=loss_mp,
                       loss=lambda prob, w, a: float(loss_mp(prob, w, a, dps=30)))
    raise AssertionError(fault)  # pragma: no cover  (validate_fault covers FAULTS)


# --------------------------------------------------------------------------- wrappers

def _flip_sign(grad_fn):
    """Flip the sign of the largest-magnitude component of the concatenated (g_w, g_a)."""
    def faulty(prob, w, a, *args, **kwargs):
        g_w, g_a = grad_fn(prob, w, a, *args, **kwargs)
        g_w, g_a = np.array(g_w), np.array(g_a)  # copies; object arrays stay object
        p = g_w.shape[-1]
        flat = np.concatenate([np.abs(g_w.astype(float)), np.abs(g_a.astype(float))], axis=-1)
        i = int(np.argmax(flat.reshape(-1, flat.shape[-1])[0]))  # same index for a batch
        if i < p:
            g_w[..., i] = -g_w[..., i]
        else:
            g_a[..., i - p] = -g_a[..., i - p]
        return g_w, g_a
    return faulty


def _double_a_block(hess_fn):
    def faulty(prob, w, a, *args, **kwargs):
        H = np.array(hess_fn(prob, w, a, *args, **kwargs))
        p = prob.p
        H[..., p:, p:] = H[..., p:, p:] * 2
        return H
    return faulty


def moment_loss_mp(moments):
    """L = 1/2 E(f - f*)^2 assembled from the moments (patches are independent).

    E f f* = (a.a*) m11(u, s, theta) + ((1.a)(1.a*) - a.a*) m1(u) m1(s), and E f^2 the
    same with m2(u) on the diagonal.  With the true moments this equals the closed form
    L (tests check that, so the kernel-pi fault changes nothing but the kernel).
    """
    def loss_mp(prob, w, a, dps=50):
        import mpmath
        from .._validate import check_dps
        from ..backends import MPMath, teacher
        dps = check_dps(dps)
        m = moments()
        with mpmath.workdps(dps + 10):
            w = [mpmath.mpf(x) for x in w]
            a = [mpmath.mpf(x) for x in a]
            T = teacher(MPMath(), prob)
            As, s, s1, s2 = list(T.a_star), T.s, T.S, T.A
            u = mpmath.sqrt(mpmath.fsum(x * x for x in w))
            d = mpmath.sqrt(mpmath.fsum((x / u - y) ** 2 for x, y in zip(w, T.w_hat_star)))
            e = mpmath.sqrt(mpmath.fsum((x / u + y) ** 2 for x, y in zip(w, T.w_hat_star)))
            theta = 2 * mpmath.atan2(d, e)
            aa = mpmath.fsum(x * y for x, y in zip(a, As))
            a1 = mpmath.fsum(a)
            a2 = mpmath.fsum(x * x for x in a)

            Eff = a2 * m["m2"](u) + (a1 * a1 - a2) * m["m1"](u) ** 2
            Efs = aa * m["m11"](u, s, theta) + (a1 * s1 - aa) * m["m1"](u) * m["m1"](s)
            Ess = s2 * m["m2"](s) + (s1 * s1 - s2) * m["m1"](s) ** 2
            with mpmath.workdps(dps):
                return +((Eff - 2 * Efs + Ess) / 2)
    return loss_mp

