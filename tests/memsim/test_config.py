"""SimConfig helpers."""

from memsim.config import SimConfig
from memsim.devices.card import load_card
from memsim.devices.variation import Proportional


def test_with_sigma_rel_sets_proportional_variation_on_the_card():
    cfg = SimConfig().with_sigma_rel(0.1)
    assert cfg.card_overrides == {"cell": {"variation": {"model": "proportional", "sigma_rel": 0.1}}}
    assert load_card(cfg.card, overrides=cfg.card_overrides).cell.variation == Proportional(sigma_rel=0.1)
