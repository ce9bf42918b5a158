"""The component protocol: every priced hardware component declares its actions once, on its class.

A component class names itself with ``prefix`` (``"adc"``: its card section, and the name the ledger, the
traces, the summaries and the CLI use) and declares each action it performs as a method ``<action>_cost``
marked ``@action("what one counted action is")``. Called without arguments, the method returns the ``Cost``
(joules, seconds) of ONE counted action; the ledger multiplies by the count. The one exception is ``static``,
whose energy depends on how long the chip ran (``static_cost(run_time_s)``). As in hwcomponents' model
classes, the actions are discoverable from the class: ``actions()`` lists them, the component's own first in
declaration order, then the ones every component has (``static``). Everything in memsim that names
components or actions (the ledger's checks, the trace's enumerations, the timing, the plots) derives from
these declarations through ``memsim.devices.vocabulary``.

Area is declared the same way: ``area_parts()`` gives the area of one instance of each *part* of the
component (``"unit"`` for every component; the shift-and-add adds a ``"pool"`` unit), in square metres, from
the card's ``area_m2`` fields. How many instances a mapped network occupies is the architecture's business
(``memsim.area``), which counts the same instances that draw static power.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from .cost import Cost

_COUNTS = "_memsim_action_counts"  # attribute that marks a method as a declared action


def action(counts: str) -> Callable:
    """Declare the decorated method ``<action>_cost`` as action ``<action>``; ``counts`` says what one counted
    action is (the unit of the ledger's ``count`` for it)."""

    def mark(method: Callable) -> Callable:
        if not method.__name__.endswith("_cost"):
            raise TypeError(f"action method {method.__name__!r} must be named <action>_cost")
        setattr(method, _COUNTS, counts)
        return method

    return mark


@dataclass(frozen=True)
class ActionSpec:
    """One declared action: its component and action names, what one count is, and the cost method's name."""

    component: str
    name: str
    counts: str
    method: str


class Component:
    """Base of every component that posts to the ledger (a mixin of frozen dataclasses).

    Subclasses set ``prefix`` and give a ``p_static_w`` field: the static (leakage) power of one instance,
    drawn whether it acts or not, and an ``area_m2`` field: the silicon area of one instance (0 where the card's
    sources give none).
    """

    prefix: ClassVar[str] = ""

    @classmethod
    def actions(cls) -> tuple[ActionSpec, ...]:
        """The declared actions: the component's own in declaration order (a subclass's before those it
        inherits), then those every component has."""
        seen: set[str] = set()
        own: list[ActionSpec] = []
        common: list[ActionSpec] = []
        for klass in cls.__mro__:
            for attr, value in vars(klass).items():
                counts = getattr(value, _COUNTS, None)
                name = attr[: -len("_cost")]
                if counts is None or name in seen:
                    continue
                seen.add(name)
                (common if klass is Component else own).append(ActionSpec(cls.prefix, name, counts, attr))
        return (*own, *common)

    def cost(self, name: str, **arguments) -> Cost:
        """The cost of one counted action ``name``: ``<name>_cost(**arguments)``; one-line error for an unknown
        action."""
        names = [a.name for a in self.actions()]
        if name not in names:
            raise ValueError(f"{self.prefix} action {name!r} is unknown; allowed: {', '.join(names)}")
        return getattr(self, f"{name}_cost")(**arguments)

    def area_parts(self) -> dict[str, float]:
        """Square metres of one instance of each part of the component: ``{"unit": area_m2}`` unless a component
        says otherwise (the crossbar adds its cells, the ADC follows its resolution, the shift-and-add has a
        pooling unit too)."""
        return {"unit": self.area_m2}

    @action("instance of the component over one chip run")
    def static_cost(self, run_time_s: float) -> Cost:
        """Static energy of one instance over ``run_time_s``: ``Cost(p_static_w · run_time_s, 0)``. The engine
        posts it once per chip run, exactly in integer zeptojoules (``memsim.engine``)."""
        return Cost(self.p_static_w * run_time_s, 0.0)
