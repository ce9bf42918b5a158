"""The planner on the built-in digits workload: it saves energy within the budget, and its CLI."""

import json

import numpy as np
import pytest

from memsim.cli.main import main
from memsim.config import SimConfig
from memsim.planning.plan import LayerPlan, Plan
from memsim.planning.planner import compare_row, plan_network

NO_VARIATION = {"cell": {"variation": {"model": "none"}}}


@pytest.fixture(scope="module")
def zero_sigma_plan():
    cfg = SimConfig(trace="", card_overrides=NO_VARIATION)
    result = plan_network(cfg, budget=0.01, plan_chips=1)
    return cfg, result, compare_row(cfg, result, chips=1, budget=0.01)


def test_at_zero_variation_the_plan_keeps_the_budget_and_saves_energy(zero_sigma_plan):
    _, result, row = zero_sigma_plan
    assert result.feasible
    assert row["planned"]["accuracy_hw"] >= row["ideal_accuracy_test"] - 0.01
    # The verdict is the 95 % bound's: the mean drop is within the budget, the bound says whether that holds.
    assert row["accuracy_drop"] == pytest.approx(row["ideal_accuracy_test"] - row["planned"]["accuracy_hw"], abs=1e-12)
    assert row["accuracy_drop_upper_95"] >= row["accuracy_drop"]
    assert row["within_budget_on_test"] == (row["accuracy_drop_upper_95"] <= 0.01)
    assert row["planned"]["energy_j"] < 0.7 * row["conventional"]["energy_j"]
    assert row["cope_ratio"] > 1.4
    assert sum(len(lp.discard) for lp in result.plan.layers) > 0  # it saves energy by discarding
    # Without variation the conventional plan is the ideal: its accuracy is exactly the ideal on test.
    assert row["conventional"]["accuracy_hw"] == row["ideal_accuracy_test"]


def test_planning_never_uses_the_evaluation_chips_or_data(zero_sigma_plan):
    cfg, result, _ = zero_sigma_plan
    # Planning scored candidates on the calibration split; the conventional plan there is the ideal.
    assert result.conventional_calibration.accuracy == result.ideal_accuracy
    assert result.target_accuracy == pytest.approx(result.ideal_accuracy - 0.01, rel=0, abs=1e-12)
    # Feasible means the 95 % bound on the paired drop, over calibration images and planning chips, is within
    # the budget, on the search's chips and again on fresh ones.
    assert result.planned_calibration.drop_bound <= 0.01
    assert result.reverified is not None and result.reverified.drop_bound <= 0.01


def test_plan_cli_writes_a_plan_and_prints_the_comparison(tmp_path, capsys):
    out = tmp_path / "plan.toml"
    heat_map, model_json = tmp_path / "errors.png", tmp_path / "errors.json"
    argv = ["plan", "--sigma", "0.05", "--plan-chips", "1", "--chips", "1", "-o", str(out), "--json",
            "--error-map", str(heat_map), "--error-model", str(model_json)]
    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code == 0
    printed = json.loads(capsys.readouterr().out)
    for key in ("conventional", "planned", "cope_ratio"):
        assert key in printed
    for key in ("accuracy_hw", "accuracy_hw_std", "energy_j", "cope_gop_per_j"):
        assert key in printed["planned"] and key in printed["conventional"]
    assert printed["cope_ratio"] == pytest.approx(
        printed["planned"]["cope_gop_per_j"] / printed["conventional"]["cope_gop_per_j"], rel=1e-12, abs=0)
    assert Plan.load(out).to_dict()["layers"] == printed["plan"]["layers"]
    png = heat_map.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 600 and height > 300
    model = json.loads(model_json.read_text())["layers"]
    assert len(model) == 3
    for layer, planned in zip(model, printed["plan"]["layers"], strict=True):
        grid = np.array(layer["p_code_error"])
        assert grid.shape == (len(np.array(layer["information"])), 8)
        assert ((grid >= 0) & (grid < 1)).all() and grid.max() > 0.01
        # A cycle whose drives are always zero (digits pixels are multiples of 1/16) cannot err.
        assert (grid[np.array(layer["information"]) == 0] == 0).all()
        assert sum(layer["error_positions_measured"].values()) > 0


@pytest.mark.parametrize("args, fragment", [
    (["--budget", "1.5"], "budget"),
    (["--margin", "0.5"], "margin"),
    (["--margin", "-0.1"], "margin"),
    (["--sweep-sigma", "0,x"], "--sweep-sigma"),
    (["--png", "sweep.png"], "--png goes with --sweep-sigma"),
    (["-o", "missing/plan.toml"], "does not exist"),
])
def test_plan_cli_bad_input(args, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        main(["plan", "--plan-chips", "1", "--chips", "1", *args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and fragment in err[0], err


def _model(information, error=None):
    from memsim.planning.error_model import LayerErrorModel

    information = np.asarray(information, dtype=float)
    zeros = np.zeros_like(information)
    error = zeros if error is None else np.asarray(error, dtype=float)
    return LayerErrorModel(0, zeros, zeros, error, zeros, information, zeros, zeros.astype(int),
                           np.ones(information.shape, dtype=int), 8, 1.0)


def test_discard_moves_count_what_an_emptied_cycle_saves():
    """Two slices × two cycles: cycle 1's sums carry a little more information than cycle 0's, but emptying
    cycle 1 also saves its array read, drives and feed — so it goes first, as one move; zero-information sums
    are free; a sum whose error exceeds its information (negative damage) leads."""
    from memsim.planning.planner import _discard_moves, _Prices

    info = [[0.0, 2.0, 1.0], [1.5, 2.5, 1.0]]  # (S, T): s0t0 carries nothing
    err = [[0.0, 0.0, 3.0], [0.0, 0.0, 0.0]]  # s0t2 brings more error than information
    prices = _Prices(conversion=np.ones((2, 3)), cycle=np.array([0.0, 100.0, 0.0]))
    free, moves = _discard_moves([_model(info, err)], [prices], Plan((LayerPlan(4),)))
    assert free == [(0, 0, 0)]
    assert moves[0] == [(0, 0, 2)]  # negative damage first
    assert moves[1] == [(0, 0, 1), (0, 1, 1)]  # the whole of cycle 1, for its read, drives and feed
    flat = [x for m in moves for x in m]
    assert sorted(flat) == [(0, 0, 1), (0, 0, 2), (0, 1, 0), (0, 1, 1), (0, 1, 2)]  # every kept sum, once


def test_resolution_moves_lower_single_sums_and_rebuild_the_plan():
    from memsim.planning.planner import _resolution_moves, _with_resolutions, split_for_planning
    from memsim.simulate import load_workload

    cfg = SimConfig(trace="", card_overrides=NO_VARIATION)
    calibration, _ = split_for_planning(load_workload(cfg))
    plan = Plan(tuple(LayerPlan(5, 1, ((0, 0),), "calibrated", 6) for _ in range(3)))
    moves = _resolution_moves(cfg, plan, calibration, 4)
    assert moves and all(4 <= bits <= 5 and (s, t) != (0, 0) for _, s, t, bits in moves)
    # Each sum steps down one bit at a time: 5 before 4.
    seen = {}
    for li, s, t, bits in moves:
        assert bits == seen.get((li, s, t), 6) - 1
        seen[(li, s, t)] = bits
    lowered = _with_resolutions(plan, moves[:3])
    assert sum(len(lp.adc_bits_by_sum) for lp in lowered.layers) == len({m[:3] for m in moves[:3]})
    assert lowered.layers[0].discard == plan.layers[0].discard and lowered.layers[0].adc_bits == 6
