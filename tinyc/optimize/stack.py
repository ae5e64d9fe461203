"""The TensorFlow stack, imported on first use with Keras 2 selected (tfmot only works with tf-keras)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from functools import cache
from types import SimpleNamespace


class _Stack(SimpleNamespace):
    """tf and tf_keras; ``tfmot`` is imported on first use (1-2 s that the compatibility report, PTQ and the
    post-training steps do not need)."""

    def __getattr__(self, name: str):
        if name != "tfmot":
            raise AttributeError(name)
        with _quiet_native_stderr():
            import tensorflow_model_optimization as tfmot
        self.tfmot = tfmot
        return tfmot


@cache
def tf_stack() -> SimpleNamespace:
    """tf, tf_keras and tfmot; TF_USE_LEGACY_KERAS must be set before TensorFlow is first imported."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    # 3: TensorFlow's C++ log stays quiet (tf.data prints harmless "E0000 NodeDef mentions attribute ..."
    # lines while training); failures still raise Python exceptions. Set it lower to debug TensorFlow.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _quiet_native_stderr():
        import tensorflow as tf
        import tf_keras

        tf.get_logger().setLevel("ERROR")
        tf.config.list_physical_devices("GPU")  # start the device platforms now, while muted
    return _Stack(tf=tf, keras=tf_keras)


@contextmanager
def _quiet_native_stderr():
    """Mute what TensorFlow's C++ side prints while it starts (absl pre-init notices, "no CUDA driver"
    on a machine without a GPU): it is noise to a tinyc user. If the import fails, the text is shown."""
    import sys
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


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
    from tinyc.optimize.load import is_keras3_model

    k = keras3() if is_keras3_model(model) else tf_stack().keras
    copy = k.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def keras3():
    """Keras 3 (the `keras` package), for models saved with it; TensorFlow is started first (quietly)."""
    tf_stack()
    with _quiet_native_stderr():
        import keras
    if not keras.__version__.startswith("3"):
        from tinyc.errors import TinycError

        raise TinycError(f"the installed keras is {keras.__version__}, not Keras 3; install keras>=3 to load "
                         "Keras 3 models")
    return keras
