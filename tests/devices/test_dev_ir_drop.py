"""The IR-drop solvers (memsim.devices.ir_drop) and the wire card section (memsim.devices.wires)."""

import numpy as np
import pytest

from memsim.devices import ir_drop
from memsim.devices.card import load_card
from memsim.devices.ir_drop import (LineResistances, dissipation_w, node_voltages, solve_iterative, solve_nodal,
                                    transfer_s)
from memsim.devices.wires import Wires

G_MIN, G_MAX = 1e-6, 1e-5  # the isaac-2016 card's cells (PUMA: 1 MΩ / 100 kΩ)
V_READ = 0.5


def _array(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(G_MIN, G_MAX, (n, n))


def _patterns(n: int, batch: int, seed: int) -> np.ndarray:
    """Bit-serial drives: 1-bit DAC codes at V_READ (random density per vector)."""
    rng = np.random.default_rng(seed)
    return (rng.random((batch, n)) < rng.random((batch, 1))) * V_READ


def _full_scale(g: np.ndarray, v: np.ndarray) -> float:
    return float(np.abs(v).max() * g.sum(axis=0).max())


@pytest.mark.parametrize("n", [64, 128])
@pytest.mark.parametrize("r_seg", [0.638, 5.0])
@pytest.mark.parametrize("tol", [1e-7, 1e-4])
def test_fast_solver_agrees_with_the_nodal_solve_within_its_tolerance(n, r_seg, tol):
    """Random n×n arrays and input patterns: |I_iterative − I_nodal| <= tolerance · I_fs, and the error the
    wires make (what the solver must resolve) is far larger than that."""
    g, v = _array(n, n), _patterns(n, 24, n + 1)
    wires = LineResistances(r_seg + 50.0, r_seg, r_seg, r_seg + 20.0)
    exact = solve_nodal(g, wires, v)
    fast = solve_iterative(g, wires, v, tol)
    i_fs = _full_scale(g, v)
    assert np.abs(fast - exact).max() <= tol * i_fs
    assert np.abs(exact - v @ g).max() > 100 * tol * i_fs


@pytest.mark.parametrize("solver", ["nodal", "iterative"])
def test_the_transfer_matrix_reads_any_pattern(solver):
    """Superposition: the read's matrix T (one solve per unit drive) gives every pattern's currents."""
    g, v = _array(64, 3), _patterns(64, 16, 4)
    wires = LineResistances(10.0, 1.0, 1.0, 3.0)
    t, y = transfer_s(g, wires, solver, 1e-9)
    exact, drive = solve_nodal(g, wires, v, sources=True)
    i_fs = _full_scale(g, v)
    assert np.abs(v @ t - exact).max() <= 1e-8 * i_fs
    assert np.abs(v @ y - drive).max() <= 1e-8 * i_fs
    assert np.abs(y - y.T).max() <= 1e-8 * np.abs(y).max()  # reciprocity


@pytest.mark.parametrize("n", [64, 128])
def test_zero_resistance_is_the_ideal_read_exactly(n):
    g, v = _array(n, 5), _patterns(n, 8, 6)
    wires = LineResistances(0.0, 0.0, 0.0, 0.0)
    ideal = v @ g
    assert np.array_equal(solve_nodal(g, wires, v), ideal)
    assert np.array_equal(solve_iterative(g, wires, v, 1e-7), ideal)
    for solver in ("nodal", "iterative"):
        t, y = transfer_s(g, wires, solver, 1e-7)
        assert np.array_equal(t, g) and np.array_equal(y, np.diag(g.sum(axis=1)))


@pytest.mark.parametrize("resistances", [(0.0, 0.0, 1.0, 1.0), (1.0, 1.0, 0.0, 0.0), (5.0, 0.0, 2.0, 2.0),
                                         (5.0, 1.0, 0.0, 3.0), (0.0, 0.0, 0.0, 4.0), (4.0, 0.0, 0.0, 0.0)])
def test_zero_resistance_joins_nodes_in_both_solvers(resistances):
    """A zero segment makes a line one node (held at its terminal when the end resistance is zero too): both
    solvers agree on every mix of zero and non-zero resistances."""
    g, v = _array(32, 7), _patterns(32, 8, 8)
    wires = LineResistances(*resistances)
    exact = solve_nodal(g, wires, v)
    assert np.abs(solve_iterative(g, wires, v, 1e-9) - exact).max() <= 1e-9 * _full_scale(g, v)
    assert np.abs(exact - v @ g).max() > 0


def test_error_grows_with_wire_resistance():
    g, v = _array(64, 9), _patterns(64, 32, 10)
    ideal = v @ g
    errors = []
    for r_seg in (0.0, 0.1, 0.5, 1.0, 2.0, 5.0):
        wires = LineResistances(r_seg, r_seg, r_seg, r_seg)
        errors.append(float(np.abs(solve_nodal(g, wires, v) - ideal).mean()))
    assert errors[0] == 0.0
    assert all(b > a for a, b in zip(errors, errors[1:], strict=False))
    assert np.all(solve_nodal(g, LineResistances(1.0, 1.0, 1.0, 1.0), v) <= ideal + 1e-18)  # IR drop only loses


def test_error_grows_with_distance_from_the_driver_and_the_sense_amplifier():
    """Uniform cells, every row driven: each column's ideal current is the same, but columns farther from the
    drivers read less (monotonically), and each cell sees less voltage the farther it is from the driver along
    its word line and from the sense amplifier (at the last row) along its bit line."""
    n = 64
    g = np.full((n, n), G_MAX)
    v = np.full((1, n), V_READ)
    wires = LineResistances(1.0, 1.0, 1.0, 1.0)
    current = solve_nodal(g, wires, v)[0]
    assert np.all(np.diff(current) < 0)
    u, w = node_voltages(g, wires, v)
    drop = V_READ - (u - w)[0]  # what each cell loses of the read voltage
    assert np.all(np.diff(drop, axis=1) > 0)  # along a word line, away from the driver
    assert np.all(np.diff(drop, axis=0) < 0)  # along a bit line, towards the sense amplifier


def test_dissipation_splits_the_drivers_power_into_cells_and_wires():
    g, v = _array(32, 11), _patterns(32, 8, 12)
    wires = LineResistances(3.0, 1.0, 1.0, 2.0)
    cells, series = dissipation_w(g, wires, v)
    _, y = transfer_s(g, wires, "nodal", 0.0)
    total = np.einsum("bi,ij,bj->b", v, y, v)
    assert np.allclose(cells + series, total, rtol=1e-10, atol=0)
    assert np.all(series > 0) and np.all(cells < np.einsum("bi,ij->b", v**2, g))  # the cells see less voltage
    cells0, series0 = dissipation_w(g, LineResistances(0.0, 0.0, 0.0, 0.0), v)
    assert np.allclose(cells0, np.einsum("bi,ij->b", v**2, g), rtol=1e-12)
    assert np.all(np.abs(series0) <= 1e-12 * cells0)  # no wires: nothing but rounding outside the cells


def test_the_iterative_solver_says_when_it_does_not_converge(monkeypatch):
    monkeypatch.setattr(ir_drop, "MAX_SWEEPS", 3)
    g, v = _array(32, 13), _patterns(32, 4, 14)
    with pytest.raises(ValueError, match="did not converge"):
        solve_iterative(g, LineResistances(50.0, 50.0, 50.0, 50.0), v, 1e-9)


def test_line_resistances_are_checked():
    with pytest.raises(ValueError, match="r_row_ohm"):
        LineResistances(1.0, -1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="head >= row segment"):
        LineResistances(0.0, 1.0, 1.0, 1.0)


def test_the_shipped_cards_keep_ideal_wires_with_cited_numbers():
    for name in ("isaac-2016", "isaac-milo2021", "neurosim-rram"):
        card = load_card(name)
        wires = card.crossbar.wires
        assert wires.model == "ideal"
        assert "NeuroSim" in card.sources["crossbar.wires.r_wire_ohm_per_m"]
    wires = load_card("isaac-2016").crossbar.wires
    assert wires.r_wire_ohm_per_m == pytest.approx(5.6995e6)
    assert wires.r_row_segment_ohm == pytest.approx(0.638, abs=1e-3)  # 5.70 Ω/µm × 112 nm
    rram = load_card("neurosim-rram").crossbar.wires
    assert (rram.r_row_segment_ohm, rram.r_col_segment_ohm) == pytest.approx((1.2767, 3.8301), abs=1e-3)


def test_the_wire_network_of_a_read():
    wires = Wires(model="resistive", r_wire_ohm_per_m=1e7, row_pitch_m=1e-7, col_pitch_m=2e-7, r_driver_ohm=100.0,
                  r_sense_ohm=50.0)
    net = wires.network(128, 63)  # rows 0..63 driven: the bit line runs 65 segments to the sense amplifier
    assert net == LineResistances(101.0, 1.0, 2.0, 65 * 2.0 + 50.0)


def test_a_card_file_cannot_set_the_solver(tmp_path):
    text = (load_card.__globals__["_cards_dir"]().joinpath("isaac-2016.toml").read_text(encoding="utf-8")
            .replace('model = "ideal"\n', 'model = "ideal"\nsolver = "nodal"\n', 1))
    path = tmp_path / "card.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"crossbar.wires.solver is a setting of the run"):
        load_card(str(path))
