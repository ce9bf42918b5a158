"""The names every part of memsim uses for components and actions, derived from the components' declarations.

``COMPONENT_CLASSES`` lists the priced component kinds in ledger order; each class declares its actions
(``memsim.devices.component``). From those declarations come the ledger's vocabulary and the trace's
enumerations: ``COMPONENTS`` (names, in this order), ``ACTIONS`` (every action name once: the components'
own actions in order, then the ones every component has, such as ``static``), ``ACTIONS_OF`` (a component's
actions) and ``ACTION_SPECS`` (what one counted action is). Trace files store these names with their codes
(HDF5 enumerations), so a reader never depends on the order; a new component or action is appended here
and in its class, and the trace schema version goes up with it.
"""

from __future__ import annotations

from .adc import AdcBase
from .component import ActionSpec, Component
from .crossbar import Crossbar
from .dac import Dac
from .digital import Register, ShiftAdd
from .sense_amp import SampleHold

COMPONENT_CLASSES: dict[str, type[Component]] = {
    cls.prefix: cls for cls in (Dac, Crossbar, SampleHold, AdcBase, ShiftAdd, Register)
}
COMPONENTS: tuple[str, ...] = tuple(COMPONENT_CLASSES)
ACTION_SPECS: dict[tuple[str, str], ActionSpec] = {
    (spec.component, spec.name): spec for cls in COMPONENT_CLASSES.values() for spec in cls.actions()
}
ACTIONS_OF: dict[str, tuple[str, ...]] = {
    name: tuple(spec.name for spec in cls.actions()) for name, cls in COMPONENT_CLASSES.items()
}
_COMMON = tuple(spec.name for spec in Component.actions())
ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(
    [a for actions in ACTIONS_OF.values() for a in actions if a not in _COMMON] + list(_COMMON)
))
