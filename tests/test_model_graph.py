"""The IR parser on zoo models, and one-line errors for every kind of bad model file."""

from __future__ import annotations

import copy
import subprocess
import sys

import flatbuffers
import numpy as np
import pytest

from tinyc import zoo
from tinyc.analyze import budget, report
from tinyc.boards import get_board
from tinyc.errors import TinycError
from tinyc.model import graph, ops


@pytest.fixture(scope="module")
def zoo_paths():
    return zoo.build_all()


def _mutate(path, fn) -> bytes:
    """Rewrite a model through the generated schema's object API (no hand-written flatbuffer code)."""
    s = graph.schema()
    m = s.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    fn(m, s)
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_schema_loads_without_tflm_interpreter():
    code = ("import sys; from tinyc.model import graph; graph.schema(); "
            "bad = [m for m in sys.modules if m.startswith(('tensorflow', 'tflite_micro'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_conv_model_fields(zoo_paths):
    g = graph.load(zoo_paths["conv_valid_s2_relu"])
    (op,) = g.operators
    assert op.op == "CONV_2D" and op.version >= 1
    assert op.options["padding"] == "VALID"
    assert (op.options["stride_h"], op.options["stride_w"]) == (2, 1)
    assert op.options["fused_activation_function"] == "RELU"
    x, w, bias = g.op_inputs(op)
    assert x.shape == (1, 13, 10, 4) and x.dtype == "int8" and not x.is_constant and x.data is None
    assert w.shape == (5, 3, 5, 4) and w.is_constant and w.data.shape == w.shape and w.data.dtype == np.int8
    assert len(w.quantization.scales) == 5 and w.quantization.quantized_dimension == 0  # per-channel
    assert bias.dtype == "int32" and bias.nbytes == 20
    (y,) = g.op_outputs(op)
    assert y.shape == (1, 6, 6, 5) and y.nbytes == 180
    assert g.inputs == (x.index,) and g.outputs == (y.index,)
    assert len(g.sha256) == 64 and g.file_size == zoo_paths["conv_valid_s2_relu"].stat().st_size
    assert g.producer(y.index) == op and g.consumers(x.index) == [op] and g.producer(x.index) is None


def test_depthwise_and_dilation_options(zoo_paths):
    (op,) = graph.load(zoo_paths["dwconv_mult2_s2"]).operators
    assert op.options["depth_multiplier"] == 2 and op.options["stride_w"] == 2
    (op,) = graph.load(zoo_paths["dwconv_valid_dilated"]).operators
    assert op.options["dilation_h_factor"] == 2 and op.options["dilation_w_factor"] == 2


def test_every_valid_zoo_model_is_supported(zoo_paths):
    for name in zoo.names():
        g = graph.load(zoo_paths[name])
        ops.check_supported(g)
        # every operator has a kernel, or is shape arithmetic folded into constants at load (tinyc.model.fold)
        assert g.operators and all(o.op in ops.SUPPORTED or o.index in g.folded for o in g.operators)
        assert [o.index for o in g.operators] == list(range(len(g.operators)))


@pytest.mark.parametrize("name,phrase", [("float_fc", "float model"), ("hybrid_fc", "hybrid model")])
def test_float_and_hybrid_rejected(zoo_paths, name, phrase):
    g = graph.load(zoo_paths[name])
    with pytest.raises(ops.UnsupportedModel) as e:
        ops.check_supported(g)
    msg = str(e.value)
    assert phrase in msg and str(zoo_paths[name]) in msg and "\n" not in msg and "int8" in msg


def test_missing_directory_not_tflite(tmp_path):
    with pytest.raises(TinycError, match="no such file"):
        graph.load(tmp_path / "nope.tflite")
    with pytest.raises(TinycError, match="is a directory"):
        graph.load(tmp_path)
    p = tmp_path / "model.keras"
    p.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(TinycError, match="not a TFLite flatbuffer"):
        graph.load(p)


def test_truncated(zoo_paths, tmp_path):
    data = zoo_paths["kws_dscnn"].read_bytes()
    for cut in (10, 200, len(data) // 2, len(data) - 100):
        p = tmp_path / f"cut{cut}.tflite"
        p.write_bytes(data[:cut])
        with pytest.raises(TinycError) as e:
            graph.load(p)
        assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_unsupported_op_and_version(zoo_paths):
    def to_cumsum(m, s):  # an operator tinyc has no kernel for
        m.operatorCodes[0].builtinCode = s.BuiltinOperator.CUMSUM
        m.operatorCodes[0].deprecatedBuiltinCode = min(s.BuiltinOperator.CUMSUM, 127)

    g = graph.parse(_mutate(zoo_paths["relu"], to_cumsum), name="cumsum")
    with pytest.raises(ops.UnsupportedModel, match=r"op 0 CUMSUM is not supported.*replace"):
        ops.check_supported(g)

    def bump(m, s):
        m.operatorCodes[0].version = 9

    g = graph.parse(_mutate(zoo_paths["conv_same_s1"], bump), name="v9")
    with pytest.raises(ops.UnsupportedModel, match=r"op 0 CONV_2D version 9 is not supported"):
        ops.check_supported(g)


def test_multiple_subgraphs_and_dynamic_shapes(zoo_paths):
    def two(m, s):
        m.subgraphs.append(copy.deepcopy(m.subgraphs[0]))

    with pytest.raises(TinycError, match="2 subgraphs"):
        graph.parse(_mutate(zoo_paths["relu"], two), name="two")

    def dynamic(m, s):
        t = m.subgraphs[0].tensors[m.subgraphs[0].inputs[0]]
        t.shapeSignature = np.array([1, -1, 7, 3], dtype=np.int32)

    g = graph.parse(_mutate(zoo_paths["relu"], dynamic), name="dyn")
    with pytest.raises(ops.UnsupportedModel, match="dynamic shape"):
        ops.check_supported(g)


def test_fuzz_corrupted_variants_raise_only_tinyc_error(zoo_paths):
    """A few hundred damaged copies: parsing either works or raises TinycError, never anything else."""
    data = zoo_paths["branchy"].read_bytes()
    board = get_board("nucleo-f746")
    rng = np.random.default_rng(1234)
    outcomes = {"ok": 0, "error": 0}
    for i in range(300):
        b = bytearray(data)
        kind = i % 3
        if kind == 0:
            b = b[: int(rng.integers(0, len(b)))]
        elif kind == 1:
            for _ in range(int(rng.integers(1, 8))):
                b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        else:
            pos = int(rng.integers(8, len(b) - 4))
            b[pos:pos + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
        try:
            g = graph.parse(bytes(b), name=f"fuzz{i}")
            report.inspect_json(g)
            try:
                ops.check_supported(g)
                budget.compute(g, board, suggest_boards=False)  # the rest of `tinyc check`
            except TinycError:
                pass
            outcomes["ok"] += 1
        except TinycError as e:
            assert "\n" not in str(e)
            outcomes["error"] += 1
    assert outcomes["error"] > 50  # truncations alone guarantee many
