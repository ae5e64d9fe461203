"""Issue 17's activations and elementwise / reduction operators (tinyc/operators/: tanh, leaky_relu, prelu,
hard_swish, elu, sub, maximum_minimum, squared_difference, rsqrt, reduce (SUM, REDUCE_MAX), arg_min_max,
l2_normalization, log_softmax) on the inputs their zoo models rarely reach, bit for bit against TFLite Micro:
every int8 value through the unary ones (rounding ties, both saturation ends, the knees of hard-swish), every
pair of int8 values through the binary ones, ties of ARG_MAX / ARG_MIN, all-equal and all-zero rows of
LOG_SOFTMAX and L2_NORMALIZATION, and an int8 ELU (the converter leaves a Keras ELU in float, so that model is
rewritten). The generated C runs on the host (reference kernels, sanitizers on); the int32 output of ARG_MAX
also goes through the firmware in QEMU."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.codegen import generate, host
from tinyc.errors import NotImplementedYet
from tinyc.model import reference
from tinyc.model.graph import load

ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def _convert(tmp_path, name, build, shapes, ranges):
    """A tf-keras model of ``build`` on inputs of ``shapes`` (batch 1), converted to full-integer int8 with
    calibration inputs uniform in [-r, r] for each input's r in ``ranges``."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf
    import tf_keras as keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(17)
    ins = [keras.Input(s, batch_size=1) for s in shapes]
    out = build(keras, tf, *ins)
    model = keras.Model(ins if len(ins) > 1 else ins[0], out)
    rng = np.random.default_rng(17)
    samples = [[rng.uniform(-r, r, (1, *s)).astype(np.float32) for s, r in zip(shapes, ranges)] for _ in range(32)]
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: iter(samples)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(conv.convert())
    return path


def _run_both(path, batches, tmp_path):
    """Outputs of tinyc's generated C (host, reference kernels) and of TFLite Micro, per batch."""
    graph = load(path)
    board = dataclasses.replace(get_board("mps2-an385"), core="cortex-m23")  # no optimized set: reference kernels
    gen = generate(graph, plan_improved(graph), board, tmp_path / "gen")
    exe = host.build_runner(gen, tmp_path / "build", sanitize=True)
    outs = [graph.tensor(i) for i in graph.outputs]
    mine = host.run(exe, batches, [(np.dtype(t.dtype), t.shape) for t in outs])
    it = reference.interpreter(path, arena_size=1 << 20)
    ref = []
    for rec in batches:
        for i, x in enumerate(rec):
            it.set_input(x, i)
        it.invoke()
        ref.append([np.array(it.get_output(j)) for j in range(len(outs))])
    return graph, mine, ref


def _assert_same(graph, mine, ref, want_ops):
    assert set(want_ops) <= {op.op for op in graph.operators}, [op.op for op in graph.operators]
    for b, (m_rec, r_rec) in enumerate(zip(mine, ref)):
        for j, (m, r) in enumerate(zip(m_rec, r_rec)):
            assert m.dtype == r.dtype and m.shape == tuple(r.shape)
            bad = np.flatnonzero(m.reshape(-1) != r.reshape(-1))
            assert bad.size == 0, f"batch {b} output {j}: {bad.size} values differ, first at {bad[:5]}"


@pytest.mark.slow
def test_unary_activations_on_every_int8_value(tmp_path):
    """tanh (both saturation ends past the input radius), leaky ReLU, hard-swish (x in [-4, 4]: both knees), the
    float ELU between DEQUANTIZE and QUANTIZE, rsqrt down to its input's zero point, over all 256 input values and
    their reverse."""

    def build(k, tf, x):
        hs = x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
        return [k.layers.Activation("tanh")(x), k.layers.LeakyReLU(0.3)(x), hs, k.layers.ELU()(x),
                tf.math.rsqrt(k.layers.ReLU()(x) + 0.01)]

    path = _convert(tmp_path, "unary", build, [(16, 16)], [4.0])
    batches = [[ALL_INT8.reshape(1, 16, 16)], [ALL_INT8[::-1].reshape(1, 16, 16)]]
    _assert_same(*_run_both(path, batches, tmp_path),
                 ("TANH", "LEAKY_RELU", "HARD_SWISH", "ELU", "RSQRT"))


@pytest.mark.slow
def test_binary_ops_on_every_pair_of_int8_values(tmp_path):
    """SUB (saturating both ways), SQUARED_DIFFERENCE, MAXIMUM and MINIMUM for all 65,536 pairs (a, b), the two
    inputs at different scales."""

    def build(k, tf, a, b):
        return [tf.math.subtract(a, b), tf.math.squared_difference(a, b), tf.maximum(a, b), tf.minimum(a, b)]

    path = _convert(tmp_path, "binary", build, [(256, 256), (256, 256)], [1.0, 2.5])
    a = np.repeat(ALL_INT8, 256).reshape(1, 256, 256)
    b = np.tile(ALL_INT8, 256).reshape(1, 256, 256)
    _assert_same(*_run_both(path, [[a, b]], tmp_path), ("SUB", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"))


@pytest.mark.slow
def test_reductions_and_argmax_ties(tmp_path):
    """ARG_MAX / ARG_MIN keep the first of equal values (inputs from 5 levels, then all equal), REDUCE_MAX over
    two axes, SUM saturating at both ends (a sum of 6 values of the calibration's range)."""

    def build(k, tf, x):
        return [tf.argmax(x, axis=-1, output_type=tf.int32), tf.argmin(x, axis=1, output_type=tf.int32),
                tf.reduce_max(x, axis=[0, 2]), tf.reduce_sum(x, axis=1)]

    path = _convert(tmp_path, "reduce", build, [(4, 6, 5)], [1.0])
    rng = np.random.default_rng(5)
    levels = np.array([-128, -40, 0, 41, 127], np.int8)
    batches = [[levels[rng.integers(0, 5, (1, 4, 6, 5))]] for _ in range(6)]
    batches += [[np.full((1, 4, 6, 5), v, np.int8)] for v in (-128, 3, 127)]
    _assert_same(*_run_both(path, batches, tmp_path), ("ARG_MAX", "ARG_MIN", "REDUCE_MAX", "SUM"))


@pytest.mark.slow
def test_log_softmax_and_l2_normalization_rows(tmp_path):
    """LOG_SOFTMAX and L2_NORMALIZATION on rows that are all equal (at -128, at the zero point: an all-zero
    vector, at 127), one-hot, alternating extremes and random."""

    def build(k, tf, x):
        return [tf.nn.log_softmax(x), tf.math.l2_normalize(x, axis=-1)]

    path = _convert(tmp_path, "rows", build, [(6, 9)], [3.0])
    zp = load(path).tensor(load(path).inputs[0]).quantization.zero_points[0]
    rows = np.stack([np.full(9, -128), np.full(9, zp), np.full(9, 127), np.eye(9)[4] * 255 - 128,
                     np.resize([127, -128], 9), np.random.default_rng(6).integers(-128, 128, 9)])
    batches = [[rows.astype(np.int8).reshape(1, 6, 9)], [rows[::-1].astype(np.int8).reshape(1, 6, 9)]]
    _assert_same(*_run_both(path, batches, tmp_path), ("LOG_SOFTMAX", "L2_NORMALIZATION"))


def _int8_elu(src, dst):
    """The float ELU model with its DEQUANTIZE -> ELU -> QUANTIZE collapsed into one int8 ELU (what TFLite Micro
    runs through its lookup table; the converter never writes it)."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as fb

    m = fb.ModelT.InitFromObj(fb.Model.GetRootAs(bytearray(src.read_bytes()), 0))
    sg = m.subgraphs[0]
    codes = [c.builtinCode if c.builtinCode else c.deprecatedBuiltinCode for c in m.operatorCodes]
    ops = {name: next(o for o in sg.operators if codes[o.opcodeIndex] == getattr(fb.BuiltinOperator, name))
           for name in ("DEQUANTIZE", "ELU", "QUANTIZE")}
    elu = ops["ELU"]
    elu.inputs, elu.outputs = list(ops["DEQUANTIZE"].inputs), list(ops["QUANTIZE"].outputs)
    sg.operators = [o for o in sg.operators if o is not ops["DEQUANTIZE"] and o is not ops["QUANTIZE"]]
    m.operatorCodes[elu.opcodeIndex].version = 2
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    dst.write_bytes(bytes(b.Output()))
    return dst


@pytest.mark.slow
def test_int8_elu_table_on_every_int8_value(tmp_path):
    """An int8 ELU: tinyc's generation-time table equals the one TFLite Micro builds at Prepare, for all 256
    inputs."""
    path = _convert(tmp_path, "elu_float", lambda k, tf, x: k.layers.ELU()(x * 2.0), [(256,)], [1.5])
    path = _int8_elu(path, tmp_path / "elu_int8.tflite")
    graph = load(path)
    assert [op.op for op in graph.operators][-1] == "ELU" and "DEQUANTIZE" not in {op.op for op in graph.operators}
    batches = [[ALL_INT8.reshape(1, 256)], [ALL_INT8[::-1].reshape(1, 256)]]
    _assert_same(*_run_both(path, batches, tmp_path), ("ELU",))


@pytest.mark.slow
def test_argmax_with_int64_output_is_one_line(tmp_path):
    """tf.argmax's default int64 output: one line naming int32 as the way out."""
    path = _convert(tmp_path, "argmax64", lambda k, tf, x: tf.argmax(x, axis=-1), [(3, 7)], [1.0])
    graph = load(path)
    board = dataclasses.replace(get_board("mps2-an385"), core="cortex-m23")
    with pytest.raises(NotImplementedYet, match=r"ARG_MAX.*int64.*output_type=tf\.int32") as e:
        generate(graph, plan_improved(graph), board, tmp_path / "gen")
    assert "\n" not in str(e.value)


@pytest.mark.slow
@pytest.mark.toolchain
@pytest.mark.emulator
def test_int32_model_output_runs_bit_exact_in_qemu():
    """A model whose output is ARG_MAX's int32 indices: built, run on the emulated M4 and compared with TFLite
    Micro by the firmware harness."""
    from tests.conftest import require_tool
    from tinyc import zoo
    from tinyc.deploy import pipeline
    from tinyc.deploy.bench import bench_link, open_target

    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    model = zoo.build("arg_max_dense")
    rec = pipeline.cached_build(model, "mps2-an386", emulate=False)
    with open_target(rec.elf, rec.run_board) as link:
        m = bench_link(link, model, runs=1)
    assert m.outputs_match, m.mismatches
