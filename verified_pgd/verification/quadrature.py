"""Method (a): the Gaussian ReLU moments by numerical quadrature vs the derived moments.

For z ~ N(0, I_p) only the projection of z on the plane of x and y matters, and that
projection is a standard 2-D Gaussian.  Put x = |x| (1, 0), y = |y| (cos phi, sin phi)
and z = r (cos t, sin t) (density exp(-r^2/2) r / (2 pi)); relu is positively
homogeneous, so

    E relu(x.z) relu(y.z) = |x||y| / (2 pi) * int_0^inf r^3 e^{-r^2/2} dr
                                           * int_{-pi}^{pi} relu(cos t) relu(cos(t - phi)) dt

and likewise for E relu(x.z) (r^2, relu(cos t)) and E relu(x.z)^2 (r^3, relu(cos t)^2).
Both factors are computed by ``mpmath.quad`` (tanh-sinh) with the kinks of the
integrand, t = +-pi/2 and t = phi +- pi/2, as subinterval points, so every piece is
smooth.  Nothing of the closed form enters.  The default run also integrates the
kernel once as a genuine 2-D ``mpmath.quad`` over (r, t) without the factorization.

Accuracy.  ``mpmath.quad`` stops at an *absolute* error near the working precision.
Near phi = pi the kernel integral is ~ (pi - phi)^3 / 3 (support of length pi - phi,
integrand ~ (pi - phi)^2), so the working precision is raised by 3 log10(1/(pi - phi))
digits there.  The derived moments are evaluated at ``REF_DPS`` digits so that their
own cancellation (g(phi) = sin phi + (pi - phi) cos phi ~ (pi - phi)^3 / 3 near pi)
costs nothing at the tolerance.  Agreement is measured as relative error.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np

from ..checks import CheckResult

QUAD_DPS = 40     # >= 30 digits required; 40 leaves 15 digits of margin over TOL
REF_DPS = 80
TOL = 1e-25
SEED = 20250101


def _relu(x):
    return x if x > 0 else mpmath.mpf(0)


def _kinks(*centers):
    """Subinterval points on [-pi, pi]: -pi, pi and c +- pi/2 (wrapped) for each c."""
    pi = mpmath.pi
    pts = {-pi, pi}
    for c in centers:
        for q in (c - pi / 2, c + pi / 2):
            q = q - 2 * pi if q > pi else (q + 2 * pi if q < -pi else q)
            pts.add(q)
    return sorted(pts)


def _radial(n):
    return mpmath.quad(lambda r: r ** n * mpmath.exp(-r * r / 2), [0, mpmath.inf])


def quad_m1(nx):
    """E relu(x.z), |x| = nx."""
    ang = mpmath.quad(lambda t: _relu(mpmath.cos(t)), _kinks(0))
    return nx * _radial(2) * ang / (2 * mpmath.pi)


def quad_m2(nx):
    """E relu(x.z)^2, |x| = nx."""
    ang = mpmath.quad(lambda t: _relu(mpmath.cos(t)) ** 2, _kinks(0))
    return nx * nx * _radial(3) * ang / (2 * mpmath.pi)


def quad_m11(nx, ny, phi):
    """E relu(x.z) relu(y.z), |x| = nx, |y| = ny, angle(x, y) = phi (factorized polar)."""
    ang = mpmath.quad(lambda t: _relu(mpmath.cos(t)) * _relu(mpmath.cos(t - phi)), _kinks(0, phi))
    return nx * ny * _radial(3) * ang / (2 * mpmath.pi)


def quad_m11_2d(nx, ny, phi):
    """The same as :func:`quad_m11`, as one 2-D quadrature over (r, t) (slower)."""
    def f(r, t):
        return (_relu(nx * r * mpmath.cos(t)) * _relu(ny * r * mpmath.cos(t - phi))
                * mpmath.exp(-r * r / 2) * r / (2 * mpmath.pi))
    return mpmath.quad(f, [0, mpmath.inf], _kinks(0, phi))


def _extra_digits(phi):
    gap = float(mpmath.pi - phi)
    return 3 * max(0, math.ceil(-math.log10(gap))) if gap < 1 else 0


def _rel(q, ref):
    return float(abs(q - ref) / abs(ref))


def _angles(rng, n_generic):
    """Random angles: generic in (0, pi), and within 1e-8 of 0 and of pi (as exact mpf)."""
    with mpmath.workdps(REF_DPS):
        pi = +mpmath.pi
        out = [mpmath.mpf(float(x)) * pi for x in rng.uniform(0.02, 0.98, n_generic)]
        out += [mpmath.mpf(float(x)) * mpmath.mpf("1e-8") for x in rng.uniform(0.05, 1.0, 2)]
        out += [pi - mpmath.mpf(float(x)) * mpmath.mpf("1e-8") for x in rng.uniform(0.05, 1.0, 2)]
    return out


def check(impl, quick: bool = False) -> list[CheckResult]:
    """Quadrature of m1, m2 and m11 vs ``impl.moments()``; relative error <= 1e-25."""
    moments = impl.moments()
    rng = np.random.default_rng(SEED)
    norms = [mpmath.mpf(float(x)) for x in 10.0 ** rng.uniform(-1, 1, 2 if quick else 4)]
    angles = _angles(rng, 2 if quick else 6)
    rows = []

    def compare(name, cases, quad_fn, ref_fn, label, detail=""):
        errs = []
        for args, extra in cases:
            with mpmath.workdps(QUAD_DPS + extra):
                q = quad_fn(*args)
            with mpmath.workdps(REF_DPS):
                errs.append(_rel(q, ref_fn(*args)))
        worst = max(errs)
        rows.append(CheckResult(name, label, len(errs), worst, TOL, bool(worst <= TOL),
                                f"relative error at {QUAD_DPS}+ digits{detail}"))

    compare("moment E relu(x.z)", [((n,), 0) for n in norms], quad_m1,
            moments["m1"], "quadrature")
    compare("moment E relu(x.z)^2", [((n,), 0) for n in norms], quad_m2,
            moments["m2"], "quadrature")
    pairs = [(norms[i % len(norms)], norms[(i + 1) % len(norms)]) for i in range(len(angles))]
    cases = [((nx, ny, phi), _extra_digits(phi)) for (nx, ny), phi in zip(pairs, angles)]
    phis = ", ".join(mpmath.nstr(phi, 3) if phi > 1e-6 and mpmath.pi - phi > 1e-6 else
                     ("0+" if phi < 1 else "pi-") + mpmath.nstr(min(phi, mpmath.pi - phi), 2)
                     for phi in angles)
    compare("moment E relu(x.z)relu(y.z)", cases, quad_m11, moments["m11"], "quadrature",
            f"; angles {phis}")
    if not quick:
        compare("kernel, 2-D quadrature", cases[:1], quad_m11_2d, moments["m11"],
                "quadrature 2-D", " (one generic angle, no factorization)")
    return rows
