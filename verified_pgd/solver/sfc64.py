"""numpy's per-chain SFC64 streams inside compiled code: seeding, the bit generator and the
standard normal sampler, bit for bit as numpy computes them, with a chain's generator
state in four ``uint64`` locals (registers) instead of behind numpy's ``bitgen_t``.

Why: numba's own port of numpy's sampler calls the bit generator through a C function
pointer per draw (the state in memory, the call opaque to the optimiser), and building
one ``Generator(SFC64(SeedSequence(seed, spawn_key=(i,))))`` per chain in Python costs
≈ 25 µs, which dominated short calls with many chains.  Here

* :func:`seed_states` computes the ``(M, 4)`` SFC64 states of chains ``start..stop-1``
  with numpy's ``SeedSequence`` algorithm (``mix_entropy`` over a pool of 4 words, then
  ``generate_state(3, uint64)``) and ``SFC64``'s seeding (``s = (v0, v1, v2, 1)``, then 12
  discarded outputs), compiled and over all chains at once;
* :func:`normal` is numpy's ziggurat ``random_standard_normal`` (the same tables, the
  same ``log1p``/``exp`` tails as numba's port) on an inlined ``sfc64_next``.

Both are tested against numpy itself (``tests/test_compiled.py``): equal states
(``SFC64.state``) for thousands of chains, small and large seeds and chain indices, and
equal draws.  Chain indices ``>= 2**63`` (which do not fit an int64) are seeded by numpy
in Python instead (:func:`seed_states` does it transparently).
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.np.random._constants import (fe_double, fi_double, ke_double, ki_double,
                                        we_double, wi_double, ziggurat_exp_r,
                                        ziggurat_nor_inv_r, ziggurat_nor_r)

__all__ = ["seed_states", "normal", "chisquare", "next_uint64", "entropy_words",
           "states_of"]

_U = np.uint64
_M32 = _U(0xFFFFFFFF)
_INIT_A, _MULT_A = _U(0x43B0D7E5), _U(0x931E8875)
_INIT_B, _MULT_B = _U(0x8B51F9DD), _U(0x58F38DED)
_MIX_L, _MIX_R = _U(0xCA01F9DD), _U(0x4973F715)
_XSHIFT = _U(16)
_POOL = 4
_ONE = _U(1)
_S11, _S3, _S24, _S40, _S32 = _U(11), _U(3), _U(24), _U(40), _U(32)
_S8, _S1 = _U(8), _U(1)
_FF = _U(0xFF)
_MANT = _U(0x000FFFFFFFFFFFFF)
_TO_DOUBLE = 1.0 / 9007199254740992.0
_WI = np.ascontiguousarray(wi_double, np.float64)
_KI = np.ascontiguousarray(ki_double, np.uint64)
_FI = np.ascontiguousarray(fi_double, np.float64)
_WE = np.ascontiguousarray(we_double, np.float64)
_KE = np.ascontiguousarray(ke_double, np.uint64)
_FE = np.ascontiguousarray(fe_double, np.float64)


def entropy_words(x) -> np.ndarray:
    """numpy's coercion of SeedSequence entropy / spawn-key material to uint32 words: a
    non-negative int as its little-endian 32-bit words (0 as one word), a sequence as the
    concatenation of its elements' words."""
    if isinstance(x, (list, tuple)):
        parts = [entropy_words(v) for v in x]
        return np.concatenate(parts) if parts else np.zeros(0, np.uint32)
    n = int(x)
    if n < 0:
        raise ValueError("entropy: expected non-negative integers")
    words = []
    while True:
        words.append(n & 0xFFFFFFFF)
        n >>= 32
        if n == 0:
            break
    return np.array(words, dtype=np.uint32)


@njit(cache=True)
def _hashmix(value, hc):
    value = (value ^ hc) & _M32
    hc = (hc * _MULT_A) & _M32
    value = (value * hc) & _M32
    value ^= value >> _XSHIFT
    return value, hc


@njit(cache=True)
def _mix(x, y):
    res = ((_MIX_L * x) - (_MIX_R * y)) & _M32
    res ^= res >> _XSHIFT
    return res


@njit(cache=True, inline="always")
def next_uint64(s0, s1, s2, s3):
    """numpy's ``sfc64_next``: ``(output, s0, s1, s2, s3)``."""
    tmp = s0 + s1 + s3
    s3 = s3 + _ONE
    s0 = s1 ^ (s1 >> _S11)
    s1 = s2 + (s2 << _S3)
    s2 = ((s2 << _S24) | (s2 >> _S40)) + tmp
    return tmp, s0, s1, s2, s3


@njit(cache=True)
def _seed_one(entropy, key, out, row):
    """SFC64(SeedSequence(entropy, spawn_key=key)) state into ``out[row]`` (uint64 words of
    the entropy and the spawn key, assembled as SeedSequence.get_assembled_entropy)."""
    n_run = entropy.shape[0]
    if key.shape[0] > 0 and n_run < _POOL:
        n_run = _POOL
    n = n_run + key.shape[0]
    ent = np.zeros(n, np.uint64)
    for q in range(entropy.shape[0]):
        ent[q] = entropy[q]
    for q in range(key.shape[0]):
        ent[n_run + q] = key[q]
    mixer = np.zeros(_POOL, np.uint64)
    hc = _INIT_A
    for q in range(_POOL):
        v = ent[q] if q < n else _U(0)
        mixer[q], hc = _hashmix(v, hc)
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                h, hc = _hashmix(mixer[src], hc)
                mixer[dst] = _mix(mixer[dst], h)
    for src in range(_POOL, n):
        for dst in range(_POOL):
            h, hc = _hashmix(ent[src], hc)
            mixer[dst] = _mix(mixer[dst], h)
    # generate_state(3, uint64): 6 words cycling over the pool, paired little-endian
    hb = _INIT_B
    words = np.zeros(6, np.uint64)
    for q in range(6):
        d = (mixer[q % _POOL] ^ hb) & _M32
        hb = (hb * _MULT_B) & _M32
        d = (d * hb) & _M32
        d ^= d >> _XSHIFT
        words[q] = d
    s0 = words[0] | (words[1] << _S32)
    s1 = words[2] | (words[3] << _S32)
    s2 = words[4] | (words[5] << _S32)
    s3 = _ONE
    for _ in range(12):
        _, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
    out[row, 0], out[row, 1], out[row, 2], out[row, 3] = s0, s1, s2, s3


@njit(cache=True)
def _seed_range(entropy, start, stop, suffix, out):
    key = np.zeros(2 + suffix.shape[0], np.uint64)
    for i in range(start, stop):
        lo = _U(i) & _M32
        hi = _U(i) >> _S32
        key[0] = lo
        nk = 1
        if hi != _U(0):
            key[1] = hi
            nk = 2
        for q in range(suffix.shape[0]):
            key[nk + q] = suffix[q]
        _seed_one(entropy, key[:nk + suffix.shape[0]], out, i - start)


def states_of(gens) -> np.ndarray:
    """The (M, 4) SFC64 states of numpy Generators (a copy; the reference path)."""
    out = np.empty((len(gens), 4), np.uint64)
    for i, g in enumerate(gens):
        out[i] = g.bit_generator.state["state"]["state"]
    return out


def seed_states(entropy, start: int, stop: int, suffix=()) -> np.ndarray:
    """(stop - start, 4) uint64: the state of
    ``SFC64(SeedSequence(entropy, spawn_key=(i,) + suffix))`` for ``start <= i < stop``,
    bitwise numpy's.  ``entropy``: a non-negative int or a list of them (as SeedSequence
    takes it); ``suffix``: non-negative ints appended to each spawn key."""
    start, stop = int(start), int(stop)
    out = np.empty((max(0, stop - start), 4), np.uint64)
    if stop <= start:
        return out
    if stop > 2 ** 63 - 1:        # not an int64: numpy's own SeedSequence, chain by chain
        for i in range(start, stop):
            ss = np.random.SeedSequence(entropy, spawn_key=(i,) + tuple(suffix))
            out[i - start] = np.random.SFC64(ss).state["state"]["state"]
        return out
    suf = entropy_words(list(suffix)).astype(np.uint64)
    _seed_range(entropy_words(entropy).astype(np.uint64), start, stop, suf, out)
    return out


@njit(cache=True, inline="always")
def normal(s0, s1, s2, s3):
    """numpy's ``random_standard_normal`` on SFC64 state (s0..s3): ``(x, s0, s1, s2, s3)``."""
    while True:
        r, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
        idx = r & _FF               # unsigned: no negative-index wraparound test
        r = r >> _S8
        rabs = (r >> _S1) & _MANT
        # rabs < 2**52: the signed conversion is exact and one instruction
        x = np.float64(np.int64(rabs)) * _WI[idx]
        if r & _S1:
            x = -x
        if rabs < _KI[idx]:
            return x, s0, s1, s2, s3
        if idx == _U(0):
            while True:
                b, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
                xx = -ziggurat_nor_inv_r * np.log1p(-(np.float64(b >> _S11) * _TO_DOUBLE))
                b, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
                yy = -np.log1p(-(np.float64(b >> _S11) * _TO_DOUBLE))
                if yy + yy > xx * xx:
                    if (rabs >> _S8) & _S1:
                        return -(ziggurat_nor_r + xx), s0, s1, s2, s3
                    return ziggurat_nor_r + xx, s0, s1, s2, s3
        else:
            b, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
            if ((_FI[idx - _ONE] - _FI[idx]) * (np.float64(b >> _S11) * _TO_DOUBLE)
                    + _FI[idx]) < np.exp(-0.5 * x * x):
                return x, s0, s1, s2, s3


@njit(cache=True, inline="always")
def _next_double(s0, s1, s2, s3):
    b, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
    return np.float64(b >> _S11) * _TO_DOUBLE, s0, s1, s2, s3


@njit(cache=True)
def exponential(s0, s1, s2, s3):
    """numpy's ``random_standard_exponential`` (ziggurat): ``(x, s0, s1, s2, s3)``."""
    while True:
        ri, s0, s1, s2, s3 = next_uint64(s0, s1, s2, s3)
        ri = ri >> _U(3)
        idx = ri & _FF
        ri = ri >> _S8
        x = np.float64(np.int64(ri)) * _WE[idx]       # ri < 2**53: exact
        if ri < _KE[idx]:
            return x, s0, s1, s2, s3
        u, s0, s1, s2, s3 = _next_double(s0, s1, s2, s3)
        if idx == _U(0):
            return ziggurat_exp_r - np.log1p(-u), s0, s1, s2, s3
        if (_FE[idx - _ONE] - _FE[idx]) * u + _FE[idx] < np.exp(-x):
            return x, s0, s1, s2, s3


@njit(cache=True)
def chisquare(df, s0, s1, s2, s3):
    """numpy's ``random_chisquare``: ``2 random_standard_gamma(df / 2)`` (Marsaglia–Tsang
    for shape >= 1, the exponential for shape = 1, Johnk-style rejection below 1)."""
    shape = df / 2.0
    if shape == 1.0:
        x, s0, s1, s2, s3 = exponential(s0, s1, s2, s3)
        return 2.0 * x, s0, s1, s2, s3
    if shape == 0.0:
        return 0.0, s0, s1, s2, s3
    if shape < 1.0:
        while True:
            U, s0, s1, s2, s3 = _next_double(s0, s1, s2, s3)
            V, s0, s1, s2, s3 = exponential(s0, s1, s2, s3)
            if U <= 1.0 - shape:
                X = U ** (1.0 / shape)
                if X <= V:
                    return 2.0 * X, s0, s1, s2, s3
            else:
                Y = -np.log((1 - U) / shape)
                X = (1.0 - shape + shape * Y) ** (1.0 / shape)
                if X <= V + Y:
                    return 2.0 * X, s0, s1, s2, s3
    b = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9 * b)
    while True:
        while True:
            X, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
            V = 1.0 + c * X
            if V > 0.0:
                break
        V = V * V * V
        U, s0, s1, s2, s3 = _next_double(s0, s1, s2, s3)
        if U < 1.0 - 0.0331 * (X * X) * (X * X):
            return 2.0 * (b * V), s0, s1, s2, s3
        if np.log(U) < 0.5 * X * X + b * (1.0 - V + np.log(V)):
            return 2.0 * (b * V), s0, s1, s2, s3
