"""The TensorFlow stack, imported on first use with Keras 2 selected (tfmot only works with tf-keras)."""

from __future__ import annotations

import os
from functools import cache
from types import SimpleNamespace


@cache
def tf_stack() -> SimpleNamespace:
    """tf, tf_keras and tfmot; TF_USE_LEGACY_KERAS must be set before TensorFlow is first imported."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tf_keras
    import tensorflow_model_optimization as tfmot

    tf.get_logger().setLevel("ERROR")
    return SimpleNamespace(tf=tf, keras=tf_keras, tfmot=tfmot)


def seed_everything(seed: int) -> None:
    """Same seed, same result: seeded Python/numpy/TF RNGs and deterministic TF kernels."""
    s = tf_stack()
    try:  # must precede TF's runtime start; a later call keeps the threads it has
        s.tf.config.threading.set_inter_op_parallelism_threads(1)
        s.tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:
        pass
    s.keras.utils.set_random_seed(seed)
    try:
        s.tf.config.experimental.enable_op_determinism()
    except Exception:  # already enabled
        pass


def fresh_copy(model):
    """A new, unwrapped Keras model with the same weights: tfmot wrappers must not see each other's layers."""
    k = tf_stack().keras
    copy = k.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy
