"""The SimPy engine: runs one chip instance, times its actions and posts their costs to the ledger.

Events carry arrays (docs/architecture.md §Events carry arrays): one SimPy event is one hardware action of one tile (or
one layer's digital stage) for one chunk of ``N`` input vectors, with the numbers computed over the whole
chunk by the pure datapath (``memsim.tile.LayerReader``: one fused read per layer). Inside a chunk the
hardware handles the vectors one after another; their times come from ``memsim.pipeline`` (exact max-plus
arithmetic on integer femtoseconds, see its docstring for the timing model: shared ADCs, sample-and-hold
overlap of the next read with the conversions, tiles in parallel, layers pipelined across vectors through
buffers with back-pressure). SimPy orders the chunk-level events: an action event fires at the time that
action starts for the chunk's first vector and posts the whole chunk's count and energy. Once a chunk's
datapath is computed its action events are scheduled at once (a ``Timeout`` per action whose callback
posts the rows; equal times fire in creation order: tile, step, action), so the Python work per event is
constant. The number of events therefore grows with tiles × steps × chunks, not with columns or with
vectors inside a chunk, and a chunked run and a one-vector-at-a-time run agree exactly on outputs,
energies (integer zeptojoules), latency and throughput.

Per-action costs come from the card (``Cost`` of one action × count); the crossbar's cell energy
(``read_energy_model = "cell"``) is the data-dependent ``V²·G·t`` from ``memsim.tile``. At the end of a chip
run the engine adds static power × run time per component kind (``action = "static"``), computed once from
the integer run time so that it is exact and independent of chunking.

With a read-disturb model on the card, the conductances are updated from the read pulses counted so far at
every ``disturb_every`` vectors (chunks are split there), so the update points do not depend on chunking.

Memory: a run holds one chunk of inputs and of every layer's outputs at a time (``on_outputs`` hands them to
the caller; ``keep_outputs`` decides whether they are also kept for the result), plus the per-vector entry
and exit times and the schedules of the timeline window. ``chunk_vectors`` sizes chunks from a memory budget.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial

import numpy as np
import simpy

from memsim.devices.validate import check_int
from memsim.aging import disturb_chip
from memsim.chip import LayerDesign, ProgrammedChip
from memsim.ledger import FS_PER_S, Ledger, LedgerRow, energy_zj
from memsim.pipeline import KINDS, ChunkSchedule, LayerTiming, Pipeline, TileTiming, adc_load
from memsim.tile import BLOCK_BYTES, drive_codes, single_threaded_blas

__all__ = ["Engine", "EngineResult", "Timeline", "adc_load", "available_cores", "chunk_vectors",
           "default_threads", "static_energy_zj"]

# Busy-interval components of the timeline (``Timeline.component`` indexes this tuple).
TIMELINE_COMPONENTS = ("dac", "crossbar", "sample_hold", "adc", "shift_add", "reduce")


@dataclass(frozen=True)
class Timeline:
    """Busy intervals ``[start_fs, stop_fs)`` of every unit for the vectors ``0 .. vectors - 1`` (a window).

    Per interval: ``layer``, ``tile`` (-1: the layer's digital stage), ``component`` (index into
    ``TIMELINE_COMPONENTS``), ``vector``. ``adc`` is the busiest ADC lane of the tile, ``sample_hold`` runs from
    sampling until that step's conversions end. ``total_vectors`` is how many the run had.
    """

    vectors: int
    total_vectors: int
    layer: np.ndarray
    tile: np.ndarray
    component: np.ndarray
    vector: np.ndarray
    start_fs: np.ndarray
    stop_fs: np.ndarray


@dataclass(frozen=True)
class EngineResult:
    """What one chip run produced.

    ``layer_outputs``: int64 (N, outputs) per layer (empty when the engine was told not to keep them);
    ``makespan_fs``: the run time (the last result
    written); ``events``: SimPy events; ``clipped`` per layer; ``entry_fs``/``exit_fs`` (N,): when each
    vector's first action started and its last layer's result was written; ``busy_fs`` and ``units`` per
    component kind (``utilization = busy / (units · makespan)``); ``static_zj`` per kind; ``reads`` per layer,
    (tiles,): array reads of each row group of each tile (every row group is read once per vector and
    kept cycle); ``row_pulses`` per layer, (rows,) read pulses each layer row received
    (reads with a non-zero drive on it); ``layers``: the timing of every layer; ``timeline``: busy intervals
    of the first vectors (or None).
    """

    layer_outputs: tuple[np.ndarray, ...]
    makespan_fs: int
    events: int
    clipped: tuple[int, ...]
    entry_fs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    exit_fs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    busy_fs: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    static_zj: dict = field(default_factory=dict)
    reads: tuple[np.ndarray, ...] = ()
    row_pulses: tuple[np.ndarray, ...] = ()
    layers: tuple[LayerTiming, ...] = ()
    timeline: Timeline | None = None

    @property
    def latency_fs(self) -> np.ndarray:
        """Per-vector latency: result written minus first action (fs)."""
        return self.exit_fs - self.entry_fs

    @property
    def latency_s(self) -> float:
        """Mean latency of one inference over the run (queueing and buffer waits included)."""
        return float(self.latency_fs.mean()) / FS_PER_S if len(self.exit_fs) else float("nan")

    @property
    def first_latency_s(self) -> float:
        """Latency of the first inference, through the empty pipeline: the sum of the stage latencies."""
        return float(self.latency_fs[0]) / FS_PER_S if len(self.exit_fs) else float("nan")

    @property
    def throughput_inf_per_s(self) -> float:
        """Steady-state throughput: results per second between the first and the last result written
        (``(N - 1)/(exit_last - exit_first)``); for one vector, ``1/latency``."""
        n = len(self.exit_fs)
        if n == 0:
            return float("nan")
        span = int(self.exit_fs[-1] - self.exit_fs[0])
        if n == 1 or span == 0:
            lat = int(self.latency_fs[0])
            return FS_PER_S / lat if lat > 0 else float("nan")
        return (n - 1) * FS_PER_S / span

    def utilization(self) -> dict[str, float]:
        """Busy time / (units × run time) per component kind, in [0, 1]."""
        if self.makespan_fs <= 0:
            return {k: 0.0 for k in self.busy_fs}
        return {k: self.busy_fs[k] / (self.units[k] * self.makespan_fs) if self.units.get(k) else 0.0
                for k in self.busy_fs}


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform reports one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads(budget_bytes: int) -> int:
    """Worker threads when none are configured: one per available core, but no more than half the memory
    budget holds work blocks for (``chunk_vectors`` counts ``2·BLOCK_BYTES`` per worker), so that a machine
    with many cores still simulates in large chunks."""
    return max(1, min(available_cores(), int(budget_bytes) // (4 * BLOCK_BYTES)))


def static_energy_zj(power_w: float, units: int, run_fs: int) -> int:
    """``P·units·t`` in zeptojoules, exact: ``zJ = W · fs · 10**6``, rounded once (half to even)."""
    return round(Fraction(power_w) * units * run_fs * 10**6)


def chunk_vectors(design, budget_bytes: int, threads: int = 1) -> int:
    """Vectors per chunk so that what one chunk holds stays within ``budget_bytes`` (at least 1).

    Estimate per vector: the chunk's inputs (float and integer copies, ``32·inputs`` bytes); per layer its
    drive codes and the kept-cycle copies a read takes (``3·T·rows``, uint8), its integer accumulator,
    outputs, reference and float activations (``64·outputs``), and its schedule (``32·(tiles + 2)``). Fixed:
    the fused read's work blocks (``memsim.tile.BLOCK_BYTES`` for each of ``threads`` workers, twice with read
    noise, shared by the layers) and the programmed matrices. Nothing else grows with the chunk: events do
    not, and the inputs outside the chunk are the caller's.
    """
    per_vector = 32 * design.qnet.layers[0].rows + 64
    fixed = 2 * BLOCK_BYTES * max(1, threads)
    for layer in design.layers:
        ql = layer.qlayer
        cycles = layer.cycles
        per_vector += 3 * cycles * ql.rows + 64 * ql.outputs + 32 * (len(layer.mapping.tiles) + 2)
        fixed += 8 * ql.rows * layer.encoded.kinds * ql.outputs
    return max(1, (int(budget_bytes) - fixed) // per_vector)


class _ActionCosts:
    """Per-action energy (zJ) of every component, converted once."""

    def __init__(self, card) -> None:
        self.dac_e = energy_zj(card.dac.drive_cost().energy_j)
        self.read_e = energy_zj(card.crossbar.e_array_read_j)
        self.sh_e = energy_zj(card.sample_hold.sample_cost().energy_j)
        self.conv_e = energy_zj(card.adc.conversion_cost().energy_j)
        self.sa_e = energy_zj(card.shift_add.op_cost().energy_j)
        self.reg_bit_e = energy_zj(card.register.access_cost(1).energy_j)
        self.feed_bit_e = energy_zj(card.register.feed_cost(1).energy_j)
        self.acc_e = energy_zj(card.register.accumulate_cost().energy_j)


class Engine:
    """Runs batches through one programmed chip, posting every action to ``ledger`` under ``chip_index``.

    ``buffer_vectors``: capacity of each inter-layer buffer (vectors); ``timeline_vectors``: how many of the
    first vectors get busy intervals recorded (0: none); ``disturb_every``: vectors between read-disturb
    updates (used only when the card has a disturb model). ``on_chunk(n)`` is called after each chunk of
    ``n`` vectors; ``on_outputs(start, inputs, outputs)`` with the chunk's first vector index, its integer
    inputs and every layer's int64 outputs (N, outputs), so that a caller can reduce them chunk by chunk;
    ``keep_outputs=False`` then drops them (``EngineResult.layer_outputs`` is empty), which keeps a long
    run's memory bounded. ``threads``: worker threads of the fused read (0: one per core this process may
    run on); results do not depend on it. With more than one, BLAS runs single-threaded in this process for
    the duration of ``run`` (``memsim.tile.single_threaded_blas``): the workers own the cores.
    """

    def __init__(
        self,
        chip: ProgrammedChip,
        ledger: Ledger,
        chip_index: int,
        rng: np.random.Generator,
        on_chunk: Callable[[int], None] | None = None,
        buffer_vectors: int = 2,
        timeline_vectors: int = 0,
        disturb_every: int = 64,
        on_outputs: Callable[[int, np.ndarray, list[np.ndarray]], None] | None = None,
        keep_outputs: bool = True,
        threads: int = 0,
    ) -> None:
        self.chip = chip
        self.design = chip.design
        self.card = chip.design.card
        self.ledger = ledger
        self.chip_index = chip_index
        self.rng = rng
        self.on_chunk = on_chunk
        self.on_outputs = on_outputs
        self.keep_outputs = keep_outputs
        self.threads = check_int("threads", threads, 0, 1024) or available_cores()
        self.costs = _ActionCosts(self.card)
        self.timing = self.design.timing
        self.pipeline = Pipeline(self.timing, buffer_vectors)
        self.timeline_vectors = timeline_vectors
        if not isinstance(disturb_every, int) or disturb_every < 1:
            raise ValueError(f"timing.disturb_update_vectors = {disturb_every!r} is out of range; allowed >= 1")
        self.disturb_every = disturb_every
        self.env = simpy.Environment()
        self._fire = self._make_fire()
        self._events = 0

    def _post(self, layer: int, tile: int, component: str, action: str, count: int, e_zj: int) -> None:
        self.ledger.post(self.env.now, self.chip_index, layer, tile, component, action, count, e_zj)

    def _wait_until(self, t_fs: int):
        self._events += 1
        return self.env.timeout(max(0, int(t_fs) - int(self.env.now)))

    def _make_fire(self):
        """The callback of every action event: post its rows (the event's value, ledger rows built when the
        event was scheduled, stamped with its time)."""
        extend = self.ledger.extend

        def fire(event) -> None:
            extend(event.value)

        return fire

    def _schedule(self, actions: list) -> None:
        """One SimPy event per ``(time, posts)`` action, in the order given (equal times keep that order)."""
        env, fire, now, chip = self.env, self._fire, self.env.now, self.chip_index
        timeout = simpy.events.Timeout
        for t, posts in actions:
            at = max(t, now)
            timeout(env, at - now, tuple(LedgerRow(at, chip, *p) for p in posts)).callbacks.append(fire)
        self._events += len(actions)

    def _schedule_tile(self, timing: TileTiming, read, n: int, t0: int) -> None:
        """The action events of one tile for a chunk whose first vector starts at ``t0``: per step drive,
        read, sample, convert, shift-and-add. They are created step by step; SimPy fires them in time order,
        equal times in creation order (step, then action), so no sort is needed. Each event carries its
        ledger rows, stamped with its time."""
        c, tt = self.costs, timing.times
        li, ti, chip = timing.layer, timing.tile, self.chip_index
        env, fire = self.env, self._fire
        now = env.now
        timeout = simpy.events.Timeout
        row = partial(tuple.__new__, LedgerRow)
        offsets = np.array([0, tt.dac, tt.dac + tt.read, tt.analog, tt.analog + tt.conv], dtype=np.int64)
        times = np.maximum(timing.start_fs[:, None] + offsets + t0, now).tolist()  # absolute, never past
        fed_per_row = n * self.card.dac.bits
        conversions = read.conversions.tolist()
        driven_rows = read.driven_rows.tolist()
        clipped = read.clipped.tolist()
        cell = read.cell_energy_zj
        read_e = n * c.read_e
        dac_e, feed_e, conv_e, sh_e, sa_e, acc_e = c.dac_e, c.feed_bit_e, c.conv_e, c.sh_e, c.sa_e, c.acc_e
        for (g, t), (t0_, t1, t2, t3, t4), rows in zip(timing.steps.tolist(), times, timing.rows.tolist()):
            conv = conversions[g][t]
            driven = driven_rows[g][t]
            fed = rows * fed_per_row
            cvt = [row((t3, chip, li, ti, "adc", "convert", conv, conv * conv_e))]
            if clipped[g][t]:
                cvt.append(row((t3, chip, li, ti, "adc", "clip", clipped[g][t], 0)))
            timeout(env, t0_ - now, (row((t0_, chip, li, ti, "dac", "drive", driven, driven * dac_e)),
                                     row((t0_, chip, li, ti, "register", "feed", fed, fed * feed_e)))
                    ).callbacks.append(fire)
            timeout(env, t1 - now, (row((t1, chip, li, ti, "crossbar", "read", n, read_e + int(cell[g, t]))),)
                    ).callbacks.append(fire)
            timeout(env, t2 - now, (row((t2, chip, li, ti, "sample_hold", "sample", conv, conv * sh_e)),)
                    ).callbacks.append(fire)
            timeout(env, t3 - now, cvt).callbacks.append(fire)
            timeout(env, t4 - now, (row((t4, chip, li, ti, "shift_add", "shift_add", conv, conv * sa_e)),
                                    row((t4, chip, li, ti, "register", "accumulate", conv, conv * acc_e)))
                    ).callbacks.append(fire)
        self._events += 5 * len(timing.steps)

    def _datapath(self, readers, qx: np.ndarray):
        """The pure bit-true computation of one chunk through every layer (random draws in a fixed order:
        layer, then ``LayerReader.read``'s order). Returns per layer: (tile activity, outputs, clipped,
        digital ops, input bits, output bits, read pulses per row)."""
        out = []
        x = qx
        d = self.card.dac.bits
        for layer, reader in zip(self.design.layers, readers):
            ql = layer.qlayer
            n = x.shape[0]
            drives = drive_codes(x, ql.in_format.bits, d)
            digital_ops = n * ql.outputs * layer.mapping.row_blocks
            input_sum = None
            if layer.encoded.input_coeff:  # the encoding's exact digital correction
                input_sum = layer.encoded.input_coeff * x.sum(axis=1, keepdims=True)
                digital_ops += n * (ql.rows + ql.outputs)
            read = reader.read(drives, self.rng, ql.bias_q + layer.discard.compensation, input_sum, self.threads)
            y = ql.finish(read.partial)
            pulses = read.nonzero.sum(axis=0)
            out.append((read.activity, y, int(sum(int(a.clipped.sum()) for a in read.activity)), digital_ops,
                        n * ql.rows * ql.in_format.bits, n * ql.outputs * layer.output_bits, pulses))
            x = y
        return out

    def _digital(self, layer: LayerDesign, ops: int, in_bits: int, out_bits: int) -> list:
        """The posts of one layer's digital stage for a chunk: reduction and register traffic."""
        c = self.costs
        li = layer.qlayer.index
        return [(li, -1, "shift_add", "reduce", ops, ops * c.sa_e),
                (li, -1, "register", "read", in_bits, in_bits * c.reg_bit_e),
                (li, -1, "register", "write", out_bits, out_bits * c.reg_bit_e)]

    def _chunks(self, total: int, chunk: int) -> list[tuple[int, int]]:
        """Chunk bounds: every ``chunk`` vectors, split at read-disturb update points when the card has one."""
        cuts = set(range(0, total, chunk)) | {total}
        if not self.card.cell.disturb.is_zero:
            cuts |= set(range(0, total, self.disturb_every))
        cuts = sorted(cuts)
        return list(zip(cuts[:-1], cuts[1:]))

    def _run(self, qx, chunk: int, state: dict):
        chip = self.chip
        readers = chip.readers
        pulses = [np.zeros(l.qlayer.rows, dtype=np.int64) for l in self.design.layers]
        for start, stop in self._chunks(qx.shape[0], chunk):
            if start and start % self.disturb_every == 0 and not self.card.cell.disturb.is_zero:
                chip = disturb_chip(self.chip, pulses)
                readers = chip.readers
            n = stop - start
            sched = self.pipeline.advance(n)
            state["entry"].append(sched.entry)
            state["exit"].append(sched.exit)
            if sched.first < self.timeline_vectors:
                state["schedules"].append(sched)
            yield self._wait_until(int(sched.entry[0]))
            inputs = np.asarray(qx[start:stop], dtype=np.int64)
            layers = self._datapath(readers, inputs)
            for li, (layer, timing, res) in enumerate(zip(self.design.layers, self.timing, layers)):
                activity, y, n_clip, ops, in_bits, out_bits, layer_pulses = res
                if self.keep_outputs:
                    state["outputs"][li].append(y)
                state["clipped"][li] += n_clip
                pulses[li] += layer_pulses
                for ti, (tt, act) in enumerate(zip(timing.tiles, activity)):
                    self._schedule_tile(tt, act, n, int(sched.starts[li][ti, 0]))
                self._schedule([(int(sched.reduce[li][0]), self._digital(layer, ops, in_bits, out_bits))])
            if self.on_outputs is not None:
                self.on_outputs(start, inputs, [res[1] for res in layers])
            if self.on_chunk is not None:
                self.on_chunk(n)
        state["pulses"] = pulses
        if state["exit"]:
            yield self._wait_until(int(state["exit"][-1][-1]))


    def _units(self) -> dict[str, int]:
        """Units of each kind whose busy time is reported: per tile one DAC bank, crossbar and sample-and-hold
        bank, ``n_adcs`` ADCs and as many shift-and-add units; per layer one reduction unit and one register."""
        tiles = sum(len(l.tiles) for l in self.timing)
        n_adcs = self.card.crossbar.n_adcs
        layers = len(self.timing)
        return {"dac": tiles, "crossbar": tiles, "sample_hold": tiles, "adc": tiles * n_adcs,
                "shift_add": tiles * n_adcs + layers, "register": layers}

    def _static_units(self) -> dict[str, int]:
        """Instances that draw each card's ``p_static_w``: per tile ``rows`` DACs, one array, ``cols``
        sample-and-holds, ``n_adcs`` ADCs and shift-and-adds, one register set; per layer one reduction
        unit and one register set."""
        xbar = self.card.crossbar
        tiles = sum(len(l.tiles) for l in self.timing)
        layers = len(self.timing)
        return {"dac": tiles * xbar.rows, "crossbar": tiles, "sample_hold": tiles * xbar.cols,
                "adc": tiles * xbar.n_adcs, "shift_add": tiles * xbar.n_adcs + layers,
                "register": tiles + layers}

    def _busy(self, n: int) -> dict[str, int]:
        busy = {k: 0 for k in KINDS}
        for layer in self.timing:
            for unit in (*layer.tiles, layer):
                for k, v in unit.busy_fs().items():
                    busy[k] += n * v
        return busy

    def _post_static(self, makespan: int) -> dict[str, int]:
        card = self.card
        powers = {"dac": card.dac.p_static_w, "crossbar": card.crossbar.p_static_w,
                  "sample_hold": card.sample_hold.p_static_w, "adc": card.adc.p_static_w,
                  "shift_add": card.shift_add.p_static_w, "register": card.register.p_static_w}
        units = self._static_units()
        out = {}
        for kind in KINDS:
            e = static_energy_zj(powers[kind], units[kind], makespan)
            out[kind] = e
            if e:
                self._post(-1, -1, kind, "static", units[kind], e)
        return out

    def _timeline(self, schedules: list[ChunkSchedule], total: int) -> Timeline | None:
        window = min(self.timeline_vectors, total)
        if window <= 0:
            return None
        cols = {k: [] for k in ("layer", "tile", "component", "vector", "start", "stop")}

        def add(layer, tile, comp, vec, start, stop):
            m = len(start)
            cols["layer"].append(np.full(m, layer, np.int32))
            cols["tile"].append(np.full(m, tile, np.int32))
            cols["component"].append(np.full(m, TIMELINE_COMPONENTS.index(comp), np.int8))
            cols["vector"].append(np.full(m, vec, np.int64))
            cols["start"].append(np.asarray(start, np.int64))
            cols["stop"].append(np.asarray(stop, np.int64))

        for sched in schedules:
            for j in range(min(len(sched.exit), window - sched.first)):
                vec = sched.first + j
                for li, layer in enumerate(self.timing):
                    for ti, tt in enumerate(layer.tiles):
                        r = int(sched.starts[li][ti, j]) + tt.start_fs
                        t = tt.times
                        c0 = r + t.analog
                        add(li, tt.tile, "dac", vec, r, r + t.analog)
                        add(li, tt.tile, "crossbar", vec, r + t.dac, r + t.dac + t.read)
                        add(li, tt.tile, "sample_hold", vec, r + t.dac + t.read, c0 + tt.lane_fs)
                        add(li, tt.tile, "adc", vec, c0, c0 + tt.lane_fs)
                        add(li, tt.tile, "shift_add", vec, c0 + t.conv, c0 + tt.lane_fs + t.tail)
                    d = int(sched.reduce[li][j])
                    add(li, -1, "reduce", vec, [d], [d + layer.reduce_fs])
            if sched.first + len(sched.exit) >= window:
                break
        cat = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}
        return Timeline(window, total, cat["layer"], cat["tile"], cat["component"], cat["vector"], cat["start"],
                        cat["stop"])

    def run(self, qx, chunk: int) -> EngineResult:
        """Simulate ``qx`` (N × inputs, unsigned integers in the input format) in chunks of ``chunk`` vectors.

        ``qx`` may be any object with ``shape`` and slicing that yields integer arrays (e.g. inputs quantized
        lazily, chunk by chunk); only one chunk of it is held at a time.
        """
        if chunk < 1:
            raise ValueError(f"batch = {chunk} is out of range; allowed >= 1")
        if not hasattr(qx, "shape"):
            qx = np.asarray(qx, dtype=np.int64)
        n_layers = len(self.design.layers)
        state = {"outputs": [[] for _ in range(n_layers)], "clipped": [0] * n_layers, "schedules": [],
                 "entry": [], "exit": []}
        self.env.process(self._run(qx, chunk, state))
        with single_threaded_blas() if self.threads > 1 else nullcontext():  # the read's workers own the cores
            self.env.run()
        entry = np.concatenate(state["entry"]) if state["entry"] else np.zeros(0, np.int64)
        exit_ = np.concatenate(state["exit"]) if state["exit"] else np.zeros(0, np.int64)
        makespan = int(exit_[-1]) if len(exit_) else 0
        total = qx.shape[0]
        reads = tuple(
            np.full(len(l.mapping.tiles), total * int(l.keep_kinds.any(axis=1).sum()), dtype=np.int64)
            for l in self.design.layers
        )
        outputs = ()
        if self.keep_outputs:
            outputs = tuple(np.concatenate(o) if o else np.zeros((0, l.qlayer.outputs), np.int64)
                            for o, l in zip(state["outputs"], self.design.layers))
        return EngineResult(
            outputs,
            makespan,
            self._events,
            tuple(state["clipped"]),
            entry,
            exit_,
            self._busy(total),
            self._units(),
            self._post_static(makespan),
            reads,
            tuple(state.get("pulses", ())),
            self.timing,
            self._timeline(state["schedules"], total),
        )
