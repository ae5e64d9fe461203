"""The model zoo: int8 test models built reproducibly in code and cached on disk.

Four MLPerf Tiny v1 architectures (random seeded weights, no training) and small single-op models
with awkward shapes, all full-integer int8 (int8 in/out, per-channel conv weights), plus one model
with float I/O for QUANTIZE/DEQUANTIZE.

Every model is calibrated with inputs drawn uniformly from [-1, 1]: ``representative_data(name)`` and
``sample_inputs(name)`` draw from that same distribution, and because the int8 input range then spans
[-1, 1], any uniformly random int8 input vector is also in distribution.

Cache: ``paths.cache_dir()/zoo/<key>/<name>.tflite`` where key hashes this file's source and the
TensorFlow version; a file lock serialises builds across pytest-xdist workers and files appear by
atomic rename. A cache hit imports neither TensorFlow nor tflite-micro.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import os
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

import numpy as np

from tinyc import paths
from tinyc.errors import TinycError

__all__ = ["ZooModel", "names", "mlperf_names", "single_op_names", "info", "build", "build_all",
           "representative_data", "sample_inputs", "cache_key", "zoo_dir", "invalid_names", "quantized_inputs"]

CALIBRATION_SAMPLES = 32


@dataclass(frozen=True)
class ZooModel:
    name: str
    kind: str  # "mlperf" or "single-op"
    input_shapes: tuple[tuple[int, ...], ...]  # per input, without the batch dimension
    description: str
    builder: Callable
    ops: tuple[str, ...] = ()  # ops the model is meant to exercise
    reference_macs: int | None = None  # MLPerf Tiny published MACs
    reference_params: int | None = None
    float_io: bool = False
    conversion: str = "int8"  # "int8" (full integer), or for invalid examples "float" / "hybrid"


_REGISTRY: dict[str, ZooModel] = {}


def _register(name, kind, input_shapes, description, ops=(), reference_macs=None, reference_params=None,
              float_io=False, conversion="int8"):
    def deco(fn):
        _REGISTRY[name] = ZooModel(name, kind, tuple(tuple(s) for s in input_shapes), description, fn,
                                   tuple(ops), reference_macs, reference_params, float_io, conversion)
        return fn
    return deco


def names() -> list[str]:
    """Every valid (int8) zoo model."""
    return [n for n, m in _REGISTRY.items() if m.kind != "invalid"]


def invalid_names() -> list[str]:
    """Models tinyc must reject with a one-line error (float, hybrid)."""
    return [n for n, m in _REGISTRY.items() if m.kind == "invalid"]


def mlperf_names() -> list[str]:
    return [n for n, m in _REGISTRY.items() if m.kind == "mlperf"]


def single_op_names() -> list[str]:
    return [n for n, m in _REGISTRY.items() if m.kind == "single-op"]


def info(name: str) -> ZooModel:
    if name not in _REGISTRY:
        raise TinycError(f"unknown zoo model {name!r}; known: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


# --- data --------------------------------------------------------------------------------------------

def _seed(name: str, salt: int = 0) -> int:
    return (zlib.crc32(name.encode()) + salt) & 0xFFFFFFFF


def representative_data(name: str, count: int = CALIBRATION_SAMPLES, seed: int = 0) -> list[list[np.ndarray]]:
    """Calibration samples: ``count`` lists (one float32 array per input, batch of 1), uniform in [-1, 1]."""
    m = info(name)
    rng = np.random.default_rng(_seed(name, 1000 + seed))
    return [[rng.uniform(-1.0, 1.0, size=(1, *s)).astype(np.float32) for s in m.input_shapes]
            for _ in range(count)]


def sample_inputs(name: str, count: int = 1, seed: int = 1) -> list[list[np.ndarray]]:
    """Test inputs from the calibration distribution (float32, batch of 1); quantize with the model's
    input scale/zero point. Different seeds from calibration, same distribution."""
    return representative_data(name, count=count, seed=seed + 1)


def quantized_inputs(name: str, graph, count: int = 1, seed: int = 1) -> list[list[np.ndarray]]:
    """``sample_inputs`` quantized with the parsed model's input quantization and put in the model's
    input order (the converter may reorder inputs; they are matched by shape). int8 arrays, batch 1.
    Float-I/O models get their float32 arrays unchanged."""
    shapes = [(1, *s) for s in info(name).input_shapes]
    order = []
    free = list(range(len(shapes)))
    for t in graph.inputs:
        shape = tuple(graph.tensor(t).shape)
        match = next((i for i in free if tuple(shapes[i]) == shape), None)
        if match is None:
            raise TinycError(f"zoo model {name!r}: input tensor {t} {shape} matches no builder input {shapes}")
        free.remove(match)
        order.append(match)
    out = []
    for sample in sample_inputs(name, count=count, seed=seed):
        xs = []
        for t, i in zip(graph.inputs, order):
            tensor, x = graph.tensor(t), sample[i]
            if tensor.dtype == "float32":
                xs.append(x)
                continue
            q = tensor.quantization
            info_ = np.iinfo(np.int8 if tensor.dtype == "int8" else np.int16)
            xs.append(np.clip(np.floor(x / q.scale + 0.5) + q.zero_point, info_.min, info_.max)
                      .astype(info_.dtype))
        out.append(xs)
    return out


# --- cache -------------------------------------------------------------------------------------------

@cache
def cache_key() -> str:
    src = Path(__file__).read_bytes()
    try:
        tfv = importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        tfv = "none"
    return hashlib.sha256(src + b"\0" + tfv.encode()).hexdigest()[:16]


def zoo_dir() -> Path:
    return paths.cache_dir() / "zoo" / cache_key()


@contextlib.contextmanager
def _lock(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(name: str) -> Path:
    """Path of the cached .tflite for ``name``, building it (TensorFlow) only when missing."""
    info(name)
    target = zoo_dir() / f"{name}.tflite"
    if target.is_file():
        return target
    with _lock(zoo_dir()):
        if not target.is_file():
            _build_into(name, target)
    return target


def build_all(selection: list[str] | None = None) -> dict[str, Path]:
    """Build every missing model in one TensorFlow session (one lock), then return all paths
    (default: the valid models and the invalid examples)."""
    selection = list(selection or list(_REGISTRY))
    for n in selection:
        info(n)
    d = zoo_dir()
    missing = [n for n in selection if not (d / f"{n}.tflite").is_file()]
    if missing:
        with _lock(d):
            for n in missing:
                target = d / f"{n}.tflite"
                if not target.is_file():
                    _build_into(n, target)
    return {n: d / f"{n}.tflite" for n in selection}


def _build_into(name: str, target: Path) -> None:
    data = _convert(name)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


# --- building (TensorFlow from here on, imported lazily) ----------------------------------------------

def _tf():
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tf_keras

    return tf, tf_keras


def _randomize(model, rng: np.random.Generator) -> None:
    """Seeded He-style weights, small biases, and non-trivial batch-norm statistics."""
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        cls = type(layer).__name__
        new = []
        if cls == "BatchNormalization":
            gamma, beta, mean, var = ws
            new = [rng.uniform(0.7, 1.3, gamma.shape), rng.normal(0, 0.1, beta.shape),
                   rng.normal(0, 0.1, mean.shape), rng.uniform(0.6, 1.4, var.shape)]
        else:
            for w in ws:
                if w.ndim == 1:
                    new.append(rng.normal(0, 0.05, w.shape))
                else:
                    if cls == "DepthwiseConv2D":
                        fan_in = w.shape[0] * w.shape[1]
                    else:
                        fan_in = int(np.prod(w.shape[:-1]))
                    w_new = rng.normal(0, np.sqrt(2.0 / max(fan_in, 1)), w.shape)
                    if cls in ("Conv2D", "DepthwiseConv2D", "Dense"):
                        w_new = w_new * rng.uniform(0.6, 1.5, w.shape[-1])  # a folded batch norm's scale
                    new.append(w_new)
        layer.set_weights([np.asarray(x, dtype=np.float32) for x in new])


def _tame_logits(model, name: str) -> None:
    """Scale the last Dense so logits have std ~1 on the data: the softmax output is not saturated."""
    dense = [l for l in model.layers if type(l).__name__ == "Dense"]
    if not dense:
        return
    last = dense[-1]
    probe = last.input
    import tf_keras

    sub = tf_keras.Model(model.inputs, probe)
    xs = [np.concatenate([s[i] for s in representative_data(name, 16)]) for i in range(len(model.inputs))]
    feats = sub.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    k, b = last.get_weights()
    logits = feats.reshape(len(feats), -1) @ k
    std = float(np.std(logits)) or 1.0
    last.set_weights([k / std, b])


def _convert(name: str) -> bytes:
    m = info(name)
    tf, keras = _tf()
    keras.backend.clear_session()  # layer-name counters restart: same bytes whatever was built before
    keras.utils.set_random_seed(_seed(name) % (2**31))
    model = m.builder(keras)
    _randomize(model, np.random.default_rng(_seed(name)))
    if m.kind == "mlperf" and name != "ad_autoencoder":
        _tame_logits(model, name)
    samples = representative_data(name)

    def rep():
        for s in samples:
            yield s

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if m.conversion == "float":
        return bytes(conv.convert())
    if m.conversion == "hybrid":  # dynamic-range quantization: int8 weights, float activations
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        return bytes(conv.convert())
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not m.float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return bytes(conv.convert())


# --- MLPerf Tiny v1 architectures ---------------------------------------------------------------------

def _bn_relu(keras, x):
    """Batch norm folds into the conv before TFLite sees it; the folded per-channel scale is emulated in
    _randomize, which keeps the Keras graph (and conversion time) small."""
    return keras.layers.ReLU()(x)


@_register("kws_dscnn", "mlperf", [(49, 10, 1)], "MLPerf Tiny keyword spotting DS-CNN (12 classes)",
           reference_macs=2_660_000, reference_params=22_600)
def _kws(keras):
    L = keras.layers
    inp = keras.Input((49, 10, 1), batch_size=1)
    x = L.Conv2D(64, (10, 4), strides=(2, 2), padding="same")(inp)
    x = _bn_relu(keras, x)
    for _ in range(4):
        x = L.DepthwiseConv2D(3, padding="same")(x)
        x = _bn_relu(keras, x)
        x = L.Conv2D(64, 1)(x)
        x = _bn_relu(keras, x)
    x = L.AveragePooling2D(pool_size=(25, 5))(x)
    x = L.Flatten()(x)
    out = L.Dense(12, activation="softmax")(x)
    return keras.Model(inp, out)


@_register("vww_mobilenet", "mlperf", [(96, 96, 3)], "MLPerf Tiny visual wake words MobileNetV1-0.25",
           reference_macs=7_490_000, reference_params=211_000)
def _vww(keras):
    L = keras.layers
    inp = keras.Input((96, 96, 3), batch_size=1)
    x = L.Conv2D(8, 3, strides=2, padding="same")(inp)
    x = _bn_relu(keras, x)
    for filters, stride in [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1),
                            (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)]:
        x = L.DepthwiseConv2D(3, strides=stride, padding="same")(x)
        x = _bn_relu(keras, x)
        x = L.Conv2D(filters, 1)(x)
        x = _bn_relu(keras, x)
    x = L.AveragePooling2D(pool_size=x.shape[1:3])(x)
    x = L.Flatten()(x)
    out = L.Dense(2, activation="softmax")(x)
    return keras.Model(inp, out)


@_register("ic_resnet8", "mlperf", [(32, 32, 3)], "MLPerf Tiny image classification ResNet-8 (CIFAR-10)",
           reference_macs=12_500_000, reference_params=78_000)
def _resnet8(keras):
    L = keras.layers
    inp = keras.Input((32, 32, 3), batch_size=1)
    x = L.Conv2D(16, 3, padding="same")(inp)
    x = _bn_relu(keras, x)
    for filters, stride in [(16, 1), (32, 2), (64, 2)]:
        y = L.Conv2D(filters, 3, strides=stride, padding="same")(x)
        y = _bn_relu(keras, y)
        y = L.Conv2D(filters, 3, padding="same")(y)
        if stride != 1 or x.shape[-1] != filters:
            x = L.Conv2D(filters, 1, strides=stride)(x)
        x = L.ReLU()(L.Add()([x, y]))
    x = L.AveragePooling2D(pool_size=8)(x)
    x = L.Flatten()(x)
    out = L.Dense(10, activation="softmax")(x)
    return keras.Model(inp, out)


@_register("ad_autoencoder", "mlperf", [(640,)], "MLPerf Tiny anomaly detection FC autoencoder",
           reference_macs=264_000, reference_params=266_000)  # published as 0.264M MACs
def _ad(keras):
    L = keras.layers
    inp = keras.Input((640,), batch_size=1)
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = L.Dense(units)(x)
        x = _bn_relu(keras, x)
    out = L.Dense(640)(x)
    return keras.Model(inp, out)


# --- single-op models -----------------------------------------------------------------------------

def _single(name, shapes, ops, description=""):
    def deco(fn):
        def builder(keras):
            ins = [keras.Input(s, batch_size=1) for s in shapes]
            out = fn(keras, *ins)
            return keras.Model(ins if len(ins) > 1 else ins[0], out)
        return _register(name, "single-op", shapes, description or fn.__doc__ or name, ops=ops)(builder)
    return deco


@_single("conv_same_s1", [(9, 11, 3)], ["CONV_2D"])
def _c1(k, x):
    """3x3 SAME stride 1, 7 filters, odd sizes"""
    return k.layers.Conv2D(7, 3, padding="same")(x)


@_single("conv_valid_s2_relu", [(13, 10, 4)], ["CONV_2D"])
def _c2(k, x):
    """3x5 VALID stride 2x1, 5 filters, fused ReLU"""
    return k.layers.Conv2D(5, (3, 5), strides=(2, 1), padding="valid", activation="relu")(x)


@_single("conv_dilated_relu6", [(12, 13, 2)], ["CONV_2D"])
def _c3(k, x):
    """3x3 dilation 2 SAME, fused ReLU6"""
    y = k.layers.Conv2D(6, 3, dilation_rate=2, padding="same")(x)
    return k.layers.ReLU(max_value=6.0)(y)


@_single("conv_same_s2_even", [(16, 15, 8)], ["CONV_2D"])
def _c4(k, x):
    """4x4 SAME stride 2 (asymmetric padding), 16 filters"""
    return k.layers.Conv2D(16, 4, strides=2, padding="same")(x)


@_single("dwconv_mult2_s2", [(11, 9, 3)], ["DEPTHWISE_CONV_2D"])
def _d1(k, x):
    """3x3 depthwise, depth multiplier 2, SAME stride 2"""
    return k.layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same")(x)


@_single("dwconv_valid_dilated", [(14, 13, 5)], ["DEPTHWISE_CONV_2D"])
def _d2(k, x):
    """3x3 depthwise VALID dilation 2, fused ReLU"""
    return k.layers.DepthwiseConv2D(3, dilation_rate=2, padding="valid", activation="relu")(x)


@_single("dwconv_5x5_relu6", [(10, 10, 16)], ["DEPTHWISE_CONV_2D"])
def _d3(k, x):
    """5x5 depthwise SAME, ReLU6"""
    y = k.layers.DepthwiseConv2D(5, padding="same")(x)
    return k.layers.ReLU(max_value=6.0)(y)


@_single("fc_odd", [(37,)], ["FULLY_CONNECTED"])
def _f1(k, x):
    """Dense 37 -> 13"""
    return k.layers.Dense(13)(x)


@_single("fc_relu_3d", [(5, 21)], ["FULLY_CONNECTED"])
def _f2(k, x):
    """Dense on a 3-D input (keep_num_dims), fused ReLU"""
    return k.layers.Dense(9, activation="relu")(x)


@_single("avgpool_same_s2", [(11, 13, 6)], ["AVERAGE_POOL_2D"])
def _p1(k, x):
    """3x3 average pool SAME stride 2"""
    return k.layers.AveragePooling2D(3, strides=2, padding="same")(x)


@_single("maxpool_valid", [(12, 9, 5)], ["MAX_POOL_2D"])
def _p2(k, x):
    """2x3 max pool VALID stride 2x3"""
    return k.layers.MaxPooling2D((2, 3), strides=(2, 3), padding="valid")(x)


@_single("add_two", [(7, 5, 3), (7, 5, 3)], ["ADD"])
def _a1(k, x, y):
    """elementwise ADD of two inputs"""
    return k.layers.Add()([x, y])


@_single("add_broadcast", [(6, 5, 4), (1, 1, 4)], ["ADD"])
def _a2(k, x, y):
    """ADD with broadcasting"""
    return x + y


@_single("mul_two", [(9, 3), (9, 3)], ["MUL"])
def _m1(k, x, y):
    """elementwise MUL of two inputs"""
    return k.layers.Multiply()([x, y])


@_single("softmax", [(10,)], ["SOFTMAX"])
def _s1(k, x):
    """softmax over 10 values"""
    return k.layers.Softmax()(x)


@_single("reshape", [(2, 3, 2)], ["RESHAPE", "PAD", "FULLY_CONNECTED"])
def _r1(k, x):
    """PAD -> RESHAPE -> FULLY_CONNECTED: the reshape step is the arena peak unless it aliases"""
    y = k.layers.ZeroPadding2D(((3, 3), (1, 2)))(x)
    y = k.layers.Reshape((16, 6))(y)
    return k.layers.Dense(3)(y)


@_single("pad", [(5, 7, 3)], ["PAD"])
def _pd(k, x):
    """asymmetric zero padding"""
    return k.layers.ZeroPadding2D(((1, 2), (0, 3)))(x)


@_single("concat", [(4, 5, 3), (4, 5, 6)], ["CONCATENATION"])
def _cc(k, x, y):
    """channel concatenation of two inputs"""
    return k.layers.Concatenate(axis=-1)([x, y])


@_single("mean_hw", [(7, 9, 12)], ["MEAN"])
def _mn(k, x):
    """global average pool (MEAN over H, W)"""
    return k.layers.GlobalAveragePooling2D()(x)


@_single("mean_keepdims_c", [(6, 5, 8)], ["MEAN"])
def _mn2(k, x):
    """MEAN over the channel axis, keep_dims"""
    import tensorflow as tf

    return tf.reduce_mean(x, axis=-1, keepdims=True)


@_single("logistic", [(33,)], ["LOGISTIC"])
def _lg(k, x):
    """sigmoid"""
    return k.layers.Activation("sigmoid")(x)


@_single("relu", [(6, 7, 3)], ["RELU"])
def _rl(k, x):
    """standalone ReLU"""
    return k.layers.ReLU()(x)


@_single("relu6", [(6, 7, 3)], ["RELU6"])
def _rl6(k, x):
    """standalone ReLU6"""
    return k.layers.ReLU(max_value=6.0)(x)


@_register("float_io_fc", "single-op", [(19,)], "float32 in/out around an int8 Dense: QUANTIZE and DEQUANTIZE",
           ops=("QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE"), float_io=True)
def _fio(keras):
    inp = keras.Input((19,), batch_size=1)
    return keras.Model(inp, keras.layers.Dense(7)(inp))


@_register("branchy", "single-op", [(10, 10, 4)], "branching graph: two conv paths concatenated, then mean",
           ops=("CONV_2D", "DEPTHWISE_CONV_2D", "CONCATENATION", "MEAN", "FULLY_CONNECTED"))
def _branchy(keras):
    L = keras.layers
    inp = keras.Input((10, 10, 4), batch_size=1)
    a = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    a = L.Conv2D(8, 3, padding="same", activation="relu")(a)
    b = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu")(inp)
    b = L.Conv2D(24, 1, activation="relu")(b)
    x = L.Concatenate()([a, b])
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Dense(5)(x))


@_register("multi_output", "single-op", [(8, 8, 3)], "two outputs from one input: a conv map, and pool -> "
           "reshape -> dense logits", ops=("CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED"))
def _multi_output(keras):
    L = keras.layers
    inp = keras.Input((8, 8, 3), batch_size=1)
    a = L.Conv2D(4, 3, padding="same")(inp)
    b = L.Dense(3)(L.Flatten()(L.MaxPooling2D(2)(inp)))
    return keras.Model(inp, [a, b])


# --- models tinyc must reject -------------------------------------------------------------------------

@_register("float_fc", "invalid", [(16,)], "float32 model (no quantization)", conversion="float")
def _float_fc(keras):
    inp = keras.Input((16,), batch_size=1)
    return keras.Model(inp, keras.layers.Dense(4)(keras.layers.Dense(32, activation="relu")(inp)))


@_register("hybrid_fc", "invalid", [(16,)], "hybrid model: int8 weights, float activations", conversion="hybrid")
def _hybrid_fc(keras):
    inp = keras.Input((16,), batch_size=1)
    return keras.Model(inp, keras.layers.Dense(4)(keras.layers.Dense(600, activation="relu")(inp)))

