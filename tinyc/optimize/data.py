"""Calibration, fine-tuning and evaluation data.

Layout: a ``.npz`` with arrays ``x`` (inputs, first axis = samples, the rest = the model's input shape)
and ``y`` (integer class labels, shape (N,), or one-hot (N, classes)); a ``.npy`` holds inputs only
(calibration, no labels); ``module:function`` (or ``path/to/file.py:function``) names a Python function
taking no arguments that returns ``(x, y)``, ``{"x": ..., "y": ...}`` or a tf.data.Dataset of (x, y).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.errors import TinycError


@dataclass(frozen=True)
class Dataset:
    source: str
    x: np.ndarray
    y: np.ndarray | None = None  # integer class labels (N,)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def labelled(self) -> bool:
        return self.y is not None

    def take(self, idx: np.ndarray, suffix: str) -> "Dataset":
        return Dataset(f"{self.source}{suffix}", self.x[idx], None if self.y is None else self.y[idx])


def load_data(spec: str) -> Dataset:
    if ":" in spec and not Path(spec).exists() and not spec.endswith((".npz", ".npy")):
        return _from_function(spec)
    p = Path(spec)
    if not p.is_file():
        raise TinycError(f"{p}: data file not found; pass a .npz (arrays x, y), a .npy (inputs) or module:function")
    try:
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if "x" not in z.files:
                    raise TinycError(f"{p}: no array named 'x' (found {', '.join(z.files) or 'none'}); save the "
                                     "inputs as x and the labels as y: np.savez(path, x=inputs, y=labels)")
                return _dataset(str(p), z["x"], z["y"] if "y" in z.files else None)
        if p.suffix == ".npy":
            return _dataset(str(p), np.load(p, allow_pickle=False), None)
    except TinycError:
        raise
    except Exception as exc:
        raise TinycError(f"{p}: cannot read it as numpy data ({exc})") from None
    raise TinycError(f"{p}: unknown data format {p.suffix!r}; pass a .npz (arrays x, y), .npy or module:function")


def _from_function(spec: str) -> Dataset:
    target, _, fname = spec.rpartition(":")
    try:
        if target.endswith(".py"):
            mspec = importlib.util.spec_from_file_location(Path(target).stem, target)
            if mspec is None or not Path(target).is_file():
                raise TinycError(f"{target}: file not found (data function {spec})")
            module = importlib.util.module_from_spec(mspec)
            mspec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
        fn = getattr(module, fname)
    except TinycError:
        raise
    except Exception as exc:
        raise TinycError(f"{spec}: cannot import the data function ({type(exc).__name__}: {exc})") from None
    try:
        result = fn()
    except Exception as exc:
        raise TinycError(f"{spec}: the data function raised {type(exc).__name__}: {exc}") from None
    if isinstance(result, dict) and "x" in result:
        return _dataset(spec, np.asarray(result["x"]), result.get("y"))
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return _dataset(spec, np.asarray(result[0]), result[1])
    if hasattr(result, "as_numpy_iterator"):
        xs, ys = [], []
        for item in result.as_numpy_iterator():
            if not (isinstance(item, tuple) and len(item) == 2):
                raise TinycError(f"{spec}: the tf.data.Dataset must yield (x, y) pairs")
            xs.append(item[0])
            ys.append(item[1])
        batched = xs and np.ndim(ys[0]) >= 1 and len(ys[0]) == len(xs[0]) and np.ndim(xs[0]) > 1
        cat = np.concatenate if batched else np.stack
        return _dataset(spec, cat(xs), cat(ys))
    raise TinycError(f"{spec}: the data function must return (x, y), {{'x': ..., 'y': ...}} or a "
                     f"tf.data.Dataset of (x, y); it returned {type(result).__name__}")


def _dataset(source: str, x, y) -> Dataset:
    x = np.asarray(x)
    if x.ndim < 1 or len(x) == 0:
        raise TinycError(f"{source}: the inputs x are empty")
    if not np.issubdtype(x.dtype, np.number):
        raise TinycError(f"{source}: inputs x have dtype {x.dtype}; they must be numbers")
    x = x.astype(np.float32)
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 2:
            y = y.argmax(axis=1)
        if y.ndim != 1 or len(y) != len(x):
            raise TinycError(f"{source}: labels y have shape {y.shape}, expected ({len(x)},) class indices "
                             f"to go with {len(x)} inputs")
        y = y.astype(np.int64)
    return Dataset(source, x, y)


def check_shape(data: Dataset, input_shape: tuple, model_name: str) -> None:
    """The inputs must match the model's input (None = any size)."""
    want = tuple(input_shape[1:])
    got = tuple(data.x.shape[1:])
    if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
        hint = ""
        if len(got) + 1 == len(want) and want[-1] == 1:
            hint = " (add the channel axis: x[..., None])"
        raise TinycError(f"{data.source}: inputs have shape {got} per sample but {model_name} expects "
                         f"{tuple('?' if w is None else w for w in want)}{hint}")


def synthetic(input_shape: tuple, n: int = 100, seed: int = 0) -> Dataset:
    """Random calibration inputs in [0, 1] for when the user gave no data: accuracy is then unknown."""
    rng = np.random.default_rng(seed)
    shape = tuple(1 if d is None else d for d in input_shape[1:])
    return Dataset("synthetic (random) inputs", rng.random((n, *shape), dtype=np.float32), None)


def holdout_split(data: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """A seeded split of one labelled set into (rest, held-out test) when no separate test set is given."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(data))
    n_test = max(1, int(round(len(data) * fraction)))
    return data.take(np.sort(idx[n_test:]), "[train part]"), data.take(np.sort(idx[:n_test]), "[held-out part]")
