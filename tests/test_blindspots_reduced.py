"""The reduced simulator's law, powered at p >= 8 (through vp.pgd(reduced=True) only).

tests/test_reduced.py checks the law at several p but its negative control (wrong
chi-square degrees of freedom) only at p = 3: at p = 8 or 64 the same statistics cannot
tell df = p from df = p - 2.  Here the statistic is the angle theta after ONE step with
large noise from theta = pi/2, where |w_1|^2 contains the chi-square part directly:
cos theta_1 = (in-plane part . w*) / sqrt(in-plane^2 + eta^2 sigma^2 chi^2_{p-2}).

Negative control without touching the implementation: the reduced simulator only sees p
through the degrees of freedom p - 2, so the reduced run at p + 2 IS the reduced
simulator at p with the wrong df = p.  The same test must reject it.  With 30000 (p = 8)
and 100000 (p = 16) chains per sample the fixed-seed p-values are 9.1e-16 and 1.5e-12 for
the wrong df, and 0.68 and 0.99 for the right one (pytest -s prints them).

False-failure probability: N_LAW two-sample KS tests (scipy.stats.ks_2samp, independent
samples: different seeds; reduced and full streams are distinct) each at
ALPHA = 1e-6 / N_LAW (Bonferroni): total <= 1e-6.  Seeds are fixed.
"""
import numpy as np
import pytest
from scipy.stats import ks_2samp

import verified_pgd as vp

CHAINS = {8: 30_000, 16: 100_000}     # chains per sample at each p
N_LAW = len(CHAINS)
ALPHA = 1e-6 / N_LAW
ETA, SIGMA = 0.5, 10.0


def theta_after_one_step(p, reduced, seed, p_run=None):
    q = p_run or p
    prob = vp.Problem(np.r_[1.0, np.zeros(q - 1)], [1.0, 1.0, 1.0, -1.0])
    w0 = np.r_[0.0, 1.0, np.zeros(q - 2)]          # theta = pi/2
    res = vp.pgd(prob, w0, [0.5, 0.5, 0.5, 0.5], vp.Schedule([(SIGMA, 1)]), ETA, seed=seed,
                 chains=CHAINS[p], reduced=reduced, record_every=1)
    assert not res.diverged.any()
    return res.history.theta[-1]


@pytest.mark.parametrize("p", sorted(CHAINS))
def test_reduced_one_step_law_and_wrong_dof_rejected(p):
    full = theta_after_one_step(p, False, seed=1)
    red = theta_after_one_step(p, True, seed=2)
    pval = ks_2samp(full, red).pvalue
    print(f"p = {p}: KS p-value {pval:.3g} (right df)", end="; ")
    assert pval >= ALPHA, f"reduced law differs from the full solver at p = {p}: {pval:.3g}"
    wrong = theta_after_one_step(p, True, seed=3, p_run=p + 2)    # df = p instead of p - 2
    pbad = ks_2samp(full, wrong).pvalue
    print(f"{pbad:.3g} (df = p)")
    assert pbad < ALPHA, f"df = p not rejected at p = {p}: KS p = {pbad:.3g}"
