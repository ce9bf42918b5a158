"""SimPy ordering of the engine's action events: each event fires at its time and posts its ledger rows.

Times come from the pipeline (``memsim.pipeline``: exact max-plus arithmetic in integer femtoseconds); SimPy
only orders the events. An event is created when its chunk's datapath is done, as a ``Timeout`` to its time
whose callback extends the ledger with the rows it carries; equal times fire in creation order, so the
engine creates them in the order the hardware acts (tile, step, action). The Python work per event is
constant: the number of events grows with tiles × steps × chunks, never with columns or vectors.
"""

from __future__ import annotations

import simpy

from memsim.ledger import Ledger, LedgerRow


class Scheduler:
    """One chip run's SimPy environment (its clock counts femtoseconds) and the events posted to ``ledger``
    under chip ``chip``."""

    def __init__(self, ledger: Ledger, chip: int) -> None:
        self.env = simpy.Environment()
        self.ledger = ledger
        self.chip = chip
        self.events = 0
        extend = ledger.extend

        def fire(event) -> None:  # the callback of every action event: post the rows it carries
            extend(event.value)

        self._fire = fire

    @property
    def now(self) -> int:
        return int(self.env.now)

    def wait_until(self, t_fs: int) -> simpy.events.Timeout:
        """An event for the engine's process to wait on until ``t_fs`` (now, if that has passed)."""
        self.events += 1
        return self.env.timeout(max(0, int(t_fs) - self.now))

    def schedule(self, events: list[tuple[int, tuple]]) -> None:
        """One SimPy event per ``(time, ledger rows)``, rows already stamped with that time, in the order given."""
        env, fire, now = self.env, self._fire, self.env.now
        timeout = simpy.events.Timeout
        # Inlined: a Timeout with its callback per event, no per-event method calls (the engine's hot path).
        for t, rows in events:
            timeout(env, t - now, rows).callbacks.append(fire)
        self.events += len(events)

    def schedule_rows(self, t_fs: int, rows: list[tuple]) -> None:
        """One event at ``t_fs`` (now, if that has passed) posting ``rows`` of ``(layer, tile, component,
        action, count, energy_zj)``, stamped with its time and this chip."""
        at = max(int(t_fs), self.now)
        self.schedule([(at, tuple(LedgerRow(at, self.chip, *r) for r in rows))])

    def post_now(self, row: tuple) -> None:
        """Post one row of ``(layer, tile, component, action, count, energy_zj)`` straight to the ledger at the
        current time (after the run: no event)."""
        self.ledger.post(self.now, self.chip, *row)

    def run(self, process) -> None:
        """Run ``process`` (a generator of events to wait on) and every event it schedules to completion."""
        self.env.process(process)
        self.env.run()
