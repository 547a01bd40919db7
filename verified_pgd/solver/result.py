"""The record a PGD run returns: final state, history, success and divergence per chain.

Every field is a plain value (numpy arrays are read-only copies); ``to_dict()`` gives
JSON-able data (floats survive a JSON round trip exactly: Python writes them with repr)
and ``Result.from_dict`` rebuilds an equal Result.  ``config`` holds every argument of
:func:`verified_pgd.pgd` (the schedule with every stage's eta, sigma_w, sigma_a), so
``verified_pgd.solver.rerun(result.config)`` reproduces the run bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["History", "Result"]


class HandOver:
    """An array given to :class:`History` / :class:`Result` to be frozen in place instead
    of copied.  Only for an array the caller allocated itself and keeps no other
    reference to (the engines' run-wide outputs: at M = 65536 the copies cost about as
    much as a short run's arithmetic)."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array


def _frozen(x, dtype=np.float64):
    if x is None:
        return None
    if isinstance(x, HandOver):
        arr = np.asarray(x.array, dtype=dtype)
    else:
        arr = np.array(x, dtype=dtype)
    arr.setflags(write=False)
    return arr


def _eq(x, y):
    if x is None or y is None:
        return x is y
    return x.shape == y.shape and np.array_equal(x, y)


@dataclass(frozen=True, eq=False)
class History:
    """Values at the recorded steps (every ``record_every`` steps, plus the last step).

    Attributes
    ----------
    step : (R,) int64        state index: 0 is the initial state, ``t`` the state after t updates
    loss : (R, M) float64    population loss L(w, a) per chain
    theta : (R, M) float64   angle between w and w* (atan2 form)
    a_error : (R, M) float64 relative error ``| |w| a - s a* | / |s a*|``
    w, a : (R, M, p), (R, M, k) float64 or None   states (only with ``record_states=True``)
    w_rad, a_rad : same shapes or None   arb runs: radii such that the exact-arithmetic
        state lies in ``[w - w_rad, w + w_rad]`` (float64 rounding of mid/radius included)

    For high-precision runs the values are the float64 roundings of the high-precision ones.
    """

    step: np.ndarray
    loss: np.ndarray
    theta: np.ndarray
    a_error: np.ndarray
    w: np.ndarray | None = None
    a: np.ndarray | None = None
    w_rad: np.ndarray | None = None
    a_rad: np.ndarray | None = None

    def __post_init__(self):
        for f in fields(self):
            dtype = np.int64 if f.name == "step" else np.float64
            object.__setattr__(self, f.name, _frozen(getattr(self, f.name), dtype))

    def __eq__(self, other):
        return isinstance(other, History) and all(
            _eq(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))

    def to_dict(self) -> dict:
        return {f.name: (None if getattr(self, f.name) is None else getattr(self, f.name).tolist())
                for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(**{f.name: d.get(f.name) for f in fields(cls)})


@dataclass(frozen=True, eq=False)
class Result:
    """Outcome of :func:`verified_pgd.pgd` for M chains.

    Attributes
    ----------
    w : (M, p) float64      final filter per chain (for diverged chains: the last state
                            before divergence; for high precision: rounded to float64)
    a : (M, k) float64      final output weights per chain
    history : History
    hit_step : (M,) int64   first state index t with theta <= eps and relative a-error
                            <= eps (docs/design.md section 4), -1 if never or if the chain diverged
    diverged : (M,) bool    divergence detected (non-finite value or a bound exceeded)
    diverged_step : (M,) int64  index of the first offending state, -1 if none; the chain
                            is frozen at the state before it
    seed : int
    config : dict           every argument of pgd (JSON-able), enough to rerun bit for bit
    exact : dict or None    high precision only: per chain the final state as decimal strings
                            (mpmath), or arb mid/radius strings ("w", "a", per chain)
    """

    w: np.ndarray
    a: np.ndarray
    history: History
    hit_step: np.ndarray
    diverged: np.ndarray
    diverged_step: np.ndarray
    seed: int
    config: dict = field(default_factory=dict)
    exact: dict | None = None

    def __post_init__(self):
        object.__setattr__(self, "w", _frozen(self.w))
        object.__setattr__(self, "a", _frozen(self.a))
        object.__setattr__(self, "hit_step", _frozen(self.hit_step, np.int64))
        object.__setattr__(self, "diverged", _frozen(self.diverged, bool))
        object.__setattr__(self, "diverged_step", _frozen(self.diverged_step, np.int64))
        if isinstance(self.history, dict):
            object.__setattr__(self, "history", History.from_dict(self.history))

    @property
    def chains(self) -> int:
        return int(self.w.shape[0])

    @property
    def success(self) -> np.ndarray:
        """Per chain: eps-success reached at some recorded-or-not step (hit_step >= 0) and
        not diverged (the engines never set a hit step for a diverged chain; this excludes
        it also for a Result built by hand or read from an old file)."""
        return (self.hit_step >= 0) & ~self.diverged

    def __eq__(self, other):
        return (isinstance(other, Result) and _eq(self.w, other.w) and _eq(self.a, other.a)
                and self.history == other.history and _eq(self.hit_step, other.hit_step)
                and _eq(self.diverged, other.diverged)
                and _eq(self.diverged_step, other.diverged_step)
                and self.seed == other.seed and self.config == other.config
                and self.exact == other.exact)

    def to_dict(self) -> dict:
        return {
            "w": self.w.tolist(), "a": self.a.tolist(), "history": self.history.to_dict(),
            "hit_step": self.hit_step.tolist(), "diverged": self.diverged.tolist(),
            "diverged_step": self.diverged_step.tolist(), "seed": self.seed,
            "config": self.config, "exact": self.exact,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        if not isinstance(d, dict):
            raise ValueError("result: expected a table")
        missing = {"w", "a", "history", "hit_step", "diverged", "diverged_step", "seed"} - set(d)
        if missing:
            raise ValueError(f"result: missing keys {sorted(missing)}")
        return cls(w=d["w"], a=d["a"], history=History.from_dict(d["history"]),
                   hit_step=d["hit_step"], diverged=d["diverged"],
                   diverged_step=d["diverged_step"], seed=int(d["seed"]),
                   config=d.get("config", {}), exact=d.get("exact"))
