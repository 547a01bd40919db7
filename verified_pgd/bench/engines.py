"""Whole-call throughput of ``vp.pgd``'s engines, as a user times them, against a PyTorch CPU
autograd loop (verified_pgd/bench/torch_baseline.py), an optional JAX jit+vmap+lax.scan loop, and the
SFC64 bound; plus the compiled engine's cold and warm first-call latency.

Every figure is ``chains * steps / wall time of one call`` (validation, stream seeding,
recording and the Result included; best of ``repeat`` calls).  Each engine gets its own
number of steps, sized to last about ``budget`` seconds (the compiled engine's target rows
use the issue's sizes: M = 1 runs 10^5 steps), so slow engines do not make the run long.
The RNG bounds of a row are SFC64 normals/s divided by the normals one step draws
(``p + k``, plus ``B k p`` with a mini-batch): numpy's Generator on one core, numpy's
Generator on all cores (one per core, each in a thread: the issue's bound), and the
compiled engine's own sampler on all of numba's threads (a stricter bound: it draws the
same streams faster than numpy's Generator).
"""
from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ETA, SIGMA, K = 0.05, 0.5, 16
# (M, p, batch, steps of the compiled engine)
ROWS = ((1, 16, None, 100_000), (64, 16, None, 20_000), (4096, 4, None, 400),
        (4096, 16, None, 1000), (4096, 64, None, 200), (4096, 1024, None, 10),
        (65536, 16, None, 40), (4096, 16, 4, 100))
QUICK_ROWS = ((1, 16, None, 100_000), (4096, 16, None, 200), (4096, 16, 4, 50))
TARGETS = {"compiled_vs_torch_4096": 4.0, "compiled_vs_rng_all_4096": 0.6,
           "compiled_vs_rng_kernel_4096": 0.6,
           "compiled_vs_torch_1": 20.0, "cold_s": 15.0, "warm_s": 1.0}


def _problem(p, k=K):
    import verified_pgd as vp
    return vp.Problem(np.r_[1.0, np.zeros(p - 1)], np.linspace(-1.0, 1.0, k) + 0.3)


def _wall(fn, repeat):
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _rate(call, M, steps, budget, repeat, fixed=False):
    """chain-steps/s of ``call(T)``; T = ``steps`` if ``fixed`` else sized to ``budget`` s."""
    if not fixed:
        t = _wall(lambda: call(steps), 1)
        steps = max(2, min(10 * steps, int(steps * budget / max(t, 1e-6))))
    t = _wall(lambda: call(steps), repeat)
    return M * steps / t, steps


def _fill(gen, buf, reps):
    for _ in range(reps):
        gen.standard_normal(out=buf)


def _rng(per_step, budget):
    """RNG bounds of a row in chain-steps/s (normals/s / ``per_step`` normals per step):

    * ``rng_one``: one numpy ``Generator(SFC64)`` filling a buffer, one thread;
    * ``rng_all``: the issue's all-cores bound — one numpy Generator(SFC64) per core, each
      filling its own buffer in its own thread (numpy releases the GIL while filling);
    * ``rng_kernel``: the stricter bound of the compiled engine's own sampler
      (:mod:`verified_pgd.solver.sfc64`: the same streams, the generator state in
      registers), 64 streams on numba's threads.  It is faster than numpy's Generator,
      so the engine is measured against it too (column ``c/kern``)."""
    import threading
    from verified_pgd.solver import kernel, sfc64
    chunk = 2 ** 18
    g = np.random.Generator(np.random.SFC64(1))
    buf = np.empty(chunk)
    _fill(g, buf, 2)
    t = _wall(lambda: _fill(g, buf, 4), 1)
    reps = max(4, int(4 * budget / 2 / max(t, 1e-6)))
    one = reps * chunk / _wall(lambda: _fill(g, buf, reps), 2)
    gens = [np.random.Generator(np.random.SFC64(i)) for i in range(os.cpu_count() or 1)]
    bufs = [np.empty(chunk) for _ in gens]

    def all_cores():
        ths = [threading.Thread(target=_fill, args=(g_, b, reps)) for g_, b in zip(gens, bufs)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
    allc = len(gens) * reps * chunk / _wall(all_cores, 2)
    states = sfc64.seed_states(1, 0, 64)
    per = max(1, reps * chunk // len(states))
    out = np.empty((len(states), per))
    kernel.draw_normals(states, per, out)
    kern = len(states) * per / _wall(lambda: kernel.draw_normals(states, per, out), 2)
    return one / per_step, allc / per_step, kern / per_step


def _jax_runner(problem, w0, a0):
    """JAX jit(vmap) step inside lax.scan (the idiomatic JAX loop), or None."""
    if importlib.util.find_spec("jax") is None:
        return None
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    wst, ast, s = jnp.asarray(problem.w_hat_star), jnp.asarray(problem.a_star), problem.s

    def loss(w, a):
        u = jnp.linalg.norm(w)
        wh = w / u
        th = 2 * jnp.arctan2(jnp.linalg.norm(wst - wh), jnp.linalg.norm(wst + wh))
        g = jnp.sin(th) + (jnp.pi - th) * jnp.cos(th)
        r = u * a - s * ast
        return ((jnp.pi - 1) * r @ r + r.sum() ** 2 + 2 * u * s * (jnp.pi - g) * (a @ ast)) / (4 * jnp.pi)

    grad = jax.vmap(jax.grad(loss, argnums=(0, 1)))

    def step(carry, key):
        w, a = carry
        gw, ga = grad(w, a)
        gw = gw - (gw * w).sum(1, keepdims=True) * w
        k1, k2 = jax.random.split(key)
        w = w - ETA * (gw + SIGMA * jax.random.normal(k1, w.shape))
        a = a - ETA * (ga + SIGMA * jax.random.normal(k2, a.shape))
        return (w / jnp.linalg.norm(w, axis=1, keepdims=True), a), None

    @jax.jit
    def run(w, a, keys):
        return jax.lax.scan(step, (w, a), keys)[0]

    W = jnp.asarray(w0 / np.linalg.norm(w0, axis=1, keepdims=True))
    A = jnp.asarray(a0)

    def call(T):
        keys = jax.random.split(jax.random.PRNGKey(0), T)
        jax.block_until_ready(run(W, A, keys))
    return call


def throughput(quick=False) -> list:
    import numba
    import verified_pgd as vp
    from . import torch_baseline as tb
    budget, repeat = (0.3, 1) if quick else (0.8, 2)
    rows = []
    g = np.random.default_rng(0)
    threads = numba.get_num_threads()
    for M, p, batch, steps in (QUICK_ROWS if quick else ROWS):
        prob = _problem(p)
        w0, a0 = g.standard_normal((M, p)), g.standard_normal((M, K))
        grad = "population" if batch is None else batch

        def call(engine, T):
            vp.pgd(prob, w0, a0, vp.Schedule([(SIGMA, T)]), ETA, chains=M, gradient=grad,
                   engine=engine)

        call("compiled", 2)                       # compiled (or loaded from the cache)
        target_row = (M, p, batch) in ((1, 16, None), (4096, 16, None))
        row = {"M": M, "p": p, "k": K, "batch": batch, "threads": threads}
        row["compiled"], row["steps"] = _rate(lambda T: call("compiled", T), M, steps, budget,
                                              repeat, fixed=target_row)
        numba.set_num_threads(1)
        try:
            row["compiled_1t"], _ = _rate(lambda T: call("compiled", T), M, steps, budget, repeat)
        finally:
            numba.set_num_threads(threads)
        row["numpy"], _ = _rate(lambda T: call("numpy", T), M, max(2, steps // 50), budget, 1)
        row["torch"] = row["jax"] = None
        if batch is None and tb.available():
            best = {}
            for nt in sorted({1, tb.default_threads()}):
                with tb.threads(nt):
                    best[nt], _ = _rate(tb.runner(prob, w0, a0, SIGMA, ETA), M,
                                        max(2, steps // 50), budget, 1)
            row["torch_threads"] = max(best, key=best.get)
            row["torch"] = best[row["torch_threads"]]
        if batch is None:
            jx = _jax_runner(prob, w0, a0)
            if jx is not None:
                jx(4)
                row["jax"], _ = _rate(jx, M, max(2, steps // 20), budget, 1)
        per = p + K + (batch * K * p if batch else 0)
        row["rng_one"], row["rng_all"], row["rng_kernel"] = _rng(per, budget)
        row["load1"] = os.getloadavg()[0]
        rows.append(row)
    return rows


_FIRST_CALL = """
import time
t0 = time.perf_counter()
import verified_pgd as vp
t1 = time.perf_counter()
vp.pgd(vp.Problem.default(), [1.0, 0, 0, 0], [1.0, 1, 1, 1], vp.Schedule([(0.1, 10)]), 0.1,
       engine="compiled")
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def latency() -> dict:
    """Cold (empty numba cache: compiles) and warm (a second process, cache present) time of
    ``import verified_pgd`` + the first ``vp.pgd`` call, in fresh interpreters."""
    import verified_pgd
    # the directory holding the verified_pgd package (a checkout or site-packages)
    root = os.path.dirname(os.path.dirname(os.path.abspath(verified_pgd.__file__)))
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache,
               "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        for key in ("cold", "warm"):
            t0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-c", _FIRST_CALL], env=env, check=True,
                                 capture_output=True, text=True, timeout=600)
            imp, call = (float(x) for x in res.stdout.split())
            out[f"{key}_s"] = imp + call
            out[f"{key}_call_s"] = call
            out[f"{key}_process_s"] = time.perf_counter() - t0
    return out


def targets(rows, lat) -> list:
    """(name, ratio, goal, better, detail) for the issue-16 targets."""
    out = []
    by = {(r["M"], r["p"], r["batch"]): r for r in rows}
    r = by.get((4096, 16, None))
    if r is not None:
        tr = r["torch"]
        out.append(("compiled / torch, M = 4096, p = k = 16, whole call",
                    r["compiled"] / tr if tr else None, TARGETS["compiled_vs_torch_4096"], ">=",
                    "torch not installed" if not tr else f"{r['steps']} steps"))
        out.append(("compiled / RNG all cores (numpy SFC64), M = 4096, p = k = 16",
                    r["compiled"] / r["rng_all"], TARGETS["compiled_vs_rng_all_4096"], ">=",
                    f"issue's bound: {r['rng_all']:.3g} chain-steps/s"))
        out.append(("stricter: compiled / in-kernel sampler, all cores",
                    r["compiled"] / r["rng_kernel"], TARGETS["compiled_vs_rng_kernel_4096"],
                    ">=", f"not the issue's bound: {r['rng_kernel']:.3g} chain-steps/s"))
    r = by.get((1, 16, None))
    if r is not None:
        tr = r["torch"]
        out.append(("compiled / torch, M = 1 (10^5 steps), whole call",
                    r["compiled"] / tr if tr else None, TARGETS["compiled_vs_torch_1"], ">=",
                    "torch not installed" if not tr else f"{r['steps']} steps"))
    for key in ("cold_s", "warm_s"):
        if key in lat:
            out.append((f"first call {key[:-2]} (import + vp.pgd) / {TARGETS[key]:g} s",
                        lat[key] / TARGETS[key], 1.0, "<=", f"{lat[key]:.2f} s"))
    return out


def format_rows(rows) -> list:
    L = ["whole-call chain-steps/s (normalized PGD, k = 16, sigma = 0.5, eta = 0.05; "
         "RNG bounds = SFC64 normals/s / normals per step:",
         "  RNG 1 = one numpy Generator, one thread; RNG all = one numpy Generator per core, "
         "each in its own thread (the issue's bound);",
         "  RNG kern = the compiled engine's own sampler on all threads (stricter: faster "
         "than numpy's Generator))",
         f"{'M':>6} {'p':>5} {'B':>3} {'compiled':>10} {'comp 1t':>10} {'numpy':>10} "
         f"{'torch':>10} {'jax':>10} {'RNG 1':>10} {'RNG all':>10} {'RNG kern':>10} "
         f"{'c/torch':>8} {'c/RNGall':>8} {'c/kern':>7} {'c/numpy':>8} {'load':>5}"]
    for r in rows:
        f = lambda x: "n/a" if x is None else f"{x:.4g}"  # noqa: E731
        ct = f"{r['compiled'] / r['torch']:.2f}" if r["torch"] else "n/a"
        L.append(f"{r['M']:>6} {r['p']:>5} {r['batch'] or '-':>3} {f(r['compiled']):>10} "
                 f"{f(r['compiled_1t']):>10} {f(r['numpy']):>10} {f(r['torch']):>10} "
                 f"{f(r['jax']):>10} {f(r['rng_one']):>10} {f(r['rng_all']):>10} "
                 f"{f(r['rng_kernel']):>10} {ct:>8} {r['compiled'] / r['rng_all']:>8.2f} "
                 f"{r['compiled'] / r['rng_kernel']:>7.2f} {r['compiled'] / r['numpy']:>8.1f} "
                 f"{r['load1']:>5.1f}")
    return L


def bench_engines(quick=False) -> dict:
    rows = throughput(quick)
    lat = latency()
    return {"rows": rows, "latency": lat, "targets": targets(rows, lat)}
