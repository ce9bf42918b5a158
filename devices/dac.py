"""The wordline driver / DAC that applies the input bits of one cycle to a crossbar row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .component import Component, action
from .cost import Cost
from .validate import check_int, check_nonnegative, check_positive


@dataclass(frozen=True)
class Dac(Component):
    """A ``bits``-bit wordline DAC: code ``x in [0, 2**bits - 1]`` applies ``v = v_read·x/(2**bits - 1)``.

    This is docs/datapath.md §Column read with ``d = bits`` input bits per cycle (``bits = 1``: bit-serial
    inputs, the driver is on/off). Cost per driven row per cycle: ``e_drive_j`` and settling latency
    ``t_drive_s`` (ISAAC, Shafiee et al., ISCA 2016, Table 6: 4 mW for 8×128 1-bit DACs, 0.39 pJ per driven row
    per cycle). A row whose code
    is 0 is not driven and costs nothing; the caller counts driven rows. ``p_static_w``: static power of one
    row's driver; ``area_m2``: area of one row's driver. Validity: ``bits`` 1..8,
    ``e_drive_j >= 0``, ``t_drive_s >= 0``, ``area_m2 >= 0``.
    """

    prefix: ClassVar[str] = "dac"
    bits: int = field(metadata={"unit": "bit"})
    e_drive_j: float = field(metadata={"unit": "J"})
    t_drive_s: float = field(metadata={"unit": "s"})
    p_static_w: float = field(default=0.0, metadata={"unit": "W"})
    area_m2: float = field(default=0.0, metadata={"unit": "m2"})

    def __post_init__(self) -> None:
        check_int(f"{self.prefix}.bits", self.bits, 1, 8)
        object.__setattr__(self, "e_drive_j", check_nonnegative(f"{self.prefix}.e_drive_j", self.e_drive_j))
        object.__setattr__(self, "t_drive_s", check_nonnegative(f"{self.prefix}.t_drive_s", self.t_drive_s))
        object.__setattr__(self, "p_static_w", check_nonnegative(f"{self.prefix}.p_static_w", self.p_static_w))
        object.__setattr__(self, "area_m2", check_nonnegative(f"{self.prefix}.area_m2", self.area_m2))

    @property
    def max_code(self) -> int:
        """Largest input code, ``2**bits - 1``."""
        return (1 << self.bits) - 1

    @action("row driven with a non-zero code in one input cycle")
    def drive_cost(self) -> Cost:
        """Cost of driving ONE row for ONE cycle: ``Cost(e_drive_j, t_drive_s)``."""
        return Cost(self.e_drive_j, self.t_drive_s)

    def voltage_v(self, codes, v_read_v: float) -> np.ndarray:
        """Applied row voltages ``v = v_read_v·code/(2**bits - 1)`` (float64, the shape of ``codes``).

        Raises ``ValueError`` if a code is outside ``[0, max_code]`` or ``v_read_v <= 0``.
        """
        v_read = check_positive(f"{self.prefix}.v_read_v", v_read_v)
        c = np.asarray(codes)
        if c.size and (int(c.min()) < 0 or int(c.max()) > self.max_code):
            bad = int(c.min()) if int(c.min()) < 0 else int(c.max())
            raise ValueError(f"{self.prefix} code {bad} is out of range; allowed 0..{self.max_code}")
        return c.astype(np.float64) * (v_read / self.max_code)
