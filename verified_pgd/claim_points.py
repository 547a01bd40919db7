"""Claims checked one grid point at a time.

``vpgd claims`` and :func:`verified_pgd.claims.check_claim` evaluate a claim on its whole
grid.  The pytest plugin needs one test item per grid point (so ``-k`` selects a point
and each has its own outcome), and the progress bar and the JUnit report of
``vpgd claims`` need the points one by one.  A point is checked by restricting the
claim's grid to that single point and calling the public ``check_claim``, so the verdict
is exactly the one ``check_claim`` gives on the full grid (every point of a claim uses
the claim's own seed; ``tests/test_ci_integration.py`` compares the two).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["ClaimPoint", "claim_points", "check_point", "fmt", "describe"]


@dataclass(frozen=True)
class ClaimPoint:
    """One grid point of a claim: ``point`` holds the claim's params and the grid values
    of this point; ``label`` names the grid values only (``"k=2, s=0.5"``; ``""`` for a
    claim without a grid)."""

    claim: object
    point: dict
    label: str


def fmt(x) -> str:
    """A number as the reports print it (6 significant digits; ``-`` for None)."""
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def claim_points(claims) -> list:
    """The :class:`ClaimPoint` of every claim in ``claims``, in file and grid order."""
    out = []
    for claim in claims:
        for point in claim.points():
            label = ", ".join(f"{k}={fmt(point[k])}" for k in claim.grid)
            out.append(ClaimPoint(claim, point, label))
    return out


def check_point(cp: ClaimPoint):
    """The :class:`verified_pgd.claims.PointResult` of one grid point."""
    from .claims import check_claim
    single = dataclasses.replace(cp.claim, grid={k: [cp.point[k]] for k in cp.claim.grid})
    results = check_claim(single)
    if len(results) != 1:      # a grid of single values has exactly one point
        raise RuntimeError(f"claim {cp.claim.name!r}: expected one result, got {len(results)}")
    return results[0]


def describe(r) -> str:
    """The numbers behind a verdict, on one line: the measured value (enclosure or
    Clopper-Pearson interval), the bound, and the limit of the fitted constant."""
    lim = "-" if r.limit is None else (
        f"{r.fit} {'>=' if r.limit_kind == 'min' else '<='} {fmt(r.limit)}")
    return (f"{r.verdict}: {r.quantity} {r.relation} {fmt(r.bound)}; value in "
            f"[{fmt(r.value[0])}, {fmt(r.value[1])}] ({r.method}, confidence "
            f"{r.confidence:g}); consistent constant: {lim}; {r.note}")
