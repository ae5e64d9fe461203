"""CPU flags in one place (issue 20): Board.cpu_flags writes them; the generated project's board manifest
carries them to tinyc's PlatformIO builder, and tinyc check compiles kernels with the same flags."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import require_tool
from tinyc import paths
from tinyc.boards import get_board
from tinyc.deploy.platformio import build
from tinyc.deploy.project import render_project

HELLO = paths.firmware_dir() / "apps" / "hello" / "main.c"
ROOT = paths.firmware_dir().parent


@pytest.mark.parametrize("board_id,flags", [
    ("nucleo-f746", ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard")),
    ("microbit", ("-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft")),
    ("mps3-an547", ("-mcpu=cortex-m55", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard")),
])
def test_the_board_writes_its_flags_and_the_manifest_carries_them(tmp_path, board_id, flags):
    board = get_board(board_id)
    assert board.cpu_flags == flags
    project = render_project(tmp_path / "p", board, [HELLO], emulate=board.emulation.stand_in)
    manifest = json.loads(next((project.path / "boards").glob("*.json")).read_text())
    assert tuple(manifest["build"]["cpu_flags"]) == flags  # the real board's flags, also on its stand-in


def test_no_second_copy_of_the_flags():
    builder = (paths.firmware_dir() / "platform" / "builder" / "main.py").read_text()
    assert "build.cpu_flags" in builder and "-mcpu" not in builder and "-mfloat-abi" not in builder
    footprint = (ROOT / "tinyc" / "codegen" / "footprint.py").read_text()
    assert "board.cpu_flags" in footprint and "-mcpu" not in footprint


@pytest.mark.toolchain
def test_the_builder_compiles_with_the_manifests_flags(tmp_path):
    require_tool("arm-none-eabi-gcc")
    board = get_board("nucleo-f746")
    project = render_project(tmp_path / "p", board, [HELLO], emulate=False)
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(build(project).elf)], capture_output=True,
                           text=True, check=True).stdout
    assert "Tag_CPU_name: \"7E-M\"" in attrs and "Tag_ABI_VFP_args: VFP registers" in attrs, attrs
    assert "FPv5/FP-D16 for ARMv8" in attrs and "Tag_FP_arch" in attrs, attrs
