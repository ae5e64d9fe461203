"""Train the bundled digits example: a small CNN on scikit-learn's offline digits set (8x8, 10 classes).

Writes, beside this file:
  digits_cnn.keras   the float model, saved with tf_keras (Keras 2) so tensorflow-model-optimization can use it
  train.npz          training split       x: float32 (N, 8, 8, 1) in [0, 1], y: int64 (N,) class 0..9
  calibration.npz    calibration split    (same layout; for post-training quantization / fine-tuning checks)
  test.npz           held-out test split  (same layout; never used for training or calibration)

Deterministic: fixed seeds, single-threaded TF ops, op determinism on. Run:
  .venv/bin/python examples/digits/make_model.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SEED = 1234
HERE = Path(__file__).resolve().parent
N_TEST = 360
N_CALIB = 200


def splits(seed: int = SEED) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Stratified, seeded split of the 1797 digits into train / calibration / test."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[..., None]
    y = digits.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=N_TEST, stratify=y, random_state=seed)
    x_train, x_cal, y_train, y_cal = train_test_split(x_rest, y_rest, test_size=N_CALIB, stratify=y_rest,
                                                      random_state=seed + 1)
    return {"train": (x_train, y_train), "calibration": (x_cal, y_cal), "test": (x_test, y_test)}


def build(tf_keras):
    """Wide enough that its two big convolutions (18,432 weights each) are worth compressing."""
    L = tf_keras.layers
    return tf_keras.Sequential([
        L.Input((8, 8, 1), name="image"),
        L.Conv2D(32, 3, padding="same", activation="relu", name="conv1"),
        L.Conv2D(64, 3, padding="same", activation="relu", name="conv2"),
        L.MaxPooling2D(2, name="pool2"),
        L.Conv2D(32, 3, padding="same", activation="relu", name="conv3"),
        L.MaxPooling2D(2, name="pool3"),
        L.Flatten(name="flatten"),
        L.Dense(10, activation="softmax", name="logits"),
    ], name="digits_cnn")


def main(out_dir: Path = HERE, epochs: int = 30) -> float:
    import tensorflow as tf
    import tf_keras

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()

    data = splits()
    for name, (x, y) in data.items():
        np.savez_compressed(out_dir / f"{name}.npz", x=x, y=y)

    model = build(tf_keras)
    model.compile(optimizer=tf_keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x_train, y_train = data["train"]
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, shuffle=True, verbose=0)
    _, acc = model.evaluate(*data["test"], verbose=0)
    plain = build(tf_keras)  # uncompiled copy: no optimizer state in the file, which stays small
    plain.set_weights(model.get_weights())
    plain.save(out_dir / "digits_cnn.keras")
    print(f"float test accuracy {acc:.4f} ({len(data['test'][1])} held-out samples); "
          f"{model.count_params()} parameters; wrote {out_dir}")
    return acc


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
