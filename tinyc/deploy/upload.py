"""Upload firmware to a real board with tools that install offline: one target class per uploader.

Each board file names its upload protocol, which selects the class (``UPLOADERS``): `stlink` (OpenOCD,
Debian package openocd; pyOCD from PyPI as the alternative, --tool pyocd), `bossac` (the Arduino Nano 33
BLE's SAM-BA compatible boot loader, Debian package bossa-cli) or `uf2` (a UF2 file copied to the RP2040's
USB boot drive). Before running anything each class checks that a board is attached, that the uploader is
installed and that we may open the board, so each failure gets its own one-line error and fix. A new
uploader is a subclass of ``UploadTarget`` added to ``UPLOADERS`` (docs/how-to/add-an-uploader.md).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from tinyc.boards import Board
from tinyc.deploy.targets import SerialTarget, Target
from tinyc.errors import TinycError

# USB ids of the probes and boot loaders we look for.
STLINK_VID = 0x0483
STLINK_PIDS = {0x3744: "ST-LINK/V1", 0x3748: "ST-LINK/V2", 0x374B: "ST-LINK/V2-1", 0x3752: "ST-LINK/V2-1",
               0x374D: "STLINK-V3 loader", 0x374E: "STLINK-V3", 0x374F: "STLINK-V3", 0x3753: "STLINK-V3",
               0x3754: "STLINK-V3", 0x3757: "STLINK-V3"}
ARDUINO_VID = 0x2341
NANO33BLE_PIDS = {0x005A: "boot loader", 0x805A: "application"}
DEBIAN_PACKAGES = {"openocd": "openocd", "bossac": "bossa-cli", "st-flash": "stlink-tools"}


class UploadError(TinycError):
    pass


class NoBoardError(UploadError):
    """Nothing to upload to: no probe, serial port or boot drive found."""


@dataclass(frozen=True)
class UploadPlan:
    board: str
    tool: str  # openocd, pyocd, bossac, uf2
    command: tuple[str, ...]  # the exact command line (for uf2: the copy, done in Python)
    firmware: Path  # what gets written: .elf, .bin or .uf2
    device: str | None = None  # the probe, serial port or boot drive it goes to
    notes: tuple[str, ...] = field(default=())

    @property
    def shell(self) -> str:
        return shlex.join(self.command)

    def to_json(self) -> dict:
        return {"board": self.board, "tool": self.tool, "command": list(self.command), "shell": self.shell,
                "firmware": str(self.firmware), "device": self.device, "notes": list(self.notes)}


@dataclass(frozen=True)
class UsbDevice:
    vid: int
    pid: int
    node: Path | None  # /dev/bus/usb/BBB/DDD
    serial: str = ""


def usb_devices(sysfs: Path = Path("/sys/bus/usb/devices"), devfs: Path = Path("/dev/bus/usb")) -> list[UsbDevice]:
    """USB devices from sysfs (empty where there is no USB, as in a container)."""
    found = []
    if not sysfs.is_dir():
        return found
    for d in sorted(sysfs.iterdir()):
        try:
            vid = int((d / "idVendor").read_text().strip(), 16)
            pid = int((d / "idProduct").read_text().strip(), 16)
        except (OSError, ValueError):
            continue
        node = None
        try:
            node = devfs / f"{int((d / 'busnum').read_text()):03d}" / f"{int((d / 'devnum').read_text()):03d}"
        except (OSError, ValueError):
            pass
        serial = (d / "serial").read_text().strip() if (d / "serial").is_file() else ""
        found.append(UsbDevice(vid, pid, node, serial))
    return found


def find_tool(name: str, alternative: str = "") -> str:
    path = shutil.which(name)
    if path:
        return path
    if name == "pyocd":
        raise UploadError("pyocd is not installed: .venv/bin/pip install pyocd==0.46.0 (PyPI)")
    pkg = DEBIAN_PACKAGES.get(name, name)
    raise UploadError(f"{name} is not installed: install the Debian package {pkg} "
                      f"(sudo apt-get install --no-install-recommends {pkg}){alternative}")


def _check_access(path: str, what: str, fix: str) -> None:
    if not os.path.exists(path):
        raise NoBoardError(f"{path} does not exist: is the {what} plugged in? (pass --port to name another)")
    if not os.access(path, os.R_OK | os.W_OK):
        raise UploadError(f"no permission to open {path} ({what}): {fix}")


_SERIAL_FIX = ("add yourself to its group (sudo usermod -aG dialout $USER, then log in again) "
               "or run with access to the port")
_USB_FIX = ("install OpenOCD's udev rules (Debian's openocd ships /usr/lib/udev/rules.d/60-openocd.rules; "
            "run sudo udevadm control --reload-rules and plug the board in again)")


def find_stlink(devices: list[UsbDevice]) -> UsbDevice:
    probes = [d for d in devices if d.vid == STLINK_VID and d.pid in STLINK_PIDS]
    if not probes:
        raise NoBoardError("no board attached: no ST-LINK probe (USB 0483:3748/374b/374e/374f/3752/3753) found; "
                           "plug the board's ST-LINK USB port in, or use --dry-run to see the command")
    return probes[0]


def _serial_ports() -> list[tuple[str, int | None, int | None]]:
    from serial.tools import list_ports

    return [(p.device, p.vid, p.pid) for p in list_ports.comports()]


def find_nano33ble_port(ports: list[tuple[str, int | None, int | None]]) -> str:
    hits = [dev for dev, vid, pid in ports if vid == ARDUINO_VID and pid in NANO33BLE_PIDS]
    if not hits:
        raise NoBoardError("no board attached: no Arduino Nano 33 BLE (USB 2341:005a/805a) on a serial port; "
                           "plug it in (double-tap reset for its boot loader) or pass --port")
    return hits[0]


def find_uf2_drive(mounts: Path = Path("/proc/mounts"), board_id: str = "RPI-RP2") -> str:
    """The mount point of a UF2 boot drive whose INFO_UF2.TXT names the board (RPI-RP2 for RP2040)."""
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) < 2:
            continue
        mount = parts[1].replace("\\040", " ")
        info = Path(mount) / "INFO_UF2.TXT"
        try:
            if info.is_file() and board_id in info.read_text(errors="replace"):
                return mount
        except OSError:
            continue
    raise NoBoardError(f"no board attached: no {board_id} boot drive is mounted; hold BOOTSEL while plugging the "
                       f"Pico in, mount the drive, or pass --port /path/to/the/drive")


class UploadTarget(SerialTarget):
    """A real board that gets its firmware from an uploader, then talks over its serial port. Subclasses
    check, in this order, that a board is attached, that the uploader is installed and that we may open the
    board, so each failure gets its own one-line error and fix."""

    protocol: ClassVar[str] = ""  # the board file's upload.protocol that selects the class
    uploads = True
    build = Target.build  # the firmware it uploads is built here (a flashed board's SerialTarget builds none)

    def detect(self, *, device: str | None = None, devices: list[UsbDevice] | None = None,
               serial_ports: list | None = None, mounts: Path = Path("/proc/mounts")) -> str:
        """The attached probe, serial port or boot drive (``device``: the one the user named)."""
        raise NotImplementedError

    def plan(self, elf: Path, device: str | None = None) -> UploadPlan:
        """The exact upload command for ``elf`` on ``device`` (from detect(); without one, as for a dry run,
        the command names a placeholder in angle brackets where it needs a port or drive)."""
        raise NotImplementedError

    def pio_command(self) -> str:
        """The upload_command for the generated platformio.ini: what `pio run -t upload` runs, with
        PlatformIO's $SOURCE (the raw .bin) and $UPLOAD_PORT (--upload-port) filled in by SCons."""
        return ""

    def pio_upload(self) -> tuple[str, str]:
        return self.board.upload.protocol, self.pio_command()

    @property
    def stock_platform(self) -> str:
        return self.board.upload.stock_platform

    def device_for(self, port: str | None) -> str | None:
        """The upload device ``--port`` names for this uploader (None: it is found by itself)."""
        return None

    def prepare(self, plan: UploadPlan, elf: Path) -> None:
        """Write the .bin/.uf2 the plan names from the ELF."""

    def upload(self, plan: UploadPlan, elf: Path, timeout: float = 120.0) -> str:
        """Run the plan; return the uploader's output. A failure is one line naming the tool and its last
        words."""
        self.prepare(plan, elf)
        self.before_upload(plan)
        from tinyc import procs

        try:  # through tinyc.procs: the uploader dies with tinyc
            proc = procs.run(plan.command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise UploadError(f"{plan.tool} did not finish in {timeout:.0f} s: {plan.shell}") from None
        log = proc.stdout + proc.stderr
        if proc.returncode != 0:
            last = [x for x in log.strip().splitlines() if x.strip()][-3:]
            raise UploadError(f"{plan.tool} failed (exit {proc.returncode}): {' | '.join(last)}; "
                              f"command: {plan.shell}")
        return log

    def before_upload(self, plan: UploadPlan) -> None:
        """What the board needs just before the uploader runs."""

    def locate(self, *, dry_run: bool = False) -> str | None:
        """The board to upload to, found once: what --port names for this uploader, else found by itself
        (a dry run finds nothing and shows --port as given)."""
        if not hasattr(self, "_device"):
            self._device = self.port if dry_run else self.detect(device=self.device_for(self.port))
        return self._device

    def flash(self, elf: Path, *, dry_run: bool = False, say=lambda m: None) -> UploadPlan:
        """The one upload flow (`tinyc flash`, `tinyc build --port`): find the board, plan, upload; a dry run
        writes the firmware file the command names and uploads nothing."""
        plan = self.plan(elf, self.locate(dry_run=dry_run))
        if dry_run:
            self.prepare(plan, elf)
            return plan
        say(f"uploading {plan.firmware} to {self.board.id} ({plan.device}): {plan.shell}")
        self.upload(plan, elf)
        return plan


class _StLink(UploadTarget):
    """A board behind an ST-LINK probe."""

    def _probe(self, devices: list[UsbDevice] | None) -> UsbDevice:
        stlink = find_stlink(usb_devices() if devices is None else devices)
        self._installed()
        if stlink.node is not None and stlink.node.exists() and not os.access(stlink.node, os.R_OK | os.W_OK):
            raise UploadError(f"no permission to open the ST-LINK at {stlink.node}: {_USB_FIX}")
        return stlink

    def _installed(self) -> None:
        raise NotImplementedError

    def detect(self, *, device=None, devices=None, serial_ports=None, mounts=Path("/proc/mounts")) -> str:
        stlink = self._probe(devices)
        return f"{STLINK_PIDS[stlink.pid]} {stlink.vid:04x}:{stlink.pid:04x}" + (
            f" serial {stlink.serial}" if stlink.serial else "")


class OpenOcdTarget(_StLink):
    """OpenOCD through the ST-LINK (Debian package openocd); the target script is the board file's
    upload.openocd_target."""

    protocol = "stlink"
    tool = "openocd"

    def _script(self) -> str:
        if not self.board.upload.openocd_target:
            raise UploadError(f"{self.board.path}: no upload.openocd_target; add the OpenOCD target script of "
                              f"{self.board.mcu} (e.g. target/stm32f4x.cfg)")
        return self.board.upload.openocd_target

    def _installed(self) -> None:
        find_tool("openocd", "; or use --tool pyocd")

    def plan(self, elf: Path, device: str | None = None) -> UploadPlan:
        cmd = ("openocd", "-f", "interface/stlink.cfg", "-f", self._script(),
               "-c", f"program {elf} verify reset exit")
        return UploadPlan(self.board.id, "openocd", cmd, Path(elf), device)

    def pio_command(self) -> str:
        return (f'openocd -f interface/stlink.cfg -f {self._script()} '
                f'-c "program $SOURCE 0x{self.board.flash_regions[0].origin:08X} verify reset exit"')


class PyOcdTarget(_StLink):
    """pyOCD through the ST-LINK (PyPI), the alternative to OpenOCD (--tool pyocd)."""

    protocol = "pyocd"
    tool = "pyocd"

    def _installed(self) -> None:
        find_tool("pyocd")

    def plan(self, elf: Path, device: str | None = None) -> UploadPlan:
        mcu = self.board.mcu
        return UploadPlan(self.board.id, "pyocd", ("pyocd", "flash", "--target", mcu.lower(), str(elf)),
                          Path(elf), device, (f"pyOCD needs the CMSIS pack for {mcu} unless the target is built "
                                              f"in (pyocd pack install {mcu.lower()}, online)",))


class BossacTarget(UploadTarget):
    """The Arduino Nano 33 BLE's SAM-BA compatible boot loader (Debian package bossa-cli), on the board's
    serial port, which is also its console."""

    protocol = "bossac"
    tool = "bossac"
    syncs_after_flash = False  # the port goes away while the boot loader restarts the board

    def device_for(self, port: str | None) -> str | None:
        return port

    def detect(self, *, device=None, devices=None, serial_ports=None, mounts=Path("/proc/mounts")) -> str:
        dev = device or find_nano33ble_port(_serial_ports() if serial_ports is None else serial_ports)
        _check_access(dev, "board's serial port", _SERIAL_FIX)
        find_tool("bossac")
        return dev

    def plan(self, elf: Path, device: str | None = None) -> UploadPlan:
        binary, offset = Path(elf).with_suffix(".bin"), self.board.upload.offset
        dev = device or "<serial port, e.g. /dev/ttyACM0>"
        cmd = ("bossac", "-d", f"--port={os.path.basename(dev) if dev.startswith('/dev/') else dev}",
               "-U", "-i", "-e", "-w", str(binary), "-R")
        return UploadPlan(self.board.id, "bossac", cmd, binary, device,
                          (f"the boot loader keeps 0x0-0x{offset:X}; the image is linked to start at 0x{offset:X}",
                           "a 1200-baud open and close of the port starts the boot loader first"))

    def pio_command(self) -> str:
        return "bossac -d --port=$UPLOAD_PORT -U -i -e -w $SOURCE -R"

    def prepare(self, plan: UploadPlan, elf: Path) -> None:
        subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(plan.firmware)], check=True)

    def before_upload(self, plan: UploadPlan) -> None:
        if plan.device:
            touch_1200(plan.device)


class Uf2Target(UploadTarget):
    """A UF2 file copied to the RP2040's USB boot drive (no uploader to install)."""

    protocol = "uf2"
    tool = "uf2"
    syncs_after_flash = False

    def device_for(self, port: str | None) -> str | None:
        return port if port and os.path.isdir(port) else None  # a boot drive, not the serial console

    def detect(self, *, device=None, devices=None, serial_ports=None, mounts=Path("/proc/mounts")) -> str:
        drive = device or find_uf2_drive(mounts)
        if not os.path.isdir(drive):
            raise NoBoardError(f"{drive} is not a mounted boot drive: hold BOOTSEL while plugging the Pico in")
        if not os.access(drive, os.W_OK):
            raise UploadError(f"no permission to write to the boot drive {drive}: mount it writable for your user")
        return drive

    def plan(self, elf: Path, device: str | None = None) -> UploadPlan:
        uf2 = Path(elf).with_suffix(".uf2")
        drive = device or "<RPI-RP2 boot drive, e.g. /media/$USER/RPI-RP2>"
        return UploadPlan(self.board.id, "uf2", ("cp", str(uf2), drive.rstrip("/") + "/"), uf2, device)

    def pio_command(self) -> str:
        return f'"$PYTHONEXE" -m tinyc.deploy.uf2 $SOURCE 0x{self.board.flash_regions[0].origin:08X} "$UPLOAD_PORT"'

    def prepare(self, plan: UploadPlan, elf: Path) -> None:
        from tinyc.deploy.uf2 import elf_to_uf2

        flash = self.board.flash_regions[0]
        elf_to_uf2(elf, plan.firmware, flash.origin, flash.size)

    def upload(self, plan: UploadPlan, elf: Path, timeout: float = 120.0) -> str:
        self.prepare(plan, elf)
        dst = Path(plan.device) / plan.firmware.name
        shutil.copyfile(plan.firmware, dst)
        os.sync()
        return f"copied {plan.firmware} to {dst}"


UPLOADERS: dict[str, type[UploadTarget]] = {c.protocol: c for c in (OpenOcdTarget, PyOcdTarget, BossacTarget,
                                                                     Uf2Target)}
TOOL_PROTOCOLS = {"openocd": "stlink"}  # --tool names the uploader; the board file names its protocol
ALTERNATIVES = {"stlink": ("stlink", "pyocd")}  # the uploaders --tool may pick for a board's protocol


def uploader_class(board: Board, tool: str | None = None) -> type[UploadTarget]:
    """The uploader of the board file's upload.protocol (``tool``, from --tool, overrides it among the
    alternatives for that protocol)."""
    protocol = TOOL_PROTOCOLS.get(tool or "", tool) or board.upload.protocol
    if tool and protocol not in ALTERNATIVES.get(board.upload.protocol, (board.upload.protocol,)):
        raise UploadError(f"--tool {tool} does not reach {board.id}, which uploads with {board.upload.protocol} "
                          f"(boards/{board.id}.toml); leave out --tool")
    if protocol not in UPLOADERS:
        raise UploadError(f"{board.path}: upload protocol {protocol!r} is not supported; use "
                          f"{', '.join(UPLOADERS)}")
    return UPLOADERS[protocol]


def uploader(board: Board, tool: str | None = None) -> UploadTarget:
    """The board's upload target; an emulated board has none (QEMU runs its firmware)."""
    from tinyc.deploy.targets import target_for

    target = target_for(board, tool=tool)
    if not isinstance(target, UploadTarget):
        raise UploadError(f"{board.id} is an emulated board: `tinyc flash` runs it in QEMU, nothing to upload")
    return target


def detect(board: Board, *, port: str | None = None, tool: str | None = None, **found) -> str:
    """The attached board as ``uploader(board, tool).detect`` finds it (``port``: the device named)."""
    return uploader(board, tool).detect(device=port, **found)


def plan_upload(board: Board, elf: Path, *, device: str | None = None, tool: str | None = None) -> UploadPlan:
    return uploader(board, tool).plan(Path(elf), device)


def touch_1200(port: str) -> None:
    """Open and close the port at 1200 baud: Arduino boot loaders take it as 'start the boot loader'."""
    import time

    import serial

    try:
        serial.Serial(port, 1200).close()
    except serial.SerialException as exc:
        raise UploadError(f"cannot open {port} to start the boot loader ({exc}); check the port") from None
    time.sleep(1.5)


def hello_firmware(board: Board) -> Path:
    """Build firmware/apps/hello for ``board`` (what `tinyc flash` uploads without a model): it prints
    "hello from tinyc on <board>" on the console, which checks the clock, pins and baud rate."""
    from tinyc import paths
    from tinyc.deploy.platformio import build
    from tinyc.deploy.project import render_project

    from tinyc.outputs import OutputDir

    with OutputDir(paths.cache_dir() / "hello" / board.id, force=True, wait=True) as out:
        project = render_project(out.stage / "project", board, [paths.firmware_dir() / "apps" / "hello" / "main.c"],
                                 emulate=False)
        staged = build(project).elf
        out.commit()
    return out.final("project", *staged.relative_to(out.stage / "project").parts)
