"""Run configuration: one validated, frozen ``SimConfig`` from defaults, a TOML file and CLI overrides.

The TOML layout (every key optional; defaults below)::

    schema_version = 1
    seed = 0            # the run's seed (0 .. 2**63 - 1): chip k draws everything from its own numpy Generator,
                        # seeded with SeedSequence(seed, spawn_key=(k,)), whatever the other chips
    chips = 1           # chip instances of the experiment (independent device-variation draws), chips 0 .. chips-1
    chip_range = []     # [start, stop]: simulate only chips start .. stop-1 of the chips (0 <= start < stop <=
                        # chips); [] (or [0, chips]): all of them. Runs of disjoint ranges merge exactly
                        # (`memsim trace merge`)
    batch = 0           # vectors per simulation chunk; 0: as many as memory_budget_mb allows (results do not
                        # depend on it: a performance choice)
    memory_budget_mb = 256  # what one chunk may hold (inputs, drive codes, outputs, schedule), in MiB
    threads = 0         # worker threads of the datapath; 0: one per core this process may use, as many as
                        # half the memory budget allows (results do not depend on it: a performance choice)
    trace = "memsim-trace.h5"   # HDF5 trace path; "" writes no trace
    outputs = "none"    # per-input outputs kept for the trace: "none" (the trace still holds each chip's
                        # confusion matrix), "predictions" (/outputs: label and prediction of every input on
                        # every chip) or "logits" (also the last layer's integer outputs, in the library too)

    [devices]
    card = "isaac-2016"             # a card name (``memsim devices``) or a path to a card .toml
    sigma_scale = 1.0               # study parameter: multiplies the card's programming-variation sigma, whatever
                                    # its model (after the overrides); 0 turns variation off, >= 0
    [devices.overrides.cell.variation]   # any card field, in SI units, overrides the card
    model = "proportional"
    sigma_rel = 0.1

    [workload]
    network = "digits-mlp"          # a built-in network or a path to an .npz or .onnx
    data = "digits"                 # a built-in dataset or a path to an .npz with x, y
    split = "test"                  # split of a built-in dataset

    [quantization]
    input_bits = 8
    weight_bits = 8                 # 2..16 (signed weights need a sign bit and one more)
    output_bits = 8
    encoding = "offset"             # a name in memsim.encoding.ENCODINGS (`memsim simulate --help` lists them)
    plan = ""                       # a plan .toml from `memsim plan`; "" runs the conventional plan
    adc_range = "calibrated"        # calibrated | percentile | full | card: how each layer's ADC step is set
    adc_percentile = 99.0           # with adc_range = "percentile": the percentile of the partial sums that fits

    [mapping]
    rows_per_read = 0               # 0: the crossbar's rows
    weight_slices = 0               # 0: as many as the weight bits need

    [timing]
    age_s = 0.0                     # seconds between programming the chip and the inference (drift)
    buffer_vectors = 2              # capacity of each inter-layer buffer, in vectors (1 .. 2**20)
    timeline_vectors = 16           # busy intervals of this many first vectors go to the trace (0: none)
    disturb_update_vectors = 64     # read-disturb updates every this many vectors (cards with a disturb model)

    [circuit]                       # the IR-drop solve of cards with crossbar.wires.model = "resistive"
    solver = "iterative"            # iterative (block Gauss-Seidel over word and bit lines) | nodal (exact, slow)
    tolerance = 1e-7                # iterative: bound on |I - I_exact| over the full-scale column current, (0, 0.1]

Each number lives in the card or here, never in code paths; enums are stored by name.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from memsim.devices.card import DeviceCard, load_card
from memsim.devices.validate import check_choice, check_float, check_int
from memsim.devices.ir_drop import SOLVERS
from memsim.devices.variation import Proportional
from memsim.devices.wires import DEFAULT_SOLVER, DEFAULT_TOLERANCE
from memsim.encoding import EncodingName, encoding_named
from memsim.files import read_toml

SCHEMA_VERSION = 1
# What ``outputs`` may ask for, from the least to the most recorded.
OUTPUTS = ("none", "predictions", "logits")
# How each layer's ADC step is chosen (memsim.simulate.adc_steps): from the calibration data's largest partial
# sum, from a percentile of its partial sums, from the largest possible one, or the card's adc.lsb_levels.
ADC_RANGES = ("calibrated", "percentile", "full", "card")

# TOML section of every SimConfig field (None: top level).
_SECTIONS = {
    "seed": None,
    "chips": None,
    "chip_range": None,
    "batch": None,
    "memory_budget_mb": None,
    "threads": None,
    "trace": None,
    "outputs": None,
    "card": "devices",
    "card_overrides": "devices",
    "sigma_scale": "devices",
    "network": "workload",
    "data": "workload",
    "split": "workload",
    "input_bits": "quantization",
    "weight_bits": "quantization",
    "output_bits": "quantization",
    "encoding": "quantization",
    "plan": "quantization",
    "adc_range": "quantization",
    "adc_percentile": "quantization",
    "rows_per_read": "mapping",
    "weight_slices": "mapping",
    "age_s": "timing",
    "buffer_vectors": "timing",
    "timeline_vectors": "timing",
    "disturb_update_vectors": "timing",
    "ir_solver": "circuit",
    "ir_tolerance": "circuit",
}
_TOML_NAMES = {"card_overrides": "overrides", "ir_solver": "solver", "ir_tolerance": "tolerance"}
# The largest seed: numpy takes any non-negative integer, the trace stores it as a signed 64-bit attribute.
SEED_MAX = 2**63 - 1
# The largest inter-layer buffer, in vectors: far deeper than any pipeline fills (a larger one changes nothing), and
# a capacity past a C long would fail inside the event engine after the run had started.
BUFFER_VECTORS_MAX = 1 << 20


def check_not_input(label: str, path: str, input_label: str, input_path: str) -> None:
    """Refuse an output ``path`` (option or field ``label``) that is the input file ``input_path``: writing it
    would overwrite the input."""
    if Path(path).resolve() == Path(input_path).resolve():
        raise ValueError(f"{label} {path!r} is the {input_label} file {input_path!r}; allowed: an output path that "
                         "is not one of the inputs")


def check_chip_range(value: object, chips: int) -> tuple:
    """``chip_range`` as ``()`` (every chip) or ``(start, stop)`` with ``0 <= start < stop <= chips``; the full
    range ``[0, chips]`` is stored as ``()``, so a run of every chip has one config whichever way it was asked."""
    allowed = f"[] or [start, stop] with 0 <= start < stop <= chips ({chips})"
    if isinstance(value, (list, tuple)) and len(value) == 0:
        return ()
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"chip_range = {value!r} is not a pair of integers; allowed: {allowed}")
    start, stop = value
    if not 0 <= start < stop <= chips:
        raise ValueError(f"chip_range = [{start}, {stop}] is out of range; allowed: {allowed}")
    return () if (start, stop) == (0, chips) else (int(start), int(stop))


@dataclass(frozen=True)
class SimConfig:
    """Everything a ``memsim simulate`` run depends on (see module docstring for meanings)."""

    seed: int = 0
    chips: int = 1
    chip_range: tuple = ()
    batch: int = 0
    memory_budget_mb: int = 256
    threads: int = 0
    trace: str = "memsim-trace.h5"
    outputs: str = "none"
    card: str = "isaac-2016"
    card_overrides: dict = field(default_factory=dict)
    sigma_scale: float = 1.0
    network: str = "digits-mlp"
    data: str = "digits"
    split: str = "test"
    input_bits: int = 8
    weight_bits: int = 8
    output_bits: int = 8
    encoding: EncodingName = "offset"
    plan: str = ""
    adc_range: str = "calibrated"
    adc_percentile: float = 99.0
    rows_per_read: int = 0
    weight_slices: int = 0
    age_s: float = 0.0
    buffer_vectors: int = 2
    timeline_vectors: int = 16
    disturb_update_vectors: int = 64
    ir_solver: str = DEFAULT_SOLVER
    ir_tolerance: float = DEFAULT_TOLERANCE

    def __post_init__(self) -> None:
        check_int("seed", self.seed, 0, SEED_MAX)
        check_int("chips", self.chips, 1, 100_000)
        object.__setattr__(self, "chip_range", check_chip_range(self.chip_range, self.chips))
        check_int("batch", self.batch, 0)
        check_int("memory_budget_mb", self.memory_budget_mb, 1, 1 << 20)
        check_int("threads", self.threads, 0, 1024)
        check_int("quantization.input_bits", self.input_bits, 1, 16)
        check_int("quantization.weight_bits", self.weight_bits, 2, 16)
        check_int("quantization.output_bits", self.output_bits, 1, 16)
        check_int("mapping.rows_per_read", self.rows_per_read, 0)
        check_int("mapping.weight_slices", self.weight_slices, 0, 64)
        object.__setattr__(self, "age_s", check_float("timing.age_s", self.age_s, 0.0))
        object.__setattr__(self, "sigma_scale", check_float("devices.sigma_scale", self.sigma_scale, 0.0))
        check_int("timing.buffer_vectors", self.buffer_vectors, 1, BUFFER_VECTORS_MAX)
        check_int("timing.timeline_vectors", self.timeline_vectors, 0)
        check_int("timing.disturb_update_vectors", self.disturb_update_vectors, 1)
        encoding_named(self.encoding)
        check_choice("outputs", self.outputs, OUTPUTS)
        check_choice("circuit.solver", self.ir_solver, SOLVERS)
        object.__setattr__(self, "ir_tolerance",
                           check_float("circuit.tolerance", self.ir_tolerance, 0.0, 0.1, lo_open=True))
        check_choice("quantization.adc_range", self.adc_range, ADC_RANGES)
        object.__setattr__(self, "adc_percentile",
                           check_float("quantization.adc_percentile", self.adc_percentile, 0.0, 100.0, lo_open=True))
        if not isinstance(self.card_overrides, dict):
            raise ValueError("devices.overrides must be a table of card sections")
        for name in ("trace", "card", "network", "data", "split", "plan"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} = {getattr(self, name)!r} must be a string")
        if self.trace:
            for name, path in self.input_paths().items():
                check_not_input("trace", self.trace, name, path)

    @property
    def chip_indices(self) -> range:
        """The global indices of the chips this run simulates: ``chip_range``, or every chip."""
        return range(*self.chip_range) if self.chip_range else range(self.chips)

    def input_paths(self) -> dict[str, str]:
        """The config's fields that name an input file (by TOML name): a card, network, data or plan path."""
        paths = {"devices.card": self.card if self.card.endswith(".toml") else "",
                 "workload.network": self.network if self.network.endswith((".npz", ".onnx")) else "",
                 "workload.data": self.data if self.data.endswith(".npz") else "",
                 "quantization.plan": self.plan}
        return {name: path for name, path in paths.items() if path}

    def with_overrides(self, **changes: Any) -> SimConfig:
        """A copy with the given fields replaced; ``None`` values are ignored (CLI options not given)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **given)

    def with_card_override(self, section: str, values: dict) -> SimConfig:
        """A copy whose card overrides replace ``section`` (e.g. ``cell``) keys with ``values``."""
        merged = copy.deepcopy(self.card_overrides)
        merged.setdefault(section, {}).update(values)
        return replace(self, card_overrides=merged)

    def with_sigma_rel(self, sigma_rel: float) -> SimConfig:
        """A copy whose card has proportional programming variation ``σ(G) = sigma_rel·G`` (``--sigma``;
        ``memsim.devices.variation.Proportional``, validated when the card is loaded)."""
        return self.with_card_override("cell", {"variation": {"model": Proportional.model, "sigma_rel": sigma_rel}})

    def device_card(self) -> DeviceCard:
        """The run's device card: ``card`` with ``card_overrides`` applied, then its programming-variation sigma
        multiplied by ``sigma_scale`` (``DeviceCard.with_sigma_scale``), with the run's IR-drop solver
        (``[circuit]``, ``DeviceCard.with_circuit``). Raises ``ValueError`` (one line) for an unknown card or a
        bad override."""
        card = load_card(self.card, overrides=self.card_overrides).with_sigma_scale(self.sigma_scale)
        return card.with_circuit(self.ir_solver, self.ir_tolerance)

    def to_dict(self) -> dict:
        """The config as nested TOML-shaped data (with ``schema_version``)."""
        out: dict = {"schema_version": SCHEMA_VERSION}
        for f in fields(self):
            section = _SECTIONS[f.name]
            key = _TOML_NAMES.get(f.name, f.name)
            target = out if section is None else out.setdefault(section, {})
            value = getattr(self, f.name)
            target[key] = list(value) if isinstance(value, tuple) else copy.deepcopy(value)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict, origin: str = "config") -> SimConfig:
        """Build from TOML-shaped data; unknown keys and a newer schema are errors naming the key."""
        data = dict(data)
        version = data.pop("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ValueError(f"{origin}: schema_version = {version!r} is not supported; this memsim reads "
                             f"{SCHEMA_VERSION}")
        by_location = {(s, _TOML_NAMES.get(n, n)): n for n, s in _SECTIONS.items()}
        sections = {s for s in _SECTIONS.values() if s is not None}
        kwargs: dict = {}
        for key, value in data.items():
            if key in sections:
                if not isinstance(value, dict):
                    raise ValueError(f"{origin}: [{key}] must be a table")
                for sub, sub_value in value.items():
                    if (key, sub) not in by_location:
                        allowed = ", ".join(k for (s, k) in by_location if s == key)
                        raise ValueError(f"{origin}: unknown key '{key}.{sub}'; allowed in [{key}]: {allowed}")
                    kwargs[by_location[(key, sub)]] = sub_value
            elif (None, key) in by_location:
                kwargs[by_location[(None, key)]] = value
            else:
                allowed = ", ".join(["schema_version"] + [k for (s, k) in by_location if s is None] + sorted(sections))
                raise ValueError(f"{origin}: unknown key '{key}'; allowed at the top level: {allowed}")
        return cls(**kwargs)

    @classmethod
    def from_toml(cls, path: str | Path) -> SimConfig:
        return cls.from_dict(read_toml(path, "config"), origin=str(path))
