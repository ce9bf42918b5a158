"""Command-line options shared by the commands that build a run configuration (``simulate``, ``plan``).

Each option is one ``SimConfig`` field (or one card override); precedence is defaults < ``--config`` file <
options given on the command line.
"""

from __future__ import annotations

import click

from memsim.config import ADC_RANGES, SimConfig, check_not_input
from memsim.devices.ir_drop import SOLVERS
from memsim.devices.wires import WIRE_MODELS
from memsim.encoding import ENCODING_NAMES

_OPTIONS = (
    click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config file."),
    click.option("--card", help="Device card name (see `memsim devices`) or path to a card .toml."),
    click.option("--sigma", type=float, help="Relative programming variation σ/G (proportional model)."),
    click.option("--sigma-scale", "sigma_scale", type=float, metavar="FACTOR",
                 help="Study parameter: multiply the card's programming-variation σ (whatever its model, after "
                      "--sigma) by FACTOR >= 0; 0 turns variation off (default 1)."),
    click.option("--chips", type=int, help="Number of chip instances (Monte Carlo over device variation)."),
    click.option("--seed", type=int, help="Seed of the run: chip k draws from SeedSequence(seed, spawn_key=(k,))."),
    click.option("--batch", type=int, help="Vectors per simulation chunk; 0 (default): as many as the memory budget "
                 "allows (results do not depend on it)."),
    click.option("--memory-budget", "memory_budget_mb", type=int,
                 help="MiB that one simulation chunk may hold (default 256); sizes chunks when --batch is 0."),
    click.option("--threads", type=int, help="Worker threads of the datapath; 0 (default): one per available "
                 "core, as many as half the memory budget allows (results do not depend on it)."),
    click.option("--network", help="Built-in network (digits-mlp, digits-cnn), a network .npz (README: Your own "
                 "network and data) or an .onnx model."),
    click.option("--data", help="Built-in dataset name or .npz with x and y."),
    click.option("--encoding", type=click.Choice(ENCODING_NAMES), help="Signed-weight encoding."),
    click.option("--weight-bits", type=int, help="Weight bits of every layer."),
    click.option("--input-bits", type=int, help="Input (activation) bits."),
    click.option("--weight-slices", type=int, help="Columns per weight column set (default: as the weight bits need)."),
    click.option("--adc-bits", type=int, help="ADC resolution (overrides the card)."),
    click.option("--adc-range", type=click.Choice(ADC_RANGES),
                 help="Each layer's ADC step: calibrated (default; the calibration data's largest partial sum "
                      "fits), percentile (that percentile of its partial sums fits, --adc-percentile), full (the "
                      "largest possible one fits) or card (the card's adc.lsb_levels)."),
    click.option("--adc-percentile", type=float,
                 help="With --adc-range percentile: the percentile of the partial sums the range covers (default 99)."),
    click.option("--wires", type=click.Choice(WIRE_MODELS),
                 help="Crossbar wire parasitics (card field crossbar.wires.model): ideal reads I = V·G, resistive "
                      "solves the word/bit-line network of every read with the card's wire numbers (IR drop)."),
    click.option("--ir-solver", "ir_solver", type=click.Choice(SOLVERS),
                 help="IR-drop solver with --wires resistive (circuit.solver): iterative (default) or nodal (exact)."),
    click.option("--ir-tolerance", "ir_tolerance", type=float,
                 help="Iterative solver's bound on the column-current error over the full-scale current "
                      "(circuit.tolerance, default 1e-7)."),
)


def parse_chip_range(ctx, param, value: str | None) -> tuple[int, int] | None:
    """``--chip-range START:STOP`` as ``(start, stop)`` (the config checks the range against ``--chips``)."""
    if value is None:
        return None
    start, sep, stop = value.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start), int(stop)
    except ValueError:
        raise ValueError(f"--chip-range {value!r} is not START:STOP; allowed: two integers such as 0:2, with "
                         "0 <= START < STOP <= --chips") from None


def chip_range_option(command):
    """``--chip-range START:STOP`` (``memsim simulate``): the subset of the chips this run simulates."""
    return click.option("--chip-range", "chip_range", callback=parse_chip_range, metavar="START:STOP",
                        help="Simulate only chips START..STOP-1 of the --chips instances (default: all); runs of "
                             "disjoint ranges merge exactly with `memsim trace merge`.")(command)


def workload_options(command):
    """Decorate a click command with the shared options (in the order listed above)."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def config_from_options(config_file, sigma, adc_bits, wires=None, **fields) -> SimConfig:
    """Defaults < config file < command-line options (each option is one config field).

    Conflicting options are refused here, before any work: ``--no-trace`` with ``-o`` (of the command being
    run), and a trace path that is the ``--config`` file."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.params.get("no_trace") and ctx.params.get("trace") is not None:
        raise click.UsageError(f"--no-trace and -o/--trace {ctx.params['trace']!r} conflict; allowed: one of them")
    cfg = SimConfig.from_toml(config_file) if config_file else SimConfig()
    cfg = cfg.with_overrides(**fields)
    if sigma is not None:
        cfg = cfg.with_sigma_rel(sigma)
    if adc_bits is not None:
        cfg = cfg.with_card_override("adc", {"bits": adc_bits})
    if wires is not None:
        overrides = cfg.card_overrides.get("crossbar", {})
        cfg = cfg.with_card_override("crossbar", {"wires": {**overrides.get("wires", {}), "model": wires}})
    if config_file and cfg.trace:
        check_not_input("trace", cfg.trace, "--config", config_file)
    return cfg
