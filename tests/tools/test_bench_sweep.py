"""tools/bench_sweep.py: parallel efficiency of a 16-unit sweep on 1 and 2 local workers, as JSON."""

import json

import pytest


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("bench_sweep")


def test_bench_sweep_json(tool, capsys):
    tool.main(["--network", "digits-mlp", "--split", "calibration", "--chips", "4", "--chips-per-unit", "1",
               "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["units"] == 16 and result["identical_tables"] is True
    assert result["parallel_efficiency"] > 0 and result["t1_s"] > 0 and result["t2_s"] > 0
    assert result["parallel_efficiency"] == result["t1_s"] / (2 * result["t2_s"])
    assert result["cpu_parallel_efficiency"] == result["cpu_t1_s"] / (2 * result["cpu_t2_s"])
    assert result["relative_efficiency"] == result["parallel_efficiency"] / result["cpu_parallel_efficiency"]


def test_bench_sweep_refuses_fewer_than_16_units(tool, capsys):
    with pytest.raises(SystemExit) as exc:
        tool.main(["--points", "2", "--chips", "8", "--chips-per-unit", "2"])
    assert exc.value.code == 2
    assert "allowed: at least 16" in capsys.readouterr().err
