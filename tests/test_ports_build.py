"""Real-board ports, checked where no hardware is: every real board's hello and harness firmware
builds offline, its ELF lies within the board's memory regions, its vector table (and the
RP2040's boot2 block) is where the chip boots from, and the board file's console choice reaches
the port. The hardware test at the end runs only with --hil-port/--hil-board."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import time

import pytest
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from tests import real_builds
from tests.conftest import require_tool
from tinyc.boards import get_board
from tinyc.deploy import svdcheck
from tinyc.deploy.platformio import build
from tinyc.deploy.project import contiguous_ram, render_project
from tinyc.deploy.uf2 import boot2_crc32

PAIRS = [(b, app) for b in real_builds.REAL_BOARDS for app in real_builds.APPS]


@pytest.fixture(scope="module")
def built():
    require_tool("arm-none-eabi-gcc")
    return real_builds.build_all(PAIRS)


def _elf(built, board_id, app):
    fw = built[(board_id, app)]
    if isinstance(fw, Exception):
        pytest.fail(f"{board_id} {app} did not build: {fw}")
    return fw


def _sections(elf_path):
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        out = {}
        for s in elf.iter_sections():
            if s["sh_flags"] & SH_FLAGS.SHF_ALLOC and s["sh_size"]:
                out[s.name] = (s["sh_addr"], s["sh_size"], s["sh_type"],
                               s.data() if s["sh_type"] != "SHT_NOBITS" else b"")
        segments = [(seg["p_paddr"], seg["p_filesz"]) for seg in elf.iter_segments()
                    if seg["p_type"] == "PT_LOAD" and seg["p_filesz"]]
        symbols = {sym.name: sym["st_value"] for sym in elf.get_section_by_name(".symtab").iter_symbols()}
    return out, segments, symbols


@pytest.mark.toolchain
@pytest.mark.parametrize("board_id,app", PAIRS)
def test_firmware_lies_within_the_boards_regions(built, board_id, app):
    board = get_board(board_id)
    fw = _elf(built, board_id, app)
    flash, ram = board.flash_regions[0], contiguous_ram(board.regions)
    ld = (fw.project.path / "linker.ld").read_text()
    assert f"ORIGIN = 0x{flash.origin:08X}, LENGTH = {flash.size}" in ld
    assert f"ORIGIN = 0x{ram.origin:08X}, LENGTH = {ram.size}" in ld
    sections, segments, _ = _sections(fw.elf)
    for name, (addr, size, _, _) in sections.items():
        assert any(r.origin <= addr and addr + size <= r.end for r in board.regions), \
            f"{name} at 0x{addr:08X}+{size} is outside {board_id}'s regions"
    for addr, size in segments:  # what gets written to flash, .data's initial values included
        assert flash.origin <= addr and addr + size <= flash.end, f"load segment 0x{addr:08X}+{size} not in flash"
    assert min(a for a, _ in segments) == flash.origin  # nothing below the application start (Nano: 0x10000)


@pytest.mark.toolchain
@pytest.mark.parametrize("board_id", real_builds.REAL_BOARDS)
def test_vector_table_is_where_the_chip_boots(built, board_id):
    board = get_board(board_id)
    sections, _, sym = _sections(_elf(built, board_id, "hello").elf)
    flash, ram = board.flash_regions[0], contiguous_ram(board.regions)
    boot2 = 256 if board.family == "rp2040" else 0
    vt_addr, vt_size, _, vt = sections[".isr_vector"]
    assert vt_addr == flash.origin + boot2 == sym["tinyc_vectors"]
    words = [int.from_bytes(vt[i:i + 4], "little") for i in range(0, vt_size, 4)]
    assert words[0] == sym["_estack"] and ram.origin < words[0] <= ram.end and words[0] % 8 == 0
    assert words[1] == sym["Reset_Handler"] | 1  # Thumb
    assert words[3] == sym["HardFault_Handler"] | 1
    assert flash.origin <= sym["Reset_Handler"] < flash.end


@pytest.mark.toolchain
def test_rp2040_boot2_block_has_its_crc_and_hands_over_to_the_vector_table(built):
    sections, _, _ = _sections(_elf(built, "rpi-pico", "hello").elf)
    addr, size, _, data = sections[".boot2"]
    assert (addr, size) == (0x10000000, 256)
    assert int.from_bytes(data[252:], "little") == boot2_crc32(data[:252])
    assert (0x10000100).to_bytes(4, "little") in data[:252]  # the vector table it enters
    bin_image = (_elf(built, "rpi-pico", "hello").elf.with_suffix(".bin")).read_bytes()
    assert bin_image[:256] == data  # the .bin (and so the UF2) carries the patched block


@pytest.mark.toolchain
@pytest.mark.parametrize("board_id", real_builds.REAL_BOARDS)
def test_board_file_console_reaches_the_port(built, board_id):
    board = get_board(board_id)
    fw = _elf(built, board_id, "hello")
    ini = (fw.project.path / "platformio.ini").read_text()
    assert f"-DTINYC_UART_{board.console.uart}=1" in ini
    assert f"-DTINYC_CLOCK_HZ={board.clock_hz}u" in ini and "-DTINYC_NO_SEMIHOSTING=1" in ini
    # The board file's console instance selects the port's UART: CON_BASE, as the compiler sees it
    # with this project's flags, is that instance's base address from the port's own table.
    uarts = {a.path: a.value for a in svdcheck.annotations(board.family) if a.kind == "svd" and "." not in a.path}
    uart_base = uarts[board.console.uart]
    flags = re.findall(r"^\s+(-D\S+)$", ini.split("_stock]")[0], re.M)
    macros = {}
    for src in sorted((fw.project.path / "src" / "port").glob(f"{board.family}_*.c")):
        out = subprocess.run(["arm-none-eabi-gcc", "-E", "-dM", f"-I{fw.project.path / 'include'}", *flags,
                              str(src)], capture_output=True, text=True, check=True).stdout
        for m in re.finditer(r"^#define (\w+) (.+)$", out, re.M):
            macros.setdefault(m.group(1), m.group(2).strip())
    if "CON_BASE" in macros:
        value = macros["CON_BASE"]
        while value in macros:
            value = macros[value]
        assert int(value.rstrip("uU"), 0) == uart_base
    else:  # a single-instance port (nRF52: UARTE0)
        assert f"TINYC_UART_{board.console.uart}" in macros
    if board.console.base is not None:
        assert board.console.base == uart_base, "the board file and the port disagree on the console address"


@pytest.mark.toolchain
def test_unsupported_console_uart_is_a_clear_error_before_any_compile(tmp_path):
    from tinyc.boards import BoardError

    board = get_board("nucleo-f746")
    bad = dataclasses.replace(board, console=dataclasses.replace(board.console, uart="USART9"))
    with pytest.raises(BoardError, match=r"stm32f7/family.toml: no console entry for nucleo-f746's console.uart "
                                         r"USART9; add \[console.USART9\].*\(it has USART1, USART2, USART3, USART6\)"):
        render_project(tmp_path / "p", bad, [real_builds.HELLO], emulate=False)
    assert not (tmp_path / "p" / "platformio.ini").exists()


@pytest.mark.hil
def test_hello_on_real_hardware(request):
    """Uploads the hello firmware to --hil-board and reads its greeting on --hil-port (the console).
    Boards whose upload port is not their console (Nano 33 BLE: bossac on its USB port; Pico: the
    boot drive) take the upload port or drive from TINYC_HIL_UPLOAD_PORT."""
    import os

    import serial

    from tinyc.deploy import upload

    board_id = request.config.getoption("--hil-board")
    if not board_id:
        pytest.fail("pass --hil-board ID with --hil-port")
    board = get_board(board_id)
    console_port = request.config.getoption("--hil-port")
    upload_port = None
    if board.upload.protocol in ("bossac", "uf2"):
        upload_port = os.environ.get("TINYC_HIL_UPLOAD_PORT")
        if not upload_port:
            pytest.skip(f"{board.id} uploads through another port than its console: set TINYC_HIL_UPLOAD_PORT")
    from tinyc.deploy.targets import target_for

    target = target_for(board, port=upload_port)  # the board file's uploader, as tinyc flash uses it
    target.locate()
    elf = upload.hello_firmware(board)
    with serial.Serial(console_port, board.console.baud, timeout=1) as console:
        target.flash(elf)
        deadline, seen = time.monotonic() + 15, b""
        while time.monotonic() < deadline and not re.search(rb"hello from tinyc on \S+\r?\n", seen):
            seen += console.read(64)
    assert re.search(rb"hello from tinyc on " + board.id.encode() + rb"\r?\n", seen), seen
