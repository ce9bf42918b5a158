"""The ``memsim`` command line. Subcommands parse options and call library functions; nothing else.

Bad input of any kind ends with one line on stderr, ``memsim: error: ...``, and exit code 2; no trace file
is left behind. SIGTERM and SIGINT (Ctrl-C) end any command with one line on stderr, ``memsim: interrupted by
SIGTERM; removed the temporary file ...``, and exit code 143 or 130 (128 + the signal number), after the
temporary files of unfinished outputs are deleted (``memsim.files.interruptible``).
"""

from __future__ import annotations

import json
import sys

import click

from memsim.cli.options import chip_range_option, config_from_options, workload_options
from memsim.cli.plan import plan
from memsim.cli.report import report
from memsim.cli.sweep import sweep
from memsim.cli.trace import trace
from memsim.config import OUTPUTS
from memsim.files import interruptible
from memsim.ledger import Ledger
from memsim.trace.report import accuracy_lines, area_lines, energy_lines, operation_lines, si, timing_lines


def _summary_text(s: dict) -> str:
    lines = [
        f"memsim simulate: card {s['card']}, network {s['network']} on {s['dataset']} "
        f"({s['inferences']} inferences), {s['chips']} chip{'s' if s['chips'] != 1 else ''}, seed {s['seed']}",
        "",
        *accuracy_lines(s),
        "",
        f"energy per chip run       {si(s['energy_j'], 'J')}  ({si(s['energy_per_inference_j'], 'J')} per inference)",
        *energy_lines(s, 2),
        "",
        *timing_lines(s),
        *operation_lines(s),
        "",
        *area_lines(s),
        "",
        f"trace                     {s['trace'] or '(none)'}",
    ]
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="memsim")
def cli() -> None:
    """memsim: bit-true, discrete-event simulation of memristor compute-in-memory accelerators."""


@cli.command()
@workload_options
@chip_range_option
@click.option("--plan", type=click.Path(dir_okay=False), help="Quantization plan .toml (from `memsim plan`).")
@click.option("--age", "age_s", type=float, help="Seconds between programming and inference (card's drift model).")
@click.option("--buffer", "buffer_vectors", type=int, help="Capacity of each inter-layer buffer, in vectors.")
@click.option("-o", "--trace", help="HDF5 trace path (default memsim-trace.h5).")
@click.option("--outputs", type=click.Choice(OUTPUTS), is_flag=False, flag_value="predictions",
              help="Per-input outputs in the trace (/outputs): 'predictions' (the default of a bare --outputs): "
              "label and prediction of every input on every chip; 'logits': also the last layer's integer "
              "outputs; 'none' (default): only each chip's confusion matrix (/confusion).")
@click.option("--no-trace", is_flag=True, help="Do not write a trace.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def simulate(config_file, sigma, adc_bits, no_trace, as_json, **fields) -> None:
    """Simulate a network on a memristor CIM chip: accuracy, energy, latency and COPE."""
    from tqdm import tqdm

    from memsim.simulate import simulate as run
    from memsim.trace import TraceWriter

    cfg = config_from_options(config_file, sigma, adc_bits, **fields)
    if no_trace:
        cfg = cfg.with_overrides(trace="")
    ledger = Ledger()
    writer = TraceWriter(cfg.trace, ledger) if cfg.trace else None
    bars = []

    def progress(total: int):
        bars.append(tqdm(total=total, unit="vec", desc="simulating", file=sys.stderr, disable=None, leave=False))
        return bars[-1].update

    try:
        result = run(cfg, ledger=ledger, progress=progress)
        if writer is not None:
            writer.finish(result)
            writer = None
    finally:
        for bar in bars:
            bar.close()
        if writer is not None:
            writer.abort()
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(_summary_text(summary))
    for warning in summary["warnings"]:
        click.echo(f"memsim: warning: {warning}", err=True)


@cli.command()
@click.option("--actions", "show_actions", is_flag=True,
              help="List every component's declared actions with the cost of one counted action instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def devices(show_actions: bool, as_json: bool) -> None:
    """List the device cards with their key figures (or, with --actions, what each component does)."""
    from memsim.devices.card import list_cards, load_card

    if show_actions:
        tables = {name: load_card(name).action_costs() for name in list_cards()}
        if as_json:
            click.echo(json.dumps(tables, indent=2))
            return
        for name, rows in tables.items():
            click.echo(name)
            for r in rows:
                cost = (f"{si(r['power_w'], 'W')} static" if "power_w" in r
                        else f"{si(r['energy_j'], 'J')}, {si(r['latency_s'], 's')}")
                click.echo(f"  {r['component'] + '.' + r['action']:<22} {cost:<22} per {r['counts']}")
        return
    cards = {name: load_card(name).summary() for name in list_cards()}
    if as_json:
        click.echo(json.dumps(cards, indent=2))
        return
    units = {"g_min_s": "S", "g_max_s": "S", "v_read_v": "V", "e_array_read_j": "J", "t_read_s": "s",
             "adc_energy_j": "J", "adc_latency_s": "s"}
    for name, summary in cards.items():
        click.echo(name)
        for key, value in summary.items():
            if key.endswith("area_m2"):
                shown = f"{value * 1e12:.4g} µm²"
            else:
                shown = si(value, units[key]) if key in units else value
            click.echo(f"  {key:<20} {shown}")


cli.add_command(trace)
cli.add_command(plan)
cli.add_command(sweep)
cli.add_command(report)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the click group, turning bad input into one line and exit code 2, and SIGTERM or
    SIGINT into one line and exit code 143 or 130 once the temporary files are deleted."""
    with interruptible("memsim"):
        _main(argv)


def _main(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="memsim", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("memsim: aborted", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"memsim: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except ValueError as exc:
        click.echo(f"memsim: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
