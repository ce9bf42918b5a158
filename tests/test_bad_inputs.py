"""The adversarial corpus (issue 13): every kind of bad input ends the same way.

memsim's promise for bad input of any kind — a CLI option, a config file, a device card, a plan, a network
(.npz or .onnx), a data set, an output path, a trace: exactly one non-empty line on stderr naming the field,
the value and what is allowed; exit code 2; no traceback; nothing written or changed (no trace, no plan, no
partial or temporary file; a good trace already at the ``-o`` target stays byte-identical).

Each case runs ``memsim`` in-process (the ``run_cli`` fixture) in a fresh directory holding only the case's own
input files, snapshots every file name and its bytes before and after, and checks the promise. The cases are
grouped by input kind (the ids start with it) and nearly all fail at validation, before any simulation: the
few that need a network or data use a 4-input network and 6 inputs.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from memsim.devices.card import _cards_dir

# --------------------------------------------------------------------------------------------------- inputs

CARD_TEXT = _cards_dir().joinpath("isaac-2016.toml").read_text(encoding="utf-8")
RNG = np.random.default_rng(0)
# A tiny network (4 inputs, 3 outputs) and data that fit it: the runs that must load a workload stay fast.
TINY_NET = {"W0": RNG.normal(size=(4, 5)), "b0": np.zeros(5), "W1": RNG.normal(size=(5, 3)), "b1": np.zeros(3)}
TINY_X = RNG.random((6, 4))
TINY_Y = np.array([0, 1, 2, 0, 1, 2])
TINY_DATA = {"x": TINY_X, "y": TINY_Y}
TINY = ["--network", "net.npz", "--data", "data.npz"]
TINY_FILES = {"net.npz": TINY_NET, "data.npz": TINY_DATA}
PLAN_OK = 'schema_version = 2\n[[layers]]\nweight_bits = 8\n[[layers]]\nweight_bits = 8\n'


def card_with(old: str, new: str) -> str:
    """The isaac-2016 card text with one line (or fragment) replaced."""
    assert old in CARD_TEXT, old
    return CARD_TEXT.replace(old, new, 1)


def plan_layer(body: str, version: int = 2) -> str:
    """A two-layer plan for the tiny network whose first layer has ``body``."""
    return f"schema_version = {version}\n[[layers]]\n{body}\n[[layers]]\nweight_bits = 8\n"


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _onnx_bytes(kind: str) -> bytes:
    """Small ONNX models memsim must refuse."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(RNG.normal(size=(4, 3)).astype(np.float32), "W")
    b = numpy_helper.from_array(np.zeros(3, np.float32), "B")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    if kind == "unsupported op":
        nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["h"]), helper.make_node("Sigmoid", ["h"], ["y"])]
    elif kind == "gemm transA":
        nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["y"], transA=1)]
    elif kind == "two inputs":
        nodes = [helper.make_node("MatMul", ["x", "x2"], ["y"])]
    elif kind == "no nodes":
        nodes = []
    else:
        raise AssertionError(kind)
    inputs = [x] + ([helper.make_tensor_value_info("x2", TensorProto.FLOAT, [4, 3])] if kind == "two inputs" else [])
    graph = helper.make_graph(nodes, "g", inputs, [y], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


def _write(root: Path, name: str, content) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict):
        content = _npz_bytes(content)
    elif isinstance(content, tuple) and content[0] == "onnx":
        content = _onnx_bytes(content[1])
    elif content == "DIR":
        path.mkdir()
        return
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and directory (None) under ``root``, by relative path."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = Path(p).read_bytes()
    return out


# ---------------------------------------------------------------------------------------------------- cases
# (id, argv, files). "GOOD" in files puts a good trace (from a tiny run) at that name before the case runs.

CASES: list[tuple[str, list[str], dict, str]] = []
# Cases whose message must say something in particular (by id): the field(s) and the value.
EXPECT = {
    "cli: --seed 18446744073709551616": "seed = 18446744073709551616 is out of range; allowed 0..9223372036854775807",
    "cli: --buffer 1048577": "timing.buffer_vectors = 1048577 is out of range; allowed 1..1048576",
    "cli: --weight-bits 1": "quantization.weight_bits = 1 is out of range; allowed 2..16",
    "cli: --sigma-scale 1e308": "with sigma_scale = 1e+308: cell.variation gives sigma = 5e+301 S at level 3; "
                                "allowed at most 10 × cell.g_max_s",
    "cli: --sigma 1e308": "cell.variation gives sigma = 1e+303 S at level 3; allowed at most 10 × cell.g_max_s",
    "config: override read_noise_rel huge": "cell.read_noise_rel = 1e+300 is out of range; allowed [0, 1]",
    "config: split unknown": "workload.split = 'validation' is not a split of dataset 'digits'; allowed: train, "
                             "calibration, test",
    "card: array read energy 1e300": "crossbar.read: one action's energy_j = 1e+288 (from the card's [crossbar] "
                                     "numbers) is out of range; allowed at most 1 J per action",
    "card: v_read 1e300": "cell.v_read_v = 1e+300 is out of range; allowed (0, 100]",
    "network: bias 1e300": "layer 0 (dense, node 0): a bias of magnitude 1e+300 does not fit the accumulator",
    "cli: --no-trace with -o": "--no-trace and -o/--trace 'x.h5' conflict",
    "plan-cli: --sweep-sigma ''": "--sweep-sigma '': allowed one or more finite numbers >= 0",
    "card: g_min above g_max": "cell.g_min_s = 2e-05 and cell.g_max_s = 1e-05 are out of order",
    "config: override g_min above g_max": "cell.g_min_s = 2e-05 and cell.g_max_s = 1e-05 are out of order",
    "plan: discard a number": "layers[0].discard = 3 is not a list of 's<slice>t<cycle>' strings",
    "plan: discard a string": "layers[0].discard = 's0t0' is not a list of 's<slice>t<cycle>' strings",
    "plan: adc_bits_by_sum a number": "layers[0].adc_bits_by_sum = 3 is not a table",
    "plan: adc_bits_by_sum value a string": "layers[0].adc_bits_by_sum.s0t0 = '4' is not an integer; allowed 1..16",
    "plan: adc_bits a string": "layers[0].adc_bits = '4' is not an integer; allowed 1..16",
    "plan: weight_bits 1": "layers[0].weight_bits = 1 is out of range; allowed 2..16",
    "data: labels beyond the outputs": "has label 11; network 'net' has 3 outputs, so labels must be 0..2",
    "plan-cli: --error-map 'x.bmp'": "--error-map 'x.bmp': unknown image format '.bmp'",
    "card: a directory named .toml": "card file 'kdir.toml' is a directory",
    "plan: compensation unknown": "layers[0].compensation = 'mean' is not valid; allowed: calibrated, zero",
    "output: -o in /proc": "trace = '/proc/memsim-run.h5' cannot be written",
    "config: seed 2**64": "seed = 18446744073709551616 is out of range",
    "output: -o the data file": "trace 'data.npz' is the workload.data file 'data.npz'",
}


def case(kind: str, name: str, argv: list[str], files: dict | None = None) -> None:
    CASES.append((f"{kind}: {name}", argv, files or {}))


S = ["simulate"]
# ---- CLI options of `memsim simulate` (and the click-level errors)
for opt, value in [
    ("--seed", "-1"), ("--seed", str(2**64)), ("--seed", str(2**63)), ("--seed", "abc"), ("--seed", "1.5"),
    ("--chips", "0"), ("--chips", "-3"), ("--chips", "100001"), ("--chips", "x"),
    ("--batch", "-1"), ("--memory-budget", "0"), ("--memory-budget", str(2**21)),
    ("--threads", "-1"), ("--threads", "1025"),
    ("--weight-bits", "0"), ("--weight-bits", "1"), ("--weight-bits", "17"), ("--weight-bits", "-8"),
    ("--input-bits", "0"), ("--input-bits", "17"),
    ("--weight-slices", "-1"), ("--weight-slices", "65"),
    ("--adc-bits", "0"), ("--adc-bits", "17"), ("--adc-bits", "-1"),
    ("--adc-range", "widest"), ("--adc-percentile", "0"), ("--adc-percentile", "100.5"),
    ("--adc-percentile", "nan"), ("--adc-percentile", "-1"),
    ("--sigma", "-0.1"), ("--sigma", "nan"), ("--sigma", "inf"), ("--sigma", "11"), ("--sigma", "1e308"),
    ("--sigma-scale", "-1"), ("--sigma-scale", "inf"), ("--sigma-scale", "1e308"),
    ("--encoding", "bogus"), ("--outputs", "everything"),
    ("--age", "-1"), ("--age", "nan"), ("--age", "inf"),
    ("--buffer", "0"), ("--buffer", "-2"), ("--buffer", str(2**20 + 1)), ("--buffer", str(2**64)),
    ("--card", "no-such-card"), ("--card", "missing.toml"), ("--card", ""),
    ("--network", "no-such-net"), ("--network", "missing.npz"), ("--network", "missing.onnx"), ("--network", ""),
    ("--data", "no-such-data"), ("--data", "missing.npz"), ("--data", ""),
    ("--plan", "missing.toml"), ("--config", "missing.toml"),
    ("--wires", "superconducting"), ("--ir-solver", "gauss"), ("--ir-tolerance", "0"), ("--ir-tolerance", "-1"),
    ("--ir-tolerance", "nan"), ("--ir-tolerance", "1"), ("--ir-tolerance", "x"),
]:
    case("cli", f"{opt} {value}", [*S, opt, value])
case("cli", "unknown option", [*S, "--bogus"])
case("cli", "option without value", [*S, "--seed"])
case("cli", "extra argument", [*S, "extra"])
case("cli", "unknown command", ["simulat"])
case("cli", "weight bits the slices cannot hold", [*S, "--weight-bits", "8", "--weight-slices", "2"])
case("cli", "--no-trace with -o", [*S, "--no-trace", "-o", "x.h5"])
case("cli", "--no-trace with -o over a good trace", [*S, "--no-trace", "-o", "good.h5"], {"good.h5": "GOOD"})
case("cli", "devices unknown option", ["devices", "--bogus"])
case("cli", "--config is a directory", [*S, "--config", "cfgdir"], {"cfgdir": "DIR"})
case("cli", "--plan is a directory", [*S, "--plan", "plandir"], {"plandir": "DIR"})
case("cli", "--data split of the built-in", [*S, "--config", "c.toml"], {"c.toml": '[workload]\nsplit = "dev"\n'})

P = ["plan"]
# ---- CLI options of `memsim plan`
for opt, value in [
    ("--sweep-sigma", ""), ("--sweep-sigma", ","), ("--sweep-sigma", "a,b"), ("--sweep-sigma", "-0.1"),
    ("--sweep-sigma", "0.1,nan"), ("--sweep-sigma", "inf"),
    ("--budget", "-0.1"), ("--budget", "nan"), ("--budget", "2"), ("--margin", "-1"), ("--margin", "nan"),
    ("--plan-chips", "0"), ("--plan-chips", "-1"), ("--chips", "0"), ("--seed", "-1"), ("--weight-bits", "1"),
    ("--png", "x.png"), ("--error-map", "x.bmp"), ("--error-model", "nodir/e.json"), ("-o", "nodir/p.toml"),
    ("-o", "pdir"), ("--card", "no-such-card"),
]:
    case("plan-cli", f"{opt} {value!r}", [*P, opt, value], {"pdir": "DIR"} if value == "pdir" else None)
case("plan-cli", "-o the data", [*P, *TINY, "-o", "data.npz"], TINY_FILES)
case("plan-cli", "-o the card", [*P, "--card", "k.toml", "-o", "k.toml"], {"k.toml": CARD_TEXT})
case("plan-cli", "--png and --error-map one file", [*P, "--sweep-sigma", "0.1", "--png", "e.png", "--error-map",
                                                     "e.png"], {"e.png": b"\x89PNG"})
case("plan-cli", "-o the config file", [*P, "--config", "c.toml", "-o", "c.toml"], {"c.toml": "seed = 1\n"})
case("plan-cli", "-o the network", [*P, *TINY, "-o", "net.npz"], TINY_FILES)
case("plan-cli", "--error-model the plan output", [*P, "-o", "p.toml", "--error-model", "p.toml"])

# ---- config files (--config)
C = [*S, "--config", "c.toml"]
for name, text in [
    ("malformed TOML", "seed = = 1\n"),
    ("not UTF-8", b"seed = 1 # \xff\xfe\n"),
    ("unknown top-level key", "seeds = 1\n"),
    ("unknown section key", "[quantization]\nbits = 3\n"),
    ("section not a table", "quantization = 3\n"),
    ("newer schema", "schema_version = 2\n"),
    ("schema a string", 'schema_version = "1"\n'),
    ("seed a string", 'seed = "1"\n'),
    ("seed a float", "seed = 1.0\n"),
    ("seed a bool", "seed = true\n"),
    ("seed negative", "seed = -1\n"),
    ("seed 2**64", f"seed = {2**64}\n"),
    ("chips a list", "chips = [1]\n"),
    ("batch negative", "batch = -5\n"),
    ("memory budget huge", f"memory_budget_mb = {2**21}\n"),
    ("threads too many", "threads = 5000\n"),
    ("trace an integer", "trace = 3\n"),
    ("outputs unknown", 'outputs = "all"\n'),
    ("card an integer", "[devices]\ncard = 1\n"),
    ("card unknown", '[devices]\ncard = "nope"\n'),
    ("sigma_scale negative", "[devices]\nsigma_scale = -0.5\n"),
    ("sigma_scale a string", '[devices]\nsigma_scale = "1"\n'),
    ("overrides not a table", "[devices]\noverrides = 3\n"),
    ("override of an unknown section", "[devices.overrides.tia]\ngain = 3\n"),
    ("override of an unknown key", "[devices.overrides.cell]\ncolour = 3\n"),
    ("override bits_per_cell 0", "[devices.overrides.cell]\nbits_per_cell = 0\n"),
    ("override g_min above g_max", "[devices.overrides.cell]\ng_min_s = 2e-5\n"),
    ("override adc bits a string", '[devices.overrides.adc]\nbits = "8"\n'),
    ("override variation model unknown", '[devices.overrides.cell.variation]\nmodel = "wild"\n'),
    ("override sigma_rel negative", "[devices.overrides.cell.variation]\nsigma_rel = -0.1\n"),
    ("override crossbar reference unknown", '[devices.overrides.crossbar]\nreference = "none"\n'),
    ("override crossbar rows 0", "[devices.overrides.crossbar]\nrows = 0\n"),
    ("override shift-add energy huge", "[devices.overrides.shift_add]\ne_op_j = 1e300\n"),
    ("override read_noise_rel huge", "[devices.overrides.cell]\nread_noise_rel = 1e300\n"),
    ("override additive sigma huge", '[devices.overrides.cell.variation]\nmodel = "additive"\nsigma_const_s = 1e300\n'),
    ("network an integer", "[workload]\nnetwork = 7\n"),
    ("data a list", '[workload]\ndata = ["x"]\n'),
    ("split unknown", '[workload]\nsplit = "validation"\n'),
    ("input_bits 0", "[quantization]\ninput_bits = 0\n"),
    ("weight_bits 1", "[quantization]\nweight_bits = 1\n"),
    ("output_bits 17", "[quantization]\noutput_bits = 17\n"),
    ("encoding unknown", '[quantization]\nencoding = "sign"\n'),
    ("plan an integer", "[quantization]\nplan = 2\n"),
    ("plan missing", '[quantization]\nplan = "nope.toml"\n'),
    ("adc_range unknown", '[quantization]\nadc_range = "auto"\n'),
    ("adc_percentile 0", "[quantization]\nadc_percentile = 0\n"),
    ("adc_percentile nan", "[quantization]\nadc_percentile = nan\n"),
    ("rows_per_read negative", "[mapping]\nrows_per_read = -1\n"),
    ("weight_slices 65", "[mapping]\nweight_slices = 65\n"),
    ("age_s negative", "[timing]\nage_s = -1.0\n"),
    ("age_s inf", "[timing]\nage_s = inf\n"),
    ("buffer_vectors 0", "[timing]\nbuffer_vectors = 0\n"),
    ("buffer_vectors huge", f"[timing]\nbuffer_vectors = {2**40}\n"),
    ("timeline_vectors negative", "[timing]\ntimeline_vectors = -1\n"),
    ("disturb_update_vectors 0", "[timing]\ndisturb_update_vectors = 0\n"),
    ("circuit solver unknown", '[circuit]\nsolver = "cg"\n'),
    ("circuit tolerance 0", "[circuit]\ntolerance = 0\n"),
    ("circuit tolerance a string", '[circuit]\ntolerance = "1e-7"\n'),
    ("circuit unknown key", "[circuit]\nsweeps = 3\n"),
    ("override wires model unknown", '[devices.overrides.crossbar.wires]\nmodel = "super"\n'),
    ("override wire resistance negative", "[devices.overrides.crossbar.wires]\nr_wire_ohm_per_m = -1.0\n"),
    ("override wire pitch 0", '[devices.overrides.crossbar.wires]\nmodel = "resistive"\nrow_pitch_m = 0.0\n'),
    ("override wire pitch 1e-12", "[devices.overrides.crossbar.wires]\ncol_pitch_m = 1e-12\n"),
    ("override wires unknown key", "[devices.overrides.crossbar.wires]\nlength = 3\n"),
    ("override wires not a table", "[devices.overrides.crossbar]\nwires = 3\n"),
    ("empty file trace into a directory", 'trace = "tdir"\n'),
]:
    files = {"c.toml": text}
    if "directory" in name:
        files["tdir"] = "DIR"
    case("config", name, C, files)

# ---- device cards (--card path.toml)
K = [*S, "--card", "k.toml"]
for name, text in [
    ("malformed TOML", "name = \n"),
    ("empty", ""),
    ("schema 2", CARD_TEXT.replace("schema_version = 1", "schema_version = 2", 1)),
    ("missing section", CARD_TEXT.split("[register]")[0]),
    ("unknown section", CARD_TEXT + "\n[tia]\ngain = 1\n"),
    ("unknown key", card_with("reference = \"column\"", "reference = \"column\"\ncolour = \"red\"")),
    ("number without a source", card_with('{ value = 2, unit = "bit", source = "ISAAC', '{ value = 2, unit = "bit", '
                                          'sourc = "ISAAC')),
    ("bare number", card_with("bits_per_cell = { value = 2,", "bits_per_cell = 2\nxx = { value = 2,")),
    ("wrong unit", card_with('g_min_s = { value = 1, unit = "uS"', 'g_min_s = { value = 1, unit = "uV"')),
    ("unknown unit", card_with('g_min_s = { value = 1, unit = "uS"', 'g_min_s = { value = 1, unit = "furlong"')),
    ("unit not a string", card_with('g_min_s = { value = 1, unit = "uS"', 'g_min_s = { value = 1, unit = 3')),
    ("value a string", card_with('g_min_s = { value = 1,', 'g_min_s = { value = "1",')),
    ("value a bool", card_with('g_min_s = { value = 1,', 'g_min_s = { value = true,')),
    ("value an empty list", card_with('g_min_s = { value = 1,', 'g_min_s = { value = [],')),
    ("g_min above g_max", card_with('g_min_s = { value = 1,', 'g_min_s = { value = 20,')),
    ("g_min negative", card_with('g_min_s = { value = 1,', 'g_min_s = { value = -1,')),
    ("g_min nan", card_with('g_min_s = { value = 1,', 'g_min_s = { value = nan,')),
    ("g_max 2 S", card_with('g_max_s = { value = 10, unit = "uS"', 'g_max_s = { value = 2, unit = "S"')),
    ("v_read 1e300", card_with('v_read_v = { value = 0.5,', 'v_read_v = { value = 1e300,')),
    ("array read energy 1e300", card_with('e_array_read_j = { value = 30,', 'e_array_read_j = { value = 1e300,')),
    ("read time 1e300", card_with('t_read_s = { value = 100,', 't_read_s = { value = 1e300,')),
    ("static power 1e300", card_with('p_static_w = { value = 0,', 'p_static_w = { value = 1e300,')),
    ("ADC cycle 1e300", card_with('t_cycle_s = { value = 0.086805555555555556,', 't_cycle_s = { value = 1e300,')),
    ("bits_per_cell 0", card_with("bits_per_cell = { value = 2,", "bits_per_cell = { value = 0,")),
    ("bits_per_cell 2.5", card_with("bits_per_cell = { value = 2,", "bits_per_cell = { value = 2.5,")),
    ("bits_per_cell 99", card_with("bits_per_cell = { value = 2,", "bits_per_cell = { value = 99,")),
    ("rows 0", card_with("rows = { value = 128,", "rows = { value = 0,")),
    ("rows huge", card_with("rows = { value = 128,", "rows = { value = 1e30,")),
    ("columns_per_adc 0", card_with("columns_per_adc = { value = 128,", "columns_per_adc = { value = 0,")),
    ("cell area negative", card_with("cell_area_m2 = { value = 0.00152587890625,", "cell_area_m2 = { value = -1,")),
    ("cell area in a length", card_with('cell_area_m2 = { value = 0.00152587890625, unit = "um2"',
                                        'cell_area_m2 = { value = 0.00152587890625, unit = "um"')),
    ("DAC area nan", card_with("area_m2 = { value = 0.166015625,", "area_m2 = { value = nan,")),
    ("ADC area negative", card_with("area_m2 = { value = [361.04,", "area_m2 = { value = [-361.04,")),
    ("ADC area table short", card_with("area_m2 = { value = [361.04,", "area_m2 = { value = [")),
    ("ADC area model unknown", card_with('[adc.area]\nmodel = "table"', '[adc.area]\nmodel = "quadratic"')),
    ("pool area a string", card_with("area_pool_m2 = { value = 240,", 'area_pool_m2 = { value = "240",')),
    ("read_energy_model unknown", card_with('read_energy_model = "lumped"', 'read_energy_model = "magic"')),
    ("read_energy_model a number", card_with('read_energy_model = "lumped"', 'read_energy_model = 1')),
    ("reference unknown", card_with('reference = "column"', 'reference = "ground"')),
    ("wires model unknown", card_with('model = "ideal"', 'model = "lossy"')),
    ("wire resistance negative", card_with("r_wire_ohm_per_m = { value = 5.6995e6",
                                           "r_wire_ohm_per_m = { value = -5.6995e6")),
    ("wire resistance in another unit", card_with('unit = "Ohm/m"', 'unit = "Ohm/um"')),
    ("wire pitch in volts", card_with('row_pitch_m = { value = 112, unit = "nm"',
                                      'row_pitch_m = { value = 112, unit = "nV"')),
    ("wires solver in a card", card_with('model = "ideal"\n', 'model = "ideal"\nsolver = "nodal"\n')),
    ("wires tolerance in a card", card_with('model = "ideal"\n', 'model = "ideal"\ntolerance = { value = 1e-3, unit = '
                                                                   '"1", source = "x" }\n')),
    ("wires unknown key", card_with('model = "ideal"\n', 'model = "ideal"\nlength = { value = 1, unit = "m", '
                                                          'source = "x" }\n')),
    ("t_read negative", card_with('t_read_s = { value = 100,', 't_read_s = { value = -100,')),
    ("distribution unknown", card_with('distribution = "gaussian"', 'distribution = "cauchy"')),
    ("stuck fractions above 1", card_with('stuck_at_min_frac = { value = 0.0,', 'stuck_at_min_frac = { value = 0.7,')
     .replace('stuck_at_max_frac = { value = 0.0,', 'stuck_at_max_frac = { value = 0.7,')),
    ("variation model unknown", card_with('model = "proportional"', 'model = "wild"')),
    ("variation sigma negative", card_with("sigma_rel = { value = 0.05,", "sigma_rel = { value = -0.05,")),
    ("drift model unknown", card_with('[cell.drift]\nmodel = "none"', '[cell.drift]\nmodel = "fast"')),
    ("disturb model unknown", card_with('[cell.disturb]\nmodel = "none"', '[cell.disturb]\nmodel = "x"')),
    ("dac bits 0", card_with("bits = { value = 1, unit = \"bit\"", "bits = { value = 0, unit = \"bit\"")),
    ("adc kind unknown", card_with('kind = "sar"', 'kind = "flash9"')),
    ("adc bits 0", card_with('bits = { value = 8, unit = "bit"', 'bits = { value = 0, unit = "bit"')),
    ("adc bits 40", card_with('bits = { value = 8, unit = "bit"', 'bits = { value = 40, unit = "bit"')),
    ("adc lsb_levels 0", card_with("lsb_levels = { value = 1.0,", "lsb_levels = { value = 0,")),
    ("adc energy model unknown", card_with('model = "table"', 'model = "guess"')),
    ("adc energy table lengths differ", card_with("value = [0.79, 0.99,", "value = [0.99,")),
    ("adc energy table not increasing", card_with("value = [4, 5, 6,", "value = [5, 4, 6,")),
    ("from an unknown card", card_with('e_op_j = { value = 0.01953125, unit = "pJ", source = "ISAAC',
                                       'e_op_j = { from = "nope" }\nxx = { value = 0.01953125, unit = "pJ", '
                                       'source = "ISAAC')),
    ("source not a string", card_with('t_access_s = { value = 0, unit = "ns", source = "memsim assumption: register '
                                      'access is hidden in the pipeline; the sources give no register latency" }',
                                      't_access_s = { value = 0, unit = "ns", source = 3 }')),
    ("name empty", card_with('name = "isaac-2016"', 'name = ""')),
    ("section a number", card_with("schema_version = 1", "schema_version = 1\nregister = 3").split("[register]")[0]),
    ("not UTF-8", b"name = '\xff'\n"),
]:
    case("card", name, K, {"k.toml": text})
case("card", "a directory named .toml", [*S, "--card", "kdir.toml"], {"kdir.toml": "DIR"})

# ---- plans (--plan)
Q = [*S, *TINY, "--plan", "p.toml"]
for name, text in [
    ("malformed TOML", "[[layers]\n"),
    ("no schema", "[[layers]]\nweight_bits = 8\n"),
    ("schema 3", plan_layer("weight_bits = 8").replace("schema_version = 2", "schema_version = 3")),
    ("schema a bool", plan_layer("weight_bits = 8").replace("schema_version = 2", "schema_version = true")),
    ("unknown top-level key", "colour = 1\n" + PLAN_OK),
    ("no layers", "schema_version = 2\n"),
    ("layers not tables", "schema_version = 2\nlayers = [1, 2]\n"),
    ("layer without weight_bits", plan_layer("weight_shift = 0")),
    ("unknown layer key", plan_layer("weight_bits = 8\ncolour = 1")),
    ("adc_bits in schema 1", plan_layer("weight_bits = 8\nadc_bits = 4", version=1)),
    ("layers out of order", plan_layer("layer = 1\nweight_bits = 8")),
    ("weight_bits 0", plan_layer("weight_bits = 0")),
    ("weight_bits 1", plan_layer("weight_bits = 1")),
    ("weight_bits 17", plan_layer("weight_bits = 17")),
    ("weight_bits a string", plan_layer('weight_bits = "8"')),
    ("weight_bits needs more slices", plan_layer("weight_bits = 16")),
    ("weight_shift negative", plan_layer("weight_bits = 8\nweight_shift = -1")),
    ("weight_shift a float", plan_layer("weight_bits = 8\nweight_shift = 1.0")),
    ("compensation unknown", plan_layer('weight_bits = 8\ncompensation = "mean"')),
    ("discard a number", plan_layer("weight_bits = 8\ndiscard = 3")),
    ("discard a string", plan_layer('weight_bits = 8\ndiscard = "s0t0"')),
    ("discard a table", plan_layer('weight_bits = 8\ndiscard = { s0t0 = 1 }')),
    ("discard entry malformed", plan_layer('weight_bits = 8\ndiscard = ["s0"]')),
    ("discard entry a number", plan_layer("weight_bits = 8\ndiscard = [1]")),
    ("discard outside the grid", plan_layer('weight_bits = 8\ndiscard = ["s9t0"]')),
    ("discard cycle outside the grid", plan_layer('weight_bits = 8\ndiscard = ["s0t99"]')),
    ("adc_bits 0", plan_layer("weight_bits = 8\nadc_bits = 0")),
    ("adc_bits 17", plan_layer("weight_bits = 8\nadc_bits = 17")),
    ("adc_bits above the card's", plan_layer("weight_bits = 8\nadc_bits = 12")),
    ("adc_bits a string", plan_layer('weight_bits = 8\nadc_bits = "4"')),
    ("adc_bits a float", plan_layer("weight_bits = 8\nadc_bits = 4.0")),
    ("adc_bits_by_sum a number", plan_layer("weight_bits = 8\nadc_bits_by_sum = 3")),
    ("adc_bits_by_sum a list", plan_layer('weight_bits = 8\nadc_bits_by_sum = ["s0t0"]')),
    ("adc_bits_by_sum a string", plan_layer('weight_bits = 8\nadc_bits_by_sum = "s0t0"')),
    ("adc_bits_by_sum bad key", plan_layer("weight_bits = 8\nadc_bits_by_sum = { x = 4 }")),
    ("adc_bits_by_sum value a string", plan_layer('weight_bits = 8\nadc_bits_by_sum = { s0t0 = "4" }')),
    ("adc_bits_by_sum value a float", plan_layer("weight_bits = 8\nadc_bits_by_sum = { s0t0 = 4.5 }")),
    ("adc_bits_by_sum value 0", plan_layer("weight_bits = 8\nadc_bits_by_sum = { s0t0 = 0 }")),
    ("adc_bits_by_sum value a table", plan_layer("weight_bits = 8\nadc_bits_by_sum = { s0t0 = { a = 1 } }")),
    ("adc_bits_by_sum above the layer's", plan_layer("weight_bits = 8\nadc_bits = 4\nadc_bits_by_sum = { s0t0 = 6 }")),
    ("adc_bits_by_sum outside the grid", plan_layer("weight_bits = 8\nadc_bits_by_sum = { s9t0 = 4 }")),
    ("description a number", "description = 3\n" + PLAN_OK),
    ("one layer too many", PLAN_OK + "[[layers]]\nweight_bits = 8\n"),
    ("one layer too few", "schema_version = 2\n[[layers]]\nweight_bits = 8\n"),
]:
    case("plan", name, Q, {**TINY_FILES, "p.toml": text})

# ---- networks (.npz and .onnx)
W = RNG.normal(size=(4, 3))
N = [*S, "--data", "data.npz", "--network"]
for name, arrays in [
    ("empty archive", {}),
    ("no W0", {"b0": np.zeros(3)}),
    ("W0 without b0", {"W0": W}),
    ("W0 1-D", {"W0": np.ones(4), "b0": np.zeros(3)}),
    ("b0 the wrong length", {"W0": W, "b0": np.zeros(4)}),
    ("W0 with NaN", {"W0": np.where(W > 0, np.nan, W), "b0": np.zeros(3)}),
    ("W0 with inf", {"W0": np.full((4, 3), np.inf), "b0": np.zeros(3)}),
    ("W0 strings", {"W0": np.array([["a"] * 3] * 4), "b0": np.zeros(3)}),
    ("W0 complex", {"W0": W.astype(complex), "b0": np.zeros(3)}),
    ("layers do not chain", {"W0": W, "b0": np.zeros(3), "W1": RNG.normal(size=(5, 2)), "b1": np.zeros(2)}),
    ("gap in layer numbers", {"W0": W, "b0": np.zeros(3), "W2": RNG.normal(size=(3, 2)), "b2": np.zeros(2)}),
    ("activation unknown", {"W0": W, "b0": np.zeros(3), "activations": np.array(["gelu"])}),
    ("activations too many", {"W0": W, "b0": np.zeros(3), "activations": np.array(["relu", "none"])}),
    ("name empty", {"W0": W, "b0": np.zeros(3), "name": np.array("")}),
    ("name a number", {"W0": W, "b0": np.zeros(3), "name": np.array(3)}),
    ("input_shape zero", {"W0": W, "b0": np.zeros(3), "input_shape": np.array([0])}),
    ("input_shape floats", {"W0": W, "b0": np.zeros(3), "input_shape": np.array([4.0])}),
    ("kind unknown", {"kind0": np.array("lstm")}),
    ("kinds with a gap", {"kind0": np.array("dense"), "W0": W, "b0": np.zeros(3), "activation0": np.array("none"),
                          "kind2": np.array("relu")}),
    ("bias 1e300", {"W0": W, "b0": np.full(3, 1e300)}),
    ("too wide for the data", {"W0": RNG.normal(size=(30, 3)), "b0": np.zeros(3)}),
    ("fewer outputs than the labels", {"W0": RNG.normal(size=(4, 2)), "b0": np.zeros(2)}),
]:
    case("network", name, [*N, "n.npz"], {"data.npz": TINY_DATA, "n.npz": arrays})
case("network", "not a zip", [*N, "n.npz"], {"data.npz": TINY_DATA, "n.npz": "not an archive"})
case("network", "a single .npy", [*N, "n.npz"], {"data.npz": TINY_DATA, "n.npz": _npy_bytes(W)})
case("network", "a directory", [*N, "n.npz"], {"data.npz": TINY_DATA, "n.npz": "DIR"})
case("network", "onnx not a model", [*N, "n.onnx"], {"data.npz": TINY_DATA, "n.onnx": b"\x00\x01garbage"})
case("network", "onnx empty file", [*N, "n.onnx"], {"data.npz": TINY_DATA, "n.onnx": b""})
for kind in ("unsupported op", "gemm transA", "two inputs", "no nodes"):
    case("network", f"onnx {kind}", [*N, "n.onnx"], {"data.npz": TINY_DATA, "n.onnx": ("onnx", kind)})

# ---- data (.npz)
D = [*S, "--network", "net.npz", "--data"]
for name, arrays in [
    ("no x", {"y": TINY_Y}),
    ("no y", {"x": TINY_X}),
    ("x 1-D", {"x": TINY_X[:, 0], "y": TINY_Y}),
    ("x empty", {"x": np.zeros((0, 4)), "y": np.zeros(0, int)}),
    ("x strings", {"x": np.array([["a"] * 4] * 6), "y": TINY_Y}),
    ("x with NaN", {"x": np.where(TINY_X > 0.5, np.nan, TINY_X), "y": TINY_Y}),
    ("x with inf", {"x": np.full((6, 4), np.inf), "y": TINY_Y}),
    ("x negative", {"x": TINY_X - 1, "y": TINY_Y}),
    ("y floats", {"x": TINY_X, "y": TINY_Y.astype(float)}),
    ("y 2-D", {"x": TINY_X, "y": TINY_Y[:, None]}),
    ("y negative", {"x": TINY_X, "y": -TINY_Y}),
    ("y shorter than x", {"x": TINY_X, "y": TINY_Y[:4]}),
    ("labels beyond the outputs", {"x": TINY_X, "y": TINY_Y + 9}),
    ("inputs of the wrong size", {"x": RNG.random((6, 5)), "y": TINY_Y}),
    ("name a number", {"x": TINY_X, "y": TINY_Y, "name": np.array(5)}),
]:
    case("data", name, [*D, "d.npz"], {"net.npz": TINY_NET, "d.npz": arrays})
case("data", "not a zip", [*D, "d.npz"], {"net.npz": TINY_NET, "d.npz": "x,y\n1,2\n"})
case("data", "a directory", [*D, "d.npz"], {"net.npz": TINY_NET, "d.npz": "DIR"})
case("data", "labels beyond 9 on the built-in network", [*S, "--data", "d.npz", "-o", "good.h5"],
     {"d.npz": {"x": RNG.random((6, 64)), "y": np.array([0, 1, 2, 10, 11, 12])}, "good.h5": "GOOD"})

# ---- output paths (simulate -o, plan -o, trace plot -o)
case("output", "-o a directory", [*S, "-o", "odir"], {"odir": "DIR"})
case("output", "-o in a missing directory", [*S, "-o", "missing/run.h5"])
case("output", "-o under a file", [*S, "-o", "afile/run.h5"], {"afile": "x"})
case("output", "-o in /proc", [*S, "-o", "/proc/memsim-run.h5"])
case("output", "-o the data file", [*S, *TINY, "-o", "data.npz"], TINY_FILES)
case("output", "-o the network file", [*S, *TINY, "-o", "net.npz"], TINY_FILES)
case("output", "-o the plan file", [*S, *TINY, "--plan", "p.toml", "-o", "p.toml"], {**TINY_FILES, "p.toml": PLAN_OK})
case("output", "-o the config file", [*S, "--config", "c.toml", "-o", "c.toml"], {"c.toml": "seed = 1\n"})
case("output", "-o the card file", [*S, "--card", "k.toml", "-o", "k.toml"], {"k.toml": CARD_TEXT})
case("output", "-o the data file by another name", [*S, *TINY, "-o", "./sub/../data.npz"],
     {**TINY_FILES, "sub": "DIR"})
case("output", "trace in the config into a missing directory", [*S, "--config", "c.toml"],
     {"c.toml": 'trace = "missing/run.h5"\n'})
case("output", "bad option leaves a good trace alone", [*S, "-o", "good.h5", "--chips", "0"], {"good.h5": "GOOD"})
case("output", "bad plan leaves a good trace alone", [*S, *TINY, "--plan", "p.toml", "-o", "good.h5"],
     {**TINY_FILES, "p.toml": plan_layer("weight_bits = 8\ndiscard = 3"), "good.h5": "GOOD"})
case("output", "bad network leaves a good trace alone", [*S, *TINY, "-o", "good.h5"],
     {"net.npz": {"W0": W}, "data.npz": TINY_DATA, "good.h5": "GOOD"})
case("output", "plan -o a directory", [*P, "-o", "odir"], {"odir": "DIR"})
case("output", "plan -o in a missing directory", [*P, "-o", "missing/p.toml"])
case("output", "plan over a good plan with a bad option", [*P, "--budget", "-1", "-o", "p.toml"], {"p.toml": PLAN_OK})

# ---- traces (the trace commands; the trace reader's own hardening is tested in tests/memsim)
T = ["trace"]
case("trace", "summary of a missing file", [*T, "summary", "missing.h5"])
case("trace", "summary of a text file", [*T, "summary", "t.h5"], {"t.h5": "not hdf5"})
case("trace", "summary of a directory", [*T, "summary", "tdir"], {"tdir": "DIR"})
case("trace", "summary of an empty file", [*T, "summary", "t.h5"], {"t.h5": b""})
case("trace", "compare one trace", [*T, "compare", "good.h5"], {"good.h5": "GOOD"})
case("trace", "compare with a missing trace", [*T, "compare", "good.h5", "missing.h5"], {"good.h5": "GOOD"})
case("trace", "plot unknown kind", [*T, "plot", "good.h5", "--kind", "pie"], {"good.h5": "GOOD"})
case("trace", "plot to an unknown format", [*T, "plot", "good.h5", "-o", "x.bmp"], {"good.h5": "GOOD"})
case("trace", "plot to a missing directory", [*T, "plot", "good.h5", "-o", "missing/x.png"], {"good.h5": "GOOD"})
case("trace", "plot --chip not a number", [*T, "plot", "good.h5", "--chip", "x"], {"good.h5": "GOOD"})
case("trace", "timeline to a missing directory", [*T, "timeline", "good.h5", "-o", "m/x.png"], {"good.h5": "GOOD"})
case("trace", "export without --csv", [*T, "export", "good.h5"], {"good.h5": "GOOD"})
case("trace", "export of a missing trace", [*T, "export", "missing.h5", "--csv", "out"])
case("trace", "unknown subcommand", [*T, "sumary", "good.h5"], {"good.h5": "GOOD"})
case("trace", "summary of a data npz", [*T, "summary", "data.npz"], {"data.npz": TINY_DATA})
case("trace", "timeline of a chip the trace lacks", [*T, "plot", "good.h5", "--kind", "timeline", "--chip", "5", "-o",
                                                     "t.png"], {"good.h5": "GOOD"})
case("trace", "timeline of chip -1", [*T, "plot", "good.h5", "--kind", "timeline", "--chip", "-1", "-o", "t.png"],
     {"good.h5": "GOOD"})
case("trace", "timeline to a text file", [*T, "timeline", "good.h5", "-o", "x.txt"], {"good.h5": "GOOD"})
case("trace", "plot over the trace itself", [*T, "plot", "good.h5", "-o", "good.h5"], {"good.h5": "GOOD"})
case("trace", "export --csv to a file", [*T, "export", "good.h5", "--csv", "afile"], {"good.h5": "GOOD", "afile": "x"})
case("trace", "plot --chip on a picture that is not per chip", [*T, "plot", "good.h5", "--kind", "energy", "--chip",
                                                                 "3", "-o", "e.png"], {"good.h5": "GOOD"})
# ---- the timeline's selection (trace timeline / trace plot --kind timeline)
for opt, value, what in [("--layers", "7", "layer 7"), ("--layers", "a", "--layers"), ("--layers", "2-1", "--layers"),
                         ("--tiles", "99", "tile 99"), ("--tiles", "x", "--tiles"), ("--window", "5:1", "--window"),
                         ("--window", "1", "START:END"), ("--window", "0:abc", "--window"),
                         ("--window", "-1:2us", "--window"), ("--window", "1:2", "no busy interval")]:
    case("trace", f"timeline {opt} {value}", [*T, "timeline", "good.h5", opt, value, "-o", "t.png"],
         {"good.h5": "GOOD"})
    EXPECT[f"trace: timeline {opt} {value}"] = what
case("trace", "plot --window on a picture without a timeline", [*T, "plot", "good.h5", "--kind", "energy", "--window",
                                                                "0:1us", "-o", "e.png"], {"good.h5": "GOOD"})

# ---- memsim report
R = ["report"]
case("report", "of a missing trace", [*R, "missing.h5", "-o", "r.html"])
case("report", "of a text file", [*R, "t.h5", "-o", "r.html"], {"t.h5": "not hdf5"})
case("report", "of a directory", [*R, "tdir", "-o", "r.html"], {"tdir": "DIR"})
case("report", "without inputs", [*R, "-o", "r.html"])
case("report", "-o not HTML", [*R, "good.h5", "-o", "r.png"], {"good.h5": "GOOD"})
case("report", "-o in a missing directory", [*R, "good.h5", "-o", "missing/r.html"], {"good.h5": "GOOD"})
case("report", "-o a directory", [*R, "good.h5", "-o", "rdir.html"], {"good.h5": "GOOD", "rdir.html": "DIR"})
case("report", "-o the trace itself", [*R, "good.h5", "-o", "good.h5"], {"good.h5": "GOOD"})
case("report", "good and missing trace", [*R, "good.h5", "missing.h5", "-o", "r.html"], {"good.h5": "GOOD"})
case("report", "a CSV that is not a sweep table", [*R, "t.csv", "-o", "r.html"], {"t.csv": "a,b\n1,2\n"})
case("report", "a sweep table without rows", [*R, "t.csv", "-o", "r.html"], {"t.csv": "point,chip,accuracy_hw\n"})
case("report", "a missing sweep table", [*R, "missing.csv", "-o", "r.html"])
case("report", "bad input leaves a report alone", [*R, "missing.h5", "-o", "r.html"], {"r.html": "<p>old</p>"})
EXPECT.update({"report: -o not HTML": "allowed: a name ending in .html", "report: of a missing trace": "missing.h5",
               "report: a CSV that is not a sweep table": "point and chip",
               "report: a sweep table without rows": "no rows"})
case("card", "not UTF-8", [*K], {"k.toml": CARD_TEXT.encode("utf-8").replace(b"ISAAC", b"IS\xffAC", 1)})
case("network", "a directory", [*N, "netdir"], {"netdir": "DIR", "data.npz": TINY_DATA})


# ---------------------------------------------------------------------------------------------------- tests

@pytest.fixture(scope="session")
def good_trace(tmp_path_factory) -> bytes:
    """The bytes of a good trace: the tiny network on the tiny data, one chip."""
    from memsim.cli.main import main

    root = tmp_path_factory.mktemp("good")
    for name, content in TINY_FILES.items():
        _write(root, name, content)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        main(["simulate", *TINY, "-o", "good.h5", "--json"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    finally:
        os.chdir(cwd)
    return (root / "good.h5").read_bytes()


@pytest.mark.parametrize(("argv", "files"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_one_line_exit_2_nothing_written(argv, files, tmp_path, monkeypatch, run_cli, request, capsys):
    """Exit code 2, one line on stderr (naming what ``EXPECT`` says for the case), no traceback, every file as it
    was."""
    monkeypatch.chdir(tmp_path)
    for name, content in files.items():
        if isinstance(content, str) and content == "GOOD":
            content = request.getfixturevalue("good_trace")
        _write(tmp_path, name, content)
    before = snapshot(tmp_path)
    capsys.readouterr()
    code, out, err = run_cli(argv)
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert code == 2, (code, err[-2000:])
    assert len(lines) == 1 and lines[0].strip(), err
    assert lines[0].startswith("memsim: error: "), err
    expect = EXPECT.get(request.node.callspec.id)
    assert expect is None or expect in lines[0], lines[0]
    assert snapshot(tmp_path) == before


def test_the_corpus_covers_every_kind():
    kinds = {c[0].split(":")[0] for c in CASES}
    assert kinds == {"cli", "plan-cli", "config", "card", "plan", "network", "data", "output", "trace", "report"}
    assert len(CASES) >= 150
    assert set(EXPECT) <= {c[0] for c in CASES}
