"""E7 Escape time: the measured mean escape steps against ``theory.escape_time``.

On a grid of teachers (a* of the [experiments.e7] table, w* = s e_1 in R^p for every p
of ``ps``), step sizes ``etas`` and barrier-over-temperature ratios ``xs`` = Delta L / T
(sigma from T = eta sigma^2 / 2), ``chains`` chains start at the spurious minimum and run
PGD at constant noise until theta < theta_s (:func:`verified_pgd.escape.compare_prediction`,
segmented sampler, every step recorded).  Per point: the mean escape step with the exact
chi-square interval of an exponential law at confidence ``1 - alpha``, the predictions of
``"saddle"`` (the default), ``"1d"``, ``"separatrix"`` and the negative control
``"no-volume"``, the ratio measured / predicted, and whether the assumptions of
``"saddle"`` hold (:func:`verified_pgd.theory.escape_law.assumptions`, with the failed
conditions named).  Where V has no saddle only ``"1d"`` is defined and the point is
measured against it.

"Agrees" means the ratio's interval meets [1 - tol, 1 + tol].  The runs are direct
:func:`verified_pgd.escape.compare_prediction` calls in ``analyse`` (like E6), seeded from
the master seed: bitwise reproducible, but not spread over ``--workers``/``--dask``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from . import _style
from ._common import Section, fmt, new_figure, save_figure, seed_for

ID = "e7"
TITLE = "E7 Escape time: measured against predicted"
METHODS = ("saddle", "1d", "separatrix", "no-volume")


def plan(conf, problem):
    return []


def _problems(conf, problem):
    from .. import Problem, theory
    e = conf["experiments"]["e7"]
    out = []
    for a in e["teachers"] or [list(problem.a_star)]:
        for p in e["ps"]:
            pr = Problem([float(problem.s)] + [0.0] * (p - 1), a)
            if theory.has_spurious_minimum(pr):
                out.append(pr)
    return out


def _point(pr, eta, x, chains, seed, alpha):
    from .. import escape, theory
    from ..theory import escape_law
    sigma = math.sqrt(2 * float(theory.barrier(pr)) / x / eta)
    ok = escape_law.assumptions(pr, eta, sigma)
    pred = {}
    for m in METHODS:
        try:
            pred[m] = float(escape_law.escape_time(pr, eta, sigma, method=m))
        except ValueError:
            pred[m] = None                 # "saddle", "separatrix": no saddle in V here
    method = "saddle" if pred["saddle"] is not None else "1d"
    c = escape.compare_prediction(pr, eta, x, chains=chains, seed=seed, alpha=alpha,
                                  method=method)
    return c, pred, ok


def analyse(conf, problem, results, out_dir) -> Section:
    e = conf["experiments"]["e7"]
    tol, alpha = e["tol"], e["alpha"]
    rows, points, notes = [], [], []
    for pi, pr in enumerate(_problems(conf, problem)):
        for eta in e["etas"]:
            for x in e["xs"]:
                c, pred, ok = _point(pr, eta, x, e["chains"],
                                     seed_for(conf["seed"], 7, pi, str(eta), str(x)), alpha)
                ratio = {m: (c.mean / v if v else None) for m, v in pred.items()}
                r_lo, r_hi = c.low / c.predicted, c.high / c.predicted
                agrees = bool(r_hi >= 1 - tol and r_lo <= 1 + tol)
                ctl = pred["no-volume"]
                ctl_rejected = (None if ctl is None else
                                bool(c.high / ctl < 1 - tol or c.low / ctl > 1 + tol))
                teacher = [float(v) for v in pr.a_star]
                points.append({"a_star": teacher, "p": pr.p, "k": pr.k, "eta": float(eta),
                               "x": float(x), "chains": c.chains, "times": [int(t) for t in c.times],
                               "mean": c.mean, "low": c.low, "high": c.high, "cv": c.cv,
                               "censored": c.censored, "measured_against": c.method,
                               "predicted": pred, "ratio": ratio,
                               "ratio_interval": [r_lo, r_hi], "agrees": agrees,
                               "control_rejected": ctl_rejected,
                               "assumptions_hold": ok.holds, "reasons": list(ok.reasons)})
                rows.append([pr.k, pr.p, eta, x, c.chains, c.mean, [c.low, c.high],
                             c.method, c.predicted, c.ratio, [r_lo, r_hi], ratio["1d"],
                             ratio["no-volume"], agrees, ok.holds, "; ".join(ok.reasons)])
    inside = [q for q in points if q["assumptions_hold"]]
    outside = [q for q in points if not q["assumptions_hold"]]

    def span(qs, key):
        v = [q["ratio"][key] for q in qs if q["ratio"][key] is not None]
        return [min(v), max(v)] if v else None
    summary = {"points": len(points), "points_inside_assumptions": len(inside),
               "inside_agreeing": sum(q["agrees"] for q in inside),
               "inside_control_rejected": sum(bool(q["control_rejected"]) for q in inside),
               "saddle_ratio_range_inside": span(inside, "saddle"),
               "one_d_ratio_range_inside": span(inside, "1d"),
               "no_volume_ratio_range_inside": span(inside, "no-volume"),
               "outside_disagreeing": sum(not q["agrees"] for q in outside),
               "points_outside_assumptions": len(outside), "tol": tol}
    if not inside:
        notes.append("no grid point satisfies the assumptions of the saddle prediction")
    fig_name = _figure(points, out_dir, tol)
    text = (f"Mean escape steps from the spurious minimum at constant noise ({e['chains']} "
            f"chains per point, exact chi-square interval of an exponential law at "
            f"confidence 1 - {alpha:g}) against `theory.escape_time`: method saddle (the "
            f"default: the 1-D first-passage time times the saddle capacity factor of the "
            f"full (θ, a) Hessian), 1d (the Dirichlet lower bound), separatrix, and the "
            f"negative control no-volume (the sphere's volume term dropped). Grid: "
            f"p in {e['ps']}, η in {e['etas']}, ΔL/T in {e['xs']}. Agrees = the ratio's "
            f"interval meets [1 - {tol:g}, 1 + {tol:g}]. Inside the assumptions "
            f"(ΔL/T ≥ 2, volume term ≤ half the saddle curvature, η × curvature ≤ 1/4): "
            f"{summary['inside_agreeing']}/{len(inside)} points agree, saddle ratio "
            f"{_range(summary['saddle_ratio_range_inside'])}, 1d "
            f"{_range(summary['one_d_ratio_range_inside'])}, control no-volume "
            f"{_range(summary['no_volume_ratio_range_inside'])} (rejected at "
            f"{summary['inside_control_rejected']}/{len(inside)}). Outside: "
            f"{summary['outside_disagreeing']}/{len(outside)} points disagree (reasons in "
            f"the table).")
    return Section(
        id=ID, title=TITLE, text=text, summary=summary,
        table={"columns": ["k", "p", "eta", "dL/T", "chains", "mean steps", "interval",
                           "method", "predicted", "ratio", "ratio interval", "ratio 1d",
                           "ratio no-volume", "agrees", "assumptions hold", "why not"],
               "rows": rows},
        figures=[{"file": fig_name, "caption": "Left: mean escape steps (intervals at 1 - "
                  f"{alpha:g}) against ΔL/T with the saddle (solid) and 1d (dashed) "
                  "predictions; right: measured / predicted (saddle, or 1d where V has no "
                  f"saddle; hollow: assumptions fail), band 1 ± {tol:g}"}],
        data={"points": points}, notes=notes)


def _range(r):
    return "—" if r is None else f"{fmt(r[0], 3)}–{fmt(r[1], 3)}"


def _figure(points, out_dir, tol):
    fig, (ax, ax2) = new_figure(ncols=2, **_style.E7_FIGURE)
    keys = sorted({(q["k"], q["p"], q["eta"]) for q in points})
    for i, (key, col) in enumerate(zip(keys, itertools.cycle(_style.E7_SERIES_COLOURS))):
        qs = sorted((q for q in points if (q["k"], q["p"], q["eta"]) == key),
                    key=lambda q: q["x"])
        xs = np.array([q["x"] for q in qs])
        m = np.array([q["mean"] for q in qs])
        err = np.array([[q["mean"] - q["low"] for q in qs], [q["high"] - q["mean"] for q in qs]])
        label = f"k={key[0]} p={key[1]} η={key[2]:g}"
        ax.errorbar(xs, m, yerr=err, color=col, label=label, **_style.E7_MEAN)
        sad = [q["predicted"]["saddle"] for q in qs]
        one = [q["predicted"]["1d"] for q in qs]
        ax.plot(xs, [np.nan if v is None else v for v in sad], color=col, **_style.E7_SADDLE)
        ax.plot(xs, one, color=col, **_style.E7_ONE_D)
        r = np.array([q["mean"] / q["predicted"][q["measured_against"]] for q in qs])
        lo = np.array([q["ratio_interval"][0] for q in qs])
        hi = np.array([q["ratio_interval"][1] for q in qs])
        hold = np.array([q["assumptions_hold"] for q in qs])
        jit = (i - len(keys) / 2) * 0.04
        ax2.errorbar(xs + jit, r, yerr=[r - lo, hi - r], ecolor=col, **_style.E7_RATIO_BAR)
        ax2.plot(xs[hold] + jit, r[hold], color=col, label=label, **_style.E7_RATIO)
        ax2.plot(xs[~hold] + jit, r[~hold], color=col, **_style.E7_RATIO_HOLLOW)
    ax.set_yscale("log")
    ax.set_xlabel(r"$\Delta L / T$")
    ax.set_ylabel("mean escape steps")
    ax.grid(**_style.GRID_LOG)
    ax.legend(**_style.E7_LEGEND)
    ax2.axhspan(1 - tol, 1 + tol, **_style.E7_BAND)
    ax2.axhline(1.0, **_style.E7_ONE)
    ax2.set_xlabel(r"$\Delta L / T$")
    ax2.set_ylabel("measured / predicted")
    ax2.grid(**_style.GRID)
    return save_figure(fig, out_dir, "e7_escape.png")
