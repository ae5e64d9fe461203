"""The foundation's firmware path: offline PlatformIO builds through our own platform, and QEMU runs."""

from __future__ import annotations

import pytest

from tests.conftest import require_tool
from tinyc import paths
from tinyc.boards import get_board
from tinyc.deploy.emulator import run_to_exit
from tinyc.deploy.platformio import build
from tinyc.deploy.project import render_project

HELLO = paths.firmware_dir() / "apps" / "hello" / "main.c"


@pytest.mark.toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board_id", ["mps2-an500", "mps2-an386", "mps3-an547"])
def test_hello_builds_and_prints_in_qemu(tmp_path, board_id):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    project = render_project(tmp_path / "hello", get_board(board_id), [HELLO], emulate=True)
    firmware = build(project)
    run = run_to_exit(project.run_board, firmware.elf, timeout=30)
    assert not run.timed_out
    assert run.exit_code == 0
    assert run.output == f"hello from tinyc on {board_id}\n"


@pytest.mark.toolchain
def test_hello_builds_for_nucleo_f746_with_its_own_memory_map(tmp_path):
    require_tool("arm-none-eabi-gcc")
    board = get_board("nucleo-f746")
    project = render_project(tmp_path / "hello", board, [HELLO], emulate=False)
    firmware = build(project)
    assert firmware.elf.is_file()
    ld = (project.path / "linker.ld").read_text()
    assert "ORIGIN = 0x08000000, LENGTH = 1048576" in ld
    assert "ORIGIN = 0x20000000, LENGTH = 327680" in ld  # DTCM+SRAM1+SRAM2 are contiguous
    assert "-mfpu=fpv5-sp-d16" in firmware.log or "fpv5-sp-d16" in (project.path / "boards" / "tinyc_nucleo_f746.json").read_text()


@pytest.mark.toolchain
@pytest.mark.emulator
def test_stand_in_run_keeps_the_real_boards_limits(tmp_path):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    project = render_project(tmp_path / "hello", get_board("nucleo-f746"), [HELLO], emulate=True)
    assert project.run_board.id == "mps2-an500"
    assert (project.flash.origin, project.flash.size) == (0x0, 1 << 20)
    assert (project.ram.origin, project.ram.size) == (0x20000000, 320 * 1024)
    run = run_to_exit(project.run_board, build(project).elf, timeout=30)
    assert run.output == "hello from tinyc on nucleo-f746\n" and run.exit_code == 0


@pytest.mark.toolchain
def test_link_fails_naming_the_region_when_it_does_not_fit(tmp_path):
    require_tool("arm-none-eabi-gcc")
    from tinyc.deploy.platformio import LinkOverflow

    big = tmp_path / "big.c"
    big.write_text(
        '#include "tinyc_port.h"\n'
        "static volatile unsigned char blob[30 * 1024];\n"  # bluepill has 20 KiB of SRAM
        "int main(void) { blob[0] = 1; return blob[0]; }\n"
    )
    project = render_project(tmp_path / "p", get_board("bluepill"), [big], emulate=True)
    with pytest.raises(LinkOverflow, match=r"region RAM \(.*bluepill.*\) overflowed by \d+ bytes"):
        build(project)
