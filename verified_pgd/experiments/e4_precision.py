"""E4 Precision: constant noise vs annealing, final error against the step budget.

For every budget T, constant noise sigma for T steps and geometric annealing from the
same sigma (``n_stages`` stages, factor per stage, then a noise-free tail of
``final_fraction * T`` steps) run from the same start with the same noise streams.
The error of a chain is max(theta, relative a-error) at the end; medians and quartiles
over chains are shown.  Constant noise leaves an error floor set by sigma; annealing
does not.
"""
from __future__ import annotations

import numpy as np

from . import _style
from ._common import Section, fmt, loglog_fit, new_figure, save_figure, seed_for, task

ID = "e4"
TITLE = "E4 Precision: constant noise vs annealing"


def _schedules(e, T):
    return {"constant": {"kind": "constant", "sigma": e["sigma"], "steps": T},
            "annealed": {"kind": "geometric", "sigma0": e["sigma"], "factor": e["factor"],
                         "n_stages": e["n_stages"], "steps": T,
                         "final_fraction": e["final_fraction"]}}


def plan(conf, problem):
    e = conf["experiments"]["e4"]
    init = e["init"]
    if init["kind"] in ("spurious", "saddle"):
        from .. import theory
        if not theory.has_spurious_minimum(problem):
            raise ValueError(f"config: experiments.e4.init.kind: {init['kind']!r} needs a "
                             "teacher with a spurious minimum")
    tasks = []
    for T in e["steps"]:
        for name, sched in _schedules(e, T).items():
            tasks.append(task(conf["problem"], init, sched, eta=e["eta"], chains=e["chains"],
                              seed=seed_for(conf["seed"], 4, T)))
    return tasks


def _errors(r):
    th = np.array([x if x is not None else np.inf for x in r["theta"]])
    ae = np.array([x if x is not None else np.inf for x in r["a_error"]])
    return np.maximum(th, ae)


def _quartiles(err):
    """``(q1, median, q3)`` of the errors, numpy's linear interpolation, with a non-finite
    chain's infinite error as the largest value.  numpy's interpolation turns ``inf`` into
    nan (``inf * 0`` at an exact position, ``inf - inf`` above the midpoint); where it did,
    the exact value is the upper neighbour: the value itself at an exact position, else
    ``inf`` (a finite and an infinite neighbour)."""
    qs = [0.25, 0.5, 0.75]
    with np.errstate(invalid="ignore"):
        q = np.quantile(err, qs)
    q = np.where(np.isnan(q), np.quantile(err, qs, method="higher"), q)
    return tuple(float(v) for v in q)


def analyse(conf, problem, results, out_dir) -> Section:
    e = conf["experiments"]["e4"]
    Ts = e["steps"]
    stats = {"constant": [], "annealed": []}
    rows = []
    for i, T in enumerate(Ts):
        row = [T]
        for j, name in enumerate(("constant", "annealed")):
            err = _errors(results[2 * i + j])
            q1, med, q3 = _quartiles(err)
            stats[name].append({"steps": T, "median": med, "q1": q1, "q3": q3,
                                "errors": err.tolist()})
            row.append(med)
        row.append(row[2] / row[1] if row[1] > 0 else None)
        rows.append(row)
    slope_c, _ = loglog_fit(Ts, [s["median"] for s in stats["constant"]])
    slope_a, _ = loglog_fit(Ts, [s["median"] for s in stats["annealed"]])
    last_c, last_a = stats["constant"][-1]["median"], stats["annealed"][-1]["median"]
    summary = {"largest_budget": Ts[-1], "constant_median_error": last_c,
               "annealed_median_error": last_a,
               "annealed_over_constant": (last_a / last_c) if last_c > 0 else None,
               "constant_loglog_slope": slope_c}
    text = (f"Start: {e['init']['kind']}; {e['chains']} chains per point; step size {e['eta']}; "
            f"constant $\\sigma$ = {e['sigma']} vs geometric annealing from it "
            f"(factor {e['factor']}, {e['n_stages']} stages, noise-free last "
            f"{e['final_fraction']:.0%}). Error = max($\\theta$, relative $a$-error) at the end. "
            f"At T = {Ts[-1]} the median error is {fmt(last_c)} with constant noise and "
            f"{fmt(last_a)} with annealing. The log-log slope of the constant-noise medians "
            f"against T is {fmt(slope_c, 3)} (a floor: more steps do not help); annealing "
            f"improves with T until float64 rounding ({fmt(slope_a, 3)} overall).")
    fig, ax = new_figure()
    for name in ("constant", "annealed"):
        med = np.array([s["median"] for s in stats[name]])
        lo = np.array([s["q1"] for s in stats[name]])
        hi = np.array([s["q3"] for s in stats[name]])
        floor = 1e-300
        ax.plot(Ts, np.maximum(med, floor), label=f"{name} (median)", **_style.E4_MEDIAN[name])
        ax.fill_between(Ts, np.maximum(lo, floor), np.maximum(hi, floor), **_style.E4_BAND[name])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("steps T")
    ax.set_ylabel(r"final error max($\theta$, rel. $a$-error)")
    ax.grid(**_style.GRID_LOG)
    ax.legend(**_style.LEGEND)
    fig_name = save_figure(fig, out_dir, "e4_precision.png")
    return Section(
        id=ID, title=TITLE, text=text, summary=summary,
        table={"columns": ["steps", "constant median error", "annealed median error",
                           "annealed / constant"], "rows": rows},
        figures=[{"file": fig_name, "caption": "Final error vs steps (median, quartile band)"}],
        data={"constant": stats["constant"], "annealed": stats["annealed"],
              "sigma": e["sigma"], "init": e["init"]})
