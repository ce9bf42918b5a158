"""tools/screenshot.py: the first screen of an HTML page in the system's headless Chromium (docs/report.png)."""

import struct

import pytest

@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("screenshot")


def test_screenshot_writes_the_first_screen_and_reports_console_errors(tool, tmp_path, capsys):
    pytest.importorskip("playwright.sync_api", reason="the playwright package (test extra) is missing")
    if tool.chromium_path() is None:
        pytest.skip("no system Chromium (apt-get install chromium, or set MEMSIM_CHROMIUM)")
    good = tmp_path / "good.html"
    good.write_text("<!DOCTYPE html><html><body style='background:#0072B2'><h1>memsim</h1></body></html>")
    assert tool.main([str(good), "-o", str(tmp_path / "good.png"), "--width", "640", "--height", "400"]) == 0
    data = (tmp_path / "good.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 800)  # device scale factor 2
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>no_such_function();</script></body></html>")
    assert tool.main([str(bad), "-o", str(tmp_path / "bad.png")]) == 1
    assert "no_such_function" in capsys.readouterr().err


def test_screenshot_without_chromium_says_so(tool, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEMSIM_CHROMIUM", str(tmp_path / "no-such-browser"))
    assert tool.main([str(tmp_path / "x.html"), "-o", str(tmp_path / "x.png")]) == 2
    assert "no system Chromium" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
