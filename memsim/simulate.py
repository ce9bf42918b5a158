"""``memsim simulate`` as a library call: config in, results (and optionally an HDF5 trace) out.

Data flow (docs/architecture.md §Data flow): load the card, network and data; quantize with formats calibrated on a
calibration set; encode and map onto tiles; then, per chip instance, program the cells (device variation
drawn once per chip from that chip's own generator, seeded from the run's seed and the chip's index) and run
every vector through the SimPy engine, which posts every action to the one ledger. Metrics come from the
outputs and the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from memsim import metrics
from memsim.area import area_figures, chip_area
from memsim.devices.card import DeviceCard
from memsim.aging import age_chip
from memsim.chip import ChipDesign, design_chip, plan_discards, program_chip
from memsim.config import SimConfig
from memsim.figures import RunMeasurements, headline_figures
from memsim.files import check_interrupted
from memsim.workload.datasets import BUILTIN_DATASETS, Dataset, builtin_dataset, load_dataset
from memsim.encoding import input_cycles, slices_needed
from memsim.engine import Engine, EngineOptions, EngineResult, Timeline, chunk_vectors, default_threads
from memsim.workload.fixedpoint import bit_length
from memsim.ledger import FS_PER_S, ZJ_PER_J, Ledger
from memsim.tile import floor_levels
from memsim.workload.network import BUILTIN_NETWORKS, Network, builtin_network, load_network
from memsim.workload.onnx_import import load_onnx
from memsim.planning.plan import Plan, check_plan_fits
from memsim.workload.quantize import quantize_network


@dataclass(frozen=True)
class Workload:
    """The network, the evaluation data and the data its fixed-point formats are calibrated on."""

    network: Network
    data: Dataset
    calibration: Dataset


@dataclass(frozen=True)
class ChipOutcome:
    """Results of one chip instance over the whole evaluation set."""

    chip: int
    accuracy: float
    bit_exact_rate: float
    energy_zj: int
    makespan_fs: int
    events: int
    clipped: tuple[int, ...]
    # Per layer, outputs counted by error_bit_length(|hardware - reference|): entry 0 counts the outputs
    # equal to the zero-variation reference, entry b + 1 those whose error's highest set bit is b.
    error_bits: tuple[tuple[int, ...], ...] = ()
    # Timing from the pipeline (memsim.engine.EngineResult): mean and first-inference latency, steady-state
    # throughput, busy time and units per component kind, static energy per kind (zJ), array reads per
    # tile row group and read pulses per row of each layer, stage latency/period per layer (fs), and the
    # busy intervals of the first vectors (chip 0 only).
    latency_s: float = float("nan")
    first_latency_s: float = float("nan")
    throughput_inf_per_s: float = float("nan")
    utilization: dict = field(default_factory=dict)
    busy_fs: dict = field(default_factory=dict)
    static_zj: dict = field(default_factory=dict)
    reads: tuple = ()
    row_pulses: tuple = ()
    stages: tuple = ()
    timeline: Timeline | None = None
    # Per input, from the last layer's outputs (read-only arrays; None when the caller recorded none):
    # ``predictions`` (int32, (N,)): the predicted class of every evaluation input, the argmax of the last
    # layer's outputs (the first maximum on a tie), in input order; ``confusion`` (int64, classes × classes):
    # inputs counted by true label (row) and prediction (column); ``logits`` (int64, (N, outputs)), kept only
    # when ``config.outputs = "logits"``: the last layer's integer outputs (its accumulators), in steps of
    # ``SimResult.logits_lsb``.
    predictions: np.ndarray | None = None
    confusion: np.ndarray | None = None
    logits: np.ndarray | None = None

    @property
    def energy_j(self) -> float:
        return self.energy_zj / ZJ_PER_J

    @property
    def makespan_s(self) -> float:
        return self.makespan_fs / FS_PER_S


@dataclass(frozen=True)
class SimResult:
    config: SimConfig
    card: DeviceCard
    design: ChipDesign
    workload: Workload
    accuracy_float: float
    accuracy_quantized: float
    chips: tuple[ChipOutcome, ...]
    ledger: Ledger

    @property
    def inferences(self) -> int:
        return int(self.workload.data.x.shape[0])

    @property
    def macs_per_inference(self) -> int:
        return int(self.workload.network.macs_per_inference)

    @property
    def labels(self) -> np.ndarray:
        """The true class of every evaluation input (int64, (N,))."""
        return self.workload.data.y

    @property
    def n_classes(self) -> int:
        """Rows and columns of the confusion matrices: the last layer's outputs, or more when a label is larger."""
        return class_count(self.design, self.labels)

    @property
    def logits_frac_bits(self) -> int:
        """Fractional bits of the logits: the last layer's accumulator is in steps of ``2**-(fx + fw)``."""
        last = self.design.layers[-1].qlayer
        return last.in_format.frac_bits + last.w_format.frac_bits

    @property
    def logits_lsb(self) -> float:
        """The value of one logit step in the float network's output units: ``logits × logits_lsb`` is the
        last layer's output on the float network's scale (``2**-logits_frac_bits``)."""
        return self.design.layers[-1].qlayer.acc_lsb

    def confusion(self) -> np.ndarray:
        """The confusion matrix summed over chip instances (int64, classes × classes; rows true label, columns
        prediction): it sums to inputs × chips (over the chips that recorded one)."""
        if self.n_classes > CONFUSION_MAX_CLASSES:
            raise ValueError(f"network {self.workload.network.name!r} has {self.n_classes} outputs; memsim keeps "
                             f"confusion matrices for at most {CONFUSION_MAX_CLASSES} classes")
        total = np.zeros((self.n_classes,) * 2, dtype=np.int64)
        for c in self.chips:
            if c.confusion is not None:
                total += c.confusion
        return total

    def accuracy_per_class(self) -> np.ndarray:
        """Per true label, the fraction of its inputs predicted right over all chip instances (the mean of the
        chips' per-class accuracies, as every chip sees the same inputs); NaN for a label without inputs."""
        return metrics.class_accuracy(self.confusion())

    @cached_property
    def conversions(self) -> int:
        """ADC conversions per chip run."""
        counts = self.ledger.counts()
        return counts.get(("adc", "convert"), 0) // len(self.chips)

    def summary(self) -> dict:
        """Headline figures (the ``--json`` object, ``memsim.figures.headline_figures``). Energies and times are
        per chip run unless named per inference; accuracy and energy are means over chip instances. The
        ledger's exact integers are reduced here: ``energy_j = Σ_c E_c[zJ] / C / ZJ_PER_J``, likewise per
        component, for the static energy and for the run time (fs)."""
        chips = self.chips
        n_chips = len(chips)
        area = area_figures(chip_area(self.design))
        return headline_figures(RunMeasurements(
            card=self.card.name,
            network=self.workload.network.name,
            dataset=self.workload.data.name,
            seed=self.config.seed,
            inferences=self.inferences,
            macs_per_inference=self.macs_per_inference,
            accuracy_float=self.accuracy_float,
            accuracy_quantized=self.accuracy_quantized,
            accuracy_per_chip=tuple(c.accuracy for c in chips),
            bit_exact_rate_per_chip=tuple(c.bit_exact_rate for c in chips),
            energy_j=sum(c.energy_zj for c in chips) / n_chips / ZJ_PER_J,
            energy_by_component_j={k: v / n_chips / ZJ_PER_J for k, v in self.ledger.by("component").items()},
            run_time_s=sum(c.makespan_fs for c in chips) / n_chips / FS_PER_S,
            adc_conversions_total=self.ledger.counts().get(("adc", "convert"), 0),
            adc_clipped_total=sum(sum(c.clipped) for c in chips),
            tiles=self.design.tiles,
            events=sum(c.events for c in chips),
            trace=self.config.trace or None,
            latency_s_per_chip=tuple(c.latency_s for c in chips),
            first_latency_s_per_chip=tuple(c.first_latency_s for c in chips),
            throughput_inf_per_s_per_chip=tuple(c.throughput_inf_per_s for c in chips),
            utilization_per_chip=tuple(c.utilization for c in chips),
            static_energy_j=sum(sum(c.static_zj.values()) for c in chips) / n_chips / ZJ_PER_J,
            stages_s=tuple((latency / FS_PER_S, period / FS_PER_S, vectors, buffer)
                           for latency, period, vectors, buffer in chips[0].stages),
            age_s=self.config.age_s,
            classes=self.n_classes if self.n_classes <= CONFUSION_MAX_CLASSES else None,
            **area,
        ))


def load_workload(config: SimConfig) -> Workload:
    """Resolve built-in names, ``.npz`` paths or (networks) ``.onnx`` paths. Built-in digits calibrate on their
    calibration split; a user's data calibrates on itself (only the power-of-two activation ranges are taken
    from it)."""
    if config.network in BUILTIN_NETWORKS:
        network = builtin_network(config.network)
    elif config.network.endswith(".npz"):
        network = load_network(config.network)
    elif config.network.endswith(".onnx"):
        network = load_onnx(config.network)
    else:
        raise ValueError(
            f"workload.network = {config.network!r} is neither a built-in network ({', '.join(BUILTIN_NETWORKS)}) "
            "nor an .npz or .onnx path"
        )
    if config.data in BUILTIN_DATASETS:
        data = builtin_dataset(config.data, config.split)
        calibration = builtin_dataset(config.data, "calibration")
    elif config.data.endswith(".npz"):
        data = load_dataset(config.data)
        calibration = data
    else:
        raise ValueError(
            f"workload.data = {config.data!r} is neither a built-in dataset ({', '.join(BUILTIN_DATASETS)}) "
            "nor an .npz path"
        )
    data, calibration = (fit_to_network(d, network) for d in (data, calibration))
    return Workload(network, data, calibration)


def fit_to_network(data: Dataset, network: Network) -> Dataset:
    """``data`` with each input shaped as ``network.input_shape``: as it is, or a flat (or otherwise shaped) input
    of the same size reshaped in C order (the built-in digits are 64 pixels; an image network takes them as
    (1, 8, 8)). One-line errors when the sizes differ or a label is not one of the network's outputs."""
    shape = data.x.shape[1:]
    if shape != network.input_shape:
        if int(np.prod(shape)) != network.in_features:
            raise ValueError(
                f"data {data.name!r} has inputs of shape {shape} ({int(np.prod(shape))} features) but network "
                f"{network.name!r} takes {network.input_shape} ({network.in_features} inputs)"
            )
        data = Dataset(data.name, data.x.reshape(len(data.x), *network.input_shape), data.y)
    if len(data.y) and int(data.y.max()) >= network.out_features:
        raise ValueError(f"data {data.name!r} has label {int(data.y.max())}; network {network.name!r} has "
                         f"{network.out_features} outputs, so labels must be 0..{network.out_features - 1}")
    return data


def hardware_slices(config: SimConfig, card: DeviceCard) -> int:
    """Columns per weight column set ``S``: the configured count, or what the configured weight bits need."""
    return config.weight_slices or slices_needed(config.encoding, config.weight_bits, card.cell.bits_per_cell)


def load_plan(config: SimConfig, n_layers: int) -> Plan:
    """The run's quantization plan: the file named by the config, or the conventional plan."""
    return Plan.load(config.plan) if config.plan else Plan.conventional(n_layers, config.weight_bits)


def prepare(
    config: SimConfig, plan: Plan | None = None, card: DeviceCard | None = None, workload: Workload | None = None
) -> tuple[DeviceCard, Workload, ChipDesign]:
    """Everything before the first chip: card, workload, plan, quantization, encoding and mapping.

    ``plan`` defaults to the config's plan; ``card`` and ``workload`` may be passed in when already loaded.
    """
    card = config.device_card() if card is None else card
    workload = load_workload(config) if workload is None else workload
    n_layers = len(workload.network.crossbar_layers)
    if plan is None and not config.plan:
        # The conventional plan on the configured layout; it fits or fails naming the config fields.
        plan = Plan.conventional(n_layers, config.weight_bits)
        slices = config.weight_slices or None
    else:
        plan = load_plan(config, n_layers) if plan is None else plan
        cycles = tuple(input_cycles(config.input_bits if i == 0 else config.output_bits, card.dac.bits)
                       for i in range(n_layers))
        check_plan_fits(plan, n_layers, config.encoding, card.cell.bits_per_cell, hardware_slices(config, card),
                        cycles, card.adc.bits)
        slices = None  # a plan maps each layer on the columns its weight bits need
    qnet = quantize_network(
        workload.network,
        workload.calibration.x,
        config.input_bits,
        plan.weight_bits,
        config.output_bits,
        tuple(lp.weight_shift for lp in plan.layers),
    )
    bits = tuple(lp.adc_bits for lp in plan.layers)
    design = design_chip(card, qnet, config.encoding, config.rows_per_read or None, slices, adc_bits=bits)
    coarse = tuple(plan.adc_coarse(i, card.adc.bits, layer.cycles, layer.encoded.slices)
                   for i, layer in enumerate(design.layers))
    if any(c is not None for c in coarse):
        design = design_chip(card, qnet, config.encoding, config.rows_per_read or None, slices, adc_bits=bits,
                             adc_coarse=coarse)
    steps = adc_steps(design, config.adc_range, qnet.quantize_input(workload.calibration.x[:ADC_CALIBRATION_INPUTS]),
                      config.adc_percentile)
    discards = None
    if any(lp.discard for lp in plan.layers):
        discards = plan_discards(design, plan, qnet.quantize_input(workload.calibration.x))
    if discards is not None or any(s != layer.adc_step for s, layer in zip(steps, design.layers, strict=True)):
        design = design_chip(card, qnet, config.encoding, config.rows_per_read or None, slices, discards, steps,
                             bits, coarse)
    return card, workload, design


ADC_CALIBRATION_INPUTS = 256  # calibration inputs the ADC range is calibrated on (the first ones)


def adc_steps(design: ChipDesign, mode: str, calibration_qx: np.ndarray, percentile: float = 99.0
              ) -> tuple[int, ...]:
    """Each layer's ADC step ``m`` in level steps (``config.adc_range``): the card's ``adc.lsb_levels`` ``m₀`` for
    ``"card"``; otherwise the smallest ``m = 2**e·m₀`` whose ``B``-bit codes cover the largest partial sum ``P``
    a conversion of the layer sees — round half up: ``⌊P/m + ½⌋ ≤ 2**B − 1`` — where ``P`` is, for
    ``"calibrated"``, the largest zero-variation partial sum on the calibration inputs (``calibration_qx``, the
    first ``ADC_CALIBRATION_INPUTS``; ``LayerDesign.max_partial_sum``), for ``"percentile"`` the ``percentile``
    of those partial sums over all the layer's conversions (``LayerDesign.partial_sum_percentile``: a finer
    step that clips the rarest, largest sums, counted like any clipping) and, for ``"full"``, the largest
    possible one, ``rows of a row group × (2**d − 1) × (2**c − 1)``; ``B`` is the layer's ADC resolution (the
    card's, or the plan's for the layer). With the digital reference
    (``crossbar.reference = "digital"``) the ADC converts the column current with its ``g_min`` floor
    ``F·Σ_i x_t,i`` (``memsim.tile.floor_levels``), so ``P`` includes it: per conversion for ``"calibrated"``,
    ``rows × (2**d − 1) × F`` more for ``"full"``. A power of two keeps shift-and-add exact (codes shift left
    by ``e``); a calibrated range may clip where variation pushes a sum past it, and the run counts it."""
    card = design.card
    base = int(card.adc.lsb_levels)
    if mode == "card":
        return tuple(base for _ in design.layers)
    d, c = card.dac.bits, card.cell.bits_per_cell
    floor = floor_levels(card)
    if mode == "calibrated":
        peaks = [layer.max_partial_sum(layer.to_vectors(x), d, floor_levels=floor)
                 for layer, x in zip(design.layers, design.layer_inputs(calibration_qx), strict=True)]
    elif mode == "percentile":
        peaks = [layer.partial_sum_percentile(layer.to_vectors(x), d, percentile, floor_levels=floor)
                 for layer, x in zip(design.layers, design.layer_inputs(calibration_qx), strict=True)]
    else:
        drive = [max(r1 - r0 for r0, r1 in layer.row_groups) * ((1 << d) - 1) for layer in design.layers]
        peaks = [x * ((1 << c) - 1) + (x * floor if floor else 0) for x in drive]
    steps = []
    for peak, layer_card in zip(peaks, design.layer_cards, strict=True):
        top = 1 << layer_card.adc.bits  # the layer's ADC resolution (a plan may lower it)
        m = base
        while 2 * peak + m >= 2 * top * m:  # ⌊P/m + ½⌋ > 2**B − 1
            m *= 2
        steps.append(m)
    return tuple(steps)


class _LazyInputs:
    """The evaluation inputs quantized chunk by chunk: ``shape`` and slicing, as ``Engine.run`` takes them."""

    def __init__(self, qnet, x: np.ndarray) -> None:
        self.qnet = qnet
        self.x = x
        self.shape = x.shape

    def __getitem__(self, index: slice) -> np.ndarray:
        return self.qnet.quantize_input(self.x[index])


def class_count(design: ChipDesign, labels: np.ndarray) -> int:
    """Classes of a run's confusion matrices: the last layer's outputs, or the largest label + 1 if larger (a
    label the network cannot predict still gets its row)."""
    return max(int(design.layers[-1].qlayer.out_features), int(np.max(labels, initial=-1)) + 1)


CONFUSION_MAX_CLASSES = 1024  # larger outputs are not a classifier's: no confusion matrix


class _Tally:
    """Metrics of one chip run, accumulated chunk by chunk (nothing larger than one int per input is kept,
    unless the logits are asked for).

    Per chunk: the zero-variation reference of the chunk's inputs (exact integers, chunk-independent), then
    the predictions (argmax of the last layer's outputs) with the correct ones and the confusion matrix,
    outputs equal to the reference and the error-bit histogram per layer; with ``logits=True`` the last
    layer's outputs; with ``software=True`` also the float network's and the ideal quantized network's
    correct predictions.
    """

    def __init__(self, design: ChipDesign, workload: Workload, software: bool, logits: bool = False) -> None:
        self.design = design
        self.workload = workload
        self.software = software
        n_layers = len(design.layers)
        n = workload.data.x.shape[0]
        classes = class_count(design, workload.data.y)
        self.correct = self.equal = self.total = self.correct_float = self.correct_quantized = 0
        self.error_bits = [np.zeros(1, dtype=np.int64) for _ in range(n_layers)]
        self.predictions = np.zeros(n, dtype=np.int32)
        # A network with more outputs than a classifier has (a convolution's map) gets no confusion matrix.
        self.confusion = np.zeros((classes, classes), dtype=np.int64) if classes <= CONFUSION_MAX_CLASSES else None
        self.logits = np.zeros((n, design.layers[-1].qlayer.out_features), dtype=np.int64) if logits else None

    def add(self, start: int, qx: np.ndarray, outputs: list[np.ndarray]) -> None:
        n = qx.shape[0]
        labels = self.workload.data.y[start : start + n]
        reference = self.design.reference(qx)
        predicted = metrics.predictions(outputs[-1])
        self.correct += int(np.count_nonzero(predicted == labels))
        self.predictions[start : start + n] = predicted
        if self.confusion is not None:
            self.confusion += metrics.confusion_matrix(labels, predicted, len(self.confusion))
        if self.logits is not None:
            self.logits[start : start + n] = outputs[-1].reshape(n, -1)
        for li, (out, ref) in enumerate(zip(outputs, reference, strict=True)):
            self.equal += int(np.count_nonzero(out == ref))
            self.total += ref.size
            hist = np.asarray(error_bit_histogram(out, ref), dtype=np.int64)
            acc = self.error_bits[li]
            if len(hist) > len(acc):
                acc = self.error_bits[li] = np.pad(acc, (0, len(hist) - len(acc)))
            acc[: len(hist)] += hist
        if self.software:
            logits = self.workload.network.forward_float(self.workload.data.x[start : start + n])
            self.correct_float += int(np.count_nonzero(metrics.predictions(logits) == labels))
            self.correct_quantized += int(np.count_nonzero(metrics.predictions(reference[-1]) == labels))


def simulate(
    config: SimConfig,
    ledger: Ledger | None = None,
    progress: Callable[[int], Callable[[int], None]] | None = None,
    plan: Plan | None = None,
    workload: Workload | None = None,
) -> SimResult:
    """Run the configured workload on the chip instances ``config.chip_indices`` (every one of the
    ``config.chips`` chips, or the subset ``config.chip_range``).

    Chip ``k`` (its global index) draws everything random — programming variation, stuck-at cells, the
    reference column, sample-and-hold offsets, aging/drift and read noise; read-disturb updates draw nothing
    and follow from the chip's own read pulses — from its own generator, ``chip_generator(config.seed, k)``,
    seeded with ``SeedSequence(config.seed, spawn_key=(k,))``.
    So the same config gives the same results, and chip ``k`` is the same chip whichever other chips run:
    ``chip_range = [k, k + 1]`` simulates exactly chip ``k`` of the full run, and the traces of disjoint ranges
    merge into the trace of the full run (``memsim trace merge``). The first chip of the range also measures
    the float and ideal quantized accuracies (they draw nothing) and records the busy-interval timeline.

    ``progress``, if given, is called once with the number of vectors to simulate (all chips of the range) and
    returns a function that is called with each finished chunk's size. ``plan`` and ``workload`` override
    the config's (the planner evaluates candidate plans on calibration data).

    Memory stays bounded whatever the data set's size: inputs are quantized, simulated and compared with the
    zero-variation reference one chunk at a time (``config.batch`` vectors, or as many as
    ``config.memory_budget_mb`` allows, ``memsim.engine.chunk_vectors``); the metrics (accuracies, bit-exact
    counts, error-bit histograms, confusion matrices, clipping) accumulate per chunk and no layer output is
    kept. Each chip outcome keeps one prediction per input (4 bytes) and, only with ``config.outputs =
    "logits"``, the last layer's outputs (8 bytes × outputs per input).
    """
    card, workload, design = prepare(config, plan=plan, workload=workload)
    ledger = Ledger() if ledger is None else ledger
    x = workload.data.x
    n = x.shape[0]
    inputs = _LazyInputs(design.qnet, x)
    threads = config.threads or default_threads(config.memory_budget_mb << 20)
    chunk = config.batch or chunk_vectors(design, config.memory_budget_mb << 20, threads)
    indices = config.chip_indices
    first = indices[0]
    on_chunk = progress(n * len(indices)) if progress is not None else None
    outcomes = []
    acc_float = acc_quant = float("nan")
    for c in indices:
        check_interrupted()
        rng = chip_generator(config.seed, c)
        chip = age_chip(program_chip(design, rng), config.age_s, rng)
        tally = _Tally(design, workload, software=c == first, logits=config.outputs == "logits")
        options = EngineOptions(buffer_vectors=config.buffer_vectors,
                                timeline_vectors=config.timeline_vectors if c == first else 0,
                                disturb_every=config.disturb_update_vectors, keep_outputs=False, threads=threads)
        engine = Engine(chip, ledger, c, rng, options, on_chunk=on_chunk, on_outputs=tally.add)
        res = engine.run(inputs, chunk)
        if c == first:
            acc_float, acc_quant = tally.correct_float / n, tally.correct_quantized / n
        outcomes.append(chip_outcome(c, res, ledger, tally.correct / n,
                                     tally.equal / tally.total if tally.total else float("nan"),
                                     tuple(tuple(int(v) for v in h) for h in tally.error_bits),
                                     tally.predictions, tally.confusion, tally.logits))
    return SimResult(config, card, design, workload, acc_float, acc_quant, tuple(outcomes), ledger)


def chip_generator(seed: int, chip: int) -> np.random.Generator:
    """The generator of chip instance ``chip`` of a run seeded with ``seed``: ``SeedSequence(seed,
    spawn_key=(chip,))``, the child ``SeedSequence(seed).spawn`` gives chip ``chip`` whatever the number spawned,
    so a chip's draws never depend on how many chips run or which run first."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chip,)))


def chip_outcome(chip: int, res: EngineResult, ledger: Ledger, accuracy: float = float("nan"),
                 bit_exact_rate: float = float("nan"), error_bits: tuple = (), predictions: np.ndarray | None = None,
                 confusion: np.ndarray | None = None, logits: np.ndarray | None = None) -> ChipOutcome:
    """A chip instance's results from its engine run and the ledger (energy), plus its accuracy metrics and
    per-input outputs (stored read-only)."""
    for array in (predictions, confusion, logits):
        if array is not None:
            array.setflags(write=False)
    return ChipOutcome(
        chip=chip,
        accuracy=accuracy,
        bit_exact_rate=bit_exact_rate,
        energy_zj=ledger.total_zj(chip=chip),
        makespan_fs=res.makespan_fs,
        events=res.events,
        clipped=res.clipped,
        error_bits=error_bits,
        latency_s=res.latency_s,
        first_latency_s=res.first_latency_s,
        throughput_inf_per_s=res.throughput_inf_per_s,
        utilization=res.utilization(),
        busy_fs=res.busy_fs,
        static_zj=res.static_zj,
        reads=res.reads,
        row_pulses=res.row_pulses,
        stages=tuple((l.latency_fs, l.period_fs, l.vectors, l.buffer_bits) for l in res.layers),
        timeline=res.timeline,
        predictions=predictions,
        confusion=confusion,
        logits=logits,
    )


def error_bit_histogram(outputs: np.ndarray, reference: np.ndarray) -> tuple[int, ...]:
    """Outputs counted by the bit length of ``|outputs - reference|`` (integers in the layer's output LSBs).

    Entry 0 counts exact outputs; entry ``b + 1`` counts outputs whose error has its highest set bit at
    position ``b`` (an error of 2**b up to 2**(b+1) - 1 LSBs). Exact integer arithmetic, no float log2, so
    the position is right for any int64 error. The trace stores it per chip and layer (``/errors``).
    """
    error = np.abs(np.asarray(outputs, dtype=np.int64) - np.asarray(reference, dtype=np.int64)).ravel()
    return tuple(int(c) for c in np.bincount(bit_length(error), minlength=1))
