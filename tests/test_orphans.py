"""kill -9 of `vpgd sweep --workers 2` leaves no process behind (workers exit with their
parent), and the negative control: a plain process pool without that initializer does
leave its worker orphaned, so the test can tell the two apart."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc to find the session's processes")

SWEEP = """
seed = 3
[task.problem]
p = 4
k = 4
a_pattern = "alternating"
[task.init]
kind = "random"
[task.schedule]
kind = "stages"
stages = [[0.5, 200000]]
[task.solver]
eta = 0.1
chains = 64
[grid.solver]
eta = [0.05, 0.06, 0.07, 0.08]
"""


def _session(sid):
    """Pids of live (non-zombie) processes in session ``sid``."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            out.append(int(name))
    return out


def _wait(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def _kill_parent_and_watch(argv, env, min_procs):
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    sid = proc.pid
    try:
        assert _wait(lambda: len(_session(sid)) >= min_procs, 60), "workers did not start"
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)          # the parent only, not the group
        proc.wait()
        gone = _wait(lambda: not _session(sid), 10)
        return gone, _session(sid)
    finally:
        for pid in _session(sid):                  # clean up what we started, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_sigkill_of_sweep_parent_leaves_no_worker(tmp_path):
    config = tmp_path / "long.toml"
    config.write_text(SWEEP)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    argv = [sys.executable, "-m", "verified_pgd", "sweep", str(config), "--db",
            str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "r.json"), "--quiet",
            "--workers", "2"]
    gone, left = _kill_parent_and_watch(argv, env, min_procs=3)   # parent + 2 workers
    assert gone, f"processes outlived the parent: {left}"


def test_negative_control_plain_pool_leaves_an_orphan(tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(textwrap.dedent("""
        import multiprocessing, time
        from concurrent.futures import ProcessPoolExecutor
        if __name__ == "__main__":
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as ex:
                ex.submit(time.sleep, 60).result()
    """))
    gone, left = _kill_parent_and_watch([sys.executable, str(script)], dict(os.environ),
                                        min_procs=2)
    assert not gone and left, "control: a plain pool's worker should outlive its parent"
