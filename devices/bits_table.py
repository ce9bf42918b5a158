"""A quantity of an ADC tabulated against its resolution, log-linear between the entries: the ``table`` models
of ADC energy (``adc_energy.TableEnergy``) and ADC area (``adc_area.TableArea``).

``v(bits) = v[table_bits.index(bits)]`` on an entry; between entries ``b0 < bits < b1``,
``ln v = ln v0 + (bits − b0)/(b1 − b0)·(ln v1 − ln v0)``: a SAR ADC's energy and area grow about geometrically
with resolution where its capacitive DAC of ``2**N`` unit capacitors dominates them. Validity: ``table_bits``
strictly increasing in 1..16, values ``> 0``, ``bits`` inside the table.
"""

from __future__ import annotations

import bisect
import math

from .validate import check_float_tuple, check_int


def check_table(prefix: str, table_bits, values, name: str) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The validated ``(table_bits, values)`` of the table ``prefix`` whose values field is ``name``; a
    one-line ``ValueError`` naming the field otherwise."""
    bits = tuple(table_bits) if not isinstance(table_bits, (str, bytes)) else ()
    if not bits:
        raise ValueError(f"{prefix}.table_bits = {table_bits!r} is empty; allowed a list of bit widths")
    bits = tuple(check_int(f"{prefix}.table_bits[{i}]", b, 1, 16) for i, b in enumerate(bits))
    if any(b1 <= b0 for b0, b1 in zip(bits, bits[1:], strict=False)):
        raise ValueError(f"{prefix}.table_bits = {list(bits)} is not strictly increasing")
    checked = check_float_tuple(f"{prefix}.{name}", values, 0.0, lo_open=True)
    if len(checked) != len(bits):
        raise ValueError(f"{prefix}.{name} has {len(checked)} entries; allowed exactly len(table_bits) = {len(bits)}")
    return bits, checked


def log_linear(table_bits: tuple[int, ...], values: tuple[float, ...], bits: int, table: str) -> float:
    """The table's value at ``bits`` (an entry, or log-linear between the two around it); ``table`` names the
    table in the error for a ``bits`` outside it."""
    if not table_bits[0] <= bits <= table_bits[-1]:
        raise ValueError(f"adc.bits = {bits} is outside the {table}; allowed {table_bits[0]}..{table_bits[-1]}")
    i = bisect.bisect_left(table_bits, bits)
    if table_bits[i] == bits:
        return values[i]
    frac = (bits - table_bits[i - 1]) / (table_bits[i] - table_bits[i - 1])
    return math.exp(math.log(values[i - 1]) + frac * (math.log(values[i]) - math.log(values[i - 1])))
