"""SimConfig helpers."""

import pytest

from memsim.config import SimConfig
from memsim.devices.card import load_card
from memsim.devices.variation import Proportional


def test_with_sigma_rel_sets_proportional_variation_on_the_card():
    cfg = SimConfig().with_sigma_rel(0.1)
    assert cfg.card_overrides == {"cell": {"variation": {"model": "proportional", "sigma_rel": 0.1}}}
    assert load_card(cfg.card, overrides=cfg.card_overrides).cell.variation == Proportional(sigma_rel=0.1)


def test_sigma_scale_is_a_devices_key_that_scales_the_run_card(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[devices]\ncard = "isaac-milo2021"\nsigma_scale = 2.0\n', encoding="utf-8")
    cfg = SimConfig.from_toml(path)
    assert cfg.sigma_scale == 2.0 and cfg.to_dict()["devices"]["sigma_scale"] == 2.0
    assert SimConfig.from_dict(cfg.to_dict()) == cfg
    base = load_card("isaac-milo2021").cell.variation.sigma_s_per_level
    assert cfg.device_card().cell.variation.sigma_s_per_level == tuple(2.0 * s for s in base)
    assert SimConfig().sigma_scale == 1.0 and SimConfig().device_card() == load_card("isaac-2016")


def test_sigma_scale_multiplies_the_sigma_set_by_sigma_rel():
    cfg = SimConfig(sigma_scale=0.5).with_sigma_rel(0.1)
    assert cfg.device_card().cell.variation == Proportional(sigma_rel=0.05)


@pytest.mark.parametrize("value, fragment", [(-1.0, "devices.sigma_scale = -1.0 is out of range; allowed >= 0"),
                                             (float("nan"), "devices.sigma_scale = nan is not finite; allowed >= 0"),
                                             ("x", "devices.sigma_scale = 'x' is not a number; allowed >= 0")])
def test_bad_sigma_scale_is_a_one_line_error(value, fragment):
    with pytest.raises(ValueError) as exc:
        SimConfig(sigma_scale=value)
    assert str(exc.value) == fragment
