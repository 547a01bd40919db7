"""The cases of docs/hostile-input.md, one test each: what each hostile input gets.

Every CLI case runs in-process and must give exit 2 with one line on stderr containing
the documented words (negative controls: the same input made sane is accepted)."""
import io
import json
import math
import os
from contextlib import redirect_stderr, redirect_stdout

import pytest

from verified_pgd.cli import main

BASE_TASK = """
[problem]
w_star = [1.0, 0.0, 0.0, 0.0]
a_star = [1.0, 1.0, 1.0, -1.0]
[init]
kind = "random"
[schedule]
kind = "constant"
sigma = 0.1
steps = 20
[solver]
eta = 0.1
chains = 2
"""

SWEEP = """
[task.problem]
w_star = [1.0, 0.0, 0.0, 0.0]
a_star = [1.0, 1.0, 1.0, -1.0]
[task.init]
kind = "random"
[task.schedule]
kind = "constant"
sigma = 0.1
steps = 20
[task.solver]
eta = 0.1
chains = 2
[grid.solver]
eta = [0.05, 0.1]
"""

CLAIM = """
[[claim]]
name = "c"
quantity = "barrier"
relation = "<="
bound = "{bound}"
constants = {{ C = 1.0 }}
[claim.grid]
k = {k}
"""


def cli(argv, cwd):
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            rc = main([str(a) for a in argv])
    finally:
        os.chdir(old)
    return rc, out.getvalue(), err.getvalue()


def one_line_error(argv, cwd, *words):
    rc, out, err = cli(argv, cwd)
    assert rc == 2, (argv, rc, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    return err


# --------------------------------------------------------------------------- run --quick

@pytest.mark.parametrize("value", ['"many"', "-3", "true", '"10 ** 6"'])
def test_run_quick_validates_like_the_full_run(tmp_path, value):
    (tmp_path / "c.toml").write_text(f"[experiments.e3]\nchains = {value}\n")
    one_line_error(["run", "--quick", "--config", "c.toml", "--out", "r"], tmp_path,
                   "experiments.e3.chains")
    one_line_error(["run", "--config", "c.toml", "--out", "r"], tmp_path,
                   "experiments.e3.chains")
    assert not (tmp_path / "r" / "results.json").exists()


def test_report_refuses_non_finite_headline_numbers():
    from verified_pgd.experiments._common import Section
    from verified_pgd.report import _check_finite_summaries
    ok = Section(id="e1", title="t", text="", summary={"barrier": 0.01})
    _check_finite_summaries([ok])                                    # control
    bad = Section(id="e1", title="t", text="", summary={"barrier": math.inf})
    with pytest.raises(ValueError, match="e1.barrier is inf"):
        _check_finite_summaries([bad])


# --------------------------------------------------------------------------- sweep

def test_sweep_out_refuses_to_overwrite_store_and_config(tmp_path):
    (tmp_path / "g.toml").write_text(SWEEP)
    one_line_error(["sweep", "g.toml", "--out", "g.toml"], tmp_path, "--out", "CONFIG")
    one_line_error(["sweep", "g.toml", "--db", "g.toml"], tmp_path, "--db", "CONFIG")
    one_line_error(["sweep", "g.toml", "--db", "s.sqlite", "--out", "s.sqlite"], tmp_path,
                   "--out", "--db")
    assert (tmp_path / "g.toml").read_text() == SWEEP
    rc, _, err = cli(["sweep", "g.toml", "--db", "s.sqlite", "--out", "r.json", "--quiet"],
                     tmp_path)
    assert rc == 0, err                                              # control
    store = (tmp_path / "s.sqlite").read_bytes()
    one_line_error(["sweep", "g.toml", "--db", "t.sqlite", "--out", "s.sqlite"], tmp_path,
                   "SQLite store")
    assert (tmp_path / "s.sqlite").read_bytes() == store


def test_sweep_workers_capped(tmp_path):
    (tmp_path / "g.toml").write_text(SWEEP)
    one_line_error(["sweep", "g.toml", "--workers", "100000"], tmp_path, "VPGD_MAX_WORKERS")
    from verified_pgd._validate import check_workers
    assert check_workers(2, tasks=1) == 1                            # capped by the tasks


def test_sweep_grid_size_checked_before_expansion(tmp_path):
    grid = "\n".join(f"[grid.{t}]\n{k} = [{', '.join(['0.1'] * 100)}]"
                     for t, k in (("solver", "eta"), ("schedule", "sigma")))
    text = SWEEP.replace("[grid.solver]\neta = [0.05, 0.1]\n", "") + grid + \
        "\n[grid.init]\nscale = [" + ", ".join(["1.0"] * 200) + "]\n"
    (tmp_path / "g.toml").write_text(text)        # 100 * 100 * 200 = 2e6 > 1e6
    one_line_error(["sweep", "g.toml"], tmp_path, "2000000 tasks", "before expansion")


def test_damaged_store_row_named_on_resume(tmp_path):
    import sqlite3
    (tmp_path / "g.toml").write_text(SWEEP)
    rc, _, err = cli(["sweep", "g.toml", "--db", "s.sqlite", "--out", "r.json", "--quiet"],
                     tmp_path)
    assert rc == 0, err
    conn = sqlite3.connect(str(tmp_path / "s.sqlite"), isolation_level=None)
    key = conn.execute("SELECT key FROM tasks ORDER BY key").fetchone()[0]
    res = json.loads(conn.execute("SELECT result FROM tasks WHERE key=?", (key,)).fetchone()[0])
    res["theta"][0] = 0.0                                            # a flattering edit
    conn.execute("UPDATE tasks SET result=? WHERE key=?",
                 (json.dumps(res, sort_keys=True, separators=(",", ":")), key))
    conn.close()
    before = (tmp_path / "r.json").read_bytes()
    one_line_error(["sweep", "g.toml", "--db", "s.sqlite", "--out", "r.json", "--resume"],
                   tmp_path, f"task {key[:16]} is damaged")
    assert (tmp_path / "r.json").read_bytes() == before             # export not rewritten


# --------------------------------------------------------------------------- solve

@pytest.mark.parametrize("argv,words", [
    (["--steps", "1000000000000", "--sigma", "0", "--record-every", "1"], ["steps", "VPGD_MAX_STEPS"]),
    (["--steps", "10000000", "--sigma", "0", "--record-every", "1", "--chains", "100"],
     ["record_every", "VPGD_MAX_HISTORY"]),
    (["--a-star", "1e300,1,1,1"], ["a_star", "overflows"]),
    (["--w-star", "1e-160,0,0,0"], ["w_star", "rescale"]),
    (["--a-star", "0,0,0,0"], ["a_star", "non-zero"]),
    (["--precision", "1000000", "--steps", "5", "--sigma", "0"], ["precision"]),
])
def test_solve_refuses_before_allocating(tmp_path, argv, words):
    one_line_error(["solve", *argv], tmp_path, *words)


def test_solve_with_overflowing_start_is_not_a_success(tmp_path):
    # a start whose loss overflows is refused at the boundary, naming a0
    one_line_error(["solve", "--w0", "1,0,0,0", "--a0", "1e300,1,1,1", "--steps", "5",
                    "--sigma", "0"], tmp_path, "a0", "overflows")
    # a run that diverges on the way exits 1 and counts the chain as a failure
    rc, out, err = cli(["solve", "--free", "--eta", "30", "--w0", "3,0,0,0", "--a0", "3,3,3,3",
                        "--steps", "200", "--sigma", "0"], tmp_path)
    assert rc == 1 and "diverged" in err
    doc = json.loads(out)
    assert doc["summary"]["final_success_rate"] == 0.0 and doc["summary"]["diverged"] == 1
    rc, out, err = cli(["solve", "--w0", "1,0,0,0", "--a0", "1,1,1,-1", "--steps", "5",
                        "--sigma", "0"], tmp_path)
    assert rc == 0, err                                              # control


def test_solve_with_diverging_step_size_is_not_a_success(tmp_path):
    rc, out, err = cli(["solve", "--eta", "1e10", "--steps", "50", "--sigma", "0.5",
                        "--chains", "3"], tmp_path)
    doc = json.loads(out)
    assert rc == 1 and doc["summary"]["diverged"] == 3 and "diverged" in err
    assert doc["summary"]["final_success_rate"] == 0.0
    assert doc["summary"]["ever_success_rate"] == 0.0


# --------------------------------------------------------------------------- reference

def test_reference_dps_capped(tmp_path):
    one_line_error(["reference", "--w", "1,0,0,0", "--a", "1,1,1,-1", "--dps", "100000"],
                   tmp_path, "--dps", "VPGD_MAX_DPS")


# --------------------------------------------------------------------------- claims

@pytest.mark.parametrize("bound,k,words", [
    ("0 ** -1", "[2]", ["zero to a negative power"]),
    ("9" * 400, "[2]", ["400 digits", "too large"]),
    ("10.0 ** 10 ** 10", "[2]", ["overflows float64"]),
    ("exp(1e6) * C", "[2]", ["overflows float64"]),
    ("C", "[2.5]", ["grid.k", "integer"]),
    ("C", "[1000000000]", ["grid.k", "VPGD_MAX_DIMENSION"]),
])
def test_claims_bad_bounds_one_line(tmp_path, bound, k, words):
    (tmp_path / "c.toml").write_text(CLAIM.format(bound=bound, k=k))
    one_line_error(["claims", "c.toml"], tmp_path, *words)


def test_claims_integral_float_k_is_accepted(tmp_path):
    (tmp_path / "c.toml").write_text(CLAIM.format(bound="C", k="[2.0]"))   # control
    rc, out, err = cli(["claims", "c.toml"], tmp_path)
    assert rc == 0, err
    assert "k=2]" in out


def test_claims_grid_points_bounded(tmp_path):
    text = CLAIM.format(bound="C", k="[2]") + "s = [" + ", ".join(["1.0"] * 1100) + "]\n" + \
        "a_norm = [" + ", ".join(["1.0"] * 1000) + "]\n"
    (tmp_path / "c.toml").write_text(text)
    one_line_error(["claims", "c.toml"], tmp_path, "1100000 points", "VPGD_MAX_GRID")


def test_solve_and_run_outputs_never_overwrite_their_config(tmp_path):
    (tmp_path / "t.toml").write_text(BASE_TASK)
    one_line_error(["solve", "--config", "t.toml", "--out", "t.toml"], tmp_path,
                   "same file as --config")
    assert (tmp_path / "t.toml").read_text() == BASE_TASK
    rc, _, err = cli(["solve", "--config", "t.toml", "--out", "o.json"], tmp_path)
    assert rc == 0, err                                              # control
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "report.md").write_text("[run]\n")
    one_line_error(["run", "--quick", "--config", "r/report.md", "--out", "r"], tmp_path,
                   "same file as --config")
    assert (tmp_path / "r" / "report.md").read_text() == "[run]\n"


@pytest.mark.parametrize("argv,words", [
    (["prove", "--random", "100000000", "--out", "c", "--no-symbolic"], ["random", "<= 100"]),
    (["claims", "c.toml", "--chains", "1000000000"], ["--chains", "100000"]),
    (["run", "--quick", "--workers", "100000", "--out", "r"], ["--workers", "VPGD_MAX_WORKERS"]),
])
def test_counts_on_the_command_line_are_capped(tmp_path, argv, words):
    (tmp_path / "c.toml").write_text(CLAIM.format(bound="C", k="[2]"))
    one_line_error(argv, tmp_path, *words)
    assert not (tmp_path / "c").exists() and not (tmp_path / "r").exists()


def test_sweep_checks_every_task_size_before_running_any(tmp_path):
    text = SWEEP.replace("eta = [0.05, 0.1]", "eta = [0.05, 0.1]\n[grid.schedule]\n"
                         "steps = [20, 2000000000]")
    (tmp_path / "g.toml").write_text(text)
    one_line_error(["sweep", "g.toml", "--db", "s.sqlite"], tmp_path, "steps", "VPGD_MAX_STEPS")
    import sqlite3
    if (tmp_path / "s.sqlite").exists():
        conn = sqlite3.connect(str(tmp_path / "s.sqlite"))
        try:
            n = conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
        except sqlite3.OperationalError:
            n = 0
        conn.close()
        assert n == 0, "a task ran before the size check of another"


@pytest.mark.parametrize("diverged", [True, False])
def test_e3_never_counts_a_diverged_chain(tmp_path, diverged):
    """Synthetic results whose final values look eps-successful: with the divergence flag
    set they count as neither final nor ever success (control: without it, they all do)."""
    from verified_pgd import config as cfg
    from verified_pgd.experiments import e3_success as e3
    conf = cfg.load_run(quick=True)
    problem = cfg.build_problem(conf["problem"])
    tasks = e3.plan(conf, problem)
    results = [{"chains": t["solver"]["chains"], "steps": 10,
                "theta": [0.0] * t["solver"]["chains"], "a_error": [0.0] * t["solver"]["chains"],
                "loss": [0.0] * t["solver"]["chains"], "hit_step": [3] * t["solver"]["chains"],
                "diverged": [diverged] * t["solver"]["chains"],
                "diverged_step": [5 if diverged else -1] * t["solver"]["chains"]}
               for t in tasks]
    sec = e3.analyse(conf, problem, results, tmp_path)
    for name, s in sec.data["methods"].items():
        expect = 0 if diverged else s["n"]
        assert s["final_success"] == expect and s["ever_success"] == expect, name
