"""The ledger: totals and breakdowns are exact sums of the rows, however the rows were posted and whenever
they are asked for; posting several rows at once checks them like posting one."""

import numpy as np
import pytest

from memsim.ledger import COMPONENTS, Ledger, LedgerRow


def random_rows(rng, n):
    actions = ("drive", "read", "convert", "static")
    return [(int(rng.integers(0, 3)), int(rng.integers(-1, 4)), COMPONENTS[int(rng.integers(0, 6))],
             actions[int(rng.integers(0, 4))], int(rng.integers(0, 10**6)), int(rng.integers(0, 10**15)))
            for _ in range(n)]


def test_breakdowns_equal_row_sums_as_the_ledger_grows():
    rng = np.random.default_rng(0)
    ledger = Ledger()
    seen = []
    ledger.subscribe(seen.append)
    for step in range(4):
        rows = random_rows(rng, 50)
        for i in range(0, 50, 7):  # some rows one by one, the others in groups at one time
            chip = int(rng.integers(0, 2))
            if i % 2:
                ledger.post(step, chip, *rows[i])
            else:
                ledger.post_rows(step, chip, rows[i : i + 7])
        all_rows = ledger.rows
        assert seen == list(all_rows) and all(isinstance(r, LedgerRow) for r in all_rows)
        for chip in (None, 0, 1):
            sel = [r for r in all_rows if chip is None or r.chip == chip]
            assert ledger.total_zj(chip) == sum(r.energy_zj for r in sel)
            for key in ("component", "layer", "tile", "action", "chip", "t_fs"):
                want: dict = {}
                for r in sel:
                    want[getattr(r, key)] = want.get(getattr(r, key), 0) + r.energy_zj
                assert ledger.by(key, chip) == want
            counts: dict = {}
            energy: dict = {}
            for r in sel:
                counts[(r.component, r.action)] = counts.get((r.component, r.action), 0) + r.count
                energy[(r.component, r.action)] = energy.get((r.component, r.action), 0) + r.energy_zj
            assert ledger.counts(chip) == counts and ledger.by_action(chip) == energy


@pytest.mark.parametrize("row, field", [
    ((0, 0, "adc", "no-such-action", 1, 1), "action"),
    ((0, 0, "gpu", "convert", 1, 1), "component"),
    ((0, 0, "adc", "convert", -1, 1), "count"),
    ((0, 0, "adc", "convert", 1, -5), "energy"),
])
def test_post_rows_refuses_what_post_refuses(row, field):
    ledger = Ledger()
    with pytest.raises(ValueError, match=field):
        ledger.post_rows(0, 0, [(0, 0, "adc", "convert", 1, 1), row])
    with pytest.raises(ValueError, match=field):
        ledger.post(0, 0, *row)
