"""The SimPy engine: times the tile actions of one chip instance and posts their costs to the ledger.

Events carry arrays (DESIGN "Events carry arrays"): one event is one hardware action of one tile for one
chunk of ``N`` input vectors, with the numbers computed over the whole chunk by the pure datapath
(``memsim.tile.read_tile``). The hardware handles vectors one after another, so an action that takes ``τ``
per vector takes ``N·τ`` for the chunk; the clock is integer femtoseconds and energies are integer
zeptojoules, so a chunked run and a one-vector-at-a-time run agree exactly on time and energy.

Timing model (this engine's scope): the tiles of a layer run in parallel; layers run one after another; one
input cycle of one row group on a tile is DAC drive → crossbar read → sample-and-hold → ADC conversions →
shift-and-add, in sequence. The tile's ADCs each serve ``columns_per_adc`` adjacent columns and convert
their used columns one after another. After the tiles, the layer's digital stage adds row-block partial
sums, applies the encoding correction and the bias, truncates and writes the output register.

Per-action costs come from the card (``Cost`` of one action × count); the crossbar's cell energy
(``read_energy_model = "cell"``) is the data-dependent ``V²·G·t`` from ``memsim.tile``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from memsim.chip import LayerDesign, ProgrammedChip
from memsim.encoding import input_slices
from memsim.ledger import Ledger, energy_zj, time_fs
from memsim.tile import ProgrammedTile, read_tile


@dataclass(frozen=True)
class EngineResult:
    """Outputs of every layer (int64, (N, outputs)), the simulated time, the number of SimPy events."""

    layer_outputs: tuple[np.ndarray, ...]
    makespan_fs: int
    events: int
    clipped: tuple[int, ...]


def adc_load(keep_kinds: np.ndarray, outputs: int, columns_per_adc: int) -> np.ndarray:
    """Conversions per cycle on the busiest ADC of a tile, shape (T,).

    Columns are laid out output-major (the K kinds of one output adjacent); ADC ``a`` serves columns
    ``[a·columns_per_adc, (a+1)·columns_per_adc)`` and converts its kept columns one after another.
    """
    t_cycles, kinds = keep_kinds.shape
    kept = np.tile(keep_kinds, (1, outputs))
    pad = -kept.shape[1] % columns_per_adc
    kept = np.pad(kept, ((0, 0), (0, pad)))
    return kept.reshape(t_cycles, -1, columns_per_adc).sum(axis=2).max(axis=1, initial=0)


class _ActionCosts:
    """Per-action energy (zJ) and per-vector latency (fs) of every component, converted once."""

    def __init__(self, card) -> None:
        self.dac_e = energy_zj(card.dac.drive_cost().energy_j)
        self.dac_t = time_fs(card.dac.drive_cost().latency_s)
        self.read_e = energy_zj(card.crossbar.e_array_read_j)
        self.read_t = time_fs(card.crossbar.t_read_s)
        self.sh_e = energy_zj(card.sample_hold.sample_cost().energy_j)
        self.sh_t = time_fs(card.sample_hold.sample_cost().latency_s)
        self.conv_e = energy_zj(card.adc.conversion_cost().energy_j)
        self.conv_t = time_fs(card.adc.conversion_cost().latency_s)
        self.sa_e = energy_zj(card.shift_add.op_cost().energy_j)
        self.sa_t = time_fs(card.shift_add.op_cost().latency_s)
        self.reg_bit_e = energy_zj(card.register.access_cost(1).energy_j)
        self.reg_t = time_fs(card.register.access_cost(1).latency_s)
        self.columns_per_adc = card.crossbar.columns_per_adc


class Engine:
    """Runs batches through one programmed chip, posting every action to ``ledger`` under ``chip``."""

    def __init__(
        self,
        chip: ProgrammedChip,
        ledger: Ledger,
        chip_index: int,
        rng: np.random.Generator,
        on_chunk: Callable[[int], None] | None = None,
    ) -> None:
        self.chip = chip
        self.design = chip.design
        self.card = chip.design.card
        self.ledger = ledger
        self.chip_index = chip_index
        self.rng = rng
        self.on_chunk = on_chunk
        self.costs = _ActionCosts(self.card)
        self.env = simpy.Environment()
        self._events = 0

    def _post(self, layer: int, tile: int, component: str, action: str, count: int, e_zj: int) -> None:
        self.ledger.post(self.env.now, self.chip_index, layer, tile, component, action, count, e_zj)

    def _wait(self, duration_fs: int):
        self._events += 1
        return self.env.timeout(duration_fs)

    def _tile(self, layer: LayerDesign, tile: ProgrammedTile, drives: np.ndarray, out: list):
        """SimPy process of one tile over one chunk: the pure read, then one event per action per cycle.

        A cycle with no partial sum kept is skipped entirely (no drive, read or conversion, no time).
        """
        c = self.costs
        n = drives.shape[1]
        li, ti = layer.qlayer.index, tile.spec.index
        keep_kinds = layer.keep_kinds
        read = read_tile(tile, drives, self.card, layer.encoded.significance, keep_kinds, self.rng)
        conv_per_adc = adc_load(keep_kinds, tile.spec.outputs, c.columns_per_adc)
        for g in range(read.conversions.shape[0]):
            for t in range(read.conversions.shape[1]):
                conversions = int(read.conversions[g, t])
                if conversions == 0:
                    continue
                driven = int(read.driven_rows[g, t])
                self._post(li, ti, "dac", "drive", driven, driven * c.dac_e)
                yield self._wait(n * c.dac_t)
                self._post(li, ti, "crossbar", "read", n, n * c.read_e + int(read.cell_energy_zj[g, t]))
                yield self._wait(n * c.read_t)
                self._post(li, ti, "sample_hold", "sample", conversions, conversions * c.sh_e)
                yield self._wait(n * c.sh_t)
                self._post(li, ti, "adc", "convert", conversions, conversions * c.conv_e)
                if read.clipped[g, t]:
                    self._post(li, ti, "adc", "clip", int(read.clipped[g, t]), 0)
                yield self._wait(n * int(conv_per_adc[t]) * c.conv_t)
                self._post(li, ti, "shift_add", "shift_add", conversions, conversions * c.sa_e)
                yield self._wait(n * c.sa_t)
        out.append((tile, read))

    def _layer(self, layer: LayerDesign, tiles: tuple[ProgrammedTile, ...], qx: np.ndarray, result: list):
        """SimPy process of one layer over one chunk: tiles in parallel, then the digital stage."""
        ql = layer.qlayer
        c = self.costs
        n = qx.shape[0]
        drives = input_slices(qx, ql.in_format.bits, self.card.dac.bits)
        done: list = []
        procs = [
            self.env.process(self._tile(layer, tile, drives[:, :, tile.spec.row_start : tile.spec.row_stop], done))
            for tile in tiles
        ]
        yield simpy.AllOf(self.env, procs)
        acc = np.zeros((n, ql.outputs), dtype=np.int64)
        clipped = 0
        for tile, read in done:
            acc[:, tile.spec.out_start : tile.spec.out_stop] += read.partial
            clipped += int(read.clipped.sum())
        digital_ops = n * ql.outputs * (layer.mapping.row_blocks - 1 + 1)
        if layer.encoded.input_coeff:
            acc += layer.encoded.input_coeff * qx.sum(axis=1, keepdims=True)
            digital_ops += n * (ql.rows + ql.outputs)
        acc += ql.bias_q + layer.discard.compensation
        y = ql.finish(acc)
        self._post(ql.index, -1, "shift_add", "reduce", digital_ops, digital_ops * c.sa_e)
        in_bits = n * ql.rows * ql.in_format.bits
        out_bits = n * ql.outputs * layer.output_bits
        self._post(ql.index, -1, "register", "read", in_bits, in_bits * c.reg_bit_e)
        self._post(ql.index, -1, "register", "write", out_bits, out_bits * c.reg_bit_e)
        stages = layer.mapping.row_blocks + (1 if layer.encoded.input_coeff else 0)
        yield self._wait(n * (stages * c.sa_t + 2 * c.reg_t))
        result.append((y, clipped))

    def _run(self, qx: np.ndarray, chunk: int, outputs: list[list[np.ndarray]], clipped: list[int]):
        for start in range(0, qx.shape[0], chunk):
            x = qx[start : start + chunk]
            for li, (layer, tiles) in enumerate(zip(self.design.layers, self.chip.tiles)):
                result: list = []
                yield self.env.process(self._layer(layer, tiles, x, result))
                x, n_clip = result[0]
                outputs[li].append(x)
                clipped[li] += n_clip
            if self.on_chunk is not None:
                self.on_chunk(min(chunk, qx.shape[0] - start))

    def run(self, qx: np.ndarray, chunk: int) -> EngineResult:
        """Simulate ``qx`` (N × inputs, unsigned integers in the input format) in chunks of ``chunk`` vectors."""
        if chunk < 1:
            raise ValueError(f"batch = {chunk} is out of range; allowed >= 1")
        n_layers = len(self.design.layers)
        outputs: list[list[np.ndarray]] = [[] for _ in range(n_layers)]
        clipped = [0] * n_layers
        self.env.process(self._run(np.asarray(qx, dtype=np.int64), chunk, outputs, clipped))
        self.env.run()
        return EngineResult(
            tuple(np.concatenate(o) if o else np.zeros((0, l.qlayer.outputs), np.int64)
                  for o, l in zip(outputs, self.design.layers)),
            int(self.env.now),
            self._events,
            tuple(clipped),
        )
