"""Board files are validated at load (boards/README.md), because their fields reach generated C, the
linker script, platformio.ini, Renode scripts and the terminal: names of a safe character set, `family`
one of the port folders, addresses and sizes inside 32 bits, regions apart, clocks and baud in range.
Each bad file is one line naming the file, the field, the problem and the fix: from load_board, and from
the CLI (exit 2, no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyc import paths
from tinyc.boards import BoardError, all_boards, load_board

TINYC = [sys.executable, "-m", "tinyc.cli"]


def _board(tmp_path: Path, edit, board_id: str = "nucleo-f746") -> Path:
    src = (paths.boards_dir() / f"{board_id}.toml").read_text()
    changed = edit(src)
    assert changed != src, "the edit must change the file"
    folder = tmp_path / "boards"
    folder.mkdir(exist_ok=True)
    (folder / "mps2-an500.toml").write_text((paths.boards_dir() / "mps2-an500.toml").read_text())  # the stand-in
    p = folder / f"{board_id}.toml"
    p.write_text(changed)
    return p


def _region0(name: str) -> callable:
    return lambda s: s.replace('{ name = "FLASH", kind = "flash", origin = 0x08000000',
                               f'{{ name = {name}, kind = "flash", origin = 0x08000000')


BAD = [
    # names
    (_region0('"FLASH */ INCLUDE /any/file.ld /*"'), ["memory.regions[0].name", "identifier"]),
    (_region0('"FLASH\\nINCLUDE /any/file.ld"'), ["memory.regions[0].name"]),
    (lambda s: s.replace('uart = "USART3"', 'uart = "USART3 */"'), ["console.uart", "identifier"]),
    (lambda s: s.replace('tx_pin = "PD8"', 'tx_pin = "PD8\\"; x"'), ["console.tx_pin", "pin name"]),
    (lambda s: s.replace('platformio_board = "nucleo_f746zg"',
                         'platformio_board = "nucleo_f746zg\\n[env:evil]\\nextra_scripts = /tmp/evil.py"'),
     ["upload.platformio_board", "line break"]),
    (lambda s: s.replace('platformio_board = "nucleo_f746zg"', 'platformio_board = "nucleo ; upload_command = x"'),
     ["upload.platformio_board", "PlatformIO board id"]),
    (lambda s: s.replace('protocol = "stlink"', 'protocol = "stlink\\nupload_command = rm"'),
     ["upload.protocol"]),
    (lambda s: s.replace('renode_platform = "platforms/cpus/stm32f746.repl"',
                         'renode_platform = "../../etc/x.repl"'), ["emulation.renode_platform", ".repl path"]),
    (lambda s: s.replace('qemu_machine = "mps2-an500"', 'qemu_machine = "mps2-an500 -kernel /x"'),
     ["emulation.qemu_machine"]),
    (lambda s: s.replace('mcu = "STM32F746ZG"', 'mcu = "STM32\\u001b]0;title\\u0007"'), ["mcu", "control character"]),
    # family
    (lambda s: s.replace('family = "stm32f7"', 'family = "../../../tmp/x"'),
     ["field 'family'", "not a firmware port", "stm32f7", "firmware/ports/"]),
    (lambda s: s.replace('family = "stm32f7"', 'family = "cortex-m"'), ["field 'family'", "not a firmware port"]),
    # addresses and sizes
    (lambda s: s.replace('size = "1 MiB", note = "AXIM', 'size = "' + "9" * 400 + ' KiB", note = "AXIM'),
     ["memory.regions[0].size", "more than 4 GiB"]),
    (lambda s: s.replace('flash = "1 MiB"', "flash = " + "9" * 400), ["memory.flash", "more than 4 GiB"]),
    (lambda s: s.replace('flash = "1 MiB"', "flash = " + "9" * 5000), ["number too long"]),
    (lambda s: s.replace("origin = 0x08000000", "origin = 0x108000000"),
     ["memory.regions[0].origin", "32-bit address space"]),
    (lambda s: s.replace("origin = 0x2004C000", "origin = 0xFFFFD000"),
     ["memory.regions[3].size", "past 0xFFFFFFFF"]),
    (lambda s: s.replace("base = 0x40004800", "base = -1"), ["console.base", "32-bit"]),
    (lambda s: s.replace("origin = 0x20010000", "origin = 0x2000F000"),
     ["memory.regions", "DTCM", "SRAM1", "overlap"]),
    (lambda s: s.replace('{ name = "SRAM2"', '{ name = "SRAM1"'), ["memory.regions[3].name", "second region"]),
    (lambda s: s.replace('size = "1 MiB", note = "AXIM', 'size = "0.5 B", note = "AXIM'),
     ["memory.regions[0].size", "whole number"]),
    (lambda s: s.replace('protocol = "stlink"', 'protocol = "stlink"\noffset = 0x200000'),
     ["upload.offset", "past the end"]),
    # rates
    (lambda s: s.replace("baud = 115200", "baud = 0"), ["console.baud", "300 to 12,000,000"]),
    (lambda s: s.replace("baud = 115200", "baud = 99999999999"), ["console.baud", "outside"]),
    (lambda s: s.replace('clock = "216 MHz"', 'clock = "216 GHz"'), ["cpu.clock", "1 MHz to 1 GHz"]),
    (lambda s: s.replace('clock = "216 MHz"', 'clock = "1' + "0" * 400 + ' Hz"'), ["cpu.clock", "outside"]),
    (lambda s: s.replace('clock = "216 MHz"', 'clock = "216 MHz"\ncrystal = "5 GHz"'),
     ["cpu.crystal", "1 MHz to 100 MHz"]),
    # structure
    (lambda s: s.replace('notes = "The 16', "deep = " + "[" * 3000 + "]" * 3000 + '\nnotes = "The 16'),
     ["nested too deeply"]),
    (lambda s: s + "\n[[emulation.memory]]\nname = \"RAM\"\nkind = \"ram\"\norigin = 0x20000000\nsize = \"4 MiB\"\n",
     ["emulation.memory", "no flash region"]),
]


@pytest.mark.parametrize("edit,words", BAD)
def test_bad_board_file_is_one_line_naming_file_field_and_fix(tmp_path, edit, words):
    p = _board(tmp_path, edit)
    with pytest.raises(BoardError) as exc:
        load_board(p)
    msg = str(exc.value)
    assert msg.startswith(str(p)) and "\n" not in msg and len(msg) < 400, msg
    assert ";" in msg  # problem; fix
    for w in words:
        assert w in msg, msg


def test_every_shipped_board_passes_validation():
    boards = all_boards()
    assert len(boards) >= 16
    families = {b.family for b in boards.values()}
    assert families <= {d.name for d in (paths.firmware_dir() / "ports").iterdir()}


def _cli(*args, boards_dir: Path):
    env = dict(os.environ, TINYC_BOARDS_DIR=str(boards_dir))
    return subprocess.run([*TINYC, *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("edit,field", [
    (_region0('"FLASH */ INCLUDE /any/file.ld /*"'), "memory.regions[0].name"),
    (lambda s: s.replace('family = "stm32f7"', 'family = "../../../tmp/x"'), "family"),
    (lambda s: s.replace('platformio_board = "nucleo_f746zg"', 'platformio_board = "x\\n[env:evil]"'),
     "upload.platformio_board"),
    (lambda s: s.replace('flash = "1 MiB"', "flash = " + "9" * 400), "memory.flash"),
    (lambda s: s.replace('notes = "The 16', "deep = " + "[" * 3000 + "]" * 3000 + '\nnotes = "The 16'), ""),
])
def test_cli_refuses_a_bad_board_with_one_error_line(tmp_path, edit, field):
    p = _board(tmp_path, edit)
    for args in (["boards"], ["boards", "show", "nucleo-f746"], ["check", "any.tflite", "--board", "nucleo-f746"]):
        r = _cli(*args, boards_dir=p.parent)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(p) in lines[0] and field in lines[0]


def test_emulation_memory_without_flash_is_refused_before_a_build(tmp_path):
    """It used to load and then stop the build with StopIteration in the linker-script step."""
    p = _board(tmp_path, lambda s: s.replace(
        'regions = [\n  { name = "FLASH", kind = "flash", origin = 0x00000000, size = "4 MiB", note = "SSRAM1, used as '
        'code memory" },',
        'regions = [\n  { name = "FLASH", kind = "flash", origin = 0x00000000, size = "4 MiB" },')
        + '\n[[emulation.memory]]\nname = "DATA"\nkind = "ram"\norigin = 0x20000000\nsize = "4 MiB"\n', "mps2-an500")
    r = _cli("check", "x.tflite", "--board", "mps2-an500", boards_dir=p.parent)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "emulation.memory" in r.stderr and "no flash region" in r.stderr


def test_board_text_with_markup_prints_as_written(tmp_path):
    p = _board(tmp_path, lambda s: s.replace('name = "ST NUCLEO-F746ZG"', 'name = "Evil [/bold] board [red]x"')
               .replace('mcu = "STM32F746ZG"', 'mcu = "[bold]STM32F746ZG"'))
    for args in (["boards"], ["boards", "show", "nucleo-f746"]):
        r = _cli(*args, boards_dir=p.parent)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
    assert "Evil [/bold] board [red]x" in r.stdout and "[bold]STM32F746ZG" in r.stdout
