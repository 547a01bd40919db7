"""The ``vpgd`` command line.

Each subcommand lives in ``verified_pgd/commands/<name>.py`` and exposes
``HELP`` (one line), ``add_arguments(parser)`` and ``main(args) -> int``.  Heavy
imports belong inside ``main`` so that ``vpgd --help`` stays fast.

User errors (ValueError, TypeError, OSError raised while reading input or writing
output) become one line on stderr and exit code 2; a failed check is exit code 1.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# Order shown in --help.
COMMANDS = ["run", "derive", "verify", "solve", "sweep", "prove", "check", "claims",
            "reference", "bench"]


class UserError(Exception):
    """An error in what the user asked for; printed as one line, exit code 2."""


def _load(name):
    try:
        return importlib.import_module(f"verified_pgd.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"verified_pgd.commands.{name}":
            return None
        raise


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's error contract: a usage error is one line on stderr, exit 2
    (argparse would print the whole usage block first).  Subparsers inherit the class."""

    def error(self, message):
        first = message.splitlines()[0] if message else "invalid arguments"
        self.exit(2, f"{self.prog}: error: {first} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = _Parser(
        prog="vpgd",
        description="Verified perturbed gradient descent: derive, verify, solve, certify and "
                    "report on a two-layer convolutional ReLU network with Gaussian inputs.")
    parser.add_argument("--version", action="version", version=f"vpgd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = _load(name)
        if mod is None:
            continue
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help/--version (code 0) or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    if getattr(args, "_module", None) is None:
        parser.print_help()
        return 2
    try:
        rc = args._module.main(args)
    except BrokenPipeError:
        # `vpgd verify | head`: the reader left; not an error of ours or the user's.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except (UserError, ValueError, TypeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
            msg = f"{exc.filename}: {exc.strerror}"      # not "[Errno 2] ..."
        else:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"vpgd {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vpgd {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
