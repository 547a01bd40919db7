"""The claims quantities of the paper's protocol (zhou2019_success, gd_spurious): parsed,
computed, and their verdicts move the right way (a negative control for each)."""
import pytest

from verified_pgd import claims

BASE = """
[[claim]]
name = "{name}"
quantity = "{q}"
relation = "{rel}"
bound = "{bound}"
init = "{init}"
chains = {chains}
confidence = 0.999
horizon = 2000
[claim.problem]
w_star = [1.0, 0.0, 0.0, 0.0]
a_star = [1.0, 1.0, 1.0, -1.0]
[claim.params]
{params}
"""


def _verdicts(**kw):
    (c,) = claims.parse_claims(BASE.format(**kw), "t.toml")
    return [r.verdict for r in claims.check_claim(c)]


def test_gd_from_the_spurious_point_stays_and_from_the_optimum_side_does_not():
    # From the spurious point GD never moves (w-gradient exactly 0): every chain ends at
    # theta > theta_s, so "P >= 0.9" holds; "P <= 0.1" is the control and is violated.
    assert _verdicts(name="gd stays", q="gd_spurious", rel=">=", bound="0.9", init="spurious",
                     chains=100, params="eta = 0.1") == ["holds"]
    assert _verdicts(name="gd leaves", q="gd_spurious", rel="<=", bound="0.1", init="spurious",
                     chains=30, params="eta = 0.1") == ["violated"]


def test_zhou2019_success_is_a_probability_with_clopper_pearson_verdicts():
    ok = _verdicts(name="pgd", q="zhou2019_success", rel=">=", bound="0.5", init="random",
                   chains=30, params="eps = 1e-3")
    bad = _verdicts(name="pgd never", q="zhou2019_success", rel="<=", bound="0.05",
                    init="random", chains=30, params="eps = 1e-3")
    assert ok == ["holds"] and bad == ["violated"]


def test_unknown_init_is_refused():
    with pytest.raises(Exception, match="init"):
        _verdicts(name="x", q="gd_spurious", rel=">=", bound="0.1", init="everywhere",
                  chains=3, params="eta = 0.1")
