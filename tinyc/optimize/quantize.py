"""Full-integer int8 conversion (PTQ) and quantization-aware training, including the collaborative
schemes that keep pruning and clustering intact (tfmot.experimental.combine)."""

from __future__ import annotations

import numpy as np

from tinyc.errors import TinycError
from tinyc.optimize.data import Dataset
from tinyc.optimize.stack import fresh_copy, tf_stack
from tinyc.optimize.train import fit


def to_int8(model, calibration: Dataset, max_samples: int = 300) -> bytes:
    """int8 weights (per channel) and activations, int8 inputs and outputs: what TFLite Micro runs."""
    tf = tf_stack().tf
    x = calibration.x[:max_samples]

    def representative():
        for i in range(len(x)):
            yield [x[i:i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    try:
        return bytes(conv.convert())
    except Exception as exc:
        msg = " ".join(str(exc).split())
        hint = ""
        if "not supported" in msg.lower() or "failed to legalize" in msg.lower() or "custom" in msg.lower():
            hint = "; a layer has no int8 TFLite builtin: replace it with supported layers"
        raise TinycError(f"int8 conversion failed: {msg[:300]}{hint}") from None


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
    try:
        annotated = q.quantize_annotate_model(base)
        qmodel = q.quantize_apply(annotated, scheme) if scheme is not None else q.quantize_apply(annotated)
    except Exception as exc:
        raise TinycError(f"quantization-aware training cannot wrap this model ({str(exc).splitlines()[0][:200]}); "
                         "drop --qat to use post-training quantization") from None
    fit(qmodel, train, epochs, name, progress=progress, lr=2e-4)
    return qmodel, name
