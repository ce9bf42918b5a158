"""The column sample-and-hold that captures a column signal for its (shared) ADC."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .component import Component, action
from .cost import Cost
from .validate import check_int, check_nonnegative


@dataclass(frozen=True)
class SampleHold(Component):
    """Sample-and-hold of one column: cost per sample and a fixed input-referred offset per chip.

    Cost per sample: ``Cost(e_sample_j, t_sample_s)`` (ISAAC, Shafiee et al., ISCA 2016, Table 6: 10 µW for
    8×128 units at a
    100 ns cycle, about 1 fJ per sample). Offset: ``I_sampled = I_column + I_off``, ``I_off ~ N(0,
    offset_sigma_a²)`` drawn once per chip instance and column (a static mismatch, memsim's model).
    ``p_static_w``: static power of one column's sample-and-hold; ``area_m2``: its area.
    Validity: all fields ``>= 0``.
    """

    prefix: ClassVar[str] = "sample_hold"
    e_sample_j: float = field(metadata={"unit": "J"})
    t_sample_s: float = field(metadata={"unit": "s"})
    offset_sigma_a: float = field(default=0.0, metadata={"unit": "A"})
    p_static_w: float = field(default=0.0, metadata={"unit": "W"})
    area_m2: float = field(default=0.0, metadata={"unit": "m2"})

    def __post_init__(self) -> None:
        p = self.prefix
        object.__setattr__(self, "e_sample_j", check_nonnegative(f"{p}.e_sample_j", self.e_sample_j))
        object.__setattr__(self, "t_sample_s", check_nonnegative(f"{p}.t_sample_s", self.t_sample_s))
        object.__setattr__(self, "offset_sigma_a", check_nonnegative(f"{p}.offset_sigma_a", self.offset_sigma_a))
        object.__setattr__(self, "p_static_w", check_nonnegative(f"{p}.p_static_w", self.p_static_w))
        object.__setattr__(self, "area_m2", check_nonnegative(f"{p}.area_m2", self.area_m2))

    @action("column sample (one per conversion)")
    def sample_cost(self) -> Cost:
        """Cost of ONE sample of one column: ``Cost(e_sample_j, t_sample_s)``."""
        return Cost(self.e_sample_j, self.t_sample_s)

    def sample_offsets_a(self, n_columns: int, rng: np.random.Generator) -> np.ndarray:
        """Per-column offsets in amperes, ``offset_sigma_a·eps``, ``eps = rng.standard_normal(n_columns)``.

        With ``offset_sigma_a == 0`` returns zeros and draws nothing from ``rng``.
        """
        n = check_int(f"{self.prefix}.n_columns", n_columns, 0)
        if self.offset_sigma_a == 0.0:
            return np.zeros(n, dtype=np.float64)
        return self.offset_sigma_a * rng.standard_normal(n)
