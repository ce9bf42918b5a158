"""Signed-weight encodings and weight slicing onto multi-level cells (docs/datapath.md §Signed-weight encodings).

An encoding turns a signed integer weight matrix ``qw`` (rows × outputs, ``Bw`` bits) into *column kinds*:
each output ``j`` occupies ``K`` physical columns, column kind ``k`` holding an unsigned cell level
``L[i, k, j]`` in ``[0, 2**c)`` and carrying a signed integer significance ``sig[k]``. With the exact column
sums ``P[k, j] = Σ_i x_i · L[i, k, j]`` the accumulator is recovered digitally as

    A_j = Σ_k sig[k] · P[k, j]  +  input_coeff · Σ_i x_i

which is exactly ``Σ_i x_i · qw[i, j]`` (proved per encoding below, and tested).

- ``offset`` (ISAAC, Shafiee et al., ISCA 2016): ``u = qw + 2**(Bw-1)`` in ``[0, 2**Bw)``; slices of ``u``
  with significance ``2**(c·s)``; ``input_coeff = -2**(Bw-1)``.
- ``differential``: ``u+ = max(qw, 0)``, ``u- = max(-qw, 0)`` on two column sets with significances
  ``+2**(c·s)`` and ``-2**(c·s)``. ``u-`` reaches ``2**(Bw-1)``, so each set needs ``Bw`` bits.
- ``twos`` (two's complement): the low ``Bw-1`` bits of the pattern are sliced with significance
  ``2**(c·s)``; the sign bit sits alone in its own column at level 0 or 1 with significance ``-2**(Bw-1)``.

Slicing: ``S = ceil(bits(u) / c)`` slices; slice ``s`` holds ``(u >> c·s) & (2**c - 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def n_slices(value_bits: int, cell_bits: int) -> int:
    """``S = ceil(value_bits / cell_bits)`` (0 for a 0-bit value)."""
    return -(-value_bits // cell_bits)


def slice_levels(u: np.ndarray, value_bits: int, cell_bits: int) -> np.ndarray:
    """Slice unsigned ``u`` (any shape) into levels, slice axis inserted at position 1 (LSB slice first)."""
    s = n_slices(value_bits, cell_bits)
    shifts = (np.arange(s, dtype=np.int64) * cell_bits).reshape((1, s) + (1,) * (u.ndim - 1))
    return (u[:, None, ...] >> shifts) & ((1 << cell_bits) - 1)


@dataclass(frozen=True)
class EncodedWeights:
    """Cell levels and digital recombination of one weight matrix.

    ``levels``: int64 array (rows, K, outputs); ``significance``: int64 (K,); ``input_coeff``: the factor
    of the exact digital input sum ``Σ_i x_i`` added back (offset encoding), else 0; ``slice_index``: int64
    (K,), the weight slice ``s`` each column kind belongs to (both column sets of the differential encoding
    share their slice indices; the two's-complement sign column is the top slice). A partial sum ``(s, t)``
    of the planner is the set of column kinds with ``slice_index == s`` at input cycle ``t``.
    """

    levels: np.ndarray
    significance: np.ndarray
    input_coeff: int
    slice_index: np.ndarray

    @property
    def kinds(self) -> int:
        return int(self.significance.shape[0])

    @property
    def slices(self) -> int:
        return int(self.slice_index.max()) + 1 if self.kinds else 0


def _offset(qw: np.ndarray, weight_bits: int, cell_bits: int, slices: int) -> EncodedWeights:
    half = 1 << (weight_bits - 1)
    u = qw + half
    levels = slice_levels(u, slices * cell_bits, cell_bits)
    sig = np.int64(1) << (np.arange(levels.shape[1], dtype=np.int64) * cell_bits)
    return EncodedWeights(levels, sig, -half, np.arange(slices, dtype=np.int64))


def _differential(qw: np.ndarray, weight_bits: int, cell_bits: int, slices: int) -> EncodedWeights:
    pos = slice_levels(np.maximum(qw, 0), slices * cell_bits, cell_bits)
    neg = slice_levels(np.maximum(-qw, 0), slices * cell_bits, cell_bits)
    sig = np.int64(1) << (np.arange(pos.shape[1], dtype=np.int64) * cell_bits)
    index = np.arange(slices, dtype=np.int64)
    return EncodedWeights(np.concatenate([pos, neg], axis=1), np.concatenate([sig, -sig]), 0, np.tile(index, 2))


def _twos(qw: np.ndarray, weight_bits: int, cell_bits: int, slices: int) -> EncodedWeights:
    pattern = qw & ((1 << weight_bits) - 1)
    low_bits = weight_bits - 1
    low = slice_levels(pattern & ((1 << low_bits) - 1), (slices - 1) * cell_bits, cell_bits)
    sign = (pattern >> low_bits)[:, None, :]
    sig_low = np.int64(1) << (np.arange(low.shape[1], dtype=np.int64) * cell_bits)
    sig = np.concatenate([sig_low, np.array([-(1 << low_bits)], dtype=np.int64)])
    return EncodedWeights(np.concatenate([low, sign], axis=1), sig, 0, np.arange(slices, dtype=np.int64))


ENCODINGS = {"offset": _offset, "differential": _differential, "twos": _twos}


def _check_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"quantization.encoding = {encoding!r} is unknown; allowed: {', '.join(ENCODINGS)}")


def slices_needed(encoding: str, weight_bits: int, cell_bits: int) -> int:
    """Columns of one column set that a ``weight_bits`` weight needs (the sign column included for twos)."""
    _check_encoding(encoding)
    if encoding == "twos":
        return n_slices(weight_bits - 1, cell_bits) + 1
    return n_slices(weight_bits, cell_bits)


def columns_per_weight(encoding: str, slices: int) -> int:
    """Physical columns ``K`` one weight occupies with ``slices`` columns per column set."""
    _check_encoding(encoding)
    return 2 * slices if encoding == "differential" else slices


def encode_weights(
    qw: np.ndarray, weight_bits: int, cell_bits: int, encoding: str, slices: int | None = None
) -> EncodedWeights:
    """Encode signed ``qw`` (rows × outputs, within ``weight_bits``) onto cells of ``cell_bits`` bits.

    ``slices`` is the hardware's columns per column set (default: as many as the weight needs); extra
    slices hold level 0. Raises ValueError when the weight bits do not fit in the slices.
    """
    need = slices_needed(encoding, weight_bits, cell_bits)
    slices = need if slices is None else slices
    if slices < need:
        raise ValueError(
            f"quantization.weight_bits = {weight_bits} needs {need} slices of {cell_bits}-bit cells with {encoding} "
            f"encoding; mapping.weight_slices = {slices} cannot hold it"
        )
    qw = np.asarray(qw, dtype=np.int64)
    lo, hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    if qw.size and (qw.min() < lo or qw.max() > hi):
        raise ValueError(f"weights outside the {weight_bits}-bit signed range [{lo}, {hi}]")
    return ENCODINGS[encoding](qw, weight_bits, cell_bits, slices)


def input_cycles(input_bits: int, bits_per_cycle: int) -> int:
    """``T = ceil(Bx / d)`` bit-serial cycles."""
    return -(-input_bits // bits_per_cycle)


def input_slices(qx: np.ndarray, input_bits: int, bits_per_cycle: int) -> np.ndarray:
    """Drive codes per cycle, shape (T, ...): ``x_t = (qx >> d·t) & (2**d - 1)``, LSB cycle first."""
    t = input_cycles(input_bits, bits_per_cycle)
    shifts = (np.arange(t, dtype=np.int64) * bits_per_cycle).reshape((t,) + (1,) * qx.ndim)
    return (np.asarray(qx, dtype=np.int64)[None, ...] >> shifts) & ((1 << bits_per_cycle) - 1)
