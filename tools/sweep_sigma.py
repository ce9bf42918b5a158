"""Accuracy, energy and COPE versus programming variation σ/G, over several chip instances.

A thin script over the library API (README "Scripting"): for each σ it runs ``memsim.simulate.simulate`` on
``SimConfig(...).with_card_override("cell", {"variation": {"model": "proportional", "sigma_rel": σ}})``
with no trace, and prints one row per σ (or ``--json``); ``-o`` draws the three curves into an image.

    python tools/sweep_sigma.py                                     # isaac-2016, digits-mlp, σ = 0 … 0.2
    python tools/sweep_sigma.py --card neurosim-rram --sigmas 0 0.05 0.1 --chips 10 -o sweep.png
    python tools/sweep_sigma.py --network net.npz --data data.npz --json

Bad input prints one line, ``sweep_sigma: error: ...``, and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from memsim.config import SimConfig
from memsim.plotstyle import PAGE_IN, styled
from memsim.trace.plots import MissingMatplotlib, check_output, new_figure, require_matplotlib, save
from memsim.simulate import simulate
from memsim.trace.report import si
from memsim.files import interruptible

FIGURES = ("accuracy_hw", "accuracy_hw_std", "accuracy_quantized", "bit_exact_rate", "energy_j",
           "energy_per_inference_j", "cope_gop_per_j")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sweep_sigma", description=__doc__.splitlines()[0])
    parser.add_argument("--card", default="isaac-2016", help="device card name or .toml path (default isaac-2016)")
    parser.add_argument("--network", default="digits-mlp", help="built-in network or .npz (default digits-mlp)")
    parser.add_argument("--data", default="digits", help="built-in dataset or .npz with x, y (default digits)")
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.0, 0.025, 0.05, 0.1, 0.15, 0.2],
                        help="σ/G values (default 0 0.025 0.05 0.1 0.15 0.2)")
    parser.add_argument("--chips", type=int, default=5, help="chip instances per σ (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run (default 0)")
    parser.add_argument("-o", "--output", help="image of the curves (.png, .svg or .pdf)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of the table")
    return parser.parse_args(argv)


def sweep(card: str, network: str, data: str, sigmas: list[float], chips: int, seed: int) -> list[dict]:
    """One dict per σ with the headline figures of ``SimResult.summary`` (means over ``chips`` instances)."""
    base = SimConfig(card=card, network=network, data=data, chips=chips, seed=seed, trace="")
    rows = []
    for sigma in sigmas:
        cfg = base.with_card_override("cell", {"variation": {"model": "proportional", "sigma_rel": sigma}})
        summary = simulate(cfg).summary()
        rows.append({"sigma_rel": sigma, **{k: summary[k] for k in FIGURES}})
    return rows


def table(rows: list[dict]) -> str:
    lines = [f"{'σ/G':>7}  {'accuracy (mean ± std)':>22}  {'bit-exact':>9}  {'energy/inference':>16}  {'COPE':>12}"]
    for r in rows:
        acc = f"{100 * r['accuracy_hw']:.2f} ± {100 * r['accuracy_hw_std']:.2f} %"
        lines.append(f"{r['sigma_rel']:>7.4g}  {acc:>22}  {100 * r['bit_exact_rate']:>7.2f} %  "
                     f"{si(r['energy_per_inference_j'], 'J'):>16}  {r['cope_gop_per_j']:>6.4g} GOP/J")
    return "\n".join(lines)


@styled()
def figure(rows: list[dict], title: str):
    """Three panels over σ: accuracy (mean ± std, ideal), energy per inference, COPE (memsim's figure style)."""
    sigma = [r["sigma_rel"] for r in rows]
    fig, (acc_ax, energy_ax, cope_ax) = new_figure(PAGE_IN, 2.6, ncols=3)
    acc_ax.errorbar(sigma, [100 * r["accuracy_hw"] for r in rows], yerr=[100 * r["accuracy_hw_std"] for r in rows],
                    marker="o", label="hardware (mean ± std)")
    acc_ax.plot(sigma, [100 * r["accuracy_quantized"] for r in rows], "--", color="C2", label="quantized (ideal)")
    acc_ax.set_ylabel("accuracy (%)")
    acc_ax.legend()
    for ax, values, label, color in (
        (energy_ax, [1e9 * r["energy_per_inference_j"] for r in rows], "energy per inference (nJ)", "C1"),
        (cope_ax, [r["cope_gop_per_j"] for r in rows], "COPE (GOP/J)", "C3"),
    ):
        ax.plot(sigma, values, marker="o", color=color)
        ax.set_ylabel(label)
        ax.set_ylim(0, 1.15 * max(values) if max(values) > 0 else 1)  # from zero, so changes read as ratios
    for ax in (acc_ax, energy_ax, cope_ax):
        ax.set_xlabel("programming variation σ/G (1)")
        ax.grid(True)
    fig.suptitle(title)
    return fig


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if any(s < 0 for s in args.sigmas):
            raise ValueError(f"--sigmas {' '.join(map(str, args.sigmas))}: σ/G must be >= 0")
        if args.output:
            check_output(args.output)
            require_matplotlib()  # before the sweep, not after minutes of simulation
        rows = sweep(args.card, args.network, args.data, args.sigmas, args.chips, args.seed)
        if args.output:
            title = f"{args.network} on {args.data}, card {args.card}, {args.chips} chips per σ, seed {args.seed}"
            save(figure(rows, title), args.output)
    except (ValueError, MissingMatplotlib) as exc:
        print(f"sweep_sigma: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    with interruptible("sweep_sigma"):  # SIGTERM/SIGINT remove the temporaries and end with one line
        sys.exit(main())
