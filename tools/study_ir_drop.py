"""IR-drop study: accuracy of the built-in network versus crossbar size and wire resistance (README §IR drop).

For each square crossbar size (``crossbar.rows = crossbar.cols``) and each wire resistance (a multiple of the
card's ``crossbar.wires.r_wire_ohm_per_m``, NeuroSim's 32 nm copper on isaac-2016; multiple 0 is the ideal read),
it runs ``memsim.simulate.simulate`` on the built-in digits network twice: without programming variation (one
chip: the IR-drop error alone, deterministic) and with the card's own variation (``--chips`` chips). It prints a
table (hardware accuracy and bit-exact outputs) and, with ``--json``, every figure; ``--png`` draws accuracy
versus wire resistance, one line per size (needs matplotlib).

    python tools/study_ir_drop.py                          # sizes 32 64 128 256, factors 0 0.25 1 4 16
    python tools/study_ir_drop.py --sizes 64 128 --factors 0 1 --chips 3 --png ir.png
    python tools/study_ir_drop.py --agreement              # the two solvers on random arrays (README §IR drop)

``--agreement`` compares the iterative solver with the exact nodal solve on random square arrays (cells uniform
over the card's g_min..g_max, 64 random bit-serial patterns at the read voltage, seed = the size) at 1× and 4×
the card's wire resistance: the IR error of the exact solve against ``V·G`` and the solvers' difference, both
over the full-scale column current, and their times.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from memsim.config import SimConfig
from memsim.devices.ir_drop import solve_iterative, solve_nodal
from memsim.simulate import simulate


def point(base: SimConfig, size: int, factor: float, r_per_m: float, sigma_scale: float, chips: int) -> dict:
    wires = {"model": "resistive" if factor > 0 else "ideal", "r_wire_ohm_per_m": factor * r_per_m}
    cfg = base.with_overrides(chips=chips, sigma_scale=sigma_scale).with_card_override(
        "crossbar", {"rows": size, "cols": size, "wires": wires})
    s = simulate(cfg).summary()
    return {"accuracy_hw": s["accuracy_hw"], "accuracy_hw_std": s["accuracy_hw_std"],
            "bit_exact_rate": s["bit_exact_rate"], "accuracy_quantized": s["accuracy_quantized"],
            "energy_j": s["energy_j"]}


def agreement(card, sizes=(64, 128), factors=(1.0, 4.0), patterns: int = 64) -> list[dict]:
    """The iterative solver against the nodal one on random arrays (module docstring)."""
    cell, wires = card.cell, card.crossbar.wires
    rows = []
    for n in sizes:
        for factor in factors:
            rng = np.random.default_rng(n)
            g = rng.uniform(cell.g_min_s, cell.g_max_s, (n, n))
            v = (rng.random((patterns, n)) < 0.5) * cell.v_read_v
            scaled = type(wires)(**{**wires.__dict__, "model": "resistive",
                                    "r_wire_ohm_per_m": factor * wires.r_wire_ohm_per_m})
            net = scaled.network(n, n - 1)
            t0 = time.perf_counter()
            exact = solve_nodal(g, net, v)
            t1 = time.perf_counter()
            fast = solve_iterative(g, net, v, wires.tolerance)
            t2 = time.perf_counter()
            i_fs = cell.v_read_v * g.sum(axis=0).max()
            rows.append({"size": n, "r_segment_ohm": scaled.r_row_segment_ohm,
                         "ir_error": float(np.abs(exact - v @ g).max() / i_fs),
                         "solver_difference": float(np.abs(fast - exact).max() / i_fs), "tolerance": wires.tolerance,
                         "nodal_s": t1 - t0, "iterative_s": t2 - t1})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="study_ir_drop", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128, 256])
    parser.add_argument("--factors", type=float, nargs="+", default=[0.0, 0.25, 1.0, 4.0, 16.0],
                        help="wire resistance as multiples of the card's r_wire_ohm_per_m (0: ideal wires)")
    parser.add_argument("--chips", type=int, default=3, help="chips of the runs with the card's variation")
    parser.add_argument("--card", default="isaac-2016")
    parser.add_argument("--network", default="digits-mlp")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--png", help="draw accuracy versus wire resistance to this file")
    parser.add_argument("--replot", metavar="JSON", help="print and draw the rows of an earlier --json output")
    parser.add_argument("--agreement", action="store_true", help="compare the two solvers on random arrays")
    args = parser.parse_args(argv)
    base = SimConfig(trace="", card=args.card, network=args.network, seed=args.seed)
    card = base.device_card()
    if args.agreement:
        rows = agreement(card)
        if args.json:
            print(json.dumps(rows, indent=2))
            return
        for r in rows:
            print(f"{r['size']}x{r['size']}, {r['r_segment_ohm']:.3f} Ω per segment: IR error "
                  f"{100 * r['ir_error']:.1f} % of full scale; iterative - nodal {r['solver_difference']:.1e} of "
                  f"full scale (tolerance {r['tolerance']:g}); nodal {r['nodal_s']:.2f} s, "
                  f"iterative {r['iterative_s']:.3f} s")
        return
    r_per_m = card.crossbar.wires.r_wire_ohm_per_m
    pitch = card.crossbar.wires.row_pitch_m
    rows = []
    if args.replot:
        with open(args.replot, encoding="utf-8") as f:
            earlier = json.load(f)
        rows, args.sizes = earlier["rows"], sorted({r["size"] for r in earlier["rows"]})
        args.card, args.network, args.chips = earlier["card"], earlier["network"], earlier["chips"]
    for size in args.sizes if not args.replot else ():
        for factor in args.factors:
            row = {"size": size, "factor": factor, "r_wire_ohm_per_m": factor * r_per_m,
                   "r_segment_ohm": factor * r_per_m * pitch}
            row["no_variation"] = point(base, size, factor, r_per_m, 0.0, 1)
            row["variation"] = point(base, size, factor, r_per_m, 1.0, args.chips)
            rows.append(row)
    if args.json:
        print(json.dumps({"card": args.card, "network": args.network, "chips": args.chips, "rows": rows}, indent=2))
    else:
        print(f"card {args.card}, network {args.network}; wire segment = factor × {r_per_m * pitch:.3f} Ω "
              f"({r_per_m / 1e6:.2f} Ω/µm × {pitch * 1e9:.0f} nm)")
        print(f"{'size':>5} {'factor':>6} {'Ω/seg':>6} {'acc σ=0':>8} {'bit-exact σ=0':>13} "
              f"{'acc card σ (' + str(args.chips) + ' chips)':>24}")
        for r in rows:
            nv, v = r["no_variation"], r["variation"]
            print(f"{r['size']:>5} {r['factor']:>6g} {r['r_segment_ohm']:>6.3f} {100 * nv['accuracy_hw']:>7.2f}% "
                  f"{100 * nv['bit_exact_rate']:>12.2f}% {100 * v['accuracy_hw']:>14.2f}% "
                  f"± {100 * v['accuracy_hw_std']:.2f}%")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for size in args.sizes:
            pts = [r for r in rows if r["size"] == size]
            x = [max(r["r_segment_ohm"], 1e-3) for r in pts]
            ax.plot(x, [100 * r["variation"]["accuracy_hw"] for r in pts], "o-", label=f"{size}×{size}")
        ax.set_xscale("log")
        ax.set_xlabel("wire resistance per segment (Ω; leftmost point: ideal wires)")
        ax.set_ylabel(f"accuracy (%), card σ, mean of {args.chips} chips")
        ax.set_title(f"{args.network} on {args.card}: IR drop")
        ax.grid(True, alpha=0.3)
        ax.legend(title="crossbar")
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)


if __name__ == "__main__":
    main()
