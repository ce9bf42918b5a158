"""Sweep benchmark: parallel efficiency of ``memsim sweep`` on local worker processes (a benchmark, not a test).

Runs the same sweep (``--points`` values of σ/G × ``--chips`` chips in units of ``--chips-per-unit``, at
least 16 units; ``--network``, default digits-cnn, on the built-in digits, ``--split``) on a pool of 1
worker process and on a pool of 2, each from scratch into a temporary directory, checks that the two tables
are identical, and prints the wall times and the parallel efficiency ``t1 / (2 · t2)`` (1.0: two workers
take half the time). Each unit runs on ``--threads`` threads (datapath and BLAS; default 1) in both runs,
so the figure measures process parallelism, not threads.

The same run measures the machine's own ceiling, ``cpu_parallel_efficiency``: 16 equal CPU-bound tasks
(no memory traffic, no start-up, nothing shared) on the same two pools. On a shared or virtual machine two
busy processes rarely get two whole cores; the sweep's figure is read against that one (``relative_efficiency``
= ``parallel_efficiency / cpu_parallel_efficiency``).

    python tools/bench_sweep.py                       # 4 points × 64 chips in units of 16 = 16 units
    python tools/bench_sweep.py --points 8 --json     # {"units": 32, "t1_s": ..., "parallel_efficiency": ...}

Bad input prints one line, ``bench_sweep: error: ...``, and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from memsim.files import interruptible
from memsim.sweep.run import Executor, run_sweep
from memsim.sweep.spec import parse_sweep


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=4, help="σ/G values, 0 .. 0.1 (default 4)")
    parser.add_argument("--chips", type=int, default=64, help="chips per point (default 64)")
    parser.add_argument("--chips-per-unit", type=int, default=16,
                        help="chips of one unit (default 16: units of about a second, so that the start-up of the "
                        "worker processes, paid once per pool, does not dominate)")
    parser.add_argument("--network", default="digits-cnn", help="built-in network or .npz (default digits-cnn: "
                        "units long enough that process start-up does not dominate)")
    parser.add_argument("--split", default="test", choices=("test", "calibration"),
                        help="digits split each unit simulates (default test)")
    parser.add_argument("--threads", type=int, default=1, help="threads per unit, datapath and BLAS (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    return parser.parse_args(argv)


def cpu_ceiling(tasks: int = 16, n: int = 40_000_000) -> dict:
    """Wall times of ``tasks`` equal CPU-bound tasks (the builtin ``sum`` over ``range(n)``: a loop in the
    interpreter's C code, no memory traffic beyond the core's caches) on 1 and on 2 local worker processes
    (pools started before the clock, unlike the sweep's), and their efficiency t1 / (2 t2)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    times = {}
    for workers in (1, 2):
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(sum, [range(1000)] * workers))  # the workers are up
            start = time.perf_counter()
            list(pool.map(sum, [range(n)] * tasks))
            times[workers] = time.perf_counter() - start
    return {"cpu_t1_s": times[1], "cpu_t2_s": times[2], "cpu_parallel_efficiency": times[1] / (2 * times[2])}


def bench(points: int, chips: int, split: str, threads: int, network: str = "digits-cnn",
          chips_per_unit: int = 1) -> dict:
    if points < 1 or chips < 1 or not 1 <= chips_per_unit <= chips:
        raise ValueError(f"--points {points}, --chips {chips} and --chips-per-unit {chips_per_unit}; allowed: "
                         "integers >= 1, at most --chips chips per unit")
    units = points * -(-chips // chips_per_unit)
    if units < 16:
        raise ValueError(f"{points} points × {chips} chips in units of {chips_per_unit} = {units} units; allowed: at "
                         "least 16")
    spec = parse_sweep({"chips": chips, "chips_per_unit": chips_per_unit, "config": {"threads": threads,
                                                       "workload": {"split": split, "network": network}},
                        "axes": {"sigma": {"start": 0.0, "stop": 0.1, "num": points}
                                 if points > 1 else [0.05]}}, origin="bench")
    times, tables = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            out = Path(tmp) / f"w{workers}.csv"
            start = time.perf_counter()
            # The same threads per unit on both pools (datapath and BLAS): the 1-worker pool would otherwise give
            # each unit both cores' BLAS threads, and the ratio would not measure process parallelism alone.
            report = run_sweep(spec, out, Executor("local", workers=workers, threads=threads))
            times[workers] = time.perf_counter() - start
            if report.failed:
                raise RuntimeError(f"{len(report.failed)} units failed: {report.failed[0]}")
            tables[workers] = out.read_bytes()
    ceiling = cpu_ceiling()
    efficiency = times[1] / (2 * times[2])
    return {"units": len(spec.units()), "network": network, "points": points, "chips": chips,
            "chips_per_unit": chips_per_unit, "split": split,
            "threads": threads,
            "t1_s": times[1], "t2_s": times[2], "speedup": times[1] / times[2],
            "parallel_efficiency": efficiency, "identical_tables": tables[1] == tables[2],
            # t1 = S + W and t2 = S + W/2 if the units' work W halves: S = 2 t2 - t1, the time that did not
            # (the pools' start-up, the parent's bookkeeping, the last unit's wait)
            "unscaled_s": 2 * times[2] - times[1], **ceiling,
            "relative_efficiency": efficiency / ceiling["cpu_parallel_efficiency"]}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        with interruptible("bench_sweep"):
            result = bench(args.points, args.chips, args.split, args.threads, args.network, args.chips_per_unit)
    except ValueError as exc:
        print(f"bench_sweep: error: {exc}", file=sys.stderr)
        sys.exit(2)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['units']} units ({result['points']} points × {result['chips']} chips in units of "
          f"{result['chips_per_unit']}, {result['network']} on "
          f"digits {result['split']}, "
          f"{result['threads']} thread(s) per unit)")
    print(f"1 worker   {result['t1_s']:8.2f} s")
    print(f"2 workers  {result['t2_s']:8.2f} s   speedup {result['speedup']:.2f}")
    print(f"parallel efficiency t1 / (2 t2) = {result['parallel_efficiency']:.2f}; identical tables: "
          f"{result['identical_tables']}")
    print(f"time that did not halve, 2 t2 - t1 = {result['unscaled_s']:.2f} s (start-up of the pools, bookkeeping)")
    print(f"this machine's ceiling (16 CPU-bound tasks): {result['cpu_parallel_efficiency']:.2f}; the sweep "
          f"reaches {result['relative_efficiency']:.2f} of it")


if __name__ == "__main__":
    main()
