"""Running a sweep: one unit's rows, the executors (in-process, local worker processes, Dask), the per-unit part
files that make a sweep resumable, and the tidy table.

Each finished unit's rows are written atomically to ``<out>.parts/<unit id>.json`` by the process that drives
the sweep, as soon as the unit finishes; a rerun skips every unit whose part is there (and holds the same config).
The table is assembled from the parts, sorted by (point, chip), so it does not depend on the number of workers,
the scheduler or the order in which units finish: a unit's rows depend only on its config and chip range
(per-chip seeding, ``memsim.simulate.chip_generator``), and floats are written with ``repr`` (exact round trip).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from memsim.files import atomic_write, check_writable
from memsim.sweep.spec import SweepSpec
from memsim.sweep.units import Unit

PART_SCHEMA = 2  # 2: rows carry the chip area (area_m2, tops_per_w, tops_per_mm2)
CONNECT_TIMEOUT_S = 30  # how long --scheduler waits for the scheduler to answer
# The figures of every row, in the table's order (after point, chip, the axes and the energy by component).
FIGURES = ("accuracy_hw", "bit_exact_rate", "accuracy_float", "accuracy_quantized", "energy_j",
           "energy_per_inference_j", "static_energy_j", "latency_s", "latency_first_s", "throughput_inf_per_s",
           "run_time_s", "cope_gop_per_j", "adc_conversions", "adc_clip_rate", "inferences", "macs_per_inference",
           "tiles", "events", "area_m2", "tops_per_w", "tops_per_mm2")


def unit_rows(config_json: str, start: int, stop: int, threads: int = 0, trace: str = "") -> list[dict]:
    """Simulate chips ``start .. stop-1`` of the point whose config is ``config_json``; one row per chip: the
    headline figures of that chip alone (``memsim.figures.headline_figures``), its energy by component
    (``energy_<component>_j``) and the chip area by component (``area_<component>_m2``, the mapping's). Runs
    in a worker process; ``threads`` (0: the config's) is the worker's share of the cores, for the datapath
    (unless the config sets threads) and BLAS; ``trace``: the unit's HDF5 trace."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    from memsim.area import area_figures, chip_area
    from memsim.config import SimConfig
    from memsim.figures import RunMeasurements, headline_figures
    from memsim.ledger import FS_PER_S, ZJ_PER_J, Ledger
    from memsim.simulate import simulate
    from memsim.trace import TraceWriter

    cfg = SimConfig.from_dict(json.loads(config_json), origin="sweep unit")
    cfg = cfg.with_overrides(chip_range=(start, stop), trace=trace)
    if threads and not cfg.threads:
        cfg = cfg.with_overrides(threads=threads)
    ledger = Ledger()
    writer = TraceWriter(trace, ledger) if trace else None
    try:
        # A worker's share of the cores: BLAS too (its threads would compete with the other workers').
        with threadpool_limits(limits=threads, user_api="blas") if threads else nullcontext():
            result = simulate(cfg, ledger=ledger)
        if writer is not None:
            writer.finish(result)
            writer = None
    finally:
        if writer is not None:
            writer.abort()
    rows = []
    area = area_figures(chip_area(result.design))
    counts = {c.chip: ledger.counts(chip=c.chip).get(("adc", "convert"), 0) for c in result.chips}
    for c in result.chips:
        by_component = {k: v / ZJ_PER_J for k, v in ledger.by("component", chip=c.chip).items()}
        figures = headline_figures(RunMeasurements(
            card=result.card.name, network=result.workload.network.name, dataset=result.workload.data.name,
            seed=cfg.seed, inferences=result.inferences, macs_per_inference=result.macs_per_inference,
            accuracy_float=result.accuracy_float, accuracy_quantized=result.accuracy_quantized,
            accuracy_per_chip=(c.accuracy,), bit_exact_rate_per_chip=(c.bit_exact_rate,),
            energy_j=c.energy_zj / ZJ_PER_J, energy_by_component_j=by_component,
            run_time_s=c.makespan_fs / FS_PER_S, adc_conversions_total=counts[c.chip],
            adc_clipped_total=sum(c.clipped), tiles=result.design.tiles, events=c.events, trace=None,
            latency_s_per_chip=(c.latency_s,), first_latency_s_per_chip=(c.first_latency_s,),
            throughput_inf_per_s_per_chip=(c.throughput_inf_per_s,), static_energy_j=sum(c.static_zj.values())
            / ZJ_PER_J, **area))
        row = {"chip": c.chip, **{k: figures.get(k, "") for k in FIGURES}}
        row.update({f"energy_{k}_j": v for k, v in sorted(by_component.items())})
        row.update({f"area_{k}_m2": v for k, v in sorted(area["area_by_component_m2"].items())})
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------- parts and table


def parts_dir(out: str | Path) -> Path:
    return Path(str(out) + ".parts")


def read_part(path: Path, unit: Unit) -> list[dict] | None:
    """The rows of ``unit``'s part file, or None when it is missing, unreadable or of another config."""
    try:
        part = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(part, dict) or part.get("schema") != PART_SCHEMA or part.get("unit") != unit.id
            or part.get("config") != unit.point.config_json or part.get("chips") != [unit.start, unit.stop]):
        return None
    rows = part.get("rows")
    if not isinstance(rows, list) or [r.get("chip") for r in rows] != list(range(unit.start, unit.stop)):
        return None
    return rows


def write_part(directory: Path, unit: Unit, rows: list[dict]) -> None:
    part = {"schema": PART_SCHEMA, "unit": unit.id, "point": unit.point.index, "chips": [unit.start, unit.stop],
            "config": unit.point.config_json, "rows": rows}
    with atomic_write(directory / f"{unit.id}.json") as tmp:
        tmp.write_text(json.dumps(part), encoding="utf-8")


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def table_rows(spec: SweepSpec, done: dict[str, list[dict]]) -> tuple[list[str], list[list[str]]]:
    """The tidy table of the finished units: columns and rows (strings), sorted by (point, chip)."""
    names = spec.axis_names
    rows = []
    components: dict[str, None] = {}
    areas: dict[str, None] = {}
    for unit in spec.units():
        for r in done.get(unit.id, ()):
            rows.append((unit.point, r))
            components.update(dict.fromkeys(k for k in r if k.startswith("energy_") and k not in FIGURES))
            areas.update(dict.fromkeys(k for k in r if k.startswith("area_") and k not in FIGURES))
    components, areas = sorted(components), sorted(areas)
    columns = ["point", "chip", *names, *FIGURES[:7], *components, *FIGURES[7:], *areas, "point_id"]
    out = []
    for point, r in sorted(rows, key=lambda pr: (pr[0].index, pr[1]["chip"])):
        values = [point.index, r["chip"], *point.values, *(r[k] for k in FIGURES[:7]),
                  *(r.get(k, 0.0) for k in components), *(r[k] for k in FIGURES[7:]),
                  *(r.get(k, 0.0) for k in areas), point.id]
        out.append([_cell(v) for v in values])
    return columns, out


def write_table(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    with atomic_write(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(columns)
            w.writerows(rows)


# --------------------------------------------------------------------------------------------------- executors


def available_memory_mib() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") >> 20
    except (ValueError, OSError, AttributeError):
        return None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_workers(memory_budget_mb: int) -> int:
    """As many workers as cores this process may use, bounded by the available memory over twice each worker's
    chunk budget."""
    cores = usable_cores()
    mib = available_memory_mib()
    by_memory = max(1, mib // (2 * memory_budget_mb)) if mib else cores
    return max(1, min(cores, by_memory))


class _InlineFuture:
    def __init__(self, fn, args) -> None:
        self.fn, self.args = fn, args

    def result(self):
        return self.fn(*self.args)


def memsim_version() -> str:
    """The memsim version of the process that runs this (a cluster worker's, for ``Executor._check_workers``)."""
    from memsim import __version__

    return __version__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class Executor:
    """Where units run: ``inline`` (this process), ``local`` (a spawn-context process pool) or ``dask`` (a
    ``distributed.Client``: ``address`` a scheduler address, a scheduler file, or ``"local"`` for a LocalCluster
    of ``workers`` processes). ``threads``: each unit's share of the cores (datapath threads, unless the config
    sets them, and BLAS threads); 0: the cores over the workers on this machine, the config's on a cluster."""

    kind: str = "inline"
    workers: int = 1
    address: str = ""
    threads: int = 0
    processes: bool = True
    _pool: object = None
    _client: object = None
    _cluster: object = None

    def __enter__(self) -> Executor:
        if self.kind == "local":
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_ignore_sigint)
        elif self.kind == "dask":
            try:
                from distributed import Client, LocalCluster
            except ImportError:
                raise ValueError("--dask/--scheduler need Dask, which is not installed; install it with: pip install "
                                 "'memsim[dask]'") from None
            if self.address == "local":
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=self.processes,
                                             dashboard_address=None)
                self._client = Client(self._cluster)
            elif "://" in self.address or Path(self.address).is_file():
                where = {"address": self.address} if "://" in self.address else {"scheduler_file": self.address}
                try:
                    self._client = Client(**where, timeout=f"{CONNECT_TIMEOUT_S}s")
                except (OSError, TimeoutError, ValueError) as exc:
                    raise ValueError(f"--scheduler {self.address!r}: no Dask scheduler answered "
                                     f"({type(exc).__name__}: {_first_line(exc)}); allowed: the address or "
                                     "scheduler file of a running scheduler") from None
                self._check_workers()
            else:
                raise ValueError(f"--scheduler {self.address!r} is neither a scheduler address nor a file; allowed: "
                                 "tcp://HOST:PORT or the path of a scheduler file")
        return self

    def _check_workers(self) -> None:
        """Every worker of a cluster memsim did not start runs this memsim version (else its units would
        compute with other code, and the table would depend on which worker ran them)."""
        from memsim import __version__

        try:
            versions = self._client.run(memsim_version)
        except Exception as exc:  # a worker without memsim, say: its unpickling of memsim_version fails
            self._client.close()
            raise ValueError(f"--scheduler {self.address!r}: the cluster's workers cannot run memsim "
                             f"({type(exc).__name__}: {_first_line(exc)}); allowed: workers with memsim "
                             f"{__version__} installed") from None
        other = {w: v for w, v in versions.items() if v != __version__}
        if other or not versions:
            self._client.close()
            found = ", ".join(f"{w} has {v}" for w, v in sorted(other.items())[:3]) or "the cluster has no workers"
            raise ValueError(f"--scheduler {self.address!r}: {found}; allowed: workers with memsim {__version__}")

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._pool is not None:
            if exc_type is not None:
                # Interrupted or failed: stop the workers now (their units are lost; finished ones are saved)
                # and wait for them, so that none outlives the command.
                workers = list(getattr(self._pool, "_processes", {}).values())
                for p in workers:
                    p.terminate()
                for p in workers:
                    p.join(timeout=10)
            self._pool.shutdown(wait=exc_type is None, cancel_futures=True)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def run(self, calls: list[tuple]):
        """Submit ``(key, fn, args)`` calls; yield ``(key, rows or None, exception or None)`` as each finishes."""
        if self.kind == "inline":
            for key, fn, args in calls:
                try:
                    yield key, fn(*args), None
                except Exception as exc:  # a failed unit is reported; the rest go on
                    yield key, None, exc
            return
        if self.kind == "local":
            from concurrent.futures import as_completed

            futures = {self._pool.submit(fn, *args): key for key, fn, args in calls}
        else:
            from distributed import as_completed

            futures = {self._client.submit(fn, *args, pure=False): key for key, fn, args in calls}
        for future in as_completed(list(futures)):
            key = futures[future]
            try:
                yield key, future.result(), None
            except Exception as exc:
                yield key, None, exc


# ------------------------------------------------------------------------------------------------------ traces


def point_trace(directory: Path, point) -> Path:
    """The trace of a whole point: the merge of its units' traces (``memsim trace merge``)."""
    return directory / f"point{point.index:04d}-{point.id}.h5"


def unit_trace(directory: Path, unit: Unit) -> Path:
    """A unit's own trace, until its point's units are merged; a point of one unit writes the point's trace."""
    if unit.start == 0 and unit.stop == unit.point.config.chips:
        return point_trace(directory, unit.point)
    return directory / f"point{unit.point.index:04d}-{unit.point.id}-chips{unit.start}-{unit.stop}.h5"


def merge_point_trace(directory: Path, point_units: list[Unit]) -> None:
    """Once every unit of a point has its trace, merge them into the point's trace (atomically) and delete them."""
    from memsim.trace.merge import merge_traces

    target = point_trace(directory, point_units[0].point)
    paths = [unit_trace(directory, u) for u in point_units]
    if target.exists() or len(paths) < 2 or not all(p.exists() for p in paths):
        return
    merge_traces([str(p) for p in paths], str(target))
    for p in paths:
        p.unlink()


# ----------------------------------------------------------------------------------------------------- a sweep


@dataclass
class SweepReport:
    out: Path
    units: int = 0
    skipped: int = 0
    ran: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)   # (unit description, error)
    rows: int = 0


def check_output(out: str | Path) -> Path:
    path = Path(out)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"-o {str(out)!r}: the table is a CSV file; allowed: a path ending in .csv")
    return check_writable(path, "-o", "results.csv")


def run_sweep(spec: SweepSpec, out: str | Path, executor: Executor | None = None, traces: str | Path | None = None,
              on_unit: Callable[[Unit], None] | None = None, on_error: Callable[[str], None] | None = None,
              progress: bool = False) -> SweepReport:
    """Run the units of ``spec`` that have no part yet, write each one's part as it finishes, then the table
    ``out`` (CSV) of every finished unit. ``on_unit`` is called after each new part is saved; ``on_error`` with
    one line per failed unit (its point and the error), and the other units go on."""
    out = check_output(out)
    executor = executor or Executor()
    directory = parts_dir(out)
    report = SweepReport(out)
    units = spec.units()
    report.units = len(units)
    done: dict[str, list[dict]] = {}
    todo = []
    traces = Path(traces) if traces else None
    for unit in units:
        rows = read_part(directory / f"{unit.id}.json", unit)
        # With --traces, a finished unit whose trace is neither kept nor merged into its point's runs again.
        if rows is None or (traces and not point_trace(traces, unit.point).exists()
                            and not unit_trace(traces, unit).exists()):
            todo.append(unit)
        else:
            done[unit.id] = rows
    report.skipped = len(done)
    by_id = {u.id: u for u in todo}
    threads = executor.threads
    if not threads and executor.kind in ("local", "dask") and executor.address in ("", "local"):
        threads = max(1, usable_cores() // max(1, executor.workers))
    calls = [(u.id, unit_rows, (u.point.config_json, u.start, u.stop, threads,
                                str(unit_trace(traces, u)) if traces else ""))
             for u in todo]
    of_point: dict[int, list[Unit]] = {}
    for u in units:
        of_point.setdefault(u.point.index, []).append(u)
    bar = None
    try:
        # The executor first (a cluster that cannot be reached is one line, with nothing created), then the
        # parts directory; nothing to run starts no executor.
        with executor if todo else nullcontext():
            directory.mkdir(exist_ok=True)
            if traces:
                traces.mkdir(parents=True, exist_ok=True)
            if progress and todo:
                from tqdm import tqdm

                bar = tqdm(total=len(units), initial=len(done), unit="unit", desc="sweep", file=sys.stderr,
                           disable=None)
            for key, rows, exc in executor.run(calls) if todo else ():
                unit = by_id[key]
                if exc is not None:
                    message = f"{unit.describe(spec.axis_names)} failed: {type(exc).__name__}: {exc}"
                    report.failed.append((unit.describe(spec.axis_names), f"{type(exc).__name__}: {exc}"))
                    if on_error is not None:
                        on_error(message)
                else:
                    write_part(directory, unit, rows)
                    done[key] = rows
                    report.ran.append(key)
                    if traces:
                        merge_point_trace(traces, of_point[unit.point.index])
                    if on_unit is not None:
                        on_unit(unit)
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if traces:  # points whose units all finished before (an interrupted merge, say)
        for point_units in of_point.values():
            if all(u.id in done for u in point_units):
                merge_point_trace(traces, point_units)
    columns, rows = table_rows(spec, done)
    write_table(out, columns, rows)
    report.rows = len(rows)
    return report


def read_table(path: str | Path) -> tuple[list[str], list[dict]]:
    """The columns and rows (strings) of a sweep table."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            columns = list(reader.fieldnames or [])
    except OSError as exc:
        raise ValueError(f"sweep table {str(path)!r} cannot be read: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"sweep table {str(path)!r} is not a CSV table: {exc}") from None
    if not columns or "point" not in columns or "chip" not in columns:
        raise ValueError(f"sweep table {str(path)!r} has no point and chip columns; allowed: a table of memsim "
                         "sweep run")
    return columns, rows
