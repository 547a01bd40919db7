"""verified_pgd/bench/suite.py logic without timing anything: targets become PASS/MISS/n/a from the
figures, missing optional modules print "not available", the table renders, and the
PyTorch baseline's loss (evaluated on numpy arrays, so it runs without torch) is vp.loss."""
import numpy as np

from verified_pgd.bench import suite


def fake(full16, torch16, rng_all, red4, red4096, hp50):
    rows = []
    for p in suite.P_LIST:
        rows.append({"p": p, "k": suite.K, "M": 4096, "full": full16, "full_par": 2 * full16,
                     "reduced": red4 if p == 4 else red4096 if p == 4096 else red4,
                     "torch": torch16, "torch_threads": 1, "rng_one": rng_all / 2,
                     "rng_all": rng_all, "cores": 2})
    res = {"machine": {"nproc": 2, "cpu": "x", "python": "3", "numpy": "2", "torch": "t",
                       "load1": 0.0},
           "throughput": rows, "rng": {"one_core": 1e8, "all_cores": 2e8, "cores": 2},
           "hp": [{"digits": 50, "solver": "arb", "precision": "arb:167", "steps_per_s": hp50}],
           "derive": {"cold_s": 1.0, "warm_s": 0.1}}
    res["targets"] = suite.targets(res)
    return res


def status(res, name):
    return [t["status"] for t in res["targets"] if t["target"].startswith(name)]


def test_targets_pass_and_miss_from_the_figures():
    good = fake(full16=4.1e6, torch16=1e6, rng_all=3.2e7, red4=2e6, red4096=1.9e6, hp50=6000)
    assert status(good, "full / torch") == ["PASS", "PASS"]
    assert status(good, "full / RNG") == ["PASS", "PASS"]        # bound 3.2e7 / 32 = 1e6
    assert status(good, "reduced cost") == ["PASS"]
    assert status(good, "fastest HP") == ["PASS"]
    bad = fake(full16=1.5e6, torch16=1e6, rng_all=3.2e8, red4=2e6, red4096=1e6, hp50=1000)
    assert status(bad, "full / torch")[0] == "MISS"
    assert status(bad, "full / RNG") == ["MISS", "MISS"]
    assert status(bad, "reduced cost") == ["MISS"]
    assert status(bad, "fastest HP") == ["MISS"]
    text = suite.format_table(bad)
    assert "MISS" in text and "reduced cost" in text


def test_missing_torch_and_modules_say_so():
    res = fake(full16=1e6, torch16=None, rng_all=1e8, red4=1, red4096=1, hp50=1)
    assert status(res, "full / torch") == ["n/a", "n/a"]
    assert "n/a" in suite.format_table(res)
    f, why = suite._optional("no_such_module", ["x"])
    assert f is None and why.startswith("not available")


class _NumpyTorch:
    """The few torch functions the baseline's loss uses, on numpy arrays: the baseline's
    formula is checked in CI, where torch is not installed (bench runs
    ``torch_baseline.check_gradient`` itself, with autograd, before timing torch)."""

    class linalg:
        @staticmethod
        def vector_norm(x, dim):
            return np.sqrt((x * x).sum(axis=dim))

    atan2, sin, cos = np.arctan2, np.sin, np.cos


def test_torch_baseline_loss_is_vp_loss_without_torch():
    from verified_pgd.bench import torch_baseline as tb
    import verified_pgd as vp
    prob = vp.Problem([0.3, -1.0, 2.0], [1.0, -0.5, 0.25, 2.0])
    g = np.random.default_rng(0)
    w, a = g.standard_normal((16, 3)), g.standard_normal((16, 4))

    def base(problem, w, a):
        return tb._loss(_NumpyTorch, w, a, np.asarray(problem.w_hat_star),
                        np.asarray(problem.a_star), float(problem.s))

    ref = vp.loss(prob, w, a)
    assert np.abs(base(prob, w, a) - ref).max() <= 1e-12 * (1 + np.abs(ref).max())
    # the gradient the baseline's autograd differentiates: central differences of its loss
    h, j = 1e-6, 1
    e = np.zeros(3)
    e[j] = h
    fd = (base(prob, w + e, a) - base(prob, w - e, a)) / (2 * h)
    assert np.abs(fd - vp.grad(prob, w, a)[0][:, j]).max() < 1e-6
    # negative control: a wrong teacher is detected
    wrong = vp.Problem([0.3, -1.0, 2.0], [1.0, -0.5, 0.25, 2.5])
    assert np.abs(base(wrong, w, a) - ref).max() > 1e-3


def test_vpgd_bench_is_a_subcommand():
    from verified_pgd import cli
    assert cli.main(["bench", "--help"]) == 0


def test_checkout_shim_runs_the_packaged_suite():
    """``python -m bench`` from the repository root reaches verified_pgd.bench (no sys.path
    edits); negative control: a module the shim does not forward is an error."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    ok = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=root,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "python -m bench" in ok.stdout, ok.stderr
    bad = subprocess.run([sys.executable, "-m", "bench.no_such_module"], cwd=root,
                         capture_output=True, text=True)
    assert bad.returncode != 0


def test_wheel_installs_only_the_three_packages():
    import tomllib
    from pathlib import Path
    from setuptools import find_packages
    root = Path(__file__).resolve().parent.parent
    cfg = tomllib.loads((root / "pyproject.toml").read_text())
    include = cfg["tool"]["setuptools"]["packages"]["find"]["include"]
    pkgs = find_packages(str(root), include=include)
    tops = {p.split(".")[0] for p in pkgs}
    assert tops == {"symbolic", "verified_pgd", "proofs_check"}, tops
    assert "verified_pgd.bench" in pkgs and "verified_pgd.claims" in pkgs
    # negative control: the pre-fix pattern list would have shipped tests and bench
    old = find_packages(str(root), include=include + ["tests*", "bench*"])
    assert {"tests", "bench"} <= {p.split(".")[0] for p in old}
