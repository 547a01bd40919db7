"""The CLI's error contract (docs/design.md section 8): a user error prints exactly one line on
stderr, no traceback, and exits 2; a failed check exits 1 (tests/test_verification.py)."""
import subprocess
import sys
import types

import pytest

from verified_pgd import cli


def _one_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_subprocess_user_error_is_one_line_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "verified_pgd", "verify", "--inject-fault", "nope"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith("vpgd verify: error: --inject-fault")


@pytest.mark.parametrize("argv, needle", [
    (["no-such-command"], "invalid choice"),
    (["verify", "--no-such-option"], "unrecognized arguments"),
    (["verify", "--inject-fault"], "expected one argument"),
    (["verify", "--inject-fault", "GRAD-SIGN"], "valid names"),
    (["verify", "--solvers", "--inject-fault", "grad-sign"], "--inject-fault"),
])
def test_usage_errors_in_process(capsys, argv, needle):
    assert cli.main(argv) == 2
    assert needle in _one_line(capsys)


@pytest.fixture
def fake_command(monkeypatch):
    """A subcommand whose main raises what it is told to (multi-line message on purpose)."""
    mod = types.ModuleType("verified_pgd.commands.fakecmd")
    mod.HELP = "raise an exception (test only)"
    mod.add_arguments = lambda parser: None
    box = {}

    def main(args):
        raise box["exc"]
    mod.main = main
    monkeypatch.setitem(sys.modules, "verified_pgd.commands.fakecmd", mod)
    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, "fakecmd"])
    return box


@pytest.mark.parametrize("exc", [
    ValueError("eta: must be > 0, got -1\nsecond line that must not be printed"),
    TypeError("dps: expected an integer number of decimal digits, got 1.5"),
    OSError("config: cannot read /nonexistent.toml"),
    cli.UserError("claims: line 3: unknown name 'foo'"),
])
def test_exceptions_from_a_command_become_one_line(capsys, fake_command, exc):
    fake_command["exc"] = exc
    assert cli.main(["fakecmd"]) == 2
    line = _one_line(capsys)
    assert line == f"vpgd fakecmd: error: {str(exc).splitlines()[0]}"


def test_programming_errors_are_not_swallowed(fake_command):
    """Only user errors become exit 2; a bug (e.g. KeyError) still raises."""
    fake_command["exc"] = KeyError("bug")
    with pytest.raises(KeyError):
        cli.main(["fakecmd"])


def test_help_and_version_exit_0(capsys):
    assert cli.main(["--version"]) == 0
    assert cli.main(["verify", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--inject-fault" in out and capsys.readouterr().err == ""
