"""`tinyc optimize` end to end on the bundled digits example: every option's output runs in TFLite Micro,
the figures it reports are the ones measured, and bad input gives one clear error and no output file.

Fine-tuning uses 300 training samples and one epoch (speed); accuracy is always measured on the held-out
test split. Each configuration runs once per session (the `optimized` fixture caches its results).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinyc.cli import cli

pytestmark = pytest.mark.slow

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"
BIG = 4096  # the done criteria measure bits per weight on layers of at least 4k weights


@pytest.fixture(scope="session")
def small_train(tmp_path_factory) -> Path:
    z = np.load(DIGITS / "train.npz")
    path = tmp_path_factory.mktemp("optimize-data") / "train300.npz"
    np.savez(path, x=z["x"][:300], y=z["y"][:300])
    return path


def _invoke(args: list[str]):
    return CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False)


@pytest.fixture(scope="session")
def optimized(tmp_path_factory, small_train):
    """Run `tinyc optimize ... --json` once per option set; returns (report dict, output path)."""
    out_dir = tmp_path_factory.mktemp("optimized")
    cache: dict[tuple[str, ...], tuple[dict, Path]] = {}

    def run(*options: str):
        if options not in cache:
            out = out_dir / f"m{len(cache)}.tflite"
            result = _invoke(["optimize", str(DIGITS / "digits_cnn.keras"), "-o", str(out),
                              "--data", str(small_train), "--calibration-data", str(DIGITS / "calibration.npz"),
                              "--test-data", str(DIGITS / "test.npz"), "--epochs", "1", "--seed", "0",
                              "--json", *options])
            assert result.exit_code == 0, result.output
            cache[options] = (json.loads(result.stdout), out)
        return cache[options]

    return run


def _tflm_accuracy(path: Path) -> float:
    """Independent of the pipeline: run the written file in the TFLM interpreter on the test split."""
    from tinyc.model.reference import interpreter

    z = np.load(DIGITS / "test.npz")
    it = interpreter(path.read_bytes())
    inp, outp = it.get_input_details(0), it.get_output_details(0)
    assert inp["dtype"] == np.int8 and outp["dtype"] == np.int8
    scale = inp["quantization_parameters"]["scales"][0]
    zp = inp["quantization_parameters"]["zero_points"][0]
    hits = 0
    for x, y in zip(z["x"], z["y"]):
        q = np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)
        it.set_input(q[None], 0)
        it.invoke()
        hits += int(np.array(it.get_output(0)).reshape(-1).argmax() == y)
    return hits / len(z["y"])


def _big_layers(step: dict) -> list[dict]:
    layers = [l for l in step["figures"]["layers"] if l["weights"] >= BIG]
    assert len(layers) == 2  # conv2 and conv3
    return layers


OPTIONS = {
    "ptq": (),
    "prune-channels": ("--prune-channels", "0.25"),
    "cluster": ("--cluster", "16"),
    "prune+cluster": ("--prune", "0.5", "--cluster", "16"),
    "binarize": ("--binarize", "--epochs", "2"),
    "prune+qat": ("--prune", "0.5", "--qat"),
}


@pytest.mark.parametrize("name", list(OPTIONS))
def test_every_option_writes_an_int8_model_tflm_runs(optimized, name):
    report, out = optimized(*OPTIONS[name])
    acc = _tflm_accuracy(out)
    final = report["steps"][-1]
    assert final["int8_accuracy"] == pytest.approx(acc, abs=0.006)  # the report's figure is TFLM's
    assert final["figures"]["tflite_bytes"] == out.stat().st_size
    assert acc > 0.5, f"{name}: {acc}"
    assert report["data"]["test"].endswith("test.npz")
    assert not list(out.parent.glob(".*.tmp"))


def test_ptq_within_one_point_of_float(optimized):
    report, _ = optimized()
    step = report["steps"][0]
    assert step["float_accuracy"] > 0.95
    assert abs(step["float_accuracy"] - step["int8_accuracy"]) <= 0.01


def test_prune_and_cluster_within_two_points_and_under_3_5_bits(optimized):
    report, _ = optimized(*OPTIONS["prune+cluster"])
    float_acc = report["steps"][0]["float_accuracy"]
    final = report["steps"][-1]
    assert [s["name"] for s in report["steps"]] == ["float -> int8 (PTQ)", "prune 50%", "cluster 16"]
    assert float_acc - final["int8_accuracy"] <= 0.02
    for layer in _big_layers(final):
        assert layer["sparsity"] == pytest.approx(0.5, abs=0.02)  # sparsity survives clustering and int8
        assert layer["unique_per_channel"] <= 16
        assert layer["packing"] == "sparse-lut"
        assert layer["bits_per_weight"] <= 3.5
    assert final["figures"]["packed_bytes"] < 0.6 * report["steps"][0]["figures"]["packed_bytes"]


def test_cluster_16_under_4_5_bits(optimized):
    report, _ = optimized(*OPTIONS["cluster"])
    for layer in _big_layers(report["steps"][-1]):
        assert layer["unique_per_channel"] <= 16
        assert layer["bits_per_weight"] <= 4.5


def test_magnitude_pruning_reaches_target_sparsity(optimized):
    report, _ = optimized(*OPTIONS["prune+cluster"])
    pruned = report["steps"][1]
    assert pruned["name"] == "prune 50%"
    for layer in _big_layers(pruned):
        assert layer["sparsity"] == pytest.approx(0.5, abs=0.02)
    assert pruned["figures"]["sparsity"] == pytest.approx(0.5, abs=0.02)


def test_structured_pruning_removes_channels_macs_and_arena(optimized):
    report, _ = optimized(*OPTIONS["prune-channels"])
    before, after = report["steps"][0], report["steps"][-1]
    shapes = [tuple(l["shape"]) for l in after["figures"]["layers"]]
    assert shapes[:3] == [(24, 3, 3, 1), (48, 3, 3, 24), (24, 3, 3, 48)]
    assert after["figures"]["macs"] <= 0.8 * before["figures"]["macs"]
    assert after["planned_arena_bytes"] <= 0.8 * before["planned_arena_bytes"]
    assert after["tflm_head_bytes"] <= 0.8 * before["tflm_head_bytes"]
    assert after["arena_bytes"] < before["arena_bytes"]
    assert after["figures"]["tflite_bytes"] < 0.7 * before["figures"]["tflite_bytes"]


def test_binarized_layers_are_one_bit(optimized):
    report, _ = optimized(*OPTIONS["binarize"])
    for layer in _big_layers(report["steps"][-1]):
        assert layer["packing"] == "sign" and layer["unique"] == 2
        assert layer["bits_per_weight"] <= 1.25
    assert report["steps"][-1]["int8_accuracy"] is not None


def test_pruning_preserving_qat_keeps_sparsity(optimized):
    """--qat's path (quantize_annotate + quantize_apply + fit) with the PQAT scheme; plain QAT differs only
    in the scheme argument, and is left out to keep the suite short."""
    report, _ = optimized(*OPTIONS["prune+qat"])
    assert report["steps"][-1]["name"] == "PQAT"
    for layer in _big_layers(report["steps"][-1]):
        assert layer["sparsity"] >= 0.48


def test_same_seed_same_model(optimized, tmp_path, small_train):
    _, first = optimized(*OPTIONS["prune-channels"])
    out = tmp_path / "again.tflite"
    result = _invoke(["optimize", str(DIGITS / "digits_cnn.keras"), "-o", str(out), "--data", str(small_train),
                      "--calibration-data", str(DIGITS / "calibration.npz"), "--test-data",
                      str(DIGITS / "test.npz"), "--epochs", "1", "--seed", "0", *OPTIONS["prune-channels"]])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == first.read_bytes()


# --- bad input: one line, exit 2, no output file -------------------------------------------------------

def _fails(tmp_path, args: list[str], match: str, exit_code: int = 2) -> None:
    out = tmp_path / "out.tflite"
    result = _invoke(["optimize", *args, "-o", str(out)] if "-o" not in args else ["optimize", *args])
    assert result.exit_code == exit_code, result.output
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert lines and lines[-1].startswith("error: ") and match in lines[-1], result.stderr
    assert "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


def test_missing_data_file(tmp_path):
    _fails(tmp_path, [str(DIGITS / "digits_cnn.keras"), "--data", str(tmp_path / "nope.npz")],
           "data file not found")


def test_impossible_sparsity(tmp_path):
    _fails(tmp_path, [str(DIGITS / "digits_cnn.keras"), "--data", str(DIGITS / "train.npz"), "--prune", "1.5"],
           "--prune sparsity 1.5 is impossible")


def test_wrong_input_shape(tmp_path):
    z = np.load(DIGITS / "test.npz")
    np.savez(tmp_path / "flat.npz", x=z["x"].reshape(len(z["x"]), 64), y=z["y"])
    _fails(tmp_path, [str(DIGITS / "digits_cnn.keras"), "--data", str(tmp_path / "flat.npz")],
           "expects (8, 8, 1)")


def _sine(t):
    import tensorflow as tf

    return tf.math.sin(t)


def test_layer_without_int8_kernel(tmp_path):
    from tinyc.optimize.stack import tf_stack

    s = tf_stack()
    k = s.keras
    model = k.Sequential([k.layers.Input((8, 8, 1)), k.layers.Conv2D(4, 3),
                          k.layers.Lambda(_sine, name="odd"), k.layers.Flatten(),
                          k.layers.Dense(10)])
    model.save(tmp_path / "odd.h5")
    _fails(tmp_path, [str(tmp_path / "odd.h5"), "--calibration-data", str(DIGITS / "calibration.npz")],
           "op 1 SIN (layer odd (Lambda))")


def test_training_steps_need_data_and_tflite_is_refused(tmp_path, optimized):
    _fails(tmp_path, [str(DIGITS / "digits_cnn.keras"), "--cluster", "16"], "pass labelled training data")
    _, ptq = optimized()
    _fails(tmp_path, [str(ptq), "--data", str(DIGITS / "train.npz"), "--prune", "0.5"],
           "needs the trained source model")
    _fails(tmp_path, [str(ptq)], "already quantized")


def test_float_tflite_is_quantized_by_ai_edge_quantizer(tmp_path):
    from tinyc.optimize.load import load_model
    from tinyc.optimize.stack import tf_stack

    tf = tf_stack().tf
    keras_model = load_model(DIGITS / "digits_cnn.keras").keras
    float_path = tmp_path / "digits_float.tflite"
    float_path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras_model).convert())
    out = tmp_path / "digits_int8.tflite"
    result = _invoke(["optimize", str(float_path), "-o", str(out), "--calibration-data",
                      str(DIGITS / "calibration.npz"), "--test-data", str(DIGITS / "test.npz"), "--json"])
    assert result.exit_code == 0, result.output
    step = json.loads(result.stdout)["steps"][-1]
    acc = _tflm_accuracy(out)  # int8 in and out, run by TFLM
    assert step["int8_accuracy"] == pytest.approx(acc, abs=0.006)
    assert abs(step["float_accuracy"] - acc) <= 0.01
    _fails(tmp_path, [str(float_path), "--data", str(DIGITS / "train.npz"), "--cluster", "16"],
           "needs the trained source model")


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "out.tflite"
    out.write_bytes(b"user file")
    result = _invoke(["optimize", str(DIGITS / "digits_cnn.keras"), "-o", str(out)])
    assert result.exit_code == 2 and "--force" in result.stderr
    assert out.read_bytes() == b"user file"


def test_no_data_ptq_warns_loudly(tmp_path):
    out = tmp_path / "synthetic.tflite"
    result = _invoke(["optimize", str(DIGITS / "digits_cnn.keras"), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert "accuracy of the quantized model is UNKNOWN" in result.stderr
    report = json.loads(result.stdout)
    assert report["steps"][-1]["int8_accuracy"] is None and out.exists()
    assert any("RANDOM" in w for w in report["warnings"])


def test_savedmodel_and_h5_load_as_tf_keras(tmp_path):
    from tinyc.optimize.load import load_model
    from tinyc.optimize.stack import tf_stack

    k = tf_stack().keras
    model = load_model(DIGITS / "digits_cnn.keras").keras
    x = np.load(DIGITS / "test.npz")["x"][:8]
    model.save(tmp_path / "saved", save_format="tf")
    model.save(tmp_path / "m.h5")
    for path in (tmp_path / "saved", tmp_path / "m.h5"):
        loaded = load_model(path)
        assert loaded.kind == "keras" and isinstance(loaded.keras, k.Model)
        np.testing.assert_allclose(loaded.keras.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
