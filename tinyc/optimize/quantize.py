"""Full-integer int8 conversion (PTQ) and quantization-aware training, including the collaborative
schemes that keep pruning and clustering intact (tfmot.experimental.combine)."""

from __future__ import annotations

import os

import numpy as np

from tinyc.errors import TinycError
from tinyc.optimize.data import Dataset
from tinyc.optimize.stack import fresh_copy, tf_stack
from tinyc.optimize.train import fit


def converter(model):
    """The TFLite converter for a Keras model. A Keras 3 model is called on a batch-1 input first: its export
    otherwise keeps a dynamic batch size, which Flatten/Reshape turn into SHAPE/PACK arithmetic that a
    microcontroller runtime has no business running (the tf-keras front end folds it)."""
    from tinyc.optimize.load import is_keras3_model

    tf = tf_stack().tf
    if is_keras3_model(model):
        from tinyc.optimize.stack import keras3

        k3 = keras3()
        inputs = [k3.Input(batch_shape=(1, *tuple(t.shape[1:]))) for t in model.inputs]
        outputs = model(inputs[0] if len(inputs) == 1 else inputs)
        model = k3.Model(inputs, outputs, name=model.name)
    return tf.lite.TFLiteConverter.from_keras_model(model)


def check_convertible(model, where: str = "the model") -> None:
    """Refuse, all at once and with the layers named, a model with operators tinyc cannot run."""
    from tinyc.optimize.compat import require_compatible

    require_compatible(model, where)


def to_int8(model, calibration: Dataset, max_samples: int = 300) -> bytes:
    """int8 weights (per channel) and activations, int8 inputs and outputs: what TFLite Micro runs."""
    tf = tf_stack().tf
    x = calibration.x[:max_samples]

    def representative():
        for i in range(len(x)):
            yield [x[i:i + 1]]

    conv = converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    try:
        return _quiet(conv.convert)
    except Exception as exc:
        from tinyc.optimize.compat import _first_error

        msg = _first_error(str(exc))
        hint = ""
        if "not supported" in msg.lower() or "failed to legalize" in msg.lower() or "custom" in msg.lower():
            hint = "; a layer has no int8 TFLite builtin: replace it with supported layers"
        raise TinycError(f"int8 conversion failed: {msg}{hint}") from None


def _quiet(convert) -> bytes:
    """Run the converter with the C++ stdout/stderr (MLIR diagnostics, quantizer chatter) captured: its
    failures come back as exceptions, and the rest is noise on the user's terminal."""
    import sys
    import tempfile

    import contextlib
    import io

    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with tempfile.TemporaryFile() as sink, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            return bytes(convert())
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def qat(model, train: Dataset, epochs: int, pruned: bool, clustered: bool, progress=None):
    """Quantization-aware fine-tuning; the scheme preserves the sparsity/clusters earlier steps made."""
    s = tf_stack()
    q = s.tfmot.quantization.keras
    combine = s.tfmot.experimental.combine
    base = fresh_copy(model)
    if clustered:
        scheme, name = combine.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=pruned), (
            "PCQAT" if pruned else "CQAT")
    elif pruned:
        scheme, name = combine.Default8BitPrunePreserveQuantizeScheme(), "PQAT"
    else:
        scheme, name = None, "QAT"
    _reserve_layer_names(base)
    try:
        annotated = q.quantize_annotate_model(base)
        qmodel = q.quantize_apply(annotated, scheme) if scheme is not None else q.quantize_apply(annotated)
    except Exception as exc:
        raise TinycError(f"quantization-aware training cannot wrap this model ({str(exc).splitlines()[0][:200]}); "
                         "drop --qat to use post-training quantization") from None
    fit(qmodel, train, epochs, name, progress=progress, lr=2e-4)
    return qmodel, name


def _reserve_layer_names(model) -> None:
    """tfmot's QAT replaces a SeparableConv2D with a DepthwiseConv2D and a new Conv2D named by Keras' counter;
    a model loaded from a file did not advance that counter, so the new layer could be called "conv2d" beside
    the model's own "conv2d" ("All layers added to a Sequential model should have unique names"). Move the
    counters past every name the model uses."""
    import re

    from tf_keras.src import backend as B

    uids = B.get_default_graph_uid_map()
    for layer in model.layers:
        m = re.fullmatch(r"(.+?)(?:_(\d+))?", layer.name)
        base, n = m.group(1), int(m.group(2)) if m.group(2) else 0
        key = ("", base)
        uids[key] = max(uids[key], n + 1)


def tflite_to_int8(float_tflite: bytes, calibration: Dataset, max_samples: int = 300) -> bytes:
    """Static int8 quantization of a float .tflite (int8 weights and activations, int8 inputs/outputs) with
    ai-edge-quantizer, the maintained library that quantizes .tflite files directly."""
    import tempfile
    from pathlib import Path

    try:
        from ai_edge_quantizer import quantizer, recipe
    except ImportError:
        raise TinycError("quantizing a float .tflite needs ai-edge-quantizer (pip install ai-edge-quantizer==0.10.0, "
                         "pinned in pyproject.toml), or pass the source Keras/SavedModel model") from None
    from tinyc.model.graph import parse

    g = parse(float_tflite)
    if len(g.inputs) != 1:
        raise TinycError(f"the .tflite has {len(g.inputs)} inputs; tinyc quantizes single-input models only")
    x = calibration.x[:max_samples]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "float.tflite"
        src.write_bytes(float_tflite)
        try:
            qt = quantizer.Quantizer(str(src))
            qt.load_quantization_recipe(recipe.static_wi8_ai8())
            import warnings

            tf = tf_stack().tf
            with warnings.catch_warnings():  # tf.lite.Interpreter's deprecation notice
                warnings.simplefilter("ignore")
                sigs = tf.lite.Interpreter(model_content=float_tflite).get_signature_list()
            if not sigs:
                raise TinycError("the .tflite has no signature (serving_default); ai-edge-quantizer needs one: "
                                 "convert the model with TFLiteConverter.from_keras_model/from_saved_model")
            key = next(iter(sigs))
            name = sigs[key]["inputs"][0]
            result = _quiet_call(lambda: qt.quantize(qt.calibrate({key: [{name: x[i:i + 1]} for i in range(len(x))]})))
            dst = Path(tmp) / "int8.tflite"
            _quiet_call(lambda: result.export_model(str(dst), overwrite=True))
            return dst.read_bytes()
        except TinycError:
            raise
        except Exception as exc:
            raise TinycError(f"ai-edge-quantizer cannot quantize this .tflite: {' '.join(str(exc).split())[:300]}; "
                             "pass the source Keras/SavedModel model instead") from None


def _quiet_call(fn):
    """Like _quiet, for a call returning anything (the quantizer prints progress and summaries)."""
    box = []
    _quiet(lambda: box.append(fn()) or b"")
    return box[0]
