"""Configuration files: the documented default validates, every bad key/type/range is a
one-line ValueError naming its key path, and nothing in a file is ever evaluated."""
import tomllib

import pytest

from verified_pgd import config as cfg


def write(tmp_path, text, name="c.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_default_and_quick_validate_and_differ():
    full, quick = cfg.load_run(), cfg.load_run(quick=True)
    assert full["run"]["experiments"] == list(cfg.EXPERIMENTS)
    assert set(full["experiments"]) == set(cfg.EXPERIMENTS)
    assert quick["experiments"]["e3"]["chains"] < full["experiments"]["e3"]["chains"]
    # --quick only changes what [quick] lists
    assert quick["experiments"]["e3"]["eta"] == full["experiments"]["e3"]["eta"]


def test_every_default_key_is_documented_in_the_file():
    """Each key of the default appears in default.toml next to a comment block."""
    text = cfg.default_text()
    raw = tomllib.loads(text)

    def keys(d):
        for k, v in d.items():
            yield k
            if isinstance(v, dict):
                yield from keys(v)
    for k in keys(raw):
        assert k in text
    assert text.count("#") > 40


def test_user_file_overrides_only_its_keys(tmp_path):
    p = write(tmp_path, "seed = 7\n[experiments.e3]\nchains = 10\n")
    c = cfg.load_run(p)
    d = cfg.load_run()
    assert c["seed"] == 7 and c["experiments"]["e3"]["chains"] == 10
    assert c["experiments"]["e3"]["methods"] == d["experiments"]["e3"]["methods"]
    assert c["experiments"]["e4"] == d["experiments"]["e4"]


def test_a_table_with_kind_replaces_the_default_one(tmp_path):
    p = write(tmp_path, "[experiments.e3.methods.annealed]\nkind = 'geometric'\nsigma0 = 0.8\n"
                        "factor = 0.5\nn_stages = 4\nsteps = 3000\n")
    m = cfg.load_run(p)["experiments"]["e3"]["methods"]["annealed"]
    assert m["kind"] == "geometric" and "stages" not in m
    # without kind, the keys merge into the default table
    p = write(tmp_path, "[experiments.e3.methods.gd]\nsteps = 10\n")
    assert cfg.load_run(p)["experiments"]["e3"]["methods"]["gd"] == \
        {"kind": "constant", "sigma": 0.0, "steps": 10}


@pytest.mark.parametrize("text, message", [
    ("[experiments.e3]\nchains = 0\n", "config: experiments.e3.chains: must be an integer >= 1"),
    ("[experiments.e3]\nchains = 2.5\n", "config: experiments.e3.chains: must be an integer"),
    ("[experiments.e3]\nchains = true\n", "config: experiments.e3.chains: must be an integer"),
    ("[experiments.e3]\nchainz = 3\n", "config: experiments.e3.chainz: unknown key"),
    ("bogus = 1\n", "config: bogus: unknown key"),
    ("[experiments.e9]\n", "config: experiments.e9: unknown key"),
    ("[run]\nexperiments = ['e1', 'e8']\n", "config: run.experiments[1]: must be one of"),
    ("[experiments.e2]\neta = -0.1\n", "config: experiments.e2.eta: must be a finite number > 0"),
    ("[experiments.e2]\neta = nan\n", "config: experiments.e2.eta: must be a finite number"),
    ("[experiments.e2]\neta = inf\n", "config: experiments.e2.eta"),
    ("[experiments.e3]\neps = 1.5\n", "config: experiments.e3.eps: must be a finite number in"),
    ("[experiments.e2.schedule]\nstages = [[0.1, 10], [0.5, 10]]\n",
     "config: experiments.e2.schedule.stages[1]: sigma must be non-increasing"),
    ("[experiments.e2.schedule]\nstages = [[0.1, 0]]\n",
     "config: experiments.e2.schedule.stages[0][1]: must be an integer >= 1"),
    ("[experiments.e2.schedule]\nkind = 'cosine'\n", "config: experiments.e2.schedule.kind: must be one of"),
    ("[experiments.e2.schedule]\nsigma = 0.1\n",
     "config: experiments.e2.schedule.sigma: is not a key of a 'stages' schedule"),
    ("[experiments.e3.methods.x]\nkind = 'geometric'\nsigma0 = 1.0\nfactor = 1.0\nn_stages = 2\nsteps = 9\n",
     "config: experiments.e3.methods.x.factor: must be a finite number in (0.0, 1.0)"),
    ("[problem]\nw_star = [0.0, 0.0]\na_star = [1.0]\n", "config: problem.w_star: must be non-zero"),
    ("[problem]\nw_star = [1.0, 'x']\na_star = [1.0]\n", "config: problem.w_star[1]: must be a finite number"),
    ("[problem]\nw_star = [1.0]\na_star = [1.0]\nk = 3\n",
     "config: problem.k: cannot be combined with explicit w_star/a_star"),
    ("[experiments.e4]\nsteps = [100]\n", "config: experiments.e4.steps: must be an array with at least 2"),
    ("[experiments.e4.init]\nkind = 'explicit'\nw = [1.0]\n", "config: experiments.e4.init.a: is required"),
    ("[experiments.e5]\nmax_steps = 10\n", "config: experiments.e5.max_steps: must be larger"),
    ("[experiments.e7]\nchains = 1\n", "config: experiments.e7.chains: must be an integer >= 2"),
    ("[experiments.e7]\nps = [1]\n", "config: experiments.e7.ps[0]: must be an integer >= 2"),
    ("[experiments.e7]\netas = [0.0]\n",
     "config: experiments.e7.etas[0]: must be a finite number in (0.0, 2.0]"),
    ("quick = 3\n", "config: quick: must be a table"),
    ("experiments = 3\n", "config: experiments: must be a table"),
])
def test_bad_values_name_the_key(tmp_path, text, message):
    with pytest.raises(ValueError) as info:
        cfg.load_run(write(tmp_path, text))
    msg = str(info.value)
    assert msg.startswith(message), msg
    assert "\n" not in msg


def test_invalid_toml_and_missing_file_are_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"^config: .*invalid TOML"):
        cfg.load_run(write(tmp_path, "seed = = 3\n"))
    with pytest.raises(OSError, match=r"^config: cannot read"):
        cfg.load_run(tmp_path / "missing.toml")


def test_text_is_never_evaluated(tmp_path):
    """Expressions in values are data, not code: rejected by type, never executed."""
    marker = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch() or 1"
    for text in (f'seed = "{payload}"\n', f'[experiments.e2]\neta = "{payload}"\n',
                 f'[problem]\nw_star = ["{payload}"]\na_star = [1.0]\n',
                 f'[experiments.e2.schedule]\nstages = [["{payload}", 5]]\n'):
        with pytest.raises(ValueError, match="^config: "):
            cfg.load_run(write(tmp_path, text))
    sweep = write(tmp_path, "[task.schedule]\nkind='constant'\nsigma=0.0\nsteps=5\n"
                            f"[task.solver]\neta = \"{payload}\"\n", "s.toml")
    with pytest.raises(ValueError, match=r"^config: task.solver.eta"):
        cfg.load_sweep(sweep)
    assert not marker.exists()
    # and the config module does not contain eval/exec at all
    import inspect
    src = inspect.getsource(cfg)
    assert "eval(" not in src and "exec(" not in src


def test_schedule_kinds_expand_to_stages():
    geo = cfg.schedule_spec({"kind": "geometric", "sigma0": 0.8, "factor": 0.5, "n_stages": 3,
                             "steps": 100, "final_fraction": 0.25})
    stages = cfg.schedule_stages(geo)
    assert sum(n for _, n in stages) == 100
    assert [s for s, _ in stages] == [0.8, 0.4, 0.2, 0.0]
    assert stages[-1] == (0.0, 25)
    assert cfg.schedule_stages(cfg.schedule_spec({"kind": "constant", "sigma": 0.0,
                                                  "steps": 7})) == [(0.0, 7)]


def test_problem_family_builds_the_documented_teachers():
    import numpy as np
    p = cfg.build_problem(cfg.problem_spec({"p": 3, "k": 4, "s": 2.0, "a_pattern": "mixed"}))
    assert np.array_equal(p.w_star, [2.0, 0, 0]) and np.array_equal(p.a_star, [1, 1, 1, -1])
    q = cfg.build_problem(cfg.problem_spec({"k": 4, "a_pattern": "alternating", "a_norm": 1.0}))
    assert np.allclose(q.a_star, [0.5, -0.5, 0.5, -0.5])
    import verified_pgd as vp
    assert cfg.build_problem(cfg.load_run()["problem"]) == vp.Problem.default()


def test_sweep_grid_expands_and_names_bad_grid_values(tmp_path):
    base = ("seed = 1\n[sweep]\nreplicates = 2\n[task.problem]\nk = 4\n"
            "[task.schedule]\nkind = 'constant'\nsigma = 0.0\nsteps = 5\n[task.solver]\neta = 0.1\n")
    s = cfg.load_sweep(write(tmp_path, base + "[grid.problem]\nk = [2, 3]\n[grid.solver]\n"
                                              "eta = [0.1, 0.2, 0.3]\n"))
    assert len(s["points"]) == 6 and s["replicates"] == 2
    assert sorted((t["problem"]["k"], t["solver"]["eta"]) for t in s["points"]) == \
        sorted((k, e) for k in (2, 3) for e in (0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match=r"^config: grid.solver.eta\[1\]: must be a finite"):
        cfg.load_sweep(write(tmp_path, base + "[grid.solver]\neta = [0.1, -1.0]\n"))
    with pytest.raises(ValueError, match=r"^config: grid.solver.etaa\[0\]: unknown key"):
        cfg.load_sweep(write(tmp_path, base + "[grid.solver]\netaa = [0.1]\n"))
    with pytest.raises(ValueError, match=r"^config: grid.solver.eta: must be a non-empty array"):
        cfg.load_sweep(write(tmp_path, base + "[grid.solver]\neta = 0.1\n"))


def test_sweep_example_in_docs_is_valid(tmp_path):
    """The sweep file shown in docs/running.md loads (docs cannot drift from the schema)."""
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "running.md").read_text()
    block = text.split("`CONFIG` holds a base task and a grid:")[1].split("Each task")[0]
    toml = "\n".join(line[4:] for line in block.splitlines() if line.startswith("    "))
    s = cfg.load_sweep(write(tmp_path, toml))
    assert len(s["points"]) == 6 and s["replicates"] == 10
