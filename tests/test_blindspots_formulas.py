"""formulas details the accuracy tests do not pin down (mutation survivors, docs/testing.md):
the Geometry record's fields, broadcasting of one state against a batch, the default of
``riemannian``, and the textbook loss L1 (kept as a negative example) away from where it
cancels."""
import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import formulas
from verified_pgd.backends import Float64

B = Float64()
PROB = vp.Problem([0.6, -0.8, 0.0], [1.0, 1.0, -1.0, 0.5])


def test_geometry_record_fields():
    g = np.random.default_rng(0)
    w = g.standard_normal((5, 3)) * 3
    G = formulas.geometry(B, PROB.w_hat_star, w)
    w_hat = w / np.linalg.norm(w, axis=1)[:, None]
    assert np.allclose(G.u, np.linalg.norm(w, axis=1), rtol=1e-15)
    assert np.allclose(G.w_hat, w_hat, atol=1e-15)
    assert np.allclose(G.d, PROB.w_hat_star - w_hat, atol=1e-15)
    cos = w_hat @ PROB.w_hat_star
    assert np.allclose(G.nd2, 2 - 2 * cos, atol=1e-14)
    assert np.allclose(G.theta, np.arccos(cos), atol=1e-7)
    assert np.allclose(G.t, PROB.w_hat_star - cos[:, None] * w_hat, atol=1e-14)


@pytest.mark.parametrize("riemannian", [False, True])
def test_hessian_broadcasts_one_state_against_a_batch(riemannian):
    g = np.random.default_rng(1)
    W, A = g.standard_normal((4, 3)), g.standard_normal((4, 4))
    Hw = vp.hessian(PROB, W, A[0], riemannian=riemannian)          # batch of w, one a
    Ha = vp.hessian(PROB, W[0], A, riemannian=riemannian)          # one w, batch of a
    assert Hw.shape == Ha.shape == (4, 7, 7)
    for i in range(4):
        assert np.allclose(Hw[i], vp.hessian(PROB, W[i], A[0], riemannian=riemannian), rtol=1e-13, atol=1e-15)
        assert np.allclose(Ha[i], vp.hessian(PROB, W[0], A[i], riemannian=riemannian), rtol=1e-13, atol=1e-15)


def test_riemannian_defaults_to_false():
    g = np.random.default_rng(2)
    w, a = g.standard_normal((3, 3)), g.standard_normal((3, 4))
    args = (B, PROB.w_hat_star, PROB.a_star, PROB.s, w, a)
    for f in (formulas.grad, formulas.hessian):
        plain, proj = f(*args, riemannian=False), f(*args, riemannian=True)
        dflt = f(*args)
        flat = lambda v: np.concatenate([np.ravel(x) for x in (v if isinstance(v, tuple) else (v,))])
        assert np.array_equal(flat(dflt), flat(plain)) and not np.allclose(flat(dflt), flat(proj))
    gw, ga, _, _ = formulas.grad_and_geometry(*args)
    assert np.array_equal(gw, formulas.grad(*args, riemannian=False)[0])


def test_textbook_loss_equals_l2_away_from_the_optimum_batched():
    g = np.random.default_rng(3)
    w, a = g.standard_normal((50, 3)) * 2, g.standard_normal((50, 4))
    l1 = formulas.loss_l1(B, PROB.w_hat_star, PROB.a_star, PROB.s, w, a)
    assert l1.shape == (50,)
    assert np.allclose(l1, vp.loss(PROB, w, a), rtol=1e-10, atol=0)


def test_textbook_loss_is_finite_at_the_antipode():
    # w = -c w*: the rounded cosine can fall below -1, where arccos is NaN without the clip
    g = np.random.default_rng(4)
    below = 0
    for _ in range(200):
        v = g.standard_normal(3)
        prob = vp.Problem(v, [1.0, -1.0, 0.5])
        w = -2.5 * v
        w_hat = w / np.sqrt(B.dot(w, w))
        below += B.dot(w_hat, prob.w_hat_star) < -1
        l1 = formulas.loss_l1(B, prob.w_hat_star, prob.a_star, prob.s, w, np.array([0.3, 0.2, -0.1]))
        assert np.isfinite(l1)
        assert l1 == pytest.approx(vp.loss(prob, w, [0.3, 0.2, -0.1]), rel=1e-9)
    assert below > 0          # the case the clip exists for did occur
