"""Schedule: validation, (eta, sigma_w, sigma_a) as a pure function of the step,
constructors (epochs, zhou2019), serialisation (old dicts still load)."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import verified_pgd as vp
from verified_pgd.schedule import Schedule
from verified_pgd.solver.schedule import Stage, StepParams


def test_sigma_at_and_call_follow_stages():
    s = Schedule([(1.0, 3), (0.5, 2), (0.0, 4)])
    assert s.total_steps == 9
    expected = [1.0] * 3 + [0.5] * 2 + [0.0] * 4
    assert [s.sigma_at(t) for t in range(9)] == expected
    assert [s(t) for t in range(9)] == [StepParams(None, x, x) for x in expected]
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
    levels = [st.sigma_w for st in s.stages]
    assert levels[0] == 1.0 and levels[3] == 1e-3 and levels[-1] == 0.0
    ratios = [levels[i + 1] / levels[i] for i in range(3)]
    assert np.allclose(ratios, 0.1, rtol=1e-12)
    assert s.total_steps == 47
    assert Schedule.geometric(1.0, 0.5, 2, 5).stages[-1] == Stage(5, None, 0.0, 0.0)   # default final = steps_per_stage
    assert Schedule.geometric(1.0, 0.5, 2, 5, final_steps=0).stages[-1] == Stage(5, None, 0.5, 0.5)
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
        assert s(t).sigma_w == s(t).sigma_a == sig[t] == s2(t).sigma_w


# --------------------------------------------------------------------------- (eta, sigma_w, sigma_a)

def test_old_pair_form_is_stage_with_the_runs_eta():
    s = Schedule([(0.5, 2), (0.1, 3)])
    assert s.stages == (Stage(2, None, 0.5, 0.5), Stage(3, None, 0.1, 0.1))
    assert not s.has_eta
    assert s == Schedule([Stage(2, None, 0.5, 0.5), Stage(3, None, 0.1, 0.1)])
    # the old dict format is what it writes, and what it reads
    assert s.to_dict() == {"stages": [[0.5, 2], [0.1, 3]]}
    assert Schedule.from_dict({"stages": [[0.5, 2], [0.1, 3]]}) == s


def test_stage_is_immutable_and_validated():
    st = Stage(3, 0.1, 2.0, 1.0)
    with pytest.raises(AttributeError):
        st.eta = 0.2
    for kw, name in [(dict(eta=0.0), "eta"), (dict(eta=-1.0), "eta"), (dict(eta=math.inf), "eta"),
                     (dict(sigma_w=-1.0), "sigma_w"), (dict(sigma_a=math.nan), "sigma_a"),
                     (dict(steps=0), "steps"), (dict(steps=1.5), "steps"), (dict(eta="x"), "eta")]:
        with pytest.raises((ValueError, TypeError)) as exc:
            Stage(**(dict(steps=3, eta=0.1, sigma_w=1.0, sigma_a=1.0) | kw))
        assert str(exc.value).startswith(name), exc.value


@pytest.mark.parametrize("stages, prefix", [
    ([Stage(2, 0.1, 1.0, 1.0), Stage(2, 0.1, 2.0, 0.5)], "sigma_w: stage 1"),
    ([Stage(2, 0.1, 1.0, 0.5), Stage(2, 0.1, 0.5, 0.7)], "sigma_a: stage 1"),
    ([Stage(2, 0.1, 1.0, 1.0), Stage(2, None, 0.5, 0.5)], "eta: stage 1"),
    ([(1.0, 2), Stage(2, 0.1, 0.5, 0.5)], "eta: stage 1"),
    ([{"steps": 2, "eta": 0.1, "sigma_w": 1.0, "sigma_a": 1.0},
      {"steps": 2, "eta": 0.0, "sigma_w": 1.0, "sigma_a": 1.0}], "eta: stage 1"),
    ([{"steps": 2, "eta": 0.1, "sigma_w": 1.0, "sigma_a": -1.0}], "sigma_a: stage 0"),
    ([{"steps": 2, "eta": 0.1, "sigma_w": 1.0}], "stages: stage 0"),
])
def test_invalid_stage_lists_name_field_and_stage(stages, prefix):
    with pytest.raises((ValueError, TypeError)) as exc:
        Schedule(stages)
    assert str(exc.value).startswith(prefix), exc.value


def test_eta_may_increase_but_each_sigma_is_non_increasing_separately():
    s = Schedule([Stage(2, 0.1, 1.0, 3.0), Stage(2, 0.2, 1.0, 0.5), Stage(1, 0.05, 0.0, 0.5)])
    assert [s(t) for t in range(5)] == [StepParams(0.1, 1.0, 3.0)] * 2 + [
        StepParams(0.2, 1.0, 0.5)] * 2 + [StepParams(0.05, 0.0, 0.5)]
    with pytest.raises(ValueError, match="sigma_at"):
        s.sigma_at(0)           # no single sigma when sigma_w != sigma_a


def test_epochs_follow_the_formula():
    s = Schedule.epochs(5, 7, 0.3, 0.5, 4.0, 2.0, 0.25, final_steps=3)
    assert s.total_steps == 5 * 7 + 3 and s.has_eta
    for e in range(5):
        assert s(7 * e) == s(7 * e + 6) == StepParams(0.3 * 0.5 ** e, 4.0 * 0.25 ** e, 2.0 * 0.25 ** e)
    assert s(35) == StepParams(0.3 * 0.5 ** 4, 0.0, 0.0)              # final stage: last eta
    assert Schedule.epochs(2, 1, 0.3, 0.5, 1, 1, 1, final_steps=1, final_eta=0.01)(2).eta == 0.01
    for kw, name in [(dict(epochs=0), "epochs"), (dict(eta0=0), "eta0"), (dict(eta_decay=-1), "eta_decay"),
                     (dict(sigma_decay=1.5), "sigma_decay"), (dict(sigma_w0=-1), "sigma_w0"),
                     (dict(final_steps=-1), "final_steps"), (dict(final_eta=0.1), "final_eta")]:
        args = dict(epochs=2, steps_per_epoch=3, eta0=0.1, eta_decay=0.8, sigma_w0=1.0,
                    sigma_a0=1.0, sigma_decay=0.5) | kw
        with pytest.raises((ValueError, TypeError)) as exc:
            Schedule.epochs(**args)
        assert str(exc.value).startswith(name), exc.value


def test_zhou2019_is_the_papers_protocol():
    s = Schedule.zhou2019()
    assert s == Schedule.epochs(20, 400, 0.1, 0.8, 36, 1, 0.4)
    assert len(s) == 20 and s.total_steps == 8000
    assert s(0) == StepParams(0.1, 36.0, 1.0)
    assert s(7999) == StepParams(0.1 * 0.8 ** 19, 36.0 * 0.4 ** 19, 0.4 ** 19)
    assert "36" in Schedule.zhou2019.__doc__ and "0.4" in Schedule.zhou2019.__doc__


@given(st.lists(st.tuples(st.integers(1, 30), st.floats(1e-3, 2.0), st.floats(0, 10),
                          st.floats(0, 10)), min_size=1, max_size=6))
def test_full_form_roundtrips_through_json(raw):
    # make each sigma non-increasing
    ws = sorted((r[2] for r in raw), reverse=True)
    as_ = sorted((r[3] for r in raw), reverse=True)
    s = Schedule([Stage(n, eta, w, a) for (n, eta, _, _), w, a in zip(raw, ws, as_)])
    s2 = Schedule.from_dict(json.loads(json.dumps(s.to_dict())))
    assert s2 == s and hash(s2) == hash(s)
    for t in range(0, s.total_steps, 5):
        assert s(t) == s2(t)


def test_pickle_roundtrip():
    import pickle
    s = Schedule.zhou2019()
    assert pickle.loads(pickle.dumps(s)) == s
