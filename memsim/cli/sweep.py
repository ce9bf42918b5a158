"""``memsim sweep``: run a sweep file's grid of configurations into one tidy CSV table, and plot it.

``run`` validates the whole sweep (every point's config and card) before it starts: bad input is one line and
exit 2 with nothing written. Units run in this process (``--workers 1``), on local worker processes (default:
as many as cores, bounded by the memory budget) or on a Dask cluster (``--dask local``, ``--scheduler ADDR``;
the ``memsim[dask]`` extra). A failed unit is reported with its point and error and the rest go on (exit 1 at
the end); finished units are kept in ``OUT.parts/`` and a rerun runs only the missing ones.
"""

from __future__ import annotations

import click


@click.group()
def sweep() -> None:
    """Sweeps over configurations: run a sweep file into a CSV table, plot its columns."""


@sweep.command("run")
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out", required=True, help="The results table (.csv); its finished units are "
              "kept in OUTPUT.parts/ and a rerun skips them.")
@click.option("--workers", type=int, help="Local worker processes (default: as many as cores, bounded by the "
              "memory budget; 1 runs in this process); with --dask local: the LocalCluster's workers.")
@click.option("--dask", "dask_mode", type=click.Choice(["local"]), help="Run on a Dask LocalCluster started here.")
@click.option("--scheduler", metavar="ADDR", help="Run on a Dask distributed cluster: tcp://HOST:PORT or a "
              "scheduler file.")
@click.option("--traces", type=click.Path(file_okay=False), help="Directory for one HDF5 trace per point, "
              "pointNNNN-ID.h5 (its units' traces merged as `memsim trace merge` does, once all have run).")
def run_command(sweep_file, out, workers, dask_mode, scheduler, traces) -> None:
    """Run SWEEP_FILE (TOML: base config, axes, chips) into the table -o OUTPUT."""
    import sys

    from memsim.sweep.run import Executor, check_output, default_workers, run_sweep
    from memsim.sweep.spec import load_sweep

    if dask_mode and scheduler:
        raise click.UsageError(f"--dask {dask_mode} and --scheduler {scheduler!r} conflict; allowed: one of them")
    if workers is not None and not 1 <= workers <= 1024:
        raise click.UsageError(f"--workers {workers}; allowed: an integer from 1 to 1024")
    if scheduler and workers is not None:
        raise click.UsageError("--workers and --scheduler conflict; the cluster has its own workers")
    check_output(out)
    spec = load_sweep(sweep_file)
    if scheduler:
        executor = Executor("dask", address=scheduler)
    elif dask_mode:
        executor = Executor("dask", workers=workers or default_workers(spec.base.memory_budget_mb), address="local")
    else:
        n = workers or default_workers(spec.base.memory_budget_mb)
        executor = Executor("inline") if n == 1 else Executor("local", workers=n)
    report = run_sweep(spec, out, executor, traces=traces, progress=True,
                       on_error=lambda line: click.echo(f"memsim: unit {line}", err=True))
    click.echo(f"memsim sweep: {report.units} units ({report.skipped} already done, {len(report.ran)} run, "
               f"{len(report.failed)} failed); {report.rows} rows in {report.out}")
    if report.failed:
        sys.exit(1)


@sweep.command("plot")
@click.argument("table", type=click.Path(dir_okay=False))
@click.option("--x", "x", required=True, help="Column on the horizontal axis (an axis of the sweep).")
@click.option("--y", "y", required=True, help="Result column on the vertical axis (e.g. accuracy_hw, energy_j).")
@click.option("--group", help="Column whose values get one line each.")
@click.option("-o", "--output", "out", required=True, help="Image path (.png, .svg or .pdf).")
def plot_command(table, x, y, group, out) -> None:
    """Draw column --y of a sweep TABLE against --x, one line per value of --group (means ± std over chips)."""
    from memsim.sweep.plot import plot_sweep
    from memsim.trace.plots import MissingMatplotlib

    try:
        path = plot_sweep(table, x, y, out, group)
    except MissingMatplotlib as exc:
        raise ValueError(str(exc)) from None
    click.echo(str(path))
