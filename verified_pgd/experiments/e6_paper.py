"""E6 The paper's protocol: Zhou et al. (2019)'s own algorithm and settings.

Methods, all of 8000 steps (the length of ``Schedule.zhou2019()``: 20 epochs x 400
iterations, eta_0 = 0.1 x 0.8^e, (sigma_w, sigma_a) = (36, 1) x 0.4^e):

* ``gd``: plain gradient descent at eta = 0.1 (the Du et al. 2018 baseline);
* ``pgd_gaussian``: PGD with the protocol, rho read as the Gaussian sigma per coordinate;
* ``pgd_ball``: the same with rho read as the radius of a uniform ball;
* ``sgd_b4``: perturbed mini-batch SGD, B = ``batch`` fresh inputs per step, Gaussian rho;
* ``theory``: ``theory.schedule(problem, eps, 0.05, 0.1)`` for comparison (its own length).

From random initialisation (w uniform on the sphere, a ~ N(0, I/k)) and from the spurious
point, on the run's teacher and on ``teachers`` (further a* with a spurious minimum,
chosen to span the barrier Delta L; the paper's own k, p, a* are not given, so these are
not the paper's problems).  Reported per method: final eps-success and final in-basin
(theta < theta_s) rates with exact 95% Clopper-Pearson intervals, the median step of
first eps-success where reached, and a trajectory figure after the paper's Figure 2.

The runs are direct :func:`verified_pgd.pgd` calls in ``analyse`` (the task format of
``vpgd run`` carries noise-only schedules; this protocol anneals eta too); they are
seeded from the master seed, so the section is bitwise reproducible, but it does not use
``--workers``/``--dask``.
"""
from __future__ import annotations

import numpy as np

from ..claims.statistics import clopper_pearson
from . import _style
from ._common import Section, new_figure, save_figure, seed_for

ID = "e6"
TITLE = "E6 The paper's protocol (Zhou et al. 2019)"
GD_ETA = 0.1
METHODS = ("gd", "pgd_gaussian", "pgd_ball", "sgd_b4", "theory")


def plan(conf, problem):
    return []


def _problems(conf, problem):
    from .. import Problem, theory
    out = [("run teacher", problem)]
    for a in conf["experiments"]["e6"]["teachers"]:
        pr = Problem(problem.w_star, a)
        if theory.has_spurious_minimum(pr):
            out.append((f"a*={list(a)}", pr))
    return out


def _starts(problem, init, chains, seed):
    from .. import theory
    if init == "spurious":
        sp = theory.spurious_minimum(problem)
        return np.asarray(sp.w, float), np.asarray(sp.a, float)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((chains, problem.p))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    a = rng.standard_normal((chains, problem.k)) / np.sqrt(problem.k)
    return w, a


def _run(problem, method, w0, a0, chains, eps, seed, batch):
    from .. import Schedule, pgd, theory
    common = dict(seed=seed, chains=chains, eps=eps)
    if method == "gd":
        sched = Schedule.constant(0.0, Schedule.zhou2019().total_steps)
        return pgd(problem, w0, a0, sched, GD_ETA, record_every=100, **common), sched
    if method == "theory":
        sched = theory.schedule(problem, eps, 0.05, GD_ETA)
        return pgd(problem, w0, a0, sched, GD_ETA, record_every=sched.total_steps,
                   **common), sched
    sched = Schedule.zhou2019()
    kw = {"pgd_gaussian": {}, "pgd_ball": {"noise": "ball"}, "sgd_b4": {"gradient": batch}}[method]
    return pgd(problem, w0, a0, sched, record_every=100, **common, **kw), sched


def analyse(conf, problem, results, out_dir) -> Section:
    from .. import theory
    e = conf["experiments"]["e6"]
    eps, chains = e["eps"], e["chains"]
    rows, data, summary, traj, notes = [], {}, {}, {}, []
    for pi, (pname, pr) in enumerate(_problems(conf, problem)):
        th_s = float(theory.saddle_theta(pr))
        dL = float(theory.barrier(pr))
        for init in e["inits"]:
            w0, a0 = _starts(pr, init, chains, seed_for(conf["seed"], 6, pi, init))
            for method in (m for m in METHODS if m in e["methods"]):
                if pi > 0 and method in ("pgd_ball", "sgd_b4"):
                    continue                       # the grid teachers: GD, PGD, theory only
                if method == "theory":
                    n_th = theory.schedule(pr, eps, 0.05, GD_ETA).total_steps
                    if n_th > e["max_theory_steps"]:
                        notes.append(f"{pname}, {init}: theory.schedule not run, its length "
                                     f"{n_th} > max_theory_steps = {e['max_theory_steps']}")
                        continue
                res, sched = _run(pr, method, w0, a0, chains, eps,
                                  seed_for(conf["seed"], 6, pi, init, method), e["batch"])
                th = res.history.theta[-1]
                ae = res.history.a_error[-1]
                ok_final = (th <= eps) & (ae <= eps) & ~res.diverged
                basin = (th < th_s) & ~res.diverged
                n = res.chains
                f, b = int(ok_final.sum()), int(basin.sum())
                ci_f, ci_b = (clopper_pearson(x, n, alpha=0.025) for x in (f, b))   # exact 95%
                hit = res.hit_step[res.success]
                med = float(np.median(hit)) if hit.size else None
                key = f"{pi}_{init}_{method}"
                data[key] = {"teacher": pname, "barrier": dL, "init": init, "method": method,
                             "chains": n, "final_success": f, "final_ci": list(ci_f),
                             "in_basin": b, "basin_ci": list(ci_b), "median_steps_to_eps": med,
                             "total_steps": int(sched.total_steps)}
                rows.append([pname, round(dL, 5), init, method, int(sched.total_steps), n,
                             f / n, list(ci_f), b / n, list(ci_b), med])
                if pi == 0:
                    summary[f"{init}_{method}_final_success_rate"] = f / n
                    if method in ("pgd_gaussian", "gd"):
                        traj[(init, method)] = (res.history.step, res.history.theta[:, :8])
    summary["teachers"] = len(_problems(conf, problem))
    fig, axes = new_figure(ncols=2, **_style.E6_FIGURE)
    sig = _sigma_trace()
    for ax, init in zip(np.atleast_1d(axes), ("random", "spurious")):
        for method in ("pgd_gaussian", "gd"):
            if (init, method) in traj:
                st, th = traj[(init, method)]
                ax.plot(st, th, color=_style.E6_COLOUR[method], **_style.E6_CHAIN)
                ax.plot([], [], color=_style.E6_COLOUR[method], label=method)
        ax.axhline(float(theory.saddle_theta(problem)), label=r"$\theta_s$", **_style.E6_SADDLE)
        ax.set_xlabel("step")
        ax.set_ylabel(r"$\theta_t$")
        ax.set_title(f"from {init} start")
        tw = ax.twinx()
        tw.semilogy(sig[0], sig[1], **_style.E6_SIGMA)
        tw.set_ylabel(r"$\sigma_w$ (dashed)")
        ax.legend(**_style.E6_LEGEND)
    fig_name = save_figure(fig, out_dir, "e6_paper.png")
    text = (f"Zhou et al. (2019)'s protocol (`Schedule.zhou2019()`: 20 epochs x 400 steps, "
            f"eta = 0.1 x 0.8^e, (sigma_w, sigma_a) = (36, 1) x 0.4^e), GD at eta = {GD_ETA}, "
            f"perturbed mini-batch SGD (B = {e['batch']}), and `theory.schedule` "
            f"(eps = {eps}, delta = 0.05, eta = {GD_ETA}); {chains} chains each, from random "
            f"starts and from the spurious point. The paper's own k, p, a* are not known here: "
            f"the teachers are the run's and {len(e['teachers'])} more with a spurious minimum. "
            f"Both readings of rho: Gaussian sigma (pgd_gaussian) and ball radius (pgd_ball). "
            f"final = last state eps-successful; basin = last theta < theta_s. "
            f"Intervals: exact 95% Clopper-Pearson.")
    return Section(
        id=ID, title=TITLE, text=text, summary=summary,
        table={"columns": ["teacher", "barrier", "init", "method", "steps", "chains",
                           "final success", "95% CI", "in basin", "basin 95% CI",
                           "median steps to eps"], "rows": rows},
        figures=[{"file": fig_name, "caption": "theta_t of 8 chains under the paper's protocol "
                  "and GD (Figure 2 of the paper: the decreasing noise guides PGD into the "
                  "global basin); dashed: sigma_w(t)"}],
        data={"runs": data}, notes=notes)


def _sigma_trace():
    from .. import Schedule
    st = Schedule.zhou2019().stages
    x, y, t = [], [], 0
    for s in st:
        x += [t, t + s.steps]
        y += [s.sigma_w, s.sigma_w]
        t += s.steps
    return x, y
