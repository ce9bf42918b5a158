"""End-to-end runs of the library entry point on the built-in digits workload."""

from unittest import mock

import h5py
import numpy as np
import pytest

from memsim import metrics, tile
from memsim.engine import resources
from memsim.chip import program_chip
from memsim.config import SimConfig
from memsim.engine import Engine, EngineOptions, available_cores, chunk_vectors, default_threads
from memsim.ledger import Ledger
from memsim.simulate import chip_generator, error_bit_histogram, prepare, simulate
from memsim.trace import TraceWriter


def run_with_trace(config, path):
    ledger = Ledger()
    writer = TraceWriter(str(path), ledger)
    result = simulate(config, ledger=ledger)
    writer.finish(result)
    return result


def datasets(path):
    with h5py.File(path) as h5:
        return {name: h5[name][()] for name in h5}, {k: h5.attrs[k] for k in h5.attrs}


def test_same_seed_identical_trace_other_seed_other_chip(tmp_path):
    cfg = SimConfig(chips=2, batch=128)
    a = run_with_trace(cfg, tmp_path / "a.h5")
    b = run_with_trace(cfg, tmp_path / "b.h5")
    c = run_with_trace(cfg.with_overrides(seed=1), tmp_path / "c.h5")
    data_a, attrs_a = datasets(tmp_path / "a.h5")
    data_b, attrs_b = datasets(tmp_path / "b.h5")
    data_c, _ = datasets(tmp_path / "c.h5")
    assert set(data_a) == {"events", "counters", "layers", "chips", "errors", "utilization", "reads", "busy",
                           "confusion"}
    for name in data_a:
        np.testing.assert_array_equal(data_a[name], data_b[name])
    assert attrs_a == attrs_b
    assert [ch.accuracy for ch in a.chips] == [ch.accuracy for ch in b.chips]
    assert a.summary() == b.summary()
    # Another seed draws other chips: per-chip results differ.
    assert not np.array_equal(data_a["chips"]["bit_exact_rate"], data_c["chips"]["bit_exact_rate"])
    assert c.summary()["seed"] == 1


def test_chunked_and_single_vector_runs_agree(tmp_path):
    cfg = SimConfig(data="digits", split="calibration", trace="")
    chunked = simulate(cfg.with_overrides(batch=97))
    single = simulate(cfg.with_overrides(batch=1))
    s1, s2 = chunked.summary(), single.summary()
    for key in ("accuracy_hw", "bit_exact_rate", "energy_j", "energy_by_component_j", "latency_s",
                "throughput_inf_per_s", "cope_gop_per_j", "adc_conversions", "latency_first_s", "run_time_s",
                "utilization", "static_energy_j", "stages"):
        assert s1[key] == s2[key], key
    assert s1["events"] < s2["events"]


def test_results_do_not_depend_on_the_thread_count():
    """With read noise (a generator per block of vectors) and blocks of a few vectors, so that every thread
    reads many blocks: one, two and three worker threads give the same run."""
    cfg = SimConfig(data="digits", split="calibration", trace="", batch=150).with_card_override(
        "cell", {"read_noise_rel": 0.01})
    with mock.patch.object(tile, "BLOCK_BYTES", 64 << 10):
        runs = [simulate(cfg.with_overrides(threads=n)) for n in (1, 2, 3)]
    summaries = [r.summary() for r in runs]
    assert summaries[0]["bit_exact_rate"] < 1.0  # the noise reached the outputs
    for s in summaries[1:]:
        assert {k: v for k, v in s.items() if k != "config"} == {
            k: v for k, v in summaries[0].items() if k != "config"}
    for r in runs[1:]:
        assert r.chips[0].error_bits == runs[0].chips[0].error_bits


def test_default_threads_follow_the_cores_and_the_memory_budget():
    """One worker per core, but never more than half the memory budget holds work blocks for: 64 cores and the
    default 256 MiB give 16 workers, whose blocks (2·4 MiB each) leave the chunk half the budget."""
    assert default_threads(1 << 40) == available_cores()
    assert default_threads(0) == 1
    with mock.patch.object(resources, "available_cores", return_value=64):
        assert default_threads(256 << 20) == 16
        design = prepare(SimConfig(trace=""))[2]
        assert chunk_vectors(design, 256 << 20, 16) > 1000


def test_zero_variation_run_is_the_integer_reference():
    result = simulate(SimConfig(card_overrides={"cell": {"variation": {"model": "none"}}}, trace=""))
    s = result.summary()
    assert s["bit_exact_rate"] == 1.0
    assert s["accuracy_hw"] == s["accuracy_quantized"]


def test_accuracy_falls_as_sigma_grows():
    """Five chips per σ; each step down must exceed three standard errors of the difference."""
    means, stderr = [], []
    for sigma in (0.0, 0.15, 0.3):
        cfg = SimConfig(chips=5, trace="", seed=3).with_card_override(
            "cell", {"variation": {"model": "proportional", "sigma_rel": sigma}})
        acc = np.array(simulate(cfg).summary()["accuracy_hw_per_chip"])
        means.append(acc.mean())
        stderr.append(acc.std(ddof=1) / np.sqrt(len(acc)))
    for i in range(2):
        gap = means[i] - means[i + 1]
        assert gap > 3 * np.hypot(stderr[i], stderr[i + 1]), (means, stderr)


def test_quantization_formats_follow_calibration():
    result = simulate(SimConfig(trace=""))
    layers = result.design.layers
    assert layers[0].qlayer.in_format.bits == 8
    assert all(l.qlayer.w_format.bits == 8 for l in layers)
    assert layers[-1].qlayer.out_format is None
    for prev, nxt in zip(layers, layers[1:], strict=False):
        assert prev.qlayer.out_format == nxt.qlayer.in_format
    assert result.accuracy_quantized == pytest.approx(result.accuracy_float, abs=0.02)


def test_metrics_reduced_chunk_by_chunk_equal_those_of_all_outputs_at_once():
    """simulate() keeps no layer output: accuracy, bit-exact rate, error-bit histograms and clipping are reduced
    per chunk. They equal the figures computed from every output of the same chips at once."""
    cfg = SimConfig(data="digits", split="calibration", trace="", chips=2, batch=50).with_card_override(
        "cell", {"variation": {"model": "proportional", "sigma_rel": 0.2}})
    result = simulate(cfg)
    _, workload, design = prepare(cfg)
    x, y = workload.data.x, workload.data.y
    qx = design.qnet.quantize_input(x)
    reference = design.reference(qx)
    for chip in result.chips:
        rng = chip_generator(cfg.seed, chip.chip)  # the chip's own stream (per-chip seeding, schema 5)
        res = Engine(program_chip(design, rng), Ledger(), chip.chip, rng).run(qx, len(qx))
        assert chip.accuracy == metrics.accuracy(res.layer_outputs[-1], y)
        assert chip.bit_exact_rate == metrics.bit_exact_rate(res.layer_outputs, reference) < 1
        assert chip.error_bits == tuple(error_bit_histogram(o, r)
                                        for o, r in zip(res.layer_outputs, reference, strict=True))
        assert chip.clipped == res.clipped
    assert result.accuracy_float == metrics.accuracy(workload.network.forward_float(x), y)
    assert result.accuracy_quantized == metrics.accuracy(reference[-1], y)


def test_memory_budget_sizes_the_chunks_and_changes_no_result():
    cfg = SimConfig(data="digits", split="calibration", trace="")
    _, workload, design = prepare(cfg)
    n = len(workload.data.x)
    sizes = [chunk_vectors(design, mb << 20) for mb in range(1, 257)]
    assert sizes == sorted(sizes) and sizes[0] == 1 and sizes[-1] >= n
    budget = next(mb for mb, size in enumerate(sizes, start=1) if 1 < size < n / 2)  # a few chunks
    small, large = simulate(cfg.with_overrides(memory_budget_mb=budget)), simulate(cfg)
    s1, s2 = small.summary(), large.summary()
    assert s1["events"] > s2["events"]  # more chunks
    s1.pop("events"), s2.pop("events")
    assert s1 == s2


def test_a_long_run_keeps_no_outputs():
    """The engine hands each chunk's outputs to the caller and keeps none when told so (bounded memory)."""
    cfg = SimConfig(data="digits", split="calibration", trace="")
    _, workload, design = prepare(cfg)
    qx = design.qnet.quantize_input(workload.data.x)
    seen = []
    engine = Engine(program_chip(design, np.random.default_rng(0)), Ledger(), 0, np.random.default_rng(1),
                    EngineOptions(keep_outputs=False),
                    on_outputs=lambda start, inputs, outputs: seen.append((start, len(inputs), outputs[-1].shape)))
    res = engine.run(qx, 100)
    assert res.layer_outputs == ()
    assert seen == [(0, 100, (100, 10)), (100, 100, (100, 10)), (200, 100, (100, 10)), (300, 100, (100, 10)),
                    (400, 50, (50, 10))]


def test_sigma_scale_zero_is_the_zero_variation_result():
    """A state-dependent card at sigma_scale 0 runs exactly as with its variation switched off."""
    scaled = simulate(SimConfig(card="isaac-milo2021", sigma_scale=0.0, trace="")).summary()
    off = simulate(SimConfig(card="isaac-milo2021", trace="",
                             card_overrides={"cell": {"variation": {"model": "none"}}})).summary()
    assert scaled["bit_exact_rate"] == 1.0 and scaled["accuracy_hw"] == scaled["accuracy_quantized"]
    assert scaled["accuracy_hw_per_chip"] == off["accuracy_hw_per_chip"] and scaled["energy_j"] == off["energy_j"]


def test_sigma_scale_is_recorded_in_the_trace(tmp_path):
    import json

    result = run_with_trace(SimConfig(card="isaac-milo2021", sigma_scale=1.5, trace=str(tmp_path / "t.h5")),
                            tmp_path / "t.h5")
    _, attrs = datasets(tmp_path / "t.h5")
    assert json.loads(attrs["config"])["devices"]["sigma_scale"] == 1.5
    card = json.loads(attrs["cards"])["isaac-milo2021"]
    assert "sigma_scale" in card["sources"]["cell.variation.sigma_s_per_level"]
    assert result.card.cell.variation.sigma_s_per_level[0] == pytest.approx(1.5 * 4.32465e-6, rel=1e-9)
