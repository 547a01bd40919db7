"""Options end to end: `vpgd solve` flags and `vpgd sweep` grids reach the solver.

Each CLI run is compared, bit for bit, with ``vp.pgd`` called directly with the option
it names.  Each option changes the trajectory (checked: the run without it differs), so
an option dropped on the way (CLI -> task -> run_task -> vp.pgd) fails the comparison.
"""
import json

import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd.cli import main

W_STAR, A_STAR = [1.0, 0.0, 0.0], [1.0, 1.0, -1.0]
W0, A0 = [0.2, -1.0, 0.3], [0.1, 0.4, -0.2]
SIGMA, STEPS, ETA, SEED, CHAINS, EPS = 0.5, 20, 0.05, 3, 3, 0.01

# (CLI flags, vp.pgd keywords): each row is one option away from the defaults
OPTIONS = [
    ([], {}),
    (["--free"], {"normalized": False}),
    (["--noise", "ball"], {"noise": "ball"}),
    (["--gradient", "4"], {"gradient": 4}),
    (["--precision", "30"], {"precision": 30}),
    (["--free", "--noise", "ball", "--gradient", "2"],
     {"normalized": False, "noise": "ball", "gradient": 2}),
]


def api(**kw):
    prob = vp.Problem(W_STAR, A_STAR)
    return vp.pgd(prob, W0, A0, vp.Schedule([(SIGMA, STEPS)]), ETA, seed=SEED, chains=CHAINS,
                  eps=EPS, **kw)


def solve(tmp_path, flags):
    out = tmp_path / "solve.json"
    argv = ["solve", "--w-star", ",".join(map(str, W_STAR)), "--a-star", ",".join(map(str, A_STAR)),
            "--w0", ",".join(map(str, W0)), "--a0", ",".join(map(str, A0)),
            "--sigma", str(SIGMA), "--steps", str(STEPS), "--eta", str(ETA), "--seed", str(SEED),
            "--chains", str(CHAINS), "--eps", str(EPS), "--out", str(out), *flags]
    assert main(argv) == 0
    return json.loads(out.read_text())["result"]


def same(doc, res):
    h = res.history
    return (doc["theta"] == h.theta[-1].tolist() and doc["loss"] == h.loss[-1].tolist()
            and doc["a_error"] == h.a_error[-1].tolist()
            and doc["hit_step"] == res.hit_step.tolist()
            and doc["diverged"] == res.diverged.tolist())


@pytest.mark.parametrize("flags, kw", OPTIONS, ids=[" ".join(f) or "defaults" for f, _ in OPTIONS])
def test_solve_flags_reach_the_solver(tmp_path, flags, kw):
    doc = solve(tmp_path, flags)
    assert same(doc, api(**kw))
    if kw:   # negative control: the option matters, so dropping it would be seen
        assert not same(doc, api())


def test_solve_record_every_gives_the_history_of_the_api_run(tmp_path):
    out = tmp_path / "s.json"
    assert main(["solve", "--w0", "0.3,-1,0.5,0.2", "--a0", "0.2,-0.1,0.4,0.3",
                 "--schedule", "0.4:30,0:10", "--eta", "0.1", "--seed", "7", "--chains", "2",
                 "--record-every", "7", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    eps = doc["task"]["solver"]["eps"]
    res = vp.pgd(vp.Problem([1.0, 0, 0, 0], [1.0, 1, 1, -1]), [0.3, -1, 0.5, 0.2],
                 [0.2, -0.1, 0.4, 0.3], vp.Schedule([(0.4, 30), (0.0, 10)]), 0.1, seed=7,
                 chains=2, record_every=7, eps=eps)
    hist = doc["result"]["history"]
    assert hist["step"] == res.history.step.tolist() == [0, 7, 14, 21, 28, 35, 40]
    assert hist["theta"] == res.history.theta.tolist()
    assert hist["a_error"] == res.history.a_error.tolist()


SWEEP = """
seed = 5
[sweep]
replicates = 1
[task.problem]
w_star = [1.0, 0.0, 0.0]
a_star = [1.0, 1.0, -1.0]
[task.init]
kind = "explicit"
w = [0.2, -1.0, 0.3]
a = [0.1, 0.4, -0.2]
[task.schedule]
kind = "stages"
stages = [[0.5, 20], [0.0, 5]]
[task.solver]
eta = 0.05
chains = 3
eps = 0.01
[grid.solver]
normalized = [true, false]
noise = ["gaussian", "ball"]
gradient = ["population", 3]
"""


def test_sweep_grid_options_reach_the_solver(tmp_path):
    conf = tmp_path / "sw.toml"
    conf.write_text(SWEEP)
    out = tmp_path / "res.json"
    assert main(["sweep", str(conf), "--db", str(tmp_path / "sw.sqlite"), "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert len(doc["tasks"]) == 8
    prob = vp.Problem(W_STAR, A_STAR)
    seen = set()
    for t in doc["tasks"]:
        sol = t["task"]["solver"]
        res = vp.pgd(prob, W0, A0, vp.Schedule([(0.5, 20), (0.0, 5)]), 0.05, seed=t["seed"],
                     chains=3, eps=0.01, normalized=sol["normalized"], noise=sol["noise"],
                     gradient=sol["gradient"])
        assert same(t["result"], res), sol
        seen.add(tuple(t["result"]["theta"]))
    assert len(seen) == 8   # every grid point is a different run


def test_solve_summary_never_counts_a_diverged_chain():
    from verified_pgd.commands.solve import summarize
    task = {"solver": {"eps": 1e-3}}
    result = {"chains": 4, "theta": [1e-4, 1e-4, None, 0.5], "a_error": [1e-4, 1e-4, None, 1e-4],
              "hit_step": [10, 12, 5, -1], "diverged": [False, True, True, False]}
    summ = summarize(task, result)["summary"]
    assert summ["final_success_rate"] == 0.25 and summ["ever_success_rate"] == 0.25
    assert summ["diverged"] == 2
