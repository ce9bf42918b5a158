"""Digital periphery: the shift-and-add unit and the registers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from devices.cost import Cost
from devices.validate import check_int, check_nonnegative


@dataclass(frozen=True)
class ShiftAdd:
    """Shift-and-add unit: one operation adds one ADC code, shifted by its significance, to an accumulator.

    ``A += ±2**(d·t + c·s)·code`` (REFERENCE §1 "Shift-and-add"); cost per operation ``Cost(e_op_j, t_op_s)``
    (REFERENCE §3: ISAAC, 0.2 mW for 4 units per IMA). Validity: both fields ``>= 0``.
    """

    prefix: ClassVar[str] = "shift_add"
    e_op_j: float = field(metadata={"unit": "J"})
    t_op_s: float = field(metadata={"unit": "s"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "e_op_j", check_nonnegative(f"{self.prefix}.e_op_j", self.e_op_j))
        object.__setattr__(self, "t_op_s", check_nonnegative(f"{self.prefix}.t_op_s", self.t_op_s))

    def op_cost(self) -> Cost:
        """Cost of ONE shift-and-add operation."""
        return Cost(self.e_op_j, self.t_op_s)


@dataclass(frozen=True)
class Register:
    """Register file access: energy ``E = n_bits·e_bit_j``, latency ``t_access_s`` per access.

    REFERENCE §3: 0.009 pJ per bit (a 40 nm figure). Validity: both fields ``>= 0``; ``n_bits >= 0``.
    """

    prefix: ClassVar[str] = "register"
    e_bit_j: float = field(metadata={"unit": "J"})
    t_access_s: float = field(metadata={"unit": "s"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "e_bit_j", check_nonnegative(f"{self.prefix}.e_bit_j", self.e_bit_j))
        object.__setattr__(self, "t_access_s", check_nonnegative(f"{self.prefix}.t_access_s", self.t_access_s))

    def access_cost(self, n_bits: int) -> Cost:
        """Cost of ONE access of ``n_bits`` bits: ``Cost(n_bits·e_bit_j, t_access_s)``."""
        n = check_int(f"{self.prefix}.n_bits", n_bits, 0)
        return Cost(n * self.e_bit_j, self.t_access_s)
