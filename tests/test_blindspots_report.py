"""The report's headline numbers, recomputed from raw results the test controls.

E3 and E5 ``analyse`` are fed raw task results (the dicts of ``sweep.run_task``) built
here with known content, and their summaries are compared with counts, exact intervals
and fitted exponents computed independently in the test:

* E3: final eps-success = final theta <= eps and final a-error <= eps, never for a
  diverged chain or a missing (None) value; Clopper-Pearson bounds from the Beta
  quantiles (not scipy's binomtest, which the report uses);
* E5: medians of (hit - noisy steps) follow exact power laws with NEGATIVE and positive
  exponents, so a flipped sign, a wrong offset or a log-log fit against the wrong axis
  fails.
"""
import copy

import numpy as np
import pytest
from scipy.stats import beta

import verified_pgd as vp
from verified_pgd import config as cfg
from verified_pgd.experiments import get


@pytest.fixture(scope="module")
def conf():
    c = copy.deepcopy(cfg.load_run())
    c["experiments"]["e3"]["chains"] = 600       # three tasks of 200 per method
    return c


def cp_exact(x, n, level=0.95):
    a = (1 - level) / 2
    lo = 0.0 if x == 0 else beta.ppf(a, x, n - x + 1)
    hi = 1.0 if x == n else beta.ppf(1 - a, x + 1, n - x)
    return lo, hi


def e3_results(conf, rng, n_methods, chunks, eps):
    """Raw results with a known number of final successes per method."""
    results, truth = [], []
    for m in range(n_methods):
        good = 0
        for j in range(chunks):
            n = 200
            th = rng.uniform(0, 3, n)
            ae = rng.uniform(0, 2, n)
            win = rng.random(n) < 0.1 * (m + 1)
            th[win] = rng.uniform(0, eps, win.sum())
            ae[win] = rng.uniform(0, eps, win.sum())
            # traps: small theta but large a-error, and the converse
            th[:3], ae[:3] = eps / 2, 10 * eps
            th[3:6], ae[3:6] = 10 * eps, eps / 2
            div = np.zeros(n, bool)
            div[6:9] = True                 # diverged chains frozen at a successful state
            th[6:9], ae[6:9] = eps / 2, eps / 2
            thl, ael = th.tolist(), ae.tolist()
            thl[9], ael[9] = None, None     # a non-finite final value (JSON None)
            ok = [t is not None and t <= eps and e <= eps and not d
                  for t, e, d in zip(thl, ael, div)]
            good += sum(ok)
            hit = np.where(ok | div, 17, -1)   # diverged after reaching eps: no success
            results.append({"chains": n, "steps": 100, "theta": thl, "a_error": ael,
                            "loss": [0.0] * n, "hit_step": hit.tolist(),
                            "diverged": div.tolist(), "diverged_step": np.where(div, 5, -1).tolist()})
        truth.append(good)
    return results, truth


def test_e3_success_rates_and_intervals(conf, tmp_path):
    e3 = get("e3")
    prob = vp.Problem(conf["problem"]["w_star"], conf["problem"]["a_star"])
    names = list(e3.methods(conf, prob)[0])
    chunks = len(e3.plan(conf, prob)) // len(names)
    eps = conf["experiments"]["e3"]["eps"]
    results, truth = e3_results(conf, np.random.default_rng(0), len(names), chunks, eps)
    sec = e3.analyse(conf, prob, results, tmp_path)
    n = 200 * chunks
    for name, good in zip(names, truth):
        assert sec.summary[f"{name}_final_success_rate"] == good / n, name
        lo, hi = sec.summary[f"{name}_final_success_ci95"]
        elo, ehi = cp_exact(good, n)
        assert abs(lo - elo) < 1e-12 and abs(hi - ehi) < 1e-12
        assert sec.data["methods"][name]["ever_success"] == good
        assert sec.data["methods"][name]["diverged"] == 3 * chunks
    assert len(set(truth)) == len(truth)            # the methods are told apart


def e5_results(conf, b, c):
    e = conf["experiments"]["e5"]
    off = sum(n for _, n in e["noise_stages"])
    out = []
    def chains(med, censored=0):
        n = e["chains"]
        hit = [off + int(round(med))] * (n - censored) + [-1] * censored
        return {"chains": n, "steps": e["max_steps"], "theta": [0.0] * n, "a_error": [0.0] * n,
                "loss": [0.0] * n, "hit_step": hit, "diverged": [False] * n,
                "diverged_step": [-1] * n}
    ks = np.array(e["ks"], float)
    for k in ks:
        out.append(chains(1000 * k ** b, censored=3))
    L = np.log(1 / np.array(e["eps_values"]))
    for x in L:
        out.append(chains(50 * x ** c))
    # the medians after rounding to integers, fitted independently
    km = np.round(1000 * ks ** b)
    em = np.round(50 * L ** c)
    return out, np.polyfit(np.log(ks), np.log(km), 1)[0], np.polyfit(np.log(L), np.log(em), 1)[0], \
        np.polyfit(L, em, 1)[0]


@pytest.mark.parametrize("b, c", [(-0.5, 1.0), (0.75, -0.3)])
def test_e5_fitted_exponents_keep_their_sign(conf, tmp_path, b, c):
    e5 = get("e5")
    prob = vp.Problem(conf["problem"]["w_star"], conf["problem"]["a_star"])
    results, fb, fc, slope = e5_results(conf, b, c)
    assert len(results) == len(e5.plan(conf, prob))
    summ = e5.analyse(conf, prob, results, tmp_path).summary
    assert abs(summ["exponent_k"] - fb) < 1e-9 and abs(fb - b) < 0.01
    assert abs(summ["exponent_log_inv_eps"] - fc) < 1e-9 and abs(fc - c) < 0.01
    assert abs(summ["steps_per_unit_log_inv_eps"] - slope) < 1e-6 * abs(slope)
    assert summ["censored_runs"] == 3 * len(conf["experiments"]["e5"]["ks"])
