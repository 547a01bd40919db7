"""Schedule: validation, sigma as a pure function of the step, constructors, serialisation."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import verified_pgd as vp
from verified_pgd.schedule import Schedule


def test_sigma_at_and_call_follow_stages():
    s = Schedule([(1.0, 3), (0.5, 2), (0.0, 4)])
    assert s.total_steps == 9
    expected = [1.0] * 3 + [0.5] * 2 + [0.0] * 4
    assert [s.sigma_at(t) for t in range(9)] == expected
    assert [s(t) for t in range(9)] == expected
    assert s.sigmas().tolist() == expected
    assert s.boundaries() == (0, 3, 5, 9)
    assert vp.Schedule is Schedule


@pytest.mark.parametrize("stages, name", [
    ([], "stages"), ([(-1.0, 3)], "sigma"), ([(math.nan, 3)], "sigma"), ([(math.inf, 3)], "sigma"),
    ([(1.0, 0)], "steps"), ([(1.0, 2.5)], "steps"), ([(0.1, 3), (0.2, 3)], "sigma"),
    ([(1.0,)], "stages"), ("abc", "stages"), ([("x", 3)], "sigma"), ([(1.0, True)], "steps"),
])
def test_invalid_stages_name_the_parameter(stages, name):
    with pytest.raises((ValueError, TypeError)) as exc:
        Schedule(stages)
    assert str(exc.value).startswith(name)


@pytest.mark.parametrize("t", [-1, 5, 1.0, True])
def test_sigma_at_rejects_out_of_range_steps(t):
    with pytest.raises((ValueError, TypeError)) as exc:
        Schedule.constant(0.1, 5)(t)
    assert str(exc.value).startswith("t:")


def test_immutable_and_value_semantics():
    s = Schedule.constant(0.3, 10)
    with pytest.raises(AttributeError):
        s.foo = 1
    assert s == Schedule([(0.3, 10)]) and hash(s) == hash(Schedule([(0.3, 10)]))
    assert s != Schedule([(0.3, 11)])


def test_geometric_levels_and_final_stage():
    s = Schedule.geometric(1.0, 1e-3, stages=4, steps_per_stage=10, final_steps=7)
    levels = [sig for sig, _ in s.stages]
    assert levels[0] == 1.0 and levels[3] == 1e-3 and levels[-1] == 0.0
    ratios = [levels[i + 1] / levels[i] for i in range(3)]
    assert np.allclose(ratios, 0.1, rtol=1e-12)
    assert s.total_steps == 47
    assert Schedule.geometric(1.0, 0.5, 2, 5).stages[-1] == (0.0, 5)   # default final = steps_per_stage
    assert Schedule.geometric(1.0, 0.5, 2, 5, final_steps=0).stages[-1] == (0.5, 5)
    for bad in [dict(sigma0=0.0), dict(sigma_end=2.0), dict(stages=0), dict(final_steps=-1)]:
        kw = dict(sigma0=1.0, sigma_end=0.1, stages=3, steps_per_stage=5) | bad
        with pytest.raises((ValueError, TypeError)):
            Schedule.geometric(**kw)


def test_piecewise_forms_agree():
    a = Schedule.piecewise((0.5, 2), (0.1, 3))
    b = Schedule.piecewise([(0.5, 2), (0.1, 3)])
    assert a == b == Schedule([(0.5, 2), (0.1, 3)])


@given(st.lists(st.tuples(st.floats(0, 10), st.integers(1, 50)), min_size=1, max_size=6))
def test_roundtrip_and_pure_function(stages):
    stages = sorted(stages, key=lambda x: -x[0])
    s = Schedule(stages)
    s2 = Schedule.from_dict(json.loads(json.dumps(s.to_dict())))
    assert s2 == s
    sig = s.sigmas()
    assert len(sig) == s.total_steps == sum(n for _, n in stages)
    assert np.all(np.diff(sig) <= 0)
    for t in range(0, s.total_steps, 7):
        assert s(t) == sig[t] == s2(t)
