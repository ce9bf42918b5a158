"""The planner study: conventional against planned quantization over a sweep of the variation scale, with the
COPE ratio split into an accuracy gain and an energy gain, and a measured decomposition by knob.

A thin script over the library API (README "Scripting"). For every network, card, encoding and σ scale
(``SimConfig.sigma_scale`` multiplies the card's own programming variation: the ISAAC card's 5 % proportional
σ, or the per-level σ of isaac-milo2021) it runs ``memsim.planning.planner.plan_network`` on the calibration
split and ``compare_row`` on the test split over ``--chips`` evaluation chips the planner never saw, and adds:

- ``accuracy_ci_95``: a two-sided 95 % bootstrap interval of each accuracy over test images and chips;
- ``accuracy_gain`` and ``energy_gain``: ``COPE ratio = (planned / conventional accuracy) × (conventional /
  planned energy)``, both measured;
- ``knobs``: the chosen plan rebuilt knob by knob — weight precision and placement alone, + per-layer ADC
  resolution, + discarded partial sums, + per-sum ADC resolution (the whole plan) — each evaluated on the
  same test images and chips; each step's COPE factor, accuracy factor and energy factor. The factors of the
  steps multiply to the whole ratio.

    python tools/study_planner.py -o docs/study.json --png docs/study.png       # the README's study
    python tools/study_planner.py --networks digits-mlp --cards isaac-2016 --scales 1 --encodings offset

It prints a Markdown table (the README's) and writes the rows as JSON. Bad input prints one line,
``study_planner: error: ...``, and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import numpy as np

from memsim.config import SimConfig
from memsim.planning.plan import Plan
from memsim.planning.planner import compare_row, evaluate, load_workload, plan_network, score, split_for_planning
from memsim.plotstyle import COLUMN_IN, PAGE_IN, styled
from memsim.trace.plots import MissingMatplotlib, check_output, new_figure, save
from memsim.files import interruptible

KNOBS = ("weight precision", "+ layer ADC bits", "+ discards", "+ per-sum ADC bits")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="study_planner", description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["digits-mlp", "digits-cnn"])
    parser.add_argument("--cards", nargs="+", default=["isaac-2016", "isaac-milo2021"])
    parser.add_argument("--encodings", nargs="+", default=["offset", "differential"])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.5, 1.0, 2.0],
                        help="σ scale factors on each card's own variation (default 0.5 1 2)")
    parser.add_argument("--chips", type=int, default=5, help="evaluation chips (default 5)")
    parser.add_argument("--plan-chips", type=int, default=10, help="planning chips per candidate (default 10)")
    parser.add_argument("--budget", type=float, default=0.01, help="accuracy budget, a fraction (default 0.01)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", help="JSON file of the rows")
    parser.add_argument("--png", help="figure: COPE ratio and accuracies versus the σ scale")
    args = parser.parse_args(argv)
    if args.chips < 1 or args.plan_chips < 1:
        parser.error(f"--chips {args.chips} and --plan-chips {args.plan_chips}: allowed >= 1")
    if any(s < 0 for s in args.scales):
        parser.error(f"--scales {args.scales}: allowed numbers >= 0")
    return args


def accuracy_interval(correct: np.ndarray, rng: np.random.Generator, resamples: int = 2000) -> list[float]:
    """Two-sided 95 % bootstrap interval of the accuracy of ``correct`` (chips, inputs), resampling inputs and
    chips together (the crossed design of ``memsim.metrics.paired_drop_bootstrap``)."""
    chips, n = correct.shape
    values = np.empty(resamples)
    for b in range(resamples):
        values[b] = correct[np.ix_(rng.integers(0, chips, chips), rng.integers(0, n, n))].mean()
    return [float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))]


def knob_steps(plan: Plan) -> list[Plan]:
    """The plan rebuilt knob by knob (``KNOBS``): precision only, + layer ADC bits, + discards, + per-sum bits."""
    bare = Plan(tuple(replace(lp, adc_bits=None, discard=(), adc_bits_by_sum=()) for lp in plan.layers))
    adc = Plan(tuple(replace(b, adc_bits=lp.adc_bits) for b, lp in zip(bare.layers, plan.layers, strict=True)))
    dropped = Plan(tuple(replace(a, discard=lp.discard, compensation=lp.compensation)
                         for a, lp in zip(adc.layers, plan.layers, strict=True)))
    return [bare, adc, dropped, Plan(plan.layers)]


def study_row(cfg: SimConfig, chips: int, plan_chips: int, budget: float) -> dict:
    """Plan on calibration, compare on test, and decompose (module docstring)."""
    started = time.perf_counter()
    result = plan_network(cfg, budget=budget, plan_chips=plan_chips)
    row = compare_row(cfg, result, chips, budget)
    rng = np.random.default_rng(cfg.seed + 5_000_011)
    conventional, planned = evaluate(cfg, result.plan, chips)
    row["conventional"]["accuracy_ci_95"] = accuracy_interval(conventional.correct, rng)
    row["planned"]["accuracy_ci_95"] = accuracy_interval(planned.correct, rng)
    row["accuracy_gain"] = planned.accuracy / conventional.accuracy
    row["energy_gain"] = conventional.energy_j / planned.energy_j
    _, test = split_for_planning(load_workload(cfg))
    steps, previous = [], conventional
    for name, plan in zip(KNOBS, knob_steps(result.plan), strict=True):
        step = score(cfg, plan, test, chips, cfg.seed) if plan != Plan(result.plan.layers) else planned
        steps.append({"knob": name, "accuracy_hw": step.accuracy, "energy_j": step.energy_j,
                      "cope_gop_per_j": step.cope_gop_per_j,
                      "cope_factor": step.cope_gop_per_j / previous.cope_gop_per_j,
                      "accuracy_factor": step.accuracy / previous.accuracy,
                      "energy_factor": previous.energy_j / step.energy_j})
        previous = step
    row["knobs"] = steps
    row["plan"] = result.plan.to_dict()
    row["seconds"] = time.perf_counter() - started
    return row


def markdown(rows: list[dict]) -> str:
    """The README table: one line per configuration."""
    head = ("| network | card | encoding | σ scale | conventional accuracy (95 % CI) | planned accuracy (95 % CI) "
            "| drop bound | COPE ratio | = accuracy × energy gain | budget |\n" + "|---" * 10 + "|")
    lines = [head]
    for r in rows:
        c, p = r["conventional"], r["planned"]
        ci = lambda f: f"{100 * f['accuracy_hw']:.2f} ({100 * f['accuracy_ci_95'][0]:.1f}–{100 * f['accuracy_ci_95'][1]:.1f})"  # noqa: E731,E501
        lines.append(f"| {r['network']} | {r['card']} | {r['encoding']} | {r['sigma_scale']:g} | {ci(c)} | {ci(p)} "
                     f"| {100 * r['accuracy_drop_upper_95']:.2f} | {r['cope_ratio']:.2f}× "
                     f"| {r['accuracy_gain']:.3f} × {r['energy_gain']:.2f} "
                     f"| {'met' if r['within_budget_on_test'] else 'missed'} |")
    return "\n".join(lines)


def knob_table(rows: list[dict]) -> str:
    """Per configuration, the COPE factor of each knob (accuracy factor × energy factor)."""
    lines = ["| network | card | encoding | σ scale | " + " | ".join(KNOBS) + " |",
             "|---|---|---|---|" + "---|" * len(KNOBS)]
    for r in rows:
        cells = [f"{k['cope_factor']:.2f}× ({k['accuracy_factor']:.3f} × {k['energy_factor']:.2f})" for k in r["knobs"]]
        lines.append(f"| {r['network']} | {r['card']} | {r['encoding']} | {r['sigma_scale']:g} | " + " | ".join(cells)
                     + " |")
    return "\n".join(lines)


@styled()
def figure(rows: list[dict]):
    """Per network: COPE ratio versus σ scale (filled marker: budget met at 95 % confidence on test)."""
    networks = sorted({r["network"] for r in rows})
    fig, axes = new_figure(max(COLUMN_IN, min(PAGE_IN, COLUMN_IN * len(networks))), 3.4, ncols=len(networks))
    axes = np.atleast_1d(axes)
    for ax, network in zip(axes, networks, strict=True):
        for i, key in enumerate(sorted({(r["card"], r["encoding"]) for r in rows if r["network"] == network})):
            sel = sorted((r for r in rows if r["network"] == network and (r["card"], r["encoding"]) == key),
                         key=lambda r: r["sigma_scale"])
            x = [r["sigma_scale"] for r in sel]
            ax.plot(x, [r["cope_ratio"] for r in sel], color=f"C{i}", label=f"{key[0]}, {key[1]}")
            for r in sel:
                ax.plot(r["sigma_scale"], r["cope_ratio"], "o", color=f"C{i}",
                        fillstyle="full" if r["within_budget_on_test"] else "none")
        ax.axhline(5.6, color="black", lw=0.8, ls="--", label="5.6× (Diware et al., ICCAD 2024)")
        ax.set_xlabel("σ scale (× the card's own variation)")
        ax.set_ylabel("planned / conventional COPE")
        ax.set_ylim(0, max(6.0, 1.1 * max(r["cope_ratio"] for r in rows)))
        ax.set_title(f"{network}\n(filled: 1-point budget met at 95 % on test)")
    # one legend for both panels, below them, where it hides no line
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3)
    return fig


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.png:
            check_output(args.png)
        rows = []
        for network in args.networks:
            for card in args.cards:
                for encoding in args.encodings:
                    for scale in args.scales:
                        cfg = SimConfig(card=card, network=network, encoding=encoding, sigma_scale=scale,
                                        seed=args.seed, trace="")
                        row = {"network": network, "card": card, "encoding": encoding, "sigma_scale": scale,
                               **study_row(cfg, args.chips, args.plan_chips, args.budget)}
                        rows.append(row)
                        print(f"{network} {card} {encoding} ×{scale:g}: ratio {row['cope_ratio']:.2f} "
                              f"({row['accuracy_gain']:.3f} × {row['energy_gain']:.2f}), drop bound "
                              f"{100 * row['accuracy_drop_upper_95']:.2f} points, {row['seconds']:.0f} s",
                              file=sys.stderr)
    except (ValueError, MissingMatplotlib) as exc:
        print(f"study_planner: error: {exc}", file=sys.stderr)
        return 2
    print(markdown(rows))
    print()
    print(knob_table(rows))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump({"budget": args.budget, "chips": args.chips, "plan_chips": args.plan_chips, "rows": rows}, f,
                      indent=1)
    if args.png:
        save(figure(rows), args.png)
    return 0


if __name__ == "__main__":
    with interruptible("study_planner"):  # SIGTERM/SIGINT remove the temporaries and end with one line
        sys.exit(main())
