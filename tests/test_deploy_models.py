"""Real models through the whole deploy path on QEMU: generate -> build -> run -> read back.

Outputs must be bit-identical to the TFLite Micro interpreter, every timed run must give the same
output checksum, and the emulated cost (an instruction count) must be identical across two QEMU
invocations. Builds are cached (tinyc.deploy.pipeline.cached_build) while nothing changes.
"""

from __future__ import annotations

import hashlib
import os
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import require_tool
from tinyc import paths
from tinyc.cli import cli
from tinyc.deploy import pipeline
from tinyc.deploy.bench import bench_link, open_target

BOARDS = ["mps2-an500", "mps2-an386", "mps3-an547", "netduinoplus2"]
DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"


def _tools():
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")


@pytest.fixture(scope="session")
def digits_tflite() -> Path:
    """The digits example as int8 (plain PTQ), cached by the inputs that make it."""
    keras, calib = DIGITS / "digits_cnn.keras", DIGITS / "calibration.npz"
    key = hashlib.sha256(keras.read_bytes() + calib.read_bytes()).hexdigest()[:16]
    out = paths.cache_dir() / "test-models" / f"digits-{key}.tflite"
    if not out.is_file():
        from tinyc.optimize.pipeline import Options, optimize

        out.parent.mkdir(parents=True, exist_ok=True)
        # each xdist worker builds it in its own file (tinyc refuses two writers of one file), then one rename wins
        tmp = out.with_name(f"{out.stem}.{os.getpid()}.tmp.tflite")
        optimize(keras, tmp, Options(), calibration_data=str(calib), force=True)
        tmp.replace(out)
    return out


def _zoo(name: str) -> Path:
    from tinyc import zoo

    return zoo.build(name)


def _model(name: str, digits_tflite: Path) -> Path:
    return digits_tflite if name == "digits" else _zoo(name)


@pytest.mark.toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board_id", BOARDS)
@pytest.mark.parametrize("model_name", ["digits", pytest.param("kws_dscnn", marks=pytest.mark.slow),
                                        pytest.param("ic_resnet8", marks=pytest.mark.slow)])
def test_model_runs_bit_exact_with_repeatable_cost(board_id, model_name, digits_tflite):
    _tools()
    model = _model(model_name, digits_tflite)
    rec = pipeline.cached_build(model, board_id, emulate=False)
    costs = []
    for runs in (2, 1):  # two QEMU invocations
        with open_target(rec.elf, rec.run_board) as link:
            m = bench_link(link, model, runs=runs)
        assert m.outputs_match, m.mismatches
        assert m.checksums_identical and len(set(m.checksums)) == 1
        assert m.unit == "instructions" and m.min == m.max > 0
        costs.append(m.ticks[0])
    assert costs[0] == costs[1]


@pytest.mark.toolchain
@pytest.mark.emulator
def test_validate_on_the_emulated_m7_matches_host_accuracy(digits_tflite):
    _tools()
    from tinyc.optimize.measure import tflm_accuracy
    from tinyc.deploy.validate import load_npz, validate_link

    rec = pipeline.cached_build(digits_tflite, "mps2-an500", emulate=False)
    data = DIGITS / "test.npz"
    with open_target(rec.elf, rec.run_board, timing=False) as link:
        v = validate_link(link, digits_tflite, data)
    x, y = load_npz(data)
    assert v.samples == len(y) == 360
    assert v.identical == v.samples
    assert v.target_correct == v.host_correct
    assert v.target_accuracy == pytest.approx(tflm_accuracy(digits_tflite.read_bytes(), x, y))


@pytest.mark.toolchain
@pytest.mark.emulator
def test_tinyc_build_cli_runs_the_pipeline_and_reports_memory(tmp_path, digits_tflite):
    _tools()
    out = tmp_path / "b"
    r = CliRunner().invoke(cli, ["build", str(digits_tflite), "--board", "mps2-an500", "-o", str(out), "--runs", "2",
                                 "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout[r.stdout.index("{"):])
    assert d["bench"]["outputs_match"] is True and d["bench"]["unit"] == "instructions"
    mem = d["build"]["memory"]
    assert mem["arena"] == d["build"]["predicted"]["arena"]  # the plan, exactly
    assert sum(p["flash"] for p in mem["parts"].values()) == mem["flash"]
    assert sum(p["ram"] for p in mem["parts"].values()) == mem["ram"]
    assert (out / "tinyc-build.json").is_file()
    # bench and flash reuse that build
    r = CliRunner().invoke(cli, ["bench", "--board", "mps2-an500", "--firmware", str(out), "--runs", "2"])
    assert r.exit_code == 0, r.output
    assert "instructions" in r.output and "bit-identical" in r.output and "cycles" not in r.output.split("not cycles")[0]
    # a non-empty output directory is not overwritten without --force
    r = CliRunner().invoke(cli, ["build", str(digits_tflite), "--board", "mps2-an500", "-o", str(out), "--no-run"])
    assert r.exit_code == 2 and "--force" in r.output
    # a damaged build record is one line naming it, never a KeyError
    rec = json.loads((out / "tinyc-build.json").read_text())
    del rec["memory"]
    (out / "tinyc-build.json").write_text(json.dumps(rec))
    r = CliRunner().invoke(cli, ["bench", "--board", "mps2-an500", "--firmware", str(out), "--runs", "2"])
    assert r.exit_code == 2 and "tinyc-build.json: not a build record tinyc wrote" in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


@pytest.mark.toolchain
@pytest.mark.emulator
def test_real_board_runs_on_its_stand_in_only_with_emulate(digits_tflite):
    _tools()
    r = CliRunner().invoke(cli, ["bench", str(digits_tflite), "--board", "nucleo-f746"])
    assert r.exit_code == 2 and "--port" in r.output and "--emulate" in r.output
    rec = pipeline.cached_build(digits_tflite, "nucleo-f746", emulate=True)
    ini = (rec.elf.parents[3] / "platformio.ini").read_text()
    manifest = next((rec.elf.parents[3] / "boards").glob("*.json")).read_text()
    assert '"fpu": "fpv5-sp-d16"' in manifest  # the real board's single-precision FPU, not the stand-in's
    assert "LENGTH = 327680" in (rec.elf.parents[3] / "linker.ld").read_text()  # F746's 320 KiB
    assert "TINYC_BOARD_ID" in ini
    with open_target(rec.elf, rec.run_board) as link:
        m = bench_link(link, digits_tflite, runs=2)
    assert m.board == "nucleo-f746" and m.emulated and m.outputs_match


@pytest.mark.toolchain
def test_too_big_fails_at_check_and_when_forced_at_link_time(tmp_path):
    require_tool("arm-none-eabi-gcc")
    model = _zoo("ic_resnet8")
    r = CliRunner().invoke(cli, ["build", str(model), "--board", "bluepill", "-o", str(tmp_path / "a"), "--no-run"])
    assert r.exit_code == 1 and "does not fit bluepill" in r.output
    assert not (tmp_path / "a").exists()
    r = CliRunner().invoke(cli, ["build", str(model), "--board", "bluepill", "-o", str(tmp_path / "b"), "--no-run",
                                 "--force-build"])
    assert r.exit_code == 1, r.output
    assert "overflowed by" in r.output and "region" in r.output
    assert not (tmp_path / "b").exists()
