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

Each encoding is one ``Encoding`` subclass, registered by name in ``ENCODINGS`` (the one table of allowed
names, ``ENCODING_NAMES``, typed as ``EncodingName``); ``encoding_named`` looks a name up, and every caller
(config validation, ``--encoding``, chip design, plan checks) goes through it. A new encoding is a subclass
here, its name in ``EncodingName`` and the registry, and its test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from memsim.devices.validate import check_int


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


class Encoding:
    """A signed-weight encoding: the protocol every encoding shares, and the hooks that are its rule.

    As in SimPy's ``simpy.resources.base.BaseResource``, the base class owns the public methods and their
    checks (``slices_needed``, ``columns_per_weight``, ``encode``, which checks the weight range and the slices
    with one-line errors and builds ``EncodedWeights``); a subclass supplies only its rule:

    - ``name``: its key in ``ENCODINGS``, the ``quantization.encoding`` of a config and ``--encoding``;
    - ``column_sets``: column sets per weight, each of ``S`` columns, so ``K = column_sets·S``; column set
      ``m`` holds slices ``0..S-1`` (LSB first) at column kinds ``m·S .. m·S + S - 1``;
    - ``_slices_needed(weight_bits, cell_bits)``: the columns ``S`` of one column set a weight needs;
    - ``_levels(qw, weight_bits, cell_bits, slices)``: the cell levels ``L``, int64 (rows, K, outputs);
    - ``_significance(weight_bits, cell_bits, slices)``: the column-kind significances ``sig``, int64 (K,);
    - ``_input_coeff(weight_bits)``: the factor of ``Σ_i x_i`` added back digitally (default 0).

    Every subclass makes ``A_j = Σ_k sig[k]·Σ_i x_i·L[i, k, j] + input_coeff·Σ_i x_i = Σ_i x_i·qw[i, j]`` exact
    (module docstring). Validity: ``weight_bits`` 1..62 (int64 levels), ``cell_bits`` 1..8.
    """

    name: ClassVar[str]
    column_sets: ClassVar[int]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def slices_needed(self, weight_bits: int, cell_bits: int) -> int:
        """Columns ``S`` of one column set that a ``weight_bits`` weight needs on ``cell_bits``-bit cells."""
        check_int("quantization.weight_bits", weight_bits, 1, 62)
        check_int("cell.bits_per_cell", cell_bits, 1, 8)
        return self._slices_needed(weight_bits, cell_bits)

    def columns_per_weight(self, slices: int) -> int:
        """Physical columns ``K = column_sets·S`` one weight occupies with ``slices`` (``S``) columns per set."""
        return self.column_sets * slices

    def encode(self, qw: np.ndarray, weight_bits: int, cell_bits: int, slices: int | None = None) -> EncodedWeights:
        """Encode signed ``qw`` (rows × outputs, within ``weight_bits``) onto cells of ``cell_bits`` bits.

        ``slices`` is the hardware's columns per column set (default: as many as the weight needs); extra
        slices hold level 0. Raises ValueError when the weight bits do not fit in the slices or a weight lies
        outside the signed ``weight_bits`` range.
        """
        need = self.slices_needed(weight_bits, cell_bits)
        slices = need if slices is None else slices
        if slices < need:
            raise ValueError(
                f"quantization.weight_bits = {weight_bits} needs {need} slices of {cell_bits}-bit cells with "
                f"{self.name} encoding; mapping.weight_slices = {slices} cannot hold it"
            )
        qw = np.asarray(qw, dtype=np.int64)
        lo, hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
        if qw.size and (qw.min() < lo or qw.max() > hi):
            raise ValueError(f"weights outside the {weight_bits}-bit signed range [{lo}, {hi}]")
        return EncodedWeights(
            self._levels(qw, weight_bits, cell_bits, slices),
            self._significance(weight_bits, cell_bits, slices),
            self._input_coeff(weight_bits),
            np.tile(np.arange(slices, dtype=np.int64), self.column_sets),
        )

    def _slices_needed(self, weight_bits: int, cell_bits: int) -> int:
        """The columns of one column set a weight needs. Implemented by subclasses."""
        raise NotImplementedError(self)

    def _levels(self, qw: np.ndarray, weight_bits: int, cell_bits: int, slices: int) -> np.ndarray:
        """The cell levels (rows, K, outputs) of int64 ``qw``. Implemented by subclasses."""
        raise NotImplementedError(self)

    def _significance(self, weight_bits: int, cell_bits: int, slices: int) -> np.ndarray:
        """The column-kind significances (K,). Implemented by subclasses."""
        raise NotImplementedError(self)

    def _input_coeff(self, weight_bits: int) -> int:
        """The factor of the exact digital input sum ``Σ_i x_i`` added back; 0 unless a subclass needs one."""
        return 0


def slice_significance(slices: int, cell_bits: int) -> np.ndarray:
    """``2**(c·s)`` for ``s = 0..slices-1``, int64: the significance of each slice of one column set."""
    return np.int64(1) << (np.arange(slices, dtype=np.int64) * cell_bits)


class Offset(Encoding):
    """Offset encoding (ISAAC, Shafiee et al., ISCA 2016): one column set holds ``u = qw + 2**(Bw-1)``.

    ``u`` in ``[0, 2**Bw)`` is sliced LSB first, slice ``s`` with significance ``2**(c·s)``, and
    ``input_coeff = -2**(Bw-1)`` removes the offset digitally:
    ``Σ_s 2**(c·s)·Σ_i x_i·L_is − 2**(Bw-1)·Σ_i x_i = Σ_i x_i·(u_i − 2**(Bw-1)) = Σ_i x_i·qw_i``.
    Needs ``S = ceil(Bw/c)`` slices.
    """

    name: ClassVar[str] = "offset"
    column_sets: ClassVar[int] = 1

    def _slices_needed(self, weight_bits: int, cell_bits: int) -> int:
        return n_slices(weight_bits, cell_bits)

    def _levels(self, qw: np.ndarray, weight_bits: int, cell_bits: int, slices: int) -> np.ndarray:
        return slice_levels(qw + (1 << (weight_bits - 1)), slices * cell_bits, cell_bits)

    def _significance(self, weight_bits: int, cell_bits: int, slices: int) -> np.ndarray:
        return slice_significance(slices, cell_bits)

    def _input_coeff(self, weight_bits: int) -> int:
        return -(1 << (weight_bits - 1))


class Differential(Encoding):
    """Differential encoding: ``u+ = max(qw, 0)`` and ``u- = max(-qw, 0)`` on two column sets.

    The positive set's slice ``s`` has significance ``+2**(c·s)``, the negative set's ``-2**(c·s)``, so
    ``A = Σ_i x_i·(u+_i − u-_i) = Σ_i x_i·qw_i`` (the two-array scheme of PRIME, Chi et al., ISCA 2016, on
    column sets of one array). ``u-`` reaches ``2**(Bw-1)``, so each set needs ``S = ceil(Bw/c)`` slices.
    """

    name: ClassVar[str] = "differential"
    column_sets: ClassVar[int] = 2

    def _slices_needed(self, weight_bits: int, cell_bits: int) -> int:
        return n_slices(weight_bits, cell_bits)

    def _levels(self, qw: np.ndarray, weight_bits: int, cell_bits: int, slices: int) -> np.ndarray:
        pos = slice_levels(np.maximum(qw, 0), slices * cell_bits, cell_bits)
        neg = slice_levels(np.maximum(-qw, 0), slices * cell_bits, cell_bits)
        return np.concatenate([pos, neg], axis=1)

    def _significance(self, weight_bits: int, cell_bits: int, slices: int) -> np.ndarray:
        sig = slice_significance(slices, cell_bits)
        return np.concatenate([sig, -sig])


class TwosComplement(Encoding):
    """Two's-complement encoding: the low ``Bw-1`` bits of the pattern, then the sign bit in a column alone.

    With the pattern ``p = qw mod 2**Bw``, ``qw = (p mod 2**(Bw-1)) − 2**(Bw-1)·b`` for the sign bit
    ``b = p >> (Bw-1)``: the low bits are sliced with significance ``2**(c·s)`` on ``ceil((Bw-1)/c)`` slices,
    and the sign column, the top slice, holds level ``b`` (0 or 1) with significance ``-2**(Bw-1)``. Needs
    ``S = ceil((Bw-1)/c) + 1`` slices (1 for ``Bw = 1``: the sign column only).
    """

    name: ClassVar[str] = "twos"
    column_sets: ClassVar[int] = 1

    def _slices_needed(self, weight_bits: int, cell_bits: int) -> int:
        return n_slices(weight_bits - 1, cell_bits) + 1

    def _levels(self, qw: np.ndarray, weight_bits: int, cell_bits: int, slices: int) -> np.ndarray:
        pattern = qw & ((1 << weight_bits) - 1)
        low_bits = weight_bits - 1
        low = slice_levels(pattern & ((1 << low_bits) - 1), (slices - 1) * cell_bits, cell_bits)
        sign = (pattern >> low_bits)[:, None, :]
        return np.concatenate([low, sign], axis=1)

    def _significance(self, weight_bits: int, cell_bits: int, slices: int) -> np.ndarray:
        sign = np.array([-(1 << (weight_bits - 1))], dtype=np.int64)
        return np.concatenate([slice_significance(slices - 1, cell_bits), sign])


# The one registry of encodings, and the names it allows (in this order in messages and CLI choices).
# ``EncodingName`` types the same names for static checkers; the tests hold the two equal.
EncodingName = Literal["offset", "differential", "twos"]
ENCODINGS: dict[str, Encoding] = {e.name: e for e in (Offset(), Differential(), TwosComplement())}
ENCODING_NAMES: tuple[str, ...] = tuple(ENCODINGS)


def encoding_named(name: object) -> Encoding:
    """The registered encoding called ``name``; otherwise one-line ValueError naming the allowed names."""
    if not isinstance(name, str) or name not in ENCODINGS:
        raise ValueError(f"quantization.encoding = {name!r} is unknown; allowed: {', '.join(ENCODING_NAMES)}")
    return ENCODINGS[name]


def slices_needed(encoding: str, weight_bits: int, cell_bits: int) -> int:
    """``Encoding.slices_needed`` of the encoding named ``encoding``."""
    return encoding_named(encoding).slices_needed(weight_bits, cell_bits)


def columns_per_weight(encoding: str, slices: int) -> int:
    """``Encoding.columns_per_weight`` of the encoding named ``encoding``."""
    return encoding_named(encoding).columns_per_weight(slices)


def encode_weights(
    qw: np.ndarray, weight_bits: int, cell_bits: int, encoding: str, slices: int | None = None
) -> EncodedWeights:
    """``Encoding.encode`` of the encoding named ``encoding``."""
    return encoding_named(encoding).encode(qw, weight_bits, cell_bits, slices)


def input_cycles(input_bits: int, bits_per_cycle: int) -> int:
    """``T = ceil(Bx / d)`` bit-serial cycles."""
    return -(-input_bits // bits_per_cycle)


def input_slices(qx: np.ndarray, input_bits: int, bits_per_cycle: int) -> np.ndarray:
    """Drive codes per cycle, shape (T, ...): ``x_t = (qx >> d·t) & (2**d - 1)``, LSB cycle first."""
    t = input_cycles(input_bits, bits_per_cycle)
    shifts = (np.arange(t, dtype=np.int64) * bits_per_cycle).reshape((t,) + (1,) * qx.ndim)
    return (np.asarray(qx, dtype=np.int64)[None, ...] >> shifts) & ((1 << bits_per_cycle) - 1)
