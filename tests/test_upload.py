"""Uploading to real boards without one attached: the exact uploader commands, the detection of a
probe, serial port or boot drive (from fake sysfs / port lists / mount tables), each failure's
one-line error, the UF2 writer, and `tinyc flash` on the command line."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests import real_builds
from tests.conftest import require_tool
from tinyc.boards import get_board
from tinyc.cli import cli
from tinyc.deploy import upload, uf2
from tinyc.deploy.upload import NoBoardError, UploadError

ELF = Path("/fw/build/firmware.elf")


def _fake_usb(root: Path, vid: int, pid: int, serial: str = "066DFF485550") -> Path:
    dev = root / "1-2"
    dev.mkdir(parents=True)
    for name, value in (("idVendor", f"{vid:04x}"), ("idProduct", f"{pid:04x}"), ("busnum", "1"),
                        ("devnum", "7"), ("serial", serial)):
        (dev / name).write_text(value + "\n")
    return root


@pytest.mark.parametrize("board_id,expected", [
    ("nucleo-f746", "openocd -f interface/stlink.cfg -f target/stm32f7x.cfg -c "
                    "'program /fw/build/firmware.elf verify reset exit'"),
    ("disco-f746ng", "openocd -f interface/stlink.cfg -f target/stm32f7x.cfg -c "
                     "'program /fw/build/firmware.elf verify reset exit'"),
    ("nucleo-f401re", "openocd -f interface/stlink.cfg -f target/stm32f4x.cfg -c "
                      "'program /fw/build/firmware.elf verify reset exit'"),
    ("nucleo-h743", "openocd -f interface/stlink.cfg -f target/stm32h7x.cfg -c "
                    "'program /fw/build/firmware.elf verify reset exit'"),
    ("nucleo-l4r5", "openocd -f interface/stlink.cfg -f target/stm32l4x.cfg -c "
                    "'program /fw/build/firmware.elf verify reset exit'"),
    ("bluepill", "openocd -f interface/stlink.cfg -f target/stm32f1x.cfg -c "
                 "'program /fw/build/firmware.elf verify reset exit'"),
])
def test_stlink_boards_upload_with_openocd(board_id, expected):
    plan = upload.plan_upload(get_board(board_id), ELF)
    assert plan.tool == "openocd" and plan.shell == expected


def test_nano33ble_uploads_the_bin_with_bossac_on_its_port():
    plan = upload.plan_upload(get_board("nano33ble"), ELF, device="/dev/ttyACM0")
    assert plan.shell == "bossac -d --port=ttyACM0 -U -i -e -w /fw/build/firmware.bin -R"
    assert plan.firmware == ELF.with_suffix(".bin") and any("0x10000" in n for n in plan.notes)


def test_pico_gets_a_uf2_copied_to_its_boot_drive():
    plan = upload.plan_upload(get_board("rpi-pico"), ELF, device="/media/u/RPI-RP2")
    assert plan.command == ("cp", "/fw/build/firmware.uf2", "/media/u/RPI-RP2/")


def test_pyocd_is_the_alternative_for_stlink_boards():
    plan = upload.plan_upload(get_board("nucleo-f401re"), ELF, tool="pyocd")
    assert plan.command == ("pyocd", "flash", "--target", "stm32f401re", str(ELF))


def test_emulated_boards_have_nothing_to_upload():
    with pytest.raises(UploadError, match="emulated board"):
        upload.plan_upload(get_board("mps2-an386"), ELF)


def test_no_stlink_attached_is_said_plainly(tmp_path):
    with pytest.raises(NoBoardError, match="no board attached: no ST-LINK probe"):
        upload.detect(get_board("nucleo-f746"), devices=[])
    with pytest.raises(NoBoardError, match="no board attached"):  # a sysfs with other USB devices only
        upload.detect(get_board("nucleo-f746"), devices=upload.usb_devices(_fake_usb(tmp_path, 0x1D6B, 0x0002)))


def test_an_attached_stlink_is_found_and_named(tmp_path, monkeypatch):
    monkeypatch.setattr(upload.shutil, "which", lambda name: f"/usr/bin/{name}")
    devices = upload.usb_devices(_fake_usb(tmp_path / "sys", 0x0483, 0x374B), devfs=tmp_path / "dev")
    assert devices[0].node == tmp_path / "dev" / "001" / "007"
    assert upload.detect(get_board("nucleo-f746"), devices=devices) == "ST-LINK/V2-1 0483:374b serial 066DFF485550"


def test_a_missing_uploader_names_its_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(upload.shutil, "which", lambda name: None)
    devices = upload.usb_devices(_fake_usb(tmp_path, 0x0483, 0x374E))
    with pytest.raises(UploadError, match=r"openocd is not installed: install the Debian package openocd"):
        upload.detect(get_board("nucleo-h743"), devices=devices)
    port = tmp_path / "ttyACM0"
    port.write_text("")
    with pytest.raises(UploadError, match=r"bossac is not installed: install the Debian package bossa-cli"):
        upload.detect(get_board("nano33ble"), port=str(port))


def test_no_permission_on_the_serial_port_says_how_to_get_it(tmp_path, monkeypatch):
    port = tmp_path / "ttyACM0"
    port.write_text("")
    monkeypatch.setattr(upload.os, "access", lambda path, mode: False)  # tests may run as root
    with pytest.raises(UploadError, match=r"no permission to open .*ttyACM0.*dialout"):
        upload.detect(get_board("nano33ble"), port=str(port))


def test_nano33ble_is_found_by_its_usb_id_or_reported_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(upload.shutil, "which", lambda name: f"/usr/bin/{name}")
    port = tmp_path / "ttyACM3"
    port.write_text("")
    ports = [("/dev/ttyS0", None, None), (str(port), 0x2341, 0x805A)]
    assert upload.detect(get_board("nano33ble"), serial_ports=ports) == str(port)
    with pytest.raises(NoBoardError, match="no board attached: no Arduino Nano 33 BLE"):
        upload.detect(get_board("nano33ble"), serial_ports=ports[:1])
    with pytest.raises(NoBoardError, match="does not exist"):
        upload.detect(get_board("nano33ble"), port=str(tmp_path / "ttyACM9"))


def test_pico_boot_drive_is_found_in_the_mount_table(tmp_path):
    drive = tmp_path / "RPI RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n")
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 {str(drive).replace(' ', chr(92) + '040')} vfat rw 0 0\n")
    assert upload.detect(get_board("rpi-pico"), mounts=mounts) == str(drive)
    mounts.write_text("proc /proc proc rw 0 0\n")
    with pytest.raises(NoBoardError, match="no board attached: no RPI-RP2 boot drive"):
        upload.detect(get_board("rpi-pico"), mounts=mounts)


def test_boot2_crc_is_crc32_mpeg2():
    assert uf2.boot2_crc32(b"123456789") == 0x0376E6E7  # the catalogued check value


def test_uf2_blocks_are_256_byte_pages_with_magic_numbers_and_the_rp2040_family():
    chunks = {0x10000000: bytes(range(256)) * 2, 0x10000300: b"\x01\x02\x03"}  # a gap, then a partial page
    data = uf2.to_uf2(chunks)
    assert len(data) == 3 * 512
    blocks = uf2.parse_uf2(data)
    assert [b.address for b in blocks] == [0x10000000, 0x10000100, 0x10000300]
    assert [(b.number, b.total, b.family_id) for b in blocks] == [(i, 3, 0xE48BFF56) for i in range(3)]
    assert blocks[1].payload == bytes(range(256))
    assert blocks[2].payload == b"\x01\x02\x03" + b"\xff" * 253
    with pytest.raises(uf2.Uf2Error, match="bad magic"):
        uf2.parse_uf2(data[:-1] + b"\x00")


def test_tinyc_flash_without_a_board_exits_non_zero_saying_so(monkeypatch):
    monkeypatch.setattr(upload, "usb_devices", lambda *a, **k: [])
    result = CliRunner().invoke(cli, ["flash", "--board", "nucleo-f746"])
    assert result.exit_code != 0
    assert "error: no board attached: no ST-LINK probe" in result.output
    assert "Traceback" not in result.output


def test_tinyc_flash_as_a_user_runs_it_without_a_board():
    if [d for d in upload.usb_devices() if d.vid == upload.STLINK_VID]:
        pytest.skip("an ST-LINK is attached to this machine")
    proc = subprocess.run([sys.executable, "-m", "tinyc.cli", "flash", "--board", "nucleo-f746"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: no board attached") and proc.stderr.count("\n") == 1


@pytest.mark.toolchain
@pytest.mark.parametrize("board_id", ["nucleo-f746", "rpi-pico"])
def test_tinyc_flash_dry_run_prints_the_exact_command(board_id):
    require_tool("arm-none-eabi-gcc")
    result = CliRunner().invoke(cli, ["flash", "--board", board_id, "--dry-run"])
    assert result.exit_code == 0, result.output
    line = [x for x in result.output.splitlines() if x.startswith(("openocd", "cp "))][-1]
    argv = shlex.split(line)
    firmware = Path(argv[-1].split("program ", 1)[1].split(" verify")[0] if board_id == "nucleo-f746" else argv[1])
    assert firmware.is_file()  # built (hello), and for the Pico converted to UF2
    if board_id == "nucleo-f746":
        assert argv[:5] == ["openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32f7x.cfg"]
        assert firmware.suffix == ".elf"
    else:
        blocks = uf2.parse_uf2(firmware.read_bytes())
        assert blocks[0].address == 0x10000000 and blocks[0].family_id == uf2.RP2040_FAMILY_ID
        assert argv[2].startswith("<RPI-RP2 boot drive")  # no drive named: a placeholder, not a guess


@pytest.mark.parametrize("board_id,expected", [
    ("nucleo-f746", 'upload_command = openocd -f interface/stlink.cfg -f target/stm32f7x.cfg '
                    '-c "program $SOURCE 0x08000000 verify reset exit"'),
    ("nano33ble", "upload_command = bossac -d --port=$UPLOAD_PORT -U -i -e -w $SOURCE -R"),
    ("rpi-pico", 'upload_command = "$PYTHONEXE" -m tinyc.deploy.uf2 $SOURCE 0x10000000 "$UPLOAD_PORT"'),
])
def test_generated_project_uploads_through_platformio_with_the_same_tool(tmp_path, board_id, expected):
    from tinyc.deploy.project import render_project

    project = render_project(tmp_path / "p", get_board(board_id), [real_builds.HELLO], emulate=False)
    ini = (project.path / "platformio.ini").read_text()
    tinyc_env = ini.split("_stock]")[0]
    assert expected + "\n" in tinyc_env
    stock = ini.split("_stock]")[1]
    assert f"board = {get_board(board_id).upload.platformio_board}\n" in stock  # for users with internet
    if board_id == "nucleo-f746":  # on its QEMU stand-in nothing is uploaded: QEMU runs it
        emulated = render_project(tmp_path / "e", get_board(board_id), [real_builds.HELLO], emulate=True)
        assert "upload_command" not in (emulated.path / "platformio.ini").read_text()


@pytest.mark.toolchain
def test_pio_upload_puts_the_picos_uf2_on_its_boot_drive(tmp_path):
    require_tool("arm-none-eabi-gcc")
    from tinyc.deploy import piocore
    from tinyc.deploy.platformio import pio_command

    fw = real_builds.firmware("rpi-pico", "hello")
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    proc = subprocess.run(pio_command() + ["run", "-d", str(fw.project.path), "-e", fw.project.env_name,
                                           "-t", "upload", "--upload-port", str(drive)],
                          env=piocore.environment(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    blocks = uf2.parse_uf2((drive / "firmware.uf2").read_bytes())
    image = b"".join(b.payload for b in blocks)
    assert fw.elf.with_suffix(".bin").read_bytes() == image[: len(fw.elf.with_suffix(".bin").read_bytes())]
    assert blocks[0].address == 0x10000000


def test_uf2_copy_without_a_drive_says_so(tmp_path):
    binary = tmp_path / "firmware.bin"
    binary.write_bytes(b"\x00" * 300)
    proc = subprocess.run([sys.executable, "-m", "tinyc.deploy.uf2", str(binary), "0x10000000",
                           str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert proc.returncode == 2 and "not a mounted boot drive" in proc.stderr
