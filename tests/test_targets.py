"""The target interface (tinyc.deploy.targets): each way of reaching a board is one class chosen from the
board file's fields, every command reaches boards through it, and nothing else in tinyc asks what kind of
board it has."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinyc import paths
from tinyc.boards import all_boards, get_board
from tinyc.cli import cli
from tinyc.deploy import targets, upload
from tinyc.deploy.targets import QemuTarget, SerialTarget, run_target, target_for
from tests.test_deploy_models import digits_tflite  # noqa: F401 - the session fixture

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("board_id,tool,cls", [
    ("mps2-an500", None, targets.QemuTarget),
    ("microbit", None, targets.QemuTarget),
    ("nucleo-f746", None, upload.OpenOcdTarget),
    ("nucleo-f746", "openocd", upload.OpenOcdTarget),
    ("nucleo-f401re", "pyocd", upload.PyOcdTarget),
    ("nano33ble", None, upload.BossacTarget),
    ("rpi-pico", None, upload.Uf2Target),
])
def test_the_board_file_chooses_the_target_class(board_id, tool, cls):
    t = target_for(board_id, tool=tool)
    assert type(t) is cls and t.board.id == board_id and t.run_board is t.board


def test_emulate_runs_a_real_board_on_its_stand_in_and_a_port_reaches_a_flashed_board():
    t = target_for("nucleo-f746", emulate=True)
    assert isinstance(t, QemuTarget) and t.run_board.id == "mps2-an500" and t.board.id == "nucleo-f746"
    assert t.where == "in QEMU mps2-an500" and t.pio_upload() == ("qemu", "")
    flashed = target_for("nucleo-f746", port="/dev/ttyACM0", flashed=True)
    assert type(flashed) is SerialTarget and flashed.port == "/dev/ttyACM0" and not flashed.uploads


def test_a_real_board_without_a_port_cannot_be_benched_and_says_how():
    with pytest.raises(Exception, match="is a real board: .*--port, or add --emulate .*mps2-an500"):
        run_target("nucleo-f746")
    assert isinstance(run_target("mps2-an386"), QemuTarget)
    assert isinstance(run_target("mps2-an386", port="socket://127.0.0.1:1"), SerialTarget)  # as --port says


def test_each_target_gives_the_port_its_own_defines():
    emu = target_for("nucleo-f746", emulate=True).port_defines()
    real = target_for("nucleo-f746").port_defines()
    assert emu["TINYC_EMULATED"] == "1" and emu["TINYC_TICK_HZ"] == "25000000u" and "TINYC_NO_SEMIHOSTING" not in emu
    assert real["TINYC_NO_SEMIHOSTING"] == "1" and "TINYC_EMULATED" not in real


def test_uploader_facts_come_from_the_board_files():
    for b in all_boards().values():
        if b.upload.protocol == "stlink":
            assert re.fullmatch(r"target/stm32[a-z]\dx\.cfg", b.upload.openocd_target), b.id
            assert b.upload.stock_platform == "ststm32"
    assert target_for("rpi-pico").stock_platform == "raspberrypi"
    assert target_for("mps2-an500").stock_platform == ""  # QEMU: no stock env in platformio.ini


def test_a_stlink_board_without_an_openocd_target_says_which_field_to_add(tmp_path, monkeypatch):
    d = tmp_path / "boards"
    shutil.copytree(paths.boards_dir(), d)
    f = d / "nucleo-f401re.toml"
    f.write_text(re.sub(r"openocd_target = .*\n", "", f.read_text()))
    monkeypatch.setenv("TINYC_BOARDS_DIR", str(d))
    with pytest.raises(upload.UploadError, match=r"nucleo-f401re.toml: no upload.openocd_target; add"):
        upload.plan_upload(get_board("nucleo-f401re"), Path("/fw/firmware.elf"))


def test_only_the_board_file_parser_names_board_kinds():
    """Issue 20: code branches on what a target does, never on the board's kind: the kind strings appear in the
    board-file parser alone, and Board.emulated is read only there (tinyc/boards.py: boards.listing() and
    boards.physical() answer the others); `tinyc boards show` prints the kind field as the file has it."""
    hits, reads = [], []
    for f in [*(ROOT / "tinyc").rglob("*.py"), *(ROOT / "templates").rglob("*.j2")]:
        rel = str(f.relative_to(ROOT))
        for n, line in enumerate(f.read_text().splitlines(), 1):
            # a kind string compared or assigned (a report's "emulated" field, did it run in QEMU, is no kind)
            if re.search(r'kind\b.*"(real|emulated)"|[=!]=\s*"(real|emulated)"|"(real|emulated)"\s*[=!]=', line):
                hits.append(f"{rel}:{n}")
            if re.search(r"\b(board|run_board|b)\.emulated\b|\b(board|run_board)\.kind\b", line):
                reads.append(f"{rel}:{n}")
    assert {h.split(":")[0] for h in hits} == {"tinyc/boards.py"}, hits
    assert {r.split(":")[0] for r in reads} <= {"tinyc/boards.py"}, reads


def test_the_upload_protocol_and_the_kind_agree_in_every_board_file(tmp_path):
    from tinyc.boards import BoardError, load_board

    for b in all_boards().values():
        assert (b.upload.protocol == "qemu") == b.emulated, b.id
        assert target_for(b).run_board is b  # no --emulate: the board runs its own firmware
    src = (paths.boards_dir() / "mps2-an386.toml").read_text()
    f = tmp_path / "mps2-an386.toml"
    f.write_text(src.replace('protocol = "qemu"', 'protocol = "stlink"'))
    with pytest.raises(BoardError, match=r"upload.protocol' is 'stlink' but 'kind' is 'emulated'; an emulator's board is run by QEMU"):
        load_board(f)


def test_a_bad_openocd_target_is_refused_when_the_board_file_is_loaded(tmp_path):
    from tinyc.boards import BoardError, load_board

    src = (paths.boards_dir() / "nucleo-f401re.toml").read_text()
    f = tmp_path / "nucleo-f401re.toml"
    f.write_text(src.replace('openocd_target = "target/stm32f4x.cfg"', 'openocd_target = "../../etc/x.cfg"'))
    with pytest.raises(BoardError, match=r"upload.openocd_target.*an OpenOCD script path"):
        load_board(f)


@pytest.mark.toolchain
@pytest.mark.emulator
def test_flash_on_an_emulated_board_runs_the_firmware_in_qemu_and_syncs(digits_tflite):  # noqa: F811
    from tests.conftest import require_tool

    require_tool("qemu-system-arm")
    r = CliRunner().invoke(cli, ["flash", str(digits_tflite), "--board", "mps2-an500"])
    assert r.exit_code == 0, r.output
    assert re.search(r"mps2-an500: running model [0-9a-f]{16} \(\S+\) in QEMU mps2-an500; arena [\d,]+ B, 1 input",
                     r.output), r.output
    assert "uploaded" not in r.output


@pytest.mark.toolchain
@pytest.mark.emulator
def test_build_port_uploads_through_the_board_files_uploader_then_measures_over_the_port(
        tmp_path, monkeypatch, digits_tflite):  # noqa: F811
    """`tinyc build --port` on a real board: the one upload flow (the uploader the board file names gets the
    real board's ELF), then the measurement over --port (here a QEMU console standing in for the cable)."""
    from tests.conftest import require_tool
    from tests.test_howto import FakeCopy, _boards
    from tinyc.deploy import pipeline
    from tinyc.deploy.emulator import QemuSession

    require_tool("qemu-system-arm")
    monkeypatch.setattr(FakeCopy, "drive", tmp_path / "drive", raising=False)
    (tmp_path / "drive").mkdir()
    monkeypatch.setitem(upload.UPLOADERS, "fakecopy", FakeCopy)
    _boards(tmp_path, monkeypatch, "my-f401", "nucleo-f401re",
            lambda t: t.replace('protocol = "stlink"', 'protocol = "fakecopy"'))
    stand_in = pipeline.cached_build(digits_tflite, "my-f401", emulate=True)  # what the "board" runs
    with QemuSession(stand_in.run_board, stand_in.elf) as q:
        r = CliRunner().invoke(cli, ["build", str(digits_tflite), "--board", "my-f401", "--port", q.url,
                                     "-o", str(tmp_path / "out"), "--runs", "2"])
    assert r.exit_code == 0, r.output
    uploaded = tmp_path / "drive" / "firmware.elf"
    assert uploaded.read_bytes() == (tmp_path / "out" / "firmware" / ".pio" / "build" / "my_f401" /
                                     "firmware.elf").read_bytes()  # the real board's build, not the stand-in's
    assert "uploading" in r.output and "instructions per inference" in r.output


def test_tool_picks_among_the_protocols_alternatives_only():
    assert type(target_for("nucleo-h743", tool="pyocd")) is upload.PyOcdTarget
    with pytest.raises(upload.UploadError, match=r"--tool openocd does not reach rpi-pico, which uploads with uf2"):
        target_for("rpi-pico", tool="openocd")


class _Reached(Exception):
    pass


@pytest.mark.parametrize("args", [
    ["flash", "m.tflite", "--board", "mps2-an500"],
    ["bench", "m.tflite", "--board", "nucleo-f746", "--emulate"],
    ["validate", "m.tflite", "--board", "mps2-an386", "--data", "DATA"],
    ["build", "MODEL", "--board", "mps2-an500", "--no-run", "-o", "OUT"],
    ["flash", "m.tflite", "--board", "nucleo-f401re", "--dry-run"],
])
def test_every_command_gets_its_firmware_from_the_target(args, tmp_path, monkeypatch, digits_tflite):  # noqa: F811
    """Issue 20: flash, build (--port), bench and validate reach every board through Target.build, the one
    way to firmware (pipeline.firmware_for and build_into are the target's to call)."""
    import numpy as np

    calls = []

    def build(self, model, **options):
        calls.append((type(self).__name__, self.board.id, self.run_board.id, options.get("into") is not None))
        raise _Reached

    monkeypatch.setattr(targets.Target, "build", build)
    monkeypatch.setattr(upload.UploadTarget, "build", build)
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 8, 8, 1), np.float32), y=np.zeros(2, np.int64))
    subst = {"DATA": str(tmp_path / "d.npz"), "MODEL": str(digits_tflite), "OUT": str(tmp_path / "o")}
    r = CliRunner().invoke(cli, [subst.get(a, a) for a in args])
    assert isinstance(r.exception, _Reached), r.output
    assert len(calls) == 1 and calls[0][3] == (args[0] == "build"), calls
    if "--emulate" in args:
        assert calls[0][1:3] == ("nucleo-f746", "mps2-an500")


def test_only_the_targets_call_the_build_pipeline():
    hits = []
    for f in (ROOT / "tinyc").rglob("*.py"):
        rel = str(f.relative_to(ROOT))
        if rel in ("tinyc/deploy/targets.py", "tinyc/deploy/pipeline.py"):
            continue
        hits += [f"{rel}:{n}" for n, line in enumerate(f.read_text().splitlines(), 1)
                 if re.search(r"\b(firmware_for|build_into|cached_build)\(", line)]
    assert hits == [], hits
