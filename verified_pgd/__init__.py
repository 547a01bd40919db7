"""verified_pgd — a verification-backed testbed for perturbed gradient descent on a
two-layer non-overlapping convolutional ReLU network with Gaussian inputs.

    import verified_pgd as vp
    prob = vp.Problem(w_star, a_star)
    vp.loss(prob, w, a); vp.grad(prob, w, a); vp.hessian(prob, w, a)       # float64, batched
    vp.loss_mp(prob, w, a, dps=50); vp.grad_mp(...); vp.hessian_mp(...)    # mpmath reference

See DESIGN.md for the model and docs/theory.md for the derivations.
"""
from .problem import Problem
from .evaluate import grad, grad_mp, hessian, hessian_mp, loss, loss_mp, theta

__version__ = "0.1.0"

__all__ = ["Problem", "loss", "grad", "hessian", "theta", "loss_mp", "grad_mp", "hessian_mp",
           "__version__"]


def __getattr__(name):
    # Solvers and schedules are imported lazily so `import verified_pgd` stays cheap.
    if name in ("Schedule", "Stage", "pgd", "rerun"):
        from . import solver
        return getattr(solver, name)
    raise AttributeError(f"module 'verified_pgd' has no attribute {name!r}")
