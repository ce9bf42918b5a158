"""The isaac-milo2021 card: ISAAC's periphery with a per-level, state-dependent programming σ derived from the
Milo et al. (IRPS 2021) linear fit; and the sigma_scale study parameter on a card."""

import re
from pathlib import Path

import numpy as np
import pytest

from memsim.devices.card import load_card
from memsim.devices.variation import NoVariation, Table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "devices.md"
NAME = "isaac-milo2021"


def milo_fit_s(g_s):
    """Milo et al., IRPS 2021: sigma = -0.009107·G + 4.78 µS, valid over G = 50..225 µS."""
    return -0.009107 * np.asarray(g_s) + 4.78e-6


def documented_levels():
    """(target G, sigma) in siemens of each row of the level table in docs/devices.md §The isaac-milo2021 card."""
    text = DOCS.read_text(encoding="utf-8").split(f"## The {NAME} card", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d) \| ([\d.]+) µS \| ([\d.]+) µS \|", text, flags=re.M)
    return [(int(level), float(g) * 1e-6, float(sigma) * 1e-6) for level, g, sigma in rows]


def test_card_loads_with_four_levels_over_the_fit_range():
    c = load_card(NAME)
    assert c.name == NAME and c.cell.bits_per_cell == 2 and c.cell.n_levels == 4
    assert (c.cell.g_min_s, c.cell.g_max_s) == pytest.approx((50e-6, 225e-6), rel=1e-12, abs=0)
    assert c.cell.v_read_v == 0.5 and c.cell.distribution == "gaussian"
    assert isinstance(c.cell.variation, Table)


def test_every_level_sigma_is_the_fit_at_its_target_conductance():
    c = load_card(NAME)
    g = c.cell.target_conductance_s(np.arange(c.cell.n_levels))
    np.testing.assert_allclose(c.cell.variation.sigma_s_per_level, milo_fit_s(g), rtol=1e-9, atol=0)
    source = c.sources["cell.variation.sigma_s_per_level"]
    assert "Milo et al., IRPS 2021" in source and "linear fit" in source and "derived" in source


def test_every_level_sigma_equals_the_documented_value():
    c = load_card(NAME)
    rows = documented_levels()
    assert [r[0] for r in rows] == [0, 1, 2, 3]
    g = c.cell.target_conductance_s(np.arange(4))
    for level, g_doc, sigma_doc in rows:
        assert g[level] == pytest.approx(g_doc, abs=0.005e-6)  # the docs give 2 decimals in µS
        assert c.cell.variation.sigma_s_per_level[level] == pytest.approx(sigma_doc, abs=0.0005e-6)  # 3 decimals


def test_variation_is_state_dependent_high_conductance_levels_are_the_low_error_states():
    sigma = np.array(load_card(NAME).cell.variation.sigma_s_per_level)
    assert len(set(sigma)) == 4
    assert np.all(np.diff(sigma) < 0)  # the fit's slope is negative: sigma falls as G rises


def test_periphery_is_isaac_with_its_sources():
    milo, isaac = load_card(NAME), load_card("isaac-2016")
    for section in ("crossbar", "dac", "sample_hold", "adc", "shift_add", "register"):
        assert getattr(milo, section) == getattr(isaac, section)
    assert milo.cell.drift == isaac.cell.drift and milo.cell.disturb == isaac.cell.disturb
    shared = {k: v for k, v in isaac.sources.items() if not k.startswith("cell.")}
    # The areas are taken from isaac-2016 ({ from = "isaac-2016" }): their sources name the card they came from.
    assert shared == {k: v.removeprefix("isaac-2016: ") for k, v in milo.sources.items() if not k.startswith("cell.")}
    assert milo.sources["adc.area.area_m2"] == "isaac-2016: " + isaac.sources["adc.area.area_m2"]


def test_sigma_scale_multiplies_the_card_sigma_and_says_so_in_the_sources():
    card = load_card(NAME)
    scaled = card.with_sigma_scale(2.5)
    np.testing.assert_allclose(scaled.cell.variation.sigma_s_per_level,
                               2.5 * np.array(card.cell.variation.sigma_s_per_level), rtol=1e-12, atol=0)
    assert "sigma_scale" in scaled.sources["cell.variation.sigma_s_per_level"]
    assert scaled.sources["cell.g_min_s"] == card.sources["cell.g_min_s"]
    assert scaled.crossbar == card.crossbar and scaled.adc == card.adc
    assert card.with_sigma_scale(1.0) is card
    assert card.with_sigma_scale(0.0).cell.variation.is_zero


def test_sigma_scale_has_no_effect_without_variation():
    card = load_card("isaac-2016", overrides={"cell": {"variation": {"model": "none"}}})
    assert card.with_sigma_scale(3.0) is card and card.cell.variation == NoVariation()


def test_sigma_scale_rejects_a_negative_factor():
    with pytest.raises(ValueError, match=r"^sigma_scale = -1.0 is out of range; allowed >= 0$"):
        load_card(NAME).with_sigma_scale(-1.0)
