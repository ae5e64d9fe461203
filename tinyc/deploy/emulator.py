"""QEMU: run firmware on an emulated Cortex-M machine with exact, repeatable timing.

-icount shift=0 makes one guest instruction one nanosecond of virtual time, so durations on the port's
timer (SysTick, or TIMER0 on the nRF51) are instruction counts (not cycles). The firmware leaves QEMU
through semihosting with its own exit code. QEMU is started through tinyc.procs: it dies with tinyc, even
when tinyc is killed.
"""

from __future__ import annotations

import re
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


def qemu_args(machine: str, elf: Path, serial: str = "stdio", icount: bool = True) -> list[str]:
    """QEMU's command line; without ``icount`` it runs faster but its timings mean nothing."""
    if not shutil.which(QEMU):
        raise TinycError(f"{QEMU} not found: install the Debian package qemu-system-arm "
                         f"(scripts/setup.sh does it)")
    timing = ["-icount", "shift=0,align=off,sleep=off"] if icount else []
    return [QEMU, "-M", machine, "-nographic", "-monitor", "none",
            "-semihosting-config", "enable=on,target=native", *timing,
            "-serial", serial, "-kernel", str(elf)]


def run_to_exit(board: Board, elf: Path, timeout: float = 60.0) -> EmulatorRun:
    """Run until the firmware exits; its console output is what QEMU printed on stdout."""
    machine = board.emulation.qemu_machine
    if not machine:
        raise TinycError(f"board {board.id!r} has no emulator")
    from tinyc import procs

    try:
        proc = procs.run(qemu_args(machine, elf), capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace")
        return EmulatorRun(-1, out, True)
    return EmulatorRun(proc.returncode, proc.stdout.decode(errors="replace"), False)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuSession:
    """QEMU running firmware whose console is a TCP server; talk to it with ``link()``.

    With ``wait=True`` (the default) QEMU holds the guest until the host connects, so nothing the
    firmware prints is lost; ``wait=False`` starts the guest at once, like a board that booted
    before its serial port was opened (tests use it). ``icount=False`` drops the exact timing for
    speed (validation compares outputs only; a bench always keeps it).
    """

    def __init__(self, board: Board, elf: Path, *, wait: bool = True, icount: bool = True):
        machine = board.emulation.qemu_machine
        if not machine:
            raise TinycError(f"board {board.id!r} has no emulator")
        self.board, self.elf, self.wait = board, Path(elf), wait
        if not self.elf.is_file():
            raise TinycError(f"{self.elf}: firmware not found; build it first")
        self.port = 0 if wait else _free_port()
        serial = f"tcp:127.0.0.1:{self.port},server=on,wait={'on' if wait else 'off'},nodelay=on"
        self._args = qemu_args(machine, self.elf, serial=serial, icount=icount)
        self.proc: subprocess.Popen | None = None
        self.stderr: list[str] = []

    def start(self, timeout: float = 15.0) -> str:
        """Start QEMU; return the pyserial URL of its console."""
        import threading
        import time

        from tinyc import procs

        self.proc = procs.popen(self._args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        found = threading.Event()

        def drain() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            for line in self.proc.stderr:
                self.stderr.append(line.rstrip())
                m = re.search(r"connection on: \S*tcp:127\.0\.0\.1:(\d+)", line)
                if m and self.wait:
                    self.port = int(m.group(1))
                    found.set()

        threading.Thread(target=drain, daemon=True).start()
        if self.wait:
            deadline = time.monotonic() + timeout
            while not found.wait(0.05):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = " ".join(self.stderr[-3:])
                    self.stop()
                    raise TinycError(f"QEMU did not open its serial port for {self.elf}: {err or 'no output'}")
        else:
            self._wait_listening(timeout)
        return self.url

    def _wait_listening(self, timeout: float) -> None:
        """Wait until QEMU listens on our port (Linux: /proc/net/tcp; elsewhere a short pause)."""
        import time

        deadline = time.monotonic() + timeout
        tcp = Path("/proc/net/tcp")
        needle = f":{self.port:04X} 00000000:0000 0A"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise TinycError(f"QEMU exited early ({self.proc.returncode}): {' '.join(self.stderr[-3:])}")
            if not tcp.exists():
                time.sleep(1.0)
                return
            if needle in tcp.read_text():
                return
            time.sleep(0.02)
        raise TinycError(f"QEMU did not listen on port {self.port} within {timeout:g} s")

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def link(self, **kw):
        from tinyc.deploy.link import Link

        return Link.open(self.url, **kw)

    def wait_exit(self, timeout: float = 10.0) -> int | None:
        """The firmware's exit code, or None if QEMU is still running after ``timeout``."""
        if self.proc is None:
            return None
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        from tinyc import procs

        procs.forget(self.proc)
        return rc

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        from tinyc import procs

        return procs.stop(self.proc, grace=0)  # SIGKILL: QEMU holds nothing that needs a clean exit

    def __enter__(self) -> "QemuSession":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
