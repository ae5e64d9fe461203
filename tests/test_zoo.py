"""The model zoo: MLPerf Tiny shapes and MACs, full-integer int8, op coverage, calibration, caching."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyc import zoo
from tinyc.model import graph, ops, reference


@pytest.fixture(scope="module")
def zoo_paths():
    return zoo.build_all()


def test_names_and_api():
    assert set(zoo.mlperf_names()) == {"kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder"}
    assert set(zoo.single_op_names()) <= set(zoo.names())
    assert not set(zoo.invalid_names()) & set(zoo.names())
    with pytest.raises(Exception, match="unknown zoo model"):
        zoo.info("nope")


@pytest.mark.parametrize("name", ["kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder"])
def test_mlperf_macs_params_shapes(zoo_paths, name):
    g = graph.load(zoo_paths[name])
    info = zoo.info(name)
    total = sum(ops.macs(g, o) for o in g.operators)
    params = sum(ops.params(g, o) for o in g.operators)
    assert abs(total / info.reference_macs - 1) < 0.01, (total, info.reference_macs)
    assert abs(params / info.reference_params - 1) < 0.02, (params, info.reference_params)
    assert g.tensor(g.inputs[0]).shape == (1, *info.input_shapes[0])


def test_full_integer_with_per_channel_conv_weights(zoo_paths):
    for name in zoo.names():
        g = graph.load(zoo_paths[name])
        if not zoo.info(name).float_io:
            assert all(g.tensor(i).dtype == "int8" for i in g.inputs), name
            # int8 outputs, or the int32 indices of an ARG_MAX / ARG_MIN head
            assert all(g.tensor(i).dtype == "int8" or (g.tensor(i).dtype == "int32" and any(
                i in op.outputs and op.op in ("ARG_MAX", "ARG_MIN") for op in g.operators)) for i in g.outputs), name
        for op in g.operators:
            if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                w = g.tensor(op.inputs[1])
                channels = w.shape[0] if op.op == "CONV_2D" else w.shape[3]
                assert w.dtype == "int8" and len(w.quantization.scales) == channels, (name, op.index)


# Operators no Keras model converts to, each tested on a file rewritten to hold it instead.
NO_KERAS_MODEL = {"SQUEEZE": "the converter writes tf.squeeze as RESHAPE; tests/test_ops_shape.py rewrites one"}


def test_single_op_models_cover_every_supported_op(zoo_paths):
    seen = set()
    for name in zoo.single_op_names():
        seen |= {o.op for o in graph.load(zoo_paths[name]).operators}
    assert set(ops.SUPPORTED) - set(NO_KERAS_MODEL) <= seen, set(ops.SUPPORTED) - seen - set(NO_KERAS_MODEL)


def test_outputs_not_saturated(zoo_paths):
    """Calibration matches the test-input distribution: under 10% of outputs clipped at the int8 limits
    (a value equal to the output zero point is an exact real 0, e.g. after ReLU, not saturation)."""
    for name in zoo.names():
        g = graph.load(zoo_paths[name])
        if zoo.info(name).float_io:
            continue
        at_limit = total = 0
        for xs in zoo.quantized_inputs(name, g, count=3):
            for t, y in zip(g.outputs, reference.run(zoo_paths[name], xs)):
                if g.tensor(t).dtype != "int8":  # ARG_MAX's int32 indices: nothing to saturate
                    continue
                zp = g.tensor(t).quantization.zero_point
                at_limit += int(np.sum(((y == -128) | (y == 127)) & (y != zp)))
                total += y.size
        assert at_limit < 0.10 * total or not total, (name, at_limit, total)


def test_cache_is_reused(zoo_paths):
    p = zoo.build("relu")
    assert p == zoo_paths["relu"] and p.is_relative_to(zoo.zoo_dir()) and p.name == "relu.tflite"
    assert zoo.info("relu").source_key in str(p)  # an operator's test model: rebuilt when its builder changes
    assert zoo.cache_key() in str(p)
    before = p.stat().st_mtime_ns
    assert zoo.build("relu").stat().st_mtime_ns == before


def test_representative_data_is_deterministic():
    a = zoo.representative_data("add_two", count=2)
    b = zoo.representative_data("add_two", count=2)
    assert len(a) == 2 and len(a[0]) == 2 and a[0][0].shape == (1, 7, 5, 3)
    assert all(np.array_equal(x, y) for s, t in zip(a, b) for x, y in zip(s, t))
    assert float(np.max(np.abs(a[0][0]))) <= 1.0


@pytest.mark.slow
def test_build_is_byte_reproducible(zoo_paths, tmp_path):
    """A fresh process building one model into an empty cache gets the same bytes as the full build."""
    code = "from tinyc import zoo; print(zoo.build('branchy'))"
    env = {**os.environ, "TINYC_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    fresh = Path(out.stdout.strip().splitlines()[-1])
    assert fresh.read_bytes() == zoo_paths["branchy"].read_bytes()
