"""``memsim report``: one self-contained HTML page from traces (one run, or several side by side) and sweep
tables (``memsim.report``)."""

from __future__ import annotations

import click

from memsim.trace.reader import DEFAULT_MAX_BYTES


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", default="report.html", show_default=True,
              help="The HTML file to write (self-contained: styles and figures inline).")
@click.option("--max-read-mb", "max_read_mb", type=click.IntRange(1, 1 << 30), default=DEFAULT_MAX_BYTES >> 20,
              show_default=True, help="Refuse a trace whose tables declare more than this many MiB together.")
def report(paths: tuple[str, ...], output: str, max_read_mb: int) -> None:
    """Write an HTML report of PATHS: a trace (RUN.h5) gives that run's report, several traces are compared side
    by side, a sweep table (results.csv from `memsim sweep run`) gives its points and plots."""
    from memsim.report import check_report_output, write_report
    from memsim.trace.plots import MissingMatplotlib, require_matplotlib

    check_report_output(output, list(paths))
    try:
        require_matplotlib()
    except MissingMatplotlib as exc:
        raise ValueError(str(exc)) from None
    written = write_report(list(paths), output, max_bytes=max_read_mb << 20)
    click.echo(f"wrote {written}")
