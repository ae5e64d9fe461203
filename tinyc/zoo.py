"""The model zoo: int8 test models built reproducibly in code and cached on disk.

Four MLPerf Tiny v1 architectures (random seeded weights, no training) and small single-op models
with awkward shapes, all full-integer int8 (int8 in/out, per-channel conv weights), plus one model
with float I/O for QUANTIZE/DEQUANTIZE.

Trained-like models (``trained_like_names()``, kind "trained-like"): small networks with batch
normalization and ReLU really trained on scikit-learn's offline digits data (seeded, deterministic,
a few seconds), with weight decay long enough that some filters die. Folded into the convolutions,
the dead filters carry what random weights never have: right shifts of 26..28, channels whose int8
weights are all zero, a per-tensor-quantized variant, and a variant with pruned (all-zero) channels
whose effective multiplier is 0. ``quant_census(path)`` counts those per layer from the parsed graph;
each model's description states the counts measured with TensorFlow 2.21. They are not in ``names()``
(per-tensor variants would break the per-channel invariant of the other models) and build only on
demand.

Every model is calibrated with inputs drawn uniformly from [-1, 1]: ``representative_data(name)`` and
``sample_inputs(name)`` draw from that same distribution, and because the int8 input range then spans
[-1, 1], any uniformly random int8 input vector is also in distribution.

The single-op models are the operators' own test models (``examples`` of each declaration in
tinyc/operators/), registered here with the models that span several operators.

Cache: ``paths.cache_dir()/zoo/<key>/<name>.tflite`` where key hashes this file's source and the
TensorFlow version (an operator's test model sits in ``op-models/<digest of its builder's source>/``); a file lock serialises builds across pytest-xdist workers and files appear by
atomic rename. A cache hit imports neither TensorFlow nor tflite-micro.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import inspect
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
           "representative_data", "sample_inputs", "cache_key", "zoo_dir", "invalid_names", "quantized_inputs",
           "trained_like_names", "quant_census", "census_summary", "LayerCensus", "digits"]

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
    # trained-like models only:
    per_tensor: bool = False  # weights quantized per tensor (the converter's per-channel mode off)
    input_range: float = 1.0  # inputs (and calibration data) lie in [-input_range, input_range]
    traits: tuple[str, ...] = ()  # what quant_census must find: see TRAITS
    source_key: str = ""  # an operator's test model: digest of its builder's source (part of its file name)


_REGISTRY: dict[str, ZooModel] = {}


def _register(name, kind, input_shapes, description, ops=(), reference_macs=None, reference_params=None,
              float_io=False, conversion="int8", **trained):
    def deco(fn):
        if name in _REGISTRY:
            raise TinycError(f"zoo model {name!r} is registered twice (tinyc/zoo.py, tinyc/operators/)")
        _REGISTRY[name] = ZooModel(name, kind, tuple(tuple(s) for s in input_shapes), description, fn,
                                   tuple(ops), reference_macs, reference_params, float_io, conversion, **trained)
        return fn
    return deco


def names() -> list[str]:
    """Every valid (int8) zoo model of the MLPerf and single-op sets (not the trained-like ones)."""
    return [n for n, m in _REGISTRY.items() if m.kind in ("mlperf", "single-op")]


def trained_like_names() -> list[str]:
    """The models trained on the digits data (batch norm folded, dead filters, per-tensor, pruned)."""
    return [n for n, m in _REGISTRY.items() if m.kind == "trained-like"]


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
    """Calibration samples: ``count`` lists (one float32 array per input, batch of 1), uniform in [-1, 1]
    (trained-like models: digits of the training split, scaled to [-input_range, input_range])."""
    m = info(name)
    rng = np.random.default_rng(_seed(name, 1000 + seed))
    if m.kind == "trained-like":
        return _digits_samples(m, "train", count, rng)
    return [[rng.uniform(-1.0, 1.0, size=(1, *s)).astype(np.float32) for s in m.input_shapes]
            for _ in range(count)]


def sample_inputs(name: str, count: int = 1, seed: int = 1) -> list[list[np.ndarray]]:
    """Test inputs from the calibration distribution (float32, batch of 1); quantize with the model's
    input scale/zero point. Different seeds from calibration, same distribution (trained-like models:
    digits of the held-out split, never trained or calibrated on)."""
    m = info(name)
    if m.kind == "trained-like":
        return _digits_samples(m, "test", count, np.random.default_rng(_seed(name, 2000 + seed)))
    return representative_data(name, count=count, seed=seed + 1)


DIGITS_TEST = 360  # held-out digits (of 1797): the trained-like models' test inputs


@cache
def _digits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's bundled 8x8 digits (offline), pixels scaled from 0..16 to [-1, 1], split by a seeded
    permutation into "train" (1437) and "test" (360)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.images.astype(np.float32) / 8.0 - 1.0
    y = d.target.astype(np.int64)
    order = np.random.default_rng(_seed("digits")).permutation(len(y))
    test, train = order[:DIGITS_TEST], order[DIGITS_TEST:]
    return {"train": (x[train], y[train]), "test": (x[test], y[test])}


def digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The digits data the trained-like models use: ``split`` "train" or "test" (held out): x float32
    (N, 8, 8) in [-1, 1], y int64 labels."""
    return _digits()[split]


def _digits_samples(m: ZooModel, split: str, count: int, rng: np.random.Generator) -> list[list[np.ndarray]]:
    x = _digits()[split][0]
    idx = rng.choice(len(x), size=min(count, len(x)), replace=False)
    return [[(x[i] * np.float32(m.input_range)).reshape(1, *m.input_shapes[0]).astype(np.float32)] for i in idx]


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
    target = _path(name)
    if target.is_file():
        return target
    with _lock(zoo_dir()):
        if not target.is_file():
            _build_into(name, target)
    return target


def build_all(selection: list[str] | None = None) -> dict[str, Path]:
    """Build every missing model in one TensorFlow session (one lock), then return all paths
    (default: the valid models and the invalid examples; trained-like models only when selected)."""
    selection = list(selection or [n for n, m in _REGISTRY.items() if m.kind != "trained-like"])
    for n in selection:
        info(n)
    d = zoo_dir()
    missing = [n for n in selection if not _path(n).is_file()]
    if missing:
        with _lock(d):
            for n in missing:
                target = _path(n)
                if not target.is_file():
                    _build_into(n, target)
    return {n: _path(n) for n in selection}


def _path(name: str) -> Path:
    m = info(name)
    # an operator's test model in a folder of its builder's digest: the file keeps the model's name (its C symbols)
    return (zoo_dir() / "op-models" / m.source_key if m.source_key else zoo_dir()) / f"{name}.tflite"


def _build_into(name: str, target: Path) -> None:
    data = _convert(name)
    target.parent.mkdir(parents=True, exist_ok=True)
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
    if m.kind == "trained-like":
        return _convert_trained(m)
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

def _operator_examples() -> None:
    """Every declared operator's test models (tinyc/operators/), as single-op zoo models."""
    from tinyc import operators

    for decl in operators.all_ops().values():
        for ex in decl.examples:
            def builder(keras, ex=ex):
                ins = [keras.Input(s, batch_size=ex.batch) for s in ex.input_shapes]
                out = ex.build(keras, *ins)
                return keras.Model(ins if len(ins) > 1 else ins[0], out)
            key = hashlib.sha256(inspect.getsource(ex.build).encode() + repr((ex.input_shapes, ex.batch)).encode()
                                  ).hexdigest()[:12]
            _register(ex.name, "single-op", ex.input_shapes, ex.description or ex.build.__doc__ or ex.name,
                      ops=ex.ops or (decl.name,), float_io=ex.float_io, source_key=key)(builder)


_operator_examples()


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



# --- trained-like models: trained on the digits data, batch norm folded -------------------------------------

# Adam at a high learning rate with L2 weight decay on the kernels and the batch-norm scales: filters whose
# ReLU stops firing get no gradient but the decay, so their kernels and gammas shrink towards 0, as in
# trained MobileNets. Once folded, their weights need scales so small that TFLite's converter raises them
# to keep the int32 bias in range: int8 weights of 0 and right shifts of 26..28.
_TRAINING = {"weight_decay": 3e-3, "learning_rate": 2e-2, "epochs": 30, "batch_size": 64}
TRAITS = ("dead-filters", "per-tensor", "per-channel", "all-zero-channel", "zero-multiplier")
_PRUNED_INPUT_RANGE = 1.0 / 64


def _arch_cnn(keras, reg):
    """8x8x1 -> conv 3x3x16 -> depthwise 3x3 -> conv 1x1x32 -> conv 3x3x32 (+ residual ADD) -> average pool
    2 -> dense 10 (logits); batch norm + ReLU after every convolution (the residual one: after the ADD)."""
    L = keras.layers
    inp = keras.Input((8, 8, 1), batch_size=1)
    h = L.Conv2D(16, 3, padding="same", use_bias=False, kernel_regularizer=reg)(inp)
    h = L.ReLU()(L.BatchNormalization(gamma_regularizer=reg)(h))
    h = L.DepthwiseConv2D(3, padding="same", use_bias=False, depthwise_regularizer=reg)(h)
    h = L.ReLU()(L.BatchNormalization(gamma_regularizer=reg)(h))
    h = L.Conv2D(32, 1, use_bias=False, kernel_regularizer=reg)(h)
    h = L.ReLU()(L.BatchNormalization(gamma_regularizer=reg)(h))
    r = L.Conv2D(32, 3, padding="same", use_bias=False, kernel_regularizer=reg)(h)
    r = L.BatchNormalization(gamma_regularizer=reg)(r)
    h = L.ReLU()(L.Add()([h, r]))
    h = L.AveragePooling2D(2)(h)
    return keras.Model(inp, L.Dense(10)(L.Flatten()(h)))


def _arch_mlp(keras, reg):
    """64 pixels -> dense 64 -> dense 32 -> dense 10 (logits); batch norm + ReLU after the hidden layers."""
    L = keras.layers
    inp = keras.Input((64,), batch_size=1)
    h = inp
    for units in (64, 32):
        h = L.Dense(units, use_bias=False, kernel_regularizer=reg)(h)
        h = L.ReLU()(L.BatchNormalization(gamma_regularizer=reg)(h))
    return keras.Model(inp, L.Dense(10)(h))


_ARCHS = {"cnn": _arch_cnn, "mlp": _arch_mlp}


@cache
def _trained_weights(arch: str) -> tuple[np.ndarray, ...]:
    """Train ``arch`` on the digits training split: seeded, with TensorFlow's op determinism on for the fit
    (restored after), so the weights are the same on every run."""
    tf, keras = _tf()
    from tensorflow.python.framework import config as tf_config

    was_deterministic = tf_config.is_op_determinism_enabled()
    tf_config.enable_op_determinism()
    try:
        keras.backend.clear_session()
        keras.utils.set_random_seed(_seed(f"train-{arch}") % (2**31))
        model = _ARCHS[arch](keras, keras.regularizers.l2(_TRAINING["weight_decay"]))
        x, y = _digits()["train"]
        x = x.reshape(len(x), *model.input_shape[1:])
        model.compile(optimizer=keras.optimizers.Adam(_TRAINING["learning_rate"]),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=_TRAINING["batch_size"], epochs=_TRAINING["epochs"], shuffle=True, verbose=0)
        return tuple(np.array(w) for w in model.get_weights())
    finally:
        if not was_deterministic:
            tf_config.disable_op_determinism()


def _trained_model(keras, arch: str):
    keras.backend.clear_session()
    model = _ARCHS[arch](keras, None)
    model.set_weights(list(_trained_weights(arch)))
    return model


def _prune_one_channel_per_layer(model, input_scale: float) -> None:
    """Structured pruning of the weakest live filter of every convolution: its kernel and its batch norm's
    gamma, beta and moving mean set to 0 (folded: all-zero int8 weights and a bias of exactly 0). The inputs
    are scaled by ``input_scale`` and the first convolution compensates, so that convolution's input/output
    scale ratio is small enough that its pruned channel's effective multiplier flushes to 0 (TFLite's
    converter floors an all-zero channel's weight scale at ~3.9e-9)."""
    layers = model.layers
    first = True
    for i, layer in enumerate(layers):
        cls = type(layer).__name__
        if cls not in ("Conv2D", "DepthwiseConv2D"):
            continue
        bn = layers[i + 1]
        assert type(bn).__name__ == "BatchNormalization", bn
        ws = layer.get_weights()
        gamma, beta, mean, var = bn.get_weights()
        g = np.abs(gamma)
        c = int(np.argmin(np.where(g > 0.1 * g.max(), g, np.inf)))  # the weakest of the live filters
        gamma[c] = beta[c] = mean[c] = 0.0
        bn.set_weights([gamma, beta, mean, var])
        if cls == "DepthwiseConv2D":  # kernel [k_h, k_w, channels, 1]
            ws[0][:, :, c, :] = 0.0
        else:  # [k_h, k_w, in, out]
            ws[0][..., c] = 0.0
        if first:
            ws[0] = ws[0] / np.float32(input_scale)
            first = False
        layer.set_weights(ws)


def _convert_trained(m: ZooModel) -> bytes:
    tf, keras = _tf()
    model = m.builder(keras)
    samples = representative_data(m.name)

    def rep():
        for s in samples:
            yield s

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    if m.per_tensor:
        conv._experimental_disable_per_channel = True  # the converter's documented-private per-tensor switch
    return bytes(conv.convert())


def _trained(name, arch, description, traits, per_tensor=False, input_range=1.0):
    shapes = [(8, 8, 1)] if arch == "cnn" else [(64,)]
    ops = (("CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED")
           if arch == "cnn" else ("FULLY_CONNECTED",))

    def deco(fn):
        return _register(name, "trained-like", shapes, description, ops=ops, per_tensor=per_tensor,
                         input_range=input_range, traits=tuple(traits))(lambda keras: fn(_trained_model(keras, arch)))
    return deco


@_trained("digits_bn_cnn", "cnn", "digits CNN trained with batch norm + ReLU + weight decay, per-channel. "
          "Measured (TF 2.21, quant_census): 7 dead filters with right shifts of 26..27 in all 4 convolutions, "
          "4 channels of all-zero int8 weights; int8 accuracy 352/360 held-out digits",
          ("dead-filters", "per-channel", "all-zero-channel"))
def _t_cnn(model):
    return model


@_trained("digits_bn_cnn_pt", "cnn", "digits_bn_cnn's trained weights quantized per tensor "
          "(CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED). Measured: 13 of 106 channels have all-zero int8 weights "
          "(the dead filters, next to the live ones' scale), shifts -6..-9; int8 accuracy 351/360",
          ("per-tensor", "all-zero-channel"), per_tensor=True)
def _t_cnn_pt(model):
    return model


@_trained("digits_bn_cnn_pruned", "cnn", "digits_bn_cnn with the weakest live filter of each convolution pruned to "
          "all-zero weights and bias, inputs in [-1/64, 1/64] (first convolution compensates). Measured: "
          "1 channel with effective multiplier 0 (op 0), 10 with right shifts of 26..29, 8 with all-zero int8 "
          "weights; int8 accuracy 351/360",
          ("dead-filters", "per-channel", "all-zero-channel", "zero-multiplier"), input_range=_PRUNED_INPUT_RANGE)
def _t_cnn_pruned(model):
    _prune_one_channel_per_layer(model, _PRUNED_INPUT_RANGE)
    return model


@_trained("digits_bn_mlp", "mlp", "digits MLP (64 -> 64 -> 32 -> 10) trained with batch norm + ReLU + weight "
          "decay, per-channel FULLY_CONNECTED. Measured: 23 of the first layer's 64 units dead with all-zero int8 "
          "weights, 6 with right shifts of 26..27; int8 accuracy 338/360",
          ("dead-filters", "per-channel", "all-zero-channel"))
def _t_mlp(model):
    return model


@_trained("digits_bn_mlp_pt", "mlp", "digits_bn_mlp's trained weights quantized per tensor. "
          "Measured: 37 of the first layer's 64 units have all-zero int8 weights, shifts -6..-9; int8 accuracy "
          "338/360",
          ("per-tensor", "all-zero-channel"), per_tensor=True)
def _t_mlp_pt(model):
    return model


# --- what a model's quantization holds ---------------------------------------------------------------------

DEEP_SHIFT = -26  # right shifts at least this deep: the requantization's rounding and zero-point terms get large


@dataclass(frozen=True)
class LayerCensus:
    """One CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED layer's requantization, per output channel, with
    the multipliers and shifts TFLite Micro's Prepare computes (tinyc.codegen.quant, as lower.py does)."""

    op_index: int
    op: str
    channels: int
    per_channel: bool
    zero_multiplier: int  # channels whose effective multiplier is 0 (output = the clamped zero point)
    deep_shift: int  # channels with a non-zero multiplier and shift <= DEEP_SHIFT
    all_zero_weights: int  # channels whose int8 weights are all 0
    min_shift: int  # over the channels with a non-zero multiplier
    max_shift: int
    out_zero_point: int


def quant_census(model) -> list[LayerCensus]:
    """Per layer: channels with multiplier 0, deep right shifts, all-zero weights; ``model`` is a path or a
    parsed tinyc.model.graph.Graph."""
    from tinyc.codegen import quant
    from tinyc.model.graph import Graph, load

    g = model if isinstance(model, Graph) else load(model)
    out = []
    for op in g.operators:
        if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        x, w, y = g.tensor(op.inputs[0]), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
        sx, sy, ws = x.quantization.scale, y.quantization.scale, w.quantization.scales
        if op.op == "DEPTHWISE_CONV_2D":
            ch = w.shape[3]
            rows = np.asarray(w.data).reshape(-1, ch).T
        else:
            ch = w.shape[0]
            rows = np.asarray(w.data).reshape(ch, -1)
        if op.op == "FULLY_CONNECTED" and len(ws) == 1:
            mult, shift = (list(v) for v in zip(*[quant.fc_multiplier_per_tensor(sx, ws[0], sy)] * ch))
        else:
            mult, shift = quant.conv_multipliers(sx, ws, sy, ch)
        live = [s for m, s in zip(mult, shift) if m] or [0]  # a multiplier of 0 comes with a shift of 0
        out.append(LayerCensus(
            op.index, op.op, ch, len(ws) > 1, sum(1 for m in mult if m == 0),
            sum(1 for s in live if s <= DEEP_SHIFT), int(np.sum(~rows.any(axis=1))),
            min(live), max(live), y.quantization.zero_point))
    return out


def census_summary(layers: list[LayerCensus]) -> str:
    """One line: per layer, what its channels hold (only the layers that hold something)."""
    parts = []
    for c in layers:
        bits = [f"{n} {what}" for n, what in ((c.zero_multiplier, "multiplier 0"),
                                               (c.deep_shift, f"shift <= {DEEP_SHIFT}"),
                                               (c.all_zero_weights, "all-zero")) if n]
        q = "per-channel" if c.per_channel else "per-tensor"
        parts.append(f"op {c.op_index} {c.op} {q} {c.channels} ch, shifts {c.min_shift}..{c.max_shift}"
                     + (": " + ", ".join(bits) if bits else ""))
    return "; ".join(parts)
