"""Build and upload through PlatformIO, offline, with tinyc's own platform."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from tinyc.deploy import piocore
from tinyc.deploy.project import GeneratedProject
from tinyc.errors import DoesNotFit, TinycError


@dataclass(frozen=True)
class Firmware:
    project: GeneratedProject
    elf: Path
    log: str

    def to_json(self) -> dict:
        return {"elf": str(self.elf), "project": self.project.to_json()}


class BuildError(TinycError):
    pass


class LinkOverflow(DoesNotFit):
    """The linker found the firmware too big for a memory region of the board."""


def pio_command() -> list[str]:
    return [sys.executable, "-m", "platformio"]


def build(project: GeneratedProject, verbose: bool = False, shown: str | None = None) -> Firmware:
    """``shown``: how errors name what is built (the project's path, by default)."""
    piocore.ensure()
    cmd = pio_command() + ["run", "-d", str(project.path), "-e", project.env_name]
    from tinyc import procs

    # through tinyc.procs: PlatformIO, SCons and the compilers they start die with tinyc
    proc = procs.run(cmd, env=piocore.environment(), capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        overflow = re.search(r"region [`']?(\w+)'? overflowed by (\d+) bytes", log)
        where = shown or str(project.path)
        if overflow:
            region = overflow.group(1)
            mem = {"FLASH": project.flash, "RAM": project.ram}.get(region)
            what = f" ({mem.name}, {mem.size} B)" if mem else ""
            raise LinkOverflow(f"{where}: the firmware does not fit {project.board.id}: region "
                               f"{region}{what} overflowed by {overflow.group(2)} bytes at link time")
        port_error = re.search(r'#error "([^"\n]+)"', log)  # a port refusing the board file's values
        if port_error:
            raise BuildError(f"{where}: {project.board.path}: {port_error.group(1)}")
        (project.path / "pio-build.log").write_text(log)
        raise BuildError(f"{where}: PlatformIO build failed (its log: {project.path / 'pio-build.log'})",
                         details="\n".join(log.strip().splitlines()[-15:]))
    elf = project.path / ".pio" / "build" / project.env_name / "firmware.elf"
    return Firmware(project, elf, log)
