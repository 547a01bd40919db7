"""Sweeps: SIGKILL at random moments + --resume gives bit-identical results with nothing
half-written; local processes and a Dask LocalCluster give the serial results bit for bit."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from verified_pgd import config as cfg
from verified_pgd.store import Store, canonical_json, task_key
from verified_pgd.sweep import expand, run_task, run_tasks

SWEEP = """
seed = {seed}
[sweep]
replicates = 5
[task.problem]
p = 4
k = 4
a_pattern = "alternating"
[task.init]
kind = "random"
[task.schedule]
kind = "stages"
stages = [[0.8, 400], [0.0, 400]]
[task.solver]
eta = 0.1
chains = 16
engine = "numpy"   # the kill test needs tasks that last a while; the compiled engine is too quick
[grid.problem]
k = [2, 3, 4, 5]
[grid.solver]
eta = [0.05, 0.1]
"""


def _sweep_file(tmp_path, seed=11):
    path = tmp_path / "grid.toml"
    path.write_text(SWEEP.format(seed=seed))
    return path


def _cmd(config, db, out, *extra):
    return [sys.executable, "-m", "verified_pgd", "sweep", str(config), "--db", str(db),
            "--out", str(out), "--quiet", *extra]


def _rows(db):
    """All rows, read with a plain sqlite3 connection (as any other reader would)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return conn.execute("SELECT key, spec, result FROM tasks").fetchall()
    finally:
        conn.close()


def _count(db):
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)
        try:
            return conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:   # table not created yet, or the writer holds the lock
        return -1


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path):
    config = _sweep_file(tmp_path)
    total = len(expand(cfg.load_sweep(config)))
    env = {**os.environ, "PYTHONHASHSEED": "0"}

    ref_db, ref_out = tmp_path / "ref.sqlite", tmp_path / "ref.json"
    subprocess.run(_cmd(config, ref_db, ref_out), check=True, env=env, timeout=300)
    reference = ref_out.read_bytes()

    db, out = tmp_path / "killed.sqlite", tmp_path / "killed.json"
    rng = np.random.default_rng(20261130)   # the kill moments are seeded
    kills, mid_run = 0, 0
    while kills < 6:
        before = max(_count(db), 0)
        # kill after a random number of further commits plus a random delay: the kill
        # lands anywhere in a task's computation or its commit
        # (small steps, so that six kills fit in the 40 tasks even on a fast machine)
        target = before + int(rng.integers(1, 4))
        delay = float(rng.uniform(0.0, 0.03))
        # alternate the in-process runner and two worker processes (killed with the
        # whole process group)
        workers = "2" if kills % 2 else "1"
        proc = subprocess.Popen(_cmd(config, db, out, "--resume", "--workers", workers), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.monotonic() + 120
        while proc.poll() is None and _count(db) < target and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay)
        if proc.poll() is not None:
            break   # finished before we could kill it: the loop below still checks
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        rows = _rows(db)
        n = len(rows)
        mid_run += 0 < n < total
        # nothing half-written: every row is complete, parses, and matches its key
        for key, spec, result in rows:
            assert task_key(json.loads(spec)) == key
            json.loads(result)
        assert not out.exists() or out.read_bytes() == reference
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert leftovers == []
    assert kills >= 5, f"only {kills} kills happened before the sweep finished"
    assert mid_run >= 5, "the kills must interrupt the sweep part-way"
    subprocess.run(_cmd(config, db, out, "--resume"), check=True, env=env, timeout=300)
    assert out.read_bytes() == reference
    assert sorted(_rows(db)) == sorted(_rows(ref_db))


def _small_tasks(seed=3):
    base = {"problem": {"p": 3, "k": 3, "a_pattern": "alternating"},
            "init": {"kind": "random"},
            "schedule": {"kind": "stages", "stages": [[0.8, 150], [0.0, 150]]},
            "solver": {"eta": 0.1, "chains": 4, "record_every": 50}}
    return [cfg.validate_task({**base, "seed": seed * 100 + i}) for i in range(6)]


def test_workers_one_and_two_are_bit_identical():
    tasks = _small_tasks()
    serial = run_tasks(tasks, workers=1, progress=False)
    parallel = run_tasks(tasks, workers=2, progress=False)
    assert canonical_json(serial) == canonical_json(parallel)
    # negative control: other seeds give other results, so equality above means something
    other = run_tasks(_small_tasks(seed=4), workers=1, progress=False)
    assert canonical_json(other) != canonical_json(serial)


def test_dask_local_cluster_is_bit_identical_to_serial():
    pytest.importorskip("distributed", reason="dask[distributed] not installed "
                                              "(pip install 'verified_pgd[dask]')")
    tasks = _small_tasks()
    serial = [run_task(t) for t in tasks]
    on_dask = run_tasks(tasks, workers=2, dask="local", progress=False)
    assert canonical_json(on_dask) == canonical_json(serial)


def test_store_resume_skips_finished_tasks(tmp_path):
    tasks = _small_tasks()
    calls = []

    def counting(t):
        calls.append(t["seed"])
        return run_task(t)
    with Store(tmp_path / "s.sqlite") as st:
        first = run_tasks(tasks[:3], store=st, progress=False, fn=counting)
    with Store(tmp_path / "s.sqlite") as st:
        calls.clear()
        everything = run_tasks(tasks, store=st, progress=False, fn=counting)
    assert calls == [t["seed"] for t in tasks[3:]]
    assert canonical_json(everything[:3]) == canonical_json(first)


def test_sweep_cli_user_errors_exit_2(tmp_path, capsys):
    from verified_pgd.cli import main
    config = _sweep_file(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(SWEEP.format(seed=1).replace("eta = [0.05, 0.1]", "eta = [0.05, -1]"))
    assert main(["sweep", str(bad), "--db", str(tmp_path / "x.sqlite")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vpgd sweep: error: config: grid.solver.eta[1]") and "\n" not in err
    # a store with finished tasks is not silently overwritten: --resume is required
    db = tmp_path / "y.sqlite"
    with Store(db) as st:
        st.put({"seed": 1}, {"x": 1})
    assert main(["sweep", str(config), "--db", str(db)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["sweep", str(config), "--workers", "0"]) == 2
    assert capsys.readouterr().err.strip() == "vpgd sweep: error: --workers: must be >= 1, got 0"
