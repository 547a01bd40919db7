"""Subcommands of ``vpgd``; see :mod:`verified_pgd.cli` for the protocol."""
