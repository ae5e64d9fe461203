"""tinyc's pytest plugin (issue 22): the example project's tests pass in QEMU through the plugin, loaded from
the installed entry point as a user's `pytest` loads it; the markers skip what a board cannot run; options
come from the command line, then the environment, then the ini file."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "digits-on-board"


@pytest.mark.emulator
def test_the_example_project_passes_in_qemu_through_the_plugin(tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    junit = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if k not in ("TINYC_PORT", "TINYC_BOARD", "TINYC_MODEL")}
    env.setdefault("TF_USE_LEGACY_KERAS", "1")
    # as a user runs it: in the project's folder, the plugin found through the installed entry point only
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}"],
                       cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "tinyc: board nucleo-f746, QEMU (no --tinyc-port)" in r.stdout  # the plugin's report header
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    skipped = {n for n, c in cases.items() if c.find("skipped") is not None}
    failed = {n for n, c in cases.items() if c.find("failure") is not None or c.find("error") is not None}
    assert not failed
    assert skipped == {"test_under_five_milliseconds_on_silicon", "test_only_on_the_microbit"}
    assert len(cases) - len(skipped) == 7  # invoke, reference, validate, memory, bench, exact count, DSP set


class _Item:
    def __init__(self, *marks):
        self.marks = [SimpleNamespace(name=n, args=a, kwargs=k) for n, a, k in marks]
        self.nodeid = "t"

    def get_closest_marker(self, name):
        return next((m for m in self.marks if m.name == name), None)

    def iter_markers(self, name=None):
        return iter([m for m in self.marks if name is None or m.name == name])


def test_markers_skip_what_the_board_cannot_run():
    from tinyc.boards import get_board
    from tinyc.pytest_plugin import _skip_reason

    m7, m0 = get_board("nucleo-f746"), get_board("microbit")
    hw = _Item(("tinyc_hardware", (), {}))
    assert "--tinyc-port" in _skip_reason(hw, m7, None) and _skip_reason(hw, m7, "/dev/ttyACM0") is None
    emu = _Item(("tinyc_emulator", (), {}))
    assert _skip_reason(emu, m7, None) is None and _skip_reason(emu, m7, "/dev/ttyACM0")
    only = _Item(("tinyc_board", ("microbit",), {}))
    assert _skip_reason(only, m0, None) is None and "microbit only" in _skip_reason(only, m7, None)
    dsp = _Item(("tinyc_requires", (), {"dsp": True}))
    assert _skip_reason(dsp, m7, None) is None and "DSP" in _skip_reason(dsp, m0, None)
    big = _Item(("tinyc_requires", (), {"min_sram": 64 * 1024, "core": ("cortex-m7", "cortex-m0")}))
    assert _skip_reason(big, m7, None) is None and "SRAM" in _skip_reason(big, m0, None)
    fpu = _Item(("tinyc_requires", (), {"fpu": True}))
    assert _skip_reason(fpu, m7, None) is None and "FPU" in _skip_reason(fpu, m0, None)
    with pytest.raises(pytest.UsageError, match="dsp, helium"):
        _skip_reason(_Item(("tinyc_requires", (), {"mve": True})), m7, None)


def test_options_command_line_then_environment_then_ini(tmp_path, monkeypatch):
    from tinyc.pytest_plugin import setting

    ini = tmp_path / "proj" / "pytest.ini"
    ini.parent.mkdir()
    values = {"tinyc_board": None, "tinyc_model": None}
    config = SimpleNamespace(getoption=lambda k: values.get(k), inipath=ini, rootpath=tmp_path,
                             getini=lambda k: {"tinyc_board": "mps2-an386", "tinyc_model": "m.tflite"}.get(k))
    monkeypatch.delenv("TINYC_BOARD", raising=False)
    monkeypatch.delenv("TINYC_MODEL", raising=False)
    assert setting(config, "tinyc_board") == "mps2-an386"
    assert setting(config, "tinyc_model") == str(ini.parent / "m.tflite")  # relative to the ini file
    monkeypatch.setenv("TINYC_BOARD", "microbit")
    assert setting(config, "tinyc_board") == "microbit"
    values["tinyc_board"] = "nucleo-f746"
    assert setting(config, "tinyc_board") == "nucleo-f746"
