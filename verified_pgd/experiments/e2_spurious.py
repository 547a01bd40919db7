"""E2 From the spurious point: noise-free GD stays put, PGD escapes and converges.

GD and PGD start at the spurious minimum ``(-w_hat*, a_bar)`` and run as many steps with
the same step size; GD uses sigma = 0 throughout, PGD the configured annealing schedule.
"""
from __future__ import annotations

import itertools

import numpy as np

from . import _style
from ._common import Section, fmt, new_figure, save_figure, seed_for, task

ID = "e2"
TITLE = "E2 From the spurious point: GD vs PGD"


def _schedule_stages(conf, problem):
    from .. import config as cfg
    e = conf["experiments"]["e2"]
    return cfg.schedule_stages(e["schedule"], problem, e["eta"])


def plan(conf, problem):
    from .. import theory
    if not theory.has_spurious_minimum(problem):
        return []
    e = conf["experiments"]["e2"]
    stages = _schedule_stages(conf, problem)
    total = sum(n for _, n in stages)
    common = dict(eta=e["eta"], record_every=e["record_every"], noise=e["noise"])
    return [
        task(conf["problem"], {"kind": "spurious"}, {"kind": "constant", "sigma": 0.0,
                                                     "steps": total},
             chains=1, seed=seed_for(conf["seed"], 2, "gd"), **common),
        task(conf["problem"], {"kind": "spurious"},
             {"kind": "stages", "stages": [[s, n] for s, n in stages]},
             chains=e["chains"], seed=seed_for(conf["seed"], 2, "pgd"), **common),
    ]


def analyse(conf, problem, results, out_dir) -> Section:
    from .. import theory
    if not results:
        return Section(id=ID, title=TITLE, text="Skipped: this teacher has no spurious minimum.",
                       notes=["no spurious minimum: pi (1.a*)^2 >= (k + pi - 1)|a*|^2"])
    gd, pgd = results
    theta_s = float(theory.saddle_theta(problem))
    stages = _schedule_stages(conf, problem)
    hg, hp = gd["history"], pgd["history"]
    steps_g = np.asarray(hg["step"])
    steps_p = np.asarray(hp["step"])
    th_g = np.asarray(hg["theta"], dtype=float)[:, 0]
    th_p = np.asarray(hp["theta"], dtype=float)
    rows = [["GD", 0, gd["theta"][0], gd["loss"][0], gd["a_error"][0], None, gd["hit_step"][0]]]
    escapes = []
    for i in range(pgd["chains"]):
        below = np.nonzero(th_p[:, i] < theta_s)[0]
        esc = int(steps_p[below[0]]) if below.size else None
        escapes.append(esc)
        rows.append([f"PGD", i, pgd["theta"][i], pgd["loss"][i], pgd["a_error"][i], esc,
                     pgd["hit_step"][i]])
    gd_dev = float(np.max(np.abs(th_g - np.pi)))
    summary = {"gd_max_theta_deviation_from_pi": gd_dev,
               "gd_final_loss": gd["loss"][0],
               "pgd_escaped": int(sum(e is not None for e in escapes)),
               "pgd_chains": pgd["chains"],
               "pgd_final_theta_max": max(x for x in pgd["theta"] if x is not None),
               "pgd_final_a_error_max": max(x for x in pgd["a_error"] if x is not None),
               "steps": pgd["steps"]}
    text = (f"Both start at the spurious minimum ($\\theta = \\pi$). Noise-free GD never moves: "
            f"its largest deviation from $\\theta = \\pi$ over {pgd['steps']} steps is "
            f"{fmt(gd_dev)}. PGD with the schedule {[(s, n) for s, n in stages]} "
            f"(step size {conf['experiments']['e2']['eta']}) crossed the saddle angle "
            f"$\\theta_s$ = {theta_s:.4f} in {summary['pgd_escaped']} of {pgd['chains']} chains; "
            f"final $\\theta$ at most {fmt(summary['pgd_final_theta_max'])}, relative "
            f"$a$-error at most {fmt(summary['pgd_final_a_error_max'])}.")
    fig, axes = new_figure(ncols=3, **_style.E2_FIGURE)
    panels = [("theta", r"$\theta_t$", False), ("loss", "loss $L$", True),
              ("a_error", r"relative $a$-error", True)]
    bounds = np.cumsum([n for _, n in stages])[:-1]
    for ax, (key, label, log) in zip(axes, panels):
        yg = np.asarray(hg[key], dtype=float)[:, 0]
        yp = np.asarray(hp[key], dtype=float)
        floor = 1e-300
        for i, col in zip(range(yp.shape[1]), itertools.cycle(_style.E2_CHAIN_COLOURS)):
            ax.plot(steps_p, np.maximum(yp[:, i], floor) if log else yp[:, i], color=col,
                    label="PGD" if i == 0 else None, **_style.E2_CHAIN)
        ax.plot(steps_g, np.maximum(yg, floor) if log else yg, label="GD", **_style.E2_GD)
        for b in bounds:
            ax.axvline(b, **_style.E2_STAGE)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.grid(**_style.GRID)
    axes[0].axhline(theta_s, label=r"$\theta_s$ (saddle)", **_style.E2_SADDLE)
    axes[0].legend(**_style.LEGEND)
    fig_name = save_figure(fig, out_dir, "e2_trajectories.png")
    return Section(
        id=ID, title=TITLE, text=text, summary=summary,
        table={"columns": ["method", "chain", "final theta", "final loss", "final a-error",
                           "escape step", "hit step"], "rows": rows},
        figures=[{"file": fig_name, "caption": "GD (dashed) vs PGD chains from the spurious "
                                               "point; dotted lines: schedule stages"}],
        data={"step": hp["step"], "gd": {k: hg[k] for k in ("theta", "loss", "a_error")},
              "pgd": {k: hp[k] for k in ("theta", "loss", "a_error")},
              "schedule": [[s, n] for s, n in stages]})
