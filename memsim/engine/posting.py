"""Pricing what the hardware did and posting it to the ledger: the rows of the engine's action events.

Every price comes from a component's declared action (``memsim.devices.component``): ``ActionPrices`` holds
the energy of one counted action of each (component, action) in integer zeptojoules, converted once per
card, and a posted row is ``(layer, tile, component, action, count, count × price)`` — plus, for the crossbar
read, the data-dependent cell energy ``V²·G·t`` the datapath computed (``read_energy_model = "cell"``).
``tile_events`` and ``digital_events`` turn one chunk's activity into timed rows; ``static_rows`` adds static
power × run time once per chip run, exactly. Nothing here knows SimPy: the scheduler fires the rows at
their times (``memsim.engine.scheduler``).
"""

from __future__ import annotations

from fractions import Fraction
from functools import partial

import numpy as np

from memsim.ledger import LedgerRow, energy_zj
from memsim.pipeline import TileTiming
from memsim.tile import TileActivity

_row = partial(tuple.__new__, LedgerRow)  # a LedgerRow without NamedTuple's argument handling (hot path)


class ActionPrices:
    """Energy of one counted action of every declared (component, action) of ``card``, in zJ; ``static``, whose
    energy depends on the run time, is priced by ``static_rows``."""

    def __init__(self, card) -> None:
        self.card = card
        self.zj = {(name, spec.name): energy_zj(component.cost(spec.name).energy_j)
                   for name, component in card.components().items()
                   for spec in component.actions() if spec.name != "static"}

    def __getitem__(self, key: tuple[str, str]) -> int:
        return self.zj[key]


def static_energy_zj(power_w: float, units: int, run_fs: int) -> int:
    """``P·units·t`` in zeptojoules, exact: ``zJ = W · fs · 10**6``, rounded once (half to even)."""
    return round(Fraction(power_w) * units * run_fs * 10**6)


def static_units(card, tiles: int, layers: int) -> dict[str, int]:
    """Instances that draw each component's ``p_static_w``: per tile ``rows`` DACs, one array, ``cols``
    sample-and-holds, ``n_adcs`` ADCs and shift-and-adds, one register set; per layer one reduction unit
    and one register set (``DeviceCard.tile_instances``, ``DeviceCard.stage_instances``: the instances that
    occupy area, ``memsim.area``). A pooling unit draws no static power of its own (the card gives it none)."""
    tile, stage = card.tile_instances(), card.stage_instances(pools=False)
    return {kind: tiles * tile.get(kind, {}).get("unit", 0) + layers * stage.get(kind, {}).get("unit", 0)
            for kind in card.components()}


def static_rows(card, tiles: int, layers: int, run_fs: int) -> dict[str, tuple]:
    """Per component kind, the row ``(layer -1, tile -1, kind, "static", instances, energy_zj)`` of static power ×
    the chip run's time; kinds that draw none are left out."""
    units = static_units(card, tiles, layers)
    out = {}
    for kind, component in card.components().items():
        e = static_energy_zj(component.p_static_w, units[kind], run_fs)
        if e:
            out[kind] = (-1, -1, kind, "static", units[kind], e)
    return out


def conversion_prices(card, keep_kinds, coarse_kinds) -> tuple[list[int], list[int]] | None:
    """For a layer whose partial sums convert at several resolutions (``LayerDesign.coarse_kinds``), per cycle
    ``t`` the kept columns of one output ``Σ_k keep[t, k]`` and their conversion energy in zJ
    ``Σ_k keep[t, k] · E(bits − e[t, k])`` (the card's energy law at each resolution); None when every sum
    converts at the card's resolution (one price, ``ActionPrices``)."""
    if coarse_kinds is None:
        return None
    bits = card.adc.bits
    price = {int(e): energy_zj(card.with_adc_bits(bits - int(e)).adc.convert_cost().energy_j)
             for e in np.unique(coarse_kinds)}
    kept = [int(k) for k in np.asarray(keep_kinds).sum(axis=1)]
    cycle = [sum(price[int(e)] for e, k in zip(row_e, row_k, strict=True) if k)
             for row_e, row_k in zip(coarse_kinds, keep_kinds, strict=True)]
    return kept, cycle


def tile_events(prices: ActionPrices, chip: int, timing: TileTiming, activity: TileActivity, vectors: int,
                t0: int, now: int, conversion: tuple[list[int], list[int]] | None = None) -> list[tuple[int, tuple]]:
    """The action events of one tile for a chunk of ``vectors`` input vectors whose first inference starts on
    the tile at ``t0``: per step (row group, kept cycle) drive and feed, read, sample, convert (and clip),
    shift-and-add and accumulate, each ``(time, ledger rows)`` at the time the action starts for the chunk's
    first vector (never before ``now``), in step order then action order. ``conversion``
    (``conversion_prices``) prices conversions of several resolutions; by default all are at the card's."""
    tt = timing.times
    li, ti = timing.layer, timing.tile
    offsets = np.array([0, tt.dac, tt.dac + tt.read, tt.analog, tt.analog + tt.conv], dtype=np.int64)
    times = np.maximum(timing.start_fs[:, None] + offsets + t0, now).tolist()  # absolute, never past
    fed_per_row = vectors * prices.card.dac.bits
    conversions = activity.conversions.tolist()
    driven_rows = activity.driven_rows.tolist()
    clipped = activity.clipped.tolist()
    cell = activity.cell_energy_zj
    p = prices.zj
    read_e = vectors * p["crossbar", "read"]
    dac_e, feed_e, conv_e = p["dac", "drive"], p["register", "feed"], p["adc", "convert"]
    sh_e, sa_e, acc_e = p["sample_hold", "sample"], p["shift_add", "shift_add"], p["register", "accumulate"]
    events = []
    # Inlined row building: this loop runs once per step, tile and chunk of every chip run.
    for (g, t), (t0_, t1, t2, t3, t4), rows in zip(timing.steps.tolist(), times, timing.rows.tolist(),
                                                   strict=True):
        conv = conversions[g][t]
        driven = driven_rows[g][t]
        fed = rows * fed_per_row
        conv_energy = conv * conv_e if conversion is None else conv // conversion[0][t] * conversion[1][t]
        convert = [_row((t3, chip, li, ti, "adc", "convert", conv, conv_energy))]
        if clipped[g][t]:
            convert.append(_row((t3, chip, li, ti, "adc", "clip", clipped[g][t], 0)))
        events += [
            (t0_, (_row((t0_, chip, li, ti, "dac", "drive", driven, driven * dac_e)),
                   _row((t0_, chip, li, ti, "register", "feed", fed, fed * feed_e)))),
            (t1, (_row((t1, chip, li, ti, "crossbar", "read", vectors, read_e + int(cell[g, t]))),)),
            (t2, (_row((t2, chip, li, ti, "sample_hold", "sample", conv, conv * sh_e)),)),
            (t3, convert),
            (t4, (_row((t4, chip, li, ti, "shift_add", "shift_add", conv, conv * sa_e)),
                  _row((t4, chip, li, ti, "register", "accumulate", conv, conv * acc_e)))),
        ]
    return events


def digital_rows(prices: ActionPrices, layer: int, ops: int, in_bits: int, out_bits: int,
                 pool_ops: int = 0) -> list[tuple]:
    """The rows of one layer's digital stage for a chunk: its additions, its register traffic and, when it
    hosts pooling, the pooling operations."""
    p = prices.zj
    rows = [(layer, -1, "shift_add", "reduce", ops, ops * p["shift_add", "reduce"]),
            (layer, -1, "register", "read", in_bits, in_bits * p["register", "read"]),
            (layer, -1, "register", "write", out_bits, out_bits * p["register", "write"])]
    if pool_ops:
        rows.append((layer, -1, "shift_add", "pool", pool_ops, pool_ops * p["shift_add", "pool"]))
    return rows
