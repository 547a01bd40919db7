"""Per-chain random streams for the solvers.

Design (see docs/solvers.md, "Randomness"):

* Chain ``i`` of a run with ``seed`` owns the generator
  ``numpy.random.Generator(SFC64(SeedSequence(seed).spawn(chains)[i]))``.  The i-th spawned
  child is ``SeedSequence(seed, spawn_key=(i,))`` whatever ``chains`` is, so chain i's
  stream — and therefore its path — is the same with 1 or 4096 chains and in any chunking.
* SFC64 because it is the fastest numpy bit generator on this class of machine
  (measured: SFC64 ~107 M normals/s/core, Philox ~75, PCG64 ~31) and passes
  PractRand/BigCrush; the streams of spawned children are independent by SeedSequence's
  hashing, not by jump-ahead, so no stream ever overlaps another in practice.
* Every random quantity is built from standard normals only: step ``t`` of a chain
  consumes a fixed-length record of normals (``record_length``): ``p + k`` for the noise
  (``+ 2`` with ball noise: the radii use ``U = Phi(z)``), then ``B k p`` for a mini-batch of
  inputs Z.  Steps with sigma = 0 take no noise record.  Because numpy's normal sampler
  keeps no state between calls, drawing a block of many steps at once yields exactly the
  same numbers as drawing step by step: block size is a speed knob, not part of the stream.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["chain_generator", "chain_generators", "record_length", "draw_block", "noise_from_normals",
           "BIT_GENERATOR"]

BIT_GENERATOR = "SFC64"


def chain_generator(seed: int, i: int) -> np.random.Generator:
    """Generator of chain ``i``: identical to ``SeedSequence(seed).spawn(n)[i]`` for any n > i."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(i,))))


def chain_generators(seed: int, start: int, stop: int) -> list:
    return [chain_generator(seed, i) for i in range(start, stop)]


def record_length(p: int, k: int, noisy: bool, ball: bool, batch: int | None) -> int:
    """Normals one step consumes: noise record (if sigma > 0) followed by the mini-batch."""
    n = 0
    if noisy:
        n += p + k + (2 if ball else 0)
    if batch:
        n += batch * k * p
    return n


def draw_block(gens, steps: int, length: int, out=None) -> np.ndarray:
    """Normals for ``steps`` consecutive steps of every chain: shape (chains, steps, length).

    Each chain draws its own (steps, length) block with one call, consuming its stream in
    order.  Step j reads the strided slab ``out[:, j]`` (no transposing copy: it would cost
    a third of the generation time).  ``out`` may be a reusable buffer of at least that size.
    """
    n = len(gens) * steps * length
    if out is None or out.size < n:
        out = np.empty(n)
    block = out[:n].reshape(len(gens), steps, length)
    for i, g in enumerate(gens):
        g.standard_normal(out=block[i])
    return block


def noise_from_normals(z: np.ndarray, p: int, k: int, ball: bool):
    """Split a noise record (..., p + k [+ 2]) into (xi, eps) of shapes (..., p), (..., k).

    Gaussian: xi, eps are the normals themselves.  Ball: uniform in the unit ball of
    R^p (resp. R^k): direction z/|z|, radius U^(1/d) with U = Phi(z') from one extra
    normal each (Phi is strictly increasing, so U is uniform on (0, 1)).
    """
    xi = z[..., :p]
    eps = z[..., p:p + k]
    if not ball:
        return xi, eps
    u_w = ndtr(z[..., p + k]) ** (1.0 / p)
    u_a = ndtr(z[..., p + k + 1]) ** (1.0 / k)
    nw = np.sqrt((xi * xi).sum(axis=-1))
    na = np.sqrt((eps * eps).sum(axis=-1))
    return xi * (u_w / nw)[..., None], eps * (u_a / na)[..., None]
