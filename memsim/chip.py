"""A network laid out on CIM hardware: the chip design (shared by all chip instances) and its instances.

``ChipDesign`` fixes, per layer, the integer layer, its weight encoding and its tile mapping — everything
that does not depend on device variation. ``program_chip`` draws one chip instance from it: every cell's
conductance, reference columns and sense-amplifier offsets, from the run's random generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.card import DeviceCard
from memsim.encoding import EncodedWeights, encode_weights
from memsim.mapping import LayerMapping, map_layer
from memsim.quantize import QuantizedLayer, QuantizedNetwork
from memsim.tile import ProgrammedTile, program_layer


@dataclass(frozen=True)
class LayerDesign:
    qlayer: QuantizedLayer
    encoded: EncodedWeights
    mapping: LayerMapping

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

    @property
    def tiles(self) -> int:
        return sum(len(layer.mapping.tiles) for layer in self.layers)


def design_chip(
    card: DeviceCard,
    qnet: QuantizedNetwork,
    encoding: str,
    rows_per_read: int | None = None,
    weight_slices: int | None = None,
) -> ChipDesign:
    """Encode and map every layer.

    ``rows_per_read`` defaults to the crossbar's rows; ``weight_slices`` (columns per column set) defaults to
    what each layer's weight bits need.
    """
    if card.adc.lsb_levels != int(card.adc.lsb_levels):
        raise ValueError(
            f"adc.lsb_levels = {card.adc.lsb_levels!r} must be a whole number of level steps: shift-and-add "
            "multiplies codes by it exactly"
        )
    xbar = card.crossbar
    c = card.cell.bits_per_cell
    rpr = xbar.rows if rows_per_read is None else rows_per_read
    layers = []
    for ql in qnet.layers:
        encoded = encode_weights(ql.qw, ql.w_format.bits, c, encoding, weight_slices)
        mapping = map_layer(ql.index, ql.rows, ql.outputs, encoded.kinds, xbar.rows, xbar.cols, rpr)
        layers.append(LayerDesign(ql, encoded, mapping))
    return ChipDesign(card, qnet, encoding, tuple(layers))


@dataclass(frozen=True)
class ProgrammedChip:
    """One chip instance: programmed tiles per layer."""

    design: ChipDesign
    tiles: tuple[tuple[ProgrammedTile, ...], ...]


def program_chip(design: ChipDesign, rng: np.random.Generator) -> ProgrammedChip:
    """Draw one chip instance (layers in order; see ``memsim.tile.program_layer`` for the draw order)."""
    return ProgrammedChip(
        design, tuple(program_layer(design.card, layer.mapping, layer.encoded, rng) for layer in design.layers)
    )
