"""Engine and ledger: chunking does not change results, energy is accounted from the card, runs repeat."""

from dataclasses import replace

import numpy as np
import pytest

from memsim.chip import Discard, design_chip, program_chip
from memsim.engine import Engine, EngineOptions
from memsim.workload.fixedpoint import FixedFormat
from memsim.ledger import Ledger, energy_zj
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork


def two_layer_qnet(seed=0, rows=40, hidden=9, outs=5):
    rng = np.random.default_rng(seed)
    f8 = FixedFormat(8, 8, False)
    w = FixedFormat(6, 5, True)
    l0 = QuantizedLayer(0, rng.integers(-32, 32, (rows, hidden)), rng.integers(-500, 500, hidden), f8, w,
                        FixedFormat(8, 6, False))
    l1 = QuantizedLayer(1, rng.integers(-32, 32, (hidden, outs)), rng.integers(-500, 500, outs),
                        FixedFormat(8, 6, False), w, None)
    return QuantizedNetwork("two-layer", (l0, l1))


def run(card, qnet, qx, batch, encoding="offset", chip_seed=3, read_seed=4, **engine):
    design = design_chip(card, qnet, encoding)
    chip = program_chip(design, np.random.default_rng(chip_seed))
    ledger = Ledger()
    result = Engine(chip, ledger, 0, np.random.default_rng(read_seed), EngineOptions(**engine)).run(qx, batch)
    return result, ledger


@pytest.mark.parametrize("read_energy_model, buffer_vectors, columns_per_adc",
                         [("lumped", 2, 8), ("cell", 1, 3), ("lumped", 1, 17), ("cell", 50, 1)])
def test_chunked_and_one_vector_at_a_time_agree_exactly(card_factory, read_energy_model, buffer_vectors,
                                                        columns_per_adc):
    """Multi-tile layers, shared ADCs (1 to 17 columns per ADC), pipelined layers with small (stalling) and
    large buffers, static power: outputs, energy, every vector's times and the busy times agree exactly."""
    card = with_static_power(card_factory(rows=16, cols=17, sigma_rel=0.1, read_energy_model=read_energy_model,
                                          columns_per_adc=columns_per_adc))
    qnet = two_layer_qnet()
    qx = np.random.default_rng(7).integers(0, 256, (13, 40))
    chunked, led_chunked = run(card, qnet, qx, batch=5, buffer_vectors=buffer_vectors)
    single, led_single = run(card, qnet, qx, batch=1, buffer_vectors=buffer_vectors)
    assert len(design_chip(card, qnet, "offset").layers[0].mapping.tiles) > 1
    for a, b in zip(chunked.layer_outputs, single.layer_outputs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert led_chunked.total_zj() == led_single.total_zj()
    assert led_chunked.by("component") == led_single.by("component")
    assert led_chunked.by("action")["static"] == led_single.by("action")["static"] > 0
    assert led_chunked.counts() == led_single.counts()
    assert chunked.makespan_fs == single.makespan_fs
    np.testing.assert_array_equal(chunked.entry_fs, single.entry_fs)
    np.testing.assert_array_equal(chunked.exit_fs, single.exit_fs)
    assert chunked.latency_s == single.latency_s
    assert chunked.throughput_inf_per_s == single.throughput_inf_per_s
    assert chunked.busy_fs == single.busy_fs and chunked.utilization() == single.utilization()
    assert chunked.events < single.events


def with_static_power(card, p_w=1e-6):
    """The card with a static power on every component (a test figure, not a published one)."""
    return replace(card, crossbar=replace(card.crossbar, p_static_w=p_w), dac=replace(card.dac, p_static_w=p_w),
                   sample_hold=replace(card.sample_hold, p_static_w=p_w), adc=replace(card.adc, p_static_w=p_w),
                   shift_add=replace(card.shift_add, p_static_w=p_w), register=replace(card.register, p_static_w=p_w))


def test_ledger_total_is_sum_of_rows_and_counts_times_card_energy(card_factory):
    card = card_factory(rows=16, cols=17)
    qnet = two_layer_qnet()
    qx = np.random.default_rng(1).integers(0, 256, (6, 40))
    _, ledger = run(card, qnet, qx, batch=4)
    assert ledger.total_zj() == sum(r.energy_zj for r in ledger.rows)
    counts = ledger.counts()
    per_action_j = {
        ("dac", "drive"): card.dac.drive_cost().energy_j,
        ("crossbar", "read"): card.crossbar.e_array_read_j,
        ("sample_hold", "sample"): card.sample_hold.sample_cost().energy_j,
        ("adc", "convert"): card.adc.convert_cost().energy_j,
        ("adc", "clip"): 0.0,
        ("shift_add", "shift_add"): card.shift_add.shift_add_cost().energy_j,
        ("shift_add", "reduce"): card.shift_add.reduce_cost().energy_j,
        ("register", "read"): card.register.read_cost().energy_j,
        ("register", "write"): card.register.write_cost().energy_j,
        ("register", "feed"): card.register.feed_cost().energy_j,
        ("register", "accumulate"): card.register.accumulate_cost().energy_j,
    }
    assert set(counts) <= set(per_action_j)
    expected_j = sum(counts[k] * per_action_j[k] for k in counts)
    assert ledger.total_j() == pytest.approx(expected_j, rel=1e-9, abs=0)
    # Every action really is priced by its card figure, rounded once to the zeptojoule.
    assert ledger.total_zj() == sum(counts[k] * energy_zj(per_action_j[k]) for k in counts)


def test_conversions_follow_the_mapping(card_factory):
    card = card_factory(rows=16, cols=17, cell_bits=2, dac_bits=1)
    qnet = two_layer_qnet()
    design = design_chip(card, qnet, "offset")
    n = 3
    _, ledger = run(card, qnet, np.ones((n, 40), dtype=np.int64), batch=n)
    expected = 0
    for layer in design.layers:
        cycles = layer.qlayer.in_format.bits  # 1-bit DAC: one cycle per input bit
        for tile in layer.mapping.tiles:
            expected += n * cycles * len(tile.row_groups) * tile.used_columns
    assert ledger.counts()[("adc", "convert")] == expected


def test_same_seed_same_chip_other_seed_other_chip(card_factory):
    card = card_factory(rows=16, cols=17, sigma_rel=0.3)
    qnet = two_layer_qnet()
    qx = np.random.default_rng(2).integers(0, 256, (20, 40))
    a, la = run(card, qnet, qx, batch=8, chip_seed=11)
    b, lb = run(card, qnet, qx, batch=8, chip_seed=11)
    c, _ = run(card, qnet, qx, batch=8, chip_seed=12)
    np.testing.assert_array_equal(a.layer_outputs[-1], b.layer_outputs[-1])
    assert la.rows == lb.rows
    assert not np.array_equal(a.layer_outputs[-1], c.layer_outputs[-1])


def test_discarded_partial_sums_are_not_converted_and_shorten_the_schedule(card_factory):
    card = card_factory(rows=16, cols=17, cell_bits=2, dac_bits=1)
    qnet = two_layer_qnet()
    full = design_chip(card, qnet, "offset")
    keep0 = np.ones_like(full.layers[0].discard.keep)
    keep0[:4, :] = False  # four low input cycles: nothing kept, so no read at all
    keep0[4:, 0] = False  # lowest slice at the other cycles
    comp = np.arange(qnet.layers[0].outputs, dtype=np.int64)
    design = design_chip(card, qnet, "offset", discards=(Discard(keep0, comp), None))
    qx = np.random.default_rng(5).integers(0, 256, (4, 40))
    results = {}
    for name, d in (("full", full), ("discard", design)):
        ledger = Ledger()
        res = Engine(program_chip(d, np.random.default_rng(0)), ledger, 0, np.random.default_rng(1)).run(qx, 4)
        results[name] = (res, ledger.counts())
    (full_res, full_counts), (disc_res, disc_counts) = results["full"], results["discard"]
    l0 = full.layers[0]
    conv_full_l0 = sum(4 * 8 * len(t.row_groups) * t.used_columns for t in l0.mapping.tiles)
    conv_disc_l0 = sum(4 * 4 * len(t.row_groups) * t.outputs * (l0.encoded.kinds - 1) for t in l0.mapping.tiles)
    assert full_counts[("adc", "convert")] - disc_counts[("adc", "convert")] == conv_full_l0 - conv_disc_l0
    reads_l0 = sum(4 * len(t.row_groups) for t in l0.mapping.tiles)
    assert full_counts[("crossbar", "read")] - disc_counts[("crossbar", "read")] == 4 * reads_l0
    assert disc_res.makespan_fs < full_res.makespan_fs
    np.testing.assert_array_equal(disc_res.layer_outputs[0], design.reference(qx)[0])
