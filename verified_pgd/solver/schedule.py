"""Schedules over (step size, noise on w, noise on a): stages ``Stage(steps, eta, sigma_w, sigma_a)``.

A :class:`Schedule` is a plain immutable value.  Its parameters at step ``t`` are a pure
function of ``t`` (optax style: ``schedule(t) -> StepParams(eta, sigma_w, sigma_a)``), so
every engine, the reduced simulator and the reports read the same numbers.  Step ``t``
(0-based) is the update that takes the state from ``t`` to ``t + 1``.

Two forms of stage:

* the noise-only form of the first version, ``(sigma, steps)``: ``sigma_w = sigma_a = sigma``
  and the step size is the run's ``eta`` (``Stage.eta is None``);
* the full form ``Stage(steps, eta, sigma_w, sigma_a)`` of Zhou et al. (ICML 2019),
  Algorithm 1, which anneals the step size and the two noise levels together.

A schedule is either all of the first form or all with an ``eta`` (a mixture is an error:
the step size of some stages would be silently the run's).

    >>> s = Schedule.geometric(1.0, 1e-2, stages=3, steps_per_stage=100, final_steps=50)
    >>> [st.sigma_w for st in s.stages]
    [1.0, 0.1, 0.01, 0.0]
    >>> s(150), s.total_steps
    (StepParams(eta=None, sigma_w=0.1, sigma_a=0.1), 350)
    >>> Schedule.zhou2019()(400)
    StepParams(eta=0.08000000000000002, sigma_w=14.4, sigma_a=0.4)
"""
from __future__ import annotations

import bisect
import math
import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["Schedule", "Stage", "StepParams", "geometric_levels"]


def geometric_levels(x0, ratio, n, over=1, end=None) -> list:
    """The one geometric sequence of every annealing schedule: ``x0 * ratio ** (i / over)``,
    i = 0 .. n - 1 (``ratio`` is the change over ``over`` stages), in float64.

    ``Schedule.geometric`` gives the end level (``ratio = sigma_end / sigma0`` over
    ``n - 1`` stages, ``end = sigma_end`` pins the last level exactly), ``Schedule.epochs``
    and the task files' ``kind = "geometric"`` the ratio per stage (``over = 1``:
    ``ratio ** (i / 1)`` is bitwise ``ratio ** i``).  For ``ratio <= 1`` rounding of the
    powers never makes a level exceed the one before (annealing is non-increasing).
    No validation: the callers validate their own parameters.
    """
    levels = [x0 * ratio ** (i / over) for i in range(n)]
    if end is not None:
        levels[-1] = end
    if ratio <= 1:
        for i in range(1, n):
            levels[i] = min(levels[i], levels[i - 1])
    return levels


def _check_real(x, name: str, where: str, *, positive: bool) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name}: {where}: expected a real number, got {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name}: {where}: must be finite, got {x}")
    if positive and not x > 0:
        raise ValueError(f"{name}: {where}: must be > 0, got {x}")
    if not positive and x < 0:
        raise ValueError(f"{name}: {where}: must be >= 0, got {x}")
    return x


def _check_sigma(x, where: str, name: str = "sigma") -> float:
    return _check_real(x, name, where, positive=False)


def _check_steps(n, where: str, name: str = "steps") -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name}: {where}: expected an integer >= 1, got {n!r}")
    if n < 1:
        raise ValueError(f"{name}: {where}: must be >= 1, got {n}")
    return int(n)


@dataclass(frozen=True)
class Stage:
    """``steps`` steps at step size ``eta`` with noise ``sigma_w`` on w and ``sigma_a`` on a.

    ``eta = None``: the run's ``eta`` (the noise-only form ``(sigma, steps)``).  Validated
    on construction (``eta > 0`` finite, sigmas ``>= 0`` finite, ``steps >= 1``); the
    messages name the field.  Monotonicity across stages is checked by :class:`Schedule`.
    """

    steps: int
    eta: float | None
    sigma_w: float
    sigma_a: float

    def __post_init__(self):
        self._validate("stage")

    def _validate(self, where):
        object.__setattr__(self, "steps", _check_steps(self.steps, where))
        if self.eta is not None:
            object.__setattr__(self, "eta", _check_real(self.eta, "eta", where, positive=True))
        object.__setattr__(self, "sigma_w", _check_sigma(self.sigma_w, where, "sigma_w"))
        object.__setattr__(self, "sigma_a", _check_sigma(self.sigma_a, where, "sigma_a"))

    def to_dict(self) -> dict:
        return {"steps": self.steps, "eta": self.eta, "sigma_w": self.sigma_w,
                "sigma_a": self.sigma_a}


@dataclass(frozen=True)
class StepParams:
    """The parameters of one step: ``eta`` (None: the run's), ``sigma_w``, ``sigma_a``."""

    eta: float | None
    sigma_w: float
    sigma_a: float


_STAGE_KEYS = {"steps", "eta", "sigma_w", "sigma_a"}


def _stage(st, i) -> Stage:
    where = f"stage {i}"
    if isinstance(st, Stage):
        return st
    if isinstance(st, dict):
        extra = set(st) - _STAGE_KEYS
        missing = {"steps", "sigma_w", "sigma_a"} - set(st)
        if extra or missing:
            raise ValueError(f"stages: {where}: expected keys steps, eta, sigma_w, sigma_a "
                             f"(unknown: {sorted(extra)}, missing: {sorted(missing)})")
        sigma_w = _check_sigma(st["sigma_w"], where, "sigma_w")
        sigma_a = _check_sigma(st["sigma_a"], where, "sigma_a")
        eta = st.get("eta")
        if eta is not None:
            eta = _check_real(eta, "eta", where, positive=True)
        return Stage(_check_steps(st["steps"], where), eta, sigma_w, sigma_a)
    if isinstance(st, (str, bytes)):
        raise ValueError(f"stages: {where} is not a (sigma, steps) pair: {st!r}")
    try:
        sigma, steps = st
    except (TypeError, ValueError):
        raise ValueError(f"stages: {where} is not a (sigma, steps) pair: {st!r}") from None
    sigma = _check_sigma(sigma, where)
    return Stage(_check_steps(steps, where), None, sigma, sigma)


class Schedule:
    """Piecewise-constant (eta, sigma_w, sigma_a): a sequence of :class:`Stage`.

    Parameters
    ----------
    stages : sequence of Stage, of (sigma, steps) pairs, or of stage dicts
        ``sigma_w`` and ``sigma_a`` each non-increasing from stage to stage (noise
        annealing); ``eta`` given in every stage or in none.  Plain gradient descent is a
        single stage with zero noise.

    Attributes
    ----------
    stages : tuple of Stage
    total_steps : int
    has_eta : bool      the stages carry their own step sizes
    """

    __slots__ = ("_stages", "_ends")

    def __init__(self, stages):
        if isinstance(stages, (str, bytes)) or stages is None:
            raise TypeError("stages: expected a sequence of (sigma, steps) pairs or Stage records")
        try:
            items = list(stages)
        except TypeError:
            raise TypeError("stages: expected a sequence of (sigma, steps) pairs "
                            "or Stage records") from None
        if not items:
            raise ValueError("stages: must contain at least one (sigma, steps) stage")
        out = []
        for i, st in enumerate(items):
            st = _stage(st, i)
            if out:
                prev = out[-1]
                if (st.eta is None) != (prev.eta is None):
                    raise ValueError(f"eta: stage {i}: given in some stages and not in others "
                                     "(give every stage its eta, or none and the run's eta)")
                for name in ("sigma_w", "sigma_a"):
                    if getattr(st, name) > getattr(prev, name):
                        # The noise-only form names its one level 'sigma'.
                        shown = "sigma" if isinstance(items[i], (tuple, list)) else name
                        raise ValueError(f"{shown}: stage {i}: noise levels must be "
                                         f"non-increasing ({getattr(st, name)} follows "
                                         f"{getattr(prev, name)})")
            out.append(st)
        ends, acc = [], 0
        for st in out:
            acc += st.steps
            ends.append(acc)
        object.__setattr__(self, "_stages", tuple(out))
        object.__setattr__(self, "_ends", tuple(ends))

    def __setattr__(self, name, value):
        raise AttributeError("Schedule is immutable")

    def __reduce__(self):
        # __slots__ + a raising __setattr__ defeat default pickling (process workers need it)
        return (Schedule, (self._stages,))

    # ------------------------------------------------------------------ value semantics
    @property
    def stages(self) -> tuple:
        return self._stages

    @property
    def total_steps(self) -> int:
        return self._ends[-1]

    @property
    def has_eta(self) -> bool:
        return self._stages[0].eta is not None

    def __eq__(self, other):
        return isinstance(other, Schedule) and self._stages == other._stages

    def __hash__(self):
        return hash(self._stages)

    def __repr__(self):
        return f"Schedule({list(self._stages)!r})"

    def __len__(self):
        return len(self._stages)

    # ------------------------------------------------------------------ evaluation
    def stage_at(self, t) -> Stage:
        """The stage that step ``t`` (0 <= t < total_steps) belongs to."""
        if isinstance(t, bool) or not isinstance(t, numbers.Integral):
            raise TypeError(f"t: expected an integer step, got {t!r}")
        if not 0 <= t < self.total_steps:
            raise ValueError(f"t: step {t} is outside the schedule [0, {self.total_steps})")
        return self._stages[bisect.bisect_right(self._ends, int(t))]

    def __call__(self, t) -> StepParams:
        """``StepParams(eta, sigma_w, sigma_a)`` of step ``t`` (eta None: the run's)."""
        st = self.stage_at(t)
        return StepParams(st.eta, st.sigma_w, st.sigma_a)

    def _common_sigma(self, what):
        if any(st.sigma_w != st.sigma_a for st in self._stages):
            raise ValueError(f"{what}: this schedule has sigma_w != sigma_a; use schedule(t) "
                             "or the stages' sigma_w / sigma_a")

    def sigma_at(self, t) -> float:
        """The one noise level of step ``t`` when ``sigma_w == sigma_a`` (noise-only form)."""
        self._common_sigma("sigma_at")
        return self.stage_at(t).sigma_w

    def sigmas(self) -> np.ndarray:
        """sigma_at(t) for every step t, as a float64 array of length total_steps."""
        self._common_sigma("sigmas")
        return self._per_step("sigma_w")

    def _per_step(self, field_name) -> np.ndarray:
        return np.repeat([getattr(st, field_name) for st in self._stages],
                         [st.steps for st in self._stages]).astype(np.float64)

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
        if len(stages) == 1 and not (isinstance(stages[0], Stage) or (
                isinstance(stages[0], tuple) and len(stages[0]) == 2
                and isinstance(stages[0][1], numbers.Integral))):
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
        final_steps = _check_final_steps(final_steps)
        levels = [s0] if n == 1 else geometric_levels(s0, s1 / s0, n, over=n - 1, end=s1)
        st = [(lv, T) for lv in levels]
        if final_steps:
            st.append((0.0, int(final_steps)))
        return cls(st)

    @classmethod
    def epochs(cls, epochs, steps_per_epoch, eta0, eta_decay, sigma_w0, sigma_a0, sigma_decay,
               final_steps=0, final_eta=None) -> "Schedule":
        """Epoch-wise annealing of the step size and both noise levels (Zhou et al. 2019).

        Epoch ``e = 0 .. epochs - 1`` is one stage of ``steps_per_epoch`` steps with
        ``eta = eta0 * eta_decay**e``, ``sigma_w = sigma_w0 * sigma_decay**e`` and
        ``sigma_a = sigma_a0 * sigma_decay**e`` (powers in float64, ``x * d**e``).  Then,
        if ``final_steps > 0``, a noise-free stage at ``final_eta`` (default: the last
        epoch's eta).  ``eta_decay > 0`` and ``0 <= sigma_decay <= 1`` (annealing).
        """
        n = _check_steps(epochs, "number of epochs", name="epochs")
        T = _check_steps(steps_per_epoch, "per epoch", name="steps_per_epoch")
        e0 = _check_real(eta0, "eta0", "initial step size", positive=True)
        ed = _check_real(eta_decay, "eta_decay", "step-size ratio", positive=True)
        w0 = _check_sigma(sigma_w0, "initial noise on w", "sigma_w0")
        a0 = _check_sigma(sigma_a0, "initial noise on a", "sigma_a0")
        sd = _check_sigma(sigma_decay, "noise ratio", "sigma_decay")
        if sd > 1:
            raise ValueError(f"sigma_decay: noise ratio: must be <= 1 (annealing), got {sd}")
        final_steps = _check_final_steps(final_steps)
        st = [Stage(T, *x) for x in zip(geometric_levels(e0, ed, n), geometric_levels(w0, sd, n),
                                        geometric_levels(a0, sd, n))]
        if final_steps:
            fe = st[-1].eta if final_eta is None else _check_real(
                final_eta, "final_eta", "final stage", positive=True)
            st.append(Stage(final_steps, fe, 0.0, 0.0))
        elif final_eta is not None:
            raise ValueError("final_eta: given without a final stage (final_steps = 0)")
        return cls(st)

    @classmethod
    def zhou2019(cls) -> "Schedule":
        """The annealing protocol of Zhou et al. (ICML 2019), Algorithm 1 / experiments:

            "we perform step size and noise annealing in an epoch-wise fashion: each
            simulation has 20 epochs with each epoch consisting of 400 iterations; the
            initial learning rate is 0.1 for both w and a, and geometrically decays with a
            ratio 0.8; the initial noise levels are given by (rho_w, rho_a) = (36, 1) and
            both geometrically decay with a ratio 0.4."

        That is ``Schedule.epochs(20, 400, 0.1, 0.8, 36, 1, 0.4)``.  Assumption (the
        quotation does not fix it): the noise level rho enters as ``sigma`` of the
        perturbation, i.e. the update is ``w - eta (g_w + rho_w xi)``; with
        ``noise="gaussian"`` xi ~ N(0, I) (rho the standard deviation per coordinate),
        with ``noise="ball"`` xi is uniform in the unit ball (rho the ball's radius).
        """
        return cls.epochs(20, 400, 0.1, 0.8, 36.0, 1.0, 0.4)

    # ------------------------------------------------------------------ serialisation
    def _noise_only(self) -> bool:
        return all(st.eta is None and st.sigma_w == st.sigma_a for st in self._stages)

    def to_dict(self) -> dict:
        """``{"stages": [[sigma, steps], ...]}`` for the noise-only form (the first
        version's format, unchanged), ``{"stages": [{"steps", "eta", "sigma_w",
        "sigma_a"}, ...]}`` otherwise.  JSON-able; floats round-trip exactly."""
        if self._noise_only():
            return {"stages": [[st.sigma_w, st.steps] for st in self._stages]}
        return {"stages": [st.to_dict() for st in self._stages]}

    @classmethod
    def from_dict(cls, d) -> "Schedule":
        if not isinstance(d, dict) or "stages" not in d:
            raise ValueError("schedule: expected a table with key 'stages'")
        raw = d["stages"]
        if isinstance(raw, (str, bytes, dict)) or not hasattr(raw, "__iter__"):
            raise ValueError("schedule: 'stages' must be a list of stages")
        return cls([tuple(x) if isinstance(x, list) else x for x in raw])


def _check_final_steps(n) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"final_steps: expected an integer >= 0, got {n!r}")
    return int(n)
