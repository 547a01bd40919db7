"""User-stated claims (TOML) about quantities the project measures or computes.

A claims file holds one or more ``[[claim]]`` tables (format: docs/claims.md)::

    [[claim]]
    name = "escape is Kramers-fast"
    quantity = "escape_time"             # see QUANTITIES
    relation = "<="                      # quantity <relation> bound
    bound = "C * exp(2 * barrier / (eta * sigma**2)) / (eta * sigma**2)"
    constants = { C = 50.0 }
    confidence = 0.999
    chains = 200
    [claim.problem]
    family = "alternating"               # or w_star = [...], a_star = [...]
    [claim.grid]
    k = [2, 4]
    eta = [0.3]
    sigma = [0.5, 0.7]

For every point of the grid (the cartesian product of the ``grid`` lists) the claim is
*holds*, *violated* or *undecided*, with the confidence that verdict carries, plus the
smallest value of the claim's (first) constant that the data are consistent with.

Bounds are expressions parsed with an AST whitelist (numbers, parameter and constant
names, ``+ - * / **``, unary ``-``/``+``, ``log exp sqrt min max``) and evaluated by a
small interpreter over that tree: text from a claims file never reaches ``eval``,
``exec`` or sympy.  Anything else (attribute access, subscripts, lambdas, comprehensions,
other calls, ``__import__``, strings) is a :class:`ClaimError` naming the claim, raised
while the file is read, before anything is evaluated.

Layout: :mod:`.expression` (the bound language), :mod:`.statistics` (Clopper-Pearson),
:mod:`.spec` (the TOML schema), :mod:`.evaluation` (certified values and samples),
:mod:`.verdicts` (checking a claim), :mod:`.delta_law` and :mod:`.restart_law` (the 1/delta
law's exponent and the restarts' effective number of runs, measured with intervals).
"""
from .evaluation import certified_value
from .expression import ClaimError, Expression, parse_expression
from .spec import (DETERMINISTIC, QUANTITIES, STATISTICAL, Claim, build_problem, load_claims,
                   parse_claims)
from .statistics import SuccessVerdict, clopper_pearson, success_slack, success_verdict
from .verdicts import PointResult, check_claim

__all__ = ["ClaimError", "Expression", "parse_expression", "Claim", "load_claims",
           "parse_claims", "check_claim", "PointResult", "QUANTITIES", "DETERMINISTIC",
           "STATISTICAL", "clopper_pearson", "success_slack", "success_verdict",
           "SuccessVerdict", "certified_value", "build_problem"]
