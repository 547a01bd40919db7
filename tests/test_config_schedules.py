"""Task files with per-stage (eta, sigma_w, sigma_a) schedules, and the one geometric
sequence behind Schedule.geometric, Schedule.epochs and the config's ``geometric`` kind."""
import tomllib

import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import config as cfg
from verified_pgd import sweep
from verified_pgd.config import task as task_mod
from verified_pgd.solver import schedule as sched_mod
from verified_pgd.solver.schedule import Schedule, Stage, geometric_levels

from .test_old_call_digests import digest

TASK = """
seed = 3
[problem]
w_star = [1.0, 0.0, 0.0]
a_star = [1.0, 1.0, -1.0]
[init]
kind = "spurious"
[solver]
chains = 3
record_every = 25
[schedule]
kind = "stages"
[[schedule.stages]]
steps = 60
eta = 0.1
sigma_w = 0.5
sigma_a = 0.3
[[schedule.stages]]
steps = 40
eta = 0.05
sigma_w = 0.2
sigma_a = 0.0
[[schedule.stages]]
steps = 50
eta = 0.05
sigma_w = 0.0
sigma_a = 0.0
"""
DIRECT = Schedule([Stage(60, 0.1, 0.5, 0.3), Stage(40, 0.05, 0.2, 0.0), Stage(50, 0.05, 0.0, 0.0)])


def _run_capturing(task, monkeypatch):
    """run_task's summary and the Result its vp.pgd call returned."""
    seen = []
    real = vp.pgd

    def spy(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]
    monkeypatch.setattr(vp, "pgd", spy)
    out = sweep.run_task(task)
    assert len(seen) == 1
    return out, seen[0]


def test_task_file_stages_give_bitwise_the_result_of_vp_pgd(monkeypatch):
    task = cfg.validate_task(tomllib.loads(TASK))
    assert task["solver"]["eta"] is None
    problem, schedule = sweep.check_task(task)
    assert schedule == DIRECT and schedule.has_eta
    out, via_file = _run_capturing(task, monkeypatch)
    w0, a0 = sweep.initial_state(problem, task["init"], 3, 3)
    direct = vp.pgd(vp.Problem([1.0, 0.0, 0.0], [1.0, 1.0, -1.0]), w0, a0, DIRECT, seed=3,
                    chains=3, record_every=25, eps=task["solver"]["eps"])
    assert digest(via_file) == digest(direct)
    assert out["theta"] == direct.history.theta[-1].tolist()
    assert out["steps"] == 150


def test_a_changed_stage_changes_the_result(monkeypatch):
    """Negative control: the comparison above sees one stage's eta."""
    raw = tomllib.loads(TASK)
    raw["schedule"]["stages"][1]["eta"] = 0.05 * (1 + 2 ** -40)
    _, changed = _run_capturing(cfg.validate_task(raw), monkeypatch)
    _, same = _run_capturing(cfg.validate_task(tomllib.loads(TASK)), monkeypatch)
    assert digest(changed) != digest(same)


def test_epochs_and_zhou2019_kinds_are_schedules_constructors():
    base = {"solver": {"chains": 1}}
    t = cfg.validate_task({**base, "schedule": {"kind": "zhou2019"}})
    assert cfg.build_schedule(t["schedule"]) == Schedule.zhou2019()
    ep = {"kind": "epochs", "epochs": 3, "steps_per_epoch": 7, "eta0": 0.2, "eta_decay": 0.9,
          "sigma_w0": 2.0, "sigma_a0": 1.0, "sigma_decay": 0.5, "final_steps": 4,
          "final_eta": 0.01}
    t = cfg.validate_task({**base, "schedule": ep})
    assert cfg.build_schedule(t["schedule"]) == Schedule.epochs(3, 7, 0.2, 0.9, 2.0, 1.0, 0.5,
                                                                final_steps=4, final_eta=0.01)
    # tables without eta: the run's eta, separate noise levels on w and a
    t = cfg.validate_task({"solver": {"eta": 0.1}, "schedule": {"kind": "stages", "stages": [
        {"steps": 5, "sigma_w": 1.0, "sigma_a": 0.5}, {"steps": 5, "sigma_w": 0.0, "sigma_a": 0.0}]}})
    assert cfg.build_schedule(t["schedule"]) == Schedule([Stage(5, None, 1.0, 0.5),
                                                          Stage(5, None, 0.0, 0.0)])


def _stages(*rows):
    return {"kind": "stages", "stages": list(rows)}


ROW = {"steps": 10, "eta": 0.1, "sigma_w": 0.5, "sigma_a": 0.5}
BAD = [
    ({"solver": {"eta": 0.1}, "schedule": _stages(ROW)},
     "config: solver.eta: must be absent: the schedule's stages carry their own eta"),
    ({"solver": {}, "schedule": _stages({**ROW, "eta": 0.0})},
     r"config: schedule.stages\[0\].eta: must be a finite number > 0"),
    ({"solver": {}, "schedule": _stages(ROW, {**ROW, "sigma_a": 0.6})},
     r"config: schedule.stages\[1\].sigma_a: must be non-increasing"),
    ({"solver": {}, "schedule": _stages(ROW, {"steps": 3, "sigma_w": 0.1, "sigma_a": 0.1})},
     r"config: schedule.stages\[1\].eta: must be given in every stage or in none"),
    ({"solver": {}, "schedule": _stages(ROW, [0.1, 3])},
     r"config: schedule.stages\[1\]: must be a table"),
    ({"solver": {}, "schedule": _stages({**ROW, "sigma": 1.0})},
     r"config: schedule.stages\[0\].sigma: unknown key"),
    ({"solver": {}, "schedule": _stages({**ROW, "steps": 2.5})},
     r"config: schedule.stages\[0\].steps: must be an integer >= 1"),
    ({"solver": {}, "schedule": _stages({"eta": 0.1, "sigma_w": 0.1, "sigma_a": 0.1})},
     r"config: schedule.stages\[0\].steps: is required"),
    ({"solver": {}, "schedule": {"kind": "stages", "stages": [{**ROW, "sigma_w": "1"}]}},
     r"config: schedule.stages\[0\].sigma_w: must be a finite number >= 0.0, got '1'"),
    ({"solver": {}, "schedule": {"kind": "epochs", "epochs": 2, "steps_per_epoch": 3,
                                 "eta0": 0.1, "eta_decay": 0.9, "sigma_w0": 1.0,
                                 "sigma_a0": 1.0, "sigma_decay": 1.5}},
     r"config: schedule.sigma_decay: must be a finite number in \[0.0, 1.0\]"),
    ({"solver": {}, "schedule": {"kind": "epochs", "epochs": 2, "steps_per_epoch": 3,
                                 "eta0": 0.1, "eta_decay": 0.9, "sigma_w0": 1.0,
                                 "sigma_a0": 1.0, "sigma_decay": 0.5, "final_eta": 0.1}},
     r"config: schedule.final_eta: needs final_steps >= 1"),
    ({"solver": {}, "schedule": {"kind": "epochs", "epochs": 2}},
     r"config: schedule.steps_per_epoch: is required"),
    ({"solver": {}, "schedule": {"kind": "zhou2019", "steps": 3}},
     r"config: schedule.steps: is not a key of a 'zhou2019' schedule"),
    ({"solver": {}, "schedule": {"kind": "stages", "stages": [[0.1, 3]]}},
     r"config: solver.eta: is required"),
]


@pytest.mark.parametrize("raw, message", BAD)
def test_bad_stage_tables_name_the_key(raw, message):
    with pytest.raises(ValueError, match="^" + message):
        cfg.validate_task(raw)


def test_run_configuration_keeps_noise_only_schedules(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[experiments.e2.schedule]\nkind = 'zhou2019'\n")
    with pytest.raises(ValueError, match=r"^config: experiments.e2.schedule.kind: 'zhou2019' "
                                         r"\(per-stage eta, sigma_w, sigma_a\) is only"):
        cfg.load_run(p)
    with pytest.raises(ValueError, match=r"has no \(sigma, steps\) form"):
        cfg.schedule_stages({"kind": "zhou2019"})


def test_solve_cli_runs_a_stage_table_file_without_eta(tmp_path, capsys):
    import json
    from verified_pgd import cli
    p = tmp_path / "t.toml"
    p.write_text(TASK.replace("chains = 3", "chains = 1"))
    assert cli.main(["solve", "--config", str(p)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"]["schedule"]["stages"][0] == ROW | {"steps": 60, "sigma_a": 0.3}
    assert out["result"]["steps"] == 150


# ----------------------------------------------------------------------------- geometric

def _config_geometric(sigma0, factor, n, steps, final_fraction):
    spec = cfg.schedule_spec({"kind": "geometric", "sigma0": sigma0, "factor": factor,
                              "n_stages": n, "steps": steps, "final_fraction": final_fraction})
    return cfg.schedule_stages(spec)


GRID = [(s0, f, n) for s0 in (0.8, 1.0, 0.3, 2.5) for f in (0.5, 0.6, 0.25, 0.9, 0.1)
        for n in (1, 2, 3, 5, 7)]


@pytest.mark.parametrize("s0, f, n", GRID)
def test_config_geometric_agrees_with_schedule_geometric(s0, f, n):
    """The two parametrisations of one sequence sigma0 * rho ** (i / m): the config's
    (rho = factor per stage, m = 1, a budget split) and Schedule.geometric's (rho =
    sigma_end / sigma0 over m = n - 1 stages, sigma_end pinned).  Same stage lengths; the
    levels differ only by the rounding of the two exponent forms (<= 4 ulp), and not at
    all for n <= 2."""
    L, tail = 10, 6
    a = _config_geometric(s0, f, n, n * L + tail, tail / (n * L + tail))
    b = [(st.sigma_w, st.steps) for st in
         Schedule.geometric(s0, s0 * f ** (n - 1), n, L, final_steps=tail).stages]
    assert [x[1] for x in a] == [x[1] for x in b]
    assert a[-1] == b[-1] == (0.0, tail)
    assert np.allclose([x[0] for x in a], [x[0] for x in b], rtol=4 * 2.0 ** -52, atol=0)
    if n <= 2:
        assert a == b


@pytest.mark.parametrize("s0, f, n", GRID)
def test_config_geometric_levels_are_unchanged(s0, f, n):
    """Bitwise the config's former formula sigma0 * factor ** i (existing files' results
    stay the same), and Schedule.epochs' former x * d ** e."""
    a = _config_geometric(s0, f, n, 7 * n + 3, 0.25)
    assert [x[0] for x in a[:n]] == [s0 * f ** i for i in range(n)]
    ep = Schedule.epochs(n, 3, 0.1, f, s0, s0 / 2, f).stages
    assert [st.eta for st in ep] == [0.1 * f ** e for e in range(n)]
    assert [st.sigma_a for st in ep] == [s0 / 2 * f ** e for e in range(n)]


def test_all_three_geometric_builders_use_the_one_sequence(monkeypatch):
    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        return geometric_levels(*args, **kwargs)
    monkeypatch.setattr(sched_mod, "geometric_levels", spy)
    monkeypatch.setattr(task_mod, "geometric_levels", spy)
    Schedule.geometric(1.0, 0.1, 3, 5)
    Schedule.epochs(2, 3, 0.1, 0.9, 1.0, 1.0, 0.5)
    _config_geometric(0.8, 0.5, 3, 40, 0.25)
    assert calls == [(1.0, 0.1, 3), (0.1, 0.9, 2), (1.0, 0.5, 2), (1.0, 0.5, 2),
                     (0.8, 0.5, 3)]


def test_geometric_levels_clamp_only_when_annealing():
    assert geometric_levels(1.0, 2.0, 3) == [1.0, 2.0, 4.0]            # an increasing eta
    assert geometric_levels(1.0, 0.5, 3, end=0.2) == [1.0, 0.5, 0.2]
    assert geometric_levels(1.0, 0.5, 3, end=0.9) == [1.0, 0.5, 0.5]   # never up when annealing
