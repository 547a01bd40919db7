"""Escape from the spurious basin: the first time PGD at constant noise leaves it.

Start every chain at the spurious minimum ``(-w_hat*, a_bar)`` and run
:func:`verified_pgd.pgd` with constant noise ``sigma`` for ``horizon`` steps.  The escape
time of a chain is the first recorded step with ``theta < theta_s`` (the saddle angle: the
reduced loss peaks there, so that is the edge of the basin).  States are recorded every
``record_every`` steps, so a time is known to within ``record_every`` (an upward bias
of at most that much); chains that never escape within the horizon are censored
(``inf``).  Runs are split over chains with ``first_chain`` so memory stays bounded and
the sample is bitwise the one of a single run.

Temperature ``T = eta sigma^2 / 2``.  Two regimes (docs/theory.md, "Escape time"):

* ``T`` above the barrier scale ``Delta L``: escape is diffusive; the median time grows
  polynomially, ``tau ~ (pi - theta_s)^2 / (2 eta T)`` steps up to a constant;
* ``T`` well below ``Delta L``: Kramers/Arrhenius, ``log tau = c0 + c1 Delta L / T`` with
  ``c1`` close to 1 (escape is exponentially slow in the barrier over the temperature).

:func:`fit_arrhenius` and :func:`fit_power` fit the two laws to medians with intervals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validate import check_int, check_positive
from .problem import Problem
from .schedule import Schedule

__all__ = ["EscapeSample", "escape_times", "median_interval", "Fit", "fit_arrhenius",
           "EscapeComparison", "mean_interval", "compare_prediction",
           "fit_power", "fit_line"]


@dataclass(frozen=True)
class EscapeSample:
    """Escape times of one (problem, sigma, eta) setting.

    ``times`` (chains,) float: escape step (multiple of ``record_every``), ``inf`` when
    censored at ``horizon``.  ``barrier`` = Delta L, ``T`` = eta sigma^2 / 2.
    """

    times: np.ndarray
    sigma: float
    eta: float
    T: float
    barrier: float
    theta_s: float
    horizon: int
    record_every: int
    seed: int

    @property
    def censored(self) -> int:
        return int(np.sum(~np.isfinite(self.times)))

    @property
    def x(self) -> float:
        """``Delta L / T``."""
        return self.barrier / self.T

    def median(self) -> float:
        """Sample median (``inf`` when at least half the chains are censored)."""
        return float(np.median(self.times))


def escape_times(problem, sigma, eta, *, chains=200, horizon=10_000, seed=0,
                 record_every=None, chunk_chains=500, reduced=False,
                 segment=None) -> EscapeSample:
    """Sample escape times from the spurious minimum (module docstring).

    Parameters
    ----------
    problem : Problem with a spurious minimum (else ValueError naming ``a_star``)
    sigma : float > 0,  eta : float > 0
    chains : int >= 1,  horizon : int >= 1 (steps),  seed : int >= 0
    record_every : int or None   time resolution (default ``max(1, horizon // 2000)``)
    chunk_chains : int           chains per pgd call (memory only; results identical)
    reduced : bool               use the dimension-free reduced simulator (same chain law)
    segment : int or None        None: every chain runs the whole horizon.  An int: run in
        segments of about ``segment`` steps and drop the chains that have escaped, so the
        cost is ~ chains x mean time instead of chains x horizon (:func:`_segmented`;
        the same law, other noise draws; every step recorded, ``record_every`` must be
        None or 1; ``chunk_chains`` is not used)
    """
    from . import theory
    from .solvers import pgd
    if not isinstance(problem, Problem):
        raise TypeError(f"problem: expected a verified_pgd.Problem, got {type(problem).__name__}")
    sigma = check_positive(sigma, "sigma")
    eta = check_positive(eta, "eta")
    chains = check_int(chains, "chains", minimum=1)
    horizon = check_int(horizon, "horizon", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    if record_every is None:
        record_every = max(1, horizon // 2000)
    record_every = check_int(record_every, "record_every", minimum=1)
    chunk_chains = check_int(chunk_chains, "chunk_chains", minimum=1)
    sp = theory.spurious_minimum(problem)
    th_s = float(theory.saddle_theta(problem))
    dL = float(theory.barrier(problem))
    if segment is not None:
        segment = check_int(segment, "segment", minimum=1)
        if record_every != 1:
            raise ValueError(f"record_every: must be 1 with segment (got {record_every})")
        out = _segmented(problem, sp, th_s, sigma, eta, chains, horizon, seed, segment,
                         reduced)
        return EscapeSample(out, sigma, eta, eta * sigma * sigma / 2, dL, th_s, horizon,
                            1, seed)
    sched = Schedule.constant(sigma, horizon)
    out = np.empty(chains)
    for c0 in range(0, chains, chunk_chains):
        n = min(chunk_chains, chains - c0)
        res = pgd(problem, np.asarray(sp.w, float), np.asarray(sp.a, float), sched, eta,
                  seed=seed, chains=n, first_chain=c0, record_every=record_every, eps=0.5,
                  reduced=reduced)
        th = res.history.theta                       # (R, n)
        left = th < th_s
        first = np.argmax(left, axis=0)
        ok = left[first, np.arange(n)]
        t_esc = res.history.step[first]
        # an "escape" at or after the chain's divergence is no escape: censored (inf)
        ok &= ~(res.diverged & (res.diverged_step <= t_esc))
        out[c0:c0 + n] = np.where(ok, t_esc.astype(float), np.inf)
    out.setflags(write=False)
    return EscapeSample(out, sigma, eta, eta * sigma * sigma / 2, dL, th_s, horizon,
                        record_every, seed)


_SEGMENT_CELLS = 2_000_000      # chains x steps of one segment's history (~50 MB)


def _segment_seed(seed, j):
    """The noise seed of segment ``j`` (independent streams for distinct (seed, j))."""
    st = np.random.SeedSequence(seed, spawn_key=(0x65736361, j)).generate_state(2, np.uint32)
    return int((int(st[0]) << 32 | int(st[1])) >> 1)


def _segmented(problem, sp, th_s, sigma, eta, chains, horizon, seed, segment, reduced):
    """Escape times by segments: the chains still in the basin after a segment restart
    from their final states with the next segment's seed (PGD at constant noise is a
    time-homogeneous Markov chain, so the law of the path is the one of a single run);
    escaped and diverged chains are dropped.  Segment lengths depend only on the number
    of chains left, so the sample is a deterministic function of the arguments."""
    from .solvers import pgd
    out = np.full(chains, np.inf)
    alive = np.arange(chains)
    w = np.broadcast_to(np.asarray(sp.w, float), (chains, problem.p)).copy()
    a = np.broadcast_to(np.asarray(sp.a, float), (chains, problem.k)).copy()
    t0, j = 0, 0
    while alive.size and t0 < horizon:
        n = alive.size
        steps = min(horizon - t0, max(segment if n * segment <= _SEGMENT_CELLS
                                      else _SEGMENT_CELLS // n, 1))
        res = pgd(problem, w, a, Schedule.constant(sigma, steps), eta,
                  seed=_segment_seed(seed, j), chains=n, record_every=1, eps=0.5,
                  reduced=reduced)
        th = res.history.theta                       # (steps + 1, n); row 0 = the start
        left = th < th_s
        first = np.argmax(left, axis=0)
        ok = left[first, np.arange(n)]
        t_esc = res.history.step[first]
        ok &= ~(res.diverged & (res.diverged_step <= t_esc))
        out[alive[ok]] = t0 + t_esc[ok].astype(float)
        keep = ~ok & ~res.diverged                   # a diverged chain stays censored
        alive, w, a = alive[keep], np.asarray(res.w)[keep], np.asarray(res.a)[keep]
        t0 += steps
        j += 1
    out.setflags(write=False)
    return out


def median_interval(times, alpha=1e-3):
    """Distribution-free interval for the median: order statistics ``(X_(l), X_(u))`` with
    ``P(X_(l) <= median <= X_(u)) >= 1 - alpha`` (binomial(n, 1/2) ranks).  Censored
    (``inf``) values sort last, so the bounds stay valid under censoring."""
    from scipy.stats import binom
    x = np.sort(np.asarray(times, dtype=float))
    n = len(x)
    lo = int(binom.ppf(alpha / 2, n, 0.5))          # P(B < lo) <= alpha/2
    while lo > 0 and binom.cdf(lo - 1, n, 0.5) > alpha / 2:
        lo -= 1
    hi = n - 1 - lo
    if lo < 1:
        return 0.0, float(x[hi]) if hi < n else math.inf
    return float(x[lo - 1]), float(x[hi])


@dataclass(frozen=True)
class Fit:
    """Least-squares line ``y = intercept + slope x`` with a ``level`` confidence interval
    for the slope (Student t), and the residual sum of squares."""

    slope: float
    intercept: float
    slope_low: float
    slope_high: float
    rss: float
    n: int
    level: float


def fit_line(x, y, level=0.999) -> Fit:
    from scipy.stats import linregress, t
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3:
        raise ValueError(f"fit: need at least 3 finite points, got {len(x)}")
    r = linregress(x, y)
    q = t.ppf(0.5 + level / 2, len(x) - 2)
    rss = float(np.sum((y - r.intercept - r.slope * x) ** 2))
    return Fit(float(r.slope), float(r.intercept), float(r.slope - q * r.stderr),
               float(r.slope + q * r.stderr), rss, len(x), level)


def fit_arrhenius(samples, level=0.999) -> Fit:
    """``log median tau`` against ``Delta L / T`` (Kramers: slope ~ 1)."""
    return fit_line([s.x for s in samples], [math.log(s.median()) for s in samples], level)


def fit_power(samples, level=0.999) -> Fit:
    """``log median tau`` against ``log(1 / T)`` (diffusive: slope ~ 1)."""
    return fit_line([math.log(1 / s.T) for s in samples], [math.log(s.median()) for s in samples],
                    level)


@dataclass(frozen=True)
class EscapeComparison:
    """Measured mean escape time against :func:`verified_pgd.theory.escape_time`.

    ``low``/``high``: interval for the true mean at confidence ``1 - alpha`` under the
    exponential law of a Kramers escape (the sum of ``n`` times is Gamma(n, mean): exact
    chi-square bounds; sub-exponential spread, CV < 1, makes it conservative).  ``ratio``
    = measured / predicted with ``ratio_low``/``ratio_high`` from the interval.  ``cv``
    the sample coefficient of variation (1 for an exponential law).  Censored chains
    (never escaped within the horizon) are counted at the horizon (``censored`` says how many).
    """

    x: float
    eta: float
    p: int
    k: int
    mean: float
    low: float
    high: float
    cv: float
    predicted: float
    method: str
    censored: int
    chains: int
    times: np.ndarray | None = None     # the sample (censored at the horizon), read-only

    @property
    def ratio(self) -> float:
        return self.mean / self.predicted

    @property
    def ratio_low(self) -> float:
        return self.low / self.predicted

    @property
    def ratio_high(self) -> float:
        return self.high / self.predicted


def mean_interval(times, alpha=1e-6):
    """Exact interval for the mean of i.i.d. exponential times (chi-square, 2n dof)."""
    from scipy.stats import chi2
    t = np.asarray(times, float)
    n, S = t.size, float(np.sum(t))
    return 2 * S / chi2.ppf(1 - alpha / 2, 2 * n), 2 * S / chi2.ppf(alpha / 2, 2 * n)


def compare_prediction(problem, eta, x, *, chains=200, seed=0, method="saddle",
                       horizon_factor=20.0, alpha=1e-6, reduced=False) -> EscapeComparison:
    """Simulate escape at ``Delta L / T = x`` (sigma from ``T = eta sigma^2 / 2``) and
    compare the mean with the prediction of ``method``; the horizon is
    ``horizon_factor`` times the ``"saddle"`` (or, where that does not apply, ``"1d"``)
    prediction, every step recorded.  The chains run in segments of a fifth of that
    scale and stop when they escape (``escape_times(..., segment=...)``), so a long
    horizon costs only the censored chains."""
    from . import theory
    from .theory import escape_law as et
    x = check_positive(x, "x")
    dL = float(theory.barrier(problem))
    sigma = math.sqrt(2 * dL / x / eta)
    pred = et.escape_time(problem, eta, sigma, method=method)
    try:
        scale = pred if method == "saddle" else et.escape_time(problem, eta, sigma)
    except ValueError:
        scale = et.escape_time(problem, eta, sigma, method="1d")
    horizon = max(100, int(math.ceil(horizon_factor * scale)))
    s = escape_times(problem, sigma, eta, chains=chains, horizon=horizon, seed=seed,
                     record_every=1, reduced=reduced,
                     segment=max(50, int(math.ceil(scale / 5))))
    # censored chains count at the horizon: the statistic is then the mean of
    # min(tau, horizon), below E tau by E tau e^(-horizon_factor) for an exponential law
    t = np.where(np.isfinite(s.times), s.times, float(horizon))
    lo, hi = mean_interval(t, alpha)
    m = float(np.mean(t))
    cv = float(np.std(t) / m)
    t.setflags(write=False)
    return EscapeComparison(float(x), float(eta), problem.p, problem.k, m, float(lo), float(hi),
                            cv, float(pred), method, s.censored, chains, t)
