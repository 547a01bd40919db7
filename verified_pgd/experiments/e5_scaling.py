"""E5 Scaling: steps to eps-success against k and against eps, with fitted exponents.

Every run starts at random, anneals through ``noise_stages`` (to leave spurious
regions) and then descends without noise up to ``max_steps``.  The *steps to eps* of a
chain is its first eps-success step minus the noisy steps (the
descent phase the theorem's rate is about); chains that never succeed are censored (they
count as infinitely slow, so a median exists when more than half succeed).

* k-scan: teachers ``p``, ``s``, ``a_pattern``, ``a_norm`` of the [experiments.e5] table
  with k in ``ks`` (|a*| fixed, so only k varies), at ``eps``; fitted exponent b in
  steps ~ k^b.
* eps-scan: the main [problem] at every eps in ``eps_values`` (same seed, so the same
  trajectories); fitted exponent c in steps ~ log(1/eps)^c (the theorem claims a
  polynomial in log(1/eps); linear convergence gives c close to 1).
"""
from __future__ import annotations

import numpy as np

from . import _style
from ._common import Section, fmt, loglog_fit, new_figure, save_figure, seed_for, task

ID = "e5"
TITLE = "E5 Scaling: steps to eps vs k and eps"


def _offset(e):
    return sum(n for _, n in e["noise_stages"])


def _schedule(e):
    stages = [list(st) for st in e["noise_stages"]]
    stages.append([0.0, e["max_steps"] - _offset(e)])
    return {"kind": "stages", "stages": stages}


def plan(conf, problem):
    e = conf["experiments"]["e5"]
    init = {"kind": "random", "scale": e["init_scale"]}
    sched = _schedule(e)
    tasks = []
    for k in e["ks"]:
        spec = {"p": e["p"], "k": k, "s": e["s"], "a_pattern": e["a_pattern"],
                "a_norm": e["a_norm"]}
        tasks.append(task(spec, init, sched, eta=e["eta"], chains=e["chains"], eps=e["eps"],
                          seed=seed_for(conf["seed"], 5, "k", k)))
    for eps in e["eps_values"]:
        tasks.append(task(conf["problem"], init, sched, eta=e["eta"], chains=e["chains"],
                          eps=eps, seed=seed_for(conf["seed"], 5, "eps")))
    return tasks


def _steps(r, offset):
    hit = np.array(r["hit_step"], dtype=float)
    steps = np.where(hit >= 0, np.maximum(hit - offset, 1.0), np.inf)
    med = float(np.median(steps))
    return steps, (med if np.isfinite(med) else None), int(np.sum(hit < 0))


def analyse(conf, problem, results, out_dir) -> Section:
    e = conf["experiments"]["e5"]
    off = _offset(e)
    nk = len(e["ks"])
    k_rows, eps_rows = [], []
    k_med, eps_med = [], []
    for k, r in zip(e["ks"], results[:nk]):
        steps, med, cens = _steps(r, off)
        k_med.append(med)
        k_rows.append(["k", k, e["eps"], med, cens, r["chains"]])
    for eps, r in zip(e["eps_values"], results[nk:]):
        steps, med, cens = _steps(r, off)
        eps_med.append(med)
        eps_rows.append(["eps", problem.k, eps, med, cens, r["chains"]])
    nan = float("nan")
    b, b0 = loglog_fit(e["ks"], [m if m is not None else nan for m in k_med])
    L = [np.log(1.0 / x) for x in e["eps_values"]]
    c, c0 = loglog_fit(L, [m if m is not None else nan for m in eps_med])
    # Linear convergence predicts steps ~ const + log(1/eps) / -log(q) with q the local
    # contraction factor of GD at the optimum (theory.contraction_factor): an independent
    # prediction of the slope of the eps-scan.
    x = np.array(L)
    y = np.array([m if m is not None else np.nan for m in eps_med])
    ok = np.isfinite(y)
    slope = float(np.polyfit(x[ok], y[ok], 1)[0]) if ok.sum() >= 2 else None
    try:
        from ..theory import contraction_factor
        q = float(contraction_factor(problem, e["eta"]))
        predicted = 1.0 / -np.log(q) if 0 < q < 1 else None
    except (ImportError, ValueError):
        predicted = None
    summary = {"exponent_k": b, "exponent_log_inv_eps": c,
               "steps_per_unit_log_inv_eps": slope,
               "predicted_steps_per_unit_log_inv_eps": predicted,
               "censored_runs": int(sum(r[4] for r in k_rows + eps_rows))}
    text = (f"Random starts, {e['chains']} chains per point, step size {e['eta']}, noise "
            f"stages {e['noise_stages']}, then plain descent up to "
            f"{e['max_steps']} steps. Median steps to $\\varepsilon$ after the noisy phase. "
            f"Fitted: steps $\\propto k^{{{fmt(b, 3)}}}$ (p = {e['p']}, s = {e['s']}, "
            f"$a^*$ pattern '{e['a_pattern']}', $|a^*|$ = {e['a_norm']}, $\\varepsilon$ = {e['eps']}); steps $\\propto "
            f"\\log(1/\\varepsilon)^{{{fmt(c, 3)}}}$ (main problem, k = {problem.k}). "
            f"Linear fit of the eps-scan: {fmt(slope)} steps per unit of $\\log(1/\\varepsilon)$; "
            f"the local GD contraction factor predicts {fmt(predicted)}.")
    fig, axes = new_figure(ncols=2, **_style.E5_FIGURE)
    for ax, xs, meds, fit, xl, title in (
            (axes[0], e["ks"], k_med, (b, b0), "k", f"$\\varepsilon$ = {e['eps']}"),
            (axes[1], L, eps_med, (c, c0), r"$\log(1/\varepsilon)$", f"k = {problem.k}")):
        xs = np.asarray(xs, dtype=float)
        ys = np.array([m if m is not None else np.nan for m in meds])
        ax.plot(xs, ys, label="median steps to $\\varepsilon$", **_style.E5_MEDIAN)
        if fit[0] is not None:
            xx = np.linspace(xs.min(), xs.max(), 50)
            ax.plot(xx, np.exp(fit[1]) * xx ** fit[0], label=f"fit: exponent {fit[0]:.3g}",
                    **_style.E5_FIT)
        ax.set_xscale("log")
        ax.set_yscale("log")
        from matplotlib.ticker import LogLocator, NullFormatter
        ax.set_xticks(xs)
        ax.xaxis.set_major_formatter(_style.E5_X_FORMAT)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_locator(LogLocator(**_style.E5_Y_LOCATOR))
        ax.yaxis.set_major_formatter(_style.E5_Y_FORMAT)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(xl)
        ax.set_ylabel("steps after noise phase")
        ax.set_title(title, **_style.E5_TITLE)
        ax.grid(**_style.GRID_LOG)
        ax.legend(**_style.LEGEND)
    fig_name = save_figure(fig, out_dir, "e5_scaling.png")
    return Section(
        id=ID, title=TITLE, text=text, summary=summary,
        table={"columns": ["scan", "k", "eps", "median steps", "censored", "chains"],
               "rows": k_rows + eps_rows},
        figures=[{"file": fig_name, "caption": "Steps to eps vs k and vs log(1/eps), log-log"}],
        data={"ks": e["ks"], "k_median_steps": k_med, "eps_values": e["eps_values"],
              "eps_median_steps": eps_med, "fit_k": {"exponent": b, "log_prefactor": b0},
              "fit_eps": {"exponent": c, "log_prefactor": c0}})
