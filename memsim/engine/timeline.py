"""Busy intervals of the first vectors of a chip run: the window of the schedule a trace keeps for plots."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memsim.ledger import ACTIONS, COMPONENTS
from memsim.pipeline import ChunkSchedule, LayerTiming

# What each recorded interval is, as (component, action) of the ledger's vocabulary.
_DRIVE, _READ, _SAMPLE = ("dac", "drive"), ("crossbar", "read"), ("sample_hold", "sample")
_CONVERT, _SHIFT_ADD, _REDUCE = ("adc", "convert"), ("shift_add", "shift_add"), ("shift_add", "reduce")


@dataclass(frozen=True)
class Timeline:
    """Busy intervals ``[start_fs, stop_fs)`` of every unit for each layer's input vectors ``0 .. window - 1``
    (``vectors``: the window in inferences of a dense network).

    Per interval: ``layer``, ``tile`` (-1: the layer's digital stage), ``component`` and ``action`` (codes into
    ``memsim.ledger.COMPONENTS`` and ``ACTIONS``), ``vector``. The ADC interval is the busiest ADC lane of the
    tile; the sample-and-hold holds from sampling until that step's conversions end. ``total_vectors`` is how
    many the run had.
    """

    vectors: int
    total_vectors: int
    layer: np.ndarray
    tile: np.ndarray
    component: np.ndarray
    action: np.ndarray
    vector: np.ndarray
    start_fs: np.ndarray
    stop_fs: np.ndarray


def build_timeline(layers: tuple[LayerTiming, ...], schedules: list[ChunkSchedule], window: int,
                   total: int) -> Timeline | None:
    """The busy intervals of each layer's first ``window`` input vectors (for a dense network, the first
    ``window`` of ``total`` inferences) from the chunk schedules that hold them (None for an empty window)."""
    window = min(window, total * max((layer.vectors for layer in layers), default=1))
    if window <= 0:
        return None
    cols: dict[str, list] = {k: [] for k in ("layer", "tile", "component", "action", "vector", "start", "stop")}

    def add(layer, tile, what, vec, start, stop):
        m = len(start)
        cols["layer"].append(np.full(m, layer, np.int32))
        cols["tile"].append(np.full(m, tile, np.int32))
        cols["component"].append(np.full(m, COMPONENTS.index(what[0]), np.int8))
        cols["action"].append(np.full(m, ACTIONS.index(what[1]), np.int8))
        cols["vector"].append(np.full(m, vec, np.int64))
        cols["start"].append(np.asarray(start, np.int64))
        cols["stop"].append(np.asarray(stop, np.int64))

    for sched in schedules:
        for li, layer in enumerate(layers):
            base = sched.first * layer.vectors
            for j in range(min(len(sched.reduce[li]), window - base)):
                vec = base + j
                for ti, tt in enumerate(layer.tiles):
                    r = int(sched.starts[li][ti, j]) + tt.start_fs
                    t = tt.times
                    c0 = r + t.analog
                    add(li, tt.tile, _DRIVE, vec, r, r + t.analog)
                    add(li, tt.tile, _READ, vec, r + t.dac, r + t.dac + t.read)
                    add(li, tt.tile, _SAMPLE, vec, r + t.dac + t.read, c0 + tt.lane_fs)
                    add(li, tt.tile, _CONVERT, vec, c0, c0 + tt.lane_fs)
                    add(li, tt.tile, _SHIFT_ADD, vec, c0 + t.conv, c0 + tt.lane_fs + t.tail)
                d = int(sched.reduce[li][j])
                add(li, -1, _REDUCE, vec, [d], [d + layer.reduce_fs])
    cat = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}
    return Timeline(min(window, total), total, cat["layer"], cat["tile"], cat["component"], cat["action"],
                    cat["vector"], cat["start"], cat["stop"])
