"""Fixed-point formats and the integer arithmetic the CIM datapath implements (docs/datapath.md §Formats).

Activations are unsigned integers ``qx`` in ``[0, 2**bits)`` with value ``qx * 2**-frac_bits``; weights are
signed two's-complement integers ``qw`` in ``[-2**(bits-1), 2**(bits-1))``. Scales are powers of two so the
hardware only shifts. All integer results here are exact (int64); nothing is rounded twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memsim.devices.validate import check_int


@dataclass(frozen=True)
class FixedFormat:
    """A power-of-two fixed-point format: integer ``q`` stands for ``q * 2**-frac_bits``.

    ``signed`` formats hold ``[-2**(bits-1), 2**(bits-1))``; unsigned ones ``[0, 2**bits)``.
    ``frac_bits`` may be negative (the integer's LSB weighs more than 1). Valid for 1..31 bits.
    """

    bits: int
    frac_bits: int
    signed: bool

    def __post_init__(self) -> None:
        check_int("format.bits", self.bits, 1, 31)

    @property
    def q_min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def q_max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def lsb(self) -> float:
        """Value of one integer step, ``2**-frac_bits``."""
        return float(2.0 ** -self.frac_bits)

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Round to nearest (half away from zero is not needed: ``floor(x*2**f + 0.5)``) and saturate.

        ``q = clamp(floor(x * 2**frac_bits + 0.5), q_min, q_max)`` as int64.
        """
        scaled = np.floor(np.asarray(x, dtype=np.float64) * 2.0 ** self.frac_bits + 0.5)
        return np.clip(scaled, self.q_min, self.q_max).astype(np.int64)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return np.asarray(q, dtype=np.float64) * self.lsb


def frac_bits_for(max_abs: float, bits: int, signed: bool) -> int:
    """Largest power-of-two scale such that ``max_abs`` is representable without saturation.

    Returns the greatest ``f`` with ``max_abs * 2**f <= q_max``; for ``max_abs == 0`` returns ``bits`` (any
    scale is exact for an all-zero tensor; this keeps values in a small, sensible range).
    """
    q_max = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    if not np.isfinite(max_abs) or max_abs < 0:
        raise ValueError(f"max_abs = {max_abs!r} is not a finite non-negative number")
    if max_abs == 0:
        return bits
    f = int(np.floor(np.log2(q_max / max_abs)))
    # log2 rounding can be off by one at exact powers of two: settle it with exact comparisons.
    while max_abs * 2.0 ** (f + 1) <= q_max:
        f += 1
    while max_abs * 2.0 ** f > q_max:
        f -= 1
    return f


def shift_right_floor(a: np.ndarray, k: int) -> np.ndarray:
    """``floor(a / 2**k)`` in exact integer arithmetic; a negative ``k`` shifts left."""
    a = np.asarray(a, dtype=np.int64)
    return a >> k if k >= 0 else a << (-k)


def truncate_output(acc: np.ndarray, k: int, out_bits: int) -> np.ndarray:
    """Layer output after ReLU and truncation: ``qy = clamp(floor(A / 2**k), 0, 2**out_bits - 1)``.

    docs/datapath.md §Truncation: the ``k = fx + fw - fy`` low-order accumulator bits are discarded here.
    """
    return np.clip(shift_right_floor(acc, k), 0, (1 << out_bits) - 1)


def bit_length(a: np.ndarray) -> np.ndarray:
    """``int.bit_length`` elementwise for non-negative int64 (0 for 0): exact, no float log2."""
    rest = np.asarray(a, dtype=np.int64).copy()
    length = np.zeros(rest.shape, dtype=np.int64)
    while np.any(rest):
        length += rest > 0
        rest >>= 1
    return length


def drive_codes(qx: np.ndarray, input_bits: int, bits_per_cycle: int) -> np.ndarray:
    """Drive codes in the layout a read takes, (N, T, rows) uint8: ``x_t = (qx >> d·t) & (2**d − 1)``, LSB
    cycle first (``memsim.encoding.input_slices`` with the vector axis first; DACs have at most 8 bits)."""
    qx = np.asarray(qx)
    n, rows = qx.shape
    cycles = -(-input_bits // bits_per_cycle)
    mask = (1 << bits_per_cycle) - 1
    work = qx.astype(unsigned_dtype(input_bits), copy=False)
    out = np.empty((n, cycles, rows), dtype=np.uint8)
    for t in range(cycles):
        np.bitwise_and(work >> (bits_per_cycle * t), mask, out=out[:, t], casting="unsafe")
    return out


def unsigned_dtype(bits: int) -> np.dtype:
    """The narrowest unsigned integer type that holds ``bits``-bit codes."""
    return np.dtype(np.uint8 if bits <= 8 else np.uint16 if bits <= 16 else np.uint32)
