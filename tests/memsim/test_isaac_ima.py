"""The ISAAC card reproduces ISAAC's per-IMA power (24.08 mW at full utilization, Shafiee et al., ISCA 2016, Table 6).

An ISAAC IMA is 8 crossbars of 128×128 2-bit cells, each with 128 1-bit DACs, 128 sample-and-holds and one
8-bit ADC (1.28 GS/s), shift-and-add units, an input register (2 KB) and an output register (256 B). In
memsim's terms one IMA busy is one layer mapped onto exactly 8 tiles that every 100 ns cycle read all their
rows (every input bit is 1, so every DAC drives) and convert every used column: 128 inputs × 248 outputs of
8-bit offset-encoded weights (4 slices of 2-bit cells, 31 outputs per crossbar beside its reference column,
124 converted columns each). Power is the ledger's energy over the simulated run time, nothing else.
"""

import numpy as np
import pytest

from memsim.devices.card import load_card
from memsim.chip import design_chip, program_chip
from memsim.engine import Engine
from memsim.workload.fixedpoint import FixedFormat
from memsim.ledger import FS_PER_S, ZJ_PER_J, Ledger
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork

ISAAC_IMA_W = 24.08e-3  # ISAAC Table 6: IMA total at full utilization (docs/devices.md §The isaac-2016 card)


def test_one_busy_ima_draws_isaacs_24_mw():
    card = load_card("isaac-2016")
    rng = np.random.default_rng(0)
    weights = rng.integers(-128, 128, (128, 248))
    layer = QuantizedLayer(0, weights, np.zeros(248, dtype=np.int64), FixedFormat(8, 8, False),
                           FixedFormat(8, 7, True), None)
    design = design_chip(card, QuantizedNetwork("one-ima", (layer,)), "offset")
    tiles = design.layers[0].mapping.tiles
    assert len(tiles) == 8 and all(t.used_columns == 124 for t in tiles)
    ledger = Ledger()
    res = Engine(program_chip(design, rng), ledger, 0, rng).run(np.full((64, 128), 255), 16)
    run_s = res.makespan_fs / FS_PER_S
    power_w = ledger.total_j() / run_s
    by_component = {k: v / ZJ_PER_J / run_s for k, v in sorted(ledger.by("component").items())}
    print(f"\nISAAC IMA: {power_w * 1e3:.2f} mW from the ledger over {run_s * 1e6:.3f} µs simulated "
          f"(ISAAC: {ISAAC_IMA_W * 1e3:.2f} mW, {100 * (power_w / ISAAC_IMA_W - 1):+.1f} %)")
    for k, p in by_component.items():
        print(f"  {k:<12} {p * 1e3:7.3f} mW")
    util = res.utilization()
    assert util["crossbar"] > 0.99 and util["adc"] > 0.95  # the IMA really is busy
    assert power_w == pytest.approx(ISAAC_IMA_W, rel=0.05, abs=0)
    # Each part within its own ISAAC figure's reach: crossbars 2.4 mW, DACs 4 mW, ADCs 16 mW (the card's
    # 1.67 pJ table entry is 7 % above ISAAC's 16 mW / 1.28 GS/s), registers 1.24 + 0.23 mW.
    assert by_component["crossbar"] == pytest.approx(2.4e-3, rel=0.01, abs=0)
    assert by_component["dac"] == pytest.approx(4.0e-3, rel=0.01, abs=0)
    assert by_component["adc"] == pytest.approx(16e-3 * 124 / 128 * 1.67 / 1.5625, rel=0.01, abs=0)
    assert by_component["register"] == pytest.approx(1.24e-3 + 0.23e-3 * 124 / 128, rel=0.06, abs=0)
