"""The energy ledger: one row per hardware action event, the only place energy is kept
(docs/architecture.md §One ledger).

Every event posts ``(t, chip, layer, tile, component, action, count, energy)``. Totals and breakdowns are
always computed from the rows. Time and energy are held as exact integers — femtoseconds and zeptojoules —
so that totals do not depend on how a run was chunked or in what order rows are summed: a chunked run and a
one-vector-at-a-time run give identical totals, and the total is exactly the sum of the rows. Per-action
energies are rounded to the zeptojoule once, when a cost is converted (``energy_zj``); that is 1e-9 of a
picojoule, far below any source's precision.

Components and actions are the names the components declare (``memsim.devices.vocabulary``: ``COMPONENTS``,
``ACTIONS``); a row naming anything else is refused. Observers (the trace writer) subscribe with
``subscribe(callback)``; the ledger never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from memsim.devices.vocabulary import ACTIONS, COMPONENTS

FS_PER_S = 10**15
ZJ_PER_J = 10**21

__all__ = ["ACTIONS", "COMPONENTS", "FS_PER_S", "ZJ_PER_J", "Ledger", "LedgerRow", "energy_zj", "time_fs"]
_GROUP_FIELDS = ("chip", "layer", "tile", "component", "action")  # the fields a row is grouped by
_COMPONENT_SET = frozenset(COMPONENTS)
_ACTION_SET = frozenset(ACTIONS)


def time_fs(t_s: float) -> int:
    """Seconds -> integer femtoseconds (the engine's clock unit)."""
    return int(round(t_s * FS_PER_S))


def energy_zj(e_j: float) -> int:
    """Joules -> integer zeptojoules (the ledger's energy unit)."""
    return int(round(e_j * ZJ_PER_J))


class LedgerRow(NamedTuple):
    """One posted action (immutable; a tuple, so that posting stays cheap on long runs)."""

    t_fs: int
    chip: int
    layer: int
    tile: int
    component: str
    action: str
    count: int
    energy_zj: int


Observer = Callable[[LedgerRow], None]


class Ledger:
    """Append-only record of hardware actions; see the module docstring for units."""

    def __init__(self) -> None:
        self._rows: list[LedgerRow] = []
        self._observers: list[Observer] = []
        self._group_totals: dict[tuple, list[int]] = {}
        self._grouped = 0

    def subscribe(self, observer: Observer) -> None:
        self._observers.append(observer)

    def post(
        self, t_fs: int, chip: int, layer: int, tile: int, component: str, action: str, count: int, energy_zj: int
    ) -> None:
        if component not in _COMPONENT_SET:
            raise ValueError(f"component {component!r} is not one of {', '.join(COMPONENTS)}")
        if action not in _ACTION_SET:
            raise ValueError(f"action {action!r} is not one of {', '.join(ACTIONS)}")
        if count < 0 or energy_zj < 0:
            raise ValueError(f"{component}.{action}: count {count} and energy {energy_zj} zJ must be non-negative")
        row = LedgerRow(int(t_fs), chip, layer, tile, component, action, int(count), int(energy_zj))
        self._rows.append(row)
        if self._observers:
            for observer in self._observers:
                observer(row)

    def post_rows(self, t_fs: int, chip: int, rows) -> None:
        """Post several actions at one time: ``rows`` of ``(layer, tile, component, action, count, energy_zj)``
        with integer counts and energies (the engine's events). Same checks as ``post``."""
        append, observers, make = self._rows.append, self._observers, tuple.__new__
        for r in rows:
            if r[2] not in _COMPONENT_SET or r[3] not in _ACTION_SET or r[4] < 0 or r[5] < 0:
                self.post(t_fs, chip, *r)  # raises, naming the field
            row = make(LedgerRow, (t_fs, chip, *r))
            append(row)
            if observers:
                for observer in observers:
                    observer(row)

    def extend(self, rows) -> None:
        """Post rows built in advance as ``LedgerRow`` tuples (the engine's events, whose times are known when
        they are scheduled). Same checks as ``post``."""
        append, observers = self._rows.append, self._observers
        for row in rows:
            if row[4] not in _COMPONENT_SET or row[5] not in _ACTION_SET or row[6] < 0 or row[7] < 0:
                self.post(*row)  # raises, naming the field
            append(row)
            if observers:
                for observer in observers:
                    observer(row)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> tuple[LedgerRow, ...]:
        return tuple(self._rows)

    def _select(self, chip: int | None) -> list[LedgerRow]:
        return [r for r in self._rows if chip is None or r.chip == chip]

    def _groups(self) -> dict[tuple, list[int]]:
        """``(chip, layer, tile, component, action) -> [count, energy_zj]`` over all rows, exact integers; kept
        up to date incrementally (the ledger only grows), so repeated totals and breakdowns stay cheap."""
        rows = self._rows
        if self._grouped < len(rows):
            groups = self._group_totals
            for r in rows[self._grouped :]:
                g = groups.get(r[1:6])
                if g is None:
                    groups[r[1:6]] = [r[6], r[7]]
                else:
                    g[0] += r[6]
                    g[1] += r[7]
            self._grouped = len(rows)
        return self._group_totals

    def total_zj(self, chip: int | None = None) -> int:
        return sum(e for k, (_, e) in self._groups().items() if chip is None or k[0] == chip)

    def total_j(self, chip: int | None = None) -> float:
        return self.total_zj(chip) / ZJ_PER_J

    def by(self, key: str, chip: int | None = None) -> dict:
        """Energy in zJ grouped by a row field (``component``, ``layer``, ``action``, ``chip``, ...)."""
        out: dict = {}
        if key in _GROUP_FIELDS:
            i = _GROUP_FIELDS.index(key)
            for k, (_, e) in self._groups().items():
                if chip is None or k[0] == chip:
                    out[k[i]] = out.get(k[i], 0) + e
            return out
        for r in self._select(chip):
            k = getattr(r, key)
            out[k] = out.get(k, 0) + r.energy_zj
        return out

    def _per_action(self, chip: int | None, total: int) -> dict[tuple[str, str], int]:
        """Group totals (``total``: 0 counts, 1 energy in zJ) summed per ``(component, action)``."""
        out: dict[tuple[str, str], int] = {}
        for k, totals in self._groups().items():
            if chip is None or k[0] == chip:
                out[k[3:]] = out.get(k[3:], 0) + totals[total]
        return out

    def by_action(self, chip: int | None = None) -> dict[tuple[str, str], int]:
        """Energy in zJ per ``(component, action)``."""
        return self._per_action(chip, 1)

    def counts(self, chip: int | None = None) -> dict[tuple[str, str], int]:
        """Action counts per ``(component, action)``."""
        return self._per_action(chip, 0)

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Columns of the event table (for traces and analysis)."""
        rows = self._rows
        return {
            "t_fs": np.array([r.t_fs for r in rows], dtype=np.int64),
            "chip": np.array([r.chip for r in rows], dtype=np.int32),
            "layer": np.array([r.layer for r in rows], dtype=np.int32),
            "tile": np.array([r.tile for r in rows], dtype=np.int32),
            "component": np.array([r.component for r in rows], dtype=object),
            "action": np.array([r.action for r in rows], dtype=object),
            "count": np.array([r.count for r in rows], dtype=np.int64),
            "energy_zj": np.array([r.energy_zj for r in rows], dtype=np.int64),
        }
