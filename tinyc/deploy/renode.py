"""Renode scripts for the boards Renode models (board file emulation.renode_platform).

Renode cannot be installed here (not in Debian or on PyPI; it needs .NET), so tinyc does not run
it: it writes a .resc script and a Robot Framework test beside the firmware for users who have
Renode. Addresses come from the board file (flash origin, RAM, console UART) and from the built
ELF (vector table, initial stack pointer, reset vector), so the scripts describe exactly the
firmware they sit next to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyc.boards import Board
from tinyc.deploy.project import contiguous_ram
from tinyc.errors import TinycError
from tinyc.render import render


@dataclass(frozen=True)
class RenodeScripts:
    resc: Path
    robot: Path
    vector_table: int
    initial_sp: int
    reset_vector: int
    uart_peripheral: str
    uart_base: int

    def to_json(self) -> dict:
        return {"resc": str(self.resc), "robot": str(self.robot), "vector_table": self.vector_table,
                "initial_sp": self.initial_sp, "reset_vector": self.reset_vector,
                "uart_peripheral": self.uart_peripheral, "uart_base": self.uart_base}


def vector_table(elf: Path) -> tuple[int, int, int]:
    """(address of .isr_vector, initial SP, reset vector) read from the ELF."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        sec = ELFFile(f).get_section_by_name(".isr_vector")
        if sec is None or sec["sh_size"] < 8:
            raise TinycError(f"{elf}: no .isr_vector section; is it tinyc firmware?")
        data = sec.data()
        return sec["sh_addr"], int.from_bytes(data[0:4], "little"), int.from_bytes(data[4:8], "little")


def render_renode(board: Board, elf: Path, out_dir: Path, expect_line: str | None = None) -> RenodeScripts:
    if not board.emulation.renode_platform:
        raise TinycError(f"{board.path}: no emulation.renode_platform: Renode does not model {board.id}")
    if board.console.base is None:
        raise TinycError(f"{board.path}: field 'console.base' is needed for the Renode scripts (the console "
                         f"{board.console.uart}'s address); add it")
    elf = Path(elf).resolve()
    vt, sp, reset = vector_table(elf)
    flash = board.flash_regions[0]
    ram = contiguous_ram(board.regions)
    if vt != flash.origin + board.upload.offset:
        raise TinycError(f"{elf}: its vector table is at 0x{vt:08X}, not at the start of {board.id}'s flash "
                         f"(0x{flash.origin + board.upload.offset:08X}); was it built for this board?")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    resc, robot = out_dir / f"{board.id}.resc", out_dir / f"{board.id}.robot"
    uart = board.console.uart.lower()  # Renode's STM32 platforms name them usart1, usart3, ...
    ctx = dict(board=board, elf=elf, elf_name=elf.name, flash=flash, ram=ram, vector_table=vt, initial_sp=sp,
               reset_vector=reset, uart_peripheral=uart, uart_base=board.console.base, resc=resc.resolve(),
               resc_name=resc.name, robot_name=robot.name,
               expect_line=expect_line or f"hello from tinyc on {board.id}")
    resc.write_text(render("renode/board.resc.j2", **ctx))
    robot.write_text(render("renode/board.robot.j2", **ctx))
    return RenodeScripts(resc, robot, vt, sp, reset, uart, board.console.base)
