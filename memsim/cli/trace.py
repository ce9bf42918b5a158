"""``memsim trace``: summary, plot, timeline, compare, export and merge of HDF5 traces.

Each subcommand opens the trace(s) with ``memsim.trace.open`` and calls one library function
(``memsim.trace.report``, ``memsim.trace.export``, ``memsim.trace.plots``). Bad input raises ``ValueError`` and
``memsim.cli.main`` turns it into one line on stderr and exit code 2; a missing matplotlib is reported the
same way.
"""

from __future__ import annotations

import json
import math

import click

from memsim.trace.plots import FORMATS, PLOTS
from memsim.trace.reader import DEFAULT_MAX_BYTES
from memsim.trace.reader import open_trace as _open_trace

# The image formats and plot kinds as the options' help lists them (from memsim.trace.plots).
_FORMATS_TEXT = f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}"
_KINDS_HELP = "What to draw: " + "; ".join(f"{name}: {kind.description}" for name, kind in PLOTS.items()) + "."
_PER_CHIP = ", ".join(name for name, kind in PLOTS.items() if kind.per_chip)


def _json(data) -> str:
    # Non-finite floats are not JSON; print them as null.
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(data), indent=2, ensure_ascii=False)


def _max_read(command):
    """``--max-read-mb``: the reader's memory budget (``memsim.trace.open(max_bytes=)``)."""
    return click.option("--max-read-mb", "max_read_mb", type=click.IntRange(1, 1 << 30),
                        default=DEFAULT_MAX_BYTES >> 20, show_default=True,
                        help="Refuse a trace whose tables declare more than this many MiB together.")(command)


def open_trace(path: str, max_read_mb: int):
    return _open_trace(path, max_bytes=max_read_mb << 20)


def _timeline_options(command):
    """``--layers``, ``--tiles`` and ``--window``: what the timeline draws (``memsim.trace.timeline.select``)."""
    command = click.option("--window", metavar="START:END",
                           help="Time window to draw, in seconds or with a unit: 0:2e-6, 0:2us, 1.5us:3us.")(command)
    command = click.option("--tiles", metavar="LIST",
                           help="Crossbar tiles to draw (e.g. 0,2,5-7); leaves out the digital stages.")(command)
    return click.option("--layers", metavar="LIST", help="Layers to draw (e.g. 0,2 or 1-3).")(command)


def _timeline_selection(layers: str | None, tiles: str | None, window: str | None) -> dict:
    from memsim.trace.timeline import parse_indices, parse_window

    return {"layers": None if layers is None else parse_indices(layers, "--layers"),
            "tiles": None if tiles is None else parse_indices(tiles, "--tiles"),
            "window_s": None if window is None else parse_window(window)}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def trace() -> None:
    """Analyse HDF5 traces written by `memsim simulate`."""


@trace.command()
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@_max_read
def summary(path: str, as_json: bool, max_read_mb: int) -> None:
    """Energy by component and layer, latency, throughput, accuracy per chip and per class, the confusion matrix,
    COPE, config and cards."""
    from memsim.trace.report import summarize, summary_text

    s = summarize(open_trace(path, max_read_mb))
    click.echo(_json(s) if as_json else summary_text(s))


@trace.command()
@click.argument("path")
@click.option("--kind", type=click.Choice(list(PLOTS)), default="energy", show_default=True, help=_KINDS_HELP)
@click.option("-o", "--output", help=f"Image file ({_FORMATS_TEXT}); default <trace name>-<kind>.png.")
@click.option("--chip", type=int, default=0, show_default=True,
              help=f"Chip instance of a per-chip picture ({_PER_CHIP}).")
@_timeline_options
@_max_read
def plot(path: str, kind: str, output: str | None, chip: int, layers: str | None, tiles: str | None,
         window: str | None, max_read_mb: int) -> None:
    """Draw one picture of a trace (--kind) into an image file (PNG at 300 dpi, SVG or PDF by the suffix)."""
    from pathlib import Path

    from memsim.trace.plots import MissingMatplotlib, check_output
    from memsim.trace.plots import plot as draw

    out = output or f"{Path(path).stem}-{kind}.png"
    if chip != 0 and not PLOTS[kind].per_chip:
        raise ValueError(f"--chip {chip}: the {kind} picture is not per chip; --chip applies to {_PER_CHIP}")
    given = [name for name, v in (("--layers", layers), ("--tiles", tiles), ("--window", window)) if v is not None]
    if given and kind != "timeline":
        raise ValueError(f"{given[0]}: the {kind} picture has no such option; allowed: {given[0]} with --kind timeline")
    selection = _timeline_selection(layers, tiles, window) if kind == "timeline" else {}
    check_output(out)
    tr = open_trace(path, max_read_mb)
    try:
        written = draw(tr, kind, out, chip=chip, **selection)
    except MissingMatplotlib as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {written}")


@trace.command()
@click.argument("path")
@click.option("-o", "--output", help=f"Image file ({_FORMATS_TEXT}); default <trace name>-timeline.png.")
@_timeline_options
@_max_read
def timeline(path: str, output: str | None, layers: str | None, tiles: str | None, window: str | None,
             max_read_mb: int) -> None:
    """Gantt chart of the recorded busy intervals (chip 0, the first inferences of the run): one lane per layer
    and tile (tiles merged per layer on large networks), one stripe per component kind."""
    from pathlib import Path

    from memsim.trace.plots import MissingMatplotlib, check_output
    from memsim.trace.plots import plot as draw

    out = output or f"{Path(path).stem}-timeline.png"
    selection = _timeline_selection(layers, tiles, window)
    check_output(out)
    tr = open_trace(path, max_read_mb)
    try:
        written = draw(tr, "timeline", out, chip=0, **selection)
    except MissingMatplotlib as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {written}")


@trace.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@_max_read
def compare(paths: tuple[str, ...], as_json: bool, max_read_mb: int) -> None:
    """Headline figures of several traces side by side, with ratios to the first."""
    from memsim.trace.report import compare as side_by_side
    from memsim.trace.report import compare_text, summarize

    if len(paths) < 2:
        raise ValueError(f"compare needs at least two traces; got {len(paths)}")
    cmp = side_by_side([summarize(open_trace(p, max_read_mb)) for p in paths])
    click.echo(_json(cmp) if as_json else compare_text(cmp))


@trace.command()
@click.argument("path")
@click.option("--csv", "directory", required=True, help="Directory for the CSV files (created if missing).")
@_max_read
def export(path: str, directory: str, max_read_mb: int) -> None:
    """Write every table of the trace as CSV (events, counters, layers, chips, errors, confusion, ...) and the
    summary."""
    from memsim.trace.export import export_csv

    for written in export_csv(open_trace(path, max_read_mb), directory):
        click.echo(f"wrote {written}")


@trace.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="The merged trace (.h5), written atomically.")
@_max_read
def merge(paths: tuple[str, ...], output: str, max_read_mb: int) -> None:
    """Merge the traces of one configuration run over disjoint chip ranges (--chip-range) into the trace of one
    run of all their chips: equal, dataset by dataset, to the trace that run writes (traces/README.md)."""
    from memsim.trace.merge import merge_traces

    written = merge_traces(list(paths), output, max_bytes=max_read_mb << 20)
    click.echo(f"wrote {written}")
