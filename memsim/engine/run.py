"""The engine: runs one chip instance over a set of inferences, chunk by chunk, and posts every action.

Three pieces, each readable on its own, meet here:

- the datapath (``memsim.engine.datapath``): the bit-true numbers of one chunk through every layer, and what
  the hardware did to get them (``LayerChunk``);
- the schedule (``memsim.pipeline``): when every tile and layer handles every inference, exact max-plus
  arithmetic on integer femtoseconds (shared ADCs, sample-and-hold overlap, tiles in parallel, layers
  pipelined through buffers with back-pressure), and SimPy, which orders the action events
  (``memsim.engine.scheduler``);
- the posting (``memsim.engine.posting``): every action priced from the components' declared costs into
  ledger rows.

Events carry arrays (docs/architecture.md §Events carry arrays): one SimPy event is one hardware action of
one tile (or one layer's digital stage) for a whole chunk of inferences, fired at the time that action
starts for the chunk's first vector and posting the whole chunk's count and energy. A chunked run and a
one-vector-at-a-time run therefore agree exactly on
outputs, energies (integer zeptojoules), latency and throughput; chunk size is a performance choice only.
At the end of a chip run the engine adds static power × run time per component kind, exactly.

With a read-disturb model on the card, the conductances are updated from the read pulses counted so far at
every ``disturb_every`` inferences (chunks are split there), so the update points do not depend on chunking.

Memory: a run holds one chunk of inputs and of every layer's outputs at a time (``on_outputs`` hands them to
the caller; ``keep_outputs`` decides whether they are also kept for the result), plus the per-inference entry
and exit times and the schedules of the timeline window (``memsim.engine.resources.chunk_vectors`` sizes
chunks from a memory budget).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from memsim.aging import disturb_chip
from memsim.chip import ProgrammedChip
from memsim.devices.validate import check_int
from memsim.engine.datapath import run_chunk
from memsim.engine.posting import ActionPrices, conversion_prices, digital_rows, static_rows, tile_events
from memsim.engine.resources import available_cores
from memsim.engine.scheduler import Scheduler
from memsim.engine.timeline import Timeline, build_timeline
from memsim.files import check_interrupted
from memsim.ledger import FS_PER_S, Ledger
from memsim.pipeline import ChunkSchedule, LayerTiming, Pipeline, busy_fs, busy_units
from memsim.tile import single_threaded_blas


@dataclass(frozen=True)
class EngineOptions:
    """How the engine runs a chip; none of it changes a result except ``buffer_vectors`` (hardware) and the
    window ``timeline_vectors`` (what is recorded).

    ``buffer_vectors``: capacity of each inter-layer buffer, in inferences; ``timeline_vectors``: how many of
    the first inferences get busy intervals recorded (0: none); ``disturb_every``: inferences between
    read-disturb updates (used only when the card has a disturb model); ``keep_outputs``: keep every layer's
    outputs for the result (False keeps a long run's memory bounded); ``threads``: worker threads of the
    fused read (0: one per core this process may run on; results do not depend on it — with more than one,
    BLAS runs single-threaded in this process for the run, ``memsim.tile.single_threaded_blas``).
    """

    buffer_vectors: int = 2
    timeline_vectors: int = 0
    disturb_every: int = 64
    keep_outputs: bool = True
    threads: int = 0

    def __post_init__(self) -> None:
        check_int("timing.buffer_vectors", self.buffer_vectors, 1)
        check_int("timing.timeline_vectors", self.timeline_vectors, 0)
        check_int("timing.disturb_update_vectors", self.disturb_every, 1)
        check_int("threads", self.threads, 0, 1024)


@dataclass(frozen=True)
class EngineResult:
    """What one chip run produced.

    ``layer_outputs``: int64 (N, out_features) per layer (empty when the engine was told not to keep them);
    ``makespan_fs``: the run time (the last result written); ``events``: SimPy events; ``clipped`` per layer;
    ``entry_fs``/``exit_fs`` (N,): when each inference's first action started and its last layer's result was
    written; ``busy_fs`` and ``units`` per component kind (``utilization = busy / (units · makespan)``);
    ``static_zj`` per kind; ``reads`` per layer, (tiles,): array reads of each row group of each tile (every
    row group is read once per input vector and kept cycle); ``row_pulses`` per layer, (rows,) read pulses
    each layer row received (reads with a non-zero drive on it); ``layers``: the timing of every layer;
    ``timeline``: busy intervals of the first inferences (or None).
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
        """Per-inference latency: result written minus first action (fs)."""
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
        (``(N - 1)/(exit_last - exit_first)``); for one inference, ``1/latency``."""
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


@dataclass
class _Run:
    """What a run accumulates chunk by chunk (per layer: outputs kept, clipped conversions, row pulses)."""

    outputs: list[list[np.ndarray]]
    clipped: list[int]
    pulses: list[np.ndarray]
    entry: list[np.ndarray] = field(default_factory=list)
    exit: list[np.ndarray] = field(default_factory=list)
    schedules: list[ChunkSchedule] = field(default_factory=list)


class Engine:
    """Runs inferences through one programmed chip, posting every action to ``ledger`` under ``chip_index``.

    ``rng`` draws the read noise; ``options``: ``EngineOptions``. ``on_chunk(n)`` is called after each chunk
    of ``n`` inferences; ``on_outputs(start, inputs, outputs)`` with the chunk's first inference index, its
    integer inputs and every layer's int64 outputs, so that a caller can reduce them chunk by chunk.
    """

    def __init__(
        self,
        chip: ProgrammedChip,
        ledger: Ledger,
        chip_index: int,
        rng: np.random.Generator,
        options: EngineOptions | None = None,
        on_chunk: Callable[[int], None] | None = None,
        on_outputs: Callable[[int, np.ndarray, list[np.ndarray]], None] | None = None,
    ) -> None:
        self.chip = chip
        self.design = chip.design
        self.card = chip.design.card
        self.ledger = ledger
        self.chip_index = chip_index
        self.rng = rng
        self.options = EngineOptions() if options is None else options
        self.on_chunk = on_chunk
        self.on_outputs = on_outputs
        self.threads = self.options.threads or available_cores()
        self.prices = ActionPrices(self.card)
        # Per layer: its ADC resolution prices its conversions (layers at the card's share the card's prices).
        self.layer_prices = tuple(self.prices if card is self.card else ActionPrices(card)
                                  for card in self.design.layer_cards)
        # Layers whose partial sums convert at several resolutions price each cycle's conversions apart.
        self.layer_conversions = tuple(conversion_prices(card, layer.keep_kinds, layer.coarse_kinds)
                                       for card, layer in zip(self.design.layer_cards, self.design.layers,
                                                              strict=True))
        self.timing = self.design.timing
        self.pipeline = Pipeline(self.timing, self.options.buffer_vectors)
        self.scheduler = Scheduler(ledger, chip_index)

    def _chunks(self, total: int, chunk: int) -> list[tuple[int, int]]:
        """Chunk bounds: every ``chunk`` inferences, split at read-disturb update points when the card has one."""
        cuts = set(range(0, total, chunk)) | {total}
        if not self.card.cell.disturb.is_zero:
            cuts |= set(range(0, total, self.options.disturb_every))
        cuts = sorted(cuts)
        return list(zip(cuts[:-1], cuts[1:], strict=True))

    def _process(self, qx, chunk: int, run: _Run):
        """The SimPy process of a chip run: per chunk, wait for its first inference's start, compute its
        datapath, and schedule its action events at the pipeline's times."""
        chip, sched_events, opts = self.chip, self.scheduler, self.options
        readers = chip.readers
        disturb = not self.card.cell.disturb.is_zero
        for start, stop in self._chunks(qx.shape[0], chunk):
            check_interrupted()
            if start and disturb and start % opts.disturb_every == 0:
                chip = disturb_chip(self.chip, run.pulses)
                readers = chip.readers
            n = stop - start
            sched = self.pipeline.advance(n)
            run.entry.append(sched.entry)
            run.exit.append(sched.exit)
            if sched.first < opts.timeline_vectors:
                run.schedules.append(sched)
            yield sched_events.wait_until(int(sched.entry[0]))
            inputs = np.asarray(qx[start:stop], dtype=np.int64)
            layers = run_chunk(self.design, readers, inputs, self.rng, self.threads)
            for li, (layer, timing, res) in enumerate(zip(self.design.layers, self.timing, layers, strict=True)):
                if opts.keep_outputs:
                    run.outputs[li].append(res.outputs)
                run.clipped[li] += res.clipped
                run.pulses[li] += res.row_pulses
                now = sched_events.now
                for ti, (tt, activity) in enumerate(zip(timing.tiles, res.activity, strict=True)):
                    sched_events.schedule(tile_events(self.layer_prices[li], self.chip_index, tt, activity,
                                                      res.vectors, int(sched.starts[li][ti, 0]), now,
                                                      self.layer_conversions[li]))
                sched_events.schedule_rows(int(sched.reduce[li][0]), digital_rows(
                    self.prices, layer.qlayer.index, res.digital_ops, res.input_bits, res.output_bits, res.pool_ops))
            if self.on_outputs is not None:
                self.on_outputs(start, inputs, [res.outputs for res in layers])
            if self.on_chunk is not None:
                self.on_chunk(n)
        if run.exit:
            yield sched_events.wait_until(int(run.exit[-1][-1]))

    def run(self, qx, chunk: int) -> EngineResult:
        """Simulate ``qx`` (N inferences × network inputs, unsigned integers in the input format) in chunks of
        ``chunk`` inferences.

        ``qx`` may be any object with ``shape`` and slicing that yields integer arrays (e.g. inputs quantized
        lazily, chunk by chunk); only one chunk of it is held at a time.
        """
        if chunk < 1:
            raise ValueError(f"batch = {chunk} is out of range; allowed >= 1")
        if not hasattr(qx, "shape"):
            qx = np.asarray(qx, dtype=np.int64)
        layers = self.design.layers
        run = _Run([[] for _ in layers], [0] * len(layers), [np.zeros(l.qlayer.rows, np.int64) for l in layers])
        with single_threaded_blas() if self.threads > 1 else nullcontext():  # the read's workers own the cores
            self.scheduler.run(self._process(qx, chunk, run))
        entry = np.concatenate(run.entry) if run.entry else np.zeros(0, np.int64)
        exit_ = np.concatenate(run.exit) if run.exit else np.zeros(0, np.int64)
        makespan = int(exit_[-1]) if len(exit_) else 0
        total = qx.shape[0]
        tiles = sum(len(t.tiles) for t in self.timing)
        static = static_rows(self.card, tiles, len(self.timing), makespan)
        for row in static.values():
            self.scheduler.post_now(row)
        reads = tuple(
            np.full(len(l.mapping.tiles), total * l.vectors_per_inference * int(l.keep_kinds.any(axis=1).sum()),
                    dtype=np.int64)
            for l in layers
        )
        outputs = ()
        if self.options.keep_outputs:
            outputs = tuple(np.concatenate(o) if o else np.zeros((0, l.qlayer.out_features), np.int64)
                            for o, l in zip(run.outputs, layers, strict=True))
        return EngineResult(
            outputs,
            makespan,
            self.scheduler.events,
            tuple(run.clipped),
            entry,
            exit_,
            busy_fs(self.timing, total),
            busy_units(self.timing, self.card.crossbar.n_adcs),
            {kind: static[kind][5] if kind in static else 0 for kind in self.card.components()},
            reads,
            tuple(run.pulses),
            self.timing,
            build_timeline(self.timing, run.schedules, self.options.timeline_vectors, total),
        )
