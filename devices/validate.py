"""Validation helpers shared by every device dataclass.

Each helper checks one user-supplied value and raises ``ValueError`` with a one-line message that names the
field (its qualified dotted name, e.g. ``adc.bits``), the value and the allowed range::

    cell.bits_per_cell = 0 is out of range; allowed 1..8

The helpers return the value (floats normalised to ``float``) so that a caller can store it. They never
``assert`` and keep no state.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    return "any finite number"


def check_int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    """Check that ``value`` is an integer in ``lo..hi`` (inclusive; ``hi=None`` means unbounded)."""
    allowed = f"{lo}..{hi}" if hi is not None else f">= {lo}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} = {value!r} is not an integer; allowed {allowed}")
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} = {value!r} is out of range; allowed {allowed}")
    return int(value)


def check_float(
    name: str,
    value: object,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """Check that ``value`` is a finite real number within the given bounds; return it as ``float``.

    ``lo_open``/``hi_open`` make the bound strict (``> lo`` / ``< hi``).
    """
    allowed = _range_text(lo, hi, lo_open, hi_open)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} = {value!r} is not a number; allowed {allowed}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} = {value!r} is not finite; allowed {allowed}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"{name} = {value!r} is out of range; allowed {allowed}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ValueError(f"{name} = {value!r} is out of range; allowed {allowed}")
    return v


def check_positive(name: str, value: object) -> float:
    """Check ``value > 0`` (finite)."""
    return check_float(name, value, 0.0, lo_open=True)


def check_nonnegative(name: str, value: object) -> float:
    """Check ``value >= 0`` (finite)."""
    return check_float(name, value, 0.0)


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices`` (strings)."""
    valid = sorted(choices)
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"{name} = {value!r} is not valid; allowed: {', '.join(valid)}")
    return value


def check_float_tuple(
    name: str, values: object, lo: float | None = None, *, lo_open: bool = False
) -> tuple[float, ...]:
    """Check a non-empty sequence of finite numbers, each ``>= lo`` (or ``> lo``); return a tuple of floats."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise ValueError(f"{name} = {values!r} is not a sequence of numbers")
    items = tuple(values)
    if not items:
        raise ValueError(f"{name} is empty; allowed a non-empty sequence of numbers")
    return tuple(check_float(f"{name}[{i}]", v, lo, lo_open=lo_open) for i, v in enumerate(items))


def check_keys(name: str, given: Iterable[str], allowed: Iterable[str], required: Iterable[str]) -> None:
    """Check a dict of parameters for ``name``: no unknown keys, no missing required keys."""
    given_set, allowed_set = set(given), set(allowed)
    unknown = sorted(given_set - allowed_set)
    if unknown:
        raise ValueError(
            f"{name}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed_set)) or '(none)'}"
        )
    missing = sorted(set(required) - given_set)
    if missing:
        raise ValueError(f"{name}: missing {', '.join(f'{name}.{m}' for m in missing)}")
