"""Digital periphery: the shift-and-add unit and the registers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .component import Component, action
from .cost import Cost
from .validate import check_int, check_nonnegative


@dataclass(frozen=True)
class ShiftAdd(Component):
    """Shift-and-add unit: one operation adds one ADC code, shifted by its significance, to an accumulator.

    ``A += ±2**(d·t + c·s)·code`` (docs/datapath.md §Shift-and-add); cost per operation ``Cost(e_op_j, t_op_s)``
    (ISAAC, Shafiee et al., ISCA 2016, Table 6: 0.2 mW for 4 units per IMA; docs/devices.md §Shift-and-add).
    ``p_static_w``: static power of one unit (memsim
    counts one unit per ADC, following its conversions, and one per layer for the digital reduction);
    ``area_m2``: area of one such unit; ``area_pool_m2``: area of the pooling unit of a layer's digital stage
    (one per layer that hosts pooling; ISAAC, Shafiee et al., ISCA 2016, Table 6: one max-pool unit per tile).
    Validity: every field ``>= 0``.
    """

    prefix: ClassVar[str] = "shift_add"
    e_op_j: float = field(metadata={"unit": "J"})
    t_op_s: float = field(metadata={"unit": "s"})
    p_static_w: float = field(default=0.0, metadata={"unit": "W"})
    area_m2: float = field(default=0.0, metadata={"unit": "m2"})
    area_pool_m2: float = field(default=0.0, metadata={"unit": "m2"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "e_op_j", check_nonnegative(f"{self.prefix}.e_op_j", self.e_op_j))
        object.__setattr__(self, "t_op_s", check_nonnegative(f"{self.prefix}.t_op_s", self.t_op_s))
        object.__setattr__(self, "p_static_w", check_nonnegative(f"{self.prefix}.p_static_w", self.p_static_w))
        for name in ("area_m2", "area_pool_m2"):
            object.__setattr__(self, name, check_nonnegative(f"{self.prefix}.{name}", getattr(self, name)))

    def area_parts(self) -> dict[str, float]:
        """Square metres of one shift-and-add unit (``"unit"``) and of one layer's pooling unit (``"pool"``)."""
        return {"unit": self.area_m2, "pool": self.area_pool_m2}

    @action("code shifted and added into a tile's partial sums (one per conversion)")
    def shift_add_cost(self) -> Cost:
        """Cost of ONE shift-and-add of an ADC code: ``Cost(e_op_j, t_op_s)``."""
        return Cost(self.e_op_j, self.t_op_s)

    @action("addition in a layer's digital stage (row-block sums, bias, encoding correction, skip additions)")
    def reduce_cost(self) -> Cost:
        """Cost of ONE addition in a layer's digital stage, on the same unit: ``Cost(e_op_j, t_op_s)``."""
        return Cost(self.e_op_j, self.t_op_s)

    @action("comparison or addition of a pooling window (or a stand-alone ReLU) in a layer's digital stage")
    def pool_cost(self) -> Cost:
        """Cost of ONE pooling comparison or addition, priced as one operation of the same adder:
        ``Cost(e_op_j, t_op_s)``. memsim does not price ISAAC's separate max-pool unit (Shafiee et al., ISCA
        2016, Table 6: 0.4 mW per tile), because the table gives no operation rate to divide it by."""
        return Cost(self.e_op_j, self.t_op_s)


@dataclass(frozen=True)
class Register(Component):
    """Register file access: energy ``E = n_bits·e_bit_j``, latency ``t_access_s`` per access.

    isaac-2016 card: 0.009 pJ per bit, a 40 nm figure of unrecorded origin (docs/devices.md §Register).
    This prices the layer's digital stage (its input and
    output vectors). A tile's own registers are priced per use: ``e_feed_bit_j`` per input bit its input
    register hands to the DACs in one read (``feed_cost``), ``e_accumulate_j`` per shift-and-add result
    accumulated into its output register (``accumulate_cost``); ``p_static_w`` is the static power of one
    register set (memsim counts one per tile and one per layer) and ``area_m2`` its area. Validity: every field
    ``>= 0``;
    ``n_bits >= 0``.
    """

    prefix: ClassVar[str] = "register"
    e_bit_j: float = field(metadata={"unit": "J"})
    t_access_s: float = field(metadata={"unit": "s"})
    e_feed_bit_j: float = field(default=0.0, metadata={"unit": "J"})
    e_accumulate_j: float = field(default=0.0, metadata={"unit": "J"})
    p_static_w: float = field(default=0.0, metadata={"unit": "W"})
    area_m2: float = field(default=0.0, metadata={"unit": "m2"})

    def __post_init__(self) -> None:
        p = self.prefix
        for name in ("e_bit_j", "t_access_s", "e_feed_bit_j", "e_accumulate_j", "p_static_w", "area_m2"):
            object.__setattr__(self, name, check_nonnegative(f"{p}.{name}", getattr(self, name)))

    def access_cost(self, n_bits: int) -> Cost:
        """Cost of ONE access of ``n_bits`` bits: ``Cost(n_bits·e_bit_j, t_access_s)``."""
        n = check_int(f"{self.prefix}.n_bits", n_bits, 0)
        return Cost(n * self.e_bit_j, self.t_access_s)

    @action("bit read from a layer's input register")
    def read_cost(self, n_bits: int = 1) -> Cost:
        """Cost of reading ``n_bits`` bits in one access (``access_cost``)."""
        return self.access_cost(n_bits)

    @action("bit written to a layer's output register")
    def write_cost(self, n_bits: int = 1) -> Cost:
        """Cost of writing ``n_bits`` bits in one access (``access_cost``)."""
        return self.access_cost(n_bits)

    @action("input bit a tile's input register hands to its DACs")
    def feed_cost(self, n_bits: int = 1) -> Cost:
        """Cost of handing ``n_bits`` input bits to a tile's DACs for one read: ``Cost(n_bits·e_feed_bit_j, 0)``."""
        n = check_int(f"{self.prefix}.n_bits", n_bits, 0)
        return Cost(n * self.e_feed_bit_j, 0.0)

    @action("shift-and-add result accumulated into a tile's output register")
    def accumulate_cost(self) -> Cost:
        """Cost of accumulating ONE shift-and-add result into a tile's output register (hidden in its time)."""
        return Cost(self.e_accumulate_j, 0.0)
