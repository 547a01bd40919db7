"""vp.pgd validates sizes and choices before allocating: each hostile argument is a
ValueError naming the parameter (and the limit's variable), never numpy's message or
minutes of work; the same call with a sane value runs (control)."""
import numpy as np
import pytest

import verified_pgd as vp

PROB = vp.Problem.default()


@pytest.mark.parametrize("kw, words", [
    (dict(noise=np.array([1, 2])), ["noise", "ndarray"]),
    (dict(noise="laplace"), ["noise", "'gaussian'"]),
    (dict(precision=10 ** 6), ["precision", "VPGD_MAX_DPS"]),
    (dict(precision="arb:99999999999999"), ["precision", "VPGD_MAX_ARB_BITS"]),
    (dict(precision="arb:" + "9" * 40), ["precision", "bits"]),
    (dict(steps=10 ** 12, record_every=1), ["steps", "VPGD_MAX_STEPS"]),
    (dict(steps=10 ** 7, record_every=1, chains=100), ["record_every", "VPGD_MAX_HISTORY"]),
])
def test_hostile_arguments_are_refused_naming_the_parameter(kw, words):
    steps = kw.pop("steps", 10)
    with pytest.raises(ValueError) as info:
        vp.pgd(PROB, [1, 0, 0, 0], [1, 1, 1, 1], vp.Schedule.constant(0.1, steps), eta=0.1, **kw)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_control_sane_values_run():
    res = vp.pgd(PROB, [1, 0, 0, 0], [1, 1, 1, 1], vp.Schedule.constant(0.1, 10), eta=0.1,
                 noise="ball", precision=20, record_every=1)
    assert res.history.theta.shape[0] == 11


def test_one_eps_default_everywhere():
    """vp.pgd, the solver's configuration builder and a task file without [solver] eps
    all use _validate.DEFAULT_EPS."""
    import inspect

    from verified_pgd._validate import DEFAULT_EPS
    from verified_pgd.config.task import solver_spec
    from verified_pgd.solver import config as solver_config
    for fn in (vp.pgd, solver_config.build_config):
        assert inspect.signature(fn).parameters["eps"].default == DEFAULT_EPS, fn
    assert solver_spec({"eta": 0.1})["eps"] == DEFAULT_EPS
