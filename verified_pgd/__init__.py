"""verified_pgd — a verification-backed testbed for perturbed gradient descent on a
two-layer non-overlapping convolutional ReLU network with Gaussian inputs.

    import verified_pgd as vp
    prob = vp.Problem(w_star, a_star)
    vp.loss(prob, w, a); vp.grad(prob, w, a); vp.hessian(prob, w, a)       # float64, batched
    vp.loss_mp(prob, w, a, dps=50); vp.grad_mp(...); vp.hessian_mp(...)    # mpmath reference

    vp.pgd(prob, w0, a0, schedule, eta, seed=0, chains=100)                # -> vp.Result
    vp.theory.barrier(prob); vp.theory.barrier(prob, backend="arb", dps=50)

``eps`` (eps-success: theta <= eps and relative a-error <= eps) defaults to 1e-6
everywhere (``verified_pgd._validate.DEFAULT_EPS``).  See docs/design.md for the model
and docs/theory.md for the derivations.
"""
from .problem import Problem
from .evaluate import grad, grad_mp, hessian, hessian_mp, loss, loss_mp, theta, theta_mp

__version__ = "0.1.0"

# Exactly the public names (tests/test_public_api.py checks dir() against this list).
# Solvers, results and the theory are imported lazily so `import verified_pgd` stays cheap.
__all__ = ["Problem", "loss", "grad", "hessian", "theta", "loss_mp", "grad_mp", "hessian_mp",
           "theta_mp", "pgd", "rerun", "pgd_restarts", "Schedule", "Stage", "Result", "theory",
           "__version__"]

_LAZY = {"pgd": ("solver", "pgd"), "rerun": ("solver", "rerun"),
         "pgd_restarts": ("restarts", "pgd_restarts"),
         "Schedule": ("solver", "Schedule"), "Stage": ("solver", "Stage"),
         "Result": ("solver", "Result"), "theory": ("theory", None)}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        mod, attr = _LAZY[name]
        m = importlib.import_module(f".{mod}", __name__)
        return m if attr is None else getattr(m, attr)
    raise AttributeError(f"module 'verified_pgd' has no attribute {name!r}")


def __dir__():
    # Submodules become attributes when imported; dir() lists the public contract only.
    return sorted(__all__)
