"""Certificates for the landscape of verified_pgd (docs/proofs.md).

* :mod:`proofs_check.symbolic_certs` -- identities proved with sympy;
* :mod:`proofs_check.ball_certs`     -- rigorous enclosures and branch and bound in arb;
* :mod:`proofs_check.prover`         -- writes one JSON certificate per lemma (``vpgd prove``);
* :mod:`proofs_check.checker`        -- the independent checker (``vpgd check``): imports only
  the standard library and python-flint, never the prover or verified_pgd;
* :mod:`proofs_check.mutate`         -- single-field tampering, for the tamper test.
"""
