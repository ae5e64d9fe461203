"""Renode scripts (not run here: Renode is not installable on this machine or in CI) are generated
consistently: addresses from the board file, the vector table, stack and reset vector from the
ELF they sit beside, the console peripheral the port really drives."""

from __future__ import annotations

import re

import pytest
from elftools.elf.elffile import ELFFile

from tests import real_builds
from tests.conftest import require_tool
from tinyc.boards import all_boards, get_board
from tinyc.deploy import svdcheck
from tinyc.deploy.renode import render_renode
from tinyc.errors import TinycError

RENODE_BOARDS = sorted(b.id for b in all_boards().values() if b.kind == "real" and b.emulation.renode_platform)


def test_the_f746_boards_are_the_ones_renode_models():
    assert RENODE_BOARDS == ["disco-f746ng", "nucleo-f746"]


@pytest.mark.toolchain
@pytest.mark.parametrize("board_id", RENODE_BOARDS)
def test_scripts_match_the_board_file_and_the_elf(tmp_path, board_id):
    require_tool("arm-none-eabi-gcc")
    board = get_board(board_id)
    elf = real_builds.firmware(board_id, "hello").elf
    scripts = render_renode(board, elf, tmp_path)
    resc, robot = scripts.resc.read_text(), scripts.robot.read_text()

    with open(elf, "rb") as f:
        e = ELFFile(f)
        vt = e.get_section_by_name(".isr_vector")
        words = [int.from_bytes(vt.data()[i:i + 4], "little") for i in (0, 4)]
        vt_addr = vt["sh_addr"]
    flash = board.flash_regions[0]
    assert vt_addr == flash.origin
    assert f"machine LoadPlatformDescription @{board.emulation.renode_platform}\n" in resc
    assert f"sysbus LoadELF $elf" in resc and f"$elf?=@{elf.resolve()}\n" in resc
    assert f"sysbus.cpu VectorTableOffset 0x{flash.origin:08X}\n" in resc
    uart = board.console.uart.lower()
    assert f"showAnalyzer sysbus.{uart}\n" in resc

    def var(name):
        return int(re.search(rf"^\${{{name}}}\s+(0x[0-9A-F]+)$", robot, re.M).group(1), 16)

    assert var("VECTORS") == vt_addr and var("RESET_SLOT") == vt_addr + 4
    assert var("INITIAL_SP") == words[0] and var("RESET_VECTOR") == words[1]
    ram_start, ram_end = var("RAM_START"), var("RAM_END")
    assert ram_start < words[0] <= ram_end
    # The console address: board file == the port's own register table == what the test probes.
    port_base = next(a.value for a in svdcheck.annotations(board.family) if a.path == board.console.uart)
    assert var("UART_BASE") == board.console.base == port_base
    assert f"${{UART}}           sysbus.{uart}\n" in robot
    assert f"Wait For Line On Uart     hello from tinyc on {board_id}\n" in robot
    assert f"${{RESC}}           @{scripts.resc.resolve()}\n" in robot


def test_boards_renode_does_not_model_are_refused(tmp_path):
    with pytest.raises(TinycError, match="no emulation.renode_platform"):
        render_renode(get_board("nucleo-h743"), tmp_path / "firmware.elf", tmp_path)
