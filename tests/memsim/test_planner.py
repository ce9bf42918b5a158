"""The planner on the built-in digits workload: it saves energy within the budget, and its CLI."""

import json

import numpy as np
import pytest

from memsim.cli.main import main
from memsim.config import SimConfig
from memsim.planning.plan import Plan
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
