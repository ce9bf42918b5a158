"""One crossbar tile: programming its cells and the bit-true read of a batch of inputs (REFERENCE §1, §2).

A tile holds a block of one layer's encoded weights (see ``memsim.mapping``) plus a reference column at
level 0. Reading one row group at input cycle ``t`` for a batch gives, per data column ``j``,

    s_j = Σ_i x_t,i · (G_ij − g_min)/Δg  −  Σ_i x_t,i · (G_ref,i − g_min)/Δg  +  offset_j/I_unit  +  noise_j

which is ``(I_j − I_ref)/I_unit`` with ``I = v_unit · Σ_i x_i G_i``, ``v_unit = v_read/(2**d − 1)`` and
``I_unit = v_unit · Δg`` (the same expression divided through by ``I_unit``; working in level units keeps
the zero-variation signal an exact integer up to float rounding far below half an ADC step). The ADC turns
``s_j`` into a code; shift-and-add recombines codes over cycles and column kinds with their significances.

Read noise (cycle-to-cycle) is sampled per column, not per cell: a column sums independent Gaussians, so
its noise is ``N(0, Σ_i (x_i σ_read/Δg)²)`` in level units — exact in distribution (REFERENCE §2). The
reference column's noise is drawn once per read and shared by every column of that read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from devices.card import DeviceCard
from memsim.encoding import EncodedWeights
from memsim.ledger import energy_zj
from memsim.mapping import LayerMapping, TileSpec


@dataclass(frozen=True)
class ProgrammedTile:
    """A tile's cells on one chip instance, in level units (see module docstring).

    ``g_norm``: (rows, used_columns), columns ordered output-major (the K column kinds of one output are
    adjacent); ``ref_norm``: (rows,); ``offset_lsb``: (used_columns,) sense-amplifier offsets;
    ``row_energy_zj``: (rows,) cell read energy of one unit drive on each row, ``v_unit² · t_read ·
    (Σ_j G_ij + G_ref,i)``, or None when the card uses a lumped array-read energy.
    """

    spec: TileSpec
    g_norm: np.ndarray
    ref_norm: np.ndarray
    offset_lsb: np.ndarray
    row_energy_zj: np.ndarray | None


@dataclass(frozen=True)
class TileRead:
    """What one tile computed for a batch, and the activity the engine turns into events.

    ``partial``: (N, outputs) int64 shift-and-added sums (without encoding correction, compensation or
    bias); per ``(row group, cycle)`` arrays of shape (G, T): ``driven_rows`` (rows with a non-zero drive,
    summed over the batch), ``cell_energy_zj`` (data-dependent V²·G·t energy; zeros for a lumped card),
    ``conversions`` (columns converted, summed over the batch; 0 for a cycle whose partial sums are all
    discarded, which is then not read at all), ``clipped`` (conversions that saturated).
    """

    partial: np.ndarray
    driven_rows: np.ndarray
    cell_energy_zj: np.ndarray
    conversions: np.ndarray
    clipped: np.ndarray


def program_layer(
    card: DeviceCard, mapping: LayerMapping, encoded: EncodedWeights, rng: np.random.Generator
) -> tuple[ProgrammedTile, ...]:
    """Program one layer's tiles on one chip instance.

    Random draws, in this order: the whole layer's cells (``cell.program``), then per tile its reference
    column and its sense-amplifier offsets. The order is fixed so a seed names one chip.
    """
    cell = card.cell
    g_all = cell.program(encoded.levels, rng)
    dg = cell.delta_g_s
    v_unit = cell.v_read_v / card.dac.max_code
    i_unit = v_unit * dg
    tiles = []
    for spec in mapping.tiles:
        block = g_all[spec.row_start : spec.row_stop, :, spec.out_start : spec.out_stop]
        g = np.ascontiguousarray(block.transpose(0, 2, 1).reshape(spec.rows, spec.used_columns))
        g_ref = cell.program(np.zeros(spec.rows, dtype=np.int64), rng)
        offsets = card.sample_hold.sample_offsets_a(spec.used_columns, rng) / i_unit
        row_energy = None
        if card.crossbar.read_energy_model == "cell":
            per_row_j = v_unit**2 * card.crossbar.t_read_s * (g.sum(axis=1) + g_ref)
            row_energy = np.array([energy_zj(e) for e in per_row_j], dtype=object)
        tiles.append(ProgrammedTile(spec, (g - cell.g_min_s) / dg, (g_ref - cell.g_min_s) / dg, offsets, row_energy))
    return tuple(tiles)


def column_signal(
    tile: ProgrammedTile, x: np.ndarray, r0: int, r1: int, noise_lsb: float, rng: np.random.Generator
) -> np.ndarray:
    """ADC input of every used column, in level units, for drives ``x`` (vectors × rows ``r0:r1``).

    ``s_j = Σ_i x_i·g_norm[i, j] − Σ_i x_i·ref_norm[i] + offset_j + noise_j`` (module docstring). Read noise,
    when ``noise_lsb > 0``: per column ``sqrt(Σ_i x_i²)·noise_lsb·(ε_j − ε_ref)`` with one ``ε_ref`` per read.
    """
    x = np.asarray(x, dtype=np.float64)
    signal = x @ tile.g_norm[r0:r1] - (x @ tile.ref_norm[r0:r1])[:, None] + tile.offset_lsb
    if noise_lsb > 0:
        rms = np.sqrt(np.einsum("ij,ij->i", x, x))[:, None] * noise_lsb
        signal += rms * (rng.standard_normal(signal.shape) - rng.standard_normal((signal.shape[0], 1)))
    return signal


def read_tile(
    tile: ProgrammedTile,
    drives: np.ndarray,
    card: DeviceCard,
    significance: np.ndarray,
    keep_kinds: np.ndarray,
    rng: np.random.Generator,
) -> TileRead:
    """Bit-true read of one tile for a batch.

    ``drives``: (T, N, tile rows) int64 drive codes per input cycle (LSB cycle first). ``significance``:
    (K,) int64 column-kind significances of the encoding; ``keep_kinds``: bool (T, K), the column kinds
    converted at each cycle (discarded ones are neither converted nor added). Returns the shift-and-added
    partial sums ``Σ_g Σ_t Σ_k kept · 2**(d·t) · sig[k] · lsb_levels · code`` and the activity per
    (row group, cycle). Cycles with nothing kept are skipped: no drive, no read, no random draws.
    """
    spec = tile.spec
    adc = card.adc
    step = int(adc.lsb_levels)
    d = card.dac.bits
    t_cycles, n = drives.shape[0], drives.shape[1]
    noise_lsb = card.cell.read_noise_sigma_s / card.cell.delta_g_s
    groups = spec.row_groups
    shape = (len(groups), t_cycles)
    driven = np.zeros(shape, dtype=np.int64)
    clipped = np.zeros(shape, dtype=np.int64)
    conversions = np.zeros(shape, dtype=np.int64)
    cell_e = np.zeros(shape, dtype=object)
    col_sig = significance * step
    cycle_sig = np.int64(1) << (np.arange(t_cycles, dtype=np.int64) * d)
    active = np.flatnonzero(keep_kinds.any(axis=1))
    partial = np.zeros((n, spec.outputs), dtype=np.int64)
    for g, (r0, r1) in enumerate(groups):
        x_int = drives[active, :, r0:r1]
        x = x_int.reshape(len(active) * n, r1 - r0)
        signal = column_signal(tile, x, r0, r1, noise_lsb, rng).reshape(len(active), n, spec.outputs, spec.kinds)
        for i, t in enumerate(active):
            kinds = np.flatnonzero(keep_kinds[t])
            codes, clipped[g, t] = adc.quantize(signal[i][:, :, kinds])
            partial += cycle_sig[t] * (codes @ col_sig[kinds])
            conversions[g, t] = codes.size
        driven[g, active] = np.count_nonzero(x_int, axis=(1, 2))
        if tile.row_energy_zj is not None:
            drive_sq = (x_int * x_int).sum(axis=1).astype(object)
            cell_e[g, active] = drive_sq @ tile.row_energy_zj[r0:r1]
    return TileRead(partial, driven, cell_e, conversions, clipped)
