"""Board files: every shipped board loads, carries the real chip's facts, and bad files fail clearly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyc import paths
from tinyc.boards import BoardError, all_boards, emulation_target, get_board, load_board, parse_size

REAL = {"nucleo-f746", "nucleo-h743", "nucleo-l4r5", "nucleo-f401re", "nucleo-l476rg", "disco-f746ng",
        "nano33ble", "rpi-pico", "bluepill"}
EMULATED = {"mps2-an385", "mps2-an386", "mps2-an500", "mps3-an547", "netduinoplus2", "lm3s6965evb", "microbit"}


def test_all_required_boards_load():
    boards = all_boards()
    assert REAL | EMULATED <= set(boards)
    assert {b.id for b in boards.values() if b.kind == "real"} >= REAL
    assert {b.id for b in boards.values() if b.kind == "emulated"} >= EMULATED


def test_nucleo_f746_facts():
    b = get_board("nucleo-f746")
    assert (b.mcu, b.core, b.fpu, b.clock_hz) == ("STM32F746ZG", "cortex-m7", "fpv5-sp-d16", 216_000_000)
    assert b.flash == 1 << 20 and b.sram == 320 * 1024
    assert [r.name for r in b.ram_regions] == ["DTCM", "SRAM1", "SRAM2"]
    assert b.console.uart == "USART3"
    assert emulation_target(b).id == "mps2-an500" and b.emulation.stand_in


def test_memory_figures_describe_the_real_chip():
    nd = get_board("netduinoplus2")
    assert {r.name: r.size for r in nd.ram_regions} == {"SRAM": 128 * 1024, "CCM": 64 * 1024}
    assert nd.emulation.qemu_memory[1].size == 192 * 1024  # QEMU's contiguous map, kept apart
    assert get_board("bluepill").flash == 64 * 1024 and get_board("bluepill").sram == 20 * 1024


@pytest.mark.parametrize("board_id", sorted(REAL))
def test_real_boards_have_a_stand_in_with_the_same_core(board_id):
    b = get_board(board_id)
    stand_in = emulation_target(b)
    same = stand_in.core == b.core or (b.core == "cortex-m0plus" and stand_in.core == "cortex-m0")
    assert same, f"{board_id} ({b.core}) runs on {stand_in.id} ({stand_in.core})"
    assert b.memory_source


def test_capabilities_are_consistent():
    for b in all_boards().values():
        assert not b.helium or b.core == "cortex-m55"
        assert not b.dsp or b.core in ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
    assert get_board("mps3-an547").helium


@pytest.mark.parametrize("text,expected", [("320 KiB", 327680), ("1 MiB", 1 << 20), ("64KB", 65536), (512, 512)])
def test_parse_size(text, expected):
    assert parse_size(text, "x") == expected


def _broken(tmp_path: Path, edit) -> Path:
    src = (paths.boards_dir() / "nucleo-f746.toml").read_text()
    p = tmp_path / "nucleo-f746.toml"
    p.write_text(edit(src))
    return p


@pytest.mark.parametrize("edit,words", [
    (lambda s: s.replace('clock = "216 MHz"\n', ""), ["cpu.clock", "missing"]),
    (lambda s: s.replace('sram = "320 KiB"', 'sram = "320 kbit"'), ["memory.sram", "not a size"]),
    (lambda s: s.replace('core = "cortex-m7"', 'core = "cortex-m9"'), ["cpu.core", "unknown value"]),
    (lambda s: s.replace('clock = "216 MHz"', 'clock = "216 MB"'), ["cpu.clock", "not a frequency"]),
    (lambda s: s.replace('sram = "320 KiB"', 'sram = "300 KiB"'), ["memory.sram", "add up"]),
    (lambda s: s.replace('id = "nucleo-f746"', 'id = "other"'), ["id", "file is named"]),
    (lambda s: s.replace("[cpu]", "[cpu]\nspeed = 3"), ["cpu.speed", "not a known field"]),
    (lambda s: s + "\n[[[", ["not valid TOML"]),
])
def test_malformed_board_file_names_file_and_field(tmp_path, edit, words):
    p = _broken(tmp_path, edit)
    with pytest.raises(BoardError) as exc:
        load_board(p)
    msg = str(exc.value)
    assert str(p) in msg and "\n" not in msg
    for w in words:
        assert w in msg


def _tinyc(*args, env_extra=None):
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "tinyc.cli", *args], capture_output=True, text=True, env=env)


def test_cli_lists_boards_and_json_has_full_data():
    r = _tinyc("boards")
    assert r.returncode == 0
    for b in REAL | EMULATED:
        assert b in r.stdout
    data = json.loads(_tinyc("boards", "--json").stdout)
    f746 = next(d for d in data if d["id"] == "nucleo-f746")
    assert f746["sram"] == 327680 and f746["regions"][1]["name"] == "DTCM"
    shown = _tinyc("boards", "show", "nucleo-f746")
    assert shown.returncode == 0 and "USART3" in shown.stdout and "0x2004c000" in shown.stdout


def test_cli_malformed_board_is_one_line_error(tmp_path):
    bad = tmp_path / "boards"
    shutil.copytree(paths.boards_dir(), bad)
    text = (bad / "bluepill.toml").read_text().replace('flash = "64 KiB"', 'flash = "64 furlongs"')
    (bad / "bluepill.toml").write_text(text)
    r = _tinyc("boards", env_extra={"TINYC_BOARDS_DIR": str(bad)})
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "bluepill.toml" in lines[0] and "memory.flash" in lines[0]


def test_unknown_board_is_a_clear_error():
    r = _tinyc("boards", "show", "nucleo-f999")
    assert r.returncode == 2 and "unknown board 'nucleo-f999'" in r.stderr and "Traceback" not in r.stderr
