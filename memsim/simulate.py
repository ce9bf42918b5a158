"""``memsim simulate`` as a library call: config in, results (and optionally an HDF5 trace) out.

Data flow (DESIGN "Data flow"): load the card, network and data; quantize with formats calibrated on a
calibration set; encode and map onto tiles; then, per chip instance, program the cells (device variation
drawn once per chip from the run's seeded generator) and run every vector through the SimPy engine, which
posts every action to the one ledger. Metrics come from the outputs and the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from devices.card import DeviceCard, load_card
from memsim import metrics
from memsim.chip import ChipDesign, design_chip, program_chip
from memsim.config import SimConfig
from memsim.datasets import BUILTIN_DATASETS, Dataset, builtin_dataset, load_dataset
from memsim.engine import Engine
from memsim.ledger import FS_PER_S, ZJ_PER_J, Ledger
from memsim.network import BUILTIN_NETWORKS, Network, builtin_network, load_network
from memsim.quantize import quantize_network


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
    def conversions(self) -> int:
        """ADC conversions per chip run."""
        counts = self.ledger.counts()
        return counts.get(("adc", "convert"), 0) // len(self.chips)

    def summary(self) -> dict:
        """Headline figures (the ``--json`` object). Energies and times are per chip run unless named
        per inference; accuracy and energy are means over chip instances."""
        acc = np.array([c.accuracy for c in self.chips])
        n_chips = len(self.chips)
        energy_j = sum(c.energy_zj for c in self.chips) / n_chips / ZJ_PER_J
        by_component = {k: v / n_chips / ZJ_PER_J for k, v in sorted(self.ledger.by("component").items())}
        makespan_s = sum(c.makespan_fs for c in self.chips) / n_chips / FS_PER_S
        n = self.inferences
        macs = self.macs_per_inference * n
        ops = metrics.operations(self.macs_per_inference, n)
        clipped = sum(sum(c.clipped) for c in self.chips) / n_chips
        return {
            "card": self.card.name,
            "network": self.workload.network.name,
            "dataset": self.workload.data.name,
            "inferences": n,
            "chips": n_chips,
            "seed": self.config.seed,
            "accuracy_float": self.accuracy_float,
            "accuracy_quantized": self.accuracy_quantized,
            "accuracy_hw": float(acc.mean()),
            "accuracy_hw_std": float(acc.std(ddof=1)) if n_chips > 1 else 0.0,
            "accuracy_hw_per_chip": acc.tolist(),
            "bit_exact_rate": float(np.mean([c.bit_exact_rate for c in self.chips])),
            "macs_per_inference": self.macs_per_inference,
            "macs": macs,
            "ops": ops,
            "energy_j": energy_j,
            "energy_per_inference_j": energy_j / n if n else float("nan"),
            "energy_by_component_j": by_component,
            "latency_s": makespan_s / n if n else float("nan"),
            "throughput_inf_per_s": n / makespan_s if makespan_s > 0 else float("nan"),
            "cope_gop_per_j": metrics.cope_gop_per_j(float(acc.mean()), ops, energy_j),
            "adc_conversions": self.conversions,
            "adc_clip_rate": clipped / self.conversions if self.conversions else 0.0,
            "tiles": self.design.tiles,
            "events": sum(c.events for c in self.chips),
            "trace": self.config.trace or None,
        }


def load_workload(config: SimConfig) -> Workload:
    """Resolve built-in names or ``.npz`` paths. Built-in digits calibrate on their calibration split; a
    user's data calibrates on itself (only the power-of-two activation ranges are taken from it)."""
    if config.network in BUILTIN_NETWORKS:
        network = builtin_network(config.network)
    elif config.network.endswith(".npz"):
        network = load_network(config.network)
    else:
        raise ValueError(
            f"workload.network = {config.network!r} is neither a built-in network ({', '.join(BUILTIN_NETWORKS)}) "
            "nor an .npz path"
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
    if data.x.shape[1] != network.in_features:
        raise ValueError(
            f"data {data.name!r} has {data.x.shape[1]} features but network {network.name!r} takes "
            f"{network.in_features} inputs"
        )
    return Workload(network, data, calibration)


def prepare(config: SimConfig) -> tuple[DeviceCard, Workload, ChipDesign]:
    """Everything before the first chip: card, workload, quantization, encoding and mapping."""
    card = load_card(config.card, overrides=config.card_overrides)
    workload = load_workload(config)
    qnet = quantize_network(
        workload.network,
        workload.calibration.x,
        config.input_bits,
        (config.weight_bits,) * len(workload.network.layers),
        config.output_bits,
    )
    design = design_chip(card, qnet, config.encoding, config.rows_per_read or None, config.weight_slices or None)
    return card, workload, design


def simulate(
    config: SimConfig,
    ledger: Ledger | None = None,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> SimResult:
    """Run the configured workload on ``config.chips`` chip instances.

    One ``numpy.random.Generator`` seeded with ``config.seed`` drives every random draw, chip after chip, so
    the same config gives the same results. ``progress``, if given, is called once with the number of vectors
    to simulate (all chips) and returns a function that is called with each finished chunk's size.
    """
    card, workload, design = prepare(config)
    ledger = Ledger() if ledger is None else ledger
    qnet = design.qnet
    x, y = workload.data.x, workload.data.y
    qx = qnet.quantize_input(x)
    reference = qnet.reference(qx)
    acc_float = metrics.accuracy(workload.network.forward_float(x), y)
    acc_quant = metrics.accuracy(reference[-1], y)
    rng = np.random.default_rng(config.seed)
    on_chunk = progress(qx.shape[0] * config.chips) if progress is not None else None
    outcomes = []
    for c in range(config.chips):
        chip = program_chip(design, rng)
        engine = Engine(chip, ledger, c, rng, on_chunk=on_chunk)
        res = engine.run(qx, config.batch)
        outcomes.append(
            ChipOutcome(
                chip=c,
                accuracy=metrics.accuracy(res.layer_outputs[-1], y),
                bit_exact_rate=metrics.bit_exact_rate(res.layer_outputs, reference),
                energy_zj=ledger.total_zj(chip=c),
                makespan_fs=res.makespan_fs,
                events=res.events,
                clipped=res.clipped,
            )
        )
    return SimResult(config, card, design, workload, acc_float, acc_quant, tuple(outcomes), ledger)
