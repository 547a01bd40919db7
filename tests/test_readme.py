"""The README is executable documentation: its Python example runs, and CI runs exactly
the test command it gives."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _readme():
    return (ROOT / "README.md").read_text()


def test_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", _readme(), re.S)
    assert blocks, "README lost its Python example"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "success: 1.0" in out or "success: 0.9" in out


def test_ci_runs_the_readme_test_command():
    readme = _readme()
    first = [ln.strip() for ln in readme.splitlines() if ln.startswith("    python3 -m venv")]
    assert len(first) >= 2, "README must open with the install+run and install+test commands"
    assert "vpgd run" in first[0]
    test_cmd = first[1].split("&&", 2)[2].strip()      # after creating/activating the venv
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci.splitlines(), (test_cmd, ci)
