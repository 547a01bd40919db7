"""Certificates for the landscape of verified_pgd (docs/proofs.md).

* :mod:`proofs_check.symbolic_certs` -- identities proved with sympy (and their antiderivatives);
* :mod:`proofs_check.ball_certs`     -- rigorous enclosures and branch and bound in arb;
* :mod:`proofs_check.prover`         -- writes one JSON certificate per lemma and the set's
  manifest (``vpgd prove``);
* :mod:`proofs_check.checker`        -- the independent checker (``vpgd check``), with
  :mod:`proofs_check.exact` (exact normal form: the identities are re-proved) and
  :mod:`proofs_check.strictjson` (strict, bounded reading): standard library and
  python-flint only, never the prover or verified_pgd;
* :mod:`proofs_check.mutate`         -- single-field tampering, for the tamper test.
"""
