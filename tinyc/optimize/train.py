"""Fine-tuning shared by every step: seeded, with a rich progress bar per epoch and batch."""

from __future__ import annotations

import numpy as np

from tinyc.errors import TinycError
from tinyc.optimize.data import Dataset
from tinyc.optimize.stack import tf_stack


def loss_for(model, y: np.ndarray):
    k = tf_stack().keras
    out = model.outputs[0]
    act = getattr(model.layers[-1], "activation", None)
    from_logits = act is not None and getattr(act, "__name__", "") != "softmax"
    if out.shape[-1] == 1:
        return k.losses.BinaryCrossentropy(from_logits=from_logits)
    return k.losses.SparseCategoricalCrossentropy(from_logits=from_logits)


def fit(model, data: Dataset, epochs: int, what: str, callbacks=(), batch_size: int = 32, lr: float = 1e-3,
        progress=None) -> None:
    """Compile and train ``model`` in place on labelled ``data``."""
    if not data.labelled:
        raise TinycError(f"{data.source}: {what} needs labels (y) for fine-tuning; pass a .npz with x and y")
    k = tf_stack().keras
    model.compile(optimizer=k.optimizers.Adam(lr), loss=loss_for(model, data.y), metrics=["accuracy"])
    steps = int(np.ceil(len(data) / batch_size)) * epochs
    cbs = list(callbacks)
    if progress is not None and epochs > 0:
        cbs.append(_ProgressCallback(progress, f"{what}: fine-tuning", steps))
    if epochs > 0:
        model.fit(data.x, data.y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=cbs)


def steps_per_epoch(data: Dataset, batch_size: int = 32) -> int:
    return int(np.ceil(len(data) / batch_size))


def keras_accuracy(model, data: Dataset | None) -> float | None:
    if data is None or not data.labelled:
        return None
    pred = model.predict(data.x, batch_size=256, verbose=0)
    if pred.shape[-1] == 1:
        return float(((pred.reshape(-1) > 0.5).astype(int) == data.y).mean())
    return float((pred.argmax(axis=-1) == data.y).mean())


def _ProgressCallback(progress, label: str, total: int):
    k = tf_stack().keras

    class _CB(k.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.task = progress.add_task(label, total=total)

        def on_train_batch_end(self, batch, logs=None):
            progress.advance(self.task)

        def on_train_end(self, logs=None):
            progress.update(self.task, completed=total)

    return _CB()
