"""Gaussian ReLU moments, derived from their defining integrals (docs/design.md K1).

For z ~ N(0, I_p) and non-zero x, y in R^p with angle phi = angle(x, y) in [0, pi]:

    m1(nx)           = E relu(x.z)
    m2(nx)           = E relu(x.z)^2
    m11(nx, ny, phi) = E relu(x.z) relu(y.z)

where nx = |x|, ny = |y|.  The derivation (docs/theory.md, "Gaussian ReLU moments"):

1. Rotate so that x = nx e1 and y = ny (cos phi e1 + sin phi e2).  The integrands depend
   on z only through (z1, z2), and the standard Gaussian density factorises, so the other
   p - 2 coordinates integrate to 1.
2. Polar coordinates z1 = r cos t, z2 = r sin t: density e^{-r^2/2} / (2 pi) r dr dt,
   x.z = nx r cos t and y.z = ny r cos(t - phi).
3. relu(x.z) > 0 on the half-plane t in (-pi/2, pi/2), relu(y.z) > 0 on
   t in (phi - pi/2, phi + pi/2).  Their overlap is the interval
   (max(-pi/2, phi - pi/2), min(pi/2, phi + pi/2)), which sympy reduces to
   (phi - pi/2, pi/2) from the symbol assumption phi >= 0 (phi <= pi keeps it non-empty).
4. The integral splits into a radial integral (r^2 e^{-r^2/2} for one factor, r^3
   e^{-r^2/2} for two) times an angular integral over the overlap; sympy evaluates both.

Nothing of the result is typed in here: tests/test_symbolic.py compares the output with
the docs/design.md formulas as an independent second statement.
"""
from __future__ import annotations

import sympy as sp

nx = sp.Symbol("nx", positive=True)
ny = sp.Symbol("ny", positive=True)
phi = sp.Symbol("phi", nonnegative=True)

# Integration variables: radius and polar angle in the plane of x and y.
_r = sp.Symbol("r", nonnegative=True)
_t = sp.Symbol("t", real=True)

FAULTS = (None, "kernel-pi")


def _overlap(lo1, hi1, lo2, hi2):
    """Intersection of two angular intervals (lo, hi), reduced by sympy.

    With phi >= 0 (a symbol assumption) Max/Min reduce on their own; phi <= pi is what
    keeps the result non-empty and is the domain of the angle.
    """
    lo, hi = sp.Max(lo1, lo2), sp.Min(hi1, hi2)
    if lo.has(sp.Max) or hi.has(sp.Min):
        raise RuntimeError("could not reduce the half-plane overlap")
    return lo, hi


def _plane_integral(radial_power, angular, t_lo, t_hi):
    """(1/2pi) int_0^oo r^radial_power e^{-r^2/2} dr * int_{t_lo}^{t_hi} angular dt."""
    radial = sp.integrate(_r ** radial_power * sp.exp(-_r ** 2 / 2), (_r, 0, sp.oo))
    ang = sp.integrate(angular, (_t, t_lo, t_hi))
    return radial * ang / (2 * sp.pi)


def _half_plane(direction_angle):
    """Angular interval where cos(t - direction_angle) > 0."""
    return direction_angle - sp.pi / 2, direction_angle + sp.pi / 2


def derive_m1():
    lo, hi = _half_plane(0)
    # x.z = nx r cos t: one power of r from x.z, one from the area element.
    return sp.simplify(_plane_integral(2, nx * sp.cos(_t), lo, hi))


def derive_m2():
    lo, hi = _half_plane(0)
    return sp.simplify(_plane_integral(3, (nx * sp.cos(_t)) ** 2, lo, hi))


def derive_m11():
    lo, hi = _overlap(*_half_plane(0), *_half_plane(phi))
    integrand = nx * sp.cos(_t) * ny * sp.cos(_t - phi)
    return sp.simplify(_plane_integral(3, integrand, lo, hi))


_DERIVED = None


def derived_moments():
    """The three moments as sympy expressions in the module symbols ``nx, ny, phi``.

    ``{"m1": E relu(x.z), "m2": E relu(x.z)^2, "m11": E relu(x.z) relu(y.z)}``.
    Derived once per process (a second or two) and memoised.
    """
    global _DERIVED
    if _DERIVED is None:
        from .counters import count_derivation
        count_derivation("moments")
        _DERIVED = {"m1": derive_m1(), "m2": derive_m2(), "m11": derive_m11()}
    return dict(_DERIVED)


def kernel_pi_fault(m11):
    """The negative control: m11 with (pi - phi) replaced by pi in its cos(phi) coefficient.

    m11 is linear in cos(phi) and sin(phi); the coefficient of cos(phi) is the one that
    carries the overlap length (pi - phi).  Setting phi = 0 in that coefficient only is
    exactly the substitution (pi - phi) -> pi.
    """
    e = sp.expand(m11)
    c = sp.cos(phi)
    coeff = e.coeff(c)
    return sp.simplify(e - coeff * c + coeff.subs(phi, 0) * c)


def moments(fault=None):
    """Derived moments, optionally with an injected fault (see ``FAULTS``)."""
    if fault not in FAULTS:
        raise ValueError(f"fault: unknown fault {fault!r}; expected one of {FAULTS}")
    m = derived_moments()
    if fault == "kernel-pi":
        m["m11"] = kernel_pi_fault(m["m11"])
    return m
