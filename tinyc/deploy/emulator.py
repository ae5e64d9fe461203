"""QEMU: run firmware on an emulated Cortex-M machine with exact, repeatable timing.

-icount shift=0 makes one guest instruction one nanosecond of virtual time, so SysTick durations
are instruction counts (not cycles). The firmware leaves QEMU through semihosting with its own
exit code.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinyc.boards import Board
from tinyc.errors import TinycError

QEMU = "qemu-system-arm"


@dataclass(frozen=True)
class EmulatorRun:
    exit_code: int
    output: str
    timed_out: bool


def qemu_args(machine: str, elf: Path, serial: str = "stdio") -> list[str]:
    if not shutil.which(QEMU):
        raise TinycError(f"{QEMU} not found: install the Debian package qemu-system-arm "
                         f"(scripts/setup.sh does it)")
    return [QEMU, "-M", machine, "-nographic", "-monitor", "none",
            "-semihosting-config", "enable=on,target=native",
            "-icount", "shift=0,align=off,sleep=off",
            "-serial", serial, "-kernel", str(elf)]


def run_to_exit(board: Board, elf: Path, timeout: float = 60.0) -> EmulatorRun:
    """Run until the firmware exits; its console output is what QEMU printed on stdout."""
    machine = board.emulation.qemu_machine
    if not machine:
        raise TinycError(f"board {board.id!r} has no emulator")
    try:
        proc = subprocess.run(qemu_args(machine, elf), capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace")
        return EmulatorRun(-1, out, True)
    return EmulatorRun(proc.returncode, proc.stdout.decode(errors="replace"), False)
