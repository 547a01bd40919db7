"""JUnit XML reports of ``vpgd verify``, ``vpgd check`` and ``vpgd claims``.

The layout is the one CI systems read (Jenkins' junit-10 schema, which GitLab, GitHub
test-report actions and pytest's own ``--junitxml`` follow)::

    <testsuites name=.. tests=.. failures=.. errors=.. time=..>
      <testsuite name=.. tests=.. failures=.. errors=.. skipped=.. time=.. timestamp=..>
        <testcase classname=.. name=.. [time=..]>
          [<failure type=.. message=..>numbers</failure> | <skipped message=../> |
           <error type=.. message=..>..</error>]
        </testcase> ...

One testcase per check (verify), certificate (check) or claim grid point (claims).  A
testcase's ``time`` is written only where it was measured (a certificate's re-check, a
claim point); the suite's ``time`` is the command's wall time.  Failures carry the
numbers: the error and its tolerance, or the claim's value, bound and consistent
constant.  Written with :mod:`xml.etree.ElementTree` (which escapes the text) through a
temporary file and an atomic rename (verified_pgd.store.atomic_write), so a reader never sees half a file.
"""
from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Case", "OUTCOMES", "check_cases", "claim_cases", "build", "write",
           "validate_path"]

OUTCOMES = ("passed", "failure", "error", "skipped")


@dataclass(frozen=True)
class Case:
    """One testcase: ``outcome`` is one of :data:`OUTCOMES`; ``message`` is one line,
    ``text`` the details; ``kind`` the failure/error type; ``time`` seconds or None
    (not measured)."""

    classname: str
    name: str
    outcome: str = "passed"
    message: str = ""
    text: str = ""
    kind: str = ""
    time: float | None = None

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome: must be one of {OUTCOMES}, got {self.outcome!r}")


# Characters XML 1.0 cannot carry (a claim name comes from the user's file).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(s: str) -> str:
    return _NOT_XML.sub("\ufffd", str(s))


def _seconds(t: float) -> str:
    # Fixed point: the schema's time pattern has no exponent.
    return f"{max(float(t), 0.0):.3f}"


def check_cases(rows, classname: str, times=None, numbers: bool = True) -> list:
    """Cases from :class:`verified_pgd.checks.CheckResult` rows; ``times`` (optional,
    one per row) are the measured seconds of each.  A failure's message is the error and
    its tolerance (``numbers``) or, where those columns mean something else (``vpgd
    check``: seconds), the row's detail; its text holds both."""
    times = list(times) if times is not None else [None] * len(rows)
    out = []
    for r, t in zip(rows, times, strict=True):
        if r.passed:
            out.append(Case(classname, r.check, time=t))
            continue
        nums = (f"{r.method}: max error {r.max_error:.6g} > tolerance {r.tolerance:.6g} "
                f"({r.points} points)")
        message = nums if numbers or not r.detail else r.detail.splitlines()[0]
        out.append(Case(classname, r.check, "failure", message=message,
                        text=nums + (f"\n{r.detail}" if r.detail else ""),
                        kind="check failed", time=t))
    return out


def claim_cases(results, times=None, undecided: str = "failure") -> list:
    """Cases from :class:`verified_pgd.claims.PointResult` s: holds -> passed, violated ->
    failure; undecided -> ``undecided`` ('failure', as ``vpgd claims`` exits 1 on it, or
    'skipped').  The case name is the grid point."""
    from .claim_points import describe, fmt
    if undecided not in ("failure", "skipped"):
        raise ValueError(f"undecided: must be 'failure' or 'skipped', got {undecided!r}")
    times = list(times) if times is not None else [None] * len(results)
    out = []
    for r, t in zip(results, times, strict=True):
        pt = ", ".join(f"{k}={fmt(v)}" for k, v in r.point.items())
        name = f"{r.claim} [{pt}]" if pt else r.claim
        outcome = {"holds": "passed", "violated": "failure"}.get(r.verdict, undecided)
        msg = "" if outcome == "passed" else describe(r)
        out.append(Case("vpgd.claims", name, outcome, message=msg, text=msg,
                        kind="" if outcome == "passed" else r.verdict, time=t))
    return out


def build(suite: str, cases, time: float, timestamp: datetime.datetime | None = None):
    """The ``<testsuites>`` element of one suite named ``suite``."""
    counts = {o: sum(c.outcome == o for c in cases) for o in OUTCOMES}
    stamp = (timestamp or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    suite = _xml_text(suite)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)),
                      failures=str(counts["failure"]), errors=str(counts["error"]),
                      time=_seconds(time))
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)),
                       failures=str(counts["failure"]), errors=str(counts["error"]),
                       skipped=str(counts["skipped"]), time=_seconds(time),
                       timestamp=stamp.isoformat())
    for c in cases:
        attrs = {"classname": _xml_text(c.classname), "name": _xml_text(c.name)}
        if c.time is not None:
            attrs["time"] = _seconds(c.time)
        tc = ET.SubElement(ts, "testcase", attrs)
        if c.outcome == "skipped":
            ET.SubElement(tc, "skipped", message=_xml_text(c.message))
        elif c.outcome in ("failure", "error"):
            el = ET.SubElement(tc, c.outcome, message=_xml_text(c.message),
                               type=_xml_text(c.kind or c.outcome))
            el.text = _xml_text(c.text)
    return root


def validate_path(path) -> Path:
    """``path`` as a Path whose directory exists (checked before any work is done)."""
    if not str(path):
        raise ValueError("--junit-xml: empty path")
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"--junit-xml: {path} is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"--junit-xml: directory {parent} does not exist")
    return p


def write(path, suite: str, cases, time: float) -> Path:
    """Write the report of ``cases`` to ``path`` atomically."""
    from .store import atomic_write
    p = validate_path(path)
    root = build(suite, cases, time)
    ET.indent(root)
    atomic_write(p, ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
    return p
