"""IR drop in the datapath: the solved read feeds the ADC, the energy and the error model; ideal wires change
nothing (docs/devices.md §Wire parasitics)."""

from dataclasses import replace

import numpy as np
import pytest

from memsim.chip import design_chip, program_chip
from memsim.config import SimConfig
from memsim.devices.ir_drop import dissipation_w
from memsim.devices.wires import Wires
from memsim.ledger import energy_zj
from memsim.planning.error_model import analyze_layer, measure_code_errors
from memsim.simulate import simulate
from memsim.tile import LayerReader, tile_circuit
from memsim.workload.fixedpoint import FixedFormat, drive_codes
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork

NEUROSIM_32NM = 5.6995e6  # Ω/m, the isaac-2016 card's crossbar.wires.r_wire_ohm_per_m (NeuroSim V1.4, 32 nm)


def with_wires(card, **fields):
    """``card`` with resistive wires; segments of 112 nm (the isaac-2016 card's pitch) unless given."""
    fields = {"row_pitch_m": 112e-9, "col_pitch_m": 112e-9, **fields}
    return replace(card, crossbar=replace(card.crossbar, wires=Wires(model="resistive", **fields)))


def summary(**wires):
    cfg = SimConfig(trace="", sigma_scale=0.0)
    if wires:
        cfg = cfg.with_card_override("crossbar", {"wires": wires})
    return simulate(cfg).summary()


def test_ideal_wires_or_zero_resistance_change_nothing():
    """Parasitics off (the shipped default), or on with every resistance zero: the same run, bit for bit."""
    base = summary()
    assert summary(model="ideal", r_driver_ohm=1e3) == base
    assert summary(model="resistive", r_wire_ohm_per_m=0.0, r_driver_ohm=0.0, r_sense_ohm=0.0) == base
    assert base["bit_exact_rate"] == 1.0


@pytest.mark.parametrize("reference", ["column", "digital"])
def test_negligible_wires_keep_the_datapath_bit_true(card_factory, reference):
    """Through the solved network (tiny wire resistance), with no variation every code still equals the integer
    partial sum: the reference column (or the digital floor) is read consistently with the ADC."""
    card = card_factory(rows=32, cols=33, reference=reference)
    card = with_wires(card, r_wire_ohm_per_m=1e-3, r_driver_ohm=1e-6, r_sense_ohm=1e-6)
    rng = np.random.default_rng(0)
    qw = rng.integers(-128, 128, (48, 20))
    layer = QuantizedLayer(0, qw, np.zeros(20, np.int64), FixedFormat(8, 8, False), FixedFormat(8, 7, True), None)
    design = design_chip(card, QuantizedNetwork("one", (layer,)), "offset")
    chip = program_chip(design, np.random.default_rng(1))
    assert all(t.circuit is not None for t in chip.tiles[0])
    qx = rng.integers(0, 256, (40, 48))
    reader = chip.readers[0]
    d = card.dac.bits
    hw = reader.read(drive_codes(qx, 8, d), None).partial
    lay = design.layers[0]
    ideal = lay.partial_sums(qx, d)  # (T, N, K, J)
    weights = (np.int64(1) << (np.arange(ideal.shape[0]) * d))[:, None] * lay.encoded.significance[None, :]
    assert np.array_equal(hw, np.einsum("tnkj,tk->nj", ideal, weights))


def test_real_wires_make_a_systematic_input_dependent_error():
    """NeuroSim's 32 nm wires on the default card, no variation: outputs leave the integer reference, the same
    way on every chip (a systematic error, not a random one), and more with ten times the wire resistance."""
    cfg = SimConfig(trace="", sigma_scale=0.0, chips=2)
    runs = {}
    for factor in (1.0, 10.0):
        wired = cfg.with_card_override("crossbar", {"wires": {"model": "resistive",
                                                              "r_wire_ohm_per_m": factor * NEUROSIM_32NM}})
        runs[factor] = simulate(wired).summary()
    one, ten = runs[1.0], runs[10.0]
    assert one["bit_exact_rate"] < 1.0
    assert one["accuracy_hw_per_chip"][0] == one["accuracy_hw_per_chip"][1]
    assert ten["bit_exact_rate"] < one["bit_exact_rate"] and ten["accuracy_hw"] < one["accuracy_hw"]


def test_iterative_and_nodal_runs_agree():
    """The run's solver is a config field; both give the same outputs at the default tolerance."""
    cfg = SimConfig(trace="", network="digits-mlp").with_card_override(
        "crossbar", {"wires": {"model": "resistive"}})
    fast = simulate(cfg).summary()
    exact = simulate(cfg.with_overrides(ir_solver="nodal")).summary()
    assert fast["accuracy_hw"] == exact["accuracy_hw"]
    assert abs(fast["bit_exact_rate"] - exact["bit_exact_rate"]) < 1e-3


def test_cell_energy_counts_the_solved_cells_and_the_wires(card_factory):
    """A ``read_energy_model = "cell"`` card: each read's data-dependent energy is the power its drivers deliver,
    ``V·Y·Vᵀ·t``, i.e. what the exact nodal solve dissipates in the cells plus the wires."""
    card = with_wires(card_factory(rows=16, cols=17, read_energy_model="cell"), r_wire_ohm_per_m=2e7,
                      r_driver_ohm=20.0, r_sense_ohm=10.0)
    rng = np.random.default_rng(3)
    layer = QuantizedLayer(0, rng.integers(-8, 8, (16, 4)), np.zeros(4, np.int64), FixedFormat(4, 4, False),
                           FixedFormat(4, 3, True), None)
    design = design_chip(card, QuantizedNetwork("one", (layer,)), "offset")
    chip = program_chip(design, np.random.default_rng(4))
    (tile,) = chip.tiles[0]
    qx = rng.integers(0, 16, (30, 16))
    drives = drive_codes(qx, 4, card.dac.bits)  # (N, T, rows)
    read = LayerReader(chip.tiles[0], card, design.layers[0].encoded.significance, design.layers[0].keep_kinds)
    energy = read.read(drives, None).activity[0].cell_energy_zj  # (groups, T)
    circuit = tile_circuit(card)
    g = circuit.conductances(tile, 0, tile.spec.rows)
    net = circuit.wires.network(card.crossbar.rows, tile.spec.rows - 1)
    for t in range(drives.shape[1]):
        v = drives[:, t, :].astype(np.float64) * card.v_unit_v
        cells, wires = dissipation_w(g, net, v)
        expected = energy_zj(float((cells + wires).sum()) * card.crossbar.t_read_s)
        assert abs(int(energy[0, t]) - expected) <= 1e-6 * expected + 16 * 16
        assert wires.sum() > 1e-3 * cells.sum()  # the wires take their share


def test_the_error_model_sees_the_parasitic_error(card_factory):
    """No variation: the analytic model predicts exactly the code errors the simulator's read makes through the
    wires (a deterministic error), and none with ideal wires."""
    card = card_factory(rows=32, cols=33, sigma_rel=0.0)
    rng = np.random.default_rng(0)
    layer = QuantizedLayer(0, rng.integers(-8, 8, (32, 8)), np.zeros(8, np.int64), FixedFormat(4, 4, False),
                           FixedFormat(4, 3, True), FixedFormat(6, 5, False))
    qx = rng.integers(0, 16, (100, 32))
    wired = with_wires(card, r_wire_ohm_per_m=3e8)
    lay = design_chip(wired, QuantizedNetwork("one", (layer,)), "offset").layers[0]
    assert not analyze_layer(lay, card, qx).p_code_error.any()
    model = analyze_layer(lay, wired, qx)
    measured = measure_code_errors(lay, wired, qx, 1, np.random.default_rng(1))
    assert model.p_code_error.max() > 0.05 and model.error_power.max() > 0
    np.testing.assert_allclose(model.p_code_error, measured.rate, rtol=0, atol=1e-12)


def test_a_chunked_run_and_a_one_vector_run_agree_with_wires():
    """Chunking is a performance choice with IR drop too: outputs, energy (the Gram sums of the cell-energy
    card's quadratic form are exact integers) and timing agree between one chunk and one vector at a time."""
    from memsim.simulate import Workload
    from memsim.workload.datasets import Dataset
    from memsim.workload.network import DenseLayer, Network

    rng = np.random.default_rng(5)
    net = Network("tiny", (DenseLayer(rng.standard_normal((24, 12)), np.zeros(12), "relu"),
                           DenseLayer(rng.standard_normal((12, 4)), np.zeros(4), "none")))
    data = Dataset("tiny", rng.random((10, 24)), rng.integers(0, 4, 10))
    workload = Workload(net, data, data)
    cfg = SimConfig(trace="", card="neurosim-rram", chips=2).with_card_override(
        "crossbar", {"wires": {"model": "resistive", "r_driver_ohm": 100.0}})
    whole = simulate(cfg, workload=workload).summary()
    single = simulate(cfg.with_overrides(batch=1), workload=workload).summary()
    assert whole.pop("events") < single.pop("events")  # events carry arrays: more chunks, more events
    assert whole == single
    ideal = simulate(SimConfig(trace="", card="neurosim-rram", chips=2), workload=workload).summary()
    assert whole["energy_by_component_j"]["crossbar"] != ideal["energy_by_component_j"]["crossbar"]
