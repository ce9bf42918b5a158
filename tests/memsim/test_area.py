"""Chip area from the mapping (memsim.area): ISAAC's per-IMA area from the isaac-2016 card, ADC sharing, reports.

ISAAC (Shafiee et al., ISCA 2016), Table 6, per IMA at 32 nm: ADCs (8 × 8 bit) 0.0096 mm², DACs (8 × 128 1-bit)
0.00017 mm², sample-and-holds (8 × 128) 0.00004 mm², memristor arrays (8 × 128×128) 0.0002 mm², shift-and-add
(4 units) 0.00024 mm², input register (2 KB) 0.0021 mm², output register (256 B) 0.00077 mm²: 0.0131 mm² per IMA,
0.157 mm² for a tile's 12 IMAs. One busy IMA in memsim's terms is one layer mapped onto exactly 8 crossbars
(tests/memsim/test_isaac_ima.py): 128 inputs × 248 outputs of 8-bit offset-encoded weights on 2-bit cells.
"""

import json

import pytest

from memsim.area import area_figures, layer_area
from memsim.devices.card import load_card
from memsim.engine.posting import static_units
from memsim.mapping import map_layer

MM2 = 1e-6  # m² per mm²
ISAAC_IMA_MM2 = {"adc": 0.0096, "dac": 0.00017, "sample_hold": 0.00004, "crossbar": 0.0002, "shift_add": 0.00024,
                 "register": 0.0021 + 0.00077}
ISAAC_IMA_TOTAL_MM2 = 0.0131  # the sum of the rows above, as the paper rounds it
ISAAC_TILE_IMAS_MM2 = 0.157  # Table 6: "IMA total" of a tile's 12 IMAs


def one_ima_tiles(card) -> int:
    xb = card.crossbar
    mapping = map_layer(0, rows=128, outputs=248, kinds=4, xbar_rows=xb.rows, xbar_cols=xb.cols, rows_per_read=128,
                        reference=xb.reference)
    return len(mapping.tiles)


def test_isaac_card_reproduces_isaacs_area_per_ima():
    card = load_card("isaac-2016")
    tiles = one_ima_tiles(card)
    assert tiles == 8
    ima = layer_area(card, 0, tiles, pools=False)
    # The IMA is the 8 crossbars with their periphery; the layer's digital stage is the ISAAC tile's, not the IMA's.
    assert ima.tiles_m2 / MM2 == pytest.approx(ISAAC_IMA_TOTAL_MM2, rel=0.05)
    assert 12 * ima.tiles_m2 / MM2 == pytest.approx(ISAAC_TILE_IMAS_MM2, rel=0.05)
    stage = card.area_by_component_m2(card.stage_instances(pools=False))
    for component, mm2 in ISAAC_IMA_MM2.items():
        assert (ima.by_component_m2[component] - stage[component]) / MM2 == pytest.approx(mm2, rel=0.05), component
    assert ima.adcs == 8


def test_doubling_columns_per_adc_halves_the_adcs_and_their_area():
    areas = {}
    for cpa in (8, 16, 128):
        card = load_card("isaac-2016", overrides={"crossbar": {"columns_per_adc": cpa}})
        areas[cpa] = layer_area(card, 0, 8, pools=False)
    assert (areas[8].adcs, areas[16].adcs, areas[128].adcs) == (128, 64, 8)
    assert areas[8].by_component_m2["adc"] == pytest.approx(2 * areas[16].by_component_m2["adc"], rel=1e-12)
    assert areas[8].by_component_m2["adc"] == pytest.approx(16 * areas[128].by_component_m2["adc"], rel=1e-12)
    assert areas[8].area_m2 > areas[16].area_m2 > areas[128].area_m2
    # The same ADCs draw static power: a card with ADC leakage pays it per ADC.
    card = load_card("isaac-2016", overrides={"crossbar": {"columns_per_adc": 8}})
    assert static_units(card, tiles=3, layers=1)["adc"] == 3 * 16


def test_adc_area_follows_its_resolution_by_the_cards_law():
    card = load_card("neurosim-rram")  # NeuroSim's SAR area: 64.50 + 39.66 µm² per bit at 32 nm
    assert card.adc.area_parts()["unit"] == pytest.approx((64.50 + 8 * 39.66) * 1e-12, rel=1e-12)
    assert card.with_adc_bits(4).adc.area_parts()["unit"] == pytest.approx((64.50 + 4 * 39.66) * 1e-12, rel=1e-12)
    isaac = load_card("isaac-2016")
    assert isaac.adc.area_parts()["unit"] / 1e-12 == pytest.approx(1200, rel=1e-12)  # ISAAC: 0.0096 mm² / 8
    # Capacitive-DAC scaling (the isaac-2016 table): 6 bits 626.91 µm², 10 bits 3002.0 µm².
    assert isaac.with_adc_bits(6).adc.area_parts()["unit"] / 1e-12 == pytest.approx(626.91, rel=1e-12)
    assert isaac.with_adc_bits(10).adc.area_parts()["unit"] / 1e-12 == pytest.approx(3002.008032, rel=1e-12)


def test_adc_area_table_interpolates_log_linearly_and_refuses_bits_outside_it():
    from memsim.devices.adc_area import TableArea

    table = TableArea(table_bits=(4, 8), area_m2=(100e-12, 1600e-12))
    assert table.area_at(6) == pytest.approx(400e-12, rel=1e-12)  # geometric mean of 100 and 1600
    with pytest.raises(ValueError, match=r"adc\.bits = 9 is outside the ADC area table; allowed 4\.\.8"):
        table.area_at(9)
    with pytest.raises(ValueError, match=r"adc\.area\.area_m2 has 1 entries"):
        TableArea(table_bits=(4, 8), area_m2=(100e-12,))


def test_pooling_unit_counts_once_per_layer_that_pools():
    card = load_card("isaac-2016")
    plain, pooled = layer_area(card, 0, 2, pools=False), layer_area(card, 0, 2, pools=True)
    assert pooled.area_m2 - plain.area_m2 == pytest.approx(240e-12, rel=1e-12)  # ISAAC's max-pool unit


def test_card_area_units_convert_and_a_card_without_areas_has_none(tmp_path):
    card = load_card("isaac-2016")
    assert card.crossbar.cell_area_m2 == pytest.approx(0.0002e-6 / (8 * 128 * 128), rel=1e-12)
    assert "Saberi" in card.sources["adc.area.area_m2"]
    text = load_card_text("isaac-2016").replace('cell_area_m2 = { value = 0.00152587890625, unit = "um2"',
                                                'cell_area_m2 = { value = 1.52587890625e-9, unit = "mm2"')
    path = tmp_path / "k.toml"
    path.write_text(text, encoding="utf-8")
    assert load_card(str(path)).crossbar.cell_area_m2 == pytest.approx(card.crossbar.cell_area_m2, rel=1e-12)
    bare = load_card("isaac-2016", overrides={s: {"area_m2": 0.0} for s in ("crossbar", "dac", "sample_hold",
                                                                             "shift_add", "register")}
                     | {"adc": {"area": {"model": "linear", "area_fixed_m2": 0.0, "area_per_bit_m2": 0.0}}})
    assert bare.adc.area_parts()["unit"] == 0.0
    figures = area_figures((layer_area(bare, 0, 3, pools=False),))
    assert figures["area_m2"] == pytest.approx(3 * 128 * 128 * card.crossbar.cell_area_m2, rel=1e-12)


def load_card_text(name: str) -> str:
    from memsim.devices.card import _cards_dir

    return _cards_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8")


def test_simulate_json_reports_the_area_of_the_mapped_network(run_cli, tmp_path):
    def simulate(cpa: int) -> dict:
        cfg = tmp_path / f"c{cpa}.toml"
        cfg.write_text(f"[devices.overrides.crossbar]\ncolumns_per_adc = {cpa}\n", encoding="utf-8")
        code, out, _ = run_cli(["simulate", "--config", str(cfg), "--no-trace", "--json"])
        assert code == 0
        return json.loads(out)

    s16, s32 = simulate(16), simulate(32)
    for s in (s16, s32):
        assert s["area_m2"] == pytest.approx(sum(s["area_by_component_m2"].values()), rel=1e-12)
        assert s["area_m2"] == pytest.approx(sum(la["area_m2"] for la in s["area_by_layer"]), rel=1e-12)
        assert sum(la["tiles"] for la in s["area_by_layer"]) == s["tiles"]
        assert s["tops_per_mm2"] == pytest.approx(s["ops"] / s["inferences"] * s["throughput_inf_per_s"] / 1e12
                                                  / (s["area_m2"] * 1e6), rel=1e-12)
        assert s["tops_per_w"] == pytest.approx(s["ops"] / s["energy_j"] / 1e12, rel=1e-12)
    assert sum(la["adcs"] for la in s16["area_by_layer"]) == 2 * sum(la["adcs"] for la in s32["area_by_layer"])
    assert s16["area_by_component_m2"]["adc"] == pytest.approx(2 * s32["area_by_component_m2"]["adc"], rel=1e-12)
    assert s16["throughput_inf_per_s"] >= s32["throughput_inf_per_s"]  # more ADCs convert in parallel


def test_neurosim_card_has_static_energy(run_cli):
    code, out, _ = run_cli(["simulate", "--card", "neurosim-rram", "--no-trace", "--json"])
    assert code == 0
    s = json.loads(out)
    assert s["static_energy_j"] > 0 and s["area_m2"] > 0


def test_devices_lists_every_cards_area_figures(run_cli):
    code, out, _ = run_cli(["devices", "--json"])
    assert code == 0
    cards = json.loads(out)
    assert set(cards) == {"isaac-2016", "isaac-milo2021", "neurosim-rram"}
    for card in cards.values():
        for key in ("cell_area_m2", "array_area_m2", "dac_area_m2", "sample_hold_area_m2", "adc_area_m2",
                    "shift_add_area_m2", "pool_area_m2", "register_area_m2", "tile_area_m2"):
            assert card[key] > 0, key
    # One ISAAC crossbar with its periphery: 25 (array) + 128 × 0.166 + 128 × 0.039 + 1200 + 30 + 358.75 µm².
    assert cards["isaac-2016"]["tile_area_m2"] / 1e-12 == pytest.approx(1640.0, rel=1e-4)
    code, out, _ = run_cli(["devices"])
    assert code == 0 and "tile_area_m2         1640 µm²" in out
