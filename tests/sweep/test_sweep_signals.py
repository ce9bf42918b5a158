"""A real Ctrl-C (SIGINT) in the middle of ``memsim sweep run``, in this process and on local worker processes:
one line and exit code 130, no temporary part left, no worker left running, the finished units saved; the rerun
runs only the missing units."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

# The installed package's entry point, run from the test's directory (a source tree there would shadow it).
MEMSIM = [sys.executable, "-c", "from memsim.cli.main import main; main()"]

SWEEP = """chips = 4
[config.workload]
split = "calibration"
[axes]
adc_bits = [4, 8]
sigma = [0.05, 0.1]
"""


def _finished_parts(directory):
    return sorted(p.name for p in directory.glob("*.json") if not p.name.startswith("."))


def _group_gone(pgid, seconds=10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_keeps_finished_units_and_the_rerun_completes_the_rest(tmp_path, workers):
    (tmp_path / "s.toml").write_text(SWEEP)
    command = [*MEMSIM, "sweep", "run", "s.toml", "-o", "r.csv", "--workers", workers]
    parts = tmp_path / "r.csv.parts"
    # A session of its own, so that afterwards the test can tell whether any worker process outlived the sweep.
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (parts.is_dir() and len(_finished_parts(parts)) >= 3):
            assert proc.poll() is None and time.monotonic() < deadline, "the sweep ended before its third unit"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert re.fullmatch(r"memsim: interrupted by SIGINT; (no temporary file to remove|removed the temporary file "
                        r"\.[0-9a-f]{16}\.tmp-\d+\.json)\n", err), err
    assert _group_gone(proc.pid), "a worker process outlived the interrupted sweep"
    saved = _finished_parts(parts)
    assert 3 <= len(saved) < 16
    assert [p.name for p in parts.iterdir() if p.name.startswith(".")] == []  # no temporary part left
    assert not (tmp_path / "r.csv").exists()  # the table is written only when the sweep ends

    rerun = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    n = len(saved)
    assert f"16 units ({n} already done, {16 - n} run, 0 failed); 16 rows in r.csv" in rerun.stdout
    assert set(saved) <= set(_finished_parts(parts)) and len(_finished_parts(parts)) == 16
