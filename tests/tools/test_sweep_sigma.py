"""tools/sweep_sigma.py: accuracy, energy and COPE versus σ, as a table, JSON and a PNG."""

import json
import struct

import numpy as np
import pytest

from memsim.workload.datasets import builtin_dataset



@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("sweep_sigma")


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """60 digits from the calibration split, so a sweep takes about a second."""
    data = builtin_dataset("digits", "calibration")
    path = tmp_path_factory.mktemp("data") / "digits60.npz"
    np.savez(path, x=data.x[:60], y=data.y[:60])
    return path


def run(tool, argv, capsys):
    code = tool.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_sweep_json_and_png(tool, small_data, tmp_path, capsys):
    png = tmp_path / "sweep.png"
    code, out, err = run(tool, ["--data", str(small_data), "--sigmas", "0", "0.2", "--chips", "2", "--json",
                                "-o", str(png)], capsys)
    assert code == 0, err
    rows = json.loads(out)
    assert [r["sigma_rel"] for r in rows] == [0.0, 0.2]
    ideal, noisy = rows
    # σ = 0 is the integer reference on every chip; σ = 0.2 is not.
    assert ideal["bit_exact_rate"] == 1.0 and ideal["accuracy_hw_std"] == 0.0
    assert ideal["accuracy_hw"] == ideal["accuracy_quantized"]
    assert noisy["bit_exact_rate"] < 0.5
    ops = 2 * 6464 * 60
    for r in rows:
        assert r["energy_per_inference_j"] == pytest.approx(r["energy_j"] / 60, rel=1e-12, abs=0)
        assert r["cope_gop_per_j"] == pytest.approx(r["accuracy_hw"] * ops / r["energy_j"] / 1e9, rel=1e-12, abs=0)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100 and len(data) > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["sweep.png"]


def test_sweep_table_has_one_row_per_sigma(tool, small_data, capsys):
    code, out, err = run(tool, ["--data", str(small_data), "--sigmas", "0", "0.1", "--chips", "1",
                                "--card", "neurosim-rram"], capsys)
    assert code == 0, err
    header, *rows = out.strip().splitlines()
    assert "accuracy" in header and "COPE" in header
    assert [r.split()[0] for r in rows] == ["0", "0.1"]
    ideal = rows[0].split()  # σ/G, accuracy, ±, std, %, bit-exact, %, energy, unit, COPE, GOP/J
    assert ideal[3] == "0.00" and ideal[5] == "100.00"  # σ = 0: no spread, every output bit exact
    assert float(rows[1].split()[5]) < 100


@pytest.mark.parametrize("argv, fragment", [
    (["--sigmas", "-0.1"], "σ/G must be >= 0"),
    (["--card", "no-such-card"], "unknown card 'no-such-card'"),
    (["--chips", "0"], "chips"),
    (["--sigmas", "0", "-o", "/no/such/dir/sweep.png"], "does not exist"),
])
def test_bad_input_is_one_line_exit_2(tool, argv, fragment, capsys):
    code, out, err = run(tool, argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("sweep_sigma: error: ") and fragment in err
