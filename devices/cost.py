"""The cost of one hardware action."""

from __future__ import annotations

from dataclasses import dataclass

from .validate import check_nonnegative


@dataclass(frozen=True)
class Cost:
    """Energy and latency of ONE action of one component (docs/architecture.md §The component contract).

    The ledger multiplies it by the number of actions. Validity: both fields finite and ``>= 0``.
    """

    energy_j: float
    latency_s: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "energy_j", check_nonnegative("cost.energy_j", self.energy_j))
        object.__setattr__(self, "latency_s", check_nonnegative("cost.latency_s", self.latency_s))
