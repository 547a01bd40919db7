"""The run configuration: every argument of :func:`verified_pgd.pgd`, validated once, as one
frozen record (:class:`RunConfig`) that every engine reads.

Validation happens here and only here (messages start with the parameter's name, before
any allocation); engines never re-check.  ``RunConfig.to_dict()`` is ``Result.config``:
JSON-able and enough for :func:`verified_pgd.solver.rerun` to reproduce the run bit for bit.
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

import numpy as np

from .. import formulas
from .._validate import (as_float_array, check_choice, check_history, check_int,
                         check_nonzero_w, check_positive, check_precision,
                         parse_precision)  # noqa: F401  (re-exported: the one precision parser)
from ..backends import Float64
from ..problem import Problem
from . import rng
from .compiled import resolve_engine
from .schedule import Schedule

__all__ = ["RunConfig", "Segment", "build_config", "parse_precision", "record_steps",
           "REDUCED_STREAM_TAG"]

_NOISES = ("gaussian", "ball")
# "REDU": separates the reduced simulator's streams from the full solver's SeedSequence(seed).
REDUCED_STREAM_TAG = 0x52454455


@dataclass(frozen=True)
class Segment:
    """Steps ``start <= t < stop`` of one stage, with the step size resolved (the stage's
    eta, or the run's for the noise-only form)."""

    start: int
    stop: int
    eta: float
    sigma_w: float
    sigma_a: float

    @property
    def noisy(self) -> bool:
        """The step draws a noise record (its layout does not depend on which sigma is 0)."""
        return self.sigma_w > 0 or self.sigma_a > 0


@dataclass(frozen=True, eq=False)
class RunConfig:
    """A validated PGD run.  Build it with :func:`build_config`; engines only read it.

    ``W0``, ``A0`` are the (chains, p) / (chains, k) initial states (read-only);
    ``w0``, ``a0`` the arrays as given (recorded in ``to_dict``).  ``kind`` is
    ``"float64"``, ``"mp"`` or ``"arb"`` and ``prec`` its dps / bits (None for float64);
    ``batch`` the mini-batch size or None for the population gradient.
    """

    problem: Problem
    schedule: Schedule
    segments: tuple
    W0: np.ndarray
    A0: np.ndarray
    w0: np.ndarray
    a0: np.ndarray
    eta: float | None
    seed: int
    chains: int
    first_chain: int
    normalized: bool
    noise: str
    batch: int | None
    kind: str
    prec: int | None
    record_every: int
    record_steps: np.ndarray
    eps: float
    record_states: bool
    divergence_bound: float
    chunk_size: int | None
    reduced: bool
    engine: str = "numpy"       # the float64 arithmetic that runs: "compiled" or "numpy"

    @property
    def ball(self) -> bool:
        return self.noise == "ball"

    @property
    def precision(self):
        return {"float64": "float64", "mp": self.prec, "arb": f"arb:{self.prec}"}[self.kind]

    @property
    def total_steps(self) -> int:
        return self.schedule.total_steps

    def block(self, lo: int, hi: int) -> "RunConfig":
        """Chains ``lo <= j < hi`` of this run as a run of their own (same streams: chain
        j of the block is chain ``first_chain + lo + j`` of the seed)."""
        def rows(x):
            return x[lo:hi] if x.ndim == 2 else x
        return dataclasses.replace(self, W0=self.W0[lo:hi], A0=self.A0[lo:hi],
                                   w0=rows(self.w0), a0=rows(self.a0), chains=hi - lo,
                                   first_chain=self.first_chain + lo)

    def to_dict(self) -> dict:
        """``Result.config``: every argument of pgd, JSON-able (same keys as before the
        rebuild; ``schedule`` holds every stage's eta, sigma_w, sigma_a)."""
        cfg = {
            "problem": self.problem.to_dict(), "w0": self.w0.tolist(), "a0": self.a0.tolist(),
            "schedule": self.schedule.to_dict(), "eta": self.eta, "seed": self.seed,
            "chains": self.chains, "normalized": self.normalized, "noise": self.noise,
            "gradient": "population" if self.batch is None else self.batch,
            "precision": self.precision, "record_every": self.record_every, "eps": self.eps,
            "record_states": self.record_states, "divergence_bound": self.divergence_bound,
            "first_chain": self.first_chain, "bit_generator": rng.BIT_GENERATOR,
        }
        cfg["engine"] = self.engine
        if self.reduced:
            cfg["reduced"] = True
            cfg["stream"] = (f"reduced:SeedSequence([seed, {REDUCED_STREAM_TAG:#x}], "
                             "spawn_key=(chain, 0|1))")
        return cfg


def record_steps(total: int, every: int) -> np.ndarray:
    steps = list(range(0, total + 1, every))
    if steps[-1] != total:
        steps.append(total)
    out = np.array(steps, dtype=np.int64)
    out.setflags(write=False)
    return out


def _check_bool(x, name):
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {x!r}")
    return bool(x)


def _initial(x, size, chains, name, what):
    arr = as_float_array(x, name)
    if arr.ndim == 1:
        if arr.shape[0] != size:
            raise ValueError(f"{name}: length is {arr.shape[0]} but the problem has {what} = {size}")
        out = np.ascontiguousarray(np.broadcast_to(arr, (chains, size)))
    elif arr.ndim == 2 and arr.shape == (chains, size):
        out = np.ascontiguousarray(arr)
    else:
        raise ValueError(f"{name}: expected shape ({size},) or (chains, {size}) = ({chains}, {size}), "
                         f"got {arr.shape}")
    out.setflags(write=False)
    return arr, out


def _schedule(schedule):
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, dict):
        return Schedule.from_dict(schedule)
    try:
        return Schedule(schedule)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"schedule: expected a Schedule ({exc})") from None


def _segments(schedule: Schedule, eta) -> tuple:
    b = schedule.boundaries()
    return tuple(Segment(b[i], b[i + 1], eta if st.eta is None else st.eta, st.sigma_w, st.sigma_a)
                 for i, st in enumerate(schedule.stages))


def _check_initial_loss(problem, W0, A0, normalized):
    """The recorded loss of state 0 must be a float64 number: refuse a start whose loss
    overflows (e.g. a0 = 1e200) instead of recording inf."""
    W = W0 / np.sqrt((W0 * W0).sum(-1))[:, None] if normalized else W0
    with np.errstate(all="ignore"):
        L = formulas.loss(Float64(), problem.w_hat_star, problem.a_star, problem.s, W, A0)
    if not np.all(np.isfinite(L)):
        # name the larger factor (normalized runs: |w| = 1, so it is a0)
        big_w = not normalized and float(np.abs(W0).max()) > float(np.abs(A0).max())
        name = "w0" if big_w else "a0"
        raise ValueError(f"{name}: the initial loss overflows float64 (|w0| |a0| too large "
                         "for this problem); rescale the initial state (w0, a0)")


def build_config(problem, w0, a0, schedule, eta=None, seed=0, chains=1, normalized=True,
                 noise="gaussian", gradient="population", precision="float64",
                 record_every=None, eps=1e-6, chunk_size=None, *, record_states=False,
                 divergence_bound=None, first_chain=0, reduced=False,
                 engine="auto") -> RunConfig:
    """Validate the arguments of :func:`verified_pgd.pgd` (see there) into a RunConfig."""
    if not isinstance(problem, Problem):
        raise TypeError(f"problem: expected a verified_pgd.Problem, got {type(problem).__name__}")
    schedule = _schedule(schedule)
    if eta is None:
        if not schedule.has_eta:
            raise ValueError("eta: required: the schedule's stages carry no step size "
                             "(give eta=..., or Stage(steps, eta, sigma_w, sigma_a) stages)")
    else:
        eta = check_positive(eta, "eta")
        if schedule.has_eta:
            raise ValueError("eta: the schedule carries its own step size per stage; pass "
                             "eta=None (an explicit eta would silently override it)")
    seed = check_int(seed, "seed", minimum=0)
    chains = check_int(chains, "chains", minimum=1)
    first_chain = check_int(first_chain, "first_chain", minimum=0)
    normalized = _check_bool(normalized, "normalized")
    reduced = _check_bool(reduced, "reduced")
    check_choice(noise, "noise", _NOISES)
    batch = None
    if gradient != "population":
        if isinstance(gradient, bool) or not isinstance(gradient, numbers.Integral):
            raise ValueError(f"gradient: expected 'population' or an integer batch size, "
                             f"got {gradient!r}")
        batch = check_int(gradient, "gradient", minimum=1)
    kind, prec = parse_precision(check_precision(precision))
    engine = resolve_engine(engine, kind, reduced)
    if kind != "float64" and batch is not None:
        raise ValueError("gradient: mini-batch gradients are float64 only "
                         "(precision must be 'float64')")
    if record_every is None:
        record_every = max(1, schedule.total_steps // 100)
    record_every = check_int(record_every, "record_every", minimum=1)
    check_history(schedule.total_steps, record_every, chains)   # before any allocation
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < float(eps) < 1:
        raise ValueError(f"eps: expected a number in (0, 1), got {eps!r}")
    eps = float(eps)
    record_states = _check_bool(record_states, "record_states")
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    w0_raw, W0 = _initial(w0, problem.p, chains, "w0", "p")
    a0_raw, A0 = _initial(a0, problem.k, chains, "a0", "k")
    check_nonzero_w(W0, "w0")
    if divergence_bound is None:
        divergence_bound = 1e6 * max(1.0, problem.s * float(np.abs(problem.a_star).max()),
                                     float(np.abs(A0).max()),
                                     float(np.sqrt((W0 * W0).sum(-1)).max()))
    else:
        divergence_bound = check_positive(divergence_bound, "divergence_bound")
        if divergence_bound <= 1:
            raise ValueError(f"divergence_bound: must be > 1, got {divergence_bound}")
    if reduced and batch is not None:
        raise ValueError("gradient: the reduced simulator needs the population gradient "
                         "(mini-batch gradients are not isotropic in the reduced frame); "
                         "use reduced=False")
    if reduced and kind != "float64":
        raise ValueError("precision: the reduced simulator is float64 only; use reduced=False "
                         "for mpmath/arb runs")
    _check_initial_loss(problem, W0, A0, normalized)
    w0_raw.setflags(write=False)
    a0_raw.setflags(write=False)
    return RunConfig(
        problem=problem, schedule=schedule, segments=_segments(schedule, eta), W0=W0, A0=A0,
        w0=w0_raw, a0=a0_raw, eta=eta, seed=seed, chains=chains, first_chain=first_chain,
        normalized=normalized, noise=noise, batch=batch, kind=kind, prec=prec,
        record_every=record_every, record_steps=record_steps(schedule.total_steps, record_every),
        eps=eps, record_states=record_states, divergence_bound=divergence_bound,
        chunk_size=chunk_size, reduced=reduced,
        engine=engine)
