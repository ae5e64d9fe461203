"""Train the fit demo model: a wider digits CNN that does NOT fit a Blue Pill (64 KiB flash, 20 KiB SRAM).

Same data as make_model.py (train.npz / calibration.npz / test.npz beside this file, which it does not
rewrite), a wider network: ~170k parameters, so its int8 weights alone are ~2.6x the Blue Pill's flash.
`tinyc fit examples/digits/digits_wide_cnn.keras --board bluepill --data examples/digits/train.npz
--test-data examples/digits/test.npz` searches for a compressed version that fits.

Deterministic (fixed seeds, single-threaded TF ops). Run:
  .venv/bin/python examples/digits/make_wide_model.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SEED = 4321
HERE = Path(__file__).resolve().parent


def build(tf_keras):
    L = tf_keras.layers
    return tf_keras.Sequential([
        L.Input((8, 8, 1), name="image"),
        L.Conv2D(48, 3, padding="same", activation="relu", name="conv1"),
        L.Conv2D(128, 3, padding="same", activation="relu", name="conv2"),
        L.MaxPooling2D(2, name="pool2"),
        L.Conv2D(96, 3, padding="same", activation="relu", name="conv3"),
        L.MaxPooling2D(2, name="pool3"),
        L.Flatten(name="flatten"),
        L.Dense(10, activation="softmax", name="logits"),
    ], name="digits_wide_cnn")


def main(out: Path = HERE / "digits_wide_cnn.keras", epochs: int = 20) -> float:
    import tensorflow as tf
    import tf_keras

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    with np.load(HERE / "train.npz") as z:
        x, y = z["x"], z["y"]
    with np.load(HERE / "test.npz") as z:
        xt, yt = z["x"], z["y"]
    model = build(tf_keras)
    model.compile(optimizer=tf_keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=epochs, shuffle=True, verbose=0)
    _, acc = model.evaluate(xt, yt, verbose=0)
    plain = build(tf_keras)  # uncompiled copy: no optimizer state in the file
    plain.set_weights(model.get_weights())
    plain.save(out)
    print(f"float test accuracy {acc:.4f} ({len(yt)} held-out samples); {model.count_params()} parameters; "
          f"wrote {out}")
    return acc


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "digits_wide_cnn.keras")
