"""The per-step bookkeeping of every engine, written once: what is recorded, when a chain has
reached eps, when it has diverged, and that a diverged chain stays frozen.

Rules (docs/solvers.md, "Bookkeeping"):

* **record** — at the steps ``cfg.record_steps`` the loss, theta and a-error
  ``| |w| a - s a* | / |s a*|`` of every chain (and with ``record_states`` its state).
* **eps-hit** (:func:`is_hit`) — the first state index t with ``theta <= eps`` and
  ``| |w| a - s a* | <= eps |s a*|``.
* **divergence** (:func:`step_ok`) — after each update a chain is flagged when ``|w|`` is
  not finite and positive, or (free parametrization) leaves ``[1/bound, bound]``, or a
  coordinate of ``a`` is not finite or exceeds ``bound`` in absolute value.  A state
  whose observed theta, a-error or loss is not finite (an overflowing loss, an arb ball
  that lost all accuracy) is flagged too (:meth:`Book.observe`).  ``diverged_step`` is
  the index of the first offending state; the chain is frozen at the state before it.
* **no silent non-finite** — no NaN or inf ever enters the history (a non-finite
  observation puts the chain back to its previous state, flags it and records that
  state), and a diverged chain never counts as a success: its hit step is -1.

:func:`is_hit` and :func:`step_ok` use only ``<=``, ``&`` and ``~`` so they evaluate the
same on numpy arrays (the numpy engines) and on scalars (a compiled per-chain kernel, see
"Where a new engine goes" in docs/solvers.md); :meth:`Book.absorb` takes a compiled
kernel's per-chain output through the same run-level rules.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

# RunConfig appears in annotations only (strings under `from __future__ import annotations`):
# importing solver.config here would close the cycle config -> compiled (engine choice) ->
# kernel -> bookkeeping -> config (tests/test_architecture.py).
from .result import HandOver, History, Result

__all__ = ["is_hit", "step_ok", "norm_bounds", "Observation", "Outputs", "Book"]


@dataclass(frozen=True)
class Observation:
    """What an engine tells the bookkeeping about state t of its chains.

    ``theta`` (n,) float64; ``nr`` the |r| = | |w| a - s a* | array or a function
    computing it (called only when some theta <= eps or t is recorded: a reduction per
    step is not free); ``loss`` a function giving the (n,) loss; ``states`` a function
    giving name -> (n, d) arrays (only called with ``record_states``); ``a_error`` a
    function giving the relative a-error, default ``nr / |s a*|`` in float64 (the
    high-precision engine rounds its own quotient).
    """

    theta: np.ndarray
    nr: Any
    loss: Callable
    states: Callable | None = None
    a_error: Callable | None = None


def is_hit(theta, nr, eps, sa_norm):
    """eps-success of a state: ``theta <= eps`` and ``|r| <= eps |s a*|`` (NaN: False)."""
    return (theta <= eps) & (nr <= eps * sa_norm)


def step_ok(u, amax, amin, lo, hi, bound):
    """The state after an update is acceptable: ``lo <= |w| <= hi``, ``0 < |w| < inf`` and
    ``-bound <= a_j <= bound`` (``amax``/``amin``: the largest / smallest coordinate of a).
    Every comparison with NaN is False, so a NaN anywhere fails."""
    return (u >= lo) & (u > 0) & (u <= hi) & (u < np.inf) & (amax <= bound) & (amin >= -bound)


def norm_bounds(cfg: RunConfig):
    """(lo, hi) for |w| in :func:`step_ok`: normalized model (0, inf), free (1/b, b)."""
    b = cfg.divergence_bound
    return (0.0, np.inf) if cfg.normalized else (1 / b, b)


class Outputs:
    """The run-wide arrays an engine fills chunk by chunk and turns into a Result.

    ``state_dims``: name -> size of the recorded states (``{"w": p, "a": k}``; the reduced
    simulator records ``{"x": 1, "y": 1, "a": k}`` and lifts them); ``radii`` adds
    ``<name>_rad`` arrays (arb).
    """

    def __init__(self, cfg: RunConfig, state_dims: dict, radii: bool = False):
        M, R = cfg.chains, len(cfg.record_steps)
        self.cfg = cfg
        self.loss = np.empty((R, M))
        self.theta = np.empty((R, M))
        self.a_error = np.empty((R, M))
        self.hit = np.full(M, -1, np.int64)
        self.div = np.full(M, -1, np.int64)
        self.states = {}
        if cfg.record_states:
            for name, d in state_dims.items():
                self.states[name] = np.empty((R, M, d))
                if radii:
                    self.states[name + "_rad"] = np.empty((R, M, d))

    def absorb(self, c0, c1, hit, div, loss, theta, a_error, states=None):
        """Take the output of an engine that kept its own per-chain loop (a compiled
        kernel over chains ``c0:c1``): hit / divergence steps (M_c,), records (R, M_c),
        states name -> (R, M_c, d).  Applies the run-level rules: a record must be finite
        (the kernel must have frozen the chain, see :func:`step_ok`), and a diverged chain
        has no hit."""
        for name, v in (("loss", loss), ("theta", theta), ("a_error", a_error)):
            if not np.all(np.isfinite(v)):
                raise RuntimeError(f"engine contract: a non-finite {name} was recorded "
                                   "(a chain must be frozen before its values leave float64)")
        self.loss[:, c0:c1], self.theta[:, c0:c1], self.a_error[:, c0:c1] = loss, theta, a_error
        for name, v in (states or {}).items():
            self.states[name][:, c0:c1] = v
        div = np.asarray(div, np.int64)
        self.div[c0:c1] = div
        self.hit[c0:c1] = np.where(div >= 0, -1, hit)

    def result(self, w, a, exact=None, history_states=None) -> Result:
        """The Result; ``history_states`` overrides the recorded states (a lifted w)."""
        # this object allocated its arrays and is dropped after the call: hand them over
        st = {name: HandOver(v) for name, v in self.states.items()}
        if history_states:
            st.update(history_states)
        hist = History(step=self.cfg.record_steps, loss=HandOver(self.loss),
                       theta=HandOver(self.theta), a_error=HandOver(self.a_error),
                       w=st.get("w"), a=st.get("a"), w_rad=st.get("w_rad"), a_rad=st.get("a_rad"))
        return Result(w=w, a=a, history=hist, hit_step=HandOver(self.hit),
                      diverged=HandOver(self.div >= 0), diverged_step=HandOver(self.div),
                      seed=self.cfg.seed, config=self.cfg.to_dict(), exact=exact)


class Book:
    """Bookkeeping of chains ``c0 <= i < c1`` of a run, step by step (numpy engines).

    ``sa_norm`` is ``|s a*|`` as the engine computes it (float64, or the float64 value of
    the high-precision one), so the eps test is the engine's own.
    """

    def __init__(self, cfg: RunConfig, out: Outputs, c0: int, c1: int, sa_norm: float):
        n = c1 - c0
        self.out, self.c0, self.c1 = out, c0, c1
        self.eps, self.sa_norm = cfg.eps, float(sa_norm)
        self.bound = cfg.divergence_bound
        self.lo, self.hi = norm_bounds(cfg)
        self.hit = np.full(n, -1, np.int64)
        self.div = np.full(n, -1, np.int64)
        self.frozen = np.zeros(n, bool)
        self.any_frozen = False
        self._rec = {int(t): i for i, t in enumerate(cfg.record_steps)}

    # ------------------------------------------------------------------ observation
    def observe(self, t, state, prev, evaluate, select):
        """Observe state ``t`` of every chain; returns ``(state, payload)``.

        ``evaluate(state) -> (Observation, payload)``, ``payload`` whatever the engine
        needs next (its gradients).  A chain whose
        values are not finite is flagged diverged at t and put back to its state in
        ``prev`` (``select(mask, prev, state)``), and that state is observed instead.
        """
        obs, payload = evaluate(state)
        bad = self._observe(t, obs)
        if bad is None:
            return state, payload
        state = select(bad, prev, state)
        obs, payload = evaluate(state)
        if self._observe(t, obs) is not None:
            raise RuntimeError(f"step {t}: a frozen chain's previous state is not finite")
        return state, payload

    def _observe(self, t, obs: Observation):
        theta, nr = obs.theta, obs.nr
        i = self._rec.get(t)
        close = theta <= self.eps
        bad = None
        # theta of a state that passed step_ok is finite; it is checked (with the loss and
        # the a-error) wherever a value is kept: at the recorded steps.
        if close.any() or i is not None:
            if callable(nr):
                nr = nr()
            new = (self.hit < 0) & is_hit(theta, nr, self.eps, self.sa_norm)
            if new.any():
                self.hit[new] = t
        if i is not None:
            if callable(nr):
                nr = nr()
            L = obs.loss()
            ae = nr / self.sa_norm if obs.a_error is None else obs.a_error()
            fin = np.isfinite(theta) & np.isfinite(L) & np.isfinite(ae)
            if not fin.all():
                bad = ~fin
            else:
                c0, c1 = self.c0, self.c1
                self.out.loss[i, c0:c1] = L
                self.out.theta[i, c0:c1] = theta
                self.out.a_error[i, c0:c1] = ae
                if self.out.states:
                    for name, v in obs.states().items():
                        self.out.states[name][i, c0:c1] = v
        if bad is None:
            return None
        fresh = bad & ~self.frozen
        self.div[fresh] = t
        self.frozen |= bad
        self.any_frozen = True
        return bad

    # ------------------------------------------------------------------ divergence
    def check_step(self, t, u, a_new, extra_bad=None):
        """Flag the chains whose update ``t`` (state t -> t+1) is unacceptable
        (:func:`step_ok`; ``extra_bad``: engine-specific, e.g. an arb ball that lost all
        accuracy).  One global test per step, the per-chain masks only when it fires."""
        # Python floats: the fast path costs a few comparisons, not numpy scalar operations
        if extra_bad is None and step_ok(float(u.min()), float(a_new.max()), float(a_new.min()),
                                         self.lo, self.hi, self.bound) \
                and step_ok(float(u.max()), 0.0, 0.0, self.lo, self.hi, self.bound):
            return
        bad = ~step_ok(u, a_new.max(axis=-1), a_new.min(axis=-1), self.lo, self.hi, self.bound)
        if extra_bad is not None:
            bad |= extra_bad
        bad &= ~self.frozen
        if bad.any():
            self.div[bad] = t + 1
            self.frozen |= bad
            self.any_frozen = True

    def hold(self, new, old):
        """``new`` with the frozen chains' rows kept at ``old``."""
        if self.any_frozen:
            return np.where(self.frozen.reshape((-1,) + (1,) * (new.ndim - 1)), old, new)
        return new

    def finish(self):
        """Write hit / divergence steps (a diverged chain never counts as a success)."""
        self.out.div[self.c0:self.c1] = self.div
        self.out.hit[self.c0:self.c1] = np.where(self.div >= 0, -1, self.hit)
