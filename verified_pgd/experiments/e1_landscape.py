"""E1 Landscape: the reduced loss min_a L(theta, a) on the sphere, critical points, barrier.

The curve comes from :func:`verified_pgd.theory.reduced_loss`; the critical points from
:mod:`verified_pgd.theory`.  Two independent cross-checks are reported: the loss at each
critical point re-evaluated with :func:`verified_pgd.loss` against the reduced-loss curve
at its angle, and the grid maximum of the curve against the saddle angle.
"""
from __future__ import annotations

import numpy as np

from . import _style
from ._common import Section, fmt, new_figure, save_figure

ID = "e1"
TITLE = "E1 Landscape: reduced loss along theta"


def plan(conf, problem):
    return []


def analyse(conf, problem, results, out_dir) -> Section:
    import verified_pgd as vp
    from .. import theory
    points = conf["experiments"]["e1"]["points"]
    th = np.linspace(0.0, np.pi, points)
    R = np.asarray(theory.reduced_loss(problem, th), dtype=float)
    crit = [theory.global_minimum(problem)]
    spurious = theory.has_spurious_minimum(problem)
    if spurious:
        crit += [theory.saddle(problem), theory.spurious_minimum(problem)]
    rows, checks = [], []
    for c in crit:
        L_direct = float(vp.loss(problem, np.asarray(c.w, float), np.asarray(c.a, float)))
        L_curve = float(theory.reduced_loss(problem, float(c.theta)))
        checks.append(abs(L_direct - L_curve))
        rows.append([c.kind, float(c.theta), float(c.loss), L_direct,
                     [float(x) for x in np.asarray(c.a, float)]])
    summary = {"spurious_minimum_exists": bool(spurious),
               "max_loss_mismatch_at_critical_points": max(checks)}
    text = ("Reduced loss $\\min_a L(\\theta, a)$ with $|w| = 1$, from the closed form "
            "(`theory.reduced_loss`). Critical points from `theory`; each loss re-evaluated "
            "with `vp.loss` at the point itself (column *L(w, a)*) and compared with the curve.")
    fig, ax = new_figure()
    ax.plot(th, R, label=r"$\min_a L(\theta, a)$", **_style.E1_CURVE)
    for c in crit:
        ax.plot([float(c.theta)], [float(c.loss)], **_style.E1_POINT[c.kind],
                label=f"{c.kind} ($\\theta$={float(c.theta):.3f}, L={float(c.loss):.4g})")
    if spurious:
        b = float(theory.barrier(problem))
        sa, sp = crit[1], crit[2]
        for L in (float(sa.loss), float(sp.loss)):
            ax.hlines(L, float(sa.theta), np.pi, **_style.E1_BARRIER_LINE)
        ax.text(0.5 * (float(sa.theta) + np.pi), float(sa.loss) + 0.01 * float(sa.loss),
                f"barrier $\\Delta L$ = {b:.4g}", **_style.E1_BARRIER_TEXT)
        i_max = int(np.argmax(R[th > 0.5 * float(sa.theta)])) + int(np.sum(th <= 0.5 * float(sa.theta)))
        summary.update({"theta_saddle": float(sa.theta), "loss_saddle": float(sa.loss),
                        "loss_spurious": float(sp.loss), "barrier": b,
                        "grid_argmax_theta": float(th[i_max]),
                        "grid_argmax_minus_theta_saddle": float(th[i_max] - float(sa.theta)),
                        "grid_spacing": float(np.pi / (points - 1))})
        text += (f" The barrier from the spurious minimum to the saddle is "
                 f"$\\Delta L$ = {fmt(b)}; the curve's grid maximum lies at "
                 f"$\\theta$ = {th[i_max]:.4f}, the saddle at $\\theta_s$ = {float(sa.theta):.4f}.")
    else:
        text += " This teacher has no spurious minimum (pi (1.a*)^2 >= (k + pi - 1)|a*|^2)."
    ax.set_xlabel(r"$\theta = \angle(w, w^*)$")
    ax.set_ylabel("reduced loss")
    ax.set_xlim(0, np.pi)
    ax.set_xticks([0, np.pi / 4, np.pi / 2, 3 * np.pi / 4, np.pi],
                  ["0", r"$\pi/4$", r"$\pi/2$", r"$3\pi/4$", r"$\pi$"])
    ax.grid(**_style.GRID)
    ax.legend(**_style.E1_LEGEND)
    fig_name = save_figure(fig, out_dir, "e1_landscape.png")
    step = max(1, (points - 1) // 180)
    return Section(
        id=ID, title=TITLE, text=text, summary=summary,
        table={"columns": ["point", "theta", "L (theory)", "L(w, a) (vp.loss)", "a"],
               "rows": rows},
        figures=[{"file": fig_name, "caption": "Reduced loss along theta with critical points"}],
        data={"theta": th[::step].tolist(), "reduced_loss": R[::step].tolist()})
