"""A generated PlatformIO project is portable (issue 21): it names everything by relative path or carries it
(its own PlatformIO core with tinyc's platform, never the checkout), and a copy of it in another folder builds
with plain `pio run`, offline, with no environment variable, then runs."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import fixture_model as fm
from tests.conftest import require_tool
from tinyc import paths
from tinyc.boards import get_board
from tinyc.deploy.emulator import run_to_exit
from tinyc.deploy.platformio import build
from tinyc.deploy.project import render_harness_project, render_project

HELLO = paths.firmware_dir() / "apps" / "hello" / "main.c"


def pio() -> Path:
    """The `pio` of tinyc's environment (the PlatformIO the project pins, with SCons beside it)."""
    return Path(sys.executable).parent / "pio"


def _offline() -> list[str]:
    """A network namespace without the network, where the machine allows one (root); else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def plain_pio_run(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    """`pio run` in the project's folder as a user would type it: no PLATFORMIO_* (or any other) variable but
    PATH (for arm-none-eabi-gcc) and a fresh HOME, without the network. PlatformIO waits about 60 s on the network
    when it wants it offline; 45 s is plenty for these builds."""
    home.mkdir(parents=True, exist_ok=True)
    gcc_dir = str(Path(require_tool("arm-none-eabi-gcc")).parent)
    env = {"PATH": os.pathsep.join(dict.fromkeys([gcc_dir, "/usr/bin", "/bin"])), "HOME": str(home)}
    return subprocess.run([*_offline(), str(pio()), "run", *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=45)


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_project_names_nothing_outside_itself(tmp_path):
    project = render_project(tmp_path / "p", get_board("nucleo-f746"), [HELLO], emulate=False)
    ini = (project.path / "platformio.ini").read_text()
    assert "symlink://" not in ini and "file://" not in ini
    assert "core_dir = pio-core\n" in ini and "platform = tinyc-cortexm\n" in ini
    assert "[env:nucleo_f746_stock]\nplatform = ststm32\n" in ini  # the stock platform's env for real boards stays
    checkout = str(paths.firmware_dir().parent.resolve())
    for f in project.path.rglob("*"):
        if f.is_file():
            assert checkout not in f.read_text(errors="replace"), f"{f} names the checkout"
    core = project.path / "pio-core"
    assert (core / "platforms" / "tinyc-cortexm" / "builder" / "main.py").read_bytes() == \
        (paths.firmware_dir() / "platform" / "builder" / "main.py").read_bytes()
    assert (core / "packages" / "tool-scons" / ".piopm").is_file() and (core / "appstate.json").is_file()


@pytest.mark.toolchain
@pytest.mark.emulator
def test_a_copied_project_builds_with_plain_pio_run_offline_and_runs(tmp_path):
    require_tool("qemu-system-arm")
    board = get_board("mps2-an386")
    project = render_project(tmp_path / "made" / "hello", board, [HELLO], emulate=True)
    build(project)  # tinyc's own build first (its private core), so the copy also carries a .pio of another place
    moved = tmp_path / "elsewhere" / "hello copy"
    shutil.copytree(project.path, moved, symlinks=True)
    shutil.rmtree(tmp_path / "made")  # nothing of the first place is left to lean on
    core_before = _files(moved / "pio-core")
    r = plain_pio_run(moved, tmp_path / "home")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "SUCCESS" in r.stdout
    assert _files(moved / "pio-core") == core_before  # a build writes to .pio/ only
    assert not (tmp_path / "home" / ".platformio").exists()  # the user's core is not used either
    run = run_to_exit(board, moved / ".pio" / "build" / project.env_name / "firmware.elf", timeout=30)
    assert run.exit_code == 0 and run.output == "hello from tinyc on mps2-an386\n"


@pytest.mark.toolchain
def test_a_real_boards_project_copied_builds_with_plain_pio_run(tmp_path):
    """The model harness for a real board (no emulator): built fresh from a copy, never built before."""
    project = render_harness_project(tmp_path / "fw", get_board("nucleo-f746"), fm.SOURCES, fm.INCLUDE_DIRS,
                                     fm.INPUT_BYTES, emulate=False)
    moved = tmp_path / "copy"
    shutil.copytree(project.path, moved)
    r = plain_pio_run(moved, tmp_path / "home")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (moved / ".pio" / "build" / "nucleo_f746" / "firmware.elf").is_file()
