"""Weight binarization: each kernel becomes sign(w) * alpha_c (alpha_c = mean |w| of output channel c),
trained with a straight-through estimator. Activations stay int8, so the model converts to an ordinary
int8 TFLite model (per-channel scale alpha_c / 127, every weight +-127) that TFLite Micro runs, and the
flash format stores one sign bit per weight (packing.SIGN).

The first and the last weighted layer stay int8 (the usual practice: they are small and binarizing them
costs the most accuracy)."""

from __future__ import annotations

import numpy as np

from tinyc.errors import TinycError
from tinyc.optimize.data import Dataset
from tinyc.optimize.stack import tf_stack
from tinyc.optimize.train import fit


def _binary(tf, kernel):
    """Forward sign * per-output-channel mean |w|; backward the identity, clipped to |w| <= 1 (STE)."""
    axes = list(range(len(kernel.shape) - 1))
    alpha = tf.reduce_mean(tf.abs(kernel), axis=axes, keepdims=True)
    sign = tf.where(kernel >= 0, tf.ones_like(kernel), -tf.ones_like(kernel))
    clipped = tf.clip_by_value(kernel, -1.0, 1.0)
    return clipped + tf.stop_gradient(sign * alpha - clipped)


def bake(kernel: np.ndarray) -> np.ndarray:
    axes = tuple(range(kernel.ndim - 1))
    alpha = np.abs(kernel).mean(axis=axes, keepdims=True)
    return np.where(kernel >= 0, 1.0, -1.0).astype(np.float32) * alpha.astype(np.float32)


def binarize(model, train: Dataset, epochs: int, progress=None):
    """Returns (plain Keras model with baked binary kernels, names of the binarized layers)."""
    s = tf_stack()
    tf, k = s.tf, s.keras

    class BinaryConv2D(k.layers.Conv2D):
        def convolution_op(self, inputs, kernel):
            return super().convolution_op(inputs, _binary(tf, kernel))

    class BinaryDense(k.layers.Dense):
        def call(self, inputs):
            out = tf.matmul(inputs, _binary(tf, self.kernel))
            if self.use_bias:
                out = tf.nn.bias_add(out, self.bias)
            return self.activation(out) if self.activation is not None else out

    weighted = [l for l in model.layers if type(l).__name__ in ("Conv2D", "Dense", "DepthwiseConv2D")]
    targets = {l.name for l in weighted[1:-1] if type(l).__name__ in ("Conv2D", "Dense")}
    if not targets:
        raise TinycError("--binarize: the model needs at least three Conv2D/Dense layers (the first and the "
                         "last stay int8); nothing to binarize")

    def swap(layer):
        if layer.name in targets:
            cls = BinaryConv2D if type(layer).__name__ == "Conv2D" else BinaryDense
            return cls.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    trainable = k.models.clone_model(model, clone_function=swap)
    trainable.set_weights(model.get_weights())
    fit(trainable, train, epochs, "binarize", progress=progress, lr=1e-3)
    plain = k.models.clone_model(model)
    for src, dst in zip(trainable.layers, plain.layers):
        ws = src.get_weights()
        if src.name in targets:
            ws = [bake(ws[0])] + ws[1:]
        dst.set_weights(ws)
    return plain, tuple(sorted(targets, key=[l.name for l in weighted].index))
