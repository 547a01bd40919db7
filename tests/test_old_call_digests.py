"""Old call forms give bit-identical Results to the solver before the rebuild (issue 12).

``tests/data/old_call_digests.json`` holds sha256 digests of the numeric content of the
Results (final states, hit and divergence steps, every history array, the exact strings of
the high-precision engines) of a set of old-style calls, computed with the code *before*
the solver core was rebuilt (commit 88b43f3).  The digests are of the numbers only, not of
``Result.config`` (its schedule record gained per-stage fields).  The calls pin
``engine="numpy"``: the digests are of the numpy engine's arithmetic (the compiled engine,
the default since issue 16, agrees to rounding only, tests/test_compiled.py).  Regenerate ONLY when a
change of the numbers is intended:  ``PYTHONPATH=. python -m tests.test_old_call_digests``.
"""
import functools
import hashlib
import json
import pathlib

import numpy as np
import pytest

import verified_pgd as vp

DATA = pathlib.Path(__file__).parent / "data" / "old_call_digests.json"


def _calls():
    pgd = functools.partial(vp.pgd, engine="numpy")
    prob = vp.Problem.default()
    odd = vp.Problem([0.3, -1.1, 0.7], [2.5, -0.4])          # s != 1, |a*| != 1
    rng = np.random.default_rng(11)
    W, A = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    sched = vp.Schedule([(0.5, 30), (0.1, 20), (0.0, 10)])
    return {
        "float64": lambda: pgd(prob, W, A, sched, 0.1, seed=3, chains=5, record_states=True),
        "float64_chunks": lambda: pgd(prob, W, A, sched, 0.1, seed=3, chains=5, chunk_size=2,
                                         record_every=7),
        "ball": lambda: pgd(prob, W[0], A[0], sched, 0.2, seed=4, chains=6, noise="ball"),
        "free": lambda: pgd(odd, [1.0, 0.2, -0.3], [0.5, 0.5], sched, 0.05, seed=5,
                               chains=4, normalized=False, record_states=True),
        "minibatch": lambda: pgd(prob, W, A, sched, 0.05, seed=6, chains=5, gradient=4),
        "reduced": lambda: pgd(prob, W, A, sched, 0.1, seed=7, chains=5, reduced=True,
                                  record_states=True),
        "reduced_ball_free": lambda: pgd(odd, [1.0, 0.2, -0.3], [0.5, 0.5], sched, 0.05,
                                            seed=8, chains=4, reduced=True, noise="ball",
                                            normalized=False),
        "workers": lambda: pgd(prob, W, A, sched, 0.1, seed=3, chains=5, workers=2),
        "diverging": lambda: pgd(prob, W, A, vp.Schedule([(3.0, 40)]), 0.9, seed=9,
                                    chains=5, normalized=False, divergence_bound=50.0),
        "mp": lambda: pgd(odd, [1.0, 0.2, -0.3], [0.5, 0.5], vp.Schedule([(0.3, 8), (0.0, 4)]),
                             0.1, seed=2, chains=2, precision=30, record_states=True),
        "arb": lambda: pgd(prob, W[:2], A[:2], vp.Schedule([(0.3, 8), (0.0, 4)]), 0.1,
                              seed=2, chains=2, precision="arb:128", record_states=True),
        "arb_ball_free": lambda: pgd(odd, [1.0, 0.2, -0.3], [0.5, 0.5],
                                        vp.Schedule([(0.3, 6), (0.0, 3)]), 0.1, seed=1,
                                        chains=2, precision="arb:100", noise="ball",
                                        normalized=False),
        "hits_float64": lambda: pgd(odd, odd.w_star + 0.01, odd.s * odd.a_star + 0.01,
                                       vp.Schedule([(0.001, 20), (0.0, 120)]), 0.3, seed=1,
                                       chains=3, eps=1e-4),
        "hits_mp": lambda: pgd(odd, odd.w_star + 0.01, odd.s * odd.a_star + 0.01,
                                  vp.Schedule([(0.001, 20), (0.0, 120)]), 0.3, seed=1,
                                  chains=2, eps=1e-4, precision=20, record_every=10),
        "hits_arb": lambda: pgd(odd, odd.w_star + 0.01, odd.s * odd.a_star + 0.01,
                                   vp.Schedule([(0.001, 20), (0.0, 15)]), 0.3, seed=1,
                                   chains=1, eps=1e-4, precision="arb:128", record_every=10),
    }


def digest(res) -> str:
    h = hashlib.sha256()
    for name in ("w", "a", "hit_step", "diverged", "diverged_step"):
        arr = np.ascontiguousarray(getattr(res, name))
        h.update(name.encode() + str(arr.dtype).encode() + str(arr.shape).encode() + arr.tobytes())
    hist = res.history
    for name in ("step", "loss", "theta", "a_error", "w", "a", "w_rad", "a_rad"):
        arr = getattr(hist, name)
        if arr is None:
            h.update(b"none:" + name.encode())
        else:
            arr = np.ascontiguousarray(arr)
            h.update(name.encode() + str(arr.dtype).encode() + str(arr.shape).encode() + arr.tobytes())
    h.update(json.dumps(res.exact, sort_keys=True).encode())
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(_calls()))
def test_old_call_is_bit_identical_to_the_stored_digest(name):
    stored = json.loads(DATA.read_text())
    assert digest(_calls()[name]()) == stored[name]


def test_digest_sees_a_one_ulp_change():
    # negative control: the digest is not blind to the last bit of one history value
    res = _calls()["float64"]()
    d = res.to_dict()
    loss = np.array(d["history"]["loss"])
    loss[3, 1] = np.nextafter(loss[3, 1], np.inf)
    d["history"]["loss"] = loss.tolist()
    assert digest(type(res).from_dict(d)) != digest(res)


if __name__ == "__main__":
    DATA.write_text(json.dumps({k: digest(f()) for k, f in sorted(_calls().items())}, indent=1) + "\n")
    print("wrote", DATA)
