"""Accuracy on the target: stream a test set through the firmware and compare every output with
the TFLite Micro interpreter on the host (expected: bit-identical), then score both against the labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinyc.deploy.bench import check_model
from tinyc.deploy.link import Link, TensorInfo
from tinyc.errors import TinycError


@dataclass(frozen=True)
class Validation:
    board: str
    model_hash: str
    data: str
    samples: int
    identical: int  # samples whose every output byte equals the host interpreter's
    target_correct: int
    host_correct: int
    first_mismatches: tuple[int, ...] = ()

    @property
    def target_accuracy(self) -> float:
        return self.target_correct / self.samples if self.samples else 0.0

    @property
    def host_accuracy(self) -> float:
        return self.host_correct / self.samples if self.samples else 0.0

    def to_json(self) -> dict[str, Any]:
        d = dict(vars(self))
        d.update(target_accuracy=self.target_accuracy, host_accuracy=self.host_accuracy,
                 first_mismatches=list(self.first_mismatches))
        return d


def load_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        d = np.load(path)
    except (OSError, ValueError) as exc:
        raise TinycError(f"{path}: cannot read it as a .npz file ({exc}); give arrays x (inputs) and y (labels)") from None
    xk = next((k for k in ("x", "x_test", "inputs") if k in d), None)
    yk = next((k for k in ("y", "y_test", "labels") if k in d), None)
    if xk is None or yk is None:
        raise TinycError(f"{path}: needs arrays 'x' (inputs) and 'y' (labels); it has {', '.join(d.files)}")
    x, y = d[xk], d[yk]
    if len(x) != len(y):
        raise TinycError(f"{path}: 'x' has {len(x)} samples but 'y' has {len(y)}; make them match")
    return x, y


def quantize(sample: np.ndarray, t: TensorInfo) -> np.ndarray:
    """A float sample in the input tensor's integer type, as tinyc.optimize.measure.tflm_predict does
    it (the host accuracy's arithmetic): halves round away from zero, then clamp."""
    dt = t.np_dtype
    if not np.issubdtype(dt, np.integer) or np.issubdtype(sample.dtype, np.integer):
        return sample.astype(dt)
    info = np.iinfo(dt)
    v = sample / t.scale
    return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + t.zero_point, info.min, info.max).astype(dt)


def validate_link(link: Link, model: Path, data: Path, limit: int | None = None, timeout: float = 60.0,
                  progress: Callable[[int, int], None] = lambda i, n: None) -> Validation:
    from tinyc.model import reference

    x, y = load_npz(data)
    if limit:
        x, y = x[:limit], y[:limit]
    info = link.sync()
    check_model(info, model, link.name)
    if len(info.inputs) != 1:
        raise TinycError(f"{data}: validate streams single-input models; this one has {len(info.inputs)} inputs")
    tin, tout = info.inputs[0], info.outputs[0]
    if int(np.prod(x.shape[1:])) != int(np.prod(tin.shape)):
        raise TinycError(f"{data}: samples have shape {list(x.shape[1:])} but the model's input is {list(tin.shape)}")
    it = reference.interpreter(model)
    identical = target_ok = host_ok = 0
    mism: list[int] = []
    for i in range(len(x)):
        q = quantize(np.asarray(x[i]), tin).reshape(tin.shape)
        link.set_input(0, q)
        link.run(1, timeout=timeout)
        got = np.frombuffer(link.get_output(0), tout.np_dtype)
        it.set_input(q, 0)
        it.invoke()
        want = np.array(it.get_output(0)).reshape(-1).astype(tout.np_dtype)
        if np.array_equal(got, want):
            identical += 1
        elif len(mism) < 10:
            mism.append(i)
        target_ok += int(np.argmax(got) == y[i])
        host_ok += int(np.argmax(want) == y[i])
        progress(i + 1, len(x))
    return Validation(info.board, info.model_hash, str(data), len(x), identical, target_ok, host_ok, tuple(mism))
