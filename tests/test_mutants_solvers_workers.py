"""workers > 1 in real processes (the fork server): bitwise the same Result as one process.
Not in the `solvers` mutation selection: mutmut's test workers cannot start a fork server
(see tests/test_mutants_solvers.py, _InlinePool)."""
import numpy as np

import verified_pgd as vp

PROB = vp.Problem([0.9, -0.4, 0.3], [1.0, -0.6])


def test_workers_more_than_chains_and_one_process_each():
    sched = vp.Schedule([(0.2, 3)])
    Wm = np.array([[0.2, 0.9, -0.5], [1.0, 0.1, 0.2]])
    Am = np.array([[0.4, 0.7], [-0.2, 0.3]])
    one = vp.pgd(PROB, Wm, Am, sched, eta=0.1, chains=2, record_states=True, engine="numpy")
    assert vp.pgd(PROB, Wm[0], Am[0], sched, eta=0.1, workers=4, engine="numpy") == \
        vp.pgd(PROB, Wm[0], Am[0], sched, eta=0.1, engine="numpy")
    two = vp.pgd(PROB, Wm, Am, sched, eta=0.1, chains=2, record_states=True, workers=2,
                 engine="numpy")
    assert two == one


