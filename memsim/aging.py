"""Time-dependent device effects on a programmed chip: drift after programming and read disturb.

A chip instance is programmed once (``memsim.chip.program_chip``). ``age_chip`` returns the same chip as it
reads ``age_s`` seconds after programming: every cell's conductance, reference columns included, goes
through the card's drift model (``memsim.devices.drift``), a pure function of the programmed conductance and the
age. memsim evaluates drift at ``t = age_s`` for the whole run: a run lasts micro- to milliseconds of
simulated time, far below the seconds-to-years ages drift is measured over, so the conductances are
constant during it. ``disturb_chip`` applies the card's read-disturb model (``memsim.devices.disturb``) for the read
pulses each layer row has received. Both rebuild the tiles' level-unit arrays (and their cell read energies)
from the new conductances; the draw order of ``age_chip`` is fixed (layer by layer: its cells, then per tile
its reference column, if it has one: the digital reference has none) and nothing is drawn for a zero model or
age.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from memsim.chip import ProgrammedChip
from memsim.tile import ProgrammedTile, row_read_energy_zj


def _conductances(tile: ProgrammedTile, card) -> tuple[np.ndarray, np.ndarray | None]:
    """The tile's data cells and reference column (None without one) in siemens."""
    cell = card.cell
    g_ref = None if tile.ref_norm is None else tile.ref_norm * cell.delta_g_s + cell.g_min_s
    return tile.g_norm * cell.delta_g_s + cell.g_min_s, g_ref


def with_conductances(tile: ProgrammedTile, card, g_s: np.ndarray, g_ref_s: np.ndarray | None) -> ProgrammedTile:
    """``tile`` with new cell conductances (siemens; ``g_ref_s`` None for a tile without a reference column):
    level units ``(G - g_min)/Δg`` and, for a ``read_energy_model = "cell"`` card, the per-row read energy
    ``v_unit²·t_read·(Σ_j G_ij + G_ref,i)`` (the same expressions as ``memsim.tile.program_layer``:
    ``memsim.tile.row_read_energy_zj``)."""
    cell = card.cell
    ref_norm = None if g_ref_s is None else (g_ref_s - cell.g_min_s) / cell.delta_g_s
    return replace(tile, g_norm=(g_s - cell.g_min_s) / cell.delta_g_s, ref_norm=ref_norm,
                   row_energy_zj=row_read_energy_zj(card, g_s, g_ref_s))


def age_chip(chip: ProgrammedChip, age_s: float, rng: np.random.Generator) -> ProgrammedChip:
    """The chip read ``age_s`` seconds after programming (the card's drift model); unchanged if none."""
    card = chip.design.card
    drift, cell = card.cell.drift, card.cell
    if drift.is_zero or age_s == 0:
        drift.apply(np.zeros(0), age_s, rng, cell.g_min_s, cell.g_max_s)  # validates age_s
        return chip
    layers = []
    for tiles in chip.tiles:
        aged_cells = [drift.apply(_conductances(t, card)[0], age_s, rng, cell.g_min_s, cell.g_max_s) for t in tiles]
        aged = []
        for t, g in zip(tiles, aged_cells, strict=True):
            g_ref = _conductances(t, card)[1]
            if g_ref is not None:
                g_ref = drift.apply(g_ref, age_s, rng, cell.g_min_s, cell.g_max_s)
            aged.append(with_conductances(t, card, g, g_ref))
        layers.append(tuple(aged))
    return replace(chip, tiles=tuple(layers))


def disturb_chip(chip: ProgrammedChip, row_pulses: list[np.ndarray]) -> ProgrammedChip:
    """The chip after ``row_pulses[layer][row]`` read pulses on each layer row (the card's disturb model).

    Every cell of a row, reference column included, sees that row's pulses.
    """
    card = chip.design.card
    model, cell = card.cell.disturb, card.cell
    if model.is_zero:
        return chip
    layers = []
    for tiles, pulses in zip(chip.tiles, row_pulses, strict=True):
        new = []
        for t in tiles:
            g, g_ref = _conductances(t, card)
            n = np.asarray(pulses[t.spec.row_start : t.spec.row_stop])
            if g_ref is not None:
                g_ref = model.apply(g_ref, n, cell.g_min_s, cell.g_max_s)
            new.append(with_conductances(t, card, model.apply(g, n[:, None], cell.g_min_s, cell.g_max_s), g_ref))
        layers.append(tuple(new))
    return replace(chip, tiles=tuple(layers))
