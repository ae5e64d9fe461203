"""Public trained models (../shared/models, from tensorflow/tflite-micro) through the real `tinyc bench` path:
each supported model is built (cached build, as `tinyc build`) for the Cortex-M7 stand-in (nucleo-f746
--emulate, run on mps2-an500), the Cortex-M4 (mps2-an386) and the Cortex-M55 (mps3-an547), run in QEMU, and
its outputs must be bit-identical to the TFLite Micro interpreter's (the LSTM models: each inference from the
initial state, as a freshly allocated interpreter). Every operator of every model now has a kernel; MobileNetV2
(4 MB of weights, a 2.6 MB arena) fits none of these boards, which `tinyc check` and `tinyc build` say in one line
(exit 1) before building anything.

The trained-like zoo models (trained on digits here) are tested the same way in tests/test_trained_zoo.py."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from benchmarks import trained_models
from tests.conftest import require_tool
from tinyc.cli import cli
from tinyc.model import ops

# (board, --emulate): the Cortex-M7 stand-in, the Cortex-M4, the Cortex-M55 with Helium
TARGETS = [("nucleo-f746", True), ("mps2-an386", False), ("mps3-an547", False)]
SUPPORTED = ("person_detect", "micro_speech_quantized", "hello_world_int8", "trained_lstm_int8",
             "dtln_noise_suppression", "micro_speech_lstm")
TOO_BIG = ("mobilenet_v2_quantized_1x3x224x224",)  # supported operators, but no QEMU board here holds it


@pytest.fixture(scope="module")
def shared():
    d = trained_models.models_dir()
    if not (d / "README.md").is_file():
        pytest.skip(f"no trained models at {d} (set TINYC_TRAINED_MODELS to the folder of ../shared/models)")
    return trained_models.load(d)


def bench_json(*args) -> dict:
    r = CliRunner().invoke(cli, ["bench", *map(str, args), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout[r.stdout.index("{"):])


def test_files_are_the_readme_ones_and_tinyc_supports_exactly_these(shared):
    assert set(shared) == set(SUPPORTED) | set(TOO_BIG)
    for m in shared.values():
        assert m.file_matches(), f"{m.path} is not the file the README measured (size/sha256)"
        assert m.tflm_for("cortex-m7") and m.tflm_for("cortex-m4") == m.tflm_for("cortex-m7")
        assert m.tflm_for("cortex-m55") == m.tflm["M55 asm"]
    ok, rejected = trained_models.supported(shared)
    assert sorted(ok) == sorted(SUPPORTED + TOO_BIG) and not rejected, rejected


@pytest.mark.parametrize("name", TOO_BIG)
def test_a_model_too_big_for_the_board_is_one_line_before_any_build(shared, name, tmp_path):
    m = shared[name]
    assert set(m.ops) <= set(ops.SUPPORTED)
    for args in (["check", m.path, "--board", "nucleo-f746"],
                 ["build", m.path, "--board", "nucleo-f746", "--emulate", "-o", tmp_path / "out"]):
        r = CliRunner().invoke(cli, list(map(str, args)))
        assert r.exit_code == 1, r.output
        if args[0] == "build":
            errors = [line for line in r.stderr.splitlines() if not line.startswith("[")]  # "[1/4] check ..."
            assert len(errors) == 1 and "does not fit nucleo-f746" in errors[0] and "Traceback" not in r.output, \
                r.output
    assert not (tmp_path / "out").exists()


@pytest.mark.toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board_id,emulate", TARGETS, ids=[b for b, _ in TARGETS])
@pytest.mark.parametrize("name", SUPPORTED)
def test_trained_model_bit_exact_with_tflm_in_qemu(shared, name, board_id, emulate):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    d = bench_json(shared[name].path, "--board", board_id, *(["--emulate"] if emulate else []), "--runs", "2")
    assert d["outputs_match"] is True, d["mismatches"]
    assert d["emulated"] and d["unit"] == "instructions" and d["min"] == d["max"] > 0
    assert d["checksums_identical"]
