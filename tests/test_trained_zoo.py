"""The trained-like zoo models (tinyc.zoo.trained_like_names(): small batch-norm + ReLU networks trained on the
digits data until filters die, a per-tensor variant, pruned all-zero channels): they hold what they claim
(counted from the parsed graph with the multipliers and shifts TFLite Micro computes), they build the same
bytes in a fresh process, and through the real `tinyc bench` path (cached build) they run bit-identical to
the TFLite Micro interpreter in QEMU on the Cortex-M7 stand-in (nucleo-f746 --emulate), the Cortex-M4
(mps2-an386) and the Cortex-M55 (mps3-an547)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import require_tool
from tinyc import zoo
from tinyc.cli import cli

TARGETS = [("nucleo-f746", True), ("mps2-an386", False), ("mps3-an547", False)]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained():
    """All of them in one TensorFlow session: each architecture is trained once (seconds), on a cold cache."""
    return zoo.build_all(zoo.trained_like_names())


def test_trained_like_models_are_registered_apart_from_names():
    names = zoo.trained_like_names()
    assert {"digits_bn_cnn", "digits_bn_cnn_pt", "digits_bn_cnn_pruned", "digits_bn_mlp", "digits_bn_mlp_pt"} \
        == set(names)
    assert not set(names) & set(zoo.names())  # names(): the per-channel MLPerf and single-op sets
    for n in names:
        assert set(zoo.info(n).traits) <= set(zoo.TRAITS) and zoo.info(n).traits


def test_trained_like_models_hold_what_their_traits_say(trained):
    for name, path in trained.items():
        m = zoo.info(name)
        layers = zoo.quant_census(path)
        print(f"\n{name}: {zoo.census_summary(layers)}")
        assert layers
        per_channel = {c.per_channel for c in layers}
        if "per-tensor" in m.traits:
            assert per_channel == {False}, name  # CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED alike
        if "per-channel" in m.traits:
            assert per_channel == {True}, name
        # dead filters: channels with right shifts of 26 or more (folded batch norm over decayed weights)
        assert (sum(c.deep_shift for c in layers) >= 2) == ("dead-filters" in m.traits), name
        assert (sum(c.all_zero_weights for c in layers) > 0) == ("all-zero-channel" in m.traits), name
        assert (sum(c.zero_multiplier for c in layers) > 0) == ("zero-multiplier" in m.traits), name
        # a ReLU-fed network: its outputs' zero point is -128 in the hidden layers
        assert any(c.out_zero_point == -128 for c in layers), name


def test_trained_like_models_are_trained(trained):
    """The first 60 held-out digits (never trained or calibrated on) through the TFLite Micro interpreter:
    at least 90% right."""
    import numpy as np

    from tinyc.model import reference
    from tinyc.model.graph import load

    x_all, y_all = zoo.digits("test")
    for name, path in trained.items():
        g, m = load(path), zoo.info(name)
        q = g.tensor(g.inputs[0]).quantization
        right = 0
        for x, y in zip(x_all[:60], y_all[:60]):
            real = x.reshape(1, *m.input_shapes[0]) * m.input_range
            xq = np.clip(np.floor(real / q.scale + 0.5) + q.zero_point, -128, 127).astype(np.int8)
            right += int(np.argmax(reference.run(path, [xq])[0]) == y)
        assert right >= 54, f"{name}: {right} of 60 held-out digits right"


@pytest.mark.slow
def test_training_is_deterministic_in_a_fresh_process(trained, tmp_path):
    """The MLP (the fastest to train) rebuilt from scratch in another process gives the same bytes."""
    code = "from tinyc import zoo; print(zoo.build('digits_bn_mlp'))"
    env = {**os.environ, "TINYC_CACHE_DIR": str(tmp_path), "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    fresh = Path(r.stdout.strip().splitlines()[-1])
    assert fresh.read_bytes() == trained["digits_bn_mlp"].read_bytes()


@pytest.mark.toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board_id,emulate", TARGETS, ids=[b for b, _ in TARGETS])
@pytest.mark.parametrize("name", zoo.trained_like_names())
def test_trained_like_model_bit_exact_with_tflm_in_qemu(trained, name, board_id, emulate):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    args = ["bench", str(trained[name]), "--board", board_id, "--runs", "2", "--json"]
    args += ["--emulate"] if emulate else []
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout[r.stdout.index("{"):])
    assert d["outputs_match"] is True, d["mismatches"]
    assert d["emulated"] and d["unit"] == "instructions" and d["min"] == d["max"] > 0 and d["checksums_identical"]
