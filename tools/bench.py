"""Speed of the full simulation against the matrix-multiply limit (W2 and W4, docs/architecture.md
§Benchmarks). A benchmark, not a test.

Workload W2: 256×256 weights (standard normal, seed 0) quantized to 8 bits; 1000 input vectors (8-bit values
k/256, seed 1) quantized to 8 bits; 1-bit bit-serial inputs; offset encoding on the ISAAC card's 128×128
crossbars with its 8-bit ADC; 10 % proportional programming variation; cells of 1 bit (8 slices) and of 2
bits (4 slices). Workload W4: a 3×3 convolution, 64 → 64 channels, on a 64×32×32 input map with padding 1
(weights standard normal, seed 0; 100 images of 8-bit values k/256, seed 1), 8-bit weights on 2-bit cells,
8-bit bit-serial inputs, 10 % variation, the same card: each image is 1024 crossbar input vectors of 576 rows
(im2col), so the layer has five row blocks of the 128-row crossbars. Per workload it prints:

- ``macs_per_s``: simulated multiply-accumulates (256·256·1000) per second of the *full simulation* of the
  1000 vectors on a programmed chip instance: ``Engine.run`` with the fused bit-true datapath, the pipeline
  schedule, one SimPy event per action per tile step per chunk and every row posted to the ledger;
  ``macs_per_s_trace``: the same with an HDF5 trace streamed from the ledger and finished on disk. Setting up
  (quantizing the network, drawing the chip instance) and the accuracy bookkeeping are not in it; they are
  in ``simulate_s``, the wall time of the whole ``memsim.simulate.simulate`` call (one chip, no trace).
- ``gemm_limit_macs_per_s``: the same MACs over the time numpy needs for the float32 matrix products of the
  same partial sums, one ``(T·N × R)·(R × S·C)`` product per row group, into a preallocated output (for W4
  the products of one image's ``N = 1024`` vectors, timed once per image: the operands of all 100 images would
  not fit the memory the simulation itself stays within).
- ``ratio_to_limit`` / ``ratio_to_limit_trace``: simulation speed over the GEMM limit (best times);
  ``median_paired_ratio`` (``_trace``): the median over repetitions of GEMM time / simulation time, each pair
  measured back to back (a second, more conservative estimate).
- ``events``: SimPy events of the run; ``peak_rss_mb``: peak resident memory of a fresh process that runs
  the whole ``simulate`` call on the workload (``resource.getrusage``).

The simulation runs with one worker thread per core (``threads = 0``, the default), the GEMM with numpy's
multithreaded BLAS. OpenBLAS's threads keep spinning for about 0.1 s after each multithreaded product, so each
measurement starts after a pause (``PAUSE_S``) that lets the previous one's threads go idle: otherwise a
spinning BLAS thread of the GEMM measurement would take a core from the simulation measured after it.

Timing on a shared, noisy machine: each timing round runs in a fresh process and measures the GEMM and the
simulation (trace off and on) in turn, ``--repeat`` times; ``--rounds`` rounds per cell size alternate
between the cell sizes, and the best time of each measurement over all of them is kept (the least disturbed
run of each). Then: scaling ratios of the full simulation (10× the vectors, 2× the layer's outputs; linear is
10 and 2), the peak memory and time of a 100,000-vector W2 run in a fresh process, and the wall time of
``memsim simulate`` on the digits defaults (a fresh command, and the library call after a warm-up).

The cost of IR drop (docs/devices.md §Wire parasitics): W2 on the same card with its wires resistive (the
isaac-2016 card's NeuroSim 32 nm wire numbers, ``crossbar.wires.model = "resistive"``) against the ideal read,
each measured as one chip instance from scratch: program the cells, prepare every tile's read (with wires, one
solve of the word-line/bit-line network per tile and row group: ``memsim.tile.TileCircuit``) and run the 1000
vectors. Printed: the best times, their ratio (``ratio``) and the wired run's share spent solving; the read
itself stays one matrix product per row group, so the run after the solve costs what the ideal one does.

    python tools/bench.py            # table
    python tools/bench.py --json     # one JSON object
    python tools/bench.py --ir-only  # only the IR-drop cost
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from memsim.chip import program_chip
from memsim.config import SimConfig
from memsim.workload.datasets import Dataset
from memsim.engine import Engine, EngineOptions, chunk_vectors, default_threads
from memsim.ledger import Ledger
from memsim.workload.conv import Conv2dLayer
from memsim.workload.network import DenseLayer, Network
from memsim.simulate import SimResult, Workload, chip_outcome, prepare, simulate
from memsim.workload.fixedpoint import drive_codes
from memsim.trace import TraceWriter

PAUSE_S = 0.2  # before each timed measurement: OpenBLAS threads spin about 0.1 s after a multithreaded product


def _config(cell_bits: int) -> SimConfig:
    return SimConfig(trace="", chips=1, seed=0, input_bits=8, weight_bits=8, output_bits=8, encoding="offset",
                     card_overrides={"cell": {"bits_per_cell": cell_bits,
                                              "variation": {"model": "proportional", "sigma_rel": 0.1}}})


def w2(cell_bits: int, vectors: int = 1000, rows: int = 256, outputs: int = 256) -> tuple[SimConfig, Workload]:
    """The W2 workload (module docstring) with ``cell_bits``-bit cells, as a config and a workload."""
    weight = np.random.default_rng(0).standard_normal((rows, outputs))
    network = Network("w2", (DenseLayer(weight, np.zeros(outputs), "none"),))
    x = np.empty((vectors, rows))
    rng = np.random.default_rng(1)
    for lo in range(0, vectors, 10_000):  # in slices: no full-size integer temporary
        hi = min(vectors, lo + 10_000)
        x[lo:hi] = rng.integers(0, 256, (hi - lo, rows)) / 256.0
    y = np.random.default_rng(2).integers(0, outputs, vectors)
    data = Dataset("w2", x, y)
    del x
    calibration = Dataset("w2-calibration", data.x[:1000], data.y[:1000])
    return _config(cell_bits), Workload(network, data, calibration)


def w4(images: int = 100) -> tuple[SimConfig, Workload]:
    """The W4 workload (module docstring): a 3×3, 64 -> 64 convolution on 32×32 maps, 2-bit cells."""
    weight = np.random.default_rng(0).standard_normal((64, 64, 3, 3))
    network = Network("w4", (Conv2dLayer(weight, np.zeros(64), "none", padding=1),), input_shape=(64, 32, 32))
    x = np.random.default_rng(1).integers(0, 256, (images, 64, 32, 32)) / 256.0
    y = np.random.default_rng(2).integers(0, 64, images)
    data = Dataset("w4", x, y)
    return _config(2), Workload(network, data, Dataset("w4-calibration", data.x[:10], data.y[:10]))


WORKLOADS = {"w2-1": lambda size: w2(1, size or 1000), "w2-2": lambda size: w2(2, size or 1000),
             "w4": lambda size: w4(size or 100)}
NAMES = {"w2-1": "W2 1-bit cells", "w2-2": "W2 2-bit cells", "w4": "W4 conv 3x3 64->64, 32x32, 2-bit cells"}


class Case:
    """A prepared run of a workload: the design, one programmed chip instance, the quantized inputs, the GEMM
    operands (of all inputs, or of one image of a convolution, then timed once per image)."""

    def __init__(self, config: SimConfig, workload: Workload) -> None:
        self.config, self.workload = config, workload
        self.card, _, self.design = prepare(self.config, workload=self.workload)
        self.chip = program_chip(self.design, np.random.default_rng(self.config.seed))
        self.chip.readers  # noqa: B018  (prepared once per chip instance, like the cells)
        self.qx = self.design.qnet.quantize_input(self.workload.data.x)
        self.threads = default_threads(self.config.memory_budget_mb << 20)
        self.chunk = chunk_vectors(self.design, self.config.memory_budget_mb << 20, self.threads)
        layer = self.design.layers[0]
        images = len(self.qx)
        self.macs = images * layer.macs_per_inference
        per_image = layer.vectors_per_inference > 1
        self.gemm_repeat = images if per_image else 1
        # The GEMM limit's operands: per row group, all cycles' drives (T·N × R) and the S·C columns of
        # every slice of every output (the chip's own read matrices; the values do not change the speed).
        vectors = layer.to_vectors(self.qx[:1] if per_image else self.qx)
        drives = drive_codes(vectors, layer.qlayer.in_format.bits, self.card.dac.bits)
        self.gemm_operands = []
        for block in self.chip.readers[0].blocks:
            r_lo, r_hi = block.rows
            for (r0, r1), panels in zip(block.groups, block.matrices, strict=True):
                x = drives[:, :, r_lo + r0 : r_lo + r1].transpose(1, 0, 2).reshape(-1, r1 - r0)
                h = np.concatenate([p[: r1 - r0] for p in panels], axis=1)  # (R × S·C): all slices and outputs
                self.gemm_operands.append((x.astype(np.float32), h.astype(np.float32)))
        self.gemm_out = np.empty((max(x.shape[0] for x, _ in self.gemm_operands),
                                  max(h.shape[1] for _, h in self.gemm_operands)), dtype=np.float32)

    def gemm(self) -> float:
        t0 = time.perf_counter()
        for _ in range(self.gemm_repeat):
            for x, h in self.gemm_operands:
                np.matmul(x, h, out=self.gemm_out[: x.shape[0], : h.shape[1]])
        return time.perf_counter() - t0

    def run(self, trace_path: str | None = None) -> tuple[float, int]:
        """Time the full simulation of the inputs on the chip (with a finished trace when ``trace_path``)."""
        t0 = time.perf_counter()
        ledger = Ledger()
        writer = TraceWriter(trace_path, ledger) if trace_path else None
        engine = Engine(self.chip, ledger, 0, np.random.default_rng(1),
                        EngineOptions(keep_outputs=False, threads=self.threads))
        res = engine.run(self.qx, self.chunk)
        if writer is not None:
            outcome = chip_outcome(0, res, ledger)
            writer.finish(SimResult(self.config.with_overrides(trace=trace_path), self.card, self.design,
                                    self.workload, float("nan"), float("nan"), (outcome,), ledger))
        return time.perf_counter() - t0, res.events


def time_case(name: str, repeat: int) -> dict:
    """One timing round (run in a fresh process): GEMM, simulation and simulation with trace, in turn."""
    case = Case(*WORKLOADS[name](0))
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "w2.h5")
        case.run(), case.run(trace), case.gemm()  # warm-up: page in code, buffers and BLAS threads
        t_gemm, t_off, t_on, events = [], [], [], 0
        for _ in range(repeat):
            time.sleep(PAUSE_S)
            t_gemm.append(case.gemm())
            time.sleep(PAUSE_S)
            t, events = case.run()
            t_off.append(t)
            time.sleep(PAUSE_S)
            t_on.append(case.run(trace)[0])
    t0 = time.perf_counter()
    simulate(case.config, workload=case.workload)
    return {"gemm": t_gemm, "sim": t_off, "sim_trace": t_on, "events": events, "macs": case.macs,
            "simulate_s": time.perf_counter() - t0, "chunk_vectors": case.chunk, "tiles": case.design.tiles,
            "threads": case.threads}


def summarize(name: str, rounds: list[dict]) -> dict:
    """Best-of times over all rounds (each GEMM was timed next to a simulation in the same process), and the
    median of the per-pair ratios as a second, more conservative estimate."""
    g = np.concatenate([r["gemm"] for r in rounds])
    s = np.concatenate([r["sim"] for r in rounds])
    st = np.concatenate([r["sim_trace"] for r in rounds])
    macs = rounds[0]["macs"]
    return {
        "name": NAMES[name], "workload": name, "macs": macs,
        "macs_per_s": macs / s.min(), "gemm_limit_macs_per_s": macs / g.min(), "ratio_to_limit": g.min() / s.min(),
        "macs_per_s_trace": macs / st.min(), "ratio_to_limit_trace": g.min() / st.min(),
        "median_paired_ratio": float(np.median(g / s)), "median_paired_ratio_trace": float(np.median(g / st)),
        "sim_s": float(s.min()), "sim_trace_s": float(st.min()), "gemm_s": float(g.min()),
        "median_sim_s": float(np.median(s)), "median_gemm_s": float(np.median(g)),
        "simulate_s": min(r["simulate_s"] for r in rounds), "events": rounds[0]["events"],
        "chunk_vectors": rounds[0]["chunk_vectors"], "tiles": rounds[0]["tiles"], "threads": rounds[0]["threads"],
        "timed_runs": len(s), "processes": len(rounds),
    }


IR_SOLVERS = ("iterative",)  # the nodal solve is the exact reference: seconds per tile, not a simulation solver


def ir_times(repeat: int) -> dict:
    """One IR-drop round (run in a fresh process): W2 with 1-bit and 2-bit cells, ideal and with resistive wires,
    each ``repeat`` times from scratch (program a chip, prepare its reads, run the vectors); per case the
    setup (program + prepare) and run times in seconds."""
    out: dict = {}
    for bits in (1, 2):
        config, workload = w2(bits, 1000)
        configs = {"ideal": config}
        for solver in IR_SOLVERS:
            configs[solver] = config.with_card_override("crossbar", {"wires": {"model": "resistive"}}) \
                .with_overrides(ir_solver=solver)
        cases = {k: Case(c, workload) for k, c in configs.items()}
        times: dict = {k: {"setup": [], "run": []} for k in cases}
        for _ in range(repeat):
            for k, case in cases.items():
                time.sleep(PAUSE_S)
                t0 = time.perf_counter()
                chip = program_chip(case.design, np.random.default_rng(case.config.seed))
                chip.readers  # noqa: B018  (the wired case solves every tile's network here)
                t1 = time.perf_counter()
                engine = Engine(chip, Ledger(), 0, np.random.default_rng(1),
                                EngineOptions(keep_outputs=False, threads=case.threads))
                engine.run(case.qx, case.chunk)
                times[k]["setup"].append(t1 - t0)
                times[k]["run"].append(time.perf_counter() - t1)
        out[f"w2-{bits}"] = {"tiles": cases["ideal"].design.tiles, "times": times}
    return out


def ir_summary(rounds: list[dict]) -> list[dict]:
    """Best times over the rounds and the wired/ideal ratio of the whole (setup + run) per W2 cell size."""
    rows = []
    for name in rounds[0]:
        best = {k: {part: min(t for r in rounds for t in r[name]["times"][k][part]) for part in ("setup", "run")}
                for k in rounds[0][name]["times"]}
        ideal = best["ideal"]["setup"] + best["ideal"]["run"]
        for solver in IR_SOLVERS:
            wired = best[solver]["setup"] + best[solver]["run"]
            rows.append({"name": NAMES[name], "workload": name, "solver": solver, "tiles": rounds[0][name]["tiles"],
                         "ideal_s": ideal, "wired_s": wired, "ratio": wired / ideal,
                         "solve_share": (best[solver]["setup"] - best["ideal"]["setup"]) / wired,
                         "run_ratio": best[solver]["run"] / best["ideal"]["run"]})
    return rows


def print_ir(rows: list[dict]) -> None:
    print(f"{'IR drop (W2, wires resistive vs ideal)':<40} {'tiles':>5} {'ideal s':>8} {'wired s':>8} {'ratio':>7} "
          f"{'solve':>6} {'run ratio':>9}")
    for r in rows:
        print(f"{r['name'] + ', ' + r['solver']:<40} {r['tiles']:>5} {r['ideal_s']:>8.3f} {r['wired_s']:>8.3f} "
              f"{r['ratio']:>7.1f} {r['solve_share']:>6.0%} {r['run_ratio']:>9.2f}")


def scaling_times(repeat: int) -> dict:
    """One scaling round (run in a fresh process): the full simulation of W2 (2-bit cells), of 10× its vectors
    and of its layer with twice the outputs, timed in turn ``repeat`` times."""
    cases = {"base": Case(*w2(2, 1000)), "vectors_10x": Case(*w2(2, 10_000)),
             "layer_2x": Case(*w2(2, 1000, outputs=512))}
    for c in cases.values():
        c.run()
    times: dict = {k: [] for k in cases}
    for _ in range(repeat):
        for k, c in cases.items():
            times[k].append(c.run()[0])
    return times


def scaling(rounds: list[dict]) -> dict:
    """Time ratios from the best time of each case over all rounds (linear: 10 and 2)."""
    best = {k: min(t for r in rounds for t in r[k]) for k in rounds[0]}
    return {"vectors_10x": best["vectors_10x"] / best["base"], "layer_2x": best["layer_2x"] / best["base"],
            "linear_vectors_10x": 10.0, "linear_layer_2x": 2.0}


def worker(name: str, size: int) -> None:
    """In a fresh process: the whole ``simulate`` call on a workload of ``size`` inputs (0: its default); print
    its time and this process's peak RSS."""
    config, workload = WORKLOADS[name](size)
    vectors = len(workload.data.x)
    t0 = time.perf_counter()
    result = simulate(config, workload=workload)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"vectors": vectors, "simulate_s": wall, "peak_rss_mb": peak_kb / 1024,
                      "events": result.summary()["events"]}))


def in_fresh_process(*args: str) -> dict:
    """Run this script with ``args`` in a fresh Python process and read the JSON it prints last."""
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def digits_cli(tmp: str, repeat: int) -> dict:
    """Wall time of ``memsim simulate`` with its defaults (trace written into a temporary directory)."""
    exe = Path(sys.executable).with_name("memsim")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "memsim.cli.main"]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd + ["simulate", "-o", os.path.join(tmp, "digits.h5")], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    simulate(SimConfig(trace=""))  # warm-up: load the data set and network once
    calls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        simulate(SimConfig(trace=""))
        calls.append(time.perf_counter() - t0)
    return {"command": "memsim simulate", "wall_s": min(times), "simulate_call_s": min(calls)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeat", type=int, default=10,
                        help="timed repetitions per measurement and round (default 10)")
    parser.add_argument("--large", type=int, default=100_000, help="vectors of the peak-memory run (default 100000)")
    parser.add_argument("--rounds", type=int, default=6,
                        help="timing rounds per cell size, each in a fresh process (default 6)")
    parser.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--time", nargs=2, metavar=("WORKLOAD", "REPEAT"), help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, metavar="REPEAT", help=argparse.SUPPRESS)
    parser.add_argument("--ir", type=int, metavar="REPEAT", help=argparse.SUPPRESS)
    parser.add_argument("--ir-only", action="store_true", help="measure only the cost of IR drop on W2")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], int(args.worker[1]))
        return
    if args.time:
        print(json.dumps(time_case(args.time[0], int(args.time[1]))))
        return
    if args.scale:
        print(json.dumps(scaling_times(args.scale)))
        return
    if args.ir:
        print(json.dumps(ir_times(args.ir)))
        return
    ir_repeat = max(2, args.repeat // 3)
    if args.ir_only:
        ir = ir_summary([in_fresh_process("--ir", str(ir_repeat)) for _ in range(2)])
        print(json.dumps({"ir_drop": ir}, indent=2)) if args.json else print_ir(ir)
        return
    rounds: dict[str, list] = {name: [] for name in WORKLOADS}
    w4_repeat = max(2, args.repeat // 3)  # W4 takes about 30× longer per run than W2
    for _ in range(args.rounds):  # alternate the workloads, so all see the machine in the same states
        for name in rounds:
            rounds[name].append(in_fresh_process("--time", name, str(w4_repeat if name == "w4" else args.repeat)))
    workloads = []
    for name, timed in rounds.items():
        row = summarize(name, timed)
        row["peak_rss_mb"] = in_fresh_process("--worker", name, "0")["peak_rss_mb"]
        workloads.append(row)
    large = in_fresh_process("--worker", "w2-2", str(args.large))
    large["name"] = f"W2 2-bit cells, {args.large} vectors"
    scale = scaling([in_fresh_process("--scale", str(args.repeat)) for _ in range(2)])
    with tempfile.TemporaryDirectory() as tmp:
        digits = digits_cli(tmp, 3)
    ir = ir_summary([in_fresh_process("--ir", str(ir_repeat)) for _ in range(2)])
    report = {"workloads": workloads, "large_run": large, "scaling": scale, "digits_simulate": digits,
              "ir_drop": ir, "repeat": args.repeat, "rounds": args.rounds, "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{'workload':<40} {'MAC/s':>9} {'GEMM MAC/s':>10} {'ratio':>6} {'(median)':>8} {'MAC/s tr':>9} "
          f"{'ratio tr':>8} {'(median)':>8} {'events':>7} {'peak MB':>8} {'simulate s':>10}")
    for w in workloads:
        print(f"{w['name']:<40} {w['macs_per_s']:>9.3g} {w['gemm_limit_macs_per_s']:>10.3g} "
              f"{w['ratio_to_limit']:>6.2f} {w['median_paired_ratio']:>8.2f} {w['macs_per_s_trace']:>9.3g} "
              f"{w['ratio_to_limit_trace']:>8.2f} {w['median_paired_ratio_trace']:>8.2f} {w['events']:>7} "
              f"{w['peak_rss_mb']:>8.0f} {w['simulate_s']:>10.3f}")
    print(f"{large['name']}: peak {large['peak_rss_mb']:.0f} MB, simulate {large['simulate_s']:.2f} s")
    print(f"scaling: 10x vectors -> {scale['vectors_10x']:.2f}x time (linear 10); "
          f"2x layer -> {scale['layer_2x']:.2f}x time (linear 2)")
    print(f"memsim simulate (digits defaults): {digits['wall_s']:.2f} s wall, "
          f"{digits['simulate_call_s']:.3f} s in the library call")
    print_ir(ir)


if __name__ == "__main__":
    main()
