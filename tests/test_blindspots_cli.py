"""CLI flags that no other test exercised: run --print-default-config / --seed /
--experiments, reference --problem / --dps / --riemannian, bench --only / --json.
Each is checked against an independent computation, not against the command's own code."""
import json
import tomllib

import mpmath
import numpy as np
import pytest

import verified_pgd as vp
from verified_pgd.cli import main


def test_print_default_config_is_the_shipped_default(capsys):
    from importlib.resources import files
    assert main(["run", "--print-default-config"]) == 0
    out = capsys.readouterr().out
    shipped = (files("verified_pgd") / "data" / "default.toml").read_text()
    assert tomllib.loads(out) == tomllib.loads(shipped)


def test_run_seed_and_experiments_flags(tmp_path):
    out = tmp_path / "rep"
    assert main(["run", "--quick", "--experiments", "e1", "--seed", "7", "--out", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert [s["id"] for s in doc["experiments"]] == ["e1"]
    assert doc["seed"] == 7 and doc["config"]["seed"] == 7


def test_reference_flags(tmp_path):
    prob_file = tmp_path / "p.toml"
    prob_file.write_text("[problem]\nw_star = [0.0, 2.0, 0.0]\na_star = [1.0, -0.5, 0.25]\n")
    out = tmp_path / "ref.json"
    w, a = ["0.3", "-1", "0.5"], ["0.2", "-0.1", "0.4"]
    assert main(["reference", "--w=" + ",".join(w), "--a", ",".join(a), "--problem", str(prob_file),
                 "--dps", "30", "--riemannian", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    prob = vp.Problem([0.0, 2.0, 0.0], [1.0, -0.5, 0.25])
    assert doc["dps"] == 30 and doc["problem"] == prob.to_dict()
    with mpmath.workdps(60):
        # the loss at twice the digits: the 30-digit text agrees to ~29 digits
        ref = vp.loss_mp(prob, w, a, dps=60)
        assert abs(mpmath.mpf(doc["loss"]) - ref) <= mpmath.mpf(10) ** -28 * abs(ref)
        assert len(doc["loss"].lstrip("-").replace(".", "").lstrip("0")) <= 31
        # another teacher gives another loss: the file's problem is the one used
        assert abs(vp.loss_mp(vp.Problem([1.0, 0.0, 0.0], [1.0, -0.5, 0.25]), w, a, dps=60) - ref) > 1e-3
        # Riemannian gradient = the Euclidean one projected on the tangent space at w_hat
        gw = [mpmath.mpf(x) for x in doc["gradient"]["w"]]
        wv = [mpmath.mpf(x) for x in w]
        u = mpmath.sqrt(mpmath.fsum(x * x for x in wv))
        wh = [x / u for x in wv]
        c = mpmath.fsum(x * y for x, y in zip(gw, wh))
        rg = [mpmath.mpf(x) for x in doc["riemannian"]["gradient"]["w"]]
        assert max(abs(r - (g - c * h)) for r, g, h in zip(rg, gw, wh)) < mpmath.mpf(10) ** -27
        assert doc["riemannian"]["gradient"]["a"] == doc["gradient"]["a"]
        # (w_hat, 0) is in the kernel of the Riemannian Hessian
        rH = [[mpmath.mpf(x) for x in row] for row in doc["riemannian"]["hessian"]]
        v = wh + [0] * 3
        assert max(abs(mpmath.fsum(r * x for r, x in zip(row, v))) for row in rH) < mpmath.mpf(10) ** -27


def test_bench_only_and_json(tmp_path):
    out = tmp_path / "b.json"
    assert main(["bench", "--quick", "--only", "rng", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert "rng" in doc and "throughput" not in doc and "hp" not in doc
    assert doc["rng"]["one_core"] > 0 and doc["rng"]["cores"] >= 1
