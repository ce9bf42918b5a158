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



def select(iv: np.ndarray, layers=None, tiles=None, window_s=None) -> np.ndarray:
    """The intervals of ``iv`` on the given ``layers`` and crossbar ``tiles`` (None: all; with ``tiles`` the
    layers' digital stages, tile -1, are left out), cut to the time window ``window_s = (start_s, end_s)``.

    One-line ``ValueError`` naming the option, the value and what the trace holds when a layer or tile is not in
    the intervals or the window holds none of them."""
    keep = np.ones(len(iv), dtype=bool)
    if layers is not None:
        held = sorted({int(v) for v in iv["layer"]})
        missing = [v for v in layers if v not in held]
        if missing:
            raise ValueError(f"--layers {_ints(layers)}: layer {missing[0]} is not in the timeline; allowed: "
                             f"{_ints(held)}")
        keep &= np.isin(iv["layer"], list(layers))
    if tiles is not None:
        held = sorted({int(v) for v in iv["tile"][keep] if v >= 0})
        missing = [v for v in tiles if v not in held]
        if missing:
            raise ValueError(f"--tiles {_ints(tiles)}: tile {missing[0]} is not in the timeline of the selected "
                             f"layers; allowed: {_ints(held)}")
        keep &= np.isin(iv["tile"], list(tiles))
    out = iv[keep]
    if window_s is not None:
        start, end = window_s
        first = float(out["start_s"].min(initial=np.inf))
        last = float(out["end_s"].max(initial=0.0))
        inside = (out["end_s"] > start) & (out["start_s"] < end)
        if not inside.any():
            raise ValueError(f"--window {start:g}:{end:g}: no busy interval in that window; allowed: a window that "
                             f"overlaps {first:g}:{last:g} (seconds)")
        out = out[inside].copy()
        out["start_s"] = np.maximum(out["start_s"], start)
        out["end_s"] = np.minimum(out["end_s"], end)
    return out


def _ints(values) -> str:
    return ",".join(str(v) for v in values) if values else "(none)"


_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "ps": 1e-12}


def _seconds(text: str, option: str) -> float:
    t = text.strip()
    for suffix in sorted(_TIME_UNITS, key=len, reverse=True):
        if t.endswith(suffix) and t[: -len(suffix)].strip():
            number, factor = t[: -len(suffix)].strip(), _TIME_UNITS[suffix]
            break
    else:
        number, factor = t, 1.0
    try:
        value = float(number) * factor
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{option}: {text!r} is not a time; allowed: a number ≥ 0 of seconds, optionally with a "
                         "unit (s, ms, us, ns, ps), e.g. 0:2us")
    return value


def parse_window(text: str, option: str = "--window") -> tuple[float, float]:
    """``"START:END"`` in seconds (``"0:2e-6"``, or with units: ``"0:2us"``, ``"1.5us:3us"``) as (start_s, end_s)."""
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"{option} {text!r}; allowed: START:END, e.g. 0:2e-6 or 0:2us")
    start, end = (_seconds(p, f"{option} {text!r}") for p in parts)
    if not end > start:
        raise ValueError(f"{option} {text!r}: the end {end:g} s is not after the start {start:g} s; "
                         "allowed: START < END")
    return start, end


def parse_indices(text: str, option: str) -> tuple[int, ...]:
    """``"0,2,5-7"`` as (0, 2, 5, 6, 7): comma-separated integers ≥ 0 and inclusive ranges."""
    out: list[int] = []
    for part in text.split(","):
        a, sep, b = part.strip().partition("-")
        try:
            lo = int(a)
            hi = int(b) if sep else lo
        except ValueError:
            lo = hi = -1
        if lo < 0 or hi < lo or hi - lo > 1 << 16:
            raise ValueError(f"{option} {text!r}: {part.strip()!r} is not an index or range; allowed: integers ≥ 0 and "
                             "ranges such as 0,2,5-7")
        out.extend(range(lo, hi + 1))
    return tuple(sorted(set(out)))
