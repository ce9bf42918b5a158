"""The crossbar array: geometry, ADC sharing and the cost of one array read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .component import Component, action
from .cost import Cost
from .validate import check_choice, check_int, check_nonnegative, check_positive
from .wires import Wires

READ_ENERGY_MODELS = ("cell", "lumped")
REFERENCE_MODES = ("column", "digital")  # how the g_min floor is removed (docs/datapath.md §Reference column)


@dataclass(frozen=True)
class Crossbar(Component):
    """A ``rows × cols`` crossbar whose columns share ``n_adcs = ceil(cols/columns_per_adc)`` ADCs.

    Column currents follow docs/datapath.md §Column read, ``I_j = v_unit·Σ_i x_i·G_ij``. ``e_array_read_j`` is
    always the fixed energy of one array read (one input cycle); ``read_energy_model`` says whether the
    cells' Joule heating is computed on top of it:
    - ``"lumped"``: ``E = e_array_read_j`` — a published per-array figure taken to contain the cells
      (ISAAC, Shafiee et al., ISCA 2016, Table 6: 0.3 mW × 100 ns = 30 pJ);
    - ``"cell"``: ``E = e_array_read_j + Σ V²·G·t`` over the driven cells (``devices.memristor.read_energy_j``,
      computed by the datapath from the actual arrays), with ``t = t_read_s``.
    ``t_read_s`` is the read pulse: the latency of one read and the ``t`` of ``V²·G·t``. When ``columns_per_adc``
    does not divide ``cols`` the last ADC serves
    fewer columns. ``p_static_w``: static (leakage) power of one array, drawn whether it reads or not.
    ``reference`` (one of ``REFERENCE_MODES``) says how the ``g_min`` floor ``v_unit·g_min·Σ_i x_i`` of every
    column current is removed (docs/datapath.md §Reference column):
    - ``"column"``: one column per crossbar is a reference column at level 0 whose current is subtracted from
      every data column in the analog domain; ``data_cols = cols − 1`` (the default);
    - ``"digital"``: no reference column, ``data_cols = cols``; the ADC converts the column current with its
      floor and the digital side subtracts ``floor(b/m + 1/2)``, ``b = (g_min/Δg)·Σ_i x_i``, from every code
      (``Σ_i x_i`` is the popcount of the drives). Source: memsim's own modelling option, not a figure of
      a published design; both shipped cards keep ``"column"``.
    Area of one crossbar (``area_parts``): ``rows·cols·cell_area_m2 + area_m2``, the cells (one memristor
    cell's footprint, e.g. ``4F × 12F`` for NeuroSim's 1T1R cell) plus whatever the array itself carries that
    no other component prices (``area_m2``; its DACs, sample-and-holds and ADCs are their own components).
    ``wires`` (``memsim.devices.wires.Wires``, card section ``[crossbar.wires]``): the word- and bit-line
    parasitics; with its ``model = "resistive"`` every read solves the wire network (docs/devices.md §Wire
    parasitics), with ``"ideal"`` (the default) the column current is the ideal sum above.
    Validity: ``rows``, ``cols`` 1..4096; ``columns_per_adc >= 1``; ``e_array_read_j >= 0``; ``t_read_s > 0``;
    ``p_static_w >= 0``; ``cell_area_m2``, ``area_m2 >= 0``; ``reference`` in ``REFERENCE_MODES``.
    """

    prefix: ClassVar[str] = "crossbar"
    rows: int = field(metadata={"unit": "count"})
    cols: int = field(metadata={"unit": "count"})
    columns_per_adc: int = field(metadata={"unit": "count"})
    read_energy_model: str
    e_array_read_j: float = field(metadata={"unit": "J"})
    t_read_s: float = field(metadata={"unit": "s"})
    p_static_w: float = field(default=0.0, metadata={"unit": "W"})
    reference: str = "column"
    cell_area_m2: float = field(default=0.0, metadata={"unit": "m2"})
    area_m2: float = field(default=0.0, metadata={"unit": "m2"})
    wires: Wires = field(default=Wires(), metadata={"section": "fixed"})

    def __post_init__(self) -> None:
        p = self.prefix
        check_int(f"{p}.rows", self.rows, 1, 4096)
        check_int(f"{p}.cols", self.cols, 1, 4096)
        check_int(f"{p}.columns_per_adc", self.columns_per_adc, 1)
        check_choice(f"{p}.read_energy_model", self.read_energy_model, READ_ENERGY_MODELS)
        object.__setattr__(self, "e_array_read_j", check_nonnegative(f"{p}.e_array_read_j", self.e_array_read_j))
        object.__setattr__(self, "t_read_s", check_positive(f"{p}.t_read_s", self.t_read_s))
        object.__setattr__(self, "p_static_w", check_nonnegative(f"{p}.p_static_w", self.p_static_w))
        check_choice(f"{p}.reference", self.reference, REFERENCE_MODES)
        object.__setattr__(self, "cell_area_m2", check_nonnegative(f"{p}.cell_area_m2", self.cell_area_m2))
        object.__setattr__(self, "area_m2", check_nonnegative(f"{p}.area_m2", self.area_m2))
        if not isinstance(self.wires, Wires):
            raise ValueError(f"{p}.wires = {self.wires!r} is not a [crossbar.wires] table")

    def area_parts(self) -> dict[str, float]:
        """Square metres of one crossbar: its cells, ``rows·cols·cell_area_m2``, plus ``area_m2``."""
        return {"unit": self.rows * self.cols * self.cell_area_m2 + self.area_m2}

    @property
    def n_adcs(self) -> int:
        """ADCs per crossbar, ``ceil(cols/columns_per_adc)``."""
        return -(-self.cols // self.columns_per_adc)

    @property
    def data_cols(self) -> int:
        """Columns that hold weights: ``cols − 1`` beside a reference column (``reference = "column"``), all
        ``cols`` with ``reference = "digital"``."""
        return self.cols - 1 if self.reference == "column" else self.cols

    @action("array read (one per input vector, kept input cycle and row group)")
    def read_cost(self, cell_energy_j: float = 0.0) -> Cost:
        """Cost of ONE array read (one input cycle).

        ``cell_energy_j`` is ``Σ V²·G·t`` of the driven cells: added for ``"cell"``; for ``"lumped"`` it must
        be 0 (the published figure already contains it) and a non-zero value raises ``ValueError``.
        """
        e_cells = check_nonnegative(f"{self.prefix}.cell_energy_j", cell_energy_j)
        if self.read_energy_model == "lumped" and e_cells != 0.0:
            raise ValueError(
                f"{self.prefix}.cell_energy_j = {cell_energy_j!r} with read_energy_model 'lumped'; allowed 0"
            )
        return Cost(self.e_array_read_j + e_cells, self.t_read_s)
