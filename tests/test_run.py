"""vpgd run --quick end to end, and the user errors of run/solve/reference."""
import json

import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd import report
from verified_pgd.cli import main


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert main(["run", "--quick", "--out", str(out)]) == 0
    return out


def test_quick_report_has_all_sections_and_valid_results(quick_report, capsys):
    out = quick_report
    md = (out / "report.md").read_text()
    for title in ("E1 Landscape", "E2 From the spurious point", "E3 From random initialisation",
                  "E4 Precision", "E5 Scaling", "E7 Escape time"):
        assert f"## {title}" in md
    doc = json.loads((out / "results.json").read_text())
    report.check_results(doc)
    assert [s["id"] for s in doc["experiments"]] == ["e1", "e2", "e3", "e4", "e5", "e6", "e7"]
    for sec in doc["experiments"]:
        for fig in sec["figures"]:
            png = (out / fig["file"]).read_bytes()
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
            assert f"]({fig['file']})" in md
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == sum(len(s["figures"]) for s in doc["experiments"])
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_quick_report_content_checks(quick_report):
    doc = json.loads((quick_report / "results.json").read_text())
    sec = {s["id"]: s for s in doc["experiments"]}
    # E1: the curve and the critical points are two computations that must agree
    assert sec["e1"]["summary"]["max_loss_mismatch_at_critical_points"] < 1e-12
    assert abs(sec["e1"]["summary"]["grid_argmax_minus_theta_saddle"]) <= \
        sec["e1"]["summary"]["grid_spacing"]
    # E2: noise-free GD from the spurious point never moves (exact: its gradient is 0)
    assert sec["e2"]["summary"]["gd_max_theta_deviation_from_pi"] == 0.0
    # E3: the Clopper-Pearson intervals contain their point estimates
    for row in sec["e3"]["table"]["rows"]:
        lo, hi = row[4]
        assert lo <= row[3] <= hi


def test_quick_report_e7_headlines_recomputed_from_the_raw_escape_times(quick_report):
    """E7's means, intervals, ratios, verdicts and summary, recomputed from the stored
    escape times: the interval from Gamma(n, mean) quantiles (not the chi-square form the
    report uses), the 1-D prediction by the mpmath quadrature in e = pi - theta (not the
    float64 one the report stores)."""
    import math
    from scipy.stats import gamma
    from verified_pgd import theory
    from verified_pgd.config import load_run
    doc = json.loads((quick_report / "results.json").read_text())
    sec = {s["id"]: s for s in doc["experiments"]}["e7"]
    e = load_run(quick=True)["experiments"]["e7"]
    tol, alpha = e["tol"], e["alpha"]
    pts = sec["data"]["points"]
    assert len(pts) == len(e["teachers"]) * len(e["ps"]) * len(e["etas"]) * len(e["xs"])
    inside = []
    for q in pts:
        t = np.array(q["times"], float)
        assert t.size == q["chains"] == e["chains"] and (t >= 1).all()
        S, n = t.sum(), t.size
        assert q["mean"] == pytest.approx(S / n, rel=1e-12)
        assert q["low"] == pytest.approx(S / gamma.ppf(1 - alpha / 2, n), rel=1e-9)
        assert q["high"] == pytest.approx(S / gamma.ppf(alpha / 2, n), rel=1e-9)
        pred = q["predicted"][q["measured_against"]]
        lo, hi = q["low"] / pred, q["high"] / pred
        assert q["ratio_interval"] == pytest.approx([lo, hi], rel=1e-12)
        assert q["agrees"] == (hi >= 1 - tol and lo <= 1 + tol)
        prob = vp.Problem([1.0] + [0.0] * (q["p"] - 1), q["a_star"])
        sigma = math.sqrt(2 * float(theory.barrier(prob)) / q["x"] / q["eta"])
        one = float(theory.escape_time(prob, q["eta"], sigma, method="1d", dps=20))
        assert q["predicted"]["1d"] == pytest.approx(one, rel=1e-7)
        assert q["ratio"]["1d"] == pytest.approx(q["mean"] / one, rel=1e-7)
        if q["assumptions_hold"]:
            inside.append(q)
            assert q["measured_against"] == "saddle" and not q["reasons"]
        else:
            assert q["reasons"]
    summ = sec["summary"]
    assert summ["points"] == len(pts) and summ["points_inside_assumptions"] == len(inside) > 0
    assert summ["inside_agreeing"] == sum(q["agrees"] for q in inside)
    r = [q["mean"] / q["predicted"]["saddle"] for q in inside]
    assert summ["saddle_ratio_range_inside"] == pytest.approx([min(r), max(r)], rel=1e-12)
    assert len(sec["table"]["rows"]) == len(pts)


def test_results_schema_rejects_tampering(quick_report):
    doc = json.loads((quick_report / "results.json").read_text())
    report.check_results(doc)
    for path, value in ((("schema",), "other/1"), (("experiments", 0, "id"), "e9"),
                        (("experiments", 1, "figures", 0, "file"), "../x.png"),
                        (("problem", "p"), 99)):
        bad = json.loads(json.dumps(doc))
        node = bad
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(ValueError, match="^results.json: "):
            report.check_results(bad)
    bad = json.loads(json.dumps(doc))
    bad["experiments"][2]["table"]["rows"][0].pop()
    with pytest.raises(ValueError, match=r"rows\[0\]: must have one cell per column"):
        report.check_results(bad)


def test_subset_with_two_workers_reproduces_the_same_sections(quick_report, tmp_path):
    assert main(["run", "--quick", "--out", str(tmp_path), "--experiments", "e2,e3,e7",
                 "--workers", "2"]) == 0
    full = {s["id"]: s for s in json.loads((quick_report / "results.json").read_text())["experiments"]}
    part = json.loads((tmp_path / "results.json").read_text())["experiments"]
    assert [s["id"] for s in part] == ["e2", "e3", "e7"]      # e7: bitwise across runs
    for sec in part:
        assert sec == full[sec["id"]]


@pytest.mark.parametrize("argv, message", [
    (["--experiments", "e1,e9"], "vpgd run: error: --experiments: unknown experiment 'e9'"),
    (["--workers", "0"], "vpgd run: error: --workers: must be >= 1"),
])
def test_run_user_errors_are_one_line(tmp_path, capsys, argv, message):
    assert main(["run", "--quick", "--out", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_run_bad_config_and_unwritable_out(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[experiments.e3]\nchains = 0\n")
    assert main(["run", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err == "vpgd run: error: config: experiments.e3.chains: must be an integer >= 1 " \
                  "and <= 1000000, got 0\n"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        assert main(["run", "--quick", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("vpgd run: error: out: ") and err.count("\n") == 1
    assert not (tmp_path / "o").exists()   # nothing written when the config is bad


def test_reference_json(tmp_path, capsys):
    prob = vp.Problem.default()
    import mpmath
    from verified_pgd import theory
    sp = theory.spurious_minimum(prob, dps=40)
    w = ",".join(mpmath.nstr(x, 40) for x in sp.w)
    a = ",".join(mpmath.nstr(x, 40) for x in sp.a)
    # "--w=..." because the value starts with a minus sign
    assert main(["reference", f"--w={w}", f"--a={a}", "--dps", "40"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dps"] == 40 and doc["spurious_minimum_exists"]
    # the gradient at the spurious point (given to 40 digits) vanishes to ~40 digits
    g = [float(x) for x in doc["gradient"]["w"] + doc["gradient"]["a"]]
    assert max(abs(x) for x in g) < 1e-35
    # the loss is the one loss_mp computes; the critical point list agrees with theory
    assert doc["loss"] == mpmath.nstr(vp.loss_mp(prob, w.split(","), a.split(","), dps=40), 40)
    assert float(doc["barrier"]) == pytest.approx(float(theory.barrier(prob)), rel=1e-14)
    H = np.array([[float(x) for x in row] for row in doc["hessian"]])
    assert H.shape == (8, 8) and np.allclose(H, H.T, atol=1e-30)
    assert main(["reference", "--w", "1,0", "--a", "1,1,1,1"]) == 2
    assert capsys.readouterr().err.startswith("vpgd reference: error: w: length is 2")
    assert main(["reference", "--w", "1,0,0,0", "--a", "1,1,1,1", "--dps", "5"]) == 2
    assert capsys.readouterr().err.startswith("vpgd reference: error: dps: must be >= 15")


def test_solve_json_and_errors(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["solve", "--init", "spurious", "--sigma", "0", "--steps", "50", "--chains", "2",
                 "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    # plain GD from the spurious point does not move (negative control of PGD's escape)
    assert doc["result"]["theta"] == [np.pi, np.pi]
    assert doc["summary"]["final_success_rate"] == 0.0
    assert main(["solve", "--schedule", "0.5:10,0.9:10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vpgd solve: error: config: schedule.stages[1]: sigma must be non-increasing")
    assert main(["solve", "--schedule", "0.5;10"]) == 2
    assert capsys.readouterr().err.startswith("vpgd solve: error: --schedule: stage 0")


def test_theory_schedule_method_used_only_when_available(monkeypatch):
    """E3's 'theory' method asks verified_pgd.theory.schedule and is skipped with a note
    when that function is missing; the default's other schedules are explicit."""
    from verified_pgd import config as cfg, theory
    from verified_pgd.experiments import e3_success
    conf = cfg.load_run(quick=True)
    problem = cfg.build_problem(conf["problem"])
    calls = []

    def fake(prob, eps, delta, eta):
        calls.append((eps, delta, eta))
        return vp.Schedule([(0.5, 10), (0.0, 5)])
    monkeypatch.setattr(theory, "schedule", fake, raising=False)
    methods, notes = e3_success.methods(conf, problem)
    spec = conf["experiments"]["e3"]["methods"]["theory"]
    assert calls == [(spec["eps"], spec["delta"], conf["experiments"]["e3"]["eta"])]
    assert methods["theory"] == {"kind": "stages", "stages": [[0.5, 10], [0.0, 5]]} and not notes
    assert len(e3_success.plan(conf, problem)) == len(methods) * len(
        e3_success.split_chains(conf["experiments"]["e3"]["chains"]))
    monkeypatch.delattr(theory, "schedule", raising=False)
    methods, notes = e3_success.methods(conf, problem)
    assert "theory" not in methods and "gd" in methods and "theory" in notes[0]
