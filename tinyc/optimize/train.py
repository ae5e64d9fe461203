"""Fine-tuning shared by every step: seeded, with a rich progress bar per epoch and batch."""

from __future__ import annotations

import numpy as np

from tinyc.errors import TinycError
from tinyc.optimize.data import Dataset
from tinyc.optimize.stack import tf_stack


def _default_loss(k, task):
    if task.kind == "classification":
        return k.losses.SparseCategoricalCrossentropy(from_logits=task.from_logits)
    if task.kind in ("binary", "multilabel"):
        return k.losses.BinaryCrossentropy(from_logits=task.from_logits)
    return k.losses.MeanSquaredError()


def loss_for(model, tasks=None):
    """The loss(es) fine-tuning uses: the model's own compile loss per output where it was saved (and tf-keras
    understands it), else the one that goes with the output's task."""
    k = tf_stack().keras
    if tasks is None:
        tasks = output_tasks(model)
    losses = []
    for t in tasks:
        loss = None
        if t.loss is not None:
            try:
                loss = k.losses.get(t.loss)
            except Exception:  # noqa: BLE001 - a custom or Keras-3-only loss: the task's default
                loss = None
        losses.append(loss or _default_loss(k, t))
    return losses[0] if len(losses) == 1 else losses


def output_tasks(model, loss=None, labels=None, task: str | None = None):
    """What each output of a Keras model predicts (tinyc.optimize.tasks.infer)."""
    from tinyc.optimize import tasks as T

    return T.infer(output_signature(model), loss, labels, task)


def output_signature(model) -> list[tuple[str, int, str | None]]:
    """(name, units, final activation) per output of a Keras model, in its output order."""
    names = list(getattr(model, "output_names", None) or [f"output_{i}" for i in range(len(model.outputs))])
    result = []
    for name, out in zip(names, model.outputs):
        units = int(np.prod([d for d in out.shape[1:] if d is not None])) if len(out.shape) > 1 else 1
        result.append((name, units, _activation(_producer(model, name, out))))
    return result


def _producer(model, name, out):
    try:
        return model.get_layer(name)
    except (ValueError, KeyError):
        hist = getattr(out, "_keras_history", None)
        return hist[0] if hist else None


def _activation(layer) -> str | None:
    while layer is not None and hasattr(layer, "layer") and not hasattr(layer, "activation"):
        layer = layer.layer  # a tfmot wrapper (pruning, clustering, quantization) around the real layer
    if layer is None:
        return None
    kind = type(layer).__name__
    if kind == "Softmax":
        return "softmax"
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", None) or (act if isinstance(act, str) else None)
    if name in ("softmax", "sigmoid"):
        return name
    return None


def fit(model, data: Dataset, epochs: int, what: str, callbacks=(), batch_size: int = 32, lr: float = 1e-3,
        progress=None, tasks=None) -> None:
    """Compile and train ``model`` in place on labelled ``data`` (labels prepared for ``tasks``)."""
    if not data.labelled:
        raise TinycError(f"{data.source}: {what} needs labels (y) for fine-tuning; pass a .npz with x and y")
    k = tf_stack().keras
    tasks = tasks or data.tasks or output_tasks(model)
    y = data.y if data.tasks else data.prepared(tasks).y
    model.compile(optimizer=k.optimizers.Adam(lr), loss=loss_for(model, tasks))
    steps = int(np.ceil(len(data) / batch_size)) * epochs
    cbs = list(callbacks)
    if progress is not None and epochs > 0:
        cbs.append(_ProgressCallback(progress, f"{what}: fine-tuning", steps))
    if epochs > 0:
        model.fit(data.x, list(y) if isinstance(y, tuple) else y, batch_size=batch_size, epochs=epochs, shuffle=True,
                  verbose=0, callbacks=cbs)


def steps_per_epoch(data: Dataset, batch_size: int = 32) -> int:
    return int(np.ceil(len(data) / batch_size))


def keras_outputs(model, x: np.ndarray) -> list[np.ndarray]:
    """The float model's outputs, one array per output in the model's order."""
    pred = model.predict(x, batch_size=256, verbose=0)
    return [np.asarray(p) for p in pred] if isinstance(pred, (list, tuple)) else [np.asarray(pred)]


def keras_metrics(model, data: Dataset | None, tasks) -> list[dict] | None:
    """Per output, the task's scores of the float model on ``data`` (prepared labels)."""
    from tinyc.optimize import tasks as T

    if data is None or not data.labelled:
        return None
    ys = data.y if isinstance(data.y, tuple) else (data.y,)
    return [T.score(t, p, y) for t, p, y in zip(tasks, keras_outputs(model, data.x), ys)]


def keras_accuracy(model, data: Dataset | None) -> float | None:
    """Single-output classifiers: the float model's accuracy on ``data`` (class-index labels)."""
    if data is None or not data.labelled:
        return None
    pred = keras_outputs(model, data.x)[0]
    y = np.asarray(data.y)
    if pred.shape[-1] == 1:
        return float(((pred.reshape(-1) > 0.5).astype(int) == y.reshape(-1)).mean())
    if y.ndim == 2:
        y = y.argmax(axis=1)
    return float((pred.argmax(axis=-1) == y).mean())


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
