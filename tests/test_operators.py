"""The operator registry (tinyc/operators/): its generated table matches docs/operators.md, and
docs/how-to/add-an-operator.md and docs/kernels.md's "How to add a kernel variant" followed with a fixture folder
(tests/fixtures/operators/: ABS, one declaration and one C file, and its Arm DSP variant, one declaration and one C
file, read through TINYC_OPERATORS) give models tinyc builds, bit-identical to TFLite Micro on the host (reference
and DSP kernel sets) and in QEMU on the DSP variant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinyc import operators
from tinyc.errors import TinycError
from tinyc.operators._table import markdown

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "operators"

FOLLOW_THE_HOWTO = r'''
import json, sys
import numpy as np
from click.testing import CliRunner
from tinyc import operators, zoo
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.cli import cli
from tinyc.codegen import generate, host
from tinyc.model import reference
from tinyc.model.graph import load
from tinyc.model.ops import compatibility

tmp = sys.argv[1]
out = {"declared": "ABS" in operators.all_ops(), "zoo": "abs_dense" in zoo.names()}
path = zoo.build("abs_dense")
g = load(path)
out["ops"] = [op.op for op in g.operators]
out["compatible"] = compatibility(g).ok
rng = np.random.default_rng(7)
batches = [[rng.integers(-128, 128, size=g.tensor(g.inputs[0]).shape, dtype=np.int8)] for _ in range(100)]
it = reference.interpreter(path)
ref = []
for rec in batches:
    it.set_input(rec[0], 0); it.invoke(); ref.append(np.array(it.get_output(0)))
out["differing"] = {}
for board in ("reference", "mps2-an386"):  # the portable kernels (no board), the Arm DSP set (Cortex-M4)
    gen = generate(g, plan_improved(g), None if board == "reference" else get_board(board), f"{tmp}/gen-{board}",
                   weights="dense")
    exe = host.build_runner(gen, f"{tmp}/build-{board}", sanitize=True)
    y = g.tensor(g.outputs[0])
    mine = host.run(exe, batches, [(np.dtype(y.dtype), y.shape)])
    out["differing"][board] = int(sum(np.count_nonzero(m[0] != r) for m, r in zip(mine, ref)))
    out.setdefault("files", {})[board] = sorted(p.name for p in gen.out_dir.iterdir())
    out.setdefault("kernels", {})[board] = list(gen.kernels)
odd = load(zoo.build("abs_odd"))
gen = generate(odd, plan_improved(odd), get_board("mps2-an386"), f"{tmp}/gen-odd", weights="dense")
out["odd_choices"] = [[c.op, c.kernel, c.reason] for c in gen.choices]
r = CliRunner().invoke(cli, ["bench", str(path), "--board", "mps2-an386", "--emulate", "--runs", "2", "--json"])
out["bench_exit"] = r.exit_code
out["bench"] = json.loads(r.stdout) if r.exit_code == 0 else r.output[-2000:]
print("RESULT " + json.dumps(out))
'''


def test_the_operator_table_in_docs_is_the_registrys():
    assert (ROOT / "docs" / "operators.md").read_text() == markdown(), \
        "docs/operators.md is stale: run .venv/bin/python scripts/operators_doc.py"


@pytest.mark.slow
@pytest.mark.toolchain
@pytest.mark.emulator
def test_add_an_operator_from_a_folder(tmp_path):
    from tests.conftest import require_tool

    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    env = dict(os.environ, TINYC_OPERATORS=str(FIXTURE), TF_USE_LEGACY_KERAS="1")
    r = subprocess.run([sys.executable, "-c", FOLLOW_THE_HOWTO, str(tmp_path)], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=900)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert r.returncode == 0 and line, (r.stdout[-3000:], r.stderr[-3000:])
    out = json.loads(line[len("RESULT "):])
    assert out["declared"] and out["zoo"] and out["compatible"], out
    assert out["ops"] == ["FULLY_CONNECTED", "ABS"], out
    assert out["differing"] == {"reference": 0, "mps2-an386": 0}, out
    assert {"abs.c", "tinyc_ops.h"} <= set(out["files"]["reference"]), out
    # docs/kernels.md "How to add a kernel variant", with abs_dsp.py: the DSP board runs the variant ...
    assert "TINYC_DSP_ABS_S8" in out["kernels"]["mps2-an386"] and "TINYC_ABS_S8" not in out["kernels"]["mps2-an386"]
    assert "abs_dsp.c" in out["files"]["mps2-an386"], out
    # ... and a layer it refuses stays on the reference kernel with the variant's reason
    assert ["ABS", "TINYC_ABS_S8", "DSP: 15 values is not a multiple of 4"] in out["odd_choices"], out
    assert out["bench_exit"] == 0 and out["bench"]["outputs_match"] and out["bench"]["emulated"], out


def test_a_broken_operator_folder_is_one_line_naming_it(tmp_path, monkeypatch):
    bad = tmp_path / "ops"
    bad.mkdir()
    (bad / "mine.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.setattr(operators, "_FOLDERS", [bad])
    monkeypatch.setattr(operators, "_OPS", None)
    with pytest.raises(TinycError, match=r"mine\.py: the operator module fails to load \(RuntimeError: boom\)"):
        operators.all_ops()
    (bad / "mine.py").write_text("from tinyc.operators import OpDecl\nOP = OpDecl('ADD', 1, lambda c, o: None)\n")
    monkeypatch.setattr(operators, "_OPS", None)
    with pytest.raises(TinycError, match=r"operator ADD is already declared by tinyc/operators/add\.py"):
        operators.all_ops()
    monkeypatch.setattr(operators, "_FOLDERS", [tmp_path / "missing"])
    monkeypatch.setattr(operators, "_OPS", None)
    with pytest.raises(TinycError, match="operator folder not found"):
        operators.all_ops()
    monkeypatch.setattr(operators, "_OPS", None)


def test_generated_declarations_take_every_c_type():
    """tinyc_ops.h from typed fields and operand types (a float field and a float pointer included)."""
    from tinyc.codegen import kernels as K
    from tinyc.codegen.generate import ops_header

    k = K.Kernel("TINYC_TEST_F32", ("TEST",), K.KernelSet.REFERENCE, "test.c", "tinyc_test_params_t",
                 (K.Role.INPUT, K.Role.OUTPUT, K.Role.COUNT),
                 fields=(K.Field("scale", ctype=K.CType.F32), K.Field("dims", 4), K.Field("zp", ctype=K.CType.I16)),
                 arg_types=((K.Role.OUTPUT, K.ArgType(K.CType.F32)),))
    text = ops_header([k])
    assert "    float scale;\n    int32_t dims[4];\n    int16_t zp;\n} tinyc_test_params_t;" in text
    assert ("void tinyc_ref_test_f32(const tinyc_test_params_t *p, const int8_t *input, float *output, "
            "int32_t count);") in text and "#define TINYC_TEST_F32 tinyc_ref_test_f32" in text
