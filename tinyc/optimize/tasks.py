"""What each model output predicts, and how to score it: single-label classification (softmax or logits),
binary and multi-label heads (sigmoid), and regression. Pure numpy: `tinyc validate` uses it without
TensorFlow.

The kind of an output comes, in this order, from ``--task``, the loss the model was compiled with (saved in
the .keras/.h5 file), the output's activation (softmax, sigmoid), and the labels themselves (integer class
indices or one-hot rows against the output's width: classification; anything else: regression). Labels are
normalised per kind (one-hot rows become class indices, regression targets keep their values and shape).

Scores: accuracy (classification, binary), label accuracy and exact-match rate (multi-label), MAE and RMSE
(regression). The change between two scores is in points of accuracy (positive: worse) or, for
regression, the rise of the RMSE in percent of the reference RMSE.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from tinyc.errors import TinycError

KINDS = ("classification", "binary", "multilabel", "regression")

_REGRESSION_LOSSES = ("mean_squared_error", "mean_absolute_error", "mse", "mae", "huber", "log_cosh", "logcosh",
                      "mean_squared_logarithmic_error", "msle", "mean_absolute_percentage_error", "mape", "poisson")


@dataclass(frozen=True)
class OutputTask:
    name: str  # the model's output name (Keras output layer, or the .tflite output tensor)
    kind: str  # one of KINDS
    units: int  # values per sample in this output
    from_logits: bool = False  # classification/binary/multilabel: raw scores, not softmax/sigmoid
    loss: Any = None  # the loss the model was compiled with for this output (Keras identifier), if any
    source: str = ""  # how the kind was decided

    @property
    def primary(self) -> str:
        return {"classification": "accuracy", "binary": "accuracy", "multilabel": "label_accuracy",
                "regression": "rmse"}[self.kind]

    @property
    def higher_is_better(self) -> bool:
        return self.kind != "regression"

    def to_json(self) -> dict:
        d = asdict(self)
        d["loss"] = _loss_name(self.loss)
        return d


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _loss_name(loss: Any) -> str | None:
    if loss is None:
        return None
    if isinstance(loss, str):
        return _snake(loss) if any(c.isupper() for c in loss) else loss.lower()
    if isinstance(loss, dict):
        cfg = loss.get("config") if isinstance(loss.get("config"), dict) else {}
        name = loss.get("class_name") or cfg.get("name")
        return _loss_name(name) if isinstance(name, str) else None
    name = getattr(loss, "__name__", None) or type(loss).__name__
    return _loss_name(name)


def _loss_logits(loss: Any) -> bool | None:
    if isinstance(loss, dict) and isinstance(loss.get("config"), dict) and "from_logits" in loss["config"]:
        return bool(loss["config"]["from_logits"])
    if hasattr(loss, "get_config"):
        try:
            cfg = loss.get_config()
            if "from_logits" in cfg:
                return bool(cfg["from_logits"])
        except Exception:  # noqa: BLE001 - a custom loss
            return None
    return None


def kind_from_loss(loss: Any, units: int) -> str | None:
    name = _loss_name(loss)
    if not name:
        return None
    if "categorical" in name or name in ("kl_divergence", "kullback_leibler_divergence", "kld"):
        return "classification"
    if "binary" in name or name in ("hinge", "squared_hinge"):
        return "binary" if units == 1 else "multilabel"
    if any(name == r or name.startswith(r) for r in _REGRESSION_LOSSES):
        return "regression"
    return None


def _per_output(value: Any, names: Sequence[str]) -> list[Any]:
    """A compile loss given once, as a list or as a dict keyed by output name -> one entry per output."""
    if isinstance(value, dict) and value and all(n in value for n in names) and "class_name" not in value:
        return [value[n] for n in names]
    if isinstance(value, (list, tuple)) and len(value) == len(names):
        return list(value)
    return [value] * len(names)


def parse_task_option(task: str | None, n_outputs: int) -> list[str | None]:
    if not task:
        return [None] * n_outputs
    kinds = [t.strip().lower() for t in task.split(",")]
    for k in kinds:
        if k not in KINDS:
            raise TinycError(f"--task {task}: unknown task {k!r}; give one of {', '.join(KINDS)} (or one per output, "
                             "comma-separated)")
    if len(kinds) == 1:
        return kinds * n_outputs
    if len(kinds) != n_outputs:
        raise TinycError(f"--task {task}: {len(kinds)} tasks for a model with {n_outputs} outputs; give one task, or "
                         "one per output")
    return kinds


def infer(outputs: Sequence[tuple[str, int, str | None]], losses: Any = None, labels: Sequence[np.ndarray | None]
          | None = None, task: str | None = None) -> tuple[OutputTask, ...]:
    """``outputs``: (name, units, final activation: "softmax", "sigmoid" or None) per model output."""
    names = [o[0] for o in outputs]
    forced = parse_task_option(task, len(outputs))
    per_loss = _per_output(losses, names) if losses is not None else [None] * len(outputs)
    labels = list(labels) if labels is not None else [None] * len(outputs)
    result = []
    for (name, units, act), kind, loss, y in zip(outputs, forced, per_loss, labels):
        source = "--task"
        if kind is None and loss is not None:
            kind = kind_from_loss(loss, units)
            source = f"compile loss {_loss_name(loss)}"
        if kind is None and act == "softmax":
            kind, source = "classification", "softmax output"
        if kind is None and act == "sigmoid":
            kind, source = ("binary" if units == 1 else "multilabel"), "sigmoid output"
        if kind is None and y is not None:
            kind, source = _kind_from_labels(y, units), "labels"
        if kind is None:
            kind, source = ("classification" if units > 1 else "regression"), "output width (no labels)"
        logits = _loss_logits(loss)
        if logits is None:
            logits = (kind == "classification" and act != "softmax") or \
                     (kind in ("binary", "multilabel") and act != "sigmoid")
        result.append(OutputTask(name, kind, int(units), bool(logits), loss, source))
    return tuple(result)


def _integral(y: np.ndarray) -> bool:
    return y.size > 0 and np.issubdtype(y.dtype, np.number) and bool(np.all(np.isfinite(y))) and \
        bool(np.all(np.asarray(y, np.float64) == np.round(np.asarray(y, np.float64))))


def _kind_from_labels(y: np.ndarray, units: int) -> str:
    y = np.asarray(y)
    if units > 1 and _integral(y):
        flat = y.reshape(len(y), -1)
        if flat.shape[1] == 1 and flat.min() >= 0 and flat.max() < units:
            return "classification"
        if flat.shape[1] == units and set(np.unique(flat)) <= {0, 1}:
            return "classification" if np.all(flat.sum(axis=1) == 1) else "multilabel"
    if units == 1 and _integral(y) and set(np.unique(y)) <= {0, 1} and y.size == len(y):
        return "binary"
    return "regression"


def prepare(task: OutputTask, y: Any, source: str, out_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Labels in the form scoring and fine-tuning use: class indices (N,), 0/1 floats (N, units), or the
    regression targets as float32 in the output's shape."""
    y = np.asarray(y)
    n = len(y)
    what = f"{source}: labels for output {task.name!r} ({task.kind})"
    if not np.issubdtype(y.dtype, np.number) and y.dtype != np.bool_:
        raise TinycError(f"{what} have dtype {y.dtype}; they must be numbers")
    if task.kind == "classification":
        flat = y.reshape(n, -1)
        if flat.shape[1] == task.units and task.units > 1:
            y = flat.argmax(axis=1)  # one-hot (or soft) rows
        elif flat.shape[1] == 1:
            y = flat[:, 0]
        else:
            raise TinycError(f"{what} have shape {y.shape}; give class indices ({n},) or one-hot rows "
                             f"({n}, {task.units})")
        if not _integral(y):
            raise TinycError(f"{what} are not whole numbers; classification needs class indices (or one-hot "
                             "rows); for continuous targets pass --task regression")
        y = y.astype(np.int64)
        if y.min() < 0 or y.max() >= max(task.units, 2):
            raise TinycError(f"{what} hold class {int(y.max() if y.max() >= task.units else y.min())} but the "
                             f"output has {task.units} classes (0..{task.units - 1})")
        return y
    if task.kind in ("binary", "multilabel"):
        flat = y.reshape(n, -1).astype(np.float32)
        if task.kind == "binary" and flat.shape[1] == 2 and task.units == 1:
            flat = flat.argmax(axis=1)[:, None].astype(np.float32)  # one-hot of two classes
        if flat.shape[1] != task.units:
            raise TinycError(f"{what} have {flat.shape[1]} values per sample but the output has {task.units}")
        if flat.min() < 0 or flat.max() > 1:
            raise TinycError(f"{what} must lie in [0, 1] (0/1 per label)")
        return flat
    flat = y.astype(np.float32)
    if flat.reshape(n, -1).shape[1] != task.units:
        raise TinycError(f"{what} have {flat.reshape(n, -1).shape[1]} values per sample but the output has "
                         f"{task.units}")
    return flat.reshape((n, *out_shape)) if out_shape else flat.reshape(n, -1)


def score(task: OutputTask, pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The metrics of one output: ``pred`` real-valued outputs (N, ...), ``y`` labels from ``prepare``."""
    n = len(pred)
    p = np.asarray(pred, np.float64).reshape(n, -1)
    if task.kind == "classification":
        return {"accuracy": float((p.argmax(axis=1) == np.asarray(y).reshape(-1)).mean())}
    thr = 0.0 if task.from_logits else 0.5
    if task.kind == "binary":
        return {"accuracy": float(((p[:, 0] > thr) == (np.asarray(y).reshape(n, -1)[:, 0] > 0.5)).mean())}
    if task.kind == "multilabel":
        hit = (p > thr) == (np.asarray(y).reshape(n, -1) > 0.5)
        return {"label_accuracy": float(hit.mean()), "exact_match": float(hit.all(axis=1).mean())}
    err = p - np.asarray(y, np.float64).reshape(n, -1)
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean()))}


def change(task: OutputTask, reference: dict | None, value: dict | None) -> float | None:
    """How much worse ``value`` is than ``reference``: points of accuracy, or % of RMSE (positive: worse)."""
    if not reference or not value:
        return None
    key = task.primary
    r, v = reference.get(key), value.get(key)
    if r is None or v is None:
        return None
    if task.higher_is_better:
        return 100.0 * (r - v)
    return 100.0 * (v - r) / max(abs(r), 1e-12)


def describe(task: OutputTask, metrics: dict | None) -> str:
    if not metrics:
        return "unknown"
    if task.kind in ("classification", "binary"):
        return f"acc {100 * metrics['accuracy']:.2f}%"
    if task.kind == "multilabel":
        return f"label acc {100 * metrics['label_accuracy']:.2f}%, exact {100 * metrics['exact_match']:.2f}%"
    return f"MAE {metrics['mae']:.4g} RMSE {metrics['rmse']:.4g}"


def describe_change(task: OutputTask, delta: float | None) -> str:
    if delta is None:
        return "-"
    if task.higher_is_better:
        return f"{-delta + 0.0:+.2f} pts"
    return f"RMSE {delta + 0.0:+.1f}%"


def confusion(pred: np.ndarray, y: np.ndarray, classes: int) -> list[list[int]]:
    """Rows: true class, columns: predicted class."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y).reshape(-1).astype(np.int64), np.asarray(pred).reshape(len(pred), -1).argmax(axis=1)), 1)
    return m.tolist()


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """How close two sets of real-valued outputs are: max |a-b|, RMSE, mean per-sample cosine similarity."""
    n = len(a)
    x = np.asarray(a, np.float64).reshape(n, -1)
    y = np.asarray(b, np.float64).reshape(n, -1)
    d = x - y
    nx, ny = np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)
    dot = (x * y).sum(axis=1)
    both = (nx > 0) & (ny > 0)
    cos = np.where(both, dot / np.where(both, nx * ny, 1.0), np.where((nx == 0) & (ny == 0), 1.0, 0.0))
    return {"max_abs": float(np.abs(d).max()) if d.size else 0.0, "rmse": float(np.sqrt((d ** 2).mean())) if d.size
            else 0.0, "cosine": float(cos.mean()) if n else 1.0}


def single_classifier(tasks: Sequence[OutputTask]) -> bool:
    """One output whose score is an accuracy: the case the accuracy columns and figures describe."""
    return len(tasks) == 1 and tasks[0].kind in ("classification", "binary")
