"""Word-line and bit-line parasitics of a crossbar: the card section ``[crossbar.wires]``.

One wire segment spans one cell pitch, so its resistance is (docs/devices.md §Wire parasitics)

    r_row = r' · row_pitch,   r_col = r' · col_pitch,      r' = ρ_eff / (w · t)

with ``r'`` the wire's resistance per length at the card's node (``ρ_eff`` the effective resistivity of a
narrow copper line, size effects included; ``w``, ``t`` its width and thickness), the same for word lines
and bit lines (``row_pitch_m``: the cell's extent along a word line, ``col_pitch_m``: along a bit line; equal
for a square crossbar cell, not for a 1T1R cell). Each word line is driven at its column-0 end through the
driver's output resistance ``r_driver_ohm``; each bit line ends, past its last row, in the sense amplifier's
virtual ground through its input resistance ``r_sense_ohm``. ``model = "ideal"`` (the default) reads
``I = V·G`` as before, bit for bit; ``"resistive"`` solves the network of every read
(``memsim.devices.ir_drop``) with the run's solver (``solver``, ``tolerance``: the config's ``[circuit]``
fields, not device data, so a card file cannot set them). Validity: ohmic wires and cells (an access
transistor's resistance is not modelled); resistances ``>= 0``; pitches of 1 nm to 1 mm (0: not given, allowed
only while no wire resistance is used).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ir_drop import SOLVERS, LineResistances
from .validate import check_choice, check_float, check_nonnegative

WIRE_MODELS = ("ideal", "resistive")
DEFAULT_SOLVER = "iterative"
DEFAULT_TOLERANCE = 1e-7  # relative to the full-scale column current: below 1e-4 of an ADC step on shipped cards
RUN_FIELDS = ("solver", "tolerance")  # set by the run's config ([circuit]), not by a card file


@dataclass(frozen=True)
class Wires:
    """Crossbar wire parasitics (module docstring). ``r_wire_ohm_per_m``: resistance per length of a word or
    bit line; ``row_pitch_m`` / ``col_pitch_m``: the length of one word-line / bit-line segment;
    ``r_driver_ohm``: word-line driver output resistance; ``r_sense_ohm``: sense-amplifier input resistance.
    Only ``model = "resistive"`` uses them."""

    model: str = "ideal"
    r_wire_ohm_per_m: float = field(default=0.0, metadata={"unit": "Ohm/m"})
    row_pitch_m: float = field(default=0.0, metadata={"unit": "m"})
    col_pitch_m: float = field(default=0.0, metadata={"unit": "m"})
    r_driver_ohm: float = field(default=0.0, metadata={"unit": "Ohm"})
    r_sense_ohm: float = field(default=0.0, metadata={"unit": "Ohm"})
    solver: str = field(default=DEFAULT_SOLVER, metadata={"run": True})
    tolerance: float = field(default=DEFAULT_TOLERANCE, metadata={"run": True, "unit": "1"})

    def __post_init__(self) -> None:
        p = "crossbar.wires"
        check_choice(f"{p}.model", self.model, WIRE_MODELS)
        object.__setattr__(self, "r_wire_ohm_per_m", check_nonnegative(f"{p}.r_wire_ohm_per_m",
                                                                       self.r_wire_ohm_per_m))
        for name in ("row_pitch_m", "col_pitch_m"):  # 0: not given (a card without wire data)
            value = check_float(f"{p}.{name}", getattr(self, name), 0.0, 1e-3)
            if value == 0.0 and self.model == "resistive" and self.r_wire_ohm_per_m > 0:
                raise ValueError(f"{p}.{name} = 0 with model 'resistive' and r_wire_ohm_per_m > 0; allowed a pitch "
                                 "of 1e-9 to 1e-3 m (the cell's extent along the line)")
            if 0.0 < value < 1e-9:
                raise ValueError(f"{p}.{name} = {value!r} is out of range; allowed 0 (not given) or 1e-9 to 1e-3 m")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "r_driver_ohm", check_nonnegative(f"{p}.r_driver_ohm", self.r_driver_ohm))
        object.__setattr__(self, "r_sense_ohm", check_nonnegative(f"{p}.r_sense_ohm", self.r_sense_ohm))
        check_choice("circuit.solver", self.solver, SOLVERS)
        object.__setattr__(self, "tolerance", check_float("circuit.tolerance", self.tolerance, 0.0, 0.1,
                                                          lo_open=True))

    @property
    def resistive(self) -> bool:
        """True when reads solve the wire network (``model = "resistive"``)."""
        return self.model == "resistive"

    @property
    def r_row_segment_ohm(self) -> float:
        """One word-line segment, ``r' · row_pitch`` in ohms."""
        return self.r_wire_ohm_per_m * self.row_pitch_m

    @property
    def r_col_segment_ohm(self) -> float:
        """One bit-line segment, ``r' · col_pitch`` in ohms."""
        return self.r_wire_ohm_per_m * self.col_pitch_m

    def network(self, crossbar_rows: int, last_row: int) -> LineResistances:
        """The series resistances of a read whose last driven row is ``last_row`` (0-based) of a crossbar of
        ``crossbar_rows`` rows: head ``r_driver + r_row``, word-line segments ``r_row``, bit-line segments
        ``r_col``, tail ``(crossbar_rows − last_row)·r_col + r_sense`` (the bit line runs past the undriven rows
        below to the sense amplifier)."""
        r_row, r_col = self.r_row_segment_ohm, self.r_col_segment_ohm
        return LineResistances(self.r_driver_ohm + r_row, r_row, r_col,
                               (crossbar_rows - last_row) * r_col + self.r_sense_ohm)
