"""Fast, direct tests of the experiments (``verified_pgd/experiments``), written for the
mutation run of the ``experiments`` target (docs/testing.md, issue 17).

No PGD runs: ``plan`` is checked against the configuration it reads, and ``analyse`` is
fed raw task results built here (tiny) with known content; its headline numbers are
recomputed independently (counts by hand, Clopper-Pearson from scipy's Beta quantiles,
quantiles with ``statistics.quantiles``, least squares with ``numpy.polyfit``).  E6 and
E7 run their solvers inside ``analyse``: ``verified_pgd.pgd`` and
``escape.compare_prediction`` are replaced by recorders, so the test sees what they are
asked and controls what they return.  Figures are captured in place of ``save_figure``
(no PNG is rendered, except in the test of ``save_figure`` itself) and their data checked.
"""
import copy
import math
import statistics
import struct
import sys
import types
import warnings
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.colors import to_hex
from scipy.stats import beta

import verified_pgd as vp
from verified_pgd import config as cfg
from verified_pgd import theory
from verified_pgd.experiments import _common, e1_landscape as e1, e2_spurious as e2, \
    e3_success as e3, e4_precision as e4, e5_scaling as e5, e6_paper as e6, \
    e7_escape as e7
import verified_pgd.experiments as experiments

NO_SPURIOUS = {"w_star": [1.0, 0.0, 0.0, 0.0], "a_star": [1.0, 1.0, 1.0, 1.0]}


@pytest.fixture
def conf():
    return copy.deepcopy(cfg.load_run(quick=True))


@pytest.fixture
def prob(conf):
    return cfg.build_problem(conf["problem"])


@pytest.fixture
def figs(monkeypatch):
    """Capture every figure instead of rendering it: {file name: Figure}."""
    out = {}

    def capture(fig, out_dir, name):
        assert name not in out and Path(out_dir).is_dir()
        out[name] = fig
        return name
    for m in (e1, e2, e3, e4, e5, e6, e7):
        monkeypatch.setattr(m, "save_figure", capture)
    return out


def cp95(x, n):
    """Exact two-sided 95% Clopper-Pearson interval from the Beta quantiles."""
    lo = 0.0 if x == 0 else beta.ppf(0.025, x, n - x + 1)
    hi = 1.0 if x == n else beta.ppf(0.975, x + 1, n - x)
    return lo, hi


def close(a, b, tol=1e-12):
    return abs(a - b) <= tol * max(1.0, abs(b))


def lines_of(ax):
    return [ln for ln in ax.get_lines()]


# ------------------------------------------------------------------------ _common

def test_section_to_dict_has_every_field():
    s = _common.Section(id="x", title="T", text="body", summary={"a": 1},
                        table={"columns": ["c"], "rows": [[1]]}, figures=[{"file": "f"}],
                        data={"d": [1]}, notes=["n"])
    assert s.to_dict() == {"id": "x", "title": "T", "text": "body", "summary": {"a": 1},
                           "table": {"columns": ["c"], "rows": [[1]]},
                           "figures": [{"file": "f"}], "data": {"d": [1]}, "notes": ["n"]}
    d = _common.Section(id="y", title="U", text="").to_dict()
    assert d["summary"] == {} and d["figures"] == [] and d["data"] == {} and d["notes"] == []
    assert d["table"] == {"columns": [], "rows": []}


def _seed_spec(master, experiment, *parts):
    # the documented derivation, from numpy's SeedSequence and zlib directly
    key = [experiment] + [p if isinstance(p, int) else zlib.crc32(str(p).encode("utf-8"))
                          for p in parts]
    hi, lo = (int(v) for v in np.random.SeedSequence(master, spawn_key=key).generate_state(2, np.uint32))
    return (hi * 2**32 + lo) // 2


@pytest.mark.parametrize("master, experiment, parts", [
    (0, 2, ("gd",)), (12345, 3, (0,)), (7, 6, (1, "random", "pgd_ball")), (2**40, 5, ("k", 16)),
    (3, 4, ())])
def test_seed_for_is_the_documented_seedsequence_derivation(master, experiment, parts):
    s = _common.seed_for(master, experiment, *parts)
    assert type(s) is int and 0 <= s < 2**63
    assert s == _seed_spec(master, experiment, *parts)


def test_seed_for_tells_its_inputs_apart():
    seeds = {_common.seed_for(0, 2, "gd"), _common.seed_for(0, 2, "pgd"),
             _common.seed_for(0, 3, "gd"), _common.seed_for(1, 2, "gd"),
             _common.seed_for(0, 2, 5), _common.seed_for(0, 2, "5"), _common.seed_for(0, 2)}
    assert len(seeds) == 7
    # the top bit of the 64 is dropped (a valid seed is < 2**63), the lowest is kept
    raw = [np.random.SeedSequence(m, spawn_key=(1,)).generate_state(2, np.uint32)
           for m in range(64)]
    assert any(int(r[0]) >= 2**31 for r in raw)
    assert any(_common.seed_for(m, 1) % 2 for m in range(64))


def test_task_is_a_validated_task_with_the_given_options():
    spec = {"w_star": [1.0, 0.0], "a_star": [1.0, -1.0]}
    t = _common.task(spec, {"kind": "spurious"}, {"kind": "constant", "sigma": 0.5, "steps": 7},
                     eta=0.25, chains=3, seed=99)
    assert t == cfg.validate_task({"problem": spec, "init": {"kind": "spurious"},
                                   "schedule": {"kind": "constant", "sigma": 0.5, "steps": 7},
                                   "seed": 99, "solver": {"eta": 0.25, "chains": 3, "eps": 1e-3,
                                                          "record_every": 0,
                                                          "noise": "gaussian"}})
    assert t["solver"]["eps"] == 1e-3 and t["solver"]["record_every"] == 0
    assert t["solver"]["noise"] == "gaussian"
    t2 = _common.task(spec, {"kind": "random", "scale": 2.0},
                      {"kind": "stages", "stages": [[0.3, 4]]}, eta=0.5, chains=2, seed=5,
                      eps=1e-5, record_every=2, noise="ball")
    sol = t2["solver"]
    assert (sol["eta"], sol["chains"], sol["eps"], sol["record_every"], sol["noise"]) == \
        (0.5, 2, 1e-5, 2, "ball")
    assert t2["seed"] == 5 and t2["init"] == {"kind": "random", "scale": 2.0}
    assert t2["problem"] == spec and t2["schedule"]["stages"] == [[0.3, 4]]


@pytest.mark.parametrize("chains, per_task", [(1, 250), (249, 250), (250, 250), (251, 250),
                                              (600, 250), (2000, 250), (10, 3), (7, 7)])
def test_split_chains_balanced_chunks(chains, per_task):
    parts = (_common.split_chains(chains, per_task) if per_task != 250
             else _common.split_chains(chains))
    assert sum(parts) == chains
    assert len(parts) == -(-chains // per_task)
    assert max(parts) <= per_task and max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)


def test_loglog_fit_is_least_squares_on_the_finite_positive_points():
    x = [1.0, 2.0, 0.0, 4.0, 8.0, -1.0, 16.0, np.inf, 3.0]
    y = [3.0, 5.0, 2.0, np.nan, 20.0, 4.0, 70.0, 5.0, -2.0]
    good = [(1.0, 3.0), (2.0, 5.0), (8.0, 20.0), (16.0, 70.0)]
    A = np.array([[math.log(a), 1.0] for a, _ in good])
    ref = np.linalg.lstsq(A, np.log([b for _, b in good]), rcond=None)[0]
    s, c = _common.loglog_fit(x, y)
    assert type(s) is float and type(c) is float
    assert close(s, ref[0], 1e-10) and close(c, ref[1], 1e-10)
    assert _common.loglog_fit([1.0, 2.0, 0.0], [1.0, np.nan, 1.0]) == (None, None)
    assert _common.loglog_fit([], []) == (None, None)
    s2, _ = _common.loglog_fit([2, 4], [8, 2])              # two points: exact, slope -2
    assert close(s2, -2.0, 1e-12)


def test_new_figure_sizes_and_axes():
    fig, ax = _common.new_figure()
    assert tuple(fig.get_size_inches()) == (6.4, 4.0) and hasattr(ax, "plot")
    assert fig.get_layout_engine() is not None
    fig, axes = _common.new_figure(ncols=3, width=2.0, height=1.5)
    assert len(axes) == 3 and tuple(fig.get_size_inches()) == (6.0, 1.5)
    boxes = [ax.get_position() for ax in axes]                # side by side, in one row
    assert boxes[0].x1 <= boxes[1].x0 and boxes[1].x1 <= boxes[2].x0
    assert all(b.y0 == boxes[0].y0 for b in boxes)
    fig, axes = _common.new_figure(ncols=2, width=2.5, height=1.0)
    assert len(axes) == 2 and tuple(fig.get_size_inches()) == (5.0, 1.0)
    fig, ax = _common.new_figure(width=5.0, height=2.5)
    assert tuple(fig.get_size_inches()) == (5.0, 2.5)
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"


def _png_chunks(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i, out = 8, []
    while i < len(data):
        n, = struct.unpack(">I", data[i:i + 4])
        out.append((data[i + 4:i + 8], data[i + 8:i + 8 + n]))
        i += 12 + n
    return out


def test_save_figure_writes_a_png_at_110_dpi_without_software_tag(tmp_path):
    fig, ax = _common.new_figure(width=2.0, height=1.0)
    ax.plot([0, 1], [0, 1])
    assert _common.save_figure(fig, tmp_path, "x.png") == "x.png"
    data = (tmp_path / "x.png").read_bytes()
    chunks = _png_chunks(data)
    w, h = struct.unpack(">II", chunks[0][1][:8])
    assert (w, h) == (220, 110)
    texts = b"".join(body for kind, body in chunks if kind in (b"tEXt", b"iTXt", b"zTXt"))
    assert b"Software" not in texts and b"matplotlib" not in data.lower()
    assert list(tmp_path.iterdir()) == [tmp_path / "x.png"]      # no temporary left


def test_fmt():
    assert _common.fmt(None) == "—"
    assert _common.fmt(float("inf")) == "inf" and _common.fmt(float("nan")) == "nan"
    assert _common.fmt(-float("inf")) == "-inf"
    assert _common.fmt(1 / 3) == "0.3333" and _common.fmt(123456.0) == "1.235e+05"
    assert _common.fmt(1 / 3, 2) == "0.33"
    assert _common.fmt(7) == "7" and _common.fmt("a") == "a" and _common.fmt([1]) == "[1]"


# ------------------------------------------------------------------------ experiments.get, run

def test_get_known_and_unknown():
    for name, mod in experiments.MODULES.items():
        m = experiments.get(name)
        assert m.ID == name and m.__name__ == f"verified_pgd.experiments.{mod}"
    with pytest.raises(ValueError) as ei:
        experiments.get("e9")
    msg = str(ei.value)
    assert msg.startswith("experiment: unknown experiment 'e9' (known: e1, e2, e3, e4, e5, e6, e7)")


def test_run_plans_runs_in_one_batch_and_hands_each_analyse_its_results(conf, monkeypatch, tmp_path):
    calls = []

    def fake_module(name, n):
        m = types.ModuleType(f"verified_pgd.experiments.fake_{name}")

        def plan(c, problem):
            assert c is conf and isinstance(problem, vp.Problem)
            assert list(problem.a_star) == conf["problem"]["a_star"]
            return [f"{name}-task{i}" for i in range(n)]

        def analyse(c, problem, results, out_dir):
            assert c is conf and isinstance(problem, vp.Problem)
            calls.append((name, list(results), out_dir))
            return f"section-{name}"
        m.plan, m.analyse = plan, analyse
        return m
    sizes = {"ea": 2, "eb": 0, "ec": 3}
    for name, n in sizes.items():
        monkeypatch.setitem(sys.modules, f"verified_pgd.experiments.fake_{name}",
                            fake_module(name, n))
        monkeypatch.setitem(experiments.MODULES, name, f"fake_{name}")
    batch = {}

    def fake_run_tasks(tasks, **kw):
        batch["tasks"], batch["kw"] = list(tasks), kw
        return [t.replace("task", "result") for t in tasks]
    import verified_pgd.sweep as sweep
    monkeypatch.setattr(sweep, "run_tasks", fake_run_tasks)
    conf["run"]["experiments"] = ["ec", "eb", "ea"]
    out = experiments.run(conf, tmp_path, workers=3, dask="DASK", progress=False)
    assert out == ["section-ec", "section-eb", "section-ea"]
    assert batch["tasks"] == ["ec-task0", "ec-task1", "ec-task2", "ea-task0", "ea-task1"]
    assert batch["kw"] == {"workers": 3, "dask": "DASK", "progress": False,
                           "desc": "vpgd run", "labels": ["EC", "EC", "EC", "EA", "EA"]}
    assert calls == [("ec", ["ec-result0", "ec-result1", "ec-result2"], tmp_path),
                     ("eb", [], tmp_path), ("ea", ["ea-result0", "ea-result1"], tmp_path)]
    calls.clear()
    experiments.run(conf, tmp_path)
    assert batch["kw"]["workers"] == 1 and batch["kw"]["dask"] is None
    assert batch["kw"]["progress"] is True


# ------------------------------------------------------------------------ E1

def test_e1_plan_is_empty(conf, prob):
    assert e1.plan(conf, prob) == []


def _spurious_condition(a):
    a = np.asarray(a, float)
    return math.pi * a.sum() ** 2 < (a.size + math.pi - 1) * (a @ a)


@pytest.mark.parametrize("points", [37, 359, 721])
def test_e1_analyse_with_a_spurious_minimum(conf, prob, figs, tmp_path, points):
    conf["experiments"]["e1"]["points"] = points
    assert _spurious_condition(prob.a_star)
    sec = e1.analyse(conf, prob, [], tmp_path)
    assert sec.id == "e1" and sec.title == e1.TITLE
    th = np.linspace(0.0, np.pi, points)
    R = np.array([float(theory.reduced_loss(prob, float(t))) for t in th])
    sa, sp, gl = theory.saddle(prob), theory.spurious_minimum(prob), theory.global_minimum(prob)
    kinds = [r[0] for r in sec.table["rows"]]
    assert kinds == ["global", "saddle", "spurious"]
    for row, c in zip(sec.table["rows"], (gl, sa, sp)):
        L = float(vp.loss(prob, np.asarray(c.w, float), np.asarray(c.a, float)))
        assert row[1] == float(c.theta) and row[2] == float(c.loss)
        assert row[3] == L and row[4] == [float(x) for x in np.asarray(c.a, float)]
    s = sec.summary
    assert s["spurious_minimum_exists"] is True
    assert 0 <= s["max_loss_mismatch_at_critical_points"] < 1e-10
    assert s["theta_saddle"] == float(sa.theta) and s["loss_saddle"] == float(sa.loss)
    assert s["loss_spurious"] == float(sp.loss)
    assert close(s["barrier"], float(sa.loss) - float(sp.loss), 1e-9)
    # the grid maximum of the curve past theta_s / 2, searched here by brute force
    best = max((i for i in range(points) if th[i] > 0.5 * float(sa.theta)), key=lambda i: R[i])
    assert s["grid_argmax_theta"] == float(th[best])
    assert abs(s["grid_argmax_theta"] - float(sa.theta)) <= np.pi / (points - 1)
    assert s["grid_argmax_minus_theta_saddle"] == float(th[best]) - float(sa.theta)
    assert close(s["grid_spacing"], th[1] - th[0], 1e-12)
    assert f"$\\Delta L$ = {_common.fmt(s['barrier'])}" in sec.text
    assert f"$\\theta$ = {th[best]:.4f}, the saddle at $\\theta_s$ = {float(sa.theta):.4f}" in sec.text
    assert sec.text.startswith(
        "Reduced loss $\\min_a L(\\theta, a)$ with $|w| = 1$, from the closed form "
        "(`theory.reduced_loss`). Critical points from `theory`; each loss re-evaluated "
        "with `vp.loss` at the point itself (column *L(w, a)*) and compared with the curve. "
        "The barrier from the spurious minimum")
    assert "no spurious minimum" not in sec.text
    assert sec.table["columns"] == ["point", "theta", "L (theory)", "L(w, a) (vp.loss)", "a"]
    assert sec.figures == [{"file": "e1_landscape.png",
                            "caption": "Reduced loss along theta with critical points"}]
    step = max(1, (points - 1) // 180)          # every step-th point: at most ~181 kept
    assert sec.data["theta"] == th[::step].tolist()
    np.testing.assert_allclose(sec.data["reduced_loss"], R[::step], rtol=1e-12, atol=1e-15)
    assert len(sec.data["theta"]) == {37: 37, 359: 359, 721: 181}[points]
    # the figure: the curve, one marker per critical point at (theta, loss), the barrier
    ax = figs["e1_landscape.png"].axes[0]
    ln = lines_of(ax)
    np.testing.assert_array_equal(ln[0].get_xdata(), th)
    np.testing.assert_allclose(ln[0].get_ydata(), R, rtol=1e-12, atol=1e-15)
    marks = {ln[i].get_marker(): (ln[i].get_xdata()[0], ln[i].get_ydata()[0], ln[i].get_label())
             for i in (1, 2, 3)}
    assert set(marks) == {"o", "^", "s"}
    for m, c in (("o", gl), ("^", sa), ("s", sp)):
        assert marks[m][:2] == (float(c.theta), float(c.loss))
        assert marks[m][2].startswith(c.kind)
    assert ax.get_xlim() == (0.0, np.pi)
    assert ax.get_legend() is not None
    segs = [seg for coll in ax.collections for seg in coll.get_segments()]
    heights = sorted(seg[0][1] for seg in segs)
    assert heights == sorted([float(sa.loss), float(sp.loss)])
    assert all(close(seg[0][0], float(sa.theta)) and close(seg[1][0], np.pi) for seg in segs)
    txt = [t.get_text() for t in ax.texts]
    assert txt == [f"barrier $\\Delta L$ = {s['barrier']:.4g}"]
    tx, ty = ax.texts[0].get_position()      # above the saddle level, mid-way to pi
    assert close(tx, (float(sa.theta) + np.pi) / 2) and close(ty, 1.01 * float(sa.loss))
    assert ax.get_xlabel() == r"$\theta = \angle(w, w^*)$" and ax.get_ylabel() == "reduced loss"
    np.testing.assert_allclose(ax.get_xticks(), [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4, np.pi],
                               rtol=1e-15)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "0", r"$\pi/4$", r"$\pi/2$", r"$3\pi/4$", r"$\pi$"]
    assert ln[0].get_label() == r"$\min_a L(\theta, a)$"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [r"$\min_a L(\theta, a)$"] + [
        f"{c.kind} ($\\theta$={float(c.theta):.3f}, L={float(c.loss):.4g})" for c in (gl, sa, sp)]


def test_e1_analyse_without_a_spurious_minimum(conf, figs, tmp_path):
    conf["problem"] = NO_SPURIOUS
    conf["experiments"]["e1"]["points"] = 19
    pr = cfg.build_problem(NO_SPURIOUS)
    assert not _spurious_condition(pr.a_star)
    sec = e1.analyse(conf, pr, [], tmp_path)
    assert sec.summary["spurious_minimum_exists"] is False
    assert set(sec.summary) == {"spurious_minimum_exists", "max_loss_mismatch_at_critical_points"}
    assert [r[0] for r in sec.table["rows"]] == ["global"]
    assert sec.text.endswith("This teacher has no spurious minimum "
                             "(pi (1.a*)^2 >= (k + pi - 1)|a*|^2).")
    assert sec.text.startswith("Reduced loss $\\min_a L(\\theta, a)$ with $|w| = 1$")
    ax = figs["e1_landscape.png"].axes[0]
    assert len(lines_of(ax)) == 2 and not ax.texts and not ax.collections


# ------------------------------------------------------------------------ E2

def test_e2_plan_gd_and_pgd_from_the_spurious_point(conf, prob):
    e = conf["experiments"]["e2"]
    e.update(eta=0.05, record_every=7, noise="ball", chains=3)
    tasks = e2.plan(conf, prob)
    stages = e["schedule"]["stages"]
    total = sum(n for _, n in stages)
    assert len(tasks) == 2
    gd, pgd = tasks
    for t in tasks:
        assert t["problem"] == conf["problem"] and t["init"] == {"kind": "spurious"}
        assert t["solver"]["eta"] == 0.05 and t["solver"]["record_every"] == 7
        assert t["solver"]["noise"] == "ball" and t["solver"]["eps"] == 1e-3
    assert gd["schedule"]["kind"] == "constant"
    assert cfg.schedule_stages(gd["schedule"]) == [(0.0, total)]
    assert cfg.schedule_stages(pgd["schedule"]) == [(float(s), int(n)) for s, n in stages]
    assert gd["solver"]["chains"] == 1 and pgd["solver"]["chains"] == 3
    assert gd["seed"] == _seed_spec(conf["seed"], 2, "gd")
    assert pgd["seed"] == _seed_spec(conf["seed"], 2, "pgd")
    conf["problem"] = NO_SPURIOUS
    assert e2.plan(conf, cfg.build_problem(NO_SPURIOUS)) == []


def test_e2_theory_schedule_gets_the_problem_and_eta(conf, prob, fake_theory_schedule, figs,
                                                     tmp_path):
    e = conf["experiments"]["e2"]
    e.update(eta=0.07, schedule={"kind": "theory", "eps": 1e-3, "delta": 0.05})
    tasks = e2.plan(conf, prob)
    assert fake_theory_schedule == [(1e-3, 0.05, 0.07)]
    assert cfg.schedule_stages(tasks[1]["schedule"]) == [(0.5, 10), (0.0, 5)]
    assert cfg.schedule_stages(tasks[0]["schedule"]) == [(0.0, 15)]
    gd, pgd, _ = _e2_results(float(theory.saddle_theta(prob)), 15, 1)
    sec = e2.analyse(conf, prob, [gd, pgd], tmp_path)
    assert fake_theory_schedule[1:] == [(1e-3, 0.05, 0.07)]
    assert sec.data["schedule"] == [[0.5, 10], [0.0, 5]]


def test_e2_analyse_skipped_without_results(conf, tmp_path):
    sec = e2.analyse(conf, cfg.build_problem(NO_SPURIOUS), [], tmp_path)
    assert sec.id == "e2" and sec.title == e2.TITLE and sec.summary == {}
    assert sec.text == "Skipped: this teacher has no spurious minimum."
    assert sec.notes == ["no spurious minimum: pi (1.a*)^2 >= (k + pi - 1)|a*|^2"]


def _e2_results(theta_s, steps_total, record):
    steps = list(range(0, steps_total + 1, record))
    n = len(steps)
    th_g = [[math.pi] for _ in range(n)]
    th_g[3] = [math.pi - 3e-9]
    th_g[7] = [math.pi + 5e-9]                  # the largest deviation: 5e-9
    th_p = [[math.pi, math.pi, math.pi] for _ in range(n)]
    for j in range(5, n):
        th_p[j][0] = theta_s - 0.1 if j != 6 else theta_s + 0.1   # first below at record 5
    for j in range(10, n):
        th_p[j][2] = theta_s / 2                                    # first below at record 10
    th_p[4][1] = theta_s                       # equal is not below: chain 1 never escapes
    th_p[2][1] = None                          # a JSON null (non-finite) is never below
    loss_g = [[0.3] for _ in range(n)]
    loss_g[2] = [0.0]                          # zero: drawn at the floor on the log axis
    ae_g = [[0.5] for _ in range(n)]
    loss_p = [[0.2, 0.0, 1e-320] for _ in range(n)]
    ae_p = [[0.1, 0.2, 0.3] for _ in range(n)]
    gd = {"chains": 1, "steps": steps_total, "theta": [math.pi + 5e-9], "loss": [0.3],
          "a_error": [0.5], "hit_step": [-1], "diverged": [False], "diverged_step": [-1],
          "history": {"step": steps, "theta": th_g, "loss": loss_g, "a_error": ae_g}}
    pgd = {"chains": 3, "steps": steps_total, "theta": [0.01, None, 0.002],
           "loss": [0.2, 0.0, 0.0], "a_error": [0.1, 0.2, None], "hit_step": [40, -1, 80],
           "diverged": [False] * 3, "diverged_step": [-1] * 3,
           "history": {"step": steps, "theta": th_p, "loss": loss_p, "a_error": ae_p}}
    return gd, pgd, steps


def test_e2_analyse_headlines_rows_and_figure(conf, prob, figs, tmp_path):
    e = conf["experiments"]["e2"]
    stages = e["schedule"]["stages"]
    total = sum(n for _, n in stages)
    theta_s = float(theory.saddle_theta(prob))
    gd, pgd, steps = _e2_results(theta_s, total, 20)
    sec = e2.analyse(conf, prob, [gd, pgd], tmp_path)
    assert sec.id == "e2" and sec.title == e2.TITLE
    assert sec.figures[0]["caption"] == ("GD (dashed) vs PGD chains from the spurious point; "
                                         "dotted lines: schedule stages")
    s = sec.summary
    assert s == {"gd_max_theta_deviation_from_pi": pytest.approx(5e-9, rel=1e-6),
                 "gd_final_loss": 0.3, "pgd_escaped": 2, "pgd_chains": 3,
                 "pgd_final_theta_max": 0.01, "pgd_final_a_error_max": 0.2, "steps": total}
    rows = sec.table["rows"]
    assert rows[0] == ["GD", 0, math.pi + 5e-9, 0.3, 0.5, None, -1]
    assert rows[1:] == [["PGD", 0, 0.01, 0.2, 0.1, steps[5], 40],
                        ["PGD", 1, None, 0.0, 0.2, None, -1],
                        ["PGD", 2, 0.002, 0.0, None, steps[10], 80]]
    assert sec.table["columns"] == ["method", "chain", "final theta", "final loss",
                                    "final a-error", "escape step", "hit step"]
    t = sec.text
    dev = s["gd_max_theta_deviation_from_pi"]
    assert t.startswith("Both start at the spurious minimum")
    assert f"over {total} steps is {_common.fmt(dev)}." in t
    assert f"schedule {[(float(a), int(b)) for a, b in stages]} (step size {e['eta']})" in t
    assert f"$\\theta_s$ = {theta_s:.4f} in 2 of 3 chains" in t
    assert f"at most {_common.fmt(0.01)}, relative $a$-error at most {_common.fmt(0.2)}." in t
    assert sec.data["step"] == steps
    assert sec.data["gd"] == {k: gd["history"][k] for k in ("theta", "loss", "a_error")}
    assert sec.data["pgd"] == {k: pgd["history"][k] for k in ("theta", "loss", "a_error")}
    assert sec.data["schedule"] == [[float(a), int(b)] for a, b in stages]
    assert sec.figures[0]["file"] == "e2_trajectories.png"
    assert sec.figures[0]["caption"].startswith("GD (dashed) vs PGD chains")
    axes = figs["e2_trajectories.png"].axes
    assert len(axes) == 3
    bounds = list(np.cumsum([n for _, n in stages])[:-1])
    for ax, key, log in zip(axes, ("theta", "loss", "a_error"), (False, True, True)):
        assert ax.get_yscale() == ("log" if log else "linear")
        assert ax.get_xlabel() == "step"
        ln = lines_of(ax)
        yp = np.array(pgd["history"][key], float)
        yg = np.array(gd["history"][key], float)[:, 0]
        for i in range(3):
            np.testing.assert_array_equal(ln[i].get_xdata(), steps)
            np.testing.assert_array_equal(ln[i].get_ydata(),
                                          np.maximum(yp[:, i], 1e-300) if log else yp[:, i])
        assert [x.get_label() for x in ln[:4]][0] == "PGD" and ln[1].get_label().startswith("_")
        np.testing.assert_array_equal(ln[3].get_xdata(), steps)
        np.testing.assert_array_equal(ln[3].get_ydata(), np.maximum(yg, 1e-300) if log else yg)
        assert ln[3].get_label() == "GD" and ln[3].get_linestyle() == "--"
        vlines = [x.get_xdata()[0] for x in ln[4:4 + len(bounds)]]
        assert vlines == bounds
    assert [ax.get_ylabel() for ax in axes] == [r"$\theta_t$", "loss $L$", r"relative $a$-error"]
    extra = lines_of(axes[0])[4 + len(bounds):]
    assert len(extra) == 1 and list(extra[0].get_ydata()) == [theta_s, theta_s]
    assert axes[0].get_legend() is not None and axes[1].get_legend() is None
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [
        "PGD", "GD", r"$\theta_s$ (saddle)"]


# ------------------------------------------------------------------------ E3

@pytest.fixture
def fake_theory_schedule(monkeypatch):
    """theory.schedule replaced by a cheap recorder (the real design takes ~1 s)."""
    calls = []

    def fake(problem, eps, delta, eta):
        assert isinstance(problem, vp.Problem) and eta is not None
        calls.append((eps, delta, eta))
        return vp.Schedule([(0.5, 10), (0.0, 5)])
    monkeypatch.setattr(theory, "schedule", fake, raising=False)
    return calls


def test_e3_methods_resolve_every_schedule_and_note_a_missing_theory(conf, prob,
                                                                     fake_theory_schedule,
                                                                     monkeypatch):
    e = conf["experiments"]["e3"]
    e["eta"] = 0.07
    out, notes = e3.methods(conf, prob)
    assert fake_theory_schedule == [(e["methods"]["theory"]["eps"],
                                     e["methods"]["theory"]["delta"], 0.07)]
    assert list(out) == list(e["methods"]) and notes == []
    for name, spec in e["methods"].items():
        assert out[name] == {"kind": "stages", "stages": [
            [s, n] for s, n in cfg.schedule_stages(spec, prob, 0.07)]}
    assert fake_theory_schedule[-1] == (e["methods"]["theory"]["eps"],
                                        e["methods"]["theory"]["delta"], 0.07)
    monkeypatch.delattr(theory, "schedule")
    out, notes = e3.methods(conf, prob)
    assert list(out) == [m for m in e["methods"] if m != "theory"]
    assert notes == ["method 'theory' skipped: verified_pgd.theory.schedule is not available "
                     "in this installation"]
    # a skipped method first: the methods after it are still resolved
    e["methods"] = {"theory": e["methods"]["theory"],
                    **{k: v for k, v in e["methods"].items() if k != "theory"}}
    out, _ = e3.methods(conf, prob)
    assert list(out) == [m for m in e["methods"] if m != "theory"] and len(out) == 3

    def broken(spec, problem=None, eta=None):
        raise cfg.ConfigError("config: broken")
    monkeypatch.setattr(cfg, "schedule_stages", broken)
    with pytest.raises(cfg.ConfigError, match="broken"):
        e3.methods(conf, prob)               # only a 'theory' method is skipped, never another


def test_e3_plan_common_random_numbers_per_chunk(conf, prob, fake_theory_schedule):
    e = conf["experiments"]["e3"]
    e.update(chains=260, eta=0.07, eps=1e-4, init_scale=2.0)
    resolved, _ = e3.methods(conf, prob)
    tasks = e3.plan(conf, prob)
    assert len(tasks) == 2 * len(resolved)
    for i, t in enumerate(tasks):
        name = list(resolved)[i // 2]
        j = i % 2
        assert t["schedule"] == resolved[name]
        assert t["init"] == {"kind": "random", "scale": 2.0} and t["problem"] == conf["problem"]
        assert t["solver"]["eta"] == 0.07 and t["solver"]["eps"] == 1e-4
        assert t["solver"]["chains"] == 130 and t["solver"]["record_every"] == 0
        assert t["seed"] == _seed_spec(conf["seed"], 3, j)


def _e3_raw(rng, n, eps, theta_basin, p_win):
    th = rng.uniform(0, 3, n)
    ae = rng.uniform(0, 2, n)
    win = rng.random(n) < p_win
    th[win] = rng.uniform(0, eps, win.sum())
    ae[win] = rng.uniform(0, eps, win.sum())
    th[0], ae[0] = eps, eps                      # the boundary is a success (<=)
    th[1], ae[1] = eps * (1 + 1e-9), eps / 2
    th[2], ae[2] = eps / 2, eps * (1 + 1e-9)
    th[3] = theta_basin                          # the basin boundary is outside (<)
    th[4] = np.nextafter(theta_basin, 0)
    div = np.zeros(n, bool)
    div[5:8] = True
    th[5:8], ae[5:8] = eps / 2, eps / 2          # diverged at a successful state
    thl, ael = th.tolist(), ae.tolist()
    thl[8], ael[9] = None, None
    ok = [t is not None and a is not None and t <= eps and a <= eps and not d
          for t, a, d in zip(thl, ael, div)]
    hit = np.where(ok | div, 3, -1)
    hit[10] = 0                                  # success reached at step 0 ...
    ok_ever = (hit >= 0) & ~div                  # ... counts for "ever"
    hit[11] = -2
    ok_ever[11] = False
    # a diverged chain frozen inside the basin is not counted there either (as in E6)
    basin = sum(t is not None and t < theta_basin and not d for t, d in zip(thl, div))
    res = {"chains": n, "steps": 42, "theta": thl, "a_error": ael, "loss": [0.0] * n,
           "hit_step": hit.tolist(), "diverged": div.tolist(),
           "diverged_step": np.where(div, 2, -1).tolist()}
    return res, sum(ok), int(ok_ever.sum()), basin, int(div.sum())


@pytest.mark.parametrize("spurious", [True, False])
def test_e3_analyse_counts_intervals_rows_and_figure(conf, figs, tmp_path, spurious,
                                                     fake_theory_schedule):
    e = conf["experiments"]["e3"]
    if not spurious:
        conf["problem"] = NO_SPURIOUS
    pr = cfg.build_problem(conf["problem"])
    e.update(chains=260)
    theta_basin = float(theory.saddle_theta(pr)) if spurious else np.pi / 2
    resolved, _ = e3.methods(conf, pr)
    rng = np.random.default_rng(3)
    results, truth = [], []
    for m, name in enumerate(resolved):
        tot = np.zeros(4, int)
        for j in range(2):
            r, *counts = _e3_raw(rng, 130, e["eps"], theta_basin, 0.1 * (m + 1))
            results.append(r)
            tot += counts
        truth.append(tot)
    sec = e3.analyse(conf, pr, results, tmp_path)
    n = 260
    assert sec.id == "e3" and sec.notes == []
    assert set(sec.summary) == {f"{nm}_final_success_{k}" for nm in resolved
                                for k in ("rate", "ci95")}
    for i, (name, (final, ever, basin, div)) in enumerate(zip(resolved, truth)):
        lo, hi = cp95(final, n)
        assert sec.summary[f"{name}_final_success_rate"] == final / n
        assert np.allclose(sec.summary[f"{name}_final_success_ci95"], [lo, hi], rtol=1e-10, atol=0)
        blo, bhi = cp95(basin, n)
        elo, ehi = cp95(ever, n)
        d = sec.data["methods"][name]
        assert (d["n"], d["final_success"], d["ever_success"], d["global_basin"], d["diverged"],
                d["steps"]) == (n, final, ever, basin, div, 42)
        for key, ref in (("final_ci", (lo, hi)), ("ever_ci", (elo, ehi)), ("basin_ci", (blo, bhi))):
            assert type(d[key]) is list and np.allclose(d[key], ref, rtol=1e-10, atol=0)
        row = sec.table["rows"][i]
        assert row[:4] == [name, 42, n, final / n] and row[5:7] == [ever / n, basin / n]
        assert np.allclose(row[4], [lo, hi], rtol=1e-10) and np.allclose(row[7], [blo, bhi], rtol=1e-10)
        assert row[8] == div
    assert len(sec.table["rows"]) == len(resolved)
    assert sec.table["columns"] == ["method", "steps", "chains", "final success", "95% CI",
                                    "ever success", "in basin", "basin 95% CI", "diverged"]
    assert sec.data["eps"] == e["eps"] and sec.data["theta_basin"] == theta_basin
    assert sec.data["schedules"] == resolved
    assert sec.text == (f"260 chains per method from random starts, step size {e['eta']}, "
                        f"$\\varepsilon$ = {e['eps']}. *final* = the last state is "
                        f"$\\varepsilon$-successful; *ever* = $\\varepsilon$-success reached "
                        f"at some step; *basin* = final $\\theta < \\theta_s$ = "
                        f"{theta_basin:.4f}. Intervals: exact 95% Clopper-Pearson.")
    assert sec.figures == [{"file": "e3_success.png",
                            "caption": "Success rates with Clopper-Pearson intervals"}]
    ax = figs["e3_success.png"].axes[0]
    bars = ax.patches
    assert len(bars) == 2 * len(resolved)
    k = len(resolved)
    for i, (final, ever, basin, div) in enumerate(truth):
        for b, off, x in ((bars[i], -0.2, final), (bars[k + i], 0.2, basin)):
            assert close(b.get_x() + b.get_width() / 2, i + off) and close(b.get_width(), 0.38)
            assert close(b.get_height(), x / n)
    # the error bars span each interval
    segs = sorted((round(s[0, 0], 9), *np.round(s[:, 1], 12)) for c in ax.collections
                  for s in c.get_segments())
    want = sorted((round(i + off, 9), *np.round(cp95(x, n), 12))
                  for i, (final, ever, basin, div) in enumerate(truth)
                  for off, x in ((-0.2, final), (0.2, basin)))
    np.testing.assert_allclose(segs, want, atol=1e-9)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(resolved)
    assert ax.get_ylim() == (0.0, 1.05) and ax.get_legend() is not None
    assert ax.get_ylabel() == "fraction of chains (95% CI)" and sec.title == e3.TITLE
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        r"final $\varepsilon$-success", r"final $\theta < \theta_s$"]


def test_e3_analyse_carries_the_methods_notes(conf, prob, figs, tmp_path, monkeypatch):
    monkeypatch.delattr(theory, "schedule", raising=False)
    e = conf["experiments"]["e3"]
    e["chains"] = 4
    resolved, notes = e3.methods(conf, prob)
    results = [{"chains": 4, "steps": 5, "theta": [0.0] * 4, "a_error": [0.0] * 4,
                "loss": [0.0] * 4, "hit_step": [1] * 4, "diverged": [False] * 4,
                "diverged_step": [-1] * 4} for _ in resolved]
    sec = e3.analyse(conf, prob, results, tmp_path)
    assert sec.notes == notes and len(notes) == 1
    assert all(sec.summary[f"{m}_final_success_rate"] == 1.0 for m in resolved)


# ------------------------------------------------------------------------ E4

def test_e4_plan_constant_and_annealed_per_budget(conf, prob):
    e = conf["experiments"]["e4"]
    e.update(steps=[10, 40], sigma=0.3, factor=0.5, n_stages=2, final_fraction=0.25, eta=0.07,
             chains=3, init={"kind": "spurious"})
    tasks = e4.plan(conf, prob)
    assert len(tasks) == 4
    for i, t in enumerate(tasks):
        T = e["steps"][i // 2]
        assert t["seed"] == _seed_spec(conf["seed"], 4, T)
        assert t["init"] == {"kind": "spurious"} and t["problem"] == conf["problem"]
        assert t["solver"]["eta"] == 0.07 and t["solver"]["chains"] == 3
        sc = t["schedule"]
        if i % 2 == 0:
            assert cfg.schedule_stages(sc) == [(0.3, T)]
        else:
            assert {k: sc[k] for k in ("kind", "sigma0", "factor", "n_stages", "steps",
                                       "final_fraction")} == \
                {"kind": "geometric", "sigma0": 0.3, "factor": 0.5, "n_stages": 2, "steps": T,
                 "final_fraction": 0.25}
            st = cfg.schedule_stages(sc)
            assert sum(n for _, n in st) == T and st[-1] == (0.0, round(0.25 * T))
    conf["problem"] = NO_SPURIOUS
    pr = cfg.build_problem(NO_SPURIOUS)
    for kind in ("spurious", "saddle"):
        e["init"] = {"kind": kind}
        with pytest.raises(ValueError) as ei:
            e4.plan(conf, pr)
        assert str(ei.value) == (f"config: experiments.e4.init.kind: {kind!r} needs a teacher "
                                 "with a spurious minimum")
    e["init"] = {"kind": "random", "scale": 1.0}
    assert len(e4.plan(conf, pr)) == 4


def _lin_quantile(values, q):
    """Linear interpolation between order statistics, inf the largest value."""
    v = sorted(values)
    pos = q * (len(v) - 1)
    j = int(math.floor(pos))
    f = pos - j
    if f == 0:
        return v[j]
    lo, hi = v[j], v[j + 1]
    return math.inf if hi == math.inf else lo + f * (hi - lo)


def _quartiles(values):
    return tuple(_lin_quantile(values, q) for q in (0.25, 0.5, 0.75))


def _e4_result(rng, scale, chains=9, bad=2):
    th = (scale * rng.uniform(0.1, 1.0, chains)).tolist()
    ae = (scale * rng.uniform(0.1, 1.0, chains)).tolist()
    for i in range(bad):                          # non-finite: an infinite error
        (th if i % 2 == 0 else ae)[i] = None
    return {"chains": chains, "steps": 1, "theta": th, "a_error": ae, "loss": [0.0] * chains,
            "hit_step": [-1] * chains, "diverged": [False] * chains,
            "diverged_step": [-1] * chains}


def _same(a, b):
    return a == b or (math.isfinite(b) and abs(a - b) <= 1e-12 * abs(b))


def test_e4_quartiles_with_non_finite_chains(conf, prob, figs, tmp_path):
    """numpy's quantile gives nan where an infinite error meets the interpolation; the
    report's quartiles are the interpolated order statistics (inf where they are)."""
    e = conf["experiments"]["e4"]
    e["steps"] = [10]
    rng = np.random.default_rng(5)
    for chains, bad in ((9, 2), (8, 4), (8, 2), (16, 9), (5, 5), (7, 0)):
        res = [_e4_result(rng, 0.3, chains, bad), _e4_result(rng, 0.1, chains, 0)]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            sec = e4.analyse(conf, prob, res, tmp_path)
        figs.clear()
        err = [math.inf if t is None or a is None else max(t, a)
               for t, a in zip(res[0]["theta"], res[0]["a_error"])]
        d = sec.data["constant"][0]
        for key, ref in zip(("q1", "median", "q3"), _quartiles(err)):
            assert _same(d[key], ref), (chains, bad, key, d[key], ref)


@pytest.mark.parametrize("zero_last", [False, True])
def test_e4_analyse_medians_slope_and_figure(conf, prob, figs, tmp_path, zero_last):
    e = conf["experiments"]["e4"]
    e.update(steps=[100, 300, 900, 2700])
    rng = np.random.default_rng(4)
    results, scales_c, scales_a = [], [0.5, 0.4, 0.45, 0.0 if zero_last else 0.42], \
        [0.3, 0.05, 1e-3, 2e-5]
    for sc, sa in zip(scales_c, scales_a):
        results += [_e4_result(rng, sc), _e4_result(rng, sa)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # numpy's nan from inf: handled, not warned
        sec = e4.analyse(conf, prob, results, tmp_path)
    assert sec.id == "e4" and sec.title == e4.TITLE
    ref = {"constant": [], "annealed": []}
    for i, T in enumerate(e["steps"]):
        for j, name in enumerate(("constant", "annealed")):
            r = results[2 * i + j]
            err = [math.inf if t is None or a is None else max(t, a)
                   for t, a in zip(r["theta"], r["a_error"])]
            ref[name].append((T, *_quartiles(err), err))
    rows = sec.table["rows"]
    for i, T in enumerate(e["steps"]):
        mc, ma = ref["constant"][i][2], ref["annealed"][i][2]
        assert rows[i][0] == T and _same(rows[i][1], mc) and _same(rows[i][2], ma)
        assert (rows[i][3] is None) if mc == 0 else _same(rows[i][3], rows[i][2] / rows[i][1])
        for name in ("constant", "annealed"):
            T_, q1, med, q3, err = ref[name][i]
            d = sec.data[name][i]
            assert set(d) == {"steps", "median", "q1", "q3", "errors"}
            assert d["steps"] == T and d["errors"] == err
            assert _same(d["median"], med) and _same(d["q1"], q1) and _same(d["q3"], q3)
    assert sec.table["columns"] == ["steps", "constant median error", "annealed median error",
                                    "annealed / constant"]
    med_c = [x[2] for x in ref["constant"]]
    med_a = [x[2] for x in ref["annealed"]]
    pos = [(T, m) for T, m in zip(e["steps"], med_c) if m > 0]
    slope_c = np.polyfit(np.log([T for T, _ in pos]), np.log([m for _, m in pos]), 1)[0]
    slope_a = np.polyfit(np.log(e["steps"]), np.log(med_a), 1)[0]
    s = sec.summary
    med_c = [x["median"] for x in sec.data["constant"]]     # checked above
    med_a = [x["median"] for x in sec.data["annealed"]]
    assert s["largest_budget"] == 2700 and s["constant_median_error"] == med_c[-1]
    assert s["annealed_median_error"] == med_a[-1]
    assert s["annealed_over_constant"] == (None if zero_last else med_a[-1] / med_c[-1])
    assert close(s["constant_loglog_slope"], slope_c, 1e-9)
    assert set(s) == {"largest_budget", "constant_median_error", "annealed_median_error",
                      "annealed_over_constant", "constant_loglog_slope"}
    t = sec.text
    assert t.startswith(f"Start: {e['init']['kind']}; {e['chains']} chains per point; "
                        f"step size {e['eta']}; constant $\\sigma$ = {e['sigma']} vs geometric "
                        f"annealing from it (factor {e['factor']}, {e['n_stages']} stages, "
                        f"noise-free last {e['final_fraction']:.0%}).")
    assert (f"At T = 2700 the median error is {_common.fmt(med_c[-1])} with constant noise and "
            f"{_common.fmt(med_a[-1])} with annealing.") in t
    assert f"against T is {_common.fmt(float(slope_c), 3)} (a floor" in t
    assert f"float64 rounding ({_common.fmt(float(slope_a), 3)} overall)." in t
    assert sec.data["sigma"] == e["sigma"] and sec.data["init"] == e["init"]
    assert sec.figures == [{"file": "e4_precision.png",
                            "caption": "Final error vs steps (median, quartile band)"}]
    ax = figs["e4_precision.png"].axes[0]
    ln = lines_of(ax)
    assert [x.get_label() for x in ln] == ["constant (median)", "annealed (median)"]
    for x, meds in zip(ln, (med_c, med_a)):
        np.testing.assert_array_equal(x.get_xdata(), e["steps"])
        np.testing.assert_array_equal(x.get_ydata(), np.maximum(meds, 1e-300))
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "steps T"
    assert ax.get_ylabel() == r"final error max($\theta$, rel. $a$-error)"
    for coll, name in zip(ax.collections, ("constant", "annealed")):
        verts = coll.get_paths()[0].vertices           # the band: q1 out, q3 back
        for T, q1, med, q3, err in ref[name]:
            ys = verts[verts[:, 0] == T][:, 1]
            assert any(_same(y, max(q1, 1e-300)) for y in ys), (name, T)
            assert any(_same(y, max(q3, 1e-300)) for y in ys), (name, T)
    assert len(ax.collections) == 2 and ax.get_legend() is not None


# ------------------------------------------------------------------------ E5

def test_e5_plan_k_scan_and_eps_scan(conf, prob):
    e = conf["experiments"]["e5"]
    e.update(ks=[2, 5], eps_values=[1e-2, 1e-5], p=3, s=0.5, a_pattern="mixed", a_norm=2.0,
             eta=0.07, chains=3, eps=1e-4, init_scale=1.5,
             noise_stages=[[0.9, 10], [0.3, 5]], max_steps=40)
    tasks = e5.plan(conf, prob)
    assert len(tasks) == 4
    for t in tasks:
        assert t["init"] == {"kind": "random", "scale": 1.5}
        assert t["solver"]["eta"] == 0.07 and t["solver"]["chains"] == 3
        assert cfg.schedule_stages(t["schedule"]) == [(0.9, 10), (0.3, 5), (0.0, 25)]
    for t, k in zip(tasks[:2], (2, 5)):
        assert {key: t["problem"][key] for key in ("p", "k", "s", "a_pattern", "a_norm")} == \
            {"p": 3, "k": k, "s": 0.5, "a_pattern": "mixed", "a_norm": 2.0}
        assert t["solver"]["eps"] == 1e-4
        assert t["seed"] == _seed_spec(conf["seed"], 5, "k", k)
    for t, eps in zip(tasks[2:], (1e-2, 1e-5)):
        assert t["problem"] == conf["problem"] and t["solver"]["eps"] == eps
        assert t["seed"] == _seed_spec(conf["seed"], 5, "eps")     # same trajectories


def _e5_result(hits):
    n = len(hits)
    return {"chains": n, "steps": 1, "theta": [0.0] * n, "a_error": [0.0] * n,
            "loss": [0.0] * n, "hit_step": list(hits), "diverged": [False] * n,
            "diverged_step": [-1] * n}


def test_e5_analyse_steps_after_the_noise_phase_censoring_and_prediction(conf, prob, figs,
                                                                         tmp_path):
    e = conf["experiments"]["e5"]
    e.update(ks=[2, 4, 8], eps_values=[1e-2, 1e-4, 1e-8], noise_stages=[[0.5, 100], [0.2, 50]],
             max_steps=2000, chains=5)
    off = 150
    k_hits = [[off + 40, off + 10, -1, 0, off + 20],             # a hit at step 0: median 20
              [off - 30, off - 5, off - 1, off + 3, -1],         # clamped to 1: median 1
              [off + 7, -1, -1, -1, off + 9]]                   # 3 of 5 censored: no median
    e_hits = [[off + 11, off + 12, off + 13, off + 14, off + 15],
              [off + 30, off + 31, off + 29, off + 28, -1],
              [off + 70, off + 60, off + 80, -1, off + 75]]
    results = [_e5_result(h) for h in k_hits + e_hits]
    sec = e5.analyse(conf, prob, results, tmp_path)
    assert sec.id == "e5" and sec.title == e5.TITLE

    def median(h):
        steps = sorted(max(x - off, 1) if x >= 0 else math.inf for x in h)
        return steps[2] if math.isfinite(steps[2]) else None
    k_med = [median(h) for h in k_hits]
    e_med = [median(h) for h in e_hits]
    assert k_med == [20, 1, None] and e_med == [13, 30, 75]
    assert sec.data["k_median_steps"] == k_med and sec.data["eps_median_steps"] == e_med
    rows = sec.table["rows"]
    assert rows == [["k", 2, e["eps"], 20.0, 1, 5], ["k", 4, e["eps"], 1.0, 1, 5],
                    ["k", 8, e["eps"], None, 3, 5],
                    ["eps", prob.k, 1e-2, 13.0, 0, 5], ["eps", prob.k, 1e-4, 30.0, 1, 5],
                    ["eps", prob.k, 1e-8, 75.0, 1, 5]]
    assert sec.table["columns"] == ["scan", "k", "eps", "median steps", "censored", "chains"]
    L = [math.log(1 / x) for x in e["eps_values"]]
    b_ref = np.polyfit(np.log([2, 4]), np.log([20, 1]), 1)
    c_ref = np.polyfit(np.log(L), np.log(e_med), 1)
    lin = np.polyfit(L, e_med, 1)[0]
    q = float(theory.contraction_factor(prob, e["eta"]))
    s = sec.summary
    assert close(s["exponent_k"], b_ref[0], 1e-9) and close(s["exponent_log_inv_eps"], c_ref[0], 1e-9)
    assert close(s["steps_per_unit_log_inv_eps"], lin, 1e-9)
    assert 0 < q < 1 and close(s["predicted_steps_per_unit_log_inv_eps"], -1 / math.log(q), 1e-12)
    assert s["censored_runs"] == 1 + 1 + 3 + 0 + 1 + 1
    assert sec.data["fit_k"] == {"exponent": s["exponent_k"], "log_prefactor": pytest.approx(b_ref[1], rel=1e-9)}
    assert sec.data["fit_eps"] == {"exponent": s["exponent_log_inv_eps"],
                                   "log_prefactor": pytest.approx(c_ref[1], rel=1e-9)}
    assert sec.data["ks"] == e["ks"] and sec.data["eps_values"] == e["eps_values"]
    t = sec.text
    assert t.startswith(f"Random starts, 5 chains per point, step size {e['eta']}, noise stages "
                        f"{e['noise_stages']}, then plain descent up to 2000 steps.")
    assert f"steps $\\propto k^{{{_common.fmt(s['exponent_k'], 3)}}}$ (p = {e['p']}, s = {e['s']}" in t
    assert f"\\log(1/\\varepsilon)^{{{_common.fmt(s['exponent_log_inv_eps'], 3)}}}$ (main problem, k = {prob.k})" in t
    assert (f"Linear fit of the eps-scan: {_common.fmt(s['steps_per_unit_log_inv_eps'])} steps "
            f"per unit") in t
    assert t.endswith(f"predicts {_common.fmt(s['predicted_steps_per_unit_log_inv_eps'])}.")
    assert f"pattern '{e['a_pattern']}', $|a^*|$ = {e['a_norm']}, $\\varepsilon$ = {e['eps']})" in t
    assert sec.figures == [{"file": "e5_scaling.png",
                            "caption": "Steps to eps vs k and vs log(1/eps), log-log"}]
    fig = figs["e5_scaling.png"]
    axes = fig.axes
    for ax, xs, meds, (sl, ic), title in ((axes[0], e["ks"], k_med, b_ref, f"$\\varepsilon$ = {e['eps']}"),
                                          (axes[1], L, e_med, c_ref, f"k = {prob.k}")):
        pts, fit = lines_of(ax)
        np.testing.assert_allclose(pts.get_xdata(), xs, rtol=1e-15)
        np.testing.assert_array_equal(pts.get_ydata(),
                                      [np.nan if m is None else m for m in meds])
        xx = fit.get_xdata()
        assert close(xx[0], min(xs)) and close(xx[-1], max(xs)) and len(xx) == 50
        np.testing.assert_allclose(fit.get_ydata(), np.exp(ic) * xx ** sl, rtol=1e-9)
        assert fit.get_label() == f"fit: exponent {sl:.3g}"
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert ax.get_title() == title and ax.get_ylabel() == "steps after noise phase"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "median steps to $\\varepsilon$", f"fit: exponent {sl:.3g}"]
        np.testing.assert_allclose(ax.get_xticks(), xs, rtol=1e-15)
        if ax is axes[0]:                     # drawn (tick labels, formatters), coarsely
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            fig.set_dpi(8)
            FigureCanvasAgg(fig).draw()
            labels = [(t.get_text(), v) for t, v in zip(ax.get_yticklabels(), ax.get_yticks())]
            assert all(t in ("", "%g" % v) for t, v in labels) and any(t for t, _ in labels)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["%.3g" % v for v in xs]
    assert axes[0].get_xlabel() == "k" and axes[1].get_xlabel() == r"$\log(1/\varepsilon)$"


def test_e5_analyse_without_fits_or_prediction(conf, prob, figs, tmp_path, monkeypatch):
    e = conf["experiments"]["e5"]
    e.update(ks=[2, 4], eps_values=[1e-2, 1e-4], chains=3)
    off = sum(n for _, n in e["noise_stages"])
    results = [_e5_result([off + 5, -1, -1]), _e5_result([off + 5, off + 6, off + 7]),
               _e5_result([-1, -1, off + 1]), _e5_result([off + 2, off + 2, off + 2])]
    e_two = copy.deepcopy(conf)
    e_two["experiments"]["e5"]["eps_values"] = [1e-2, 1e-4, 1e-6]
    two = e5.analyse(e_two, prob, results[:2] + [_e5_result([off + 4] * 3),
                                                 _e5_result([off + 9] * 3),
                                                 _e5_result([-1] * 3)], tmp_path).summary
    figs.clear()
    L2 = [math.log(1e2), math.log(1e4)]
    assert close(two["steps_per_unit_log_inv_eps"], (9 - 4) / (L2[1] - L2[0]), 1e-9)

    def no_q(problem, eta):
        raise ValueError("no contraction")
    monkeypatch.setattr(theory, "contraction_factor", no_q)
    s = e5.analyse(conf, prob, results, tmp_path).summary
    assert s["exponent_k"] is None and s["exponent_log_inv_eps"] is None
    assert s["steps_per_unit_log_inv_eps"] is None
    assert s["predicted_steps_per_unit_log_inv_eps"] is None
    axes = figs["e5_scaling.png"].axes
    assert [len(lines_of(ax)) for ax in axes] == [1, 1]          # no fit line drawn
    for q in (1.0, 1.5, 0.0):
        monkeypatch.setattr(theory, "contraction_factor", lambda problem, eta, q=q: q)
        figs.clear()
        assert e5.analyse(conf, prob, results, tmp_path).summary[
            "predicted_steps_per_unit_log_inv_eps"] is None


# ------------------------------------------------------------------------ E6

class FakePGD:
    """Stands in for verified_pgd.pgd: records each call, returns a result of known content
    (final theta / a-error with successes, a diverged chain at a successful state, hits)."""

    def __init__(self, eps):
        self.calls, self.eps = [], eps

    @staticmethod
    def th_s(problem):
        return float(theory.saddle_theta(problem))

    def __call__(self, problem, w0, a0, schedule, eta=None, **kw):
        i = len(self.calls)
        chains = kw["chains"]
        rng = np.random.default_rng(100 + i)
        th = rng.uniform(0, 3, chains)
        ae = rng.uniform(0, 2, chains)
        good = rng.random(chains) < 0.4
        th[good], ae[good] = self.eps * rng.random(good.sum()), self.eps * rng.random(good.sum())
        th[0], ae[0] = self.eps, self.eps / 2                 # the boundary: a success
        th[1], ae[1] = self.eps / 2, self.eps / 3
        th[2], ae[2] = self.eps / 2, 2 * self.eps             # a trap: a-error too large
        th[3], ae[3] = self.eps / 2, self.eps                 # the a-error boundary: a success
        th[4] = self.th_s(problem)                            # the basin boundary: outside
        div = np.zeros(chains, bool)
        div[1] = True                                         # diverged: never a success
        hit = np.where(good | (np.arange(chains) < 2), rng.integers(1, 500, chains), -1)
        if i == 1:
            hit[:] = -1                                       # no chain reaches eps
        success = (hit >= 0) & ~div
        R = 3
        steps = np.arange(R) * 100
        hist = SimpleNamespace(step=steps,
                               theta=np.vstack([rng.uniform(0, 3, (R - 1, chains)), th]),
                               a_error=np.vstack([rng.uniform(0, 3, (R - 1, chains)), ae]))
        res = SimpleNamespace(history=hist, diverged=div, chains=chains, hit_step=hit,
                              success=success)
        self.calls.append(dict(problem=problem, w0=w0, a0=a0, schedule=schedule, eta=eta,
                               kw=kw, res=res))
        return res


def _e6_conf(conf):
    e = conf["experiments"]["e6"]
    e.update(chains=10, teachers=[[1.0, -1.0], [1.0, 1.0]], inits=["random", "spurious"],
             methods=list(e6.METHODS), eps=1e-3, batch=3, max_theory_steps=10**6)
    return e


def test_e6_problems_and_starts(conf, prob):
    e = _e6_conf(conf)
    ps = e6._problems(conf, prob)
    assert [name for name, _ in ps] == ["run teacher", "a*=[1.0, -1.0]"]
    assert ps[0][1] is prob
    assert list(ps[1][1].a_star) == [1.0, -1.0] and list(ps[1][1].w_star) == list(prob.w_star)
    w, a = e6._starts(prob, "spurious", 5, 7)
    sp = theory.spurious_minimum(prob)
    np.testing.assert_array_equal(w, np.asarray(sp.w, float))
    np.testing.assert_array_equal(a, np.asarray(sp.a, float))
    w, a = e6._starts(prob, "random", 5, 7)
    rng = np.random.default_rng(7)
    w_ref = rng.standard_normal((5, prob.p))
    w_ref = w_ref / np.sqrt((w_ref ** 2).sum(axis=1))[:, None]
    a_ref = rng.standard_normal((5, prob.k)) * (1 / math.sqrt(prob.k))
    np.testing.assert_allclose(w, w_ref, rtol=1e-15)
    np.testing.assert_allclose(a, a_ref, rtol=1e-15)
    assert w.shape == (5, prob.p) and a.shape == (5, prob.k)


def test_e6_sigma_trace_is_the_protocols_step_function():
    x, y = e6._sigma_trace()
    st = vp.Schedule.zhou2019().stages
    assert len(x) == len(y) == 2 * len(st)
    t = 0
    for i, s in enumerate(st):
        assert x[2 * i:2 * i + 2] == [t, t + s.steps] and y[2 * i:2 * i + 2] == [s.sigma_w] * 2
        t += s.steps
    assert x[-1] == vp.Schedule.zhou2019().total_steps


def test_e6_analyse_runs_each_method_as_documented(conf, prob, figs, tmp_path, monkeypatch,
                                                   fake_theory_schedule):
    e = _e6_conf(conf)
    fake = FakePGD(e["eps"])
    monkeypatch.setattr(vp, "pgd", fake)
    sec = e6.analyse(conf, prob, [], tmp_path)
    assert sec.id == "e6" and sec.title == e6.TITLE and sec.notes == []
    problems = e6._problems(conf, prob)
    expected = [(pi, init, m) for pi in range(2) for init in ("random", "spurious")
                for m in e6.METHODS if not (pi > 0 and m in ("pgd_ball", "sgd_b4"))]
    assert len(fake.calls) == len(expected) == len(sec.table["rows"])
    zhou = vp.Schedule.zhou2019()
    for call, (pi, init, m), row in zip(fake.calls, expected, sec.table["rows"]):
        pname, pr = problems[pi]
        assert list(call["problem"].a_star) == list(pr.a_star)
        assert list(call["problem"].w_star) == list(pr.w_star)
        w0, a0 = e6._starts(pr, init, 10, _seed_spec(conf["seed"], 6, pi, init))
        np.testing.assert_array_equal(call["w0"], w0)
        np.testing.assert_array_equal(call["a0"], a0)
        kw = dict(call["kw"])
        assert kw.pop("seed") == _seed_spec(conf["seed"], 6, pi, init, m)
        assert kw.pop("chains") == 10 and kw.pop("eps") == e["eps"]
        sched = call["schedule"]
        if m == "gd":
            assert sched == vp.Schedule.constant(0.0, zhou.total_steps)
            assert call["eta"] == 0.1 and kw == {"record_every": 100}
        elif m == "theory":
            assert sched == vp.Schedule([(0.5, 10), (0.0, 5)])
            assert call["eta"] == 0.1 and kw == {"record_every": 15}
        else:
            assert sched == zhou and call["eta"] is None      # the protocol's own eta
            assert kw == {"record_every": 100, **{"pgd_gaussian": {},
                                                  "pgd_ball": {"noise": "ball"},
                                                  "sgd_b4": {"gradient": 3}}[m]}
        # the row's numbers, recomputed from the fake's outcome
        res = call["res"]
        th, ae = res.history.theta[-1], res.history.a_error[-1]
        th_s = float(theory.saddle_theta(pr))
        f = sum(t <= e["eps"] and a <= e["eps"] and not d for t, a, d in zip(th, ae, res.diverged))
        b = sum(t < th_s and not d for t, d in zip(th, res.diverged))
        hits = sorted(h for h, s in zip(res.hit_step, res.success) if s)
        med = float(np.mean(hits[(len(hits) - 1) // 2:len(hits) // 2 + 1])) if hits else None
        dL = float(theory.barrier(pr))
        assert row[:7] == [pname, round(dL, 5), init, m, int(sched.total_steps), 10, f / 10]
        assert np.allclose(row[7], cp95(f, 10), rtol=1e-10) and row[8] == b / 10
        assert np.allclose(row[9], cp95(b, 10), rtol=1e-10) and row[10] == med
        d = sec.data["runs"][f"{pi}_{init}_{m}"]
        assert {k: d[k] for k in ("teacher", "barrier", "init", "method", "chains",
                                  "final_success", "in_basin", "median_steps_to_eps",
                                  "total_steps")} == \
            {"teacher": pname, "barrier": dL, "init": init, "method": m, "chains": 10,
             "final_success": f, "in_basin": b, "median_steps_to_eps": med,
             "total_steps": int(sched.total_steps)}
        assert np.allclose(d["final_ci"], cp95(f, 10), rtol=1e-10)
        assert np.allclose(d["basin_ci"], cp95(b, 10), rtol=1e-10)
        assert type(d["final_ci"]) is list and type(d["basin_ci"]) is list
        if pi == 0:
            assert sec.summary[f"{init}_{m}_final_success_rate"] == f / 10
    assert len(sec.data["runs"]) == len(expected)
    assert set(sec.summary) == {f"{i}_{m}_final_success_rate" for i in ("random", "spurious")
                                for m in e6.METHODS} | {"teachers"}
    assert sec.summary["teachers"] == 2
    assert sec.table["columns"] == ["teacher", "barrier", "init", "method", "steps", "chains",
                                    "final success", "95% CI", "in basin", "basin 95% CI",
                                    "median steps to eps"]
    assert (f"perturbed mini-batch SGD (B = 3), and `theory.schedule` (eps = {e['eps']}, "
            f"delta = 0.05, eta = 0.1); 10 chains each") in sec.text
    assert "the teachers are the run's and 2 more with a spurious minimum" in sec.text
    assert sec.text.startswith("Zhou et al. (2019)'s protocol")
    assert sec.figures == [{"file": "e6_paper.png", "caption": (
        "theta_t of 8 chains under the paper's protocol and GD (Figure 2 of the paper: the "
        "decreasing noise guides PGD into the global basin); dashed: sigma_w(t)")}]
    assert set(fake_theory_schedule) == {(e["eps"], 0.05, 0.1)}
    assert any(c["res"].success.sum() == 0 for c in fake.calls)
    # the figure: 8 chains of pgd_gaussian and gd per start, theta_s, the sigma_w trace
    fig = figs["e6_paper.png"]
    main = [ax for ax in fig.axes if ax.get_ylabel() == r"$\theta_t$"]
    twins = [ax for ax in fig.axes if ax.get_ylabel() == r"$\sigma_w$ (dashed)"]
    assert len(main) == 2 and len(twins) == 2 and len(fig.axes) == 4     # no empty panel
    by_call = {(init, m): c for c, (pi, init, m) in zip(fake.calls, expected) if pi == 0}
    for ax, init in zip(main, ("random", "spurious")):
        assert ax.get_title() == f"from {init} start" and ax.get_xlabel() == "step"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "pgd_gaussian", "gd", r"$\theta_s$"]
        ln = lines_of(ax)
        for j, m in enumerate(("pgd_gaussian", "gd")):
            res = by_call[(init, m)]["res"]
            block = ln[9 * j:9 * j + 8]                 # 8 chains, then an empty legend entry
            for c, line in enumerate(block):
                np.testing.assert_array_equal(line.get_xdata(), res.history.step)
                np.testing.assert_array_equal(line.get_ydata(), res.history.theta[:, c])
            assert ln[9 * j + 8].get_label() == m and len(ln[9 * j + 8].get_xdata()) == 0
            assert ln[9 * j + 8].get_color() == block[0].get_color()     # the legend's swatch
            assert len({x.get_color() for x in block}) == 1
        assert list(ln[18].get_ydata()) == [float(theory.saddle_theta(prob))] * 2
        assert ax.get_legend() is not None
    for tw in twins:
        x, y = e6._sigma_trace()
        ln = lines_of(tw)
        assert len(ln) == 1 and list(ln[0].get_xdata()) == x and list(ln[0].get_ydata()) == y
        assert tw.get_yscale() == "log"


def test_e6_theory_schedule_too_long_is_noted_not_run(conf, prob, figs, tmp_path, monkeypatch,
                                                      fake_theory_schedule):
    e = _e6_conf(conf)
    e.update(max_theory_steps=14, methods=["theory"], inits=["spurious"])
    fake = FakePGD(e["eps"])
    monkeypatch.setattr(vp, "pgd", fake)
    sec = e6.analyse(conf, prob, [], tmp_path)
    assert fake.calls == [] and sec.table["rows"] == []
    assert sec.notes == ["run teacher, spurious: theory.schedule not run, its length 15 > "
                         "max_theory_steps = 14",
                         "a*=[1.0, -1.0], spurious: theory.schedule not run, its length 15 > "
                         "max_theory_steps = 14"]
    assert fake_theory_schedule[0] == (e["eps"], 0.05, 0.1)
    e["max_theory_steps"] = 15                           # at the limit: it runs
    figs.clear()
    sec = e6.analyse(conf, prob, [], tmp_path)
    assert len(fake.calls) == 2 and sec.notes == []


# ------------------------------------------------------------------------ E7

def test_e7_problems(conf, prob):
    e = conf["experiments"]["e7"]
    e.update(teachers=[[1.0, -1.0], [1.0, 1.0], [2.0, -1.0, 1.0]], ps=[3, 5])
    ps = e7._problems(conf, prob)
    assert [(list(p.a_star), p.p) for p in ps] == [([1.0, -1.0], 3), ([1.0, -1.0], 5),
                                                   ([2.0, -1.0, 1.0], 3), ([2.0, -1.0, 1.0], 5)]
    for p in ps:
        w = np.zeros(p.p)
        w[0] = prob.s
        np.testing.assert_array_equal(p.w_star, w)
    e["teachers"] = []
    ps = e7._problems(conf, prob)
    assert [(list(p.a_star), p.p) for p in ps] == [(list(prob.a_star), 3), (list(prob.a_star), 5)]


class FakeEscape:
    """escape_time / assumptions / compare_prediction replaced by recorders with outcomes
    set per point.  Predictions are exact binary multiples, so the ratio bounds are exact."""

    BASE = {"saddle": 128.0, "1d": 64.0, "separatrix": 256.0, "no-volume": 1024.0}

    def __init__(self, outcome):
        self.outcome = outcome                    # (p, eta, x) -> (low, mean, high) / predicted
        self.times, self.assume, self.compare = [], [], []

    def pred(self, pr, eta, method):
        if pr.p == 8 and method in ("saddle", "separatrix"):
            raise ValueError("no saddle")
        if pr.p == 8 and eta < 0.3 and method == "no-volume":
            raise ValueError("no control here")
        return self.BASE[method] * (2.0 if eta > 0.3 else 1.0)

    def escape_time(self, pr, eta, sigma, method="saddle"):
        self.times.append((pr.p, eta, sigma, method))
        return self.pred(pr, eta, method)

    def assumptions(self, pr, eta, sigma):
        assert eta in (0.2, 0.5)
        self.assume.append((pr.p, eta, sigma))
        reasons = () if pr.p == 3 else ("x < 2", "volume term too large")
        return SimpleNamespace(holds=not reasons, reasons=reasons)

    def compare_prediction(self, pr, eta, x, *, chains, seed, alpha, method):
        self.compare.append(dict(p=pr.p, eta=eta, x=x, chains=chains, seed=seed, alpha=alpha,
                                 method=method))
        P = self.pred(pr, eta, method)
        lo, m, hi = self.outcome[(pr.p, eta, x)]
        return SimpleNamespace(mean=m * P, low=lo * P, high=hi * P, cv=0.9, censored=1,
                               method=method, predicted=P, ratio=m, chains=chains,
                               times=np.array([1, 2, 3]))


def _e7_setup(conf, monkeypatch, outcome=None):
    from verified_pgd import escape
    from verified_pgd.theory import escape_law
    e = conf["experiments"]["e7"]
    e.update(teachers=[[1.0, -1.0]], ps=[3, 8], etas=[0.2, 0.5], xs=[3.0, 2.0], chains=7,
             tol=0.25, alpha=1e-4)
    # (low, mean, high) / predicted: agree at the band's edges (exactly), disagree just outside
    outcome = outcome or {
        (3, 0.2, 3.0): (0.5, 0.6, 0.75), (3, 0.2, 2.0): (1.25, 1.5, 2.0),
        (3, 0.5, 3.0): (0.25, 0.5, 0.5), (3, 0.5, 2.0): (1.5, 2.0, 6.0),
        (8, 0.2, 3.0): (0.5, 1.0, 1.5), (8, 0.2, 2.0): (0.125, 0.25, 0.5),
        # the control (no-volume, 16 x the 1d prediction here): its band's upper edge
        # exactly (not rejected), inside (not rejected), above (rejected)
        (8, 0.5, 3.0): (20.0, 22.0, 24.0), (8, 0.5, 2.0): (24.0, 26.0, 28.0)}
    fake = FakeEscape(outcome)
    monkeypatch.setattr(escape_law, "escape_time", fake.escape_time)
    monkeypatch.setattr(escape_law, "assumptions", fake.assumptions)
    monkeypatch.setattr(escape, "compare_prediction", fake.compare_prediction)
    return e, fake


def test_e7_point_asks_every_method_at_the_sigma_of_the_temperature(conf, prob, monkeypatch):
    e, fake = _e7_setup(conf, monkeypatch)
    pr = e7._problems(conf, prob)[0]
    c, pred, ok = e7._point(pr, 0.5, 3.0, 7, 11, 1e-4)
    sigma = math.sqrt(2 * float(theory.barrier(pr)) / (3.0 * 0.5))
    assert [t[3] for t in fake.times] == list(e7.METHODS)
    assert all(t[:2] == (3, 0.5) and close(t[2], sigma, 1e-14) for t in fake.times)
    assert len(fake.assume) == 1 and close(fake.assume[0][2], sigma, 1e-14)
    assert pred == {m: 2 * FakeEscape.BASE[m] for m in e7.METHODS}
    assert fake.compare == [dict(p=3, eta=0.5, x=3.0, chains=7, seed=11, alpha=1e-4,
                                 method="saddle")]
    assert ok.holds
    pr8 = e7._problems(conf, prob)[1]
    c, pred, ok = e7._point(pr8, 0.2, 2.0, 7, 12, 1e-4)
    assert pred == {"saddle": None, "1d": 64.0, "separatrix": None, "no-volume": None}
    assert fake.compare[-1]["method"] == "1d" and not ok.holds


def test_e7_analyse_ratios_agreement_control_and_summary(conf, prob, figs, tmp_path, monkeypatch):
    e, fake = _e7_setup(conf, monkeypatch)
    sec = e7.analyse(conf, prob, [], tmp_path)
    problems = e7._problems(conf, prob)
    grid = [(pi, eta, x) for pi in range(2) for eta in (0.2, 0.5) for x in (3.0, 2.0)]
    assert len(sec.data["points"]) == len(grid) == len(sec.table["rows"])
    for q, row, (pi, eta, x), cmp in zip(sec.data["points"], sec.table["rows"], grid,
                                         fake.compare):
        pr = problems[pi]
        lo, m, hi = fake.outcome[(pr.p, eta, x)]
        method = "saddle" if pr.p == 3 else "1d"
        P = fake.pred(pr, eta, method)
        assert cmp["seed"] == _seed_spec(conf["seed"], 7, pi, str(eta), str(x))
        assert cmp["chains"] == 7 and cmp["alpha"] == 1e-4 and cmp["method"] == method
        preds = {k: (None if pr.p == 8 and (k in ("saddle", "separatrix")
                                            or (k == "no-volume" and eta < 0.3))
                     else FakeEscape.BASE[k] * (2.0 if eta > 0.3 else 1.0)) for k in e7.METHODS}
        agrees = hi >= 0.75 and lo <= 1.25
        ctl = preds["no-volume"]
        rejected = None if ctl is None else (hi * P / ctl < 0.75 or lo * P / ctl > 1.25)
        assert q == {"a_star": [1.0, -1.0], "p": pr.p, "k": 2, "eta": eta, "x": x, "chains": 7,
                     "times": [1, 2, 3], "mean": m * P, "low": lo * P, "high": hi * P,
                     "cv": 0.9, "censored": 1, "measured_against": method, "predicted": preds,
                     "ratio": {k: (m * P / v if v else None) for k, v in preds.items()},
                     "ratio_interval": [lo, hi], "agrees": agrees,
                     "control_rejected": rejected, "assumptions_hold": pr.p == 3,
                     "reasons": [] if pr.p == 3 else ["x < 2", "volume term too large"]}
        assert type(q["agrees"]) is bool
        assert type(q["control_rejected"]) is (bool if ctl else type(None))
        assert type(q["times"][0]) is int and type(q["eta"]) is float
        assert row == [2, pr.p, eta, x, 7, m * P, [lo * P, hi * P], method, P, m, [lo, hi],
                       m * P / preds["1d"], None if ctl is None else m * P / ctl, agrees, pr.p == 3,
                       "" if pr.p == 3 else "x < 2; volume term too large"]
    pts = sec.data["points"]
    inside = [q for q in pts if q["p"] == 3]
    outside = [q for q in pts if q["p"] == 8]
    assert [q["agrees"] for q in inside] == [True, True, False, False]
    assert [q["agrees"] for q in outside] == [True, False, False, False]
    assert [q["control_rejected"] for q in outside] == [None, None, False, True]

    def span(qs, key):
        v = [q["mean"] / q["predicted"][key] for q in qs if q["predicted"][key]]
        return [min(v), max(v)] if v else None
    s = sec.summary
    assert s == {"points": 8, "points_inside_assumptions": 4, "inside_agreeing": 2,
                 "inside_control_rejected": sum(q["control_rejected"] for q in inside),
                 "saddle_ratio_range_inside": span(inside, "saddle"),
                 "one_d_ratio_range_inside": span(inside, "1d"),
                 "no_volume_ratio_range_inside": span(inside, "no-volume"),
                 "outside_disagreeing": 3, "points_outside_assumptions": 4, "tol": 0.25}
    assert sec.id == "e7" and sec.title == e7.TITLE
    assert 0 < s["inside_control_rejected"] < 4
    assert sec.notes == []
    t = sec.text
    assert t.startswith("Mean escape steps from the spurious minimum at constant noise (7 "
                        "chains per point, exact chi-square interval of an exponential law at "
                        "confidence 1 - 0.0001)")
    assert "p in [3, 8], η in [0.2, 0.5], ΔL/T in [3.0, 2.0]." in t
    assert "the ratio's interval meets [1 - 0.25, 1 + 0.25]" in t
    rng = lambda r: f"{_common.fmt(r[0], 3)}–{_common.fmt(r[1], 3)}"
    assert (f"2/4 points agree, saddle ratio {rng(s['saddle_ratio_range_inside'])}, 1d "
            f"{rng(s['one_d_ratio_range_inside'])}, control no-volume "
            f"{rng(s['no_volume_ratio_range_inside'])} (rejected at "
            f"{s['inside_control_rejected']}/4). Outside: 3/4 points disagree") in t
    assert sec.table["columns"] == ["k", "p", "eta", "dL/T", "chains", "mean steps", "interval",
                                    "method", "predicted", "ratio", "ratio interval",
                                    "ratio 1d", "ratio no-volume", "agrees",
                                    "assumptions hold", "why not"]
    assert sec.figures == [{"file": "e7_escape.png", "caption": (
        "Left: mean escape steps (intervals at 1 - 0.0001) against ΔL/T with the saddle "
        "(solid) and 1d (dashed) predictions; right: measured / predicted (saddle, or 1d where "
        "V has no saddle; hollow: assumptions fail), band 1 ± 0.25")}]
    # the figure: per (k, p, eta) the means with their intervals and the predictions (left),
    # measured / predicted with the ratio intervals, hollow where the assumptions fail (right)
    ax, ax2 = figs["e7_escape.png"].axes
    keys = sorted({(q["k"], q["p"], q["eta"]) for q in pts})
    assert [c.get_label() for c in ax.containers] == [f"k={k} p={p} η={eta:g}"
                                                      for k, p, eta in keys]
    other = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_nolegend")]
    colours = []
    for i, key in enumerate(keys):
        qs = sorted((q for q in pts if (q["k"], q["p"], q["eta"]) == key), key=lambda q: q["x"])
        xs = [q["x"] for q in qs]
        data, caps, bars = ax.containers[i].lines
        assert list(data.get_xdata()) == xs and list(data.get_ydata()) == [q["mean"] for q in qs]
        segs = bars[0].get_segments()
        assert [(sg[0][1], sg[1][1]) for sg in segs] == [(q["low"], q["high"]) for q in qs]
        sad, one = other[2 * i], other[2 * i + 1]
        assert sad.get_linestyle() == "-" and one.get_linestyle() == "--"
        np.testing.assert_array_equal(sad.get_ydata(), [np.nan if q["predicted"]["saddle"] is None
                                                        else q["predicted"]["saddle"] for q in qs])
        assert list(one.get_ydata()) == [q["predicted"]["1d"] for q in qs]
        assert list(one.get_xdata()) == xs
        assert list(sad.get_xdata()) == xs
        jit = (i - len(keys) / 2) * 0.04
        r = [q["mean"] / q["predicted"][q["measured_against"]] for q in qs]
        _, _, bars2 = ax2.containers[i].lines
        segs = bars2[0].get_segments()
        assert np.allclose([sg[0][0] for sg in segs], np.array(xs) + jit, rtol=1e-15)
        assert [(sg[0][1], sg[1][1]) for sg in segs] == [tuple(q["ratio_interval"]) for q in qs]
        full, hollow = [ln for ln in ax2.get_lines() if ln.get_marker() == "o"][2 * i:2 * i + 2]
        hold = [q["assumptions_hold"] for q in qs]
        assert list(full.get_ydata()) == [v for v, h in zip(r, hold) if h]
        assert list(hollow.get_ydata()) == [v for v, h in zip(r, hold) if not h]
        assert np.allclose(full.get_xdata(), [x + jit for x, h in zip(xs, hold) if h])
        assert np.allclose(hollow.get_xdata(), [x + jit for x, h in zip(xs, hold) if not h])
        assert full.get_label() == f"k={key[0]} p={key[1]} η={key[2]:g}"
        assert hollow.get_markerfacecolor() == "none"
        colours.append({to_hex(c, keep_alpha=True) for c in (
            data.get_color(), bars[0].get_color()[0], sad.get_color(), one.get_color(),
            bars2[0].get_color()[0], full.get_color(), hollow.get_color())})
    # a series is one colour on both panels (the reader pairs them by it), and its own
    assert all(len(c) == 1 for c in colours) and len(set.union(*colours)) == len(keys) > 1
    assert ax.get_yscale() == "log" and ax2.get_yscale() == "linear"
    assert ax.get_ylabel() == "mean escape steps" and ax2.get_ylabel() == "measured / predicted"
    assert ax.get_xlabel() == ax2.get_xlabel() == r"$\Delta L / T$"
    band, = ax2.patches
    assert band.get_y() == 0.75 and band.get_height() == 0.5
    assert [list(ln.get_ydata()) for ln in ax2.get_lines() if ln.get_linestyle() == "-"] == [[1.0, 1.0]]
    assert ax.get_legend() is not None


def test_e7_analyse_without_points_inside_the_assumptions(conf, prob, figs, tmp_path,
                                                          monkeypatch):
    e, fake = _e7_setup(conf, monkeypatch)
    e["ps"] = [8]
    sec = e7.analyse(conf, prob, [], tmp_path)
    assert sec.notes == ["no grid point satisfies the assumptions of the saddle prediction"]
    s = sec.summary
    assert s["points_inside_assumptions"] == 0 and s["saddle_ratio_range_inside"] is None
    assert s["one_d_ratio_range_inside"] is None
    assert "0/0 points agree, saddle ratio —, 1d —, control no-volume —" in sec.text


def test_e7_range():
    assert e7._range(None) == "—"
    assert e7._range([0.123456, 2.34567]) == "0.123–2.35"
