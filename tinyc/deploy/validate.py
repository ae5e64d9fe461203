"""Accuracy on the target: stream a test set through the firmware and compare every output with
the TFLite Micro interpreter on the host (expected: bit-identical), then score both against the labels.

Per output, in real units (the output's scale and zero point applied): the error of the target against
TFLite Micro and, when the float model is known (`--float-model`, or the model `tinyc build` optimized),
against the float model (max abs difference, RMSE, mean cosine similarity per sample); the task's scores
(tinyc.optimize.tasks: accuracy, label accuracy, MAE/RMSE) of the target, of TFLite Micro and of the float
model; and, for classification, the target's confusion matrix. An accuracy figure exists only for outputs
that classify: a regression output reports MAE and RMSE.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinyc.deploy.bench import check_model
from tinyc.deploy.link import Link, TensorInfo
from tinyc.errors import TinycError

_X_KEYS = ("x", "x_test", "inputs")
_Y_ALIASES = ("y_test", "labels")  # older spellings of "y"


@dataclass(frozen=True)
class OutputValidation:
    index: int  # position among the model's (and the firmware's) outputs
    name: str
    task: dict  # tinyc.optimize.tasks.OutputTask.to_json()
    identical: int  # samples whose bytes of this output equal TFLite Micro's
    vs_tflm: dict  # target against TFLite Micro, real units: max_abs, rmse, cosine
    vs_float: dict | None = None  # target against the float model
    target: dict | None = None  # the task's scores of the target's outputs against the labels
    host: dict | None = None  # the same for TFLite Micro on the host
    float: dict | None = None  # the same for the float model
    confusion: list[list[int]] | None = None  # classification: rows true class, columns the target's prediction

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Validation:
    board: str
    model_hash: str
    data: str
    samples: int
    identical: int  # samples whose every output byte equals the host interpreter's
    target_correct: int | None  # one-output classifiers (None otherwise: see ``outputs``)
    host_correct: int | None
    first_mismatches: tuple[int, ...] = ()
    outputs: tuple[OutputValidation, ...] = field(default=())
    input_saturation: dict | None = None  # input values clipped by more than a quantization step
    float_model: str | None = None

    @property
    def target_accuracy(self) -> float | None:
        if self.target_correct is None:
            return None
        return self.target_correct / self.samples if self.samples else 0.0

    @property
    def host_accuracy(self) -> float | None:
        if self.host_correct is None:
            return None
        return self.host_correct / self.samples if self.samples else 0.0

    def to_json(self) -> dict[str, Any]:
        d = {k: v for k, v in vars(self).items() if k != "outputs"}
        d.update(target_accuracy=self.target_accuracy, host_accuracy=self.host_accuracy,
                 first_mismatches=list(self.first_mismatches), outputs=[o.to_json() for o in self.outputs])
        return d


def load_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and the (first) label array of a test file."""
    ds = load_test_data(path)
    return ds.x, dict(ds.labels).get("y", ds.labels[0][1])


def load_test_data(path: Path):
    """A labelled test file as tinyc.optimize.data.Dataset (x; y, or y0.. / y_<name> per output)."""
    from tinyc.optimize.data import _dataset, read_arrays

    if Path(path).suffix == ".npy":
        raise TinycError(f"{path}: a .npy holds inputs only, and validate scores them against labels: save both with "
                         "np.savez(path, x=inputs, y=labels)")
    d = read_arrays(path)  # headers checked first: numbers only, never unpickled, no shape beyond its bytes
    files = list(d)
    xk = next((k for k in _X_KEYS if k in files), None)
    labels = {("y" if k in _Y_ALIASES else k): d[k] for k in files
              if k == "y" or k in _Y_ALIASES or (k.startswith("y") and k[1:].isdigit()) or
              (k.startswith("y_") and k not in _Y_ALIASES)}
    if xk is None or not labels:
        raise TinycError(f"{path}: needs arrays 'x' (inputs) and 'y' (labels; y0, y1, ... for several outputs); "
                         f"it has {', '.join(files) or 'none'}")
    x = d[xk]
    for k, a in labels.items():
        if np.ndim(a) and np.ndim(x) and len(a) != len(x):  # scalars: _dataset says what is wrong
            raise TinycError(f"{path}: 'x' has {len(x)} samples but '{k}' has {len(a)}; make them match")
    return _dataset(str(path), x, labels)


def quantize(sample: np.ndarray, t: TensorInfo) -> np.ndarray:
    """A float sample in the input tensor's integer type, as tinyc.optimize.measure.tflm_predict does
    it (the host accuracy's arithmetic): halves round away from zero, then clamp."""
    dt = t.np_dtype
    if not np.issubdtype(dt, np.integer) or np.issubdtype(sample.dtype, np.integer):
        return sample.astype(dt)
    info = np.iinfo(dt)
    v = sample / t.scale
    return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + t.zero_point, info.min, info.max).astype(dt)


def _saturated(sample: np.ndarray, t: TensorInfo) -> int:
    dt = t.np_dtype
    if not np.issubdtype(dt, np.integer) or np.issubdtype(sample.dtype, np.integer) or not t.scale:
        return 0
    info = np.iinfo(dt)
    lo, hi = (info.min - t.zero_point) * t.scale, (info.max - t.zero_point) * t.scale
    return int(((sample < lo - t.scale) | (sample > hi + t.scale)).sum())


def _real(raw: np.ndarray, t: TensorInfo) -> np.ndarray:
    if np.issubdtype(t.np_dtype, np.integer) and t.scale:
        return (raw.astype(np.float64) - t.zero_point) * t.scale
    return raw.astype(np.float64)


def model_tasks(model: Path, data, task: str | None = None, positions: list[int] | None = None):
    """What each output of the .tflite predicts (graph order): --task, its softmax/sigmoid, the labels."""
    from tinyc.optimize import tasks as T
    from tinyc.optimize.measure import tflite_outputs

    outputs = tflite_outputs(Path(model).read_bytes())
    names = [n for n, _, _ in outputs]
    return T.infer(outputs, None, data.label_arrays(names, positions), task)


def validate_link(link: Link, model: Path, data: Path, limit: int | None = None, timeout: float = 60.0,
                  progress: Callable[[int, int], None] = lambda i, n: None, tasks=None, task: str | None = None,
                  float_outputs: list[np.ndarray] | None = None, float_model: str | None = None,
                  positions: list[int] | None = None) -> Validation:
    """``tasks``: per output in the model's (graph) order, else inferred (``task``: --task); ``float_outputs``:
    the float model's outputs on the same samples (graph order, real units); ``positions``: each output's
    position in the Keras model's order (which y0, y1, ... follow), when known."""
    from tinyc.model import reference
    from tinyc.optimize import tasks as T

    ds = load_test_data(Path(data))
    if limit:
        ds = ds.take(np.arange(min(limit, len(ds))), "")
    link.reply_timeout = timeout  # every wait for the target honours --timeout
    reference.prestart()  # the TFLite Micro worker starts while the target answers
    info = link.sync()
    check_model(info, model, link.name)
    if len(info.inputs) != 1:
        raise TinycError(f"{data}: validate streams single-input models; this one has {len(info.inputs)} inputs")
    tin, touts = info.inputs[0], info.outputs
    x = ds.x
    if int(np.prod(x.shape[1:])) != int(np.prod(tin.shape)):
        raise TinycError(f"{data}: samples have shape {list(x.shape[1:])} but the model's input is {list(tin.shape)}")
    if tasks is None:
        tasks = model_tasks(model, ds, task, positions)
    ds = ds.prepared(tasks, positions=positions)
    ys = ds.y if isinstance(ds.y, tuple) else (ds.y,)
    it = reference.interpreter(model)
    n = len(x)
    got = [np.zeros((n, int(np.prod(t.shape))), np.float64) for t in touts]
    want = [np.zeros_like(g) for g in got]
    same = [0] * len(touts)
    identical = 0
    saturated = 0
    mism: list[int] = []
    for i in range(n):
        sample = np.asarray(x[i])
        saturated += _saturated(sample, tin)
        q = quantize(sample, tin).reshape(tin.shape)
        link.set_input(0, q)
        run = link.run(1, timeout=timeout)
        outs = link.read_outputs(run.checksums[-1])  # checked against the target's own checksum of them
        it.set_input(q, 0)
        it.invoke()
        all_same = True
        for j, t in enumerate(touts):
            g = np.frombuffer(outs[j], t.np_dtype)
            w = np.array(it.get_output(j)).reshape(-1).astype(t.np_dtype)
            if np.array_equal(g, w):
                same[j] += 1
            else:
                all_same = False
            got[j][i], want[j][i] = _real(g, t), _real(w, t)
        if all_same:
            identical += 1
        elif len(mism) < 10:
            mism.append(i)
        progress(i + 1, n)
    outputs = []
    for j, (t, task_j) in enumerate(zip(touts, tasks)):
        y = ys[j] if ds.labelled else None
        fo = float_outputs[j].reshape(n, -1) if float_outputs is not None else None
        outputs.append(OutputValidation(
            index=j, name=task_j.name, task=task_j.to_json(), identical=same[j],
            vs_tflm=T.agreement(got[j], want[j]), vs_float=T.agreement(got[j], fo) if fo is not None else None,
            target=T.score(task_j, got[j], y) if y is not None else None,
            host=T.score(task_j, want[j], y) if y is not None else None,
            float=T.score(task_j, fo, y) if y is not None and fo is not None else None,
            confusion=T.confusion(got[j], y, max(task_j.units, 2)) if y is not None and task_j.kind == "classification"
            else None))
    single = T.single_classifier(tasks) and ds.labelled
    t_ok = h_ok = None
    if single:
        t_ok = int(round(outputs[0].target["accuracy"] * n))
        h_ok = int(round(outputs[0].host["accuracy"] * n))
    sat = {"count": saturated, "total": int(x.size), "fraction": saturated / x.size if x.size else 0.0,
           "low": float((np.iinfo(tin.np_dtype).min - tin.zero_point) * tin.scale),
           "high": float((np.iinfo(tin.np_dtype).max - tin.zero_point) * tin.scale)} \
        if np.issubdtype(tin.np_dtype, np.integer) and tin.scale else None
    return Validation(info.board, info.model_hash, str(data), n, identical, t_ok, h_ok, tuple(mism), tuple(outputs),
                      sat, float_model)


def float_reference(float_model: str | Path, int8_model: Path, x: np.ndarray) -> tuple[list[np.ndarray], list[int] | None]:
    """The float model's outputs on ``x`` in the int8 model's output order (real units): a Keras model
    (tf-keras 2 or Keras 3) or a float .tflite run by TFLite Micro; and, for a Keras model, each int8 output's
    position among the Keras model's outputs (the order of the labels y0, y1, ...)."""
    from tinyc.optimize import measure
    from tinyc.optimize.load import load_model

    loaded = load_model(float_model)
    if loaded.kind == "tflite":
        from tinyc.model.graph import parse

        g = parse(loaded.tflite, main_only=True)
        if g.tensor(g.inputs[0]).dtype != "float32":
            raise TinycError(f"{float_model}: not a float model (its input is quantized); pass the float model the "
                             "int8 one was made from")
        return measure.tflm_outputs(loaded.tflite, x), None
    from tinyc.optimize.train import keras_outputs, output_signature

    outs = keras_outputs(loaded.keras, x)
    names = [n for n, _, _ in output_signature(loaded.keras)]
    order = measure.output_order(Path(int8_model).read_bytes(), names)  # Keras output k is graph output order[k]
    graph_order, positions = [None] * len(outs), [0] * len(outs)
    for k, pos in enumerate(order):
        graph_order[pos] = outs[k]
        positions[pos] = k
    return graph_order, positions
