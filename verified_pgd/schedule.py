"""Noise schedules: stages ``[(sigma_1, T_1), ..., (sigma_m, T_m)]`` with sigma non-increasing.

A :class:`Schedule` is a plain immutable value.  Its noise level at step ``t`` is a pure
function of ``t`` (optax style: ``schedule(t) -> sigma``), so solvers, the reduced
simulator and reports all read the same numbers.  Step ``t`` (0-based) is the update that
takes the state from ``t`` to ``t + 1``; it uses ``sigma_at(t)``.

    >>> s = Schedule.geometric(1.0, 1e-2, stages=3, steps_per_stage=100, final_steps=50)
    >>> s.stages
    ((1.0, 100), (0.1, 100), (0.01, 100), (0.0, 50))
    >>> s(0), s(150), s(349), s.total_steps
    (1.0, 0.1, 0.0, 350)
"""
from __future__ import annotations

import bisect
import math
import numbers

import numpy as np

__all__ = ["Schedule"]


def _check_sigma(x, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"sigma: {where}: expected a real number, got {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"sigma: {where}: must be finite, got {x}")
    if x < 0:
        raise ValueError(f"sigma: {where}: must be >= 0, got {x}")
    return x


def _check_steps(n, where: str, name: str = "steps") -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name}: {where}: expected an integer >= 1, got {n!r}")
    if n < 1:
        raise ValueError(f"{name}: {where}: must be >= 1, got {n}")
    return int(n)


class Schedule:
    """Piecewise-constant noise level: stages of ``(sigma, steps)``, sigma non-increasing.

    Parameters
    ----------
    stages : sequence of (sigma, steps)
        ``sigma >= 0`` finite and non-increasing from stage to stage (noise annealing),
        ``steps`` an integer >= 1.  Plain gradient descent is a single stage with sigma = 0.

    Attributes
    ----------
    stages : tuple of (float, int)
    total_steps : int
    """

    __slots__ = ("_stages", "_ends")

    def __init__(self, stages):
        if isinstance(stages, (str, bytes)) or stages is None:
            raise TypeError("stages: expected a sequence of (sigma, steps) pairs")
        try:
            items = list(stages)
        except TypeError:
            raise TypeError("stages: expected a sequence of (sigma, steps) pairs") from None
        if not items:
            raise ValueError("stages: must contain at least one (sigma, steps) stage")
        out = []
        for i, st in enumerate(items):
            try:
                sigma, steps = st
            except (TypeError, ValueError):
                raise ValueError(f"stages: stage {i} is not a (sigma, steps) pair: {st!r}") from None
            sigma = _check_sigma(sigma, f"stage {i}")
            steps = _check_steps(steps, f"stage {i}")
            if out and sigma > out[-1][0]:
                raise ValueError(f"sigma: stage {i}: noise levels must be non-increasing "
                                 f"({sigma} follows {out[-1][0]})")
            out.append((sigma, steps))
        ends, acc = [], 0
        for _, n in out:
            acc += n
            ends.append(acc)
        object.__setattr__(self, "_stages", tuple(out))
        object.__setattr__(self, "_ends", tuple(ends))

    def __setattr__(self, name, value):
        raise AttributeError("Schedule is immutable")

    # ------------------------------------------------------------------ value semantics
    @property
    def stages(self) -> tuple:
        return self._stages

    @property
    def total_steps(self) -> int:
        return self._ends[-1]

    def __eq__(self, other):
        return isinstance(other, Schedule) and self._stages == other._stages

    def __hash__(self):
        return hash(self._stages)

    def __repr__(self):
        return f"Schedule({list(self._stages)!r})"

    def __len__(self):
        return len(self._stages)

    # ------------------------------------------------------------------ evaluation
    def sigma_at(self, t) -> float:
        """The noise level of step ``t`` (0 <= t < total_steps)."""
        if isinstance(t, bool) or not isinstance(t, numbers.Integral):
            raise TypeError(f"t: expected an integer step, got {t!r}")
        if not 0 <= t < self.total_steps:
            raise ValueError(f"t: step {t} is outside the schedule [0, {self.total_steps})")
        return self._stages[bisect.bisect_right(self._ends, int(t))][0]

    __call__ = sigma_at

    def sigmas(self) -> np.ndarray:
        """sigma_at(t) for every step t, as a float64 array of length total_steps."""
        return np.repeat([s for s, _ in self._stages], [n for _, n in self._stages])

    def boundaries(self) -> tuple:
        """Start step of each stage, followed by total_steps."""
        return (0,) + self._ends

    # ------------------------------------------------------------------ constructors
    @classmethod
    def constant(cls, sigma, steps) -> "Schedule":
        """One stage: noise ``sigma`` for ``steps`` steps (sigma = 0 is plain GD)."""
        return cls([(sigma, steps)])

    @classmethod
    def piecewise(cls, *stages) -> "Schedule":
        """``Schedule.piecewise((s1, T1), (s2, T2), ...)`` or ``piecewise([(s1, T1), ...])``."""
        if len(stages) == 1 and not (isinstance(stages[0], tuple) and len(stages[0]) == 2
                                     and isinstance(stages[0][1], numbers.Integral)):
            stages = stages[0]
        return cls(stages)

    @classmethod
    def geometric(cls, sigma0, sigma_end, stages, steps_per_stage, final_steps=None) -> "Schedule":
        """Geometric annealing: ``stages`` levels from ``sigma0`` down to ``sigma_end``.

        Level i (0-based) is ``sigma0 * (sigma_end / sigma0) ** (i / (stages - 1))``, held
        for ``steps_per_stage`` steps; then a noise-free stage of ``final_steps`` steps
        (default: ``steps_per_stage``; 0 for none) lets gradient descent converge to
        high accuracy once the noise has done its job.
        """
        s0 = _check_sigma(sigma0, "sigma0")
        s1 = _check_sigma(sigma_end, "sigma_end")
        if s0 == 0 or s1 == 0:
            raise ValueError("sigma: geometric annealing needs sigma0 > 0 and sigma_end > 0 "
                             "(the noise-free tail is final_steps)")
        if s1 > s0:
            raise ValueError(f"sigma: sigma_end = {s1} exceeds sigma0 = {s0} (annealing decreases)")
        n = _check_steps(stages, "number of stages", name="stages")
        T = _check_steps(steps_per_stage, "per stage", name="steps_per_stage")
        if final_steps is None:
            final_steps = T
        if isinstance(final_steps, bool) or not isinstance(final_steps, numbers.Integral) \
                or final_steps < 0:
            raise ValueError(f"final_steps: expected an integer >= 0, got {final_steps!r}")
        if n == 1:
            levels = [s0]
        else:
            ratio = s1 / s0
            levels = [s0 * ratio ** (i / (n - 1)) for i in range(n)]
            levels[-1] = s1
            # Rounding of the powers must not break monotonicity.
            for i in range(1, n):
                levels[i] = min(levels[i], levels[i - 1])
        st = [(lv, T) for lv in levels]
        if final_steps:
            st.append((0.0, int(final_steps)))
        return cls(st)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        return {"stages": [[s, n] for s, n in self._stages]}

    @classmethod
    def from_dict(cls, d) -> "Schedule":
        if not isinstance(d, dict) or "stages" not in d:
            raise ValueError("schedule: expected a table with key 'stages'")
        return cls([tuple(x) if isinstance(x, list) else x for x in d["stages"]])
