"""Busy intervals of one chip (for the timeline plot): recorded in the trace since schema 3, inferred before.

Since schema 3 the trace holds ``/busy``: the engine's own busy intervals (start and end of every unit's
work) for chip 0's first vectors, a sampled window that its attributes describe; ``busy_intervals`` returns
them. Older traces record only when each action starts. Under the timing model of the engine that wrote
them (memsim before schema 3: the tiles of a layer run in parallel, each tile's actions of one cycle run in
sequence, the layer's digital stage starts when its slowest tile is done, layers and chunks run one after
another) the end of every action follows from the start times in posting order:

- a tile action ends when the next action of the same tile starts;
- a tile's last action before the layer's digital stage (its last shift-and-add) lasts as long as the
  previous action of the same component on that tile in the same stage (every shift-and-add of a chunk
  takes the same time), or, if it has none, until the digital stage starts;
- the digital stage (tile -1: reduction and register traffic, posted together) ends when the next event of
  the chip starts, and the chip's last stage ends at its makespan.

``adc/clip`` rows are counters, not actions, and have no interval.
"""

from __future__ import annotations

import numpy as np

from memsim.trace.reader import Trace

INTERVAL_DTYPE = np.dtype([("layer", "<i4"), ("tile", "<i4"), ("component", "<U16"), ("action", "<U16"),
                           ("start_s", "<f8"), ("end_s", "<f8")])


def busy_intervals(trace: Trace, chip: int = 0) -> np.ndarray:
    """One row per action of ``chip``: layer, tile (-1: digital stage), component, action, start and end (s)."""
    ev = trace.events
    chips = [int(c) for c in trace.chips["chip"]]
    if chip not in chips:
        raise ValueError(f"chip = {chip} is not in trace {str(trace.path)!r}; it holds chips {min(chips)} to "
                         f"{max(chips)}")
    rows = np.flatnonzero(ev["chip"] == chip)
    t = ev["t_s"][rows]
    layer = ev["layer"][rows]
    tile = ev["tile"][rows]
    comp = ev.labels("component")[rows]
    action = ev.labels("action")[rows]
    if trace.busy is not None:
        return _recorded(trace, chip)
    makespan = float(trace.chips["makespan_s"][chips.index(chip)])
    n = len(rows)
    end = np.full(n, np.nan)

    # Digital stages: runs of consecutive tile -1 rows; each ends where the chip's next row starts.
    stage_of = np.zeros(n, dtype=np.int64)   # index of the stage that closes each row's segment
    stage_start: list[float] = []
    i = 0
    while i < n:
        if tile[i] == -1:
            j = i
            while j < n and tile[j] == -1 and layer[j] == layer[i] and t[j] == t[i]:
                j += 1
            end[i:j] = t[j] if j < n else makespan
            stage_start.append(float(t[i]))
            i = j
        else:
            stage_of[i] = len(stage_start)
            i += 1
    # Tile actions: chain the rows of each (segment, layer, tile) lane.
    lanes: dict[tuple[int, int, int], list[int]] = {}
    for k in range(n):
        if tile[k] != -1 and not (comp[k] == "adc" and action[k] == "clip"):
            lanes.setdefault((int(stage_of[k]), int(layer[k]), int(tile[k])), []).append(k)
    for (segment, _, _), ks in lanes.items():
        stop = stage_start[segment] if segment < len(stage_start) else makespan
        for a, b in zip(ks, ks[1:], strict=False):
            end[a] = t[b]
        last = ks[-1]
        previous = [k for k in ks[:-1] if comp[k] == comp[last]]
        duration = end[previous[-1]] - t[previous[-1]] if previous else stop - t[last]
        end[last] = min(t[last] + duration, stop)
    keep = ~np.isnan(end)
    out = np.empty(int(keep.sum()), dtype=INTERVAL_DTYPE)
    out["layer"], out["tile"] = layer[keep], tile[keep]
    out["component"], out["action"] = comp[keep].astype(str), action[keep].astype(str)
    out["start_s"], out["end_s"] = t[keep], end[keep]
    return out


def _recorded(trace: Trace, chip: int) -> np.ndarray:
    """The ``/busy`` window as interval rows (schema >= 3)."""
    busy = trace.busy
    if chip != 0:
        raise ValueError(f"chip = {chip}: trace {str(trace.path)!r} records busy intervals for chip 0 only")
    out = np.empty(len(busy), dtype=INTERVAL_DTYPE)
    out["layer"], out["tile"] = busy["layer"], busy["tile"]
    out["component"] = busy.labels("component").astype(str)
    out["action"] = busy.labels("action").astype(str)
    out["start_s"], out["end_s"] = busy["start_s"], busy["end_s"]
    return out


def window(trace: Trace) -> tuple[int, int] | None:
    """(vectors in the recorded window, vectors in the run), or None when the trace records no window."""
    if trace.busy is None:
        return None
    vectors = int(trace.busy["vector"].max()) + 1 if len(trace.busy) else 0
    return vectors, int(trace.inferences)

