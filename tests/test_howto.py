"""The how-to guides of docs/how-to/, followed step by step with fixtures: a new board of an existing family
runs in QEMU through its stand-in, a new uploader class is chosen from a board field and used by tinyc flash
and PlatformIO, and a new MCU family (a port folder and a board file) builds and runs in QEMU."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import require_tool
from tests.test_deploy_models import digits_tflite  # noqa: F401 - the session fixture
from tinyc import paths
from tinyc.boards import port_families
from tinyc.cli import cli
from tinyc.deploy import upload
from tinyc.deploy.upload import NoBoardError, UploadPlan, UploadTarget


def _boards(tmp_path: Path, monkeypatch, new_id: str, like: str, edit=lambda text: text) -> Path:
    """Step 1 of adding a board: a copy of the closest board file under the new id (in a folder of one's own,
    with the stand-ins it names, through TINYC_BOARDS_DIR)."""
    d = tmp_path / "boards"
    shutil.copytree(paths.boards_dir(), d)
    text = (d / f"{like}.toml").read_text().replace(f'id = "{like}"', f'id = "{new_id}"')
    (d / f"{new_id}.toml").write_text(edit(text))
    monkeypatch.setenv("TINYC_BOARDS_DIR", str(d))
    return d


def _bench(model: Path, board_id: str, *extra: str) -> dict:
    r = CliRunner().invoke(cli, ["bench", str(model), "--board", board_id, "--runs", "2", "--json", *extra])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.toolchain
@pytest.mark.emulator
def test_add_a_board(tmp_path, monkeypatch, digits_tflite):  # noqa: F811
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    _boards(tmp_path, monkeypatch, "my-f746", "nucleo-f746",
            lambda t: t.replace('name = "ST NUCLEO-F746ZG"', 'name = "My F746 board"'))
    m = _bench(digits_tflite, "my-f746", "--emulate")
    assert m["board"] == "my-f746" and m["emulated"] and m["unit"] == "instructions" and m["outputs_match"]


class FakeCopy(UploadTarget):
    """Step 1-2 of adding an uploader: a tool that copies the ELF into a folder standing for the board."""

    protocol = "fakecopy"
    tool = "fakecopy"
    drive: Path

    def detect(self, *, device=None, devices=None, serial_ports=None, mounts=None) -> str:
        if not self.drive.is_dir():
            raise NoBoardError(f"no board attached: {self.drive} is missing; plug the fake board in")
        return str(self.drive)

    def plan(self, elf: Path, device: str | None = None) -> UploadPlan:
        return UploadPlan(self.board.id, "fakecopy", ("cp", str(elf), (device or "<drive>") + "/"), Path(elf), device)

    def pio_command(self) -> str:
        return "cp $SOURCE $UPLOAD_PORT"


@pytest.mark.toolchain
def test_add_an_uploader(tmp_path, monkeypatch):
    require_tool("arm-none-eabi-gcc")
    monkeypatch.setattr(FakeCopy, "drive", tmp_path / "drive", raising=False)
    monkeypatch.setitem(upload.UPLOADERS, "fakecopy", FakeCopy)  # step 3: in the table ...
    _boards(tmp_path, monkeypatch, "my-f401", "nucleo-f401re",  # ... and named by a board file
            lambda t: t.replace('protocol = "stlink"', 'protocol = "fakecopy"'))

    r = CliRunner().invoke(cli, ["flash", "--board", "my-f401"])
    assert r.exit_code == 2 and "error: no board attached" in r.output  # detect() runs before any build
    (tmp_path / "drive").mkdir()
    r = CliRunner().invoke(cli, ["flash", "--board", "my-f401"])
    assert r.exit_code == 0, r.output
    assert "my-f401: uploaded firmware.elf with fakecopy" in r.output
    copied = tmp_path / "drive" / "firmware.elf"
    assert copied.read_bytes()[:4] == b"\x7fELF"
    r = CliRunner().invoke(cli, ["flash", "--board", "my-f401", "--dry-run"])
    assert r.exit_code == 0 and re.search(r"^cp \S+/firmware.elf '<drive>/'$", r.output, re.M), r.output

    from tests import real_builds
    from tinyc.boards import get_board
    from tinyc.deploy.project import render_project

    ini = (render_project(tmp_path / "p", get_board("my-f401"), [real_builds.HELLO], emulate=False).path
           / "platformio.ini").read_text()
    assert "upload_protocol = fakecopy\n" in ini and "upload_command = cp $SOURCE $UPLOAD_PORT\n" in ini


@pytest.mark.toolchain
@pytest.mark.emulator
def test_add_an_mcu_family(tmp_path, monkeypatch, digits_tflite):  # noqa: F811
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    fw = tmp_path / "firmware"  # a checkout's firmware/ with one more port folder
    shutil.copytree(paths.firmware_dir(), fw, ignore=shutil.ignore_patterns("platform"))
    (fw / "platform").symlink_to(paths.firmware_dir() / "platform")  # the same PlatformIO platform
    (fw / "ports" / "mycmsdk").mkdir()
    shutil.copy2(fw / "ports" / "cmsdk" / "port.c", fw / "ports" / "mycmsdk" / "port.c")  # step 1
    monkeypatch.setattr(paths, "firmware_dir", lambda: fw)
    assert "mycmsdk" in port_families()
    _boards(tmp_path, monkeypatch, "my-an386", "mps2-an386",  # step 6
            lambda t: t.replace('family = "cmsdk"', 'family = "mycmsdk"'))
    m = _bench(digits_tflite, "my-an386")
    assert m["board"] == "my-an386" and m["emulated"] and m["outputs_match"] and m["checksums_identical"]
