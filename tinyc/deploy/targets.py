"""One interface for every way of reaching a board, in the spirit of microTVM's Project API.

A ``Target`` is a board (whose limits and CPU flags a build uses) and the board that runs the firmware
(itself, or its emulated stand-in), reached one way: a QEMU machine, an already-flashed serial port, or an
uploader (OpenOCD, pyOCD, bossac, a UF2 drive; in ``tinyc.deploy.upload``). Every target has the same few
methods: ``build`` (firmware for it), ``flash`` (put firmware on it), ``open_link`` (the serial link to the
firmware) and ``close``. ``target_for`` picks the class from the board file's fields, so nothing else in
tinyc asks what kind of board it has.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from tinyc.boards import QEMU_PROTOCOL, Board, get_board
from tinyc.errors import TinycError

if TYPE_CHECKING:
    from tinyc.deploy.pipeline import BuiltFirmware


class Target:
    """A board reached one way. ``emulate``: the user asked for the emulated stand-in (part of a build's key)."""

    emulated: ClassVar[bool] = False  # figures are QEMU instructions (True) or the core's cycles
    unit: ClassVar[str] = "cycles"  # what a measured figure counts
    tool: ClassVar[str] = ""  # the uploader, where there is one
    uploads: ClassVar[bool] = False  # flash() puts firmware on the board (else it is there, or QEMU loads it)

    def __init__(self, board: Board, run_board: Board, *, port: str | None = None, emulate: bool = False,
                 timeout: float = 60.0):
        self.board, self.run_board, self.port, self.emulate, self.timeout = board, run_board, port, emulate, timeout
        self._open = contextlib.ExitStack()

    # -- build -----------------------------------------------------------------------------------
    def build(self, model: str | Path | None, *, firmware_dir: str | Path | None = None, into: Any = None,
              say: Callable[[str], None] = lambda m: None, **options: Any) -> BuiltFirmware | None:
        """Firmware of ``model`` for this target (``tinyc.deploy.pipeline``): built into ``into`` (an open
        ``OutputDir``: `tinyc build`), else the earlier build in ``firmware_dir`` (--firmware), else from tinyc's
        build cache. ``options`` as ``pipeline.build_into`` takes them (profile, weights, step, skip_check, ...)."""
        from tinyc.deploy import pipeline

        if into is not None:
            return pipeline.build_into(Path(model), self.board.id, into, emulate=self.emulate, **options)
        return pipeline.firmware_for(model, self.board.id, self.emulate, firmware_dir, say=say, **options)

    def port_defines(self) -> dict[str, str]:
        """The -D flags that tell the firmware port how it is run (timer, console pins, semihosting)."""
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        """Generated headers the firmware port includes: {file name: text}."""
        return {}

    def pio_upload(self) -> tuple[str, str]:
        """(upload_protocol, upload_command) for the generated platformio.ini."""
        return self.board.upload.protocol, ""

    @property
    def stock_platform(self) -> str:
        """PlatformIO's stock platform for the board (an extra env for users with internet), or ''."""
        return ""

    # -- run ---------------------------------------------------------------------------------------
    def require_link(self) -> None:
        """Fail early, before any build, when this target cannot be reached over a link."""

    where: ClassVar[str] = "on hardware"  # where the firmware runs, for messages

    def locate(self, *, dry_run: bool = False) -> str | None:
        """Find the board to flash (probe, serial port or boot drive) before any slow work, so that no board
        attached is one line at once; None where there is nothing to find."""
        return None

    def flash(self, elf: Path, *, dry_run: bool = False, say: Callable[[str], None] = lambda m: None) -> Any:
        """Put ``elf`` on the board; return the upload plan, or None when nothing is uploaded."""
        return None

    def open_link(self, elf: Path | None, *, timing: bool = True):
        """The serial link to the firmware, open until ``close``."""
        raise NotImplementedError

    def close(self) -> None:
        self._open.close()

    def __enter__(self) -> "Target":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class QemuTarget(Target):
    """A QEMU machine: the emulated board itself, or the real board's stand-in running its firmware."""

    emulated = True
    unit = "instructions"  # QEMU -icount: exact instruction counts, never cycles
    protocol: ClassVar[str] = QEMU_PROTOCOL  # the board file's upload.protocol of a board QEMU runs

    def port_defines(self) -> dict[str, str]:
        run = self.run_board
        if run.emulation.tick_hz is None:
            from tinyc.errors import NotImplementedYet

            raise NotImplementedYet(f"{run.path}: no emulation.systick_clock or emulation.timer_clock; "
                                    f"timing on {run.id} is not supported yet")
        d = {"TINYC_TICK_HZ": f"{run.emulation.tick_hz}u", "TINYC_EMULATED": "1"}
        if run.console.tx_pin and run.console.rx_pin:  # a port that sets up its console pins
            from tinyc.deploy.portdefs import console_pin_defines

            d.update(console_pin_defines(run))
        return d

    def pio_upload(self) -> tuple[str, str]:
        return self.protocol, ""

    @property
    def where(self) -> str:  # type: ignore[override]
        return f"in QEMU {self.run_board.emulation.qemu_machine}"

    def flash(self, elf: Path, *, dry_run: bool = False, say: Callable[[str], None] = lambda m: None) -> None:
        """Nothing to upload: QEMU loads the ELF when the link opens."""
        return None

    def open_link(self, elf: Path | None, *, timing: bool = True):
        from tinyc.deploy.emulator import QemuSession

        if elf is None:
            raise TinycError("no firmware to run: build one first")
        q = self._open.enter_context(QemuSession(self.run_board, elf, icount=timing))
        link = self._open.enter_context(q.link(reply_timeout=self.timeout))

        def stop_firmware() -> None:  # the firmware exits cleanly before QEMU is stopped
            try:
                if q.proc is not None and q.proc.poll() is None:
                    link.exit(0)
            except TinycError:
                pass

        self._open.callback(stop_firmware)
        return link


class SerialTarget(Target):
    """A real board already running tinyc firmware, reached over its serial port (``--port``)."""

    syncs_after_flash: ClassVar[bool] = True  # the console answers on ``port`` once the upload is done

    def build(self, model: str | Path | None, **options: Any) -> BuiltFirmware | None:
        """Nothing to build: the board already runs tinyc firmware (built and flashed earlier)."""
        return None

    def port_defines(self) -> dict[str, str]:
        from tinyc.deploy.portdefs import real_board_defines  # console pins, crystal, DWT

        return {"TINYC_NO_SEMIHOSTING": "1", **real_board_defines(self.board)}

    def headers(self) -> dict[str, str]:
        from tinyc.deploy.family import HEADER, family_header

        text = family_header(self.board)  # the clock plan and console of the real chip
        return {HEADER: text} if text is not None else {}

    def require_link(self) -> None:
        if not self.port:
            stand_in = self.board.emulation.qemu_machine
            hint = f", or add --emulate to run it on its emulated stand-in {stand_in}" if stand_in else ""
            raise TinycError(f"{self.board.id} is a real board: flash it with 'tinyc flash' and pass its serial "
                             f"port with --port{hint}")

    def open_link(self, elf: Path | None = None, *, timing: bool = True):
        from tinyc.deploy.link import Link

        self.require_link()
        return self._open.enter_context(Link.open(self.port, 115200, reply_timeout=self.timeout))


def resolve(board_id: str | Board, emulate: bool = False) -> tuple[Board, Board]:
    """(board whose limits the build uses, board that runs it): the stand-in with ``emulate``."""
    board = board_id if isinstance(board_id, Board) else get_board(board_id)
    return board, board.runner(emulate)


def target_for(board_id: str | Board, *, emulate: bool = False, port: str | None = None, tool: str | None = None,
               timeout: float = 60.0, flashed: bool = False) -> Target:
    """The target that reaches the board as its board file's upload.protocol says: QEMU (protocol qemu, or a
    real board's stand-in with ``emulate``); else the board's uploader (``tool`` overrides it), or, with
    ``flashed``, the serial port of a board already running the firmware."""
    board, run_board = resolve(board_id, emulate)
    if run_board.upload.protocol == QemuTarget.protocol:
        return QemuTarget(board, run_board, port=port, emulate=emulate, timeout=timeout)
    if flashed:
        return SerialTarget(board, run_board, port=port, timeout=timeout)
    from tinyc.deploy.upload import uploader_class

    return uploader_class(board, tool)(board, run_board, port=port, timeout=timeout)


def serial_target(port: str, board: Board | None = None, timeout: float = 60.0) -> SerialTarget:
    """A link to firmware that is already running on ``port`` (the firmware names its board itself)."""
    return SerialTarget(board, board, port=port, timeout=timeout)  # type: ignore[arg-type]


def run_target(board_id: str, *, emulate: bool = False, port: str | None = None, timeout: float = 60.0) -> Target:
    """What bench and validate talk to: the serial ``port`` of a board already running the firmware, else the
    board's own target, which must be reachable over a link (an error before any build otherwise)."""
    if port:
        return serial_target(port, timeout=timeout)
    target = target_for(board_id, emulate=emulate, timeout=timeout, flashed=True)
    target.require_link()
    return target
