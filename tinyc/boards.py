"""Board definitions: one TOML file per board in boards/, validated into a frozen ``Board``.

Board facts live in those files, never in code. Sizes are written with units ("320 KiB",
"1 MiB"; KB and MB mean 1024 and 1024*1024 bytes, as in microcontroller datasheets) and
frequencies as "216 MHz" or plain Hz, so a wrong unit is caught when the file is loaded.

Board fields end up in generated C, linker scripts, platformio.ini and Renode scripts, and in the
terminal, so a file is validated when it is loaded (rules in boards/README.md): names are identifiers
of a safe character set, ``family`` is one of the port folders, addresses and sizes fit 32 bits
without overlapping, and clocks and baud rates are in sane ranges. A bad file is one line naming the
file, the field, the problem and the fix, never a traceback.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from tinyc import paths
from tinyc.errors import TinycError

CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
FPUS = ("none", "fpv4-sp-d16", "fpv5-sp-d16", "fpv5-d16")
REGION_KINDS = ("flash", "ram")
KINDS = ("real", "emulated")
QEMU_PROTOCOL = "qemu"  # upload.protocol of an emulator's board: QEMU runs its firmware (tinyc.deploy.targets)
_SIZE_UNITS = {"B": 1, "KIB": 1024, "KB": 1024, "K": 1024, "MIB": 1 << 20, "MB": 1 << 20, "M": 1 << 20}
_FREQ_UNITS = {"HZ": 1, "KHZ": 1_000, "MHZ": 1_000_000, "GHZ": 1_000_000_000}
ADDRESS_SPACE = 1 << 32  # every supported core is 32-bit: no address or size reaches past 4 GiB

# Names that reach generated files unquoted (linker comments, -D flags, ini sections, Renode peripherals):
# each field's pattern, and how to say it in an error.
_NAME_RULES = {
    "id": (r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", "letters, digits, '-' and '_' (starting with a letter or digit)"),
    "region": (r"[A-Za-z_][A-Za-z0-9_]{0,31}", "an identifier: letters, digits and '_', e.g. SRAM1"),
    "uart": (r"[A-Za-z_][A-Za-z0-9_]{0,31}", "an identifier as the reference manual names it, e.g. USART3"),
    "pin": (r"[A-Za-z][A-Za-z0-9_.]{0,15}", "a pin name as the vendor writes it, e.g. PD8, P1.03, GP0"),
    "pio_board": (r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", "a PlatformIO board id, e.g. nucleo_f746zg"),
    "protocol": (r"[a-z0-9][a-z0-9_-]{0,31}", "a lower-case name, e.g. stlink"),
    "qemu": (r"[a-z0-9][a-z0-9_.-]{0,63}", "a QEMU machine name, e.g. mps2-an500"),
    "openocd": (r"[a-z0-9_-]+(/[A-Za-z0-9_.-]+)*\.cfg", "an OpenOCD script path, e.g. target/stm32f7x.cfg"),
    "renode": (r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\.repl",
               "a .repl path inside Renode's tree, e.g. platforms/cpus/stm32f746.repl"),
}
BAUD_RANGE = (300, 12_000_000)
CLOCK_RANGE = (1_000_000, 1_000_000_000)  # cpu.clock
CRYSTAL_RANGE = (1_000_000, 100_000_000)  # cpu.crystal
TICK_RANGE = (1_000, 1_000_000_000)  # emulation.systick_clock / timer_clock
MAX_FILE_BYTES = 256 * 1024  # a board file is a few KiB; more is not a board file
MAX_TEXT = 2_000  # characters in one string field (names, notes, sources)
MAX_REGIONS = 64  # memory regions in one list


class BoardError(TinycError):
    pass


def _show(value: Any, limit: int = 40) -> str:
    """A value for an error message: a 400-digit size or a nested array is cut, not printed whole."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def port_families() -> tuple[str, ...]:
    """The MCU families with a firmware port: the folders of firmware/ports/ other than the shared ones
    (cortex-m, <vendor>-common)."""
    ports = paths.firmware_dir() / "ports"
    return tuple(sorted(d.name for d in ports.iterdir()
                        if d.is_dir() and d.name != "cortex-m" and not d.name.endswith("-common")))


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    kind: str  # "flash" or "ram"
    origin: int
    size: int
    note: str = ""

    @property
    def end(self) -> int:
        return self.origin + self.size


@dataclass(frozen=True)
class Console:
    uart: str
    baud: int
    tx_pin: str = ""
    rx_pin: str = ""
    base: int | None = None  # peripheral base address, where the port takes it from the board file
    note: str = ""


@dataclass(frozen=True)
class Upload:
    platformio_board: str  # the stock PlatformIO board id, for users with internet
    protocol: str  # stlink, bossac, uf2, qemu: selects the upload target class (tinyc.deploy.upload.UPLOADERS)
    offset: int = 0  # where the application starts (after a bootloader)
    openocd_target: str = ""  # OpenOCD's target script for the chip, e.g. target/stm32f7x.cfg
    stock_platform: str = ""  # PlatformIO's own platform for the board (an extra env for users with internet)


@dataclass(frozen=True)
class Emulation:
    qemu_machine: str | None  # the QEMU machine that runs this board's firmware, or None
    stand_in: bool  # True when qemu_machine is a different chip with the same core
    renode_platform: str | None = None
    qemu_memory: tuple[MemoryRegion, ...] = ()  # the emulator's map, when it differs from the chip
    systick_hz: int | None = None  # SysTick clock under emulation
    timer_hz: int | None = None  # clock of the peripheral timer a port without SysTick times with (nRF51 TIMER0)

    @property
    def tick_hz(self) -> int | None:
        """The rate of the counter the port's timing reads under emulation: SysTick's, or the timer's."""
        return self.systick_hz or self.timer_hz


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    vendor: str
    mcu: str
    family: str  # firmware port family (firmware/ports/<family>)
    kind: str
    core: str
    fpu: str
    dsp: bool
    helium: bool
    clock_hz: int
    flash: int
    sram: int
    memory_source: str
    regions: tuple[MemoryRegion, ...]
    console: Console
    upload: Upload
    emulation: Emulation
    path: Path = field(compare=False)
    notes: str = ""
    crystal_hz: int | None = None  # the external crystal/oscillator the port's clock set-up uses, if any
    svd: str = ""  # "<package>:<file>" of the vendor SVD its port's registers are checked against
    svd_note: str = ""  # why there is none (the port is then unverified)

    @property
    def emulated(self) -> bool:
        """An emulator's machine (its own board file), not a chip on a desk. Read here and in ``listing``
        only: how a board is reached is its target's to say (``tinyc.deploy.targets``, from upload.protocol)."""
        return self.kind == "emulated"

    def runner(self, emulate: bool = False) -> "Board":
        """The board whose machine runs firmware built for this one: itself, or with ``emulate`` the QEMU
        machine that runs it (itself for an emulator's board, else its stand-in)."""
        return emulation_target(self) if emulate else self

    @property
    def cpu_flags(self) -> tuple[str, ...]:
        """The compiler's CPU flags for this board's core and FPU, written here only: a generated project's
        board manifest carries them (build.cpu_flags), which tinyc's PlatformIO builder
        (firmware/platform/builder/main.py) compiles and links with, and tinyc check measures kernel code
        with them (tinyc.codegen.footprint)."""
        fpu = (f"-mfpu={self.fpu}", "-mfloat-abi=hard") if self.fpu != "none" else ("-mfloat-abi=soft",)
        return (f"-mcpu={self.core}", "-mthumb", *fpu)

    @property
    def port_check(self) -> str:
        """How the port's registers are checked: 'SVD', 'unverified' (real boards), or '-' (emulated, no SVD)."""
        if self.svd:
            return "SVD"
        return "-" if self.emulated else "unverified"

    @property
    def flash_regions(self) -> tuple[MemoryRegion, ...]:
        return tuple(r for r in self.regions if r.kind == "flash")

    @property
    def ram_regions(self) -> tuple[MemoryRegion, ...]:
        return tuple(r for r in self.regions if r.kind == "ram")

    @property
    def main_ram(self) -> MemoryRegion:
        """The RAM region that holds the arena: the largest one (ties: the first listed)."""
        return max(self.ram_regions, key=lambda r: r.size)

    @property
    def emulator(self) -> str:
        e = self.emulation
        if not e.qemu_machine:
            return "none"
        return f"{e.qemu_machine} (stand-in)" if e.stand_in else e.qemu_machine

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["path"] = str(self.path)
        d["port_check"] = self.port_check
        return d


def regions_of(regions: tuple[MemoryRegion, ...], kind: str) -> tuple[MemoryRegion, ...]:
    return tuple(r for r in regions if r.kind == kind)


def contiguous_ram(regions: tuple[MemoryRegion, ...]) -> MemoryRegion:
    """The largest run of back-to-back RAM regions, which one linker RAM region can span
    (e.g. the F746's DTCM+SRAM1+SRAM2 = 320 KiB): what the firmware links its data and arena into."""
    rams = sorted((r for r in regions if r.kind == "ram"), key=lambda r: r.origin)
    best: MemoryRegion | None = None
    run: list[MemoryRegion] = []
    for r in rams:
        if run and run[-1].end != r.origin:
            run = []
        run.append(r)
        merged = MemoryRegion("+".join(x.name for x in run), "ram", run[0].origin, run[-1].end - run[0].origin)
        if best is None or merged.size > best.size:
            best = merged
    if best is None:
        raise BoardError("board has no RAM region")
    return best


def _with_unit(value: Any, units: dict[str, int]) -> Fraction | None:
    """An integer, or a decimal number and a unit, read exactly (no float: "1e400" digits stay digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*", value)
        if m and m.group(2).upper() in units:
            return Fraction(m.group(1)) * units[m.group(2).upper()]
    return None


def parse_size(value: Any, where: str) -> int:
    n = _with_unit(value, _SIZE_UNITS)
    if n is None:
        raise BoardError(
            f"{where}: {_show(value)} is not a size; write bytes as an integer or a number with a unit "
            f"(B, KiB, MiB; KB/MB mean KiB/MiB), e.g. \"320 KiB\"")
    if n <= 0 or n.denominator != 1:
        raise BoardError(f"{where}: size {_show(value)} is not a positive whole number of bytes; write one, "
                         f"e.g. \"320 KiB\"")
    if n > ADDRESS_SPACE:
        raise BoardError(f"{where}: size {_show(value)} is more than 4 GiB, beyond a 32-bit address space; "
                         f"write the real size")
    return int(n)


def parse_freq(value: Any, where: str, limits: tuple[int, int] | None = None) -> int:
    n = _with_unit(value, _FREQ_UNITS)
    if n is None or n <= 0 or n.denominator != 1:
        raise BoardError(f"{where}: {_show(value)} is not a frequency; write Hz as an integer or e.g. \"216 MHz\"")
    if limits and not limits[0] <= n <= limits[1]:
        raise BoardError(f"{where}: {_show(value)} is outside {_hz(limits[0])} to {_hz(limits[1])}; "
                         f"write the real frequency with its unit, e.g. \"216 MHz\"")
    return int(n)


def _hz(n: int) -> str:
    for unit, scale in (("GHz", 10**9), ("MHz", 10**6), ("kHz", 10**3)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} Hz"


class _Reader:
    """Typed access to one TOML table, with errors that name the file and the field."""

    def __init__(self, path: Path, table: dict, prefix: str = ""):
        self.path, self.table, self.prefix = path, table, prefix

    def _where(self, key: str) -> str:
        key = str(key)
        return f"{self.path}: field '{self.prefix}{key if len(key) <= 40 else key[:40] + '...'}'"

    def get(self, key: str, typ: type | tuple, default: Any = ..., choices: tuple | None = None) -> Any:
        if key not in self.table:
            if default is ...:
                raise BoardError(f"{self._where(key)} is missing; add it (see boards/README.md)")
            return default
        value = self.table[key]
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            raise BoardError(f"{self._where(key)} must be {names}, got {_show(value)}")
        if choices is not None and value not in choices:
            raise BoardError(f"{self._where(key)}: unknown value {_show(value)}; expected one of {', '.join(choices)}")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise BoardError(f"{self._where(key)} is {len(value):,} characters long; keep it under {MAX_TEXT:,}")
        if isinstance(value, str) and any(not ch.isprintable() for ch in value):
            raise BoardError(f"{self._where(key)} contains a line break or control character; write it as "
                             f"plain text on one line")
        return value

    def name(self, key: str, rule: str, default: Any = ...) -> str:
        """A name that generated files use unquoted: it must match its rule's pattern (or be empty when
        the field is optional and left empty)."""
        value = self.get(key, str, default)
        pattern, what = _NAME_RULES[rule]
        if (value or default is ...) and not re.fullmatch(pattern, value):
            raise BoardError(f"{self._where(key)} is {_show(value)}; write it as {what}")
        return value

    def address(self, key: str, default: Any = ...) -> int | None:
        """An address in the 32-bit space."""
        value = self.get(key, int, default)
        if value is not None and not 0 <= value < ADDRESS_SPACE:
            raise BoardError(f"{self._where(key)} is {_show(value)}, outside the 32-bit address space "
                             f"(0 to 0xFFFFFFFF); write the real address")
        return value

    def frequency(self, key: str, limits: tuple[int, int], default: Any = ...) -> int | None:
        value = self.get(key, (int, str), default)
        return None if value is None else parse_freq(value, self._where(key), limits)

    def size(self, key: str) -> int:
        return parse_size(self.get(key, (int, str)), self._where(key))

    def sub(self, key: str, required: bool = True) -> "_Reader":
        t = self.get(key, dict) if required else self.get(key, dict, {})
        return _Reader(self.path, t, f"{self.prefix}{key}.")

    def where(self, key: str) -> str:
        return self._where(key)

    def subs(self, key: str, required: bool = True) -> list["_Reader"]:
        items = self.get(key, list) if required else self.get(key, list, [])
        if len(items) > MAX_REGIONS:
            raise BoardError(f"{self._where(key)} lists {len(items):,} entries; a board has at most {MAX_REGIONS}")
        out = []
        for i, t in enumerate(items):
            if not isinstance(t, dict):
                raise BoardError(f"{self._where(key)}[{i}] must be a table")
            out.append(_Reader(self.path, t, f"{self.prefix}{key}[{i}]."))
        return out

    def unknown(self, known: set[str]) -> None:
        extra = sorted(set(self.table) - known)
        if extra:
            raise BoardError(f"{self._where(extra[0])} is not a known field; check its spelling")


def _regions(readers: list[_Reader], parent: _Reader, key: str) -> tuple[MemoryRegion, ...]:
    """A region list: names unique identifiers, each region inside 32 bits, no two overlapping."""
    regions = []
    for r in readers:
        r.unknown({"name", "kind", "origin", "size", "note"})
        region = MemoryRegion(
            name=r.name("name", "region"), kind=r.get("kind", str, choices=REGION_KINDS),
            origin=r.address("origin"), size=r.size("size"), note=r.get("note", str, ""),
        )
        if region.end > ADDRESS_SPACE:
            raise BoardError(f"{r.where('size')}: region {region.name} at 0x{region.origin:08X} of {region.size} B "
                             f"ends past 0xFFFFFFFF, the end of the 32-bit address space; fix its origin or size")
        if any(x.name == region.name for x in regions):
            raise BoardError(f"{r.where('name')}: a second region is named {region.name}; give each region "
                             f"its own name")
        regions.append(region)
    ordered = sorted(regions, key=lambda x: x.origin)
    for a, b in zip(ordered, ordered[1:]):
        if a.end > b.origin:
            raise BoardError(f"{parent.where(key)}: regions {a.name} (0x{a.origin:08X}-0x{a.end - 1:08X}) and "
                             f"{b.name} (0x{b.origin:08X}-0x{b.end - 1:08X}) overlap; fix their origin or size")
    return tuple(regions)


def load_board(path: Path) -> Board:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BoardError(f"{path}: cannot read board file ({exc.strerror or exc})") from None
    if size > MAX_FILE_BYTES:
        raise BoardError(f"{path}: {size:,} bytes, far more than a board file holds (at most {MAX_FILE_BYTES // 1024} "
                         f"KiB); check that it is the right file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BoardError(f"{path}: not valid TOML ({exc}); fix the syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BoardError(f"{path}: cannot read board file ({exc})") from None
    except RecursionError:
        raise BoardError(f"{path}: arrays or tables nested too deeply to read; a board file needs at most "
                         f"two levels (see boards/README.md)") from None
    except ValueError as exc:  # an integer of thousands of digits (Python's int limit)
        raise BoardError(f"{path}: a number too long to read ({str(exc).split(':')[0]}); write the real "
                         f"value") from None
    top = _Reader(path, data)
    top.unknown({"id", "name", "vendor", "mcu", "family", "kind", "notes", "cpu", "memory", "console",
                 "upload", "emulation", "svd", "svd_note"})
    cpu, mem, con, up, emu = top.sub("cpu"), top.sub("memory"), top.sub("console"), top.sub("upload"), top.sub("emulation")
    cpu.unknown({"core", "fpu", "dsp", "helium", "clock", "crystal"})
    mem.unknown({"flash", "sram", "source", "regions"})
    con.unknown({"uart", "baud", "tx_pin", "rx_pin", "base", "note"})
    up.unknown({"platformio_board", "protocol", "offset", "openocd_target", "stock_platform"})
    emu.unknown({"qemu_machine", "stand_in", "renode_platform", "memory", "systick_clock", "timer_clock"})

    board_id = top.name("id", "id")
    if board_id != path.stem:
        raise BoardError(f"{path}: field 'id' is {board_id!r} but the file is named {path.name}; make them match")
    core = cpu.get("core", str, choices=CORES)
    fpu = cpu.get("fpu", str, choices=FPUS)
    helium = cpu.get("helium", bool)
    if helium and core != "cortex-m55":
        raise BoardError(f"{path}: field 'cpu.helium' is true but {core} has no Helium (MVE); set it to false")
    dsp = cpu.get("dsp", bool)
    if dsp and core in ("cortex-m0", "cortex-m0plus", "cortex-m3"):
        raise BoardError(f"{path}: field 'cpu.dsp' is true but {core} has no DSP extension; set it to false")

    regions = _regions(mem.subs("regions"), mem, "regions")
    flash, sram = mem.size("flash"), mem.size("sram")
    for kind, total in (("flash", flash), ("ram", sram)):
        listed = sum(r.size for r in regions if r.kind == kind)
        if not any(r.kind == kind for r in regions):
            raise BoardError(f"{path}: field 'memory.regions' has no {kind} region; add one")
        if listed != total:
            name = "flash" if kind == "flash" else "sram"
            raise BoardError(f"{path}: field 'memory.{name}' is {total} B but its {kind} regions add up to "
                             f"{listed} B; make them agree")

    qemu = emu.name("qemu_machine", "qemu", "") or None
    emu_regions = _regions(emu.subs("memory", required=False), emu, "memory")
    for kind in REGION_KINDS if emu_regions else ():
        if not any(r.kind == kind for r in emu_regions):
            raise BoardError(f"{path}: field 'emulation.memory' has no {kind} region; add one (the emulator's "
                             f"map needs both flash and ram) or remove emulation.memory")
    systick = emu.frequency("systick_clock", TICK_RANGE, None)
    timer = emu.frequency("timer_clock", TICK_RANGE, None)
    if systick and timer:
        raise BoardError(f"{path}: fields 'emulation.systick_clock' and 'emulation.timer_clock' are both set; "
                         f"keep the one the port times with")
    family = top.get("family", str)
    families = port_families()
    if family not in families:
        raise BoardError(f"{path}: field 'family' is {_show(family)}, not a firmware port; write one of "
                         f"{', '.join(families)} (the folders of firmware/ports/)")
    baud = con.get("baud", int)
    if not BAUD_RANGE[0] <= baud <= BAUD_RANGE[1]:
        raise BoardError(f"{path}: field 'console.baud' is {_show(baud)}, outside {BAUD_RANGE[0]:,} to "
                         f"{BAUD_RANGE[1]:,} baud; write the console's real baud rate, e.g. 115200")
    kind, protocol = top.get("kind", str, choices=KINDS), up.name("protocol", "protocol")
    if (kind == "emulated") != (protocol == QEMU_PROTOCOL):
        raise BoardError(f"{path}: field 'upload.protocol' is {protocol!r} but 'kind' is {kind!r}; an emulator's "
                         f"board is run by QEMU (protocol = \"{QEMU_PROTOCOL}\"), a real board by its uploader")
    if protocol == QEMU_PROTOCOL and not qemu:
        raise BoardError(f"{path}: upload.protocol is {QEMU_PROTOCOL!r} but there is no emulation.qemu_machine; "
                         f"name the QEMU machine that runs it")
    offset = up.address("offset", 0)
    if offset >= regions_of(regions, "flash")[0].size:
        raise BoardError(f"{path}: field 'upload.offset' is 0x{offset:X}, past the end of the first flash region "
                         f"({regions_of(regions, 'flash')[0].size} B); write where the application starts in it")
    svd = top.get("svd", str, "")
    if svd and not re.fullmatch(r"[\w.-]+:[\w./-]+\.(svd|xml)", svd):
        raise BoardError(f"{path}: field 'svd' is {svd!r}; write it as \"<PyPI package>:<file in its SVD data>\", "
                         f"e.g. \"cmsis-svd:STMicro/STM32F401xE.svd\"")
    return Board(
        id=board_id, name=top.get("name", str), vendor=top.get("vendor", str), mcu=top.get("mcu", str),
        family=family, kind=kind,
        core=core, fpu=fpu, dsp=dsp, helium=helium,
        clock_hz=cpu.frequency("clock", CLOCK_RANGE),
        flash=flash, sram=sram, memory_source=mem.get("source", str), regions=regions,
        console=Console(uart=con.name("uart", "uart"), baud=baud, tx_pin=con.name("tx_pin", "pin", ""),
                        rx_pin=con.name("rx_pin", "pin", ""), base=con.address("base", None),
                        note=con.get("note", str, "")),
        upload=Upload(platformio_board=up.name("platformio_board", "pio_board", ""),
                      protocol=protocol, offset=offset,
                      openocd_target=up.name("openocd_target", "openocd", ""),
                      stock_platform=up.name("stock_platform", "pio_board", "")),
        emulation=Emulation(
            qemu_machine=qemu, stand_in=emu.get("stand_in", bool, False),
            renode_platform=emu.name("renode_platform", "renode", "") or None, qemu_memory=emu_regions,
            systick_hz=systick, timer_hz=timer,
        ),
        path=path, notes=top.get("notes", str, ""),
        crystal_hz=cpu.frequency("crystal", CRYSTAL_RANGE, None),
        svd=svd, svd_note=top.get("svd_note", str, ""),
    )


@cache
def _load_all(directory: Path) -> dict[str, Board]:
    boards = {}
    for p in sorted(directory.glob("*.toml")):
        b = load_board(p)
        boards[b.id] = b
    for b in boards.values():
        q = b.emulation.qemu_machine
        if b.emulation.stand_in and q and q not in {x.id for x in boards.values() if x.emulated}:
            raise BoardError(f"{b.path}: field 'emulation.qemu_machine' names stand-in {q!r}, "
                             f"which has no board file; add boards/{q}.toml or fix the name")
    return boards


def all_boards(directory: Path | None = None) -> dict[str, Board]:
    return _load_all(Path(directory or paths.boards_dir()))


def listing(directory: Path | None = None) -> list[Board]:
    """The boards as `tinyc boards` lists them: the real boards first, then the emulators' machines."""
    return sorted(all_boards(directory).values(), key=lambda b: b.emulated)


def physical(directory: Path | None = None) -> list[Board]:
    """The boards a user can buy (what a model that does not fit could move to), not the emulators' machines."""
    return [b for b in all_boards(directory).values() if not b.emulated]


def get_board(board_id: str, directory: Path | None = None) -> Board:
    boards = all_boards(directory)
    if board_id not in boards:
        raise BoardError(f"unknown board {board_id!r}; run 'tinyc boards' to list them "
                         f"(known: {', '.join(sorted(boards))})")
    return boards[board_id]


def emulation_target(board: Board) -> Board:
    """The board whose QEMU machine runs ``board``'s firmware (itself, or its stand-in)."""
    q = board.emulation.qemu_machine
    if not q:
        raise BoardError(f"board {board.id!r} has no emulator; use a board with one (see 'tinyc boards')")
    return board if not board.emulation.stand_in else get_board(q, board.path.parent)
