"""Progress bars: drawn on stderr when it is a terminal (a pseudo-terminal here), nothing
when it is a pipe or with --quiet, and stdout byte-identical either way."""
import fcntl
import io
import os
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from verified_pgd import progress

ROOT = Path(__file__).resolve().parents[1]

CLAIMS = """
[[claim]]
name = "barrier small"
quantity = "barrier"
relation = "<="
bound = "C * s**2 * a_norm**2"
constants = { C = 0.0372 }
[claim.grid]
k = [2, 3, 4]
"""

SWEEP = """
seed = 3
[sweep]
replicates = 2
[task.problem]
p = 4
k = 2
a_pattern = "alternating"
[task.init]
kind = "random"
[task.schedule]
kind = "stages"
stages = [[0.5, 100], [0.0, 100]]
[task.solver]
eta = 0.1
chains = 4
[grid.solver]
eta = [0.05, 0.1]
"""

RUN = """
[run]
experiments = ["e2"]
[experiments.e2]
chains = 2
record_every = 10
[experiments.e2.schedule]
kind = "stages"
stages = [[0.8, 100], [0.0, 100]]
"""


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    for k in ("TQDM_DISABLE", "TQDM_MININTERVAL"):
        env.pop(k, None)
    return env


def _run(args, cwd, tty):
    """(returncode, stdout bytes, stderr bytes) of ``python -m verified_pgd ARGS``; with
    ``tty`` the child's stderr is the slave of a pseudo-terminal (100 columns)."""
    argv = [sys.executable, "-m", "verified_pgd", *args]
    if not tty:
        p = subprocess.run(argv, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=300)
        return p.returncode, p.stdout, p.stderr
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=slave)
    finally:
        os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:          # EIO: every slave end is closed
                return
            if not data:
                return
            chunks.append(data)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        out, _ = proc.communicate(timeout=300)
    finally:
        reader.join(timeout=30)
        os.close(master)
    return proc.returncode, out, b"".join(chunks)


def _same_stdout(a: bytes, b: bytes, timing=False):
    if timing:      # wall times ("in 1.2 s", check's seconds column) differ between runs
        a, b = (re.sub(rb"[0-9][0-9.e+-]*", b"N", re.sub(rb" +", b" ", x)) for x in (a, b))
    return a == b


CASES = {
    # name: (files to write, argv, bar description, unit, stdout carries a wall time)
    "claims": ({"c.toml": CLAIMS}, ["claims", "c.toml"], "vpgd claims", "point", False),
    "sweep": ({"s.toml": SWEEP}, ["sweep", "s.toml", "--db", "s.sqlite", "--out", "s.json"],
              "vpgd sweep", "task", False),
    "run": ({"r.toml": RUN}, ["run", "--config", "r.toml", "--quick", "--out", "rep"],
            "vpgd run", "task", True),
    "prove": ({}, ["prove", "--out", "certs", "--random", "1", "--no-symbolic", "--digits",
                   "20"], "vpgd prove", "part", True),
}


def _setup(tmp_path, files):
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("name", list(CASES))
def test_bar_on_a_terminal_nothing_in_a_pipe_or_with_quiet(name, tmp_path):
    files, argv, desc, unit, timing = CASES[name]
    results = {}
    for mode in ("tty", "pipe", "quiet"):
        cwd = _setup(tmp_path / mode, files)
        extra = ["--quiet"] if mode == "quiet" else []
        if name == "sweep" and mode == "quiet":
            extra = []        # sweep's --quiet also drops the table; compared separately
            results["quiet_table"] = _run(argv + ["--quiet"], _setup(tmp_path / "q2", files),
                                          tty=True)
        results[mode] = _run(argv + extra, cwd, tty=(mode != "pipe"))
    rc, out, err = results["tty"]
    text = err.decode("utf-8", "replace")
    assert desc in text and f"{unit}/s" in text, text          # tqdm: description and rate
    assert "|" in text                                          # the bar itself
    if name == "claims":
        assert "barrier small [k=4]" in text                    # the point being checked
    assert desc.encode() not in out and b"\r" not in out        # never on stdout
    rc_p, out_p, err_p = results["pipe"]
    assert rc_p == rc
    assert err_p == b""                                         # nothing extra in a pipe
    assert _same_stdout(out, out_p, timing)                      # stdout unchanged
    if name == "sweep":
        rc_q, out_q, err_q = results["quiet_table"]
        assert rc_q == rc and out_q == b"" and err_q == b""
    else:
        rc_q, out_q, err_q = results["quiet"]
        assert rc_q == rc and err_q == b""                       # --quiet on a terminal
        assert _same_stdout(out, out_q, timing)


def test_check_bar_on_a_terminal_only(tmp_path):
    _run(["prove", "--out", "certs", "--random", "0", "--no-symbolic", "--digits", "20",
          "--quiet"], _setup(tmp_path, {}), tty=False)
    # --no-symbolic: the set lacks the symbolic lemmas, so every mode exits 1 alike
    rc, out, err = _run(["check", "certs"], tmp_path, tty=True)
    assert rc == 1 and b"vpgd check" in err and b"cert/s" in err
    rc_p, out_p, err_p = _run(["check", "certs"], tmp_path, tty=False)
    assert rc_p == rc and err_p == b""
    assert _same_stdout(out, out_p, timing=True)
    rc_q, out_q, err_q = _run(["check", "certs", "--quiet"], tmp_path, tty=True)
    assert rc_q == rc and err_q == b""


class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        if self._tty is None:
            raise ValueError("I/O operation on closed file")
        return self._tty


def test_enabled_only_for_a_terminal_and_not_quiet():
    assert progress.enabled(stream=_Stream(True))
    assert not progress.enabled(quiet=True, stream=_Stream(True))
    assert not progress.enabled(stream=_Stream(False))
    assert not progress.enabled(stream=_Stream(None))
    assert not progress.enabled(stream=object())
