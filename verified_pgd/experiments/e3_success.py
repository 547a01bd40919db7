"""E3 From random initialisation: success rates of each method, Clopper-Pearson intervals.

Every method runs the same number of independent chains from the same random starts
(w uniform on the sphere, a ~ N(0, scale^2/k I); common random numbers across methods).
Reported per method: the fraction of chains whose *final* state is eps-successful
(theta <= eps and relative a-error <= eps), the fraction that reached eps-success at
some step, and the fraction that ended in the global basin (theta < theta_s, not diverged), each with
an exact 95% interval.  A diverged chain (frozen at its last good state) is never a
success, final or ever.
"""
from __future__ import annotations

import numpy as np

from ..claims.statistics import clopper_pearson
from . import _style
from ._common import Section, fmt, new_figure, save_figure, seed_for, \
    split_chains, task

ID = "e3"
TITLE = "E3 From random initialisation: success rates"


def methods(conf, problem):
    """``({name: explicit stages schedule}, notes)``.

    A ``kind = "theory"`` method is resolved here, in the parent, into its stages (tasks
    stay self-contained); it is skipped with a note when verified_pgd.theory.schedule is
    not available in this installation.
    """
    from .. import config as cfg
    e = conf["experiments"]["e3"]
    out, notes = {}, []
    for name, sched in e["methods"].items():
        try:
            stages = cfg.schedule_stages(sched, problem, e["eta"])
        except cfg.ConfigError:
            if sched["kind"] != "theory":
                raise
            notes.append(f"method {name!r} skipped: verified_pgd.theory.schedule is not "
                         "available in this installation")
            continue
        out[name] = {"kind": "stages", "stages": [[s, n] for s, n in stages]}
    return out, notes


def plan(conf, problem):
    e = conf["experiments"]["e3"]
    tasks = []
    for name, sched in methods(conf, problem)[0].items():
        for j, n in enumerate(split_chains(e["chains"])):
            # chunk j of every method shares its seed: same starts and noise streams
            tasks.append(task(conf["problem"], {"kind": "random", "scale": e["init_scale"]},
                              sched, eta=e["eta"], chains=n, eps=e["eps"],
                              seed=seed_for(conf["seed"], 3, j)))
    return tasks


def analyse(conf, problem, results, out_dir) -> Section:
    from .. import theory
    e = conf["experiments"]["e3"]
    eps = e["eps"]
    spurious = theory.has_spurious_minimum(problem)
    theta_basin = float(theory.saddle_theta(problem)) if spurious else np.pi / 2
    chunks = len(split_chains(e["chains"]))
    resolved, notes = methods(conf, problem)
    rows, series = [], {}
    for m, name in enumerate(resolved):
        part = results[m * chunks:(m + 1) * chunks]
        th = np.array([x if x is not None else np.inf for r in part for x in r["theta"]])
        ae = np.array([x if x is not None else np.inf for r in part for x in r["a_error"]])
        hit = np.array([h for r in part for h in r["hit_step"]])
        dv = np.array([bool(d) for r in part for d in r["diverged"]], dtype=bool)
        div = int(dv.sum())
        n = th.size
        # a diverged chain is never a success, whatever its recorded values
        final = int(np.sum((th <= eps) & (ae <= eps) & ~dv))
        ever = int(np.sum((hit >= 0) & ~dv))
        basin = int(np.sum((th < theta_basin) & ~dv))
        ci_f, ci_e, ci_b = (clopper_pearson(x, n, alpha=0.025) for x in (final, ever, basin))
        series[name] = {"n": n, "final_success": final, "final_ci": ci_f, "ever_success": ever,
                        "ever_ci": ci_e, "global_basin": basin, "basin_ci": ci_b,
                        "diverged": div, "steps": part[0]["steps"]}
        rows.append([name, part[0]["steps"], n, final / n, list(ci_f), ever / n, basin / n,
                     list(ci_b), div])
    summary = {f"{name}_final_success_rate": s["final_success"] / s["n"]
               for name, s in series.items()}
    summary.update({f"{name}_final_success_ci95": list(s["final_ci"]) for name, s in series.items()})
    text = (f"{e['chains']} chains per method from random starts, step size {e['eta']}, "
            f"$\\varepsilon$ = {eps}. *final* = the last state is $\\varepsilon$-successful; "
            f"*ever* = $\\varepsilon$-success reached at some step; *basin* = final "
            f"$\\theta < \\theta_s$ = {theta_basin:.4f}. Intervals: exact 95% Clopper-Pearson.")
    fig, ax = new_figure(**_style.E3_FIGURE)
    names = list(series)
    x = np.arange(len(names))
    for off, key, ci_key, label in ((-0.2, "final_success", "final_ci",
                                     r"final $\varepsilon$-success"),
                                    (0.2, "global_basin", "basin_ci", r"final $\theta < \theta_s$")):
        rate = np.array([series[nm][key] / series[nm]["n"] for nm in names])
        lo = np.array([series[nm][ci_key][0] for nm in names])
        hi = np.array([series[nm][ci_key][1] for nm in names])
        ax.bar(x + off, rate, width=0.38, label=label, **_style.E3_BAR[key])
        ax.errorbar(x + off, rate, yerr=[rate - lo, hi - rate], **_style.E3_INTERVAL)
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction of chains (95% CI)")
    ax.legend(**_style.E3_LEGEND)
    ax.grid(**_style.E3_GRID)
    fig_name = save_figure(fig, out_dir, "e3_success.png")
    return Section(
        id=ID, title=TITLE, text=text, summary=summary,
        table={"columns": ["method", "steps", "chains", "final success", "95% CI",
                           "ever success", "in basin", "basin 95% CI", "diverged"],
               "rows": rows},
        figures=[{"file": fig_name, "caption": "Success rates with Clopper-Pearson intervals"}],
        data={"eps": eps, "theta_basin": theta_basin,
              "methods": {k: {kk: (list(v) if isinstance(v, tuple) else v)
                              for kk, v in s.items()} for k, s in series.items()},
              "schedules": resolved},
        notes=notes)
