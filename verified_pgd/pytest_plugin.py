"""pytest plugin: claims files as test items, and fixtures for the model's strategies.

Registered through the ``pytest11`` entry point when verified_pgd is installed (or load it
with ``-p verified_pgd.pytest_plugin``).  Inert unless ``--vpgd-claims`` is given, apart
from the fixtures and the ``vpgd_claim`` marker it defines::

    pytest --vpgd-claims examples/claims/*.toml          # one item per claim x grid point

With ``--vpgd-claims``, a ``.toml`` file is collected when it is named on the command line,
or, found while walking a directory, when it holds ``[[claim]]`` tables (so
``pyproject.toml`` is never taken for a claims file).  Each grid point is one item,
``FILE::claim name[k=2, s=0.5]``, whose outcome is the claim's verdict
(docs/claims.md):

* holds -> passed;
* violated -> failed, the report showing the value, the bound and the limit of the
  fitted constant;
* undecided -> xfailed (not a pass: the data could not decide at the claim's confidence;
  the reason carries the same numbers), or failed with ``--vpgd-undecided=fail``, which
  matches the exit code of ``vpgd claims``.

A malformed claims file is a collection error naming the file and the claim.  The
verdict and the numbers are also recorded as ``user_properties``, which pytest's own
``--junitxml`` writes as ``<property>`` elements.

Fixtures: ``vpgd_strategies`` (the :mod:`verified_pgd.strategies` module: Hypothesis
strategies for problems, initialisations, step sizes, schedules) and ``vpgd_problem``
(``Problem.default()``, the documented default teacher).
"""
from __future__ import annotations

import dataclasses
import tomllib

import pytest

MAX_SNIFF_BYTES = 1 << 20     # a discovered .toml larger than this is not read to sniff it


def pytest_addoption(parser):
    group = parser.getgroup("verified_pgd", "verified_pgd claims (docs/claims.md)")
    group.addoption("--vpgd-claims", action="store_true", default=False,
                    help="collect claims files (*.toml) as tests: one item per claim and "
                         "grid point; outcome = the claim's verdict")
    group.addoption("--vpgd-chains", type=int, default=None, metavar="N",
                    help="override every statistical claim's chain count")
    group.addoption("--vpgd-undecided", choices=("xfail", "fail"), default="xfail",
                    help="outcome of an undecided grid point (default: xfail)")


def pytest_configure(config):
    config.addinivalue_line("markers", "vpgd_claim: a grid point of a verified_pgd claim")
    chains = config.getoption("vpgd_chains", None)
    if chains is not None and chains < 1:
        raise pytest.UsageError(f"--vpgd-chains: must be >= 1, got {chains}")


def _named_on_command_line(config, file_path) -> bool:
    base = config.invocation_params.dir
    for arg in config.args:
        candidate = (base / str(arg).split("::")[0])
        try:
            if candidate.resolve() == file_path.resolve():
                return True
        except OSError:
            continue
    return False


def _holds_claims(file_path) -> bool:
    try:
        if file_path.stat().st_size > MAX_SNIFF_BYTES:
            return False
        doc = tomllib.loads(file_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(doc.get("claim"), list)


def pytest_collect_file(file_path, parent):
    config = parent.config
    if not config.getoption("vpgd_claims") or file_path.suffix != ".toml":
        return None
    if not (_named_on_command_line(config, file_path) or _holds_claims(file_path)):
        return None
    return ClaimsFile.from_parent(parent, path=file_path)


class ClaimsFile(pytest.File):
    """A claims file: one :class:`ClaimItem` per claim and grid point."""

    def collect(self):
        from .claim_points import claim_points
        from .claims import load_claims
        try:
            claims = load_claims(self.path)
        except (ValueError, OSError) as exc:     # ClaimError is a ValueError
            raise self.CollectError(str(exc)) from None
        chains = self.config.getoption("vpgd_chains")
        if chains is not None:
            claims = [dataclasses.replace(c, chains=chains) for c in claims]
        seen = {}
        for cp in claim_points(claims):
            # "::" separates node ids; a name used twice gets a counter.
            name = cp.claim.name.replace("::", ":") + (f"[{cp.label}]" if cp.label else "")
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name += f" #{seen[name]}"
            yield ClaimItem.from_parent(self, name=name, claim_point=cp)


class ClaimFailed(Exception):
    """A grid point whose verdict is not 'holds' (violated, or undecided with
    ``--vpgd-undecided=fail``); the message carries the numbers."""


class ClaimItem(pytest.Item):
    """One grid point of one claim."""

    def __init__(self, *, claim_point, **kwargs):
        super().__init__(**kwargs)
        self.claim_point = claim_point
        self.add_marker("vpgd_claim")

    def runtest(self):
        from .claim_points import check_point, describe
        r = check_point(self.claim_point)
        self.user_properties.extend([
            ("verdict", r.verdict), ("quantity", r.quantity), ("relation", r.relation),
            ("bound", repr(r.bound)), ("value_low", repr(r.value[0])),
            ("value_high", repr(r.value[1])), ("confidence", repr(r.confidence)),
            ("limit", repr(r.limit)), ("limit_kind", str(r.limit_kind))])
        if r.verdict == "holds":
            return
        if r.verdict == "undecided" and self.config.getoption("vpgd_undecided") == "xfail":
            pytest.xfail(describe(r))
        raise ClaimFailed(describe(r))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ClaimFailed):   # the numbers, not a traceback
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"claim: {self.name}"


@pytest.fixture(scope="session")
def vpgd_strategies():
    """The :mod:`verified_pgd.strategies` module (needs Hypothesis)."""
    from . import strategies
    return strategies


@pytest.fixture
def vpgd_problem():
    """The documented default teacher, ``Problem.default()`` (p = k = 4, a* = (1, 1, 1, -1))."""
    from .problem import Problem
    return Problem.default()
