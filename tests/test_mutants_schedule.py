"""Schedule behaviour the other tests left open, found by mutation testing of
``verified_pgd/solver/schedule.py`` (docs/testing.md, "Mutation testing"): the messages of
``Schedule.epochs`` and the stage forms name the parameter and where it sits (the
validation boundary of the user's config), numpy scalars are normalised to the JSON-able
Python types, and ``from_dict`` rejects a non-list ``stages`` with its own message."""
import json
import re

import numpy as np
import pytest

from verified_pgd.solver.schedule import Schedule, Stage

_EP = dict(epochs=3, steps_per_epoch=5, eta0=0.1, eta_decay=0.8, sigma_w0=1.0, sigma_a0=0.5,
           sigma_decay=0.5)


def _epochs(**kw):
    return Schedule.epochs(**{**_EP, **kw})


@pytest.mark.parametrize("kw, exc, message", [
    ({"epochs": 0}, ValueError, "epochs: number of epochs: must be >= 1, got 0"),
    ({"steps_per_epoch": 0}, ValueError, "steps_per_epoch: per epoch: must be >= 1, got 0"),
    ({"steps_per_epoch": 2.0}, TypeError, "steps_per_epoch: per epoch: expected an integer >= 1, got 2.0"),
    ({"eta0": 0.0}, ValueError, "eta0: initial step size: must be > 0, got 0.0"),
    # eta_decay = 0 must be refused by name, also with one epoch (where 0**0 = 1 would
    # otherwise hide it: no later stage has eta = 0 to trip the stage check).
    ({"eta_decay": 0.0}, ValueError, "eta_decay: step-size ratio: must be > 0, got 0.0"),
    ({"eta_decay": 0.0, "epochs": 1}, ValueError, "eta_decay: step-size ratio: must be > 0, got 0.0"),
    ({"sigma_w0": -1.0}, ValueError, "sigma_w0: initial noise on w: must be >= 0, got -1.0"),
    ({"sigma_a0": -1.0}, ValueError, "sigma_a0: initial noise on a: must be >= 0, got -1.0"),
    ({"sigma_a0": "1"}, TypeError, "sigma_a0: initial noise on a: expected a real number, got '1'"),
    ({"sigma_decay": -0.5}, ValueError, "sigma_decay: noise ratio: must be >= 0, got -0.5"),
    ({"final_steps": 4, "final_eta": 0.0}, ValueError, "final_eta: final stage: must be > 0, got 0.0"),
    ({"final_steps": 4, "final_eta": -1.0}, ValueError, "final_eta: final stage: must be > 0, got -1.0"),
    ({"final_steps": 4, "final_eta": "x"}, TypeError, "final_eta: final stage: expected a real number, got 'x'"),
])
def test_epochs_messages_name_parameter_and_role(kw, exc, message):
    with pytest.raises(exc, match="^" + re.escape(message) + "$"):
        _epochs(**kw)


def test_epochs_final_eta_is_used_and_final_stage_is_noise_free():
    s = _epochs(final_steps=4, final_eta=0.01)
    last = s.stages[-1]
    assert (last.steps, last.eta, last.sigma_w, last.sigma_a) == (4, 0.01, 0.0, 0.0)
    # default: the last epoch's eta, eta0 * eta_decay**(epochs - 1)
    assert _epochs(final_steps=4).stages[-1].eta == 0.1 * 0.8 ** 2


@pytest.mark.parametrize("stage, message", [
    ({"steps": 0, "sigma_w": 1.0, "sigma_a": 1.0}, "steps: stage 0: must be >= 1, got 0"),
    ({"steps": 3, "sigma_w": -1.0, "sigma_a": 1.0}, "sigma_w: stage 0: must be >= 0, got -1.0"),
    ({"steps": 3, "sigma_w": 1.0, "sigma_a": -1.0}, "sigma_a: stage 0: must be >= 0, got -1.0"),
    ({"steps": 3, "eta": 0.0, "sigma_w": 1.0, "sigma_a": 1.0}, "eta: stage 0: must be > 0, got 0.0"),
    ("ab", "stages: stage 0 is not a (sigma, steps) pair: 'ab'"),
    (b"ab", "stages: stage 0 is not a (sigma, steps) pair: b'ab'"),
])
def test_stage_dict_and_string_messages_name_the_stage(stage, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        Schedule([stage])


@pytest.mark.parametrize("kw, message", [
    ({"steps": 0}, "steps: stage: must be >= 1, got 0"),
    ({"eta": -1.0}, "eta: stage: must be > 0, got -1.0"),
    ({"sigma_w": -1.0}, "sigma_w: stage: must be >= 0, got -1.0"),
    ({"sigma_a": -1.0}, "sigma_a: stage: must be >= 0, got -1.0"),
])
def test_stage_record_messages(kw, message):
    args = {"steps": 3, "eta": 0.1, "sigma_w": 1.0, "sigma_a": 1.0, **kw}
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        Stage(**args)


def test_stage_normalises_numpy_scalars_to_python_types():
    """A config may hand over numpy scalars; the record keeps Python int/float, so
    ``to_dict`` is JSON-able and equal records hash equal (independent check: json)."""
    st = Stage(np.int64(3), np.float32(0.25), np.float32(0.5), np.float64(0.125))
    assert type(st.steps) is int and type(st.eta) is float
    assert type(st.sigma_w) is float and type(st.sigma_a) is float
    assert json.loads(json.dumps(st.to_dict())) == {"steps": 3, "eta": 0.25, "sigma_w": 0.5,
                                                     "sigma_a": 0.125}
    s = Schedule([st])
    assert json.loads(json.dumps(s.to_dict())) == s.to_dict()


def test_mixed_eta_message_says_what_to_do():
    with pytest.raises(ValueError, match=re.escape(
            "eta: stage 1: given in some stages and not in others "
            "(give every stage its eta, or none and the run's eta)") + "$"):
        Schedule([Stage(3, 0.1, 1.0, 1.0), Stage(3, None, 0.5, 0.5)])


@pytest.mark.parametrize("method", ["sigmas", "sigma_at"])
def test_common_sigma_message_names_the_method(method):
    s = Schedule([Stage(3, 0.1, 1.0, 0.5)])
    call = (lambda: s.sigmas()) if method == "sigmas" else (lambda: s.sigma_at(0))
    with pytest.raises(ValueError, match="^" + re.escape(
            f"{method}: this schedule has sigma_w != sigma_a; use schedule(t) "
            "or the stages' sigma_w / sigma_a") + "$"):
        call()


@pytest.mark.parametrize("raw", ["ab", b"ab", {"a": 1}, 5, None])
def test_from_dict_rejects_non_list_stages(raw):
    with pytest.raises(ValueError, match=r"^schedule: 'stages' must be a list of stages$"):
        Schedule.from_dict({"stages": raw})
