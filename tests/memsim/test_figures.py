"""memsim.figures.headline_figures on hand-made measurements: every derived figure from known numbers."""

import math
from dataclasses import replace

import numpy as np
import pytest

from memsim.figures import OPTIONAL_FIGURES, RunMeasurements, headline_figures

# The keys of `memsim simulate --json`, in its order (README "What a run looks like").
SIMULATE_KEYS = [
    "card", "network", "dataset", "inferences", "chips", "seed", "accuracy_float", "accuracy_quantized",
    "accuracy_hw", "accuracy_hw_std", "accuracy_hw_per_chip", "bit_exact_rate", "macs_per_inference", "macs", "ops",
    "energy_j", "energy_per_inference_j", "energy_by_component_j", "latency_s", "latency_first_s",
    "throughput_inf_per_s", "run_time_s", "utilization", "static_energy_j", "stages", "age_s", "cope_gop_per_j",
    "tops_per_w", "area_m2", "area_by_component_m2", "area_by_layer", "tops_per_mm2", "cope_gop_per_j_per_mm2",
    "adc_conversions", "adc_clip_rate", "classes", "tiles", "events", "trace", "warnings",
]


def measured(**changes) -> RunMeasurements:
    """Two chips, 100 inferences of 50 MACs, 2 nJ per chip run over 1 ms."""
    m = RunMeasurements(
        card="card", network="net", dataset="data", seed=7, inferences=100, macs_per_inference=50,
        accuracy_float=0.95, accuracy_quantized=0.93, accuracy_per_chip=(0.8, 0.9), bit_exact_rate_per_chip=(0.5, 0.7),
        energy_j=2e-9, energy_by_component_j={"dac": 0.5e-9, "adc": 1.5e-9}, run_time_s=1e-3,
        adc_conversions_total=2001, adc_clipped_total=50, tiles=3, events=12, trace="run.h5",
        latency_s_per_chip=(1e-5, 3e-5), first_latency_s_per_chip=(2e-5, 4e-5),
        throughput_inf_per_s_per_chip=(1e5, 3e5),
        utilization_per_chip=({"dac": 0.2, "adc": 0.5}, {"dac": 0.4, "adc": 0.7}),
        static_energy_j=1e-10, stages_s=((1e-6, 8e-7), (9e-7, 5e-7)), age_s=60.0,
        area_m2=2e-6, area_by_component_m2={"dac": 0.5e-6, "adc": 1.5e-6},
        area_by_layer=({"layer": 0, "tiles": 3, "adcs": 3, "area_m2": 2e-6},),
    )
    return replace(m, **changes)


def test_every_figure_from_known_numbers():
    f = headline_figures(measured())
    assert list(f) == [k for k in SIMULATE_KEYS if k != "classes"]  # classes: only when a source knows them
    assert (f["card"], f["network"], f["dataset"], f["seed"], f["inferences"], f["chips"]) == (
        "card", "net", "data", 7, 100, 2)
    assert f["accuracy_hw"] == pytest.approx(0.85, rel=1e-15, abs=0)
    assert f["accuracy_hw_std"] == pytest.approx(math.sqrt(2 * 0.05**2 / (2 - 1)), rel=1e-12, abs=0)  # ddof = 1
    assert f["accuracy_hw_per_chip"] == [0.8, 0.9]
    assert f["bit_exact_rate"] == pytest.approx(0.6, rel=1e-15, abs=0)
    assert (f["macs"], f["ops"]) == (5000, 10000)  # 50 MACs × 100 inferences, 2 operations each
    assert f["energy_per_inference_j"] == pytest.approx(2e-11, rel=1e-15, abs=0)
    # COPE = accuracy × operations / energy = 0.85 × 10 000 / 2 nJ = 4.25e12 operations/J = 4250 GOP/J.
    assert f["cope_gop_per_j"] == pytest.approx(4250, rel=1e-12, abs=0)
    # 2001 conversions over 2 chips: 1000 per chip run (integer); 50 clipped over 2 chips: 25 per chip run.
    assert f["adc_conversions"] == 1000 and f["adc_clip_rate"] == pytest.approx(0.025, rel=1e-15, abs=0)
    assert list(f["energy_by_component_j"].items()) == [("adc", 1.5e-9), ("dac", 0.5e-9)]  # by name
    assert f["latency_s"] == pytest.approx(2e-5, rel=1e-15, abs=0)
    assert f["latency_first_s"] == pytest.approx(3e-5, rel=1e-15, abs=0)
    assert f["throughput_inf_per_s"] == pytest.approx(2e5, rel=1e-15, abs=0)
    assert f["utilization"] == pytest.approx({"dac": 0.3, "adc": 0.6}, rel=1e-15, abs=0)
    assert list(f["utilization"]) == ["dac", "adc"]  # the source's order
    assert f["stages"] == [{"layer": 0, "latency_s": 1e-6, "period_s": 8e-7},
                           {"layer": 1, "latency_s": 9e-7, "period_s": 5e-7}]
    assert (f["run_time_s"], f["static_energy_j"], f["age_s"]) == (1e-3, 1e-10, 60.0)
    assert (f["tiles"], f["events"], f["trace"]) == (3, 12, "run.h5")
    # TOPS/W = 10 000 operations / 2 nJ / 1e12 = 5; over 2 mm²: 2 × 50 MACs × 2e5 inferences/s = 2e7 op/s
    # = 2e-5 TOPS, / 2 mm² = 1e-5 TOPS/mm²; COPE per mm² = 4250 / 2 = 2125.
    assert f["tops_per_w"] == pytest.approx(5.0, rel=1e-12, abs=0)
    assert f["area_m2"] == 2e-6 and f["area_by_component_m2"] == {"dac": 0.5e-6, "adc": 1.5e-6}
    assert f["tops_per_mm2"] == pytest.approx(1e-5, rel=1e-12, abs=0)
    assert f["cope_gop_per_j_per_mm2"] == pytest.approx(2125, rel=1e-12, abs=0)


def test_an_unknown_area_gives_no_figures_per_area():
    f = headline_figures(measured(area_m2=0.0))
    assert f["area_m2"] == 0.0 and "tops_per_mm2" not in f and "cope_gop_per_j_per_mm2" not in f


def test_one_chip_has_no_spread_and_no_conversions_no_clip_rate():
    f = headline_figures(measured(accuracy_per_chip=(0.8,), bit_exact_rate_per_chip=(0.5,), latency_s_per_chip=(1e-5,),
                                  first_latency_s_per_chip=(2e-5,), throughput_inf_per_s_per_chip=(1e5,),
                                  utilization_per_chip=({"adc": 0.5},), adc_conversions_total=0,
                                  adc_clipped_total=0))
    assert f["chips"] == 1 and f["accuracy_hw_std"] == 0.0 and f["adc_clip_rate"] == 0.0
    assert f["cope_gop_per_j"] == pytest.approx(0.8 * 10000 / 2e-9 / 1e9, rel=1e-12, abs=0)
    assert math.isnan(headline_figures(measured(energy_j=0.0))["cope_gop_per_j"])


def test_without_the_pipelines_figures_latency_and_throughput_come_from_the_run_time():
    """A trace older than schema 3: no per-chip latency, utilization, static energy, stages or age."""
    f = headline_figures(measured(latency_s_per_chip=None, first_latency_s_per_chip=None,
                                  throughput_inf_per_s_per_chip=None, utilization_per_chip=None,
                                  static_energy_j=None, stages_s=None, age_s=None, area_m2=None,
                                  area_by_component_m2=None, area_by_layer=None))
    assert list(f) == [k for k in SIMULATE_KEYS if k not in OPTIONAL_FIGURES]
    assert f["latency_s"] == pytest.approx(1e-5, rel=1e-15, abs=0)  # 1 ms / 100 inferences
    assert f["throughput_inf_per_s"] == pytest.approx(1e5, rel=1e-15, abs=0)


def test_missing_software_accuracies_stay_as_none():
    f = headline_figures(measured(accuracy_float=None, accuracy_quantized=None, trace=None))
    assert f["accuracy_float"] is None and f["accuracy_quantized"] is None and f["trace"] is None


@pytest.mark.parametrize("changes, message", [
    ({"accuracy_per_chip": ()}, "at least one chip instance"),
    ({"bit_exact_rate_per_chip": (0.5,)}, "bit_exact_rate_per_chip has 1 entries; accuracy_per_chip has 2"),
    ({"utilization_per_chip": ({"adc": 0.5},) * 3}, "utilization_per_chip has 3 entries"),
])
def test_measurements_of_inconsistent_length_are_one_line_valueerror(changes, message):
    with pytest.raises(ValueError, match=message) as exc:
        measured(**changes)
    assert "\n" not in str(exc.value)


def test_paired_drop_bound_covers_the_drop_and_shrinks_with_more_data():
    from memsim.metrics import paired_drop_bound

    rng = np.random.default_rng(0)
    reference = np.ones(400, dtype=bool)
    assert paired_drop_bound(reference, np.ones((5, 400), bool), rng) == (0.0, 0.0)
    wrong = rng.random((5, 400)) < 0.02  # each chip misses about 2 % of the inputs
    drop, bound = paired_drop_bound(reference, ~wrong, np.random.default_rng(1))
    assert drop == pytest.approx(wrong.mean(), abs=1e-12) and bound > drop
    assert paired_drop_bound(reference, ~wrong, np.random.default_rng(1)) == (drop, bound)  # seeded
    more = rng.random((5, 4000)) < 0.02
    _, tighter = paired_drop_bound(np.ones(4000, bool), ~more, np.random.default_rng(1))
    assert tighter - more.mean() < bound - drop  # ten times the images: a tighter bound
