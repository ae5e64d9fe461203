"""`tinyc generate` and the generated sources: refuses to overwrite, and compiles without warnings for
Cortex-M0+, M4, M7 and M55 with arm-none-eabi-gcc -Wall -Wextra -Werror."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinyc import zoo
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.cli import cli
from tinyc.codegen import generate
from tinyc.codegen import kernels as K
from tinyc.codegen.generate import ops_header_file, runtime_dir
from tinyc.model.graph import load
from tests.conftest import require_tool

CORES = {
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    "cortex-m55": ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
}
BOARD_FOR_CORE = {"cortex-m0plus": "rpi-pico", "cortex-m4": "mps2-an386", "cortex-m7": "mps2-an500",
                  "cortex-m55": "mps3-an547"}
MODELS = ["kws_dscnn", "ic_resnet8", "branchy", "float_io_fc", "add_broadcast", "mul_two", "pad", "logistic",
          "relu", "relu6", "mean_keepdims_c", "maxpool_valid", "reshape", "softmax", "avgpool_same_s2"]


def test_generate_refuses_a_non_empty_directory(tmp_path):
    model = str(zoo.build("fc_odd"))
    out = tmp_path / "gen"
    r = CliRunner().invoke(cli, ["generate", model, "--board", "mps2-an386", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert {"tinyc_model.h", "tinyc_model.c", "tinyc_model_data.c", "fully_connected.c"} <= \
        {p.name for p in out.iterdir()}
    assert "conv2d.c" not in {p.name for p in out.iterdir()}  # only the kernels the model uses
    before = (out / "tinyc_model.c").read_text()
    (out / "mine.txt").write_text("user file")
    r = CliRunner().invoke(cli, ["generate", model, "--board", "mps2-an386", "-o", str(out)])
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and "--force" in r.output and str(out) in r.output
    assert (out / "mine.txt").read_text() == "user file" and (out / "tinyc_model.c").read_text() == before
    r = CliRunner().invoke(cli, ["generate", model, "--board", "mps2-an386", "-o", str(out), "--force"])
    assert r.exit_code == 0, r.output
    assert (out / "mine.txt").read_text() == "user file"  # --force replaces tinyc's files only
    assert (out / "tinyc_model.c").read_text() == before


def test_generate_bad_model_is_one_line(tmp_path):
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"not a model at all, clearly")
    r = CliRunner().invoke(cli, ["generate", str(bad), "--board", "mps2-an386", "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "x.tflite" in r.output
    assert not (tmp_path / "o").exists()


def test_header_follows_the_api_contract(tmp_path):
    g = load(zoo.build("add_two"))
    gm = generate(g, plan_improved(g), get_board("mps2-an386"), tmp_path / "g")
    h = (gm.out_dir / "tinyc_model.h").read_text()
    for needle in ("#define TINYC_MODEL_NUM_INPUTS  2", "#define TINYC_MODEL_NUM_OUTPUTS 1",
                   "TINYC_FLOAT32 = 4", "const tinyc_tensor_t *tinyc_model_input(int i);",
                   "int tinyc_model_invoke(void);", "extern const char tinyc_model_hash[];"):
        assert needle in h
    c = (gm.out_dir / "tinyc_model.c").read_text()
    assert f'tinyc_model_hash[] = "{g.sha256[:16]}"' in c
    assert 'section(".tinyc_arena")' in c and "aligned(16)" in c
    assert gm.to_json()["arena_size"] == plan_improved(g).arena_size


@pytest.mark.toolchain
@pytest.mark.slow
@pytest.mark.parametrize("core", list(CORES))
def test_generated_code_cross_compiles_without_warnings(core, tmp_path):
    gcc = require_tool("arm-none-eabi-gcc")
    board = get_board(BOARD_FOR_CORE[core])
    assert board.core == core
    flags = [*CORES[core], "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-ffunction-sections"]
    # The whole runtime (every kernel, every variant the core may use) ...
    rt = runtime_dir()
    srcs = [rt / "quant.c", *sorted((rt / "kernels").glob("*.c"))]
    # the declarations tinyc generates for the kernels declared with their fields (tinyc_ops.h)
    declared = ops_header_file([k for k in K.all_kernels() if k.generated and not Path(k.source).is_absolute()])
    cmd = [gcc, *flags, f"-I{rt / 'include'}", f"-I{rt / 'kernels'}", f"-I{declared.parent}", "-c"]
    for s in srcs:
        r = subprocess.run(cmd + [str(s), "-o", str(tmp_path / (s.stem + ".o"))], capture_output=True, text=True)
        assert r.returncode == 0, f"{s.name} on {core}: {r.stderr}"
    # ... and every generated directory, compiled exactly as written.
    for name in MODELS:
        g = load(zoo.build(name))
        gm = generate(g, plan_improved(g), board, tmp_path / name)
        for s in gm.sources:
            r = subprocess.run([gcc, *flags, f"-I{gm.out_dir}", "-c", str(s), "-o", str(s.with_suffix(".o"))],
                               capture_output=True, text=True)
            assert r.returncode == 0, f"{name}/{s.name} on {core}: {r.stderr}"


@pytest.mark.toolchain
@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m7", "cortex-m55"])
@pytest.mark.parametrize("opt", ["-O0", "-Og", "-Os", "-O3", "-O2 -fno-omit-frame-pointer"])
def test_optimized_kernels_compile_at_any_level_a_project_may_choose(core, opt, tmp_path):
    """The hand-scheduled DSP/MVE loops need most of the registers: a project's debug level or frame
    pointer must not make them fail to compile (they fall back to C or drop the frame pointer)."""
    gcc = require_tool("arm-none-eabi-gcc")
    rt = runtime_dir()
    sets = ["arm_dsp"] + (["arm_mve"] if core == "cortex-m55" else [])
    defines = [f"-DTINYC_KERNELS_{s.upper()}=1" for s in sets]
    declared = ops_header_file([k for k in K.all_kernels() if k.generated and not Path(k.source).is_absolute()])
    incs = [f"-I{rt / 'include'}", f"-I{rt / 'kernels'}", f"-I{declared.parent}",
            *(f"-I{rt / 'kernels' / s}" for s in sets)]
    srcs = [f for s in sets for f in sorted((rt / "kernels" / s).glob("*.c"))]
    assert srcs
    for s in srcs:
        r = subprocess.run([gcc, *CORES[core], *opt.split(), "-std=c99", "-Wall", "-Wextra", "-Werror", *defines,
                            *incs, "-c", str(s), "-o", str(tmp_path / (s.stem + ".o"))], capture_output=True, text=True)
        assert r.returncode == 0, f"{s.name} on {core} at {opt}: {r.stderr[-600:]}"
