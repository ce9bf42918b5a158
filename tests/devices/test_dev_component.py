"""The component protocol: actions are declared once on the classes and everything names them from there."""

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from memsim.devices.card import load_card
from memsim.devices.component import Component, action
from memsim.devices.cost import Cost
from memsim.devices.digital import Register
from memsim.devices.vocabulary import ACTION_SPECS, ACTIONS, ACTIONS_OF, COMPONENT_CLASSES, COMPONENTS


def test_the_vocabulary_is_the_declared_actions_in_ledger_order():
    assert COMPONENTS == ("dac", "crossbar", "sample_hold", "adc", "shift_add", "register")
    # Trace files store these codes with their names (schema 4 added pool).
    assert ACTIONS == ("drive", "read", "sample", "convert", "clip", "shift_add", "reduce", "pool", "write", "feed",
                       "accumulate", "static")
    assert ACTIONS_OF["register"] == ("read", "write", "feed", "accumulate", "static")
    assert ACTIONS_OF["adc"] == ("convert", "clip", "static")
    assert set(ACTIONS) == {a for actions in ACTIONS_OF.values() for a in actions}
    for (component, name), spec in ACTION_SPECS.items():
        assert spec.component == component and spec.method == f"{name}_cost" and spec.counts


def test_every_declared_action_of_a_card_prices_one_count():
    card = load_card("isaac-2016")
    for name, component in card.components().items():
        assert isinstance(component, COMPONENT_CLASSES[name])
        for spec in component.actions():
            arguments = {"run_time_s": 2.0} if spec.name == "static" else {}
            assert isinstance(component.cost(spec.name, **arguments), Cost)
    assert card.register.cost("read") == card.register.access_cost(1)
    assert card.adc.cost("convert").energy_j == pytest.approx(1.67e-12, rel=1e-12, abs=0)
    rows = card.action_costs()
    assert [(r["component"], r["action"]) for r in rows] == list(ACTION_SPECS)
    assert all(("power_w" in r) == (r["action"] == "static") for r in rows)
    with pytest.raises(ValueError, match="adc action 'drive' is unknown; allowed: convert, clip, static"):
        card.adc.cost("drive")


def test_a_new_action_is_one_declared_method():
    @dataclass(frozen=True)
    class CountingRegister(Register):
        e_count_j: float = field(default=1e-15, metadata={"unit": "J"})

        @action("event counted")
        def count_cost(self) -> Cost:
            return Cost(self.e_count_j, 0.0)

    names = [a.name for a in CountingRegister.actions()]
    assert names == ["count", "read", "write", "feed", "accumulate", "static"]
    reg = CountingRegister(e_bit_j=1e-15, t_access_s=0.0)
    assert reg.cost("count") == Cost(1e-15, 0.0)


def test_an_action_method_must_be_named_for_its_action():
    with pytest.raises(TypeError, match="<action>_cost"):

        class Bad(Component):
            prefix: ClassVar[str] = "bad"

            @action("thing")
            def price(self) -> Cost:
                return Cost(0.0, 0.0)
