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


def build(tf_keras, filters: tuple[int, int, int] = (32, 64, 32), name: str = "digits_cnn"):
    """Three 3x3 ReLU convolutions of ``filters`` (max pooling after the last two), then softmax over the
    10 digits. The default is wide enough that its two big convolutions (18,432 weights each) are worth
    compressing; make_wide_model.py builds a wider one."""
    L = tf_keras.layers
    c1, c2, c3 = filters
    return tf_keras.Sequential([
        L.Input((8, 8, 1), name="image"),
        L.Conv2D(c1, 3, padding="same", activation="relu", name="conv1"),
        L.Conv2D(c2, 3, padding="same", activation="relu", name="conv2"),
        L.MaxPooling2D(2, name="pool2"),
        L.Conv2D(c3, 3, padding="same", activation="relu", name="conv3"),
        L.MaxPooling2D(2, name="pool3"),
        L.Flatten(name="flatten"),
        L.Dense(10, activation="softmax", name="logits"),
    ], name=name)


def deterministic(seed: int):
    """Fixed seeds, single-threaded TF ops, op determinism on: the same model on every run. (tf, tf_keras)."""
    import tensorflow as tf
    import tf_keras

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf_keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return tf, tf_keras


def train(tf_keras, make, train_split, test_split, epochs: int, out: Path):
    """Train ``make()``, save an uncompiled copy (no optimizer state in the file, which stays small) to
    ``out``; (test accuracy, parameters)."""
    model = make()
    model.compile(optimizer=tf_keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(*train_split, batch_size=32, epochs=epochs, shuffle=True, verbose=0)
    _, acc = model.evaluate(*test_split, verbose=0)
    plain = make()
    plain.set_weights(model.get_weights())
    plain.save(out)
    return acc, model.count_params()


def main(out_dir: Path = HERE, epochs: int = 30) -> float:
    _, tf_keras = deterministic(SEED)
    data = splits()
    for name, (x, y) in data.items():
        np.savez_compressed(out_dir / f"{name}.npz", x=x, y=y)
    acc, params = train(tf_keras, lambda: build(tf_keras), data["train"], data["test"], epochs,
                        out_dir / "digits_cnn.keras")
    print(f"float test accuracy {acc:.4f} ({len(data['test'][1])} held-out samples); "
          f"{params} parameters; wrote {out_dir}")
    return acc


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
