"""Derivation counters: how many derivations this process ran (cache misses).

A leaf module so that the derivations (:mod:`symbolic.moments`) and the code generator
(:mod:`symbolic.codegen`) can both count without importing each other.
"""
from __future__ import annotations

import collections

_COUNTS: collections.Counter = collections.Counter()


def count_derivation(name: str) -> None:
    _COUNTS[name] += 1


def derivation_counts() -> dict:
    """How many times each derivation ran in this process (cache misses)."""
    return dict(_COUNTS)
