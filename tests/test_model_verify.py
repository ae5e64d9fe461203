"""The model verifier (tinyc.model.verify, issue 19): every model tinyc ships or reads passes it, and a file
whose tensors disagree with its operators is refused by every command in one line naming the operator, the
tensor and the problem (exit 2), before analysis: no HardFault, write past a tensor or SIGFPE later."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks import fuzz
from tinyc import zoo
from tinyc.cli import cli
from tinyc.errors import TinycError
from tinyc.model import graph, ops, verify


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    return dict(fuzz.seed_models())


def _edit(seeds, name, fn) -> bytes:
    m = fuzz.unpack(seeds[name])
    fn(m)
    return fuzz.pack(m)


def _tensor_of(m, op_name, role, pos=0):
    op = fuzz._op_named(m, op_name)
    return fuzz._sub(m).tensors[(op.inputs if role == "in" else op.outputs)[pos]]


def _refusal(data: bytes) -> str:
    g = graph.parse(data, name="m.tflite")
    with pytest.raises(TinycError) as e:
        ops.check_supported(g)
    assert e.value.exit_code == 2
    text = str(e.value)
    assert "\n" not in text and "inconsistent" in text
    return text


def test_shipped_and_public_models_pass(seeds):
    """No false alarm: the zoo (including its float/hybrid examples) and every model of ../shared/models."""
    for name, data in seeds.items():
        assert verify.problems(graph.parse(data, name=name)) == [], name
    for name in zoo.invalid_names():  # float and hybrid models: refused as such, their structure is sound
        g = graph.parse(zoo.build(name).read_bytes(), name=name)
        assert verify.problems(g, supported=set()) == [], name
        assert "int8" in ops.compatibility(g).summary()


def test_fully_connected_weights_disagreeing_with_output(seeds):
    """The issue's HardFault: FC weights [13, 37] and an output of 18 units (the kernel writes 13 per row)."""
    def edit(m):
        y = _tensor_of(m, "FULLY_CONNECTED", "out")
        y.shape = [1, 18]
    text = _refusal(_edit(seeds, "fc_odd", edit))
    assert "op 0 FULLY_CONNECTED output tensor 3" in text and "[1, 18]" in text and "13 units" in text


def test_softmax_input_wider_than_output(seeds):
    """SOFTMAX 1x40 in, 1x10 out: TFLM and the kernel would both write 40 values into 10."""
    def edit(m):
        _tensor_of(m, "SOFTMAX", "in").shape = [1, 40]
        _tensor_of(m, "SOFTMAX", "out").shape = [1, 10]
    text = _refusal(_edit(seeds, "softmax", edit))
    assert "op 0 SOFTMAX output tensor 1" in text and "[1, 10]" in text and "[1, 40]" in text


@pytest.mark.parametrize("depth, phrase", [(4, "not a multiple of the weights' depth 4"), (0, "empty dimension")])
def test_conv_channels_inconsistent(seeds, depth, phrase):
    """Weights deeper than the input (or of depth 0: the SIGFPE of in_c / filter_in_c)."""
    def edit(m):
        w = _tensor_of(m, "CONV_2D", "in", 1)
        oc, kh, kw, _ = (int(d) for d in w.shape)
        w.shape = [oc, kh, kw, depth]
        m.buffers[w.buffer].data = np.zeros(oc * kh * kw * depth, np.uint8) if depth else None
    text = _refusal(_edit(seeds, "conv_same_s1", edit))
    assert "CONV_2D" in text and phrase in text and "tensor 2" in text


@pytest.mark.parametrize("shape, phrase", [
    ([1 << 20, 1 << 20], "1,099,511,627,776 bytes, beyond 2 GiB"),
    ([(1 << 31) - 1, 4], "beyond 2 GiB"),
    ([1] * 8, "rank 8"),
])
def test_huge_weight_shapes(seeds, shape, phrase):
    def edit(m):
        _tensor_of(m, "FULLY_CONNECTED", "in", 1).shape = shape
    text = _refusal(_edit(seeds, "fc_odd", edit))
    assert phrase in text and "(input 1 of op 0 FULLY_CONNECTED)" in text


def test_two_gib_activation_never_reaches_the_arena(seeds, tmp_path):
    """A 2^31-element tensor made `tinyc_arena[2147487744]`: now refused before planning, by generate too."""
    def edit(m):
        for t in (_tensor_of(m, "RELU", "in"), _tensor_of(m, "RELU", "out")):
            t.shape = [2, 1 << 30]
    path = tmp_path / "huge.tflite"
    path.write_bytes(_edit(seeds, "relu", edit))
    r = CliRunner().invoke(cli, ["generate", str(path), "--board", "mps2-an500", "-o", str(tmp_path / "out")])
    assert r.exit_code == 2, r.output
    assert "2,147,483,648 bytes, beyond 2 GiB" in r.output and not (tmp_path / "out" / "tinyc_model.c").exists()


@pytest.mark.parametrize("label", [
    "operator reading its own output", "operators out of order", "conv stride 0", "pool without options",
    "softmax beta 0", "padding 7", "NaN weight scale", "per-channel scales one short", "output without zero point",
    "weights buffer 7 bytes short", "bias one short", "mean axis 7", "negative paddings", "concat output too wide",
    "add output scale 1e-9", "accumulator overflow", "buffer index past the buffers", "quantized_bias_type 100",
    "fused RELU6 beyond int32", "FC bias scale off", "mean over five axes", "depthwise without bias",
    "conv dilation 2^31-1",
])
def test_crafted_inconsistencies_named(seeds, label):
    """The fuzzer's crafted models: each refused, its line naming what the fuzzer expects."""
    found = [c for c in fuzz.crafted(seeds) if c[0] == label]
    if not found:
        pytest.skip(f"{label}: its source model is not in ../shared/models here")
    name, data, expect = found[0]
    text = _refusal(data)
    assert expect in text, text


def test_consistent_edits_stay_accepted(seeds):
    """New weight values (any int8) make a different model, not an invalid one."""
    rng = __import__("random").Random(3)
    for name in ("kws_dscnn", "fc_odd", "ic_resnet8", "dwconv_mult2_s2", "branchy"):
        m = fuzz.unpack(seeds[name])
        for _ in range(3):
            fuzz.mut_weights_values(rng, m)
        data = fuzz.pack(m)
        assert verify.problems(graph.parse(data, name=name)) == [], name


def test_every_command_refuses_in_one_line(seeds, tmp_path):
    """check, generate, build, bench and validate (on QEMU, or a board's --port, where the host only runs the
    reference) and fit's candidates go through check_supported; inspect lists
    the problem as a report (exit 0, --json too). As subprocesses: one error line, exit 2, no traceback."""
    def edit(m):
        _tensor_of(m, "FULLY_CONNECTED", "out").shape = [1, 18]
    path = tmp_path / "bad.tflite"
    path.write_bytes(_edit(seeds, "fc_odd", edit))
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros((2, 37), np.float32), y=np.zeros(2, np.int64))
    for args in (["check", path, "--board", "mps2-an500"], ["generate", path, "--board", "mps2-an500", "-o", tmp_path / "g"],
                 ["build", path, "--board", "mps2-an500", "-o", tmp_path / "b"],
                 ["bench", path, "--board", "mps2-an500"],
                 ["validate", path, "--board", "mps2-an500", "--data", data],
                 ["bench", path, "--board", "nucleo-f746", "--port", tmp_path / "no-such-port"],  # a real board:
                 ["validate", path, "--board", "nucleo-f746", "--port", tmp_path / "no-such-port", "--data", data]):
        r = subprocess.run([sys.executable, "-m", "tinyc.cli", *map(str, args)], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 2, (args[0], r.stderr)
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]  # build also prints its steps
        assert len(errors) == 1 and "op 0 FULLY_CONNECTED output tensor 3" in errors[0], r.stderr
        assert "Traceback" not in r.stderr
    r = CliRunner().invoke(cli, ["inspect", str(path)])
    assert r.exit_code == 0 and "output tensor 3" in r.output and "inconsistent" in r.output
    d = json.loads(CliRunner().invoke(cli, ["inspect", str(path), "--json"]).output)
    assert not d["compatibility"]["ok"] and d["compatibility"]["issues"][0]["index"] == 0


def test_problems_lists_all_and_verify_counts_them(seeds):
    def edit(m):
        q = _tensor_of(m, "CONV_2D", "in", 1).quantization
        q.scale = [math.inf] * len(q.scale)
        sub = fuzz._sub(m)
        sub.outputs = [int(sub.outputs[0])] * 2
    g = graph.parse(_edit(seeds, "conv_same_s1", edit), name="two.tflite")
    found = verify.problems(g)
    assert len(found) >= 2 and all(p.line().startswith(("op 0 CONV_2D", "the model")) for p in found)
    with pytest.raises(verify.InvalidModel, match=r"and \d+ more problem"):
        verify.verify(g)


def test_hostile_names_make_code_that_compiles_and_runs(seeds, tmp_path):
    """Names are data, not a reason to refuse: a 5,000-character input name (it broke C99's string limit in the
    generated tables), quotes, comment ends, control characters and a hostile subgraph name give a model that
    builds warning-free on the host (-pedantic -Werror, ASan, the tensor guard) and matches TFLite Micro."""
    name, data, _ = next(c for c in fuzz.crafted(seeds) if c[0] == "hostile names")
    g = graph.parse(data)  # no file name: the graph is named after its (hostile) subgraph name, cut
    assert len(g.name) <= 120 and verify.problems(g) == []
    v = fuzz.asan_stage(data, "hostile", "mps2-an500", tmp_path, seed=0)
    assert v.outcome == "ran, bit-identical to TFLM", v.detail
