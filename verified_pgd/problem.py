"""The teacher problem: filter ``w_star`` (p,) and output weights ``a_star`` (k,)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import as_vector, check_size

# |w*| and |a*| s stay where their squares are normal float64 numbers.
_S_MIN = 1e-150
_S_MAX = 1e150


@dataclass(frozen=True, eq=False)
class Problem:
    """A teacher network ``f(Z; w*, a*) = sum_j a*_j relu(w* . Z_j)``.

    Parameters
    ----------
    w_star : array_like, shape (p,)
        Teacher filter, finite and non-zero. ``s = |w_star|``.
    a_star : array_like, shape (k,)
        Teacher output weights, finite.

    Attributes
    ----------
    p, k : int
        Filter size and number of patches.
    s : float
        ``|w_star|``.
    w_hat_star : ndarray
        ``w_star / s``.
    """

    w_star: np.ndarray
    a_star: np.ndarray
    s: float = field(init=False)
    w_hat_star: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        w = as_vector(self.w_star, "w_star")
        a = as_vector(self.a_star, "a_star")
        check_size(w.size, "w_star", "dimension")
        check_size(a.size, "a_star", "dimension")
        # |w*| from the rescaled vector: exact-ish for any magnitude (no under/overflow of
        # the squares), so w_hat* keeps full precision even for |w*| ~ 1e-160.
        scale = float(np.max(np.abs(w)))
        if scale == 0.0:
            raise ValueError("w_star: must be non-zero (s = |w_star| > 0)")
        # Where the squares are normal numbers the plain |w*| and w*/|w*| are used, so results
        # stay bit for bit what they were; the rescaled form only where they would not be.
        if 1e-140 <= scale <= 1e140:
            s = float(np.sqrt(np.sum(w * w)))
            unit, r = w, s
        else:
            unit = w / scale
            r = float(np.sqrt(np.sum(unit * unit)))
            s = scale * r
        if not (_S_MIN <= s <= _S_MAX):
            raise ValueError(f"w_star: |w_star| = {s:.3g} is outside [{_S_MIN:g}, {_S_MAX:g}]: "
                             "s^2 leaves float64's normal range and the loss loses precision; "
                             "rescale the problem")
        a_norm = float(np.max(np.abs(a)))
        if a_norm == 0.0:
            raise ValueError("a_star: must be non-zero (a* = 0 is the zero teacher: the "
                             "loss does not depend on w* and no angle can be recovered)")
        if a_norm * max(s, 1.0) > _S_MAX:
            raise ValueError(f"a_star: max|a_star| * max(s, 1) = {a_norm * max(s, 1.0):.3g} "
                             f"exceeds {_S_MAX:g}: the loss (|a*|^2 s^2 terms) overflows "
                             "float64; rescale the problem")
        w.setflags(write=False)
        a.setflags(write=False)
        w_hat = unit / r
        w_hat.setflags(write=False)
        object.__setattr__(self, "w_star", w)
        object.__setattr__(self, "a_star", a)
        object.__setattr__(self, "s", s)
        object.__setattr__(self, "w_hat_star", w_hat)

    @property
    def p(self) -> int:
        return int(self.w_star.shape[0])

    @property
    def k(self) -> int:
        return int(self.a_star.shape[0])

    def __eq__(self, other):
        return (isinstance(other, Problem) and np.array_equal(self.w_star, other.w_star)
                and np.array_equal(self.a_star, other.a_star))

    def __hash__(self):
        return hash((self.w_star.tobytes(), self.a_star.tobytes()))

    def to_dict(self) -> dict:
        """JSON-able description; floats are written with repr so they round-trip exactly."""
        return {"w_star": [float(x) for x in self.w_star], "a_star": [float(x) for x in self.a_star]}

    @classmethod
    def from_dict(cls, d: dict) -> "Problem":
        if not isinstance(d, dict) or "w_star" not in d or "a_star" not in d:
            raise ValueError("problem: expected a table with keys 'w_star' and 'a_star'")
        return cls(d["w_star"], d["a_star"])

    @classmethod
    def default(cls) -> "Problem":
        """The documented default problem: p = k = 4, s = 1, a* with a spurious minimum.

        a* = (1, 1, 1, -1) is chosen so that pi (1.a*)^2 < (k + pi - 1)|a*|^2
        (the spurious local minimum exists, docs/design.md section 3).
        """
        return cls(w_star=[1.0, 0.0, 0.0, 0.0], a_star=[1.0, 1.0, 1.0, -1.0])
