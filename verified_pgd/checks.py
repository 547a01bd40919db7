"""Check results and the table that `vpgd verify` / `vpgd check` print."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CheckResult:
    """One verification: what was checked, how, on how many points, and the verdict.

    ``max_error`` and ``tolerance`` are in the units the check states in ``detail``
    (relative error, |z-score|, observed order, ...).
    """

    check: str
    method: str
    points: int
    max_error: float
    tolerance: float
    passed: bool
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def format_table(rows) -> str:
    headers = ["check", "method", "points", "max error", "tolerance", "pass"]
    body = [[r.check, r.method, str(r.points), f"{r.max_error:.3g}", f"{r.tolerance:.3g}",
             "PASS" if r.passed else "FAIL"] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(b, widths)) for b in body]
    details = [f"  {r.check}: {r.detail}" for r in rows if r.detail]
    if details:
        out += ["", "details:"] + details
    return "\n".join(out)
