"""Core evaluation: batching and number systems agree (the finer checks live in
test_accuracy.py and test_verification.py)."""
import numpy as np
import pytest

import verified_pgd as vp


def test_batched_equals_unbatched_bitwise():
    rng = np.random.default_rng(1)
    prob = vp.Problem(rng.normal(size=5), rng.normal(size=3))
    W, A = rng.normal(size=(7, 5)), rng.normal(size=(7, 3))
    L = vp.loss(prob, W, A)
    gw, ga = vp.grad(prob, W, A)
    H = vp.hessian(prob, W, A)
    for i in range(7):
        assert L[i] == vp.loss(prob, W[i], A[i])
        gwi, gai = vp.grad(prob, W[i], A[i])
        assert np.array_equal(gw[i], gwi) and np.array_equal(ga[i], gai)
        assert np.array_equal(H[i], vp.hessian(prob, W[i], A[i]))


def test_hessian_symmetric_and_float_matches_mp():
    rng = np.random.default_rng(2)
    prob = vp.Problem(rng.normal(size=4), rng.normal(size=4))
    w, a = rng.normal(size=4), rng.normal(size=4)
    for riem in (False, True):
        H = vp.hessian(prob, w, a, riemannian=riem)
        Hm = np.array(vp.hessian_mp(prob, w, a, dps=30, riemannian=riem), dtype=float)
        assert np.allclose(H, H.T, rtol=0, atol=1e-14 * np.abs(H).max())
        assert np.allclose(H, Hm, rtol=1e-12, atol=1e-13 * np.abs(Hm).max())


def test_w_zero_is_refused():
    prob = vp.Problem([1.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="^w: w = 0"):
        vp.loss(prob, [0.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="w = 0"):
        vp.loss_mp(prob, [0, 0], [1])
