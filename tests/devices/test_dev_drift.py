"""Drift and read-disturb models: equations, validation, card parsing."""

import numpy as np
import pytest

from memsim.devices.card import load_card
from memsim.devices.disturb import LinearDisturb, NoDisturb, disturb_model_from_dict
from memsim.devices.drift import LogRelaxation, NoDrift, PowerLaw, drift_model_from_dict

G = np.array([[1e-6, 4e-6], [7e-6, 10e-6]])


class CountingRng:
    """A generator stand-in that fails if anything is drawn."""

    def standard_normal(self, *args, **kwargs):
        raise AssertionError("no draw expected")


def test_power_law_follows_its_equation_and_draws_only_when_spread():
    model = PowerLaw(nu=0.05, t0_s=20.0)
    np.testing.assert_array_equal(model.apply(G, 0.0, CountingRng(), 0.0, 1.0), G)
    aged = model.apply(G, 1000.0, CountingRng(), 0.0, 1.0)
    np.testing.assert_allclose(aged, G * (1020.0 / 20.0) ** -0.05, rtol=1e-15, atol=0)
    assert np.all(aged < G)
    spread = PowerLaw(nu=0.05, t0_s=20.0, nu_sigma=0.02)
    a = spread.apply(G, 1000.0, np.random.default_rng(3), 0.0, 1.0)
    b = spread.apply(G, 1000.0, np.random.default_rng(3), 0.0, 1.0)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a / G, a[0, 0] / G[0, 0])


def test_log_relaxation_shifts_by_log_time_and_clips():
    model = LogRelaxation(t0_s=1.0, shift_s=-0.089e-6, sigma_slope_s=0.0, sigma_s=0.0)
    np.testing.assert_array_equal(model.apply(G, 0.5, CountingRng(), 1e-6, 10e-6), G)  # before t0: as programmed
    aged = model.apply(G, 3600.0, CountingRng(), 1e-6, 10e-6)
    expected = np.clip(G - 0.089e-6 * np.log(3600.0), 1e-6, 10e-6)
    np.testing.assert_allclose(aged, expected, rtol=1e-15, atol=0)
    assert aged[0, 0] == 1e-6  # clipped at g_min
    noisy = LogRelaxation(t0_s=1.0, shift_s=0.0, sigma_slope_s=0.042e-6, sigma_s=0.41e-6)
    draws = noisy.apply(np.full(20000, 5e-6), 86400.0, np.random.default_rng(0), 0.0, 1.0)
    assert np.std(draws) == pytest.approx(0.042e-6 * np.log(86400.0) + 0.41e-6, rel=0.03, abs=0)


def test_linear_disturb_and_no_models():
    np.testing.assert_array_equal(NoDrift().apply(G, 1e9, CountingRng(), 0, 1), G)
    np.testing.assert_array_equal(NoDisturb().apply(G, 1e9, 0, 1), G)
    model = LinearDisturb(rel_per_read=-1e-6)
    np.testing.assert_allclose(model.apply(G, np.array([[10], [1000]]), 0, 1),
                               G * (1 - 1e-6 * np.array([[10], [1000]])), rtol=1e-15, atol=0)


def test_bad_parameters_name_the_field():
    with pytest.raises(ValueError, match=r"cell\.drift\.nu = -0\.1 is out of range"):
        PowerLaw(nu=-0.1, t0_s=1.0)
    with pytest.raises(ValueError, match=r"cell\.drift\.t0_s = 0"):
        LogRelaxation(t0_s=0, shift_s=0, sigma_slope_s=0, sigma_s=0)
    with pytest.raises(ValueError, match=r"age_s = -1"):
        PowerLaw(nu=0.1, t0_s=1.0).apply(G, -1, CountingRng(), 0, 1)
    with pytest.raises(ValueError, match=r"cell\.drift\.model = 'exp' is not valid; allowed: log_relaxation, none, "
                                         r"power_law"):
        drift_model_from_dict({"model": "exp"})
    with pytest.raises(ValueError, match=r"cell\.disturb: missing cell\.disturb\.rel_per_read"):
        disturb_model_from_dict({"model": "linear"})


def test_cards_carry_drift_models_with_sources(tmp_path):
    isaac = load_card("isaac-2016")
    assert isaac.cell.drift == NoDrift() and isaac.cell.disturb == NoDisturb()
    rram = load_card("neurosim-rram")
    assert isinstance(rram.cell.drift, LogRelaxation)
    assert rram.cell.drift.shift_s == pytest.approx(-0.08900206e-6, rel=1e-12, abs=0)
    assert "aihwkit" in rram.sources["cell.drift.shift_s"]
    for card in (isaac, rram):
        for section in ("crossbar", "dac", "sample_hold", "adc", "shift_add", "register"):
            # ISAAC gives no leakage; NeuroSim's own models give it for its shift-add and flip-flops only.
            leaks = card is rram and section in ("shift_add", "register")
            assert (getattr(card, section).p_static_w > 0.0) == leaks
            assert card.sources[f"{section}.p_static_w"]
    over = load_card("isaac-2016", overrides={"cell": {"drift": {"model": "power_law", "nu": 0.05, "t0_s": 20.0}}})
    assert over.cell.drift == PowerLaw(nu=0.05, t0_s=20.0) and over.sources["cell.drift.nu"] == "user override"
    text = load_card_text().replace('[cell.drift]\nmodel = "none"',
                                    '[cell.drift]\nmodel = "power_law"\nnu = { value = 0.05, unit = "1" }\n'
                                    't0_s = { value = 20, unit = "s", source = "x" }')
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"cell\.drift\.nu .* has no source"):
        load_card(str(path))


def load_card_text():
    from importlib.resources import files

    return files("memsim.devices.cards").joinpath("isaac-2016.toml").read_text(encoding="utf-8")
