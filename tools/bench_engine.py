"""Engine benchmark: SimPy event counts and events per second (a benchmark, not a test).

Runs the W2 layer (docs/architecture.md §Benchmarks: 256×256 weights, standard normal with seed 0,
quantized to 8 bits; 8-bit
inputs, bit-serial; offset encoding on the ISAAC card's 128×128 crossbars with 2-bit cells, 10 %
proportional variation) through ``memsim.engine.Engine`` and prints, per case, the vectors, the chunk size,
the tiles, the SimPy events, the wall time and the events per second. The cases vary one thing at a time to
show what the event count follows: the chunk count and the tiles × steps, not the vectors inside a chunk
nor the columns converted. The wall time includes the bit-true datapath (``memsim.tile.LayerReader``),
so events per second here is the whole simulator's pace, not SimPy's alone.

    python tools/bench_engine.py                 # default cases
    python tools/bench_engine.py --vectors 4000  # more vectors
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from memsim.devices.card import load_card
from memsim.chip import design_chip, program_chip
from memsim.engine import Engine
from memsim.workload.fixedpoint import FixedFormat
from memsim.ledger import Ledger
from memsim.workload.quantize import QuantizedLayer, QuantizedNetwork


def w2_design(outputs: int = 256):
    """W2 (docs/architecture.md §Benchmarks) on the ISAAC card, with ``outputs`` columns of weights (256 in W2)."""
    card = load_card("isaac-2016", overrides={"cell": {"variation": {"model": "proportional", "sigma_rel": 0.1}}})
    w = np.random.default_rng(0).standard_normal((256, outputs))
    qw = np.clip(np.round(w / np.abs(w).max() * 127), -128, 127).astype(np.int64)
    layer = QuantizedLayer(0, qw, np.zeros(outputs, dtype=np.int64), FixedFormat(8, 8, False),
                           FixedFormat(8, 7, True), None)
    return design_chip(card, QuantizedNetwork("w2", (layer,)), "offset")


def bench(design, vectors: int, chunk: int) -> dict:
    qx = np.random.default_rng(1).integers(0, 256, (vectors, 256))
    engine = Engine(program_chip(design, np.random.default_rng(2)), Ledger(), 0, np.random.default_rng(3))
    t0 = time.perf_counter()
    res = engine.run(qx, chunk)
    wall = time.perf_counter() - t0
    return {"vectors": vectors, "chunk": chunk, "tiles": design.tiles, "events": res.events, "wall_s": wall,
            "events_per_s": res.events / wall, "simulated_s": res.makespan_fs / 1e15}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_engine", description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=1000, help="input vectors (default 1000, as W2)")
    args = parser.parse_args(argv)
    n = args.vectors
    full, narrow = w2_design(256), w2_design(249)
    cases = [
        ("W2, one chunk", full, n, n),
        ("W2, chunks of 256", full, n, 256),
        ("W2, chunks of 64", full, n, 64),
        ("W2, 1/4 of the vectors, one chunk", full, max(1, n // 4), max(1, n // 4)),
        ("249 outputs (same 18 tiles, 28 columns fewer)", narrow, n, n),
    ]
    print(f"{'case':<48} {'vectors':>7} {'chunk':>6} {'tiles':>5} {'events':>8} {'wall s':>8} {'events/s':>10}")
    for name, design, vectors, chunk in cases:
        r = bench(design, vectors, chunk)
        print(f"{name:<48} {r['vectors']:>7} {r['chunk']:>6} {r['tiles']:>5} {r['events']:>8} "
              f"{r['wall_s']:>8.3f} {r['events_per_s']:>10.0f}")


if __name__ == "__main__":
    main()
