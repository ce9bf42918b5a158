"""The headline figures of a run, one set of keys for every report: ``memsim simulate --json``
(``SimResult.summary``), ``memsim trace summary --json`` (``memsim.trace.report.summarize``) and the planner's
scores (``memsim.planning.planner.score``).

Each source first reduces what it recorded to a ``RunMeasurements``: ``memsim.simulate`` from the ledger's
exact integers (zJ, fs), a trace from its float tables. ``headline_figures`` derives everything else the same
way for both. With ``N`` inferences per chip run, ``C`` chip instances, accuracies ``a_c`` and ``M`` multiply-
accumulates per inference:

- ``accuracy_hw = mean_c a_c``; ``accuracy_hw_std`` = the sample standard deviation (``ddof = 1``; 0 for one chip);
- ``macs = M·N`` and ``ops = 2·M·N`` (``memsim.metrics.operations``: one multiply and one add per MAC);
- ``energy_per_inference_j = E / N``, with ``E`` the energy per chip run (mean over chips);
- ``cope_gop_per_j = accuracy_hw · ops / E / 1e9`` (``memsim.metrics.cope_gop_per_j``: correct operations per
  joule as the ICCAD 2024 planner's authors define it, AICAS 2023);
- ``adc_conversions = ⌊Σ conversions / C⌋`` per chip run and ``adc_clip_rate = (Σ clipped / C) / adc_conversions``
  (0 without conversions);
- ``tops_per_w = ops / E / 1e12`` (tera-operations per joule, i.e. per second per watt);
- with the chip area ``A`` of the mapped network (``memsim.area``; m²): ``tops_per_mm2 = 2·M·throughput / 1e12 /
  (A / 1e-6)`` (measured steady-state throughput over the occupied area) and ``cope_gop_per_j_per_mm2 =
  cope_gop_per_j / (A / 1e-6)``; both left out when the area is unknown (0, or a trace written before areas);
- latency, first-inference latency, throughput and the utilization of each component kind: means over chips;
  sources without the pipeline's per-chip figures (traces before schema 3, whose engine ran the layers one
  after another) get ``latency_s = T / N`` and ``throughput_inf_per_s = N / T`` from the run time ``T``.

Figures a source does not hold (``None`` in ``RunMeasurements``) are left out of the dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from memsim import metrics


@dataclass(frozen=True)
class RunMeasurements:
    """What a run measured, reduced by its source to per-chip values and means per chip run.

    ``energy_j``, ``energy_by_component_j``, ``run_time_s`` and ``static_energy_j`` are per chip run, averaged
    over the chip instances; ``adc_conversions_total`` and ``adc_clipped_total`` count all chip instances;
    the ``*_per_chip`` sequences have one entry per chip instance, in chip order; ``stages_s`` holds
    ``(latency_s, period_s[, vectors, input_buffer_bits])`` of every layer's pipeline stage (chip 0's): one
    inference's latency through the stage, the time between inferences it allows, its crossbar input vectors
    per inference and the line buffer its input needs (bits). ``area_m2``, ``area_by_component_m2`` and
    ``area_by_layer`` are the chip area of the mapped network (``memsim.area.area_figures``), None when the
    source holds none.
    """

    card: str | None
    network: str | None
    dataset: str | None
    seed: int
    inferences: int
    macs_per_inference: int
    accuracy_float: float | None
    accuracy_quantized: float | None
    accuracy_per_chip: Sequence[float]
    bit_exact_rate_per_chip: Sequence[float]
    energy_j: float
    energy_by_component_j: Mapping[str, float]
    run_time_s: float
    adc_conversions_total: int
    adc_clipped_total: int
    tiles: int
    events: int
    trace: str | None
    latency_s_per_chip: Sequence[float] | None = None
    first_latency_s_per_chip: Sequence[float] | None = None
    throughput_inf_per_s_per_chip: Sequence[float] | None = None
    utilization_per_chip: Sequence[Mapping[str, float]] | None = None
    static_energy_j: float | None = None
    stages_s: Sequence[tuple] | None = None
    age_s: float | None = None
    classes: int | None = None
    area_m2: float | None = None
    area_by_component_m2: Mapping[str, float] | None = None
    area_by_layer: Sequence[Mapping] | None = None

    def __post_init__(self) -> None:
        chips = len(self.accuracy_per_chip)
        if chips == 0:
            raise ValueError("run measurements need at least one chip instance; accuracy_per_chip is empty")
        for name in ("bit_exact_rate_per_chip", "latency_s_per_chip", "first_latency_s_per_chip",
                     "throughput_inf_per_s_per_chip", "utilization_per_chip"):
            values = getattr(self, name)
            if values is not None and len(values) != chips:
                raise ValueError(f"{name} has {len(values)} entries; accuracy_per_chip has {chips} (one per chip)")


# Figures that only some sources hold: left out of ``headline_figures`` when the source gives ``None``.
OPTIONAL_FIGURES = ("latency_first_s", "utilization", "static_energy_j", "stages", "age_s", "classes", "area_m2",
                    "area_by_component_m2", "area_by_layer", "tops_per_mm2", "cope_gop_per_j_per_mm2")
CLIP_WARNING_RATE = 0.01  # a run whose conversions clip more often than this gets a warning


def warnings(figures: dict) -> list[str]:
    """One line per sign that the hardware configuration, not the network, sets the result: more than 1 % of
    the conversions clip (the ADC range is too small for the partial sums), or the hardware accuracy is below
    chance (one in ``classes``)."""
    out = []
    rate = figures.get("adc_clip_rate", 0.0)
    if rate > CLIP_WARNING_RATE:
        out.append(f"{100 * rate:.1f} % of the ADC conversions clip (more than {100 * CLIP_WARNING_RATE:g} %): the "
                   "ADC range does not cover the partial sums (see --adc-range and --adc-bits)")
    classes = figures.get("classes")
    if classes and figures["accuracy_hw"] < 1 / classes:
        out.append(f"the hardware accuracy {100 * figures['accuracy_hw']:.2f} % is below chance "
                   f"({100 / classes:.2f} % for {classes} classes)")
    return out


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values))


def headline_figures(m: RunMeasurements) -> dict:
    """The headline figures of ``m`` as the JSON object ``memsim simulate --json`` prints (keys in its order;
    the module docstring gives each derived figure's equation)."""
    acc = np.array(m.accuracy_per_chip)
    n_chips = len(acc)
    n = m.inferences
    ops = metrics.operations(m.macs_per_inference, n)
    conversions = m.adc_conversions_total // n_chips
    clipped = m.adc_clipped_total / n_chips
    if m.latency_s_per_chip is not None:
        latency_s = _mean(m.latency_s_per_chip)
    else:
        latency_s = m.run_time_s / n if n else float("nan")
    if m.throughput_inf_per_s_per_chip is not None:
        throughput = _mean(m.throughput_inf_per_s_per_chip)
    else:
        throughput = n / m.run_time_s if m.run_time_s > 0 else float("nan")
    utilization = None
    if m.utilization_per_chip is not None:
        kinds = dict.fromkeys(k for u in m.utilization_per_chip for k in u)
        utilization = {k: _mean([u.get(k, 0.0) for u in m.utilization_per_chip]) for k in kinds}
    cope = metrics.cope_gop_per_j(float(acc.mean()), ops, m.energy_j)
    area_mm2 = m.area_m2 * 1e6 if m.area_m2 else None
    figures = {
        "card": m.card,
        "network": m.network,
        "dataset": m.dataset,
        "inferences": n,
        "chips": n_chips,
        "seed": m.seed,
        "accuracy_float": m.accuracy_float,
        "accuracy_quantized": m.accuracy_quantized,
        "accuracy_hw": float(acc.mean()),
        "accuracy_hw_std": float(acc.std(ddof=1)) if n_chips > 1 else 0.0,
        "accuracy_hw_per_chip": acc.tolist(),
        "bit_exact_rate": _mean(m.bit_exact_rate_per_chip),
        "macs_per_inference": m.macs_per_inference,
        "macs": m.macs_per_inference * n,
        "ops": ops,
        "energy_j": m.energy_j,
        "energy_per_inference_j": m.energy_j / n if n else float("nan"),
        "energy_by_component_j": dict(sorted(m.energy_by_component_j.items())),
        "latency_s": latency_s,
        "latency_first_s": None if m.first_latency_s_per_chip is None else _mean(m.first_latency_s_per_chip),
        "throughput_inf_per_s": throughput,
        "run_time_s": m.run_time_s,
        "utilization": utilization,
        "static_energy_j": m.static_energy_j,
        "stages": None if m.stages_s is None else [
            {"layer": i, "latency_s": st[0], "period_s": st[1],
             **({"vectors": st[2], "input_buffer_bits": st[3]} if len(st) > 2 else {})}
            for i, st in enumerate(m.stages_s)
        ],
        "age_s": m.age_s,
        "cope_gop_per_j": cope,
        "tops_per_w": metrics.tops_per_w(ops, m.energy_j),
        "area_m2": m.area_m2,
        "area_by_component_m2": None if m.area_by_component_m2 is None else dict(m.area_by_component_m2),
        "area_by_layer": None if m.area_by_layer is None else [dict(la) for la in m.area_by_layer],
        "tops_per_mm2": None if area_mm2 is None else 2 * m.macs_per_inference * throughput / 1e12 / area_mm2,
        "cope_gop_per_j_per_mm2": None if area_mm2 is None else cope / area_mm2,
        "adc_conversions": conversions,
        "adc_clip_rate": clipped / conversions if conversions else 0.0,
        "classes": m.classes,
        "tiles": m.tiles,
        "events": m.events,
        "trace": m.trace,
    }
    figures = {k: v for k, v in figures.items() if v is not None or k not in OPTIONAL_FIGURES}
    figures["warnings"] = warnings(figures)
    return figures
