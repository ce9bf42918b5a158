"""A network laid out on CIM hardware: the chip design (shared by all chip instances) and its instances.

``ChipDesign`` fixes, per layer, the integer layer, its weight encoding, its tile mapping and which partial
sums ``(s, t)`` are converted — everything that does not depend on device variation. A discarded partial
sum (docs/datapath.md §Discarding and compensation) is not converted; its accumulator contribution is replaced by the
layer's ``compensation`` (zero, or a constant calibrated by the planner). ``program_chip`` draws one chip
instance from it: every cell's
conductance, reference columns and sense-amplifier offsets, from the run's random generator.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from memsim.devices.card import DeviceCard
from memsim.encoding import EncodedWeights, encode_weights, input_cycles, input_slices
from memsim.mapping import LayerMapping, TileSpec, map_layer
from memsim.pipeline import LayerTiming, layer_timings
from memsim.planning.plan import Plan
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork
from memsim.tile import LayerReader, ProgrammedTile, program_layer


@dataclass(frozen=True)
class Discard:
    """Which partial sums of one layer are converted, and what replaces the others.

    ``keep``: bool (T, S) over input cycles ``t`` and weight slices ``s``; ``compensation``: int64 (outputs,)
    added to the accumulator in place of the discarded sums.
    """

    keep: np.ndarray
    compensation: np.ndarray


@dataclass(frozen=True)
class LayerDesign:
    """One crossbar layer on the chip: its integer layer, encoding, tiles, discard plan, ``adc_step``, the
    ADC step of its tiles in level steps (``2**e`` times the card's ``adc.lsb_levels``: the range the run
    calibrated for it, ``memsim.simulate.adc_steps``; shift-and-add multiplies codes by it exactly), and
    ``adc_bits``, the resolution its tiles' ADCs convert at (None: the card's ``adc.bits``; a plan may lower
    it per layer, ``memsim.planning.plan``), and ``adc_coarse`` int (T, S) or None: per partial sum ``(s, t)``
    the bits fewer than ``adc_bits`` it is converted with, over the same range (a plan's
    ``adc_bits_by_sum``)."""

    qlayer: QuantizedLayer
    encoded: EncodedWeights
    mapping: LayerMapping
    discard: Discard
    adc_step: int = 1
    adc_bits: int | None = None
    adc_coarse: np.ndarray | None = None

    @property
    def cycles(self) -> int:
        return int(self.discard.keep.shape[0])

    # The layer protocol (``memsim.workload.layer``), as the quantized layer implements it.
    @property
    def vectors_per_inference(self) -> int:
        return self.qlayer.vectors_per_inference

    @property
    def macs_per_inference(self) -> int:
        return self.qlayer.macs_per_inference

    def to_vectors(self, x: np.ndarray) -> np.ndarray:
        return self.qlayer.to_vectors(x)

    def from_vectors(self, y: np.ndarray, inferences: int) -> np.ndarray:
        return self.qlayer.from_vectors(y, inferences)

    def input_sums(self, x: np.ndarray) -> np.ndarray:
        return self.qlayer.input_sums(x)

    @property
    def keep_kinds(self) -> np.ndarray:
        """bool (T, K): column kind ``k`` is converted at cycle ``t``."""
        return self.discard.keep[:, self.encoded.slice_index]

    @property
    def coarse_kinds(self) -> np.ndarray | None:
        """int (T, K): bits fewer than the layer's ADC resolution column kind ``k`` is converted with at cycle
        ``t`` (None: every sum at the layer's resolution)."""
        return None if self.adc_coarse is None else self.adc_coarse[:, self.encoded.slice_index]

    @cached_property
    def row_groups(self) -> tuple[tuple[int, int], ...]:
        """The row groups in layer rows ``(start, stop)`` (the tiles of a row block share them)."""
        groups = {(tile.row_start + r0, tile.row_start + r1)
                  for tile in self.mapping.tiles for r0, r1 in tile.row_groups}
        return tuple(sorted(groups))

    def _adc_inputs(self, vectors: np.ndarray, bits_per_cycle: int, chunk: int, floor_levels: float):
        """The zero-variation ADC inputs (level steps) of this layer's conversions on input ``vectors`` (n, rows),
        ``chunk`` vectors and one row group at a time: arrays (cycles·vectors, kinds·outputs) of
        ``Σ_(i in group) x_t,i · L[i, k, j]`` plus, with the digital reference (``floor_levels`` ``F > 0``,
        ``memsim.tile.floor_levels``), the conversion's ``g_min`` floor ``F · Σ_(i in group) x_t,i``, which the
        ADC converts with it. Exact (float64 products of small integers; ``F`` is on the modelling grid)."""
        levels = self.encoded.levels
        for lo in range(0, len(vectors), chunk):
            drives = input_slices(vectors[lo : lo + chunk], self.qlayer.in_format.bits, bits_per_cycle)
            t, n, _ = drives.shape
            for r0, r1 in self.row_groups:
                x = drives[:, :, r0:r1].reshape(t * n, r1 - r0).astype(np.float64)
                p = x @ levels[r0:r1].reshape(r1 - r0, -1).astype(np.float64)
                if floor_levels:
                    p += floor_levels * x.sum(axis=1, keepdims=True)
                yield p

    def max_partial_sum(self, vectors: np.ndarray, bits_per_cycle: int, chunk: int = 1 << 14,
                        floor_levels: float = 0.0) -> int | float:
        """The largest zero-variation ADC input (level steps) of this layer's conversions on input ``vectors``
        (``_adc_inputs``: per row group, input cycle, column kind and output, with the digital reference's
        floor); an int when ``F = 0``."""
        peak = max((float(p.max()) for p in self._adc_inputs(vectors, bits_per_cycle, chunk, floor_levels)
                    if p.size), default=0.0)
        return peak if floor_levels else int(peak)

    def partial_sum_percentile(self, vectors: np.ndarray, bits_per_cycle: int, percentile: float,
                               chunk: int = 1 << 12, floor_levels: float = 0.0) -> int:
        """The ``percentile`` (0, 100] of this layer's zero-variation ADC inputs (level steps) over every
        conversion of input ``vectors`` (``_adc_inputs``), each rounded up to a whole level step. Counted in a
        histogram of those integers, ``chunk`` vectors at a time, so the memory does not grow with the data;
        the lower value at a tie (``numpy.percentile``'s ``"inverted_cdf"``). 100 gives
        ``ceil(max_partial_sum)``."""
        counts = np.zeros(1, dtype=np.int64)
        for p in self._adc_inputs(vectors, bits_per_cycle, chunk, floor_levels):
            here = np.bincount(np.ceil(p).astype(np.int64).ravel())
            if len(here) > len(counts):
                counts = np.pad(counts, (0, len(here) - len(counts)))
            counts[: len(here)] += here
        total = int(counts.sum())
        if total == 0:
            return 0
        rank = int(np.ceil(percentile / 100.0 * total))  # the smallest value with at least this many at or below
        return int(np.searchsorted(np.cumsum(counts), max(rank, 1)))

    def partial_sums(self, qx: np.ndarray, bits_per_cycle: int) -> np.ndarray:
        """Exact integer partial sums ``P[t, n, k, j] = Σ_i x_t[n, i] · L[i, k, j]`` (all rows at once).

        This is what every ADC code equals with no variation and a covering ADC (summed over row groups).
        """
        drives = input_slices(qx, self.qlayer.in_format.bits, bits_per_cycle)
        t, n, rows = drives.shape
        levels = self.encoded.levels
        if float(drives.max(initial=0)) * float(levels.max(initial=0)) * rows < 2.0**53:
            # float64 products of these integers are exact: use BLAS instead of an integer einsum.
            flat = drives.reshape(t * n, rows).astype(np.float64) @ levels.reshape(rows, -1).astype(np.float64)
            return flat.astype(np.int64).reshape((t, n) + levels.shape[1:])
        return np.einsum("tni,ikj->tnkj", drives, levels)

    @cached_property
    def _kept_weights(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """The kept partial sums as integer weight matrices: per distinct keep pattern ``p`` over the column
        kinds, the cycles ``t`` with ``keep[t] = p`` and ``W_p[i, j] = Σ_k p[k] · sig[k] · L[i, k, j]``."""
        keep = self.keep_kinds
        levels, sig = self.encoded.levels, self.encoded.significance
        out = []
        for pattern in np.unique(keep, axis=0):
            if not pattern.any():
                continue
            cycles = np.flatnonzero((keep == pattern).all(axis=1))
            out.append((cycles, np.einsum("ikj,k->ij", levels, sig * pattern)))
        return tuple(out)

    def ideal_accumulator(self, qx: np.ndarray, bits_per_cycle: int) -> np.ndarray:
        """The accumulator the zero-variation hardware produces under this layer's discard plan.

        ``A = Σ_t Σ_k keep[t, k] · 2**(d·t) · sig[k] · P[t, k] + input_coeff · Σ_i x_i + bias + compensation``,
        exact int64. It is computed without the partial sums: cycles that keep the same column kinds share
        ``W_p = Σ_k kept sig[k]·L[k]``, so ``A = Σ_p (Σ_(t in p) 2**(d·t)·x_t) @ W_p + ...`` (with nothing
        discarded, one product ``qx @ W`` with ``W = qw − input_coeff``: ``qx @ qw + bias``). Products run in
        float64 when every sum is an integer below 2**53 (exact in any order), else in int64.
        """
        qx = np.asarray(qx, dtype=np.int64)
        d = bits_per_cycle
        cycles = self.cycles
        acc = np.zeros((qx.shape[0], self.qlayer.outputs), dtype=np.int64)
        for ts, w in self._kept_weights:
            if len(ts) == cycles:
                x = qx
            else:
                mask = sum(((1 << d) - 1) << (d * int(t)) for t in ts)
                x = qx & mask
            bound = float(np.abs(x).max(initial=0)) * float(np.abs(w).sum(axis=0).max(initial=0))
            if bound < 2.0**53:
                acc += (x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
            else:
                acc += x @ w
        acc += self.encoded.input_coeff * qx.sum(axis=1, keepdims=True)
        return acc + self.qlayer.bias_q + self.discard.compensation

    def digital_stage(self, partials: list[tuple[TileSpec, np.ndarray]], qx: np.ndarray) -> np.ndarray:
        """The layer's accumulator from its tiles' shift-and-added partial sums: add the row blocks of each
        output range, the encoding's exact input-sum correction, the bias and the discard compensation."""
        acc = np.zeros((qx.shape[0], self.qlayer.outputs), dtype=np.int64)
        for spec, partial in partials:
            acc[:, spec.out_start : spec.out_stop] += partial
        if self.encoded.input_coeff:
            acc += self.encoded.input_coeff * qx.sum(axis=1, keepdims=True)
        return acc + self.qlayer.bias_q + self.discard.compensation

    @property
    def acc_bits(self) -> int:
        """Bits of the widest accumulator this layer can produce (for register accounting)."""
        ql = self.qlayer
        worst = ql.rows * ql.in_format.q_max * (1 << (ql.w_format.bits - 1)) + int(np.abs(ql.bias_q).max(initial=0))
        return int(worst).bit_length() + 1

    @property
    def output_bits(self) -> int:
        fmt = self.qlayer.out_format
        return fmt.bits if fmt is not None else self.acc_bits


@dataclass(frozen=True)
class ChipDesign:
    card: DeviceCard
    qnet: QuantizedNetwork
    encoding: str
    layers: tuple[LayerDesign, ...]

    @property
    def input_bits(self) -> int:
        return self.qnet.input_format.bits

    @cached_property
    def layer_cards(self) -> tuple[DeviceCard, ...]:
        """Per crossbar layer, the card its tiles run on: the chip's card with the layer's ADC resolution
        (``DeviceCard.with_adc_bits``), so the conversion's codes, energy and latency follow it."""
        return tuple(self.card if layer.adc_bits is None else self.card.with_adc_bits(layer.adc_bits)
                     for layer in self.layers)

    def _ideal_layer(self, i: int, x: np.ndarray) -> np.ndarray:
        """Crossbar layer ``i`` of the zero-variation hardware on its operand ``x`` (per inference)."""
        layer = self.layers[i]
        acc = layer.ideal_accumulator(layer.to_vectors(x), self.card.dac.bits)
        return layer.from_vectors(layer.qlayer.finish(acc), len(x))

    def reference(self, qx: np.ndarray) -> list[np.ndarray]:
        """Outputs of every crossbar layer of the zero-variation hardware under the design's discard plan, per
        inference (each layer's ``from_vectors`` form), the network's digital nodes computed exactly between
        them (``QuantizedNetwork.evaluate``)."""
        return self.qnet.evaluate(np.asarray(qx, dtype=np.int64), self._ideal_layer)

    def layer_inputs(self, qx: np.ndarray) -> list[np.ndarray]:
        """The operand every crossbar layer receives on the zero-variation hardware, per inference (what the
        network graph hands it: the network's input, another layer's output, or a digital node's result)."""
        operands: list[np.ndarray] = []

        def crossbar(i: int, x: np.ndarray) -> np.ndarray:
            operands.append(x)
            return self._ideal_layer(i, x)

        self.qnet.evaluate(np.asarray(qx, dtype=np.int64), crossbar)
        return operands

    def digital_ops(self) -> list[dict[str, int]]:
        """Per crossbar layer, the digital operations per inference of the network's digital nodes its digital
        stage runs (``QuantizedStep.host``), by the action that prices them: ``reduce`` for element-wise
        additions, ``pool`` for pooling comparisons and additions and stand-alone ReLUs."""
        ops = [{"reduce": 0, "pool": 0} for _ in self.layers]
        for step in self.qnet.steps:
            if step.layer is None:
                ops[step.host]["reduce" if step.node.kind == "add" else "pool"] += step.node.ops_per_inference
        return ops

    @property
    def tiles(self) -> int:
        return sum(len(layer.mapping.tiles) for layer in self.layers)

    @cached_property
    def timing(self) -> tuple[LayerTiming, ...]:
        """The schedule of every layer (``memsim.pipeline.layer_timings``), computed once per design."""
        return layer_timings(self)


def design_chip(
    card: DeviceCard,
    qnet: QuantizedNetwork,
    encoding: str,
    rows_per_read: int | None = None,
    weight_slices: int | None = None,
    discards: tuple[Discard | None, ...] | None = None,
    adc_steps: tuple[int, ...] | None = None,
    adc_bits: tuple[int | None, ...] | None = None,
    adc_coarse: tuple[np.ndarray | None, ...] | None = None,
) -> ChipDesign:
    """Encode and map every layer.

    ``rows_per_read`` defaults to the crossbar's rows; ``weight_slices`` (columns per column set) defaults to
    what each layer's weight bits need; ``discards`` (one entry per layer, None for "convert everything")
    defaults to converting every partial sum; ``adc_steps`` (one per layer) default to the card's
    ``adc.lsb_levels``; ``adc_bits`` (one per layer, None for the card's) to the card's ``adc.bits``;
    ``adc_coarse`` (one (T, S) array or None per layer, ``LayerDesign.adc_coarse``) to none.
    """
    if card.adc.lsb_levels != int(card.adc.lsb_levels):
        raise ValueError(
            f"adc.lsb_levels = {card.adc.lsb_levels!r} must be a whole number of level steps: shift-and-add "
            "multiplies codes by it exactly"
        )
    xbar = card.crossbar
    c = card.cell.bits_per_cell
    rpr = xbar.rows if rows_per_read is None else rows_per_read
    if discards is not None and len(discards) != len(qnet.layers):
        raise ValueError(f"plan has {len(discards)} layer(s) but the network has {len(qnet.layers)} crossbar layer(s)")
    layers = []
    for ql in qnet.layers:
        encoded = encode_weights(ql.qw, ql.w_format.bits, c, encoding, weight_slices)
        mapping = map_layer(ql.index, ql.rows, ql.outputs, encoded.kinds, xbar.rows, xbar.cols, rpr,
                            xbar.reference)
        cycles = input_cycles(ql.in_format.bits, card.dac.bits)
        discard = discards[ql.index] if discards is not None else None
        if discard is None:
            discard = Discard(np.ones((cycles, encoded.slices), dtype=bool), np.zeros(ql.outputs, dtype=np.int64))
        if discard.keep.shape != (cycles, encoded.slices):
            raise ValueError(
                f"layer {ql.index}: the discard grid is {discard.keep.shape[0]}×{discard.keep.shape[1]} (cycles × "
                f"slices) but the layer has {cycles} input cycles and {encoded.slices} weight slices"
            )
        if discard.compensation.shape != (ql.outputs,):
            raise ValueError(f"layer {ql.index}: compensation has shape {discard.compensation.shape}; "
                             f"allowed ({ql.outputs},)")
        step = int(card.adc.lsb_levels) if adc_steps is None else int(adc_steps[ql.index])
        bits = None if adc_bits is None else adc_bits[ql.index]
        coarse = None if adc_coarse is None else adc_coarse[ql.index]
        if coarse is not None:
            coarse = np.asarray(coarse, dtype=np.int64)
            if coarse.shape != (cycles, encoded.slices):
                raise ValueError(f"layer {ql.index}: the ADC resolution grid is {coarse.shape} (cycles × slices); "
                                 f"allowed ({cycles}, {encoded.slices})")
            if not coarse.any():
                coarse = None
        layers.append(LayerDesign(ql, encoded, mapping, discard, step, None if bits == card.adc.bits else bits,
                                  coarse))
    return ChipDesign(card, qnet, encoding, tuple(layers))


@dataclass(frozen=True)
class ProgrammedChip:
    """One chip instance: programmed tiles per layer. ``readers``: the prepared fused read of every layer
    (``memsim.tile.LayerReader``), built once per chip instance."""

    design: ChipDesign
    tiles: tuple[tuple[ProgrammedTile, ...], ...]

    @cached_property
    def readers(self) -> tuple[LayerReader, ...]:
        design = self.design
        return tuple(LayerReader(tiles, card, layer.encoded.significance, layer.keep_kinds, step=layer.adc_step,
                                 coarse_kinds=layer.coarse_kinds)
                     for layer, tiles, card in zip(design.layers, self.tiles, design.layer_cards, strict=True))


def program_chip(design: ChipDesign, rng: np.random.Generator) -> ProgrammedChip:
    """Draw one chip instance (layers in order; see ``memsim.tile.program_layer`` for the draw order)."""
    return ProgrammedChip(
        design, tuple(program_layer(design.card, layer.mapping, layer.encoded, rng) for layer in design.layers)
    )


def plan_discards(
    design: ChipDesign, plan: Plan, calibration_qx: np.ndarray
) -> tuple[Discard, ...]:
    """Keep masks and compensations of ``plan`` on ``design`` (which must convert everything).

    ``"calibrated"`` compensation is the mean over the calibration inputs of the exact contribution of the
    discarded sums, ``round(mean_n Σ_(t,k) discarded 2**(d·t)·sig[k]·P[t, n, k, j])`` per output, computed on
    the inputs each layer receives from the zero-variation hardware under the plan (layer by layer).
    """
    d = design.card.dac.bits
    discards: list[Discard] = []

    def crossbar(i: int, x: np.ndarray) -> np.ndarray:
        layer, lp = design.layers[i], plan.layers[i]
        keep = np.ones_like(layer.discard.keep)
        for s, t in lp.discard:
            keep[t, s] = False
        comp = np.zeros(layer.qlayer.outputs, dtype=np.int64)
        vectors = layer.to_vectors(x)
        if lp.compensation == "calibrated" and lp.discard and len(x):
            p = layer.partial_sums(vectors, d)
            cycle_sig = np.int64(1) << (np.arange(p.shape[0], dtype=np.int64) * d)
            dropped = ~keep[:, layer.encoded.slice_index]
            weights = dropped * cycle_sig[:, None] * layer.encoded.significance[None, :]
            contribution = np.einsum("tnkj,tk->nj", p, weights)
            comp = np.floor(contribution.mean(axis=0) + 0.5).astype(np.int64)
        discard = Discard(keep, comp)
        discards.append(discard)
        acc = replace(layer, discard=discard).ideal_accumulator(vectors, d)
        return layer.from_vectors(layer.qlayer.finish(acc), len(x))

    design.qnet.evaluate(np.asarray(calibration_qx, dtype=np.int64), crossbar)
    return tuple(discards)
