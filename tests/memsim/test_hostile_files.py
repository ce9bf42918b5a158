"""Hostile and malformed input files (issue 13, items 2 and 3): crafted traces and .npz archives are refused with
one line on stderr and exit code 2, before any data is read or allocated, without a traceback, without writing
anything and without revealing other files' bytes."""

import contextlib
import io
import json
import shutil
import zipfile

import h5py
import numpy as np
import pytest

import memsim.trace
from memsim.cli.main import main
from memsim.trace.writer import EVENT_DTYPE, EVENT_UNITS
from memsim.workload import network as network_module

SECRET = b"TOPSECRET-4242-do-not-leak"


@pytest.fixture(scope="module")
def real_trace(tmp_path_factory):
    """A trace written by `memsim simulate -o` (digits calibration split, one chip)."""
    directory = tmp_path_factory.mktemp("real")
    config = directory / "calibration.toml"
    config.write_text('[workload]\nsplit = "calibration"\n')
    path = directory / "run.h5"
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(["simulate", "--config", str(config), "-o", str(path), "--json"])
        except SystemExit as exc:
            raise AssertionError(f"memsim simulate exited with {exc.code}") from None
    return path


@pytest.fixture
def work(tmp_path, monkeypatch):
    """An empty working directory (the current one) beside a secret file and a secret HDF5 file."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET * 8)
    secret_h5 = tmp_path / "secret.h5"
    counters = np.zeros(2, dtype=[("component", "S32"), ("action", "S32"), ("count", "<i8"), ("energy_j", "<f8")])
    counters["component"] = SECRET
    with h5py.File(secret_h5, "w") as h5:
        h5.create_dataset("counters", data=counters)
        h5["counters"].attrs["units"] = json.dumps({"component": "name", "action": "name", "count": "1",
                                                    "energy_j": "J"})
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return tmp_path, secret, secret_h5, cwd


def crafted(real_trace, work, name):
    path = work[0] / name
    shutil.copyfile(real_trace, path)
    return path


def tree(directory):
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def assert_refused(run_cli, argv, fragment, work, secret=True):
    """`memsim argv` ends with exit 2 and one stderr line holding `fragment`, no traceback, nothing written, and
    the secret nowhere in the output."""
    before = tree(work[0])
    code, out, err = run_cli(argv)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memsim: error: ") and err.endswith("\n"), err
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in err + out
    assert tree(work[0]) == before
    if secret:
        assert SECRET.decode() not in out + err


def both_commands(run_cli, path, fragment, work):
    assert_refused(run_cli, ["trace", "summary", str(path)], fragment, work)
    assert_refused(run_cli, ["trace", "summary", "--json", str(path)], fragment, work)
    assert_refused(run_cli, ["trace", "export", str(path), "--csv", str(work[3] / "csv")], fragment, work)
    assert not (work[3] / "csv").exists()


def replace_with_table_shape(h5, name):
    """Delete dataset `name`; return its data (so a test can recreate it another way)."""
    data = h5[name][()]
    units = h5[name].attrs["units"]
    del h5[name]
    return data, units


# --- links, external and virtual storage ----------------------------------------------------------------------


def test_external_link_to_another_file_is_refused(real_trace, work, run_cli):
    path = crafted(real_trace, work, "extlink.h5")
    with h5py.File(path, "a") as h5:
        del h5["counters"]
        h5["counters"] = h5py.ExternalLink(str(work[2]), "/counters")
    both_commands(run_cli, path, "'/counters' is an external link", work)


def test_external_link_to_a_plain_file_is_refused_even_where_memsim_reads_nothing(real_trace, work, run_cli):
    path = crafted(real_trace, work, "extlink2.h5")
    with h5py.File(path, "a") as h5:
        h5.create_group("extra")["leak"] = h5py.ExternalLink(str(work[1]), "/")
    both_commands(run_cli, path, "'/extra/leak' is an external link", work)


def test_soft_link_is_refused(real_trace, work, run_cli):
    path = crafted(real_trace, work, "softlink.h5")
    with h5py.File(path, "a") as h5:
        del h5["reads"]
        h5["reads"] = h5py.SoftLink("/extra/reads")
    both_commands(run_cli, path, "'/reads' is a soft link", work)


def test_dataset_with_external_storage_is_refused(real_trace, work, run_cli):
    path = crafted(real_trace, work, "external.h5")
    size = work[1].stat().st_size
    dtype = np.dtype([("component", "S32"), ("action", "S32"), ("count", "<i8"), ("energy_j", "<f8")])
    with h5py.File(path, "a") as h5:
        _, units = replace_with_table_shape(h5, "counters")
        h5.create_dataset("counters", shape=(size // dtype.itemsize,), dtype=dtype, external=[(str(work[1]), 0, size)])
        h5["counters"].attrs["units"] = units
    both_commands(run_cli, path, "dataset '/counters' has external storage", work)


def test_virtual_dataset_is_refused(real_trace, work, run_cli):
    path = crafted(real_trace, work, "virtual.h5")
    with h5py.File(work[2], "r") as src:
        dtype, shape = src["counters"].dtype, src["counters"].shape
    layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
    layout[:] = h5py.VirtualSource(str(work[2]), "counters", shape=shape)
    with h5py.File(path, "a") as h5:
        _, units = replace_with_table_shape(h5, "counters")
        h5.create_virtual_dataset("counters", layout)
        h5["counters"].attrs["units"] = units
    both_commands(run_cli, path, "dataset '/counters' is a virtual dataset", work)


# --- declared sizes -------------------------------------------------------------------------------------------


def test_dataset_declaring_2_to_the_40_rows_is_refused_before_reading(real_trace, work, run_cli):
    path = crafted(real_trace, work, "huge.h5")
    with h5py.File(path, "a") as h5:
        del h5["events"]
        ds = h5.create_dataset("events", shape=(2**40,), maxshape=(None,), dtype=EVENT_DTYPE, chunks=(4096,),
                               compression="gzip", shuffle=True)
        ds.attrs["units"] = json.dumps(EVENT_UNITS)
    assert path.stat().st_size < 1 << 20
    both_commands(run_cli, path, "dataset '/events' declares shape (1099511627776,)", work)


def test_tables_beyond_the_memory_budget_are_refused(real_trace, work, run_cli):
    with pytest.raises(ValueError, match=r"the tables declare .* allowed: at most 10,000 bytes"):
        memsim.trace.open(real_trace, max_bytes=10_000)
    path = crafted(real_trace, work, "big.h5")
    rng = np.random.default_rng(0)
    events = np.zeros(40_000, dtype=EVENT_DTYPE)
    events["t_s"] = rng.random(len(events))
    events["energy_j"] = rng.random(len(events))
    with h5py.File(path, "a") as h5:
        del h5["events"]
        h5.create_dataset("events", data=events, chunks=(4096,), compression="gzip")
        h5["events"].attrs["units"] = json.dumps(EVENT_UNITS)
    assert_refused(run_cli, ["trace", "summary", str(path), "--max-read-mb", "1"], "memory budget (--max-read-mb)",
                   work)
    code, out, err = run_cli(["trace", "summary", "--json", str(path), "--max-read-mb", "2"])
    assert code == 0, err


# --- JSON metadata of the wrong shape, empty tables -----------------------------------------------------------


@pytest.mark.parametrize(("attr", "value", "fragment"), [
    ("summary", "{}", "root attribute 'summary' lacks inferences; expected an integer"),
    ("summary", "[]", "root attribute 'summary' is []; expected a JSON object"),
    ("summary", None, "key inferences is \"450\"; expected an integer"),
    ("summary", "stages", "key stages[0] is "),
    ("config", "null", "root attribute 'config' is null; expected a JSON object"),
    ("config", '{"timing": 3}', "'config' key timing is 3; expected a JSON object"),
    ("config", '{"timing": {"age_s": "old"}}', "key timing.age_s is \"old\"; expected a number or null"),
    ("plan", '{"encoding": "offset", "layers": {}}', "'plan' key layers is {}; expected a JSON array"),
    ("plan", '{"encoding": "offset", "layers": [{"layer": "x"}]}', "key layers[0].layer is \"x\""),
    ("cards", '{"isaac": 7}', "'cards' key isaac is 7; expected a JSON object"),
    ("cards", "[" * 100 + "]" * 100, "nests JSON deeper than 32 levels"),
])
def test_json_attribute_of_the_wrong_shape_is_one_line(attr, value, fragment, real_trace, work, run_cli):
    path = crafted(real_trace, work, "meta.h5")
    with h5py.File(path, "a") as h5:
        if value is None:  # summary with inferences as a string
            summary = json.loads(h5.attrs["summary"])
            summary["inferences"] = str(summary["inferences"])
            value = json.dumps(summary)
        elif value == "stages":  # a stage with vectors but no input_buffer_bits
            summary = json.loads(h5.attrs["summary"])
            del summary["stages"][0]["input_buffer_bits"]
            value = json.dumps(summary)
        h5.attrs[attr] = value
    both_commands(run_cli, path, fragment, work)


def test_empty_chips_table_is_one_line(real_trace, work, run_cli):
    path = crafted(real_trace, work, "nochips.h5")
    with h5py.File(path, "a") as h5:
        data, units = replace_with_table_shape(h5, "chips")
        h5.create_dataset("chips", data=data[:0])
        h5["chips"].attrs["units"] = units
    both_commands(run_cli, path, "the chips table is empty", work)


def test_table_column_of_the_wrong_type_is_one_line(real_trace, work, run_cli):
    path = crafted(real_trace, work, "textcol.h5")
    with h5py.File(path, "a") as h5:
        data, units = replace_with_table_shape(h5, "chips")
        dtype = [(c, "S8") if c == "accuracy" else (c, data.dtype[c]) for c in data.dtype.names]
        h5.create_dataset("chips", data=np.zeros(len(data), dtype=dtype))
        h5["chips"].attrs["units"] = units
    both_commands(run_cli, path, "column 'accuracy' has dtype |S8; expected numbers", work)


def test_confusion_labels_that_would_allocate_too_much_are_one_line(real_trace, work, run_cli):
    path = crafted(real_trace, work, "confusion.h5")
    with h5py.File(path, "a") as h5:
        data, units = replace_with_table_shape(h5, "confusion")
        data["label"][0] = 2**30
        h5.create_dataset("confusion", data=data)
        h5["confusion"].attrs["units"] = units
    both_commands(run_cli, path, "dataset 'confusion' has labels and predictions from 0 to 1073741824", work)


def test_real_trace_still_reads(real_trace, work, run_cli):
    code, out, err = run_cli(["trace", "export", str(real_trace), "--csv", str(work[3] / "csv")])
    assert code == 0, err
    assert (work[3] / "csv" / "events.csv").exists()


# --- .npz networks and data sets ------------------------------------------------------------------------------


def npy_header(descr, shape):
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": descr, "fortran_order": False, "shape": shape})
    return stream.getvalue()


def write_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


@pytest.fixture
def bomb(tmp_path):
    """A ~250-byte .npz whose member declares a 100 GB float64 array (and holds 16 bytes)."""
    path = write_zip(tmp_path / "bad.npz", {"W0.npy": npy_header("<f8", (100_000_000_000 // 8,)) + bytes(16)})
    assert path.stat().st_size < 1024
    return path


def test_npz_member_declaring_100_gb_is_refused_before_allocating(bomb, work, run_cli, monkeypatch):
    real_read_array = np.lib.format.read_array

    def read_array(stream, **kwargs):  # the built-in network and data still load; the bomb's array never does
        np.lib.format.read_magic(stream)
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        assert np.prod(shape) * dtype.itemsize < 1 << 30, "read_array called on a refused member"
        stream.seek(0)
        return real_read_array(stream, **kwargs)

    monkeypatch.setattr(np.lib.format, "read_array", read_array)
    fragment = "member 'W0.npy' declares shape (12500000000,) of float64 (100,000,000,000 bytes) but holds 16 bytes"
    assert_refused(run_cli, ["simulate", "--network", str(bomb), "-o", "t.h5"], fragment, work)
    assert_refused(run_cli, ["simulate", "--data", str(bomb), "-o", "t.h5"], fragment, work)


def test_npz_object_array_is_refused_from_its_header(tmp_path, work, run_cli):
    path = write_zip(tmp_path / "pickle.npz", {"W0.npy": npy_header("|O", (2,)) + b"\x80\x04junk",
                                               "b0.npy": npy_header("<f8", (2,)) + bytes(16)})
    assert_refused(run_cli, ["simulate", "--network", str(path), "--no-trace"], "object arrays are not allowed", work)


def test_npz_member_that_is_not_npy_is_refused(tmp_path, work, run_cli):
    path = write_zip(tmp_path / "junk.npz", {"W0.npy": b"not an array at all"})
    assert_refused(run_cli, ["simulate", "--data", str(path), "--no-trace"], "member 'W0.npy' is not a .npy array",
                   work)


def test_npz_arrays_beyond_the_memory_bound_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "net.npz"
    np.savez(path, W0=np.ones((64, 10)), b0=np.zeros(10))
    assert set(network_module.read_npz(path, "network")) == {"W0", "b0"}
    monkeypatch.setattr(network_module, "NPZ_MAX_BYTES", 4096)
    with pytest.raises(ValueError, match=r"the arrays declare 5,120 bytes .* allowed: at most 4,096 bytes") as info:
        network_module.read_npz(path, "network")
    assert "\n" not in str(info.value)


def test_npz_corrupt_member_data_is_one_line(tmp_path, work, run_cli):
    # Valid headers, damaged data (the zip's CRC no longer matches): one line naming the file, not a traceback.
    good = tmp_path / "good.npz"
    np.savez(good, W0=np.ones((4, 3)), b0=np.zeros(3))
    raw = bytearray(good.read_bytes())
    index = raw.find(b"\x93NUMPY")
    raw[index + 200 : index + 230] = bytes(30)
    bad = tmp_path / "crc.npz"
    bad.write_bytes(bytes(raw))
    assert_refused(run_cli, ["simulate", "--network", str(bad), "--no-trace"], str(bad), work)

