"""Task grids and the runners that execute them: serial, local processes, Dask.

A *task* is a plain dict (see :func:`verified_pgd.config.validate_task`): problem, init,
schedule, solver and its own ``seed``.  :func:`run_task` is a pure function of that dict,
so a task's result does not depend on where or in which order it runs: serial, ``N``
local processes and a Dask cluster give bit-identical results.  Results are normalised
through canonical JSON (floats by repr, NaN/inf as null) before anyone sees them, so the
in-memory, stored and exported forms are the same values.

Runners return results in task order.  With a :class:`verified_pgd.store.Store`, every
finished task is committed by the parent as soon as it arrives, and tasks already in the
store are skipped (``--resume``).
"""
from __future__ import annotations

import json
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import numpy as np

from . import config as cfg
from ._validate import check_history, check_precision, check_workers
from .store import canonical_json, finite_or_none, task_key

# Entropy tag that separates random initialisations from the solver's noise streams
# (which use SeedSequence(seed, spawn_key=(chain,))).
_INIT_TAG = 0x1A17


# --------------------------------------------------------------------------- grids

def task_seed(base_seed: int, replicate: int) -> int:
    """Seed of replicate ``r``: a 63-bit value hashed from ``(base_seed, r)`` by SeedSequence.

    Every grid point uses the same seeds for the same replicate (common random numbers:
    differences between grid points are not blurred by different noise).
    """
    state = np.random.SeedSequence(base_seed, spawn_key=(replicate,)).generate_state(2, np.uint32)
    return int((int(state[0]) << 32 | int(state[1])) >> 1)


def expand(sweep: dict) -> list:
    """All tasks of a loaded sweep (:func:`verified_pgd.config.load_sweep`), in grid order."""
    tasks = []
    for point in sweep["points"]:
        for r in range(sweep["replicates"]):
            tasks.append({**point, "seed": task_seed(sweep["seed"], r)})
    return tasks


# --------------------------------------------------------------------------- one task

def initial_state(problem, init: dict, chains: int, seed: int):
    """Starting points ``(w0, a0)`` of shapes (chains, p), (chains, k)."""
    p, k = problem.p, problem.k
    kind = init["kind"]
    if kind == "explicit":
        w = np.asarray(init["w"], dtype=np.float64)
        a = np.asarray(init["a"], dtype=np.float64)
        if w.shape != (p,) or a.shape != (k,):
            raise ValueError(f"init: w must have length p = {p} and a length k = {k}")
    elif kind == "random":
        # w uniform on the sphere, a ~ N(0, scale^2 / k I): chain i's start depends only on
        # (seed, i), like its noise stream.
        W = np.empty((chains, p))
        A = np.empty((chains, k))
        for i in range(chains):
            g = np.random.default_rng(np.random.SeedSequence([seed, _INIT_TAG], spawn_key=(i,)))
            W[i] = g.standard_normal(p)
            A[i] = g.standard_normal(k) * (init["scale"] / np.sqrt(k))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        return W, A
    else:
        from . import theory
        fn = {"spurious": theory.spurious_minimum, "global": theory.global_minimum,
              "saddle": theory.saddle}[kind]
        try:
            pt = fn(problem)
        except ValueError as exc:
            raise ValueError(f"init.kind: {kind!r} is not available for this problem ({exc})") \
                from None
        w, a = np.asarray(pt.w, dtype=np.float64), np.asarray(pt.a, dtype=np.float64)
    return np.tile(w, (chains, 1)), np.tile(a, (chains, 1))


def _json_ready(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    return x


def check_task(task: dict):
    """``(problem, schedule)`` of a validated task, after the size checks that must come
    before any allocation: steps, chains, the recorded history, the precision."""
    problem = cfg.build_problem(task["problem"])
    sol = task["solver"]
    schedule = cfg.build_schedule(task["schedule"], problem, sol["eta"])
    total = schedule.total_steps
    check_history(total, sol["record_every"] or total, sol["chains"], "solver.record_every")
    check_precision(sol["precision"], "solver.precision")
    return problem, schedule


def run_task(task: dict) -> dict:
    """Run one validated task and return its JSON-ready summary.

    Keys: ``chains``, ``steps`` (total), ``theta``, ``loss``, ``a_error`` (final values per
    chain), ``hit_step`` (first state index with eps-success, -1 never), ``diverged``,
    ``diverged_step`` and, when ``solver.record_every > 0``, ``history`` (``step`` and
    per-chain ``theta``, ``loss``, ``a_error`` at the recorded steps).
    """
    import verified_pgd as vp
    problem, schedule = check_task(task)
    sol = task["solver"]
    total = schedule.total_steps
    record_every = sol["record_every"] or total
    w0, a0 = initial_state(problem, task["init"], sol["chains"], task["seed"])
    res = vp.pgd(problem, w0, a0, schedule, sol["eta"], seed=task["seed"], chains=sol["chains"],
                 normalized=sol["normalized"], noise=sol["noise"], gradient=sol["gradient"],
                 precision=sol["precision"], record_every=record_every, eps=sol["eps"],
                 engine=sol.get("engine", "auto"))
    h = res.history
    out = {"chains": int(res.chains), "steps": int(total),
           "theta": h.theta[-1].tolist(), "loss": h.loss[-1].tolist(),
           "a_error": h.a_error[-1].tolist(),
           "hit_step": res.hit_step.tolist(), "diverged": res.diverged.tolist(),
           "diverged_step": res.diverged_step.tolist()}
    if sol["record_every"]:
        out["history"] = {"step": h.step.tolist(), "theta": h.theta.tolist(),
                          "loss": h.loss.tolist(), "a_error": h.a_error.tolist()}
    return json.loads(canonical_json(finite_or_none({k: _json_ready(v) for k, v in out.items()})))


def chain_successes(result: dict, eps: float) -> list:
    """Per chain: finished within eps in angle and a-error, and did not diverge.

    A diverged chain, or one whose final values are not finite (stored as null), is never
    a success, whatever its last recorded values were.
    """
    div = result.get("diverged") or [False] * len(result["theta"])
    return [bool(t is not None and e is not None and not d and t <= eps and e <= eps)
            for t, e, d in zip(result["theta"], result["a_error"], div)]


# --------------------------------------------------------------------------- runners

def _progress(total, initial, desc, enabled):
    from . import progress as _p
    return _p.bar(total=total, initial=initial, desc=desc, unit="task", quiet=not enabled)


def run_tasks(tasks, *, workers: int = 1, dask: str | None = None, store=None,
              progress: bool = True, desc: str = "tasks", fn=run_task, labels=None) -> list:
    """Results of ``tasks`` (in task order), computed by the chosen runner.

    ``workers`` local processes (1 = in this process), or a Dask cluster at ``dask``
    (a scheduler address, or ``"local"`` for a LocalCluster on loopback with ``workers``
    processes).  With ``store``, finished tasks are read back instead of recomputed and
    every new result is committed as it arrives.  ``progress``: a bar on stderr when it
    is a terminal (:mod:`verified_pgd.progress`), with the rate in chain-steps per second
    and the ``labels[i]`` (e.g. the experiment) of the last finished task.
    """
    check_workers(workers)
    keys = [task_key(t) for t in tasks]
    results = {}
    if store is not None:
        done = store.finished_keys()
        for key in keys:
            if key in done and key not in results:
                results[key] = json.loads(store.get_text(key))
    pending = []
    seen = set(results)
    for key, t in zip(keys, tasks):
        if key not in seen:
            seen.add(key)
            pending.append((key, t))

    bar = _progress(len(set(keys)), len(set(keys)) - len(pending), desc, progress)
    label_of = dict(zip(keys, labels)) if labels is not None else {}
    t_start, chain_steps = time.perf_counter(), 0

    def finish(key, task, res):
        nonlocal chain_steps
        if store is not None:
            store.put(task, res)
        results[key] = res
        if not bar.disable and isinstance(res, dict):
            chain_steps += int(res.get("chains", 0)) * int(res.get("steps", 0))
            rate = chain_steps / max(time.perf_counter() - t_start, 1e-9)
            bar.set_postfix_str(" ".join(filter(None, [
                label_of.get(key), f"{rate:.3g} chain-steps/s"])), refresh=False)
        bar.update(1)

    try:
        if not pending:
            pass
        elif dask is not None:
            _run_dask(pending, dask, workers, fn, finish)
        elif workers == 1 or len(pending) == 1:
            for key, t in pending:
                finish(key, t, fn(t))
        else:
            _run_processes(pending, workers, fn, finish)
    finally:
        bar.close()
    return [results[k] for k in keys]


def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: die with the parent, even when it is killed with SIGKILL.

    On Linux the kernel sends SIGKILL when the parent exits (prctl PR_SET_PDEATHSIG);
    everywhere a daemon thread also polls the parent pid (re-parenting changes getppid),
    so no worker is left blocked forever on a pipe nobody reads.
    """
    import os
    import signal
    import threading
    import time
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)   # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch():
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    if os.getppid() != parent_pid:      # the parent died before we got here
        os._exit(1)
    threading.Thread(target=watch, name="vpgd-parent-watchdog", daemon=True).start()


def _run_processes(pending, workers, fn, finish):
    import multiprocessing
    import os
    # spawn: workers start from a clean interpreter (no inherited threads or locks).
    ctx = multiprocessing.get_context("spawn")
    workers = min(workers, len(pending))
    window = 4 * workers
    it = iter(pending)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_exit_with_parent,
                             initargs=(os.getpid(),)) as ex:
        running = {}

        def fill():
            for key, t in it:
                running[ex.submit(fn, t)] = (key, t)
                if len(running) >= window:
                    break

        fill()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: running[f][0]):
                key, t = running.pop(fut)
                finish(key, t, fut.result())
            fill()


def _run_dask(pending, address, workers, fn, finish):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ValueError("dask: the Dask runner needs the optional extra: "
                         "pip install 'verified_pgd[dask]' (dask[distributed])") from None
    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise OSError(f"dask: cannot connect to scheduler {address!r}: {exc}") from None
    try:
        by_future = {}
        futures = []
        for key, t in pending:
            fut = client.submit(fn, t, key=f"vpgd-{key}", pure=False)
            by_future[fut.key] = (key, t)
            futures.append(fut)
        for fut, res in as_completed(futures, with_results=True):
            key, t = by_future[fut.key]
            finish(key, t, res)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
