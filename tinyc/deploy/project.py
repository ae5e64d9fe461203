"""Render a complete, self-contained PlatformIO project for one board.

The project holds everything it needs (sources copied from firmware/, a board manifest and a
linker script rendered from boards/<id>.toml, and its own PlatformIO core ``pio-core/`` with tinyc's
platform and the SCons registration), and names it all by relative path, so plain `pio run` builds it
offline with no environment variable, and still does after it is copied or moved elsewhere. A real board can be built to run on its emulated stand-in: then the
CPU/FPU flags and memory sizes are the real board's and the origins, console and timer are the
stand-in's.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tinyc import paths
from tinyc.boards import Board, MemoryRegion, contiguous_ram
from tinyc.deploy import piocore
from tinyc.errors import NotImplementedYet, TinycError
from tinyc.render import render

DEFAULT_STACK = 4096


@dataclass(frozen=True)
class GeneratedProject:
    path: Path
    board: Board  # whose limits and CPU flags the build uses
    run_board: Board  # whose port and memory map it runs on (board itself, or its emulated stand-in)
    env_name: str
    flash: MemoryRegion
    ram: MemoryRegion
    sources: tuple[str, ...] = field(default=())

    def to_json(self) -> dict:
        return {"path": str(self.path), "board": self.board.id, "run_board": self.run_board.id,
                "env": self.env_name, "flash": vars(self.flash), "ram": vars(self.ram),
                "sources": list(self.sources)}


def link_memory(board: Board, run_board: Board) -> tuple[MemoryRegion, MemoryRegion]:
    """FLASH and RAM for the linker: the board's sizes at the runner's addresses."""
    own = board.emulation.qemu_memory if board is run_board and board.emulation.qemu_memory else board.regions
    flash = next(r for r in own if r.kind == "flash")
    ram = contiguous_ram(own)
    if run_board is board:
        return flash, ram
    run_regions = run_board.emulation.qemu_memory or run_board.regions
    run_flash = next(r for r in run_regions if r.kind == "flash")
    run_ram = contiguous_ram(run_regions)
    return (
        MemoryRegion(f"{flash.name} of {board.id}", "flash", run_flash.origin, min(flash.size, run_flash.size)),
        MemoryRegion(f"{ram.name} of {board.id}", "ram", run_ram.origin, min(ram.size, run_ram.size)),
    )


def port_dirs(family: str) -> list[Path]:
    """The folders a family's port is built from: ports/cortex-m (every port), the code its vendor's
    families share where there is some (ports/<prefix>-common: stm32-common for every stm32* family),
    then the family's own folder."""
    ports = paths.firmware_dir() / "ports"
    port_dir = ports / family
    if not port_dir.is_dir():
        raise NotImplementedYet(f"no firmware port for the {family!r} MCU family yet "
                                f"(firmware/ports/{family}/ does not exist); pick a board with a port")
    vendor = [d for d in sorted(ports.glob("*-common")) if family.startswith(d.name.removesuffix("-common"))]
    return [ports / "cortex-m", *vendor, port_dir]


def port_sources(family: str) -> list[Path]:
    return [f for d in port_dirs(family) for f in sorted(d.glob("*.c"))]


def port_headers(family: str) -> list[Path]:
    return [f for d in port_dirs(family) for f in sorted(d.glob("*.h"))]


def port_defines(target) -> dict[str, str]:
    """The -D flags of a firmware port: the board's facts, and how its target runs it (tinyc.deploy.targets)."""
    board, run_board = target.board, target.run_board
    d = {"TINYC_BOARD_ID": f'\\"{board.id}\\"', "TINYC_BAUD": f"{run_board.console.baud}u",
         "TINYC_CLOCK_HZ": f"{board.clock_hz}u"}
    if run_board.console.base is not None:
        d["TINYC_UART_BASE"] = f"0x{run_board.console.base:08X}u"
    return d | target.port_defines()


def render_project(out_dir: Path, board: Board, app_sources: list[Path], *, emulate: bool,
                   include_dirs: list[Path] = (), extra_defines: dict[str, str] | None = None,
                   stack_size: int = DEFAULT_STACK, opt: str = "-O2") -> GeneratedProject:
    """Write the project into ``out_dir`` (which must not exist or be empty) and describe it."""
    from tinyc.deploy.targets import target_for

    target = target_for(board, emulate=emulate)
    run_board = target.run_board
    flash, ram = link_memory(board, run_board)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    src, inc = out_dir / "src", out_dir / "include"
    src.mkdir(exist_ok=True)
    inc.mkdir(exist_ok=True)
    (out_dir / "boards").mkdir(exist_ok=True)

    copied = []
    for f in port_sources(run_board.family):
        dst = src / "port" / f"{f.parent.name}_{f.name}"
        dst.parent.mkdir(exist_ok=True)
        shutil.copy2(f, dst)
        copied.append(str(dst.relative_to(out_dir)))
    names = [Path(f).name for f in app_sources]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise TinycError(f"two application sources are both named {clash[0]}; rename one")
    for f in app_sources:
        shutil.copy2(f, src / f.name)
        copied.append(f"src/{f.name}")
    for d in [paths.firmware_dir() / "include", *include_dirs]:
        for h in sorted(Path(d).glob("*.h")):
            shutil.copy2(h, inc / h.name)
    for h in port_headers(run_board.family):
        shutil.copy2(h, inc / h.name)
    for name, text in target.headers().items():  # per-family port data (tinyc.deploy.family)
        (inc / name).write_text(text)

    env_name = board.id.replace("-", "_") + ("_on_" + run_board.id.replace("-", "_") if run_board is not board else "")
    pio_board = "tinyc_" + board.id.replace("-", "_")
    upload_protocol, upload_command = target.pio_upload()  # `pio run -t upload` runs tinyc flash's uploader
    defines = port_defines(target) | (extra_defines or {})
    build_flags = [opt, *(f"-D{k}={v}" for k, v in defines.items())]
    ctx = dict(board=board, run_board=run_board, flash=flash, ram=ram, env_name=env_name,
               pio_board=pio_board, platform_name=piocore.platform_name(), core_dir=piocore.PROJECT_CORE,
               build_flags=build_flags, upload_protocol=upload_protocol, stack_size=stack_size,
               boot_block=(paths.firmware_dir() / "ports" / run_board.family / "boot2.c").is_file(),
               upload_command=upload_command, stock_platform=target.stock_platform)
    for rel, content in piocore.project_core().items():  # the project's own PlatformIO core (core_dir)
        dst = out_dir / piocore.PROJECT_CORE / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, dst)
        else:
            dst.write_text(content)
    (out_dir / "platformio.ini").write_text(render("project/platformio.ini.j2", **ctx))
    (out_dir / "boards" / f"{pio_board}.json").write_text(render("project/board.json.j2", **ctx))
    (out_dir / "linker.ld").write_text(render("project/linker.ld.j2", **ctx))
    return GeneratedProject(out_dir, board, run_board, env_name, flash, ram, tuple(copied))


def harness_main() -> Path:
    return paths.firmware_dir() / "apps" / "harness" / "main.c"


def render_harness_project(out_dir: Path, board: Board, model_sources: list[Path], model_include_dirs: list[Path],
                           input_bytes: int, *, emulate: bool, test_hooks: bool = False,
                           stack_size: int = DEFAULT_STACK, opt: str = "-O2") -> GeneratedProject:
    """The firmware that serves a model over the serial link (firmware/apps/harness/main.c).

    ``input_bytes`` (all inputs together) sizes the harness's staging copy of the input, which
    refills the model's input before every timed run; 0 builds it without one (the host then sends
    the input before every run), for boards with no RAM to spare. ``test_hooks`` builds in the test-only
    fault injection (boot noise, a late start, TEST hang/fault/exit); never for a real result.
    """
    if input_bytes < 0:
        raise TinycError(f"the model's inputs take {input_bytes} bytes")
    defines = {"TINYC_HARNESS_STAGING_BYTES": f"{input_bytes}u"}
    if test_hooks:
        defines["TINYC_HARNESS_TEST_HOOKS"] = "1"
    return render_project(out_dir, board, [harness_main(), *model_sources], emulate=emulate,
                          include_dirs=model_include_dirs, extra_defines=defines, stack_size=stack_size, opt=opt)
