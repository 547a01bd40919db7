"""Source-checkout shim: the benchmark suite lives in :mod:`verified_pgd.bench`.

``python -m bench`` (and ``python -m bench.certify|derive|solvers``) keep working from the
repository root; this directory is not installed (pyproject.toml lists the packages).
"""
