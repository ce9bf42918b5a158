"""tools/study_planner.py: conventional against planned, split into accuracy × energy gain and by knob."""

import json

import pytest



@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("study_planner")


def test_one_configuration_decomposes_the_ratio(tool, tmp_path, capsys):
    out = tmp_path / "study.json"
    png = tmp_path / "study.png"
    code = tool.main(["--networks", "digits-mlp", "--cards", "isaac-2016", "--encodings", "differential",
                      "--scales", "0.5", "--chips", "2", "--plan-chips", "2", "-o", str(out), "--png", str(png)])
    printed, _ = capsys.readouterr()
    assert code == 0
    row = json.loads(out.read_text())["rows"][0]
    assert (row["network"], row["card"], row["encoding"], row["sigma_scale"]) == ("digits-mlp", "isaac-2016",
                                                                                "differential", 0.5)
    # The ratio is the accuracy gain times the energy gain, and the knob steps multiply to it.
    assert row["cope_ratio"] == pytest.approx(row["accuracy_gain"] * row["energy_gain"], rel=1e-9)
    product = 1.0
    for step in row["knobs"]:
        assert step["cope_factor"] == pytest.approx(step["accuracy_factor"] * step["energy_factor"], rel=1e-9)
        product *= step["cope_factor"]
    assert product == pytest.approx(row["cope_ratio"], rel=1e-9)
    assert [k["knob"] for k in row["knobs"]] == list(tool.KNOBS)
    for key in ("conventional", "planned"):
        lo, hi = row[key]["accuracy_ci_95"]
        assert lo <= row[key]["accuracy_hw"] <= hi
    assert "| digits-mlp | isaac-2016 | differential | 0.5 |" in printed
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, fragment", [
    (["--scales", "-1"], "--scales"),
    (["--chips", "0"], "--chips"),
])
def test_bad_input_exits_2(tool, argv, fragment, capsys):
    with pytest.raises(SystemExit) as exc:
        tool.main(argv)
    assert exc.value.code == 2 and fragment in capsys.readouterr().err
