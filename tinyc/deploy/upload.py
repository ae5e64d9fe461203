"""Upload firmware to a real board with tools that install offline.

Each board file names its upload protocol: `stlink` (OpenOCD, Debian package openocd; pyOCD from
PyPI as the alternative), `bossac` (the Arduino Nano 33 BLE's SAM-BA compatible boot loader,
Debian package bossa-cli) or `uf2` (a UF2 file copied to the RP2040's USB boot drive). Before
running anything we check, in this order, that the uploader is installed, that a board is
attached and that we may open it, so each failure gets its own one-line error and fix.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tinyc.boards import Board
from tinyc.errors import TinycError

# OpenOCD target scripts per port family (openocd 0.12 scripts/target/).
OPENOCD_TARGETS = {
    "stm32f1": "target/stm32f1x.cfg",
    "stm32f4": "target/stm32f4x.cfg",
    "stm32f7": "target/stm32f7x.cfg",
    "stm32h7": "target/stm32h7x.cfg",
    "stm32l4": "target/stm32l4x.cfg",
}
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


def _protocol(board: Board, tool: str | None) -> str:
    if board.kind != "real":
        raise UploadError(f"{board.id} is an emulated board: `tinyc flash` runs it in QEMU, nothing to upload")
    protocol = {"openocd": "stlink"}.get(tool or "", tool) or board.upload.protocol
    if protocol not in ("stlink", "pyocd", "bossac", "uf2"):
        raise UploadError(f"{board.path}: upload protocol {protocol!r} is not supported; use stlink, pyocd, "
                          f"bossac or uf2")
    if protocol in ("stlink", "pyocd") and board.family not in OPENOCD_TARGETS:
        raise UploadError(f"{board.id}: no ST-LINK target for the {board.family} family; add it to OPENOCD_TARGETS")
    return protocol


def detect(board: Board, *, port: str | None = None, tool: str | None = None,
           devices: list[UsbDevice] | None = None, serial_ports: list | None = None,
           mounts: Path = Path("/proc/mounts")) -> str:
    """Find the attached board (probe, serial port or boot drive) and check the uploader and the
    permissions, in that order: NoBoardError / UploadError with the fix otherwise."""
    protocol = _protocol(board, tool)
    if protocol in ("stlink", "pyocd"):
        stlink = find_stlink(usb_devices() if devices is None else devices)
        if protocol == "stlink":
            find_tool("openocd", "; or use --tool pyocd")
        else:
            find_tool("pyocd")
        if stlink.node is not None and stlink.node.exists() and not os.access(stlink.node, os.R_OK | os.W_OK):
            raise UploadError(f"no permission to open the ST-LINK at {stlink.node}: {_USB_FIX}")
        return f"{STLINK_PIDS[stlink.pid]} {stlink.vid:04x}:{stlink.pid:04x}" + (
            f" serial {stlink.serial}" if stlink.serial else "")
    if protocol == "bossac":
        dev = port or find_nano33ble_port(_serial_ports() if serial_ports is None else serial_ports)
        _check_access(dev, "board's serial port", _SERIAL_FIX)
        find_tool("bossac")
        return dev
    drive = port or find_uf2_drive(mounts)
    if not os.path.isdir(drive):
        raise NoBoardError(f"{drive} is not a mounted boot drive: hold BOOTSEL while plugging the Pico in")
    if not os.access(drive, os.W_OK):
        raise UploadError(f"no permission to write to the boot drive {drive}: mount it writable for your user")
    return drive


def plan_upload(board: Board, elf: Path, *, device: str | None = None, tool: str | None = None) -> UploadPlan:
    """The exact upload command for ``board`` and ``elf`` on ``device`` (from detect(); without one,
    as for a dry run, the command names a placeholder in angle brackets where it needs a port or drive)."""
    protocol = _protocol(board, tool)
    elf = Path(elf)
    if protocol == "stlink":
        cmd = ("openocd", "-f", "interface/stlink.cfg", "-f", OPENOCD_TARGETS[board.family],
               "-c", f"program {elf} verify reset exit")
        return UploadPlan(board.id, "openocd", cmd, elf, device)
    if protocol == "pyocd":
        cmd = ("pyocd", "flash", "--target", board.mcu.lower(), str(elf))
        return UploadPlan(board.id, "pyocd", cmd, elf, device,
                          (f"pyOCD needs the CMSIS pack for {board.mcu} unless the target is built in "
                           f"(pyocd pack install {board.mcu.lower()}, online)",))
    if protocol == "bossac":
        binary = elf.with_suffix(".bin")
        dev = device or "<serial port, e.g. /dev/ttyACM0>"
        cmd = ("bossac", "-d", f"--port={os.path.basename(dev) if dev.startswith('/dev/') else dev}",
               "-U", "-i", "-e", "-w", str(binary), "-R")
        return UploadPlan(board.id, "bossac", cmd, binary, device,
                          (f"the boot loader keeps 0x0-0x{board.upload.offset:X}; the image is linked to start "
                           f"at 0x{board.upload.offset:X}",
                           "a 1200-baud open and close of the port starts the boot loader first"))
    uf2 = elf.with_suffix(".uf2")
    drive = device or "<RPI-RP2 boot drive, e.g. /media/$USER/RPI-RP2>"
    return UploadPlan(board.id, "uf2", ("cp", str(uf2), drive.rstrip("/") + "/"), uf2, device)


def pio_upload_command(board: Board) -> str:
    """The upload_command for the generated platformio.ini: what `pio run -t upload` runs, with
    PlatformIO's $SOURCE (the raw .bin) and $UPLOAD_PORT (--upload-port) filled in by SCons."""
    protocol = _protocol(board, None)
    origin = board.flash_regions[0].origin
    if protocol == "stlink":
        return (f'openocd -f interface/stlink.cfg -f {OPENOCD_TARGETS[board.family]} '
                f'-c "program $SOURCE 0x{origin:08X} verify reset exit"')
    if protocol == "bossac":
        return "bossac -d --port=$UPLOAD_PORT -U -i -e -w $SOURCE -R"
    if protocol == "uf2":
        return f'"$PYTHONEXE" -m tinyc.deploy.uf2 $SOURCE 0x{origin:08X} "$UPLOAD_PORT"'
    return ""


def prepare_firmware(board: Board, plan: UploadPlan, elf: Path) -> None:
    """Write the .bin/.uf2 the plan names from the ELF."""
    if plan.tool == "bossac":
        subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(plan.firmware)], check=True)
    elif plan.tool == "uf2":
        from tinyc.deploy.uf2 import elf_to_uf2

        flash = board.flash_regions[0]
        elf_to_uf2(elf, plan.firmware, flash.origin, flash.size)


def touch_1200(port: str) -> None:
    """Open and close the port at 1200 baud: Arduino boot loaders take it as 'start the boot loader'."""
    import time

    import serial

    try:
        serial.Serial(port, 1200).close()
    except serial.SerialException as exc:
        raise UploadError(f"cannot open {port} to start the boot loader ({exc}); check the port") from None
    time.sleep(1.5)


def upload(board: Board, plan: UploadPlan, elf: Path, timeout: float = 120.0) -> str:
    """Run the plan; return the uploader's output. A failure is one line naming the tool and its last words."""
    prepare_firmware(board, plan, elf)
    if plan.tool == "uf2":
        dst = Path(plan.device) / plan.firmware.name
        shutil.copyfile(plan.firmware, dst)
        os.sync()
        return f"copied {plan.firmware} to {dst}"
    if plan.tool == "bossac" and plan.device:
        touch_1200(plan.device)
    from tinyc import procs

    try:  # through tinyc.procs: the uploader dies with tinyc
        proc = procs.run(plan.command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UploadError(f"{plan.tool} did not finish in {timeout:.0f} s: {plan.shell}") from None
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        last = [x for x in log.strip().splitlines() if x.strip()][-3:]
        raise UploadError(f"{plan.tool} failed (exit {proc.returncode}): {' | '.join(last)}; command: {plan.shell}")
    return log


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
