"""One build record type (issue 20): ``BuiltFirmware`` is what ``tinyc-build.json`` says, with typed fields,
written by the build and read back unchanged by ``load_build`` (flash/bench/validate --firmware, the build
cache, tinyc fit); the file keeps the format its readers use."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tinyc.boards import get_board
from tinyc.deploy.memuse import MemoryUse
from tinyc.deploy.pipeline import BUILD_FILE, BuiltFirmware, Predicted, load_build
from tinyc.errors import TinycError


def _record(out: Path) -> BuiltFirmware:
    elf = out / "firmware" / ".pio" / "build" / "nucleo_f746_on_mps2_an500" / "firmware.elf"
    elf.parent.mkdir(parents=True)
    elf.write_bytes(b"\x7fELF")
    memory = MemoryUse(12_000, 9_000, {".text": 11_000}, {"tensor arena": {"flash": 0, "ram": 4_096}}, 4_096, 2_048)
    choices = ({"op_index": 0, "op": "CONV_2D", "kernel": "TINYC_CONV2D_S8_DSP", "kernel_set": "arm_dsp",
                "reason": None},)
    return BuiltFirmware(out, out / "m.tflite", "0123456789abcdef", get_board("nucleo-f746"),
                         get_board("mps2-an500"), elf, memory, "arm_dsp", choices, False,
                         Predicted(12_345, 9_100, 4_096, True))


def test_a_record_reads_back_as_written_with_typed_fields(tmp_path):
    built = _record(tmp_path / "b")
    (tmp_path / "b" / BUILD_FILE).write_text(json.dumps(built.to_json()))
    rec = load_build(tmp_path / "b")
    assert type(rec) is BuiltFirmware and rec == built
    assert rec.predicted.sram == 9_100 and rec.memory.arena == 4_096 and rec.choices[0]["kernel_set"] == "arm_dsp"
    assert rec.generated is None and rec.budget is None  # held only by the process that built it
    d = json.loads((tmp_path / "b" / BUILD_FILE).read_text())  # the file format readers know
    assert d["generated"]["variant"] == "arm_dsp" and d["predicted"]["arena"] == 4_096
    assert (d["board"], d["run_board"], d["input_copy"]) == ("nucleo-f746", "mps2-an500", False)


def test_a_moved_build_folder_finds_its_firmware_where_it_is_now(tmp_path):
    built = _record(tmp_path / "b")
    (tmp_path / "b" / BUILD_FILE).write_text(json.dumps(built.to_json()))
    shutil.move(tmp_path / "b", tmp_path / "moved")
    rec = load_build(tmp_path / "moved")
    assert rec.elf.is_file() and rec.elf.is_relative_to((tmp_path / "moved").absolute())


@pytest.mark.parametrize("damage", [lambda d: d.pop("elf"), lambda d: d.pop("memory"),
                                    lambda d: d["generated"].pop("variant"), lambda d: d.update(predicted=[1])])
def test_a_damaged_record_is_one_line_naming_the_file(tmp_path, damage):
    d = _record(tmp_path / "b").to_json()
    damage(d)
    (tmp_path / "b" / BUILD_FILE).write_text(json.dumps(d))
    with pytest.raises(TinycError, match=r"tinyc-build.json: not a build record tinyc wrote .*rebuild"):
        load_build(tmp_path / "b")
