"""Single-field mutations of a certificate, for the tamper test (every leaf is changed once).

* decimal strings (parameters, bounds, box edges, versions): x -> x + 1e-6 (|x| + 1);
* expression strings (lhs, rhs): append ``+ 1/1000000``;
* other strings (names, kinds, statements): append ``x``;
* integers (digits, multiplicities): + 1;  booleans: negated.
"""
from __future__ import annotations

import copy
from decimal import Decimal, localcontext
from fractions import Fraction


def _bump_decimal(s: str):
    try:
        q = Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None
    q = q + Fraction(1, 10 ** 6) * (abs(q) + 1)   # never a no-op (x = -1 included)
    with localcontext() as ctx:
        ctx.prec = 500
        return str(Decimal(q.numerator) / Decimal(q.denominator))


def _mutate_leaf(key, value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        if key in ("lhs", "rhs"):
            return value + " + 1/1000000"
        bumped = _bump_decimal(value)
        return bumped if bumped is not None else value + "x"
    raise TypeError(f"unexpected leaf {value!r}")


def leaf_paths(obj, prefix=()):
    """Paths (tuples of keys / indices) of every leaf of a JSON value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaf_paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaf_paths(v, prefix + (i,))
    else:
        yield prefix


def mutations(cert):
    """Yield (path, mutated certificate) for every leaf of ``cert``."""
    for path in leaf_paths(cert):
        new = copy.deepcopy(cert)
        node = new
        for key in path[:-1]:
            node = node[key]
        last_key = next((p for p in reversed(path) if isinstance(p, str)), None)
        node[path[-1]] = _mutate_leaf(last_key, node[path[-1]])
        yield path, new
