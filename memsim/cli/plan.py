"""``memsim plan``: search for a quantization plan, compare it with the conventional one, sweep σ."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from memsim.cli.options import config_from_options, workload_options
from memsim.config import check_not_input
from memsim.files import atomic_write, check_writable
from memsim.planning.plan import check_plan_output
from memsim.trace.report import si


def _pct(v: float) -> str:
    return f"{100 * v:6.2f} %"


def _row_text(name: str, fig: dict) -> str:
    return (f"  {name:<13} {_pct(fig['accuracy_hw'])} ± {_pct(fig['accuracy_hw_std']).strip():<9} "
            f"{si(fig['energy_j'], 'J'):>10}  {fig['cope_gop_per_j']:10.4g}")


def _comparison_text(row: dict, chips: int) -> str:
    lines = [
        f"ideal quantized accuracy {_pct(row['ideal_accuracy_calibration']).strip()} on calibration, "
        f"{_pct(row['ideal_accuracy_test']).strip()} on test; budget {100 * row['budget']:g} points",
        f"evaluated on the test data over {chips} chips the planner never saw:",
        f"  {'':<13} {'accuracy (mean ± std)':<22} {'energy/run':>10}  {'COPE GOP/J':>10}",
        _row_text("conventional", row["conventional"]),
        _row_text("planned", row["planned"]),
        f"  COPE ratio {row['cope_ratio']:.3g}×; planned accuracy drop {100 * row['accuracy_drop']:.2f} points "
        f"(95 % upper bound {100 * row['accuracy_drop_upper_95']:.2f}): "
        f"{'within' if row['within_budget_on_test'] else 'OUTSIDE'} the budget on test at 95 % confidence"
        + ("" if row["feasible_on_calibration"] else " (no plan met the budget on calibration: most accurate shown)"),
    ]
    return "\n".join(lines)


def _plan_text(plan: dict) -> str:
    lines = []
    for layer in plan["layers"]:
        dropped = ", ".join(layer["discard"]) or "none"
        adc = f", {layer['adc_bits']}-bit ADC" if "adc_bits" in layer else ""
        lines.append(f"  layer {layer['layer']}: {layer['weight_bits']}-bit weights, shift "
                     f"{layer['weight_shift']}{adc}, {layer['compensation']} compensation, discarded: {dropped}")
    return "\n".join(lines)


def _sigmas(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--sweep-sigma {text!r} is not a comma-separated list of numbers") from None
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"--sweep-sigma {text!r}: allowed one or more finite numbers >= 0, separated by commas")
    return values


def _check_outputs(cfg, config_file: str | None, outputs: dict[str, str | None]) -> None:
    """No output file may be an input (config, card, network, data, plan) or another output."""
    inputs = {**({"--config": config_file} if config_file else {}), **cfg.input_paths()}
    given = {label: path for label, path in outputs.items() if path}
    for label, path in given.items():
        for input_label, input_path in inputs.items():
            check_not_input(label, path, input_label, input_path)
    seen: dict = {}
    for label, path in given.items():
        key = Path(path).resolve()
        if key in seen:
            raise ValueError(f"{label} {path!r} is also {seen[key]}; allowed: a different file for each output")
        seen[key] = label


@click.command()
@workload_options
@click.option("--budget", type=float, default=0.01, show_default=True,
              help="Allowed accuracy loss below the ideal quantized accuracy, as a fraction (0.01 = 1 point).")
@click.option("--margin", type=float, default=0.0, show_default=True,
              help="Extra accuracy margin kept on calibration beyond each candidate's 95 % drop bound (a fraction).")
@click.option("--plan-chips", type=int, default=10, show_default=True,
              help="Chip instances per candidate plan during the search (calibration data).")
@click.option("-o", "--output", default="plan.toml", show_default=True, help="Where to write the plan.")
@click.option("--error-map", help="Also draw the error model of the plan over (s, t) to this PNG.")
@click.option("--error-model", "error_model_json",
              help="Also write the error model of the plan (per layer and (s, t)) as JSON to this file.")
@click.option("--sweep-sigma", help="Plan and compare at each σ of this comma-separated list instead.")
@click.option("--png", help="With --sweep-sigma: draw accuracy and COPE versus σ to this PNG.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def plan(config_file, sigma, adc_bits, budget, margin, plan_chips, output, error_map, error_model_json,
         sweep_sigma, png, as_json,
         **fields) -> None:
    """Find the quantization plan with the most correct operations per joule within an accuracy budget."""
    from memsim.planning import planner

    cfg = config_from_options(config_file, sigma, adc_bits, **fields)
    chips = fields.get("chips") or 5
    if chips < 1:
        raise ValueError(f"--chips {chips} is out of range; allowed >= 1")
    if sweep_sigma is not None:
        sigmas = _sigmas(sweep_sigma)
    _check_outputs(cfg, config_file, {"--png": png, "--error-map": error_map, "--error-model": error_model_json,
                                      **({} if sweep_sigma is not None else {"plan output": output})})
    if sweep_sigma is None:
        check_plan_output(output)
        if error_model_json:
            check_writable(error_model_json, "--error-model", "errors.json")
    log = None if as_json else (lambda msg: click.echo(msg, err=True))
    for path, name in ((png, "--png"), (error_map, "--error-map")):
        if path:
            from memsim.trace.plots import check_output

            check_output(path, name)
            if name == "--png" and sweep_sigma is None:
                raise ValueError("--png goes with --sweep-sigma")
    if sweep_sigma is not None:
        rows = planner.sweep_sigma(cfg, sigmas, budget, plan_chips, chips, margin, log)
        if png:
            from memsim.planning.plots import save_sweep

            _draw(lambda: save_sweep(rows, png))
        if as_json:
            click.echo(json.dumps({"sweep": rows, "budget": budget, "chips": chips}, indent=2))
            return
        click.echo(f"{'σ':>6}  {'conventional':>22}  {'planned':>22}  {'COPE conv':>10}  {'COPE plan':>10}  "
                   f"{'ratio':>6}  budget")
        for r in rows:
            c, p = r["conventional"], r["planned"]
            click.echo(f"{r['sigma']:6.3g}  {_pct(c['accuracy_hw'])} ± {_pct(c['accuracy_hw_std'])}  "
                       f"{_pct(p['accuracy_hw'])} ± {_pct(p['accuracy_hw_std'])}  {c['cope_gop_per_j']:10.4g}  "
                       f"{p['cope_gop_per_j']:10.4g}  {r['cope_ratio']:5.3g}×  "
                       f"{'met' if r['within_budget_on_test'] else 'missed'} "
                       f"(drop bound {100 * r['accuracy_drop_upper_95']:.2f})")
        if png:
            click.echo(f"wrote {png}")
        return
    result = planner.plan_network(cfg, budget=budget, plan_chips=plan_chips, margin=margin, log=log)
    result.plan.save(output)
    row = {**planner.compare_row(cfg, result, chips, budget), "plan_file": output, "plan": result.plan.to_dict()}
    if error_map or error_model_json:
        models, positions = planner.error_report(cfg, result.plan, chips=plan_chips)
        if error_model_json:
            report = [{**m.to_dict(), "error_positions_measured": {str(k): v for k, v in pos.items()}}
                      for m, pos in zip(models, positions, strict=True)]
            with atomic_write(error_model_json) as tmp:
                tmp.write_text(json.dumps({"layers": report}, indent=1), encoding="utf-8")
        if error_map:
            from memsim.planning.plots import save_error_model

            _draw(lambda: save_error_model(models, positions, error_map))
    if as_json:
        click.echo(json.dumps(row, indent=2))
        return
    click.echo(_comparison_text(row, chips))
    click.echo(f"plan written to {output}:")
    click.echo(_plan_text(row["plan"]))
    if error_map:
        click.echo(f"error model drawn to {error_map}")
    if error_model_json:
        click.echo(f"error model written to {error_model_json}")


def _draw(make) -> None:
    from memsim.trace.plots import MissingMatplotlib

    try:
        make()
    except MissingMatplotlib as exc:
        raise click.ClickException(str(exc)) from None

