"""The ``memsim`` command line. Subcommands parse options and call library functions; nothing else.

Bad input of any kind ends with one line on stderr, ``memsim: error: ...``, and exit code 2; no trace file
is left behind.
"""

from __future__ import annotations

import json
import math
import sys

import click

from memsim.config import SimConfig
from memsim.ledger import Ledger


def _si(value: float, unit: str) -> str:
    """Engineering notation: 3.21e-9, 'J' -> '3.21 nJ'."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    prefixes = {-15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T"}
    exp = max(-15, min(12, int(math.floor(math.log10(abs(value)) / 3) * 3)))
    return f"{value / 10**exp:.3g} {prefixes[exp]}{unit}"


def _config_from_options(config_file, no_trace, sigma, adc_bits, **fields) -> SimConfig:
    """Defaults < config file < command-line options (each option is one config field)."""
    cfg = SimConfig.from_toml(config_file) if config_file else SimConfig()
    cfg = cfg.with_overrides(**fields)
    if no_trace:
        cfg = cfg.with_overrides(trace="")
    if sigma is not None:
        cfg = cfg.with_card_override("cell", {"variation": {"model": "proportional", "sigma_rel": sigma}})
    if adc_bits is not None:
        cfg = cfg.with_card_override("adc", {"bits": adc_bits})
    return cfg


def _summary_text(s: dict) -> str:
    pct = lambda v: f"{100 * v:.2f} %"  # noqa: E731
    lines = [
        f"memsim simulate: card {s['card']}, network {s['network']} on {s['dataset']} "
        f"({s['inferences']} inferences), {s['chips']} chip{'s' if s['chips'] != 1 else ''}, seed {s['seed']}",
        "",
        "accuracy",
        f"  float (software)        {pct(s['accuracy_float'])}",
        f"  quantized (ideal)       {pct(s['accuracy_quantized'])}",
        f"  hardware (mean ± std)   {pct(s['accuracy_hw'])} ± {pct(s['accuracy_hw_std'])}",
        f"  bit-exact outputs       {pct(s['bit_exact_rate'])}",
        "",
        f"energy per chip run       {_si(s['energy_j'], 'J')}  ({_si(s['energy_per_inference_j'], 'J')} per inference)",
    ]
    total = s["energy_j"] or 1.0
    for comp, e in sorted(s["energy_by_component_j"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {comp:<22}  {_si(e, 'J'):>10}  {100 * e / total:5.1f} %")
    lines += [
        "",
        f"latency per inference     {_si(s['latency_s'], 's')}",
        f"throughput                {s['throughput_inf_per_s']:.4g} inferences/s",
        f"operations                {s['ops']:,} ({s['macs_per_inference']:,} MACs per inference × 2)",
        f"COPE                      {s['cope_gop_per_j']:.4g} GOP/J  (accuracy × operations / energy)",
        f"ADC conversions           {s['adc_conversions']:,} per chip run, {pct(s['adc_clip_rate'])} clipped",
        f"trace                     {s['trace'] or '(none)'}",
    ]
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="memsim")
def cli() -> None:
    """memsim: bit-true, discrete-event simulation of memristor compute-in-memory accelerators."""


@cli.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config file.")
@click.option("--card", help="Device card name (see `memsim devices`) or path to a card .toml.")
@click.option("--sigma", type=float, help="Relative programming variation σ/G (proportional model).")
@click.option("--chips", type=int, help="Number of chip instances (Monte Carlo over device variation).")
@click.option("--seed", type=int, help="Seed of the run's random generator.")
@click.option("--batch", type=int, help="Vectors per simulation chunk (results do not depend on it).")
@click.option("--network", help="Built-in network name or .npz of W0,b0,W1,b1,...")
@click.option("--data", help="Built-in dataset name or .npz with x and y.")
@click.option("--encoding", type=click.Choice(["offset", "differential", "twos"]), help="Signed-weight encoding.")
@click.option("--weight-bits", type=int, help="Weight bits of every layer.")
@click.option("--input-bits", type=int, help="Input (activation) bits.")
@click.option("--weight-slices", type=int, help="Columns per weight column set (default: as the weight bits need).")
@click.option("--adc-bits", type=int, help="ADC resolution (overrides the card).")
@click.option("-o", "--trace", help="HDF5 trace path (default memsim-trace.h5).")
@click.option("--no-trace", is_flag=True, help="Do not write a trace.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def simulate(config_file, sigma, adc_bits, no_trace, as_json, **fields) -> None:
    """Simulate a network on a memristor CIM chip: accuracy, energy, latency and COPE."""
    from tqdm import tqdm

    from memsim.simulate import simulate as run
    from memsim.trace import TraceWriter

    cfg = _config_from_options(config_file, no_trace, sigma, adc_bits, **fields)
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


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def devices(as_json: bool) -> None:
    """List the device cards with their key figures."""
    from devices.card import list_cards, load_card

    cards = {name: load_card(name).summary() for name in list_cards()}
    if as_json:
        click.echo(json.dumps(cards, indent=2))
        return
    units = {"g_min_s": "S", "g_max_s": "S", "v_read_v": "V", "e_array_read_j": "J", "t_read_s": "s",
             "adc_energy_j": "J", "adc_latency_s": "s"}
    for name, summary in cards.items():
        click.echo(name)
        for key, value in summary.items():
            shown = _si(value, units[key]) if key in units else value
            click.echo(f"  {key:<20} {shown}")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the click group, turning bad input into one line and exit code 2."""
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
