"""The prover: writes one JSON certificate per lemma.

Symbolic certificates (problem-independent) come from :mod:`.symbolic_certs` (sympy);
numeric ones, per problem, from :mod:`.ball_certs` (arb).  The checker
(:mod:`.checker`) never imports this module; the prover takes the certificate format
and the statement texts from the checker, so both agree on what each lemma says.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from verified_pgd import theory
from verified_pgd.problem import Problem

from . import ball_certs, symbolic_certs
from .checker import FORMAT, MANIFEST, PROVER, SET_FORMAT, STATEMENTS

DIGITS = 30
NUMERIC_KINDS = list(ball_certs.BUILDERS)
SYMBOLIC_KINDS = list(symbolic_certs.BUILDERS)


def _header(kind, name="symbolic"):
    """Format, prover, kind, statement and the certificate's identity in its set
    (``<problem name>.<kind>``, also its file name)."""
    return {"format": FORMAT, "prover": dict(PROVER), "kind": kind, "statement": STATEMENTS[kind],
            "id": f"{name}.{kind}"}


def symbolic_certificate(kind: str) -> dict:
    return {**_header(kind), "identities": symbolic_certs.BUILDERS[kind]()}


def numeric_certificate(kind: str, problem: Problem, digits: int = DIGITS, name: str = "problem") -> dict:
    return {**_header(kind, name), **ball_certs.build(kind, problem, digits)}


def manifest(named_problems) -> dict:
    """The set's problem entries: name and exact decimal teacher data (what each numeric
    certificate must repeat exactly); the checker derives the required lemmas from them."""
    return {"format": SET_FORMAT, "prover": dict(PROVER),
            "problems": [{"name": name, **ball_certs._problem_dict(prob)} for name, prob in named_problems]}


def write_json(path: Path, obj) -> None:
    """Write atomically (temporary file + rename): never a half-written certificate."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def random_problems(n: int, seed: int = 0) -> list:
    """n random problems (p in 3..5, k in 2..4) that have a spurious minimum; deterministic."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        p, k = int(rng.integers(3, 6)), int(rng.integers(2, 5))
        prob = Problem(rng.normal(size=p), rng.normal(size=k))
        if theory.has_spurious_minimum(prob) and np.min(np.abs(theory.saddle(prob).a)) > 1e-3:
            out.append(prob)
    return out


def prove_problem(problem: Problem, name: str, out_dir, digits: int = DIGITS) -> list:
    # The prover's choice of kinds; the checker decides independently which are required.
    """Write the numeric certificates of one problem; returns the paths written."""
    out_dir = Path(out_dir)
    kinds = NUMERIC_KINDS if theory.has_spurious_minimum(problem) else ["hessian_spectrum", "smoothness", "basin"]
    paths = []
    for kind in kinds:
        path = out_dir / f"{name}.{kind}.json"
        write_json(path, numeric_certificate(kind, problem, digits, name))
        paths.append(path)
    return paths


def prove_symbolic(out_dir) -> list:
    paths = []
    for kind in SYMBOLIC_KINDS:
        path = Path(out_dir) / f"symbolic.{kind}.json"
        write_json(path, symbolic_certificate(kind))
        paths.append(path)
    return paths


def prove_all(out_dir, problem: Problem | None = None, n_random: int = 2, seed: int = 0,
              digits: int = DIGITS, symbolic: bool = True, on_done=None) -> list:
    """Certificates for the default problem (or ``problem``), ``n_random`` random problems
    and (``symbolic``) the problem-independent identities.  ``on_done(name)``, if given,
    is called after each of these ``1 + n_random + symbolic`` parts (progress)."""
    done = on_done or (lambda name: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    named = [("default" if problem is None else "problem", Problem.default() if problem is None else problem)]
    named += [(f"random{i}", prob) for i, prob in enumerate(random_problems(n_random, seed))]
    paths = []
    for name, prob in named:
        paths += prove_problem(prob, name, out_dir, digits)
        done(name)
    if symbolic:
        paths += prove_symbolic(out_dir)
        done("symbolic")
    write_json(out_dir / MANIFEST, manifest(named))   # last: a set without it does not check
    return paths + [out_dir / MANIFEST]
