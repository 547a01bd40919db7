"""Exact binomial statistics for statistical claims (Clopper-Pearson via scipy)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["clopper_pearson", "SuccessVerdict", "success_slack", "success_verdict"]


def clopper_pearson(successes: int, n: int, alpha: float = 1e-6):
    """One-sided-``alpha`` Clopper–Pearson bounds ``(low, high)`` of a binomial proportion
    (the two-sided exact interval at level ``1 - 2 alpha``; scipy's binomtest)."""
    from scipy.stats import binomtest
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=1 - 2 * alpha,
                                                        method="exact")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class SuccessVerdict:
    """Outcome of :func:`success_verdict`: ``holds`` iff the Clopper–Pearson lower bound
    ``low`` is >= ``threshold = 1 - delta - slack``."""

    holds: bool
    successes: int
    n: int
    low: float
    high: float
    threshold: float
    slack: float
    alpha: float


def success_slack(n: int, delta: float, alpha: float = 1e-6) -> float:
    """The slack that makes "CP lower bound >= 1 - delta - slack" fail with probability
    <= ``alpha`` whenever the true success probability is >= 1 - delta.

    Failures X ~ Bin(n, q) with q <= delta; x_crit = the smallest x with
    P(X > x | q = delta) <= alpha (stochastically largest at q = delta).  The verdict
    holds iff X <= x_crit, i.e. iff the lower bound is >= CP_low(n - x_crit, n); the slack
    is the distance from 1 - delta to that threshold (computed, not chosen).
    """
    from scipy.stats import binom
    x_crit = int(binom.isf(alpha, int(n), float(delta)))
    while binom.sf(x_crit, n, delta) > alpha:
        x_crit += 1
    low, _ = clopper_pearson(n - x_crit, n, alpha)
    return max(0.0, 1.0 - delta - low)


def success_verdict(successes: int, n: int, delta: float, alpha: float = 1e-6,
                    slack: float | None = None) -> SuccessVerdict:
    """Does an observed ``successes`` out of ``n`` support "success probability >=
    1 - delta"?  Default slack: :func:`success_slack` (false failure <= alpha)."""
    if slack is None:
        slack = success_slack(n, delta, alpha)
    low, high = clopper_pearson(successes, n, alpha)
    thr = 1.0 - delta - slack
    return SuccessVerdict(bool(low >= thr - 1e-12), int(successes), int(n), low, high, thr,
                          float(slack), float(alpha))
