"""The chip's schedule: when every tile and layer handles every input vector, in integer femtoseconds.

Pure arithmetic, no SimPy: ``memsim.engine`` asks ``Pipeline.advance`` for the per-vector times of each
chunk and lets SimPy order and post the chunk-level action events at those times. Service times are
data-independent given the design (mapping, discard plan) and the card, so the schedule is exact max-plus
arithmetic on integers, and a chunked run and a one-vector-at-a-time run give identical times.

**Inside a tile** (one crossbar, its DACs, a sample-and-hold per column, ``n_adcs`` ADCs each serving
``columns_per_adc`` adjacent columns, and a shift-and-add unit behind each ADC). One *step* is one row group
at one input cycle with something kept; a vector takes the steps in order (row group outer, cycle inner).
Step ``k`` is an analog phase of ``a = t_dac + t_read + t_sh`` (drive, read, sample) followed by the
conversions: each ADC converts its kept columns one after another, every conversion followed by its
shift-and-add, so a lane accepts one conversion per ``c = max(t_conv, t_sa)`` and the step's conversions
take ``b_k = m_k·c`` (``m_k``: kept columns on the busiest ADC, ``adc_load``); its last shift-and-add ends
``min(t_conv, t_sa)`` later. With ``R_k`` the start of step ``k``:

    C_k = R_k + a                                   conversions start right after sampling
    R_(k+1) = R_k + max(a, t_sh + b_k)              the next drive/read overlaps the conversions of step k;
                                                    its sample waits until they have freed the holds

so the tile's cycle is the slower of the analog phase and sampling plus conversion. A vector occupies the
tile for ``P = Σ_k max(a, t_sh + b_k)`` (the *period*: the next vector's first step may start then) and its
result is complete ``L = Σ_(k<K-1) max(a, t_sh + b_k) + a + b_(K-1) + min(t_conv, t_sa)`` after its start
(the tile *latency*). Cycles whose partial sums are all discarded are not steps: they take no time.

**A layer** is its tiles in parallel and a digital stage that reduces their partial results (row-block
sums, encoding correction, bias, truncation) in ``ρ = stages·t_sa + 2·t_reg`` per vector. Layers pipeline
across vectors through an inter-layer buffer of ``B`` vectors with back-pressure: a layer starts vector
``i`` only when the buffer behind it has a slot for that vector's result (blocking before service: the slot
is reserved at start), and a slot is released when every tile of the next layer has started the vector it
holds. Inputs of layer 0 are all in memory at time 0. Per vector ``i`` and layer ``l`` (tile ``τ``):

    S_i^τ = max(X_i, S_(i-1)^τ + P_τ, F_(i-B)^(l+1))       tile start (input ready, tile free, slot free)
    D_i   = max(max_τ(S_i^τ + L_τ), D_(i-1) + ρ)           digital stage start
    W_i   = D_i + ρ = X_i^(l+1)                            result written to the next layer's buffer
    F_i^l = max_τ S_i^τ                                    vector i leaves layer l's input buffer

Each line is a recurrence ``x_i = max(a_i, x_(i-1) + s)``, solved for a whole chunk at once with
``np.maximum.accumulate``; the buffer term couples a layer to the next one ``B`` vectors back, so within a
chunk longer than ``B`` the layers are swept until the times stop changing (a monotone fixed-point
iteration from below that settles on the causal solution; usually two sweeps), or, when stalls chain
further, the chunk is solved in blocks of ``B`` vectors, each exact in one sweep.

Validity: the schedule assumes per-vector work does not depend on the data (true here: every column is
converted whatever its value) and that a layer's tiles all take the same inputs in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memsim.devices.card import DeviceCard
from memsim.ledger import COMPONENTS, time_fs

NEG = -(1 << 60)  # "no constraint yet": far below any time, far above int64's minimum
MAX_SWEEPS = 4  # sweeps of a whole chunk before ``Pipeline.advance`` falls back to blocks of B vectors


def adc_load(keep_kinds: np.ndarray, outputs: int, columns_per_adc: int, weight: np.ndarray | None = None
             ) -> np.ndarray:
    """Conversions per cycle on the busiest ADC of a tile, shape (T,); with ``weight`` (T, K), the busiest ADC's
    sum of ``weight`` over the columns it converts (e.g. each conversion's lane time, which depends on its
    resolution).

    Columns are laid out output-major (the K kinds of one output adjacent); ADC ``a`` serves columns
    ``[a·columns_per_adc, (a+1)·columns_per_adc)`` and converts its kept columns one after another.
    """
    t_cycles, kinds = keep_kinds.shape
    kept = np.tile(keep_kinds if weight is None else np.where(keep_kinds, weight, 0), (1, outputs))
    pad = -kept.shape[1] % columns_per_adc
    kept = np.pad(kept, ((0, 0), (0, pad)))
    return kept.reshape(t_cycles, -1, columns_per_adc).sum(axis=2).max(axis=1, initial=0)


@dataclass(frozen=True)
class ActionTimes:
    """Per-action latencies of the card in integer femtoseconds."""

    dac: int
    read: int
    sample: int
    conv: int
    shift_add: int
    register: int

    @classmethod
    def from_card(cls, card: DeviceCard) -> ActionTimes:
        """The latencies of the actions the timing model sequences, from the components' declared costs."""
        parts = card.components()
        latency = lambda component, action: time_fs(parts[component].cost(action).latency_s)  # noqa: E731
        return cls(latency("dac", "drive"), latency("crossbar", "read"), latency("sample_hold", "sample"),
                   latency("adc", "convert"), latency("shift_add", "shift_add"), latency("register", "read"))

    @property
    def analog(self) -> int:
        """``a``: drive, read and sample of one step."""
        return self.dac + self.read + self.sample

    @property
    def lane(self) -> int:
        """``c``: time per conversion on one ADC lane (the ADC and the shift-and-add behind it)."""
        return max(self.conv, self.shift_add)

    @property
    def tail(self) -> int:
        """The last shift-and-add of a step ends this long after the lane's last slot."""
        return min(self.conv, self.shift_add)


@dataclass(frozen=True)
class TileTiming:
    """The per-vector schedule of one tile, relative to the vector's start on that tile (fs).

    ``steps`` (K, 2): (row group, cycle) of each step; ``start_fs`` (K,): ``R_k``; ``lane_fs`` (K,): ``b_k``;
    ``conversions`` (K,): columns converted per step (all ADCs); ``rows`` (K,): rows driven per step;
    ``adc_fs`` (K,): the conversion time of a step's columns, summed over all ADCs (``conversions · t_conv``
    when every sum converts at the layer's resolution);
    ``period_fs`` and ``latency_fs``: ``P`` and ``L`` of one input vector. An inference gives the tile
    ``vectors`` input vectors (its layer's ``vectors_per_inference``); ``busy_fs`` is per inference.
    """

    layer: int
    tile: int
    times: ActionTimes
    steps: np.ndarray
    start_fs: np.ndarray
    lane_fs: np.ndarray
    conversions: np.ndarray
    rows: np.ndarray
    n_adcs: int
    period_fs: int
    latency_fs: int
    vectors: int = 1
    adc_fs: np.ndarray | None = None

    @property
    def cycle_bound(self) -> str:
        """What sets the tile's cycle: ``"analog"`` (drive, read, sample) or ``"adc"`` (conversions)."""
        t = self.times
        slowest = int(self.lane_fs.max(initial=0))
        return "adc" if t.sample + slowest > t.analog else "analog"

    def busy_fs(self) -> dict[str, int]:
        """Busy time per inference of each component kind, summed over the tile's units (``busy_units``)."""
        t, v = self.times, self.vectors
        k = v * len(self.steps)
        conv = v * int(self.conversions.sum())
        return {
            "dac": k * t.analog,
            "crossbar": k * t.analog,
            "sample_hold": v * int((t.sample + self.lane_fs).sum()),
            "adc": conv * t.conv if self.adc_fs is None else v * int(self.adc_fs.sum()),
            "shift_add": conv * t.shift_add,
        }


def busy_units(layers: tuple[LayerTiming, ...], n_adcs: int) -> dict[str, int]:
    """Units of each component kind whose busy time is reported (utilization = busy / (units · run time)):
    per tile one DAC bank, crossbar and sample-and-hold bank, ``n_adcs`` ADCs and as many shift-and-add
    units; per layer one reduction unit and one register."""
    tiles = sum(len(layer.tiles) for layer in layers)
    return {"dac": tiles, "crossbar": tiles, "sample_hold": tiles, "adc": tiles * n_adcs,
            "shift_add": tiles * n_adcs + len(layers), "register": len(layers)}


def busy_fs(layers: tuple[LayerTiming, ...], inferences: int) -> dict[str, int]:
    """Busy time of every component kind (``COMPONENTS``) over ``inferences`` inferences."""
    busy = dict.fromkeys(COMPONENTS, 0)
    for layer in layers:
        for unit in (*layer.tiles, layer):
            for kind, fs in unit.busy_fs().items():
                busy[kind] += inferences * fs
    return busy


def tile_timing(
    times: ActionTimes, layer: int, tile: int, row_groups, outputs: int, keep_kinds: np.ndarray,
    columns_per_adc: int, n_adcs: int, vectors: int = 1, conv_fs: np.ndarray | None = None,
) -> TileTiming:
    """The schedule of one tile (module docstring): steps, their starts, and the period and latency of one input
    vector; an inference gives the tile ``vectors`` of them. ``conv_fs`` (T, K), when partial sums convert at
    several resolutions: each column kind's conversion time at each cycle (a lane slot is then
    ``max(conv_fs, t_sa)``); by default every conversion takes ``t_conv``."""
    kept_columns = keep_kinds.sum(axis=1) * outputs
    active = np.flatnonzero(keep_kinds.any(axis=1))
    steps = np.array([(g, t) for g in range(len(row_groups)) for t in active], dtype=np.int64).reshape(-1, 2)
    adc_fs = None
    if conv_fs is None:
        lane = adc_load(keep_kinds, outputs, columns_per_adc)[steps[:, 1]].astype(np.int64) * times.lane
    else:
        slot = np.maximum(conv_fs, times.shift_add).astype(np.int64)
        lane = adc_load(keep_kinds, outputs, columns_per_adc, slot)[steps[:, 1]].astype(np.int64)
        adc_fs = (np.where(keep_kinds, conv_fs, 0).sum(axis=1) * outputs)[steps[:, 1]].astype(np.int64)
    cycle = np.maximum(times.analog, times.sample + lane)
    start = np.concatenate([[0], np.cumsum(cycle)[:-1]]).astype(np.int64) if len(steps) else np.zeros(0, np.int64)
    period = int(cycle.sum())
    latency = int(start[-1] + times.analog + lane[-1] + times.tail) if len(steps) else 0
    rows = np.array([row_groups[g][1] - row_groups[g][0] for g in steps[:, 0]], dtype=np.int64)
    return TileTiming(layer, tile, times, steps, start, lane, kept_columns[steps[:, 1]].astype(np.int64), rows,
                      n_adcs, period, latency, vectors, adc_fs)


@dataclass(frozen=True)
class LayerTiming:
    """A layer's tiles, its digital stage and where its inputs come from.

    The digital stage runs ``stages`` shift-and-add passes (row blocks, plus one for the offset encoding's
    input-sum correction) and a register read and write per input vector, plus the ``hosted_ops`` operations
    per inference of the digital nodes that follow the layer (pooling, skip additions), one adder operation
    each, spread over the inference's ``vectors``: ``ρ = stages·t_sa + 2·t_reg + ⌈hosted_ops / V⌉·t_sa`` per
    vector. ``source``: the crossbar layer whose output this layer reads (None: the network's input), and
    ``deps`` (V,): for each of this layer's vectors, the last of the source's vectors of the same inference
    whose result it needs (a convolution's window, through any pooling between; the whole map for a dense
    layer). ``buffer_bits``: the line buffer the layer's input needs, the most input values between the first
    and the last one any of its windows needs (raster order) × channels × bits.
    """

    index: int
    tiles: tuple[TileTiming, ...]
    times: ActionTimes
    stages: int
    vectors: int = 1
    hosted_ops: int = 0
    source: int | None = None
    deps: np.ndarray | None = None
    buffer_bits: int = 0

    @property
    def reduce_fs(self) -> int:
        """``ρ``: the digital stage's time per input vector."""
        hosted = -(-self.hosted_ops // self.vectors)
        return (self.stages + hosted) * self.times.shift_add + 2 * self.times.register

    def busy_fs(self) -> dict[str, int]:
        """Busy time per inference of the digital stage: its reduction unit and its register."""
        return {"shift_add": (self.vectors * self.stages + self.hosted_ops) * self.times.shift_add,
                "register": self.vectors * 2 * self.times.register}

    @property
    def vector_period_fs(self) -> int:
        """Time between input vectors when nothing else holds the layer back: its slowest unit."""
        return max(max((t.period_fs for t in self.tiles), default=0), self.reduce_fs)

    @property
    def period_fs(self) -> int:
        """Time between inferences when nothing else holds the layer back: ``V`` vector periods."""
        return self.vectors * self.vector_period_fs

    @property
    def latency_fs(self) -> int:
        """Stage latency of one inference alone: its ``V − 1`` vector periods, the slowest tile's latency and
        the digital stage of its last vector."""
        slowest = max((t.latency_fs for t in self.tiles), default=0)
        return (self.vectors - 1) * self.vector_period_fs + slowest + self.reduce_fs


def _raster(region, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Raster indices (first, last) of the pixels of ``region``'s corners in a (C, H, W) map; a vector (one
    pixel) or the whole map (``region`` None) spans every pixel."""
    if region is None or len(shape) != 3:
        pixels = shape[1] * shape[2] if len(shape) == 3 else 1
        return np.zeros(1, np.int64), np.full(1, pixels - 1, np.int64)
    r_lo, r_hi, c_lo, c_hi = region
    return r_lo * shape[2] + c_lo, r_hi * shape[2] + c_hi


def _window(region, node, in_shape):
    """The input rows and columns a window node (convolution or pooling) reads for the output ``region``."""
    (kh, kw), (sh, sw), (ph, pw) = node.kernel, node.stride, node.padding
    r_lo, r_hi, c_lo, c_hi = region
    h, w = in_shape[1], in_shape[2]
    return (np.clip(sh * r_lo - ph, 0, h - 1), np.clip(sh * r_hi - ph + kh - 1, 0, h - 1),
            np.clip(sw * c_lo - pw, 0, w - 1), np.clip(sw * c_hi - pw + kw - 1, 0, w - 1))


def _dependencies(design) -> list[tuple[int | None, np.ndarray, int]]:
    """Per crossbar layer: (source layer, ``deps`` (V,), ``buffer_bits``) — see ``LayerTiming``. Regions are
    traced back through the digital nodes to the crossbar layer (or the network input) that produced them; an
    addition follows the operand produced latest (the other is older in every block memsim maps: a skip)."""
    steps = design.qnet.steps
    if any(step.node is None for step in steps):  # a chain of integer layers without float geometry: dense
        return [(i - 1 if i else None, np.zeros(1, np.int64), layer.qlayer.rows * layer.qlayer.in_format.bits)
                for i, layer in enumerate(design.layers)]
    shapes = [step.node.out_map if step.node.kind == "conv2d" else step.node.out_shape(
        (step.node.in_shape,) * step.node.arity) for step in steps]
    input_shape = next(tuple(s.node.in_shape) for s in steps if s.inputs[0] == -1)

    def host(j: int) -> int:
        while j >= 0 and steps[j].layer is None:
            j = max(steps[j].inputs, key=host)
        return -1 if j < 0 else steps[j].layer

    out = []
    for step in steps:
        if step.layer is None:
            continue
        node = step.node
        j = step.inputs[0]
        in_shape = tuple(node.in_shape)
        if node.kind == "conv2d" and len(in_shape) == 3:
            _, h_out, w_out = node.out_map
            rows, cols = np.divmod(np.arange(h_out * w_out, dtype=np.int64), w_out)
            region = _window((rows, rows, cols, cols), node, in_shape)
        else:
            region = None
        first, last = _raster(region, in_shape)
        fmt = step.in_formats[0]
        channels = in_shape[0] if len(in_shape) == 3 else int(np.prod(in_shape))
        buffer_bits = int((last - first + 1).max()) * channels * fmt.bits
        while j >= 0 and steps[j].layer is None:  # back through the digital nodes to the producer
            digital = steps[j].node
            if digital.kind in ("maxpool2d", "avgpool2d") and region is not None:
                region = _window(region, digital, tuple(digital.in_shape))
            elif digital.kind not in ("relu", "add"):
                region = None  # flatten, global pooling: the whole map
            j = max(steps[j].inputs, key=host) if digital.kind == "add" else steps[j].inputs[0]
        source_shape = input_shape if j < 0 else shapes[j]
        _, deps = _raster(region, tuple(source_shape))
        vectors = node.vectors_per_inference
        out.append((None if j < 0 else steps[j].layer, np.broadcast_to(deps, (vectors,)).astype(np.int64),
                    buffer_bits))
    return out


def layer_timings(design) -> tuple[LayerTiming, ...]:
    """The timing of every layer of a ``ChipDesign``."""
    xbar = design.card.crossbar
    out = []
    for layer, card, hosted, (source, deps, buffer_bits) in zip(design.layers, design.layer_cards,
                                                                design.digital_ops(), _dependencies(design),
                                                                strict=True):
        times = ActionTimes.from_card(card)  # the layer's ADC resolution sets its conversion time
        keep = layer.keep_kinds
        vectors = layer.vectors_per_inference
        conv_fs = None
        if layer.coarse_kinds is not None:  # a SAR conversion e bits coarser stops e comparisons early
            e = layer.coarse_kinds
            conv_fs = np.zeros(e.shape, dtype=np.int64)
            for value in np.unique(e):
                conv_fs[e == value] = time_fs(card.with_adc_bits(card.adc.bits - int(value)).adc.latency_s)
        tiles = tuple(
            tile_timing(times, layer.qlayer.index, spec.index, spec.row_groups, spec.outputs, keep,
                        xbar.columns_per_adc, xbar.n_adcs, vectors, conv_fs)
            for spec in layer.mapping.tiles
        )
        stages = layer.mapping.row_blocks + (1 if layer.encoded.input_coeff else 0)
        out.append(LayerTiming(layer.qlayer.index, tiles, times, stages, vectors, sum(hosted.values()), source,
                               deps, buffer_bits))
    return tuple(out)


def _recur(lower: np.ndarray, step: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """``x[:, j] = max(lower[:, j], x[:, j-1] + step)`` with ``x[:, -1] = prev``; rows are independent units.

    ``lower`` (U, n), ``step`` and ``prev`` (U,). Exact on integers: ``x_j − j·s`` is a running maximum.
    """
    n = lower.shape[1]
    ramp = np.arange(n, dtype=np.int64)[None, :] * step[:, None]
    base = lower - ramp
    base[:, 0] = np.maximum(base[:, 0], prev + step)
    return np.maximum.accumulate(base, axis=1) + ramp


@dataclass(frozen=True)
class ChunkSchedule:
    """Times (fs) of the inferences ``first .. first + n - 1``: per layer, over its ``n·V`` input vectors
    (inference-major), ``starts`` (tiles, n·V), ``reduce`` and ``written`` (n·V,); per inference ``entry``
    (its first action) and ``exit`` (its last layer's result written)."""

    first: int
    vectors: tuple[int, ...]
    starts: tuple[np.ndarray, ...]
    reduce: tuple[np.ndarray, ...]
    written: tuple[np.ndarray, ...]

    @property
    def entry(self) -> np.ndarray:
        v = self.vectors[0]
        return self.starts[0][:, ::v].min(axis=0) if len(self.starts[0]) else self.reduce[0][::v]

    @property
    def exit(self) -> np.ndarray:
        v = self.vectors[-1]
        return self.written[-1][v - 1 :: v]


class Pipeline:
    """The schedule of one chip run, advanced chunk by chunk of inferences; the state between chunks is exact
    (a convolution's vectors depend only on vectors of the same inference)."""

    def __init__(self, layers: tuple[LayerTiming, ...], buffer_vectors: int) -> None:
        if not isinstance(buffer_vectors, int) or buffer_vectors < 1:
            raise ValueError(f"timing.buffer_vectors = {buffer_vectors!r} is out of range; allowed >= 1")
        self.layers = layers
        self.buffer = buffer_vectors
        self.done = 0
        self._period = [np.array([t.period_fs for t in l.tiles], dtype=np.int64) for l in layers]
        self._latency = [np.array([t.latency_fs for t in l.tiles], dtype=np.int64) for l in layers]
        self._last_start = [np.full(len(l.tiles), NEG, dtype=np.int64) for l in layers]
        self._last_reduce = [NEG] * len(layers)
        self._released = [np.zeros(0, dtype=np.int64) for _ in layers]  # F of the last B inferences, per layer

    def _slot_bound(self, nxt: int, n: int, released_now: np.ndarray) -> np.ndarray:
        """``F_(i-B)`` of layer ``nxt`` for the chunk's inferences (NEG where no such inference exists)."""
        hist = np.concatenate([self._released[nxt], released_now])
        idx = np.arange(n) - self.buffer + len(self._released[nxt])
        out = np.full(n, NEG, dtype=np.int64)
        ok = (idx >= 0) & (idx < len(hist))
        out[ok] = hist[idx[ok]]
        return out

    def _ready(self, layer: LayerTiming, written: list[np.ndarray], n: int) -> np.ndarray:
        """``X`` of every vector of the chunk: when the source's results it needs are written (0: inputs)."""
        if layer.source is None:
            return np.zeros(n * layer.vectors, dtype=np.int64)
        src_v = self.layers[layer.source].vectors
        idx = (np.arange(n, dtype=np.int64)[:, None] * src_v + layer.deps[None, :]).reshape(-1)
        return written[layer.source][idx]

    def _solve(self, n: int, max_sweeps: int):
        """Times of the next ``n`` inferences from the carried state, or None if the sweeps did not settle."""
        n_layers = len(self.layers)
        released = [np.full(n, NEG, dtype=np.int64) for _ in range(n_layers)]
        for _ in range(max_sweeps):
            starts, reduce, written, new_released = [], [], [], []
            for li, layer in enumerate(self.layers):
                v = layer.vectors
                lower = self._ready(layer, written, n)
                if li + 1 < n_layers:
                    lower = np.maximum(lower, np.repeat(self._slot_bound(li + 1, n, released[li + 1]), v))
                s = _recur(np.broadcast_to(lower, (len(layer.tiles), n * v)).copy(), self._period[li],
                           self._last_start[li])
                ready = (s + self._latency[li][:, None]).max(axis=0)
                rho = np.array([layer.reduce_fs], dtype=np.int64)
                d = _recur(ready[None, :].copy(), rho, np.array([self._last_reduce[li]]))[0]
                starts.append(s)
                reduce.append(d)
                written.append(d + layer.reduce_fs)
                new_released.append(s[:, v - 1 :: v].max(axis=0))
            # Settled when the slots it assumed are the ones it computed (always, if no inference of this chunk
            # waits on another inference of this chunk: n <= B or a single layer).
            if n <= self.buffer or n_layers == 1 or all(
                np.array_equal(a, b) for a, b in zip(released[1:], new_released[1:], strict=True)
            ):
                return starts, reduce, written, new_released
            released = new_released
        return None

    def _commit(self, n: int, solved) -> ChunkSchedule:
        starts, reduce, written, released = solved
        for li in range(len(self.layers)):
            self._last_start[li] = starts[li][:, -1].copy()
            self._last_reduce[li] = int(reduce[li][-1])
            self._released[li] = np.concatenate([self._released[li], released[li]])[-self.buffer:]
        vectors = tuple(layer.vectors for layer in self.layers)
        schedule = ChunkSchedule(self.done, vectors, tuple(starts), tuple(reduce), tuple(written))
        self.done += n
        return schedule

    def advance(self, n: int) -> ChunkSchedule:
        """The times of the next ``n`` inferences; updates the carried state.

        The whole chunk is swept at most ``MAX_SWEEPS`` times; if stalls chain further than that, the chunk
        is solved in blocks of ``B`` inferences, each exact in one sweep (no inference of a block waits on
        another of the same block), so the cost stays linear in ``n``. Both give the same integers.
        """
        solved = self._solve(n, MAX_SWEEPS)
        if solved is not None:
            return self._commit(n, solved)
        first, parts = self.done, []
        for lo in range(0, n, self.buffer):
            size = min(self.buffer, n - lo)
            parts.append(self._commit(size, self._solve(size, 1)))
        cat = lambda xs, axis: tuple(np.concatenate(p, axis=axis) for p in zip(*xs, strict=True))  # noqa: E731
        return ChunkSchedule(first, parts[0].vectors, cat([p.starts for p in parts], 1),
                             cat([p.reduce for p in parts], 0), cat([p.written for p in parts], 0))
