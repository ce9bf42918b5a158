"""Device cards: loading, units, sources, overrides, round trip."""

import json
from importlib.resources import files

import pytest

from memsim.devices.adc import SarAdc
from memsim.devices.adc_energy import NeuroSimSarEnergy, TableEnergy
from memsim.devices.card import DeviceCard, list_cards, load_card, to_si
from memsim.devices.variation import Additive, Proportional


def isaac_text() -> str:
    return files("memsim.devices.cards").joinpath("isaac-2016.toml").read_text(encoding="utf-8")


def write_variant(tmp_path, section: str, key: str, new_line: str) -> str:
    """The ISAAC card with the line of ``key`` in ``[section]`` replaced by ``new_line`` (or added)."""
    lines = isaac_text().splitlines()
    start = lines.index(f"[{section}]") + 1
    for i in range(start, len(lines)):
        if lines[i].startswith("["):
            lines.insert(start, new_line)
            break
        if lines[i].split("=")[0].strip() == key:
            lines[i] = new_line
            break
    path = tmp_path / "variant.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_list_cards():
    assert list_cards() == ["isaac-2016", "isaac-milo2021", "neurosim-rram"]


def test_isaac_card_key_figures():
    c = load_card("isaac-2016")
    assert c.name == "isaac-2016"
    assert (c.crossbar.rows, c.crossbar.cols, c.crossbar.columns_per_adc, c.crossbar.n_adcs) == (128, 128, 128, 1)
    assert c.crossbar.read_energy_model == "lumped"
    assert c.crossbar.e_array_read_j == 30e-12  # 30 pJ -> J exactly as written
    assert c.crossbar.t_read_s == 100e-9
    assert (c.cell.bits_per_cell, c.cell.g_min_s, c.cell.g_max_s, c.cell.v_read_v) == (2, 1e-6, 10e-6, 0.5)
    assert c.cell.variation == Proportional(0.05) and c.cell.distribution == "gaussian"
    assert c.dac.bits == 1 and c.dac.e_drive_j == pytest.approx(4e-3 / 1024 * 100e-9, rel=1e-12, abs=0)
    assert c.sample_hold.e_sample_j == pytest.approx(10e-6 / 1024 * 100e-9, rel=1e-12, abs=0)
    assert isinstance(c.adc, SarAdc) and c.adc.bits == 8 and isinstance(c.adc.energy, TableEnergy)
    cost = c.adc.convert_cost()
    assert cost.energy_j == pytest.approx(1.67e-12, rel=1e-12, abs=0)
    assert cost.latency_s == pytest.approx(1 / 1.28e9, rel=1e-12, abs=0)
    assert c.shift_add.e_op_j == pytest.approx(0.2e-3 / (8 * 1.28e9), rel=1e-12, abs=0)
    assert c.register.e_bit_j == pytest.approx(0.009e-12, rel=1e-12, abs=0)


def test_neurosim_card_key_figures():
    c = load_card("neurosim-rram")
    assert (c.crossbar.rows, c.crossbar.cols, c.crossbar.columns_per_adc, c.crossbar.n_adcs) == (128, 128, 8, 16)
    assert c.crossbar.read_energy_model == "cell" and c.crossbar.e_array_read_j == 0.0
    assert c.cell.bits_per_cell == 1
    assert c.cell.g_max_s == pytest.approx(1 / 100e3, rel=1e-12, abs=0)
    assert c.cell.g_min_s == pytest.approx(1 / 1.7e6, rel=1e-12, abs=0)
    assert (c.cell.v_read_v, c.crossbar.t_read_s) == (0.5, 10e-9)
    assert c.adc.energy == NeuroSimSarEnergy(r_col_ohm=10e3)
    cost = c.adc.convert_cost()
    assert cost.latency_s == pytest.approx(9e-9, rel=1e-12, abs=0)
    assert cost.energy_j == pytest.approx(235e-15, rel=0.01, abs=0)


@pytest.mark.parametrize("name", ["isaac-2016", "isaac-milo2021", "neurosim-rram"])
def test_every_number_has_a_source(name):
    c = load_card(name)
    d = c.to_dict()

    def leaves(prefix, obj):
        for k, v in obj.items():
            if isinstance(v, dict):
                yield from leaves(f"{prefix}{k}.", v)
            elif not isinstance(v, str):
                yield f"{prefix}{k}"

    sections = ("crossbar", "cell", "dac", "sample_hold", "adc", "shift_add", "register")
    numbers = {q for s in sections for q in leaves(f"{s}.", d[s])}
    assert numbers and numbers == set(c.sources)
    assert all(len(src) > 10 for src in c.sources.values())


def test_summary():
    s = load_card("isaac-2016").summary()
    assert s["array"] == "128x128" and s["adc_kind"] == "sar" and s["adc_bits"] == 8
    assert s["adc_energy_j"] == pytest.approx(1.67e-12, rel=1e-12, abs=0) and s["columns_per_adc"] == 128
    assert s["variation"] == "proportional sigma_rel=0.05"
    json.dumps(s)


def test_unit_drive_voltage_and_current(card_factory):
    # v_unit = v_read/(2**d − 1), I_unit = v_unit·Δg: 0.5 V over 3 code steps; Δg = 9 µS over 3 level steps.
    card = card_factory(dac_bits=2, cell_bits=2)
    assert card.v_unit_v == pytest.approx(0.5 / 3, rel=1e-15)
    assert card.i_unit_a == pytest.approx(0.5 / 3 * 3e-6, rel=1e-12)
    isaac = load_card("isaac-2016")
    assert isaac.v_unit_v == isaac.cell.v_read_v / ((1 << isaac.dac.bits) - 1)
    assert isaac.i_unit_a == isaac.v_unit_v * isaac.cell.delta_g_s


@pytest.mark.parametrize("name", ["isaac-2016", "isaac-milo2021", "neurosim-rram"])
def test_to_dict_json_round_trip(name):
    n_levels = load_card(name).cell.n_levels
    table = {"model": "table", "sigma_s_per_level": [1e-7 * k for k in range(n_levels)]}
    card = load_card(name, overrides={"cell": {"variation": table}})
    text = json.dumps(card.to_dict())
    back = DeviceCard.from_dict(json.loads(text))
    assert back == card
    assert back.to_dict() == card.to_dict()


def test_from_dict_rejects_wrong_schema():
    d = load_card("isaac-2016").to_dict()
    d["schema_version"] = 2
    with pytest.raises(ValueError, match=r"schema_version must be 1"):
        DeviceCard.from_dict(d)


def test_to_si_prefixes():
    assert to_si("c", "x.e_j", 30, "pJ", "J") == 30e-12
    assert to_si("c", "x.g_s", 1, "µS", "S") == 1e-6
    assert to_si("c", "x.g_s", 1, "μS", "S") == 1e-6
    assert to_si("c", "x.g_s", 2, "mS", "S") == 2e-3
    assert to_si("c", "x.t_s", 2, "ms", "s") == 2e-3
    assert to_si("c", "x.r_ohm", 10, "kΩ", "Ohm") == 10e3
    assert to_si("c", "x.r_ohm", 1.7, "MOhm", "Ohm") == 1.7e6
    assert to_si("c", "x.f_hz", 1.28, "GHz", "Hz") == 1.28e9
    assert to_si("c", "x.p_w", 0.3, "mW", "W") == 0.3e-3
    assert to_si("c", "x.i_a", 5, "nA", "A") == 5e-9
    assert to_si("c", "x.e_j", [1, 2], "fJ", "J") == [1e-15, 2e-15]
    assert to_si("c", "x.bits", 8, "bit", "count") == 8 and isinstance(to_si("c", "x.bits", 8, "bit", "bit"), int)
    assert to_si("c", "x.coeffs", [1e-6, 0.01], "S^(1-k)", "S^(1-k)") == [1e-6, 0.01]
    with pytest.raises(ValueError, match=r"x\.coeffs has unit 'uS'; allowed only 'S\^\(1-k\)'"):
        to_si("c", "x.coeffs", [1.0], "uS", "S^(1-k)")
    with pytest.raises(ValueError, match=r"not a number"):
        to_si("c", "x.e_j", True, "J", "J")


def test_pj_converted_in_loaded_card(tmp_path):
    line = 'e_array_read_j = { value = 0.03, unit = "nJ", source = "test" }'
    path = write_variant(tmp_path, "crossbar", "e_array_read_j", line)
    assert load_card(path).crossbar.e_array_read_j == pytest.approx(30e-12, rel=1e-12, abs=0)


def test_missing_source_is_an_error(tmp_path):
    path = write_variant(tmp_path, "crossbar", "rows", "rows = 128")
    msg = r"card '.*variant\.toml': crossbar\.rows = 128 has no source; every number needs its source"
    with pytest.raises(ValueError, match=msg):
        load_card(path)
    path = write_variant(tmp_path, "dac", "bits", 'bits = { value = 1, unit = "bit" }')
    with pytest.raises(ValueError, match=r"dac\.bits .* every number needs its source"):
        load_card(path)
    path = write_variant(tmp_path, "dac", "bits", 'bits = { value = 1, unit = "bit", source = "" }')
    with pytest.raises(ValueError, match=r"dac\.bits .* every number needs its source"):
        load_card(path)


def test_wrong_unit_dimension_is_an_error(tmp_path):
    path = write_variant(tmp_path, "cell", "g_max_s", 'g_max_s = { value = 10, unit = "pJ", source = "test" }')
    with pytest.raises(ValueError, match=r"card '.*variant\.toml': cell\.g_max_s has unit 'pJ'; allowed a unit of 'S'"):
        load_card(path)
    # a _s field declared in seconds does not accept siemens, and one declared in siemens not seconds
    path = write_variant(tmp_path, "crossbar", "t_read_s", 't_read_s = { value = 100, unit = "nS", source = "test" }')
    with pytest.raises(ValueError, match=r"crossbar\.t_read_s has unit 'nS'; allowed a unit of 's'"):
        load_card(path)
    path = write_variant(tmp_path, "cell", "g_min_s", 'g_min_s = { value = 1, unit = "us", source = "test" }')
    with pytest.raises(ValueError, match=r"cell\.g_min_s has unit 'us'; allowed a unit of 'S'"):
        load_card(path)
    path = write_variant(tmp_path, "adc", "bits", 'bits = { value = 8, unit = "V", source = "test" }')
    with pytest.raises(ValueError, match=r"adc\.bits has unit 'V'; allowed a unit of dimensionless"):
        load_card(path)


def test_unknown_key_and_range_error_name_card(tmp_path):
    path = write_variant(tmp_path, "dac", "voltage_v", 'voltage_v = { value = 1, unit = "V", source = "x" }')
    with pytest.raises(ValueError, match=r"unknown key 'dac\.voltage_v'; allowed: area_m2, bits, e_drive_j, "
                                         r"p_static_w, t_drive_s"):
        load_card(path)
    path = write_variant(tmp_path, "cell", "bits_per_cell", 'bits_per_cell = { value = 9, unit = "bit", source = "x" }')
    msg = r"^card '.*variant\.toml': cell\.bits_per_cell = 9 is out of range; allowed 1\.\.8$"
    with pytest.raises(ValueError, match=msg):
        load_card(path)
    path = write_variant(tmp_path, "adc", "kind", 'kind = "pipelined"')
    with pytest.raises(ValueError, match=r"adc\.kind = 'pipelined' is not valid; allowed: flash, sar"):
        load_card(path)


def test_unknown_card_lists_available():
    available = "isaac-2016, isaac-milo2021, neurosim-rram"
    with pytest.raises(ValueError, match=rf"^unknown card 'isaac'; available: {available}$"):
        load_card("isaac")
    with pytest.raises(ValueError, match=r"does not exist"):
        load_card("/nonexistent/card.toml")


def test_malformed_toml_is_one_line_error_with_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('schema_version = 1\nname = "x"\n[crossbar\nrows = 1\n', encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_card(str(path))
    msg = str(err.value)
    assert "broken.toml" in msg and "malformed TOML" in msg and "line" in msg and "\n" not in msg


def test_overrides_applied_with_user_source():
    c = load_card("isaac-2016", overrides={"cell": {"variation": {"sigma_rel": 0.1}}, "adc": {"bits": 6}})
    assert c.cell.variation == Proportional(0.1)
    assert c.adc.bits == 6 and c.adc.convert_cost().energy_j == pytest.approx(1.20e-12, rel=1e-12, abs=0)
    assert c.adc.t_cycle_s == load_card("isaac-2016").adc.t_cycle_s  # untouched keys keep the card's value
    assert c.sources["cell.variation.sigma_rel"] == "user override"
    assert c.sources["adc.bits"] == "user override"
    assert c.sources["adc.t_cycle_s"].startswith("ISAAC")


def test_override_switching_model_replaces_section():
    c = load_card("isaac-2016", overrides={"cell": {"variation": {"model": "additive", "sigma_const_s": 2e-7}}})
    assert c.cell.variation == Additive(2e-7)
    assert "cell.variation.sigma_rel" not in c.sources
    assert c.sources["cell.variation.sigma_const_s"] == "user override"
    energy = {"model": "flash_comparators", "e_comparator_j": 1e-15, "e_encoder_j": 0.0}
    c = load_card("isaac-2016", overrides={"adc": {"kind": "flash", "bits": 4, "t_conv_s": 1e-9, "energy": energy}})
    assert c.adc.kind == "flash" and c.adc.convert_cost().energy_j == pytest.approx(15e-15, rel=1e-12, abs=0)
    assert c.sources["adc.energy.e_comparator_j"] == "user override" and "adc.energy.e_conv_j" not in c.sources


def test_bad_overrides():
    with pytest.raises(ValueError, match=r"unknown override section 'adcs'"):
        load_card("isaac-2016", overrides={"adcs": {"bits": 6}})
    with pytest.raises(ValueError, match=r"unknown key 'bitz'"):
        load_card("isaac-2016", overrides={"adc": {"bitz": 6}})
    msg = r"card 'isaac-2016': adc\.bits = 3 is outside the energy table; allowed 4\.\.10"
    with pytest.raises(ValueError, match=msg):
        load_card("isaac-2016", overrides={"adc": {"bits": 3}})
    with pytest.raises(ValueError, match=r"cell\.variation\.sigma_s_per_level has 3 entries"):
        load_card("isaac-2016", overrides={"cell": {"variation": {"model": "table", "sigma_s_per_level": [0.0] * 3}}})


def test_a_card_takes_a_number_from_another_card_with_its_source():
    isaac, neurosim = load_card("isaac-2016"), load_card("neurosim-rram")
    assert neurosim.dac.e_drive_j == isaac.dac.e_drive_j
    assert neurosim.sources["dac.e_drive_j"] == "isaac-2016: " + isaac.sources["dac.e_drive_j"]


@pytest.mark.parametrize("line, fragment", [
    ('e_drive_j = { from = "no-such-card" }', "not a shipped card"),
    ('e_drive_j = { from = 3 }', "not a shipped card"),
])
def test_borrowing_from_an_unknown_card_is_an_error(tmp_path, line, fragment):
    with pytest.raises(ValueError, match=fragment):
        load_card(write_variant(tmp_path, "dac", "e_drive_j", line))


def test_borrowing_a_number_the_other_card_does_not_write_out(tmp_path):
    path = write_variant(tmp_path, "crossbar", "e_array_read_j", 'e_array_read_j = { from = "neurosim-rram" }')
    card = load_card(path)  # neurosim-rram writes e_array_read_j out: fine
    assert card.sources["crossbar.e_array_read_j"].startswith("neurosim-rram: ")
    chained = write_variant(tmp_path, "dac", "e_drive_j", 'e_drive_j = { from = "neurosim-rram" }')
    with pytest.raises(ValueError, match="does not write one out"):
        load_card(chained)  # neurosim-rram itself borrows it: no chains
