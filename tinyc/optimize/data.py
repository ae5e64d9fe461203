"""Calibration, fine-tuning and evaluation data.

Layout: a ``.npz`` with arrays ``x`` (inputs, first axis = samples, the rest = the model's input shape)
and ``y`` (labels: class indices (N,), one-hot rows (N, classes), 0/1 rows for a multi-label head, or
regression targets); a model with several outputs takes ``y0``, ``y1``, ... (in the model's output order)
or ``y_<output name>``. A ``.npy`` holds inputs only (calibration, no labels); ``module:function`` (or
``path/to/file.py:function``) names a Python function taking no arguments that returns ``(x, y)``,
``{"x": ..., "y": ...}`` or a tf.data.Dataset of (x, y); ``y`` may be a list (or dict by output name) of
arrays for a multi-output model. What the labels mean (and so how they are checked and normalised) is the
output's task (tinyc.optimize.tasks); NaN or infinite values are refused here, before any work.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.errors import TinycError


@dataclass(frozen=True)
class Dataset:
    source: str
    x: np.ndarray
    # Labels: as loaded (one array for a one-output model), or, once ``prepared`` for the model's tasks, one
    # normalised array (one output) or a tuple of arrays (one per output).
    y: Any = None
    labels: tuple[tuple[str, np.ndarray], ...] = ()  # label arrays as loaded, by key (y, y0, y1, y_<name>)
    tasks: tuple = ()  # the model's output tasks the labels were prepared for (tinyc.optimize.tasks)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def labelled(self) -> bool:
        return self.y is not None or bool(self.labels)

    def take(self, idx: np.ndarray, suffix: str) -> "Dataset":
        y = None if self.y is None else tuple(a[idx] for a in self.y) if isinstance(self.y, tuple) else self.y[idx]
        return Dataset(f"{self.source}{suffix}", self.x[idx], y, tuple((k, a[idx]) for k, a in self.labels), self.tasks)

    def label_arrays(self, names: list[str], positions: list[int] | None = None) -> list[np.ndarray | None]:
        """The labels of each output (by name y_<name>, or by position y<i>), as loaded; None where there are
        none. ``positions``: each output's position in the model's own order, when ``names`` come in another
        (a .tflite orders its outputs by its signature; y0, y1, ... follow the Keras model's order)."""
        by_key = dict(self.labels) or ({"y": self.y} if self.y is not None else {})
        if len(names) == 1:
            only = by_key.get("y", by_key.get("y0", by_key.get(f"y_{names[0]}")))
            return [only]
        positions = positions if positions is not None else list(range(len(names)))
        if "y" in by_key and not any(k != "y" for k in by_key):
            raise TinycError(f"{self.source}: the model has {len(names)} outputs ({', '.join(names)}) but the data "
                             f"has one label array y; save one per output as y0..y{len(names) - 1} (or y_<name>)")
        out = [by_key.get(f"y_{n}", by_key.get(f"y{i}")) for i, n in zip(positions, names)]
        if any(a is None for a in out) and any(a is not None for a in out):
            missing = [f"y{i} (or y_{n})" for i, (n, a) in enumerate(zip(names, out)) if a is None]
            raise TinycError(f"{self.source}: no labels for output(s) {', '.join(missing)}; the model's outputs are "
                             f"{', '.join(names)}")
        return out

    def prepared(self, tasks, shapes: list[tuple[int, ...]] | None = None,
                 positions: list[int] | None = None) -> "Dataset":
        """The labels normalised for ``tasks`` (tinyc.optimize.tasks): class indices, 0/1 rows, targets."""
        from tinyc.optimize import tasks as T

        if not self.labelled:
            return Dataset(self.source, self.x, tasks=tuple(tasks))
        raw = self.label_arrays([t.name for t in tasks], positions)
        if any(a is None for a in raw):
            return Dataset(self.source, self.x, tasks=tuple(tasks))
        ys = tuple(T.prepare(t, a, self.source, shapes[i] if shapes else None) for i, (t, a) in enumerate(zip(tasks, raw)))
        return Dataset(self.source, self.x, ys[0] if len(ys) == 1 else ys, (), tuple(tasks))


# What a data file may hold: booleans, integers and real numbers (numpy kinds), never Python objects,
# strings, complex numbers or records; and no array larger than this (a declared shape is checked first).
DATA_KINDS = {"b": "booleans", "i": "integers", "u": "unsigned integers", "f": "floats"}
MAX_ARRAY_BYTES = 2 << 30
SAVE_HINT = "save it with np.savez(path, x=inputs, y=labels)"


def _header(fp, where: str, stored: int) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length of a .npy stream, read from its header alone (nothing allocated)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fp, max_header_size=100000)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fp, max_header_size=100000)
        else:
            shape, _, dtype = fmt._read_array_header(fp, version, max_header_size=100000)
    except Exception as exc:  # noqa: BLE001 - any header numpy cannot read: not a .npy array
        raise TinycError(f"{where} is not a numpy array (.npy) ({_short(exc)}); {SAVE_HINT}") from None
    return tuple(int(d) for d in shape), dtype, int(fp.tell())


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _check_header(where: str, shape: tuple[int, ...], dtype: np.dtype, stored: int) -> None:
    """Refuse what numpy would unpickle, convert lossily or allocate without the bytes to fill it."""
    if dtype.hasobject:
        raise TinycError(f"{where} holds Python objects (dtype object), which tinyc never unpickles; save numbers "
                         "(np.asarray(a, dtype=np.float32))")
    if dtype.fields is not None or dtype.kind not in DATA_KINDS:
        raise TinycError(f"{where} has dtype {dtype}; data must be {', '.join(DATA_KINDS.values())}: save it "
                         "as float32 (or integers)")
    n = 1
    for d in shape:
        n *= d
    nbytes = n * dtype.itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise TinycError(f"{where} declares shape {shape} ({nbytes:,} bytes), more than the "
                         f"{MAX_ARRAY_BYTES >> 30} GiB tinyc reads; use fewer samples")
    if nbytes > stored:
        raise TinycError(f"{where} declares shape {shape} ({nbytes:,} bytes) but holds {max(stored, 0):,}: the "
                         f"file is truncated or damaged; {SAVE_HINT}")


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a .npz (by name) or a .npy (as "x"), each header checked before its data is read:
    only numbers, no pickles (allow_pickle stays off), no shape larger than the bytes behind it. Every
    problem is one line naming the file."""
    import zipfile

    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise TinycError(f"{p}: cannot read it ({exc.strerror or exc})") from None
    if size == 0:
        raise TinycError(f"{p}: the file is empty (0 bytes); {SAVE_HINT}")
    try:
        if p.suffix == ".npy":
            with open(p, "rb") as fh:
                shape, dtype, head = _header(fh, f"{p}: the array", size)
                _check_header(f"{p}: the array", shape, dtype, size - head)
            return {"x": np.load(p, allow_pickle=False)}
        with zipfile.ZipFile(p) as z:
            members = [i for i in z.infolist() if i.filename.endswith(".npy")]
            for info in members:
                where = f"{p}: array '{info.filename[:-4]}'"
                with z.open(info) as fh:
                    shape, dtype, head = _header(fh, where, info.file_size)
                _check_header(where, shape, dtype, info.file_size - head)
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files if f"{k}.npy" in {i.filename for i in members}}
    except TinycError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise TinycError(f"{p}: not a valid .npz file ({_short(exc)}; truncated?); {SAVE_HINT}") from None
    except MemoryError:
        raise TinycError(f"{p}: too large to load into memory; use fewer samples") from None
    except Exception as exc:  # noqa: BLE001 - a damaged member (CRC, short read): one line
        raise TinycError(f"{p}: cannot read it as numpy data ({type(exc).__name__}: {_short(exc)}); "
                         f"{SAVE_HINT}") from None


def load_data(spec: str) -> Dataset:
    if ":" in spec and not Path(spec).exists() and not spec.endswith((".npz", ".npy")):
        return _from_function(spec)
    p = Path(spec)
    if not p.is_file():
        raise TinycError(f"{p}: data file not found; pass a .npz (arrays x, y), a .npy (inputs) or module:function")
    if p.suffix not in (".npz", ".npy"):
        raise TinycError(f"{p}: unknown data format {p.suffix!r}; pass a .npz (arrays x, y), .npy or module:function")
    arrays = read_arrays(p)
    if "x" not in arrays:
        raise TinycError(f"{p}: no array named 'x' (found {', '.join(arrays) or 'none'}); save the "
                         "inputs as x and the labels as y: np.savez(path, x=inputs, y=labels)")
    if p.suffix == ".npy":
        return _dataset(str(p), arrays["x"], None)
    return _dataset(str(p), arrays["x"], {k: a for k, a in arrays.items() if _label_key(k)} or None)


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
        return _dataset(spec, np.asarray(result["x"]), {k: v for k, v in result.items() if _label_key(k)} or None)
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


def _label_key(key: str) -> bool:
    return key == "y" or bool(re.fullmatch(r"y\d+", key)) or key.startswith("y_")


def _labels(source: str, y, n: int) -> tuple[tuple[str, np.ndarray], ...]:
    if y is None:
        return ()
    if isinstance(y, dict):
        items = list(y.items())
    elif isinstance(y, (list, tuple)) and y and not np.isscalar(y[0]) and np.ndim(y[0]) >= 1 and len(y) != n:
        items = [(f"y{i}", a) for i, a in enumerate(y)]  # one array per output
    else:
        items = [("y", y)]
    out = []
    for key, a in items:
        a = np.asarray(a)
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_) or np.issubdtype(a.dtype, np.complexfloating):
            raise TinycError(f"{source}: labels {key} have dtype {a.dtype}; they must be real numbers")
        if a.ndim < 1 or len(a) != n:
            raise TinycError(f"{source}: labels {key} have shape {a.shape}, expected {n} rows to go with {n} inputs")
        _finite(source, key, a)
        out.append((key, a))
    return tuple(out)


def _finite(source: str, key: str, a: np.ndarray) -> None:
    if np.issubdtype(a.dtype, np.floating):
        bad = ~np.isfinite(a)
        if bad.any():
            first = int(np.argwhere(bad.reshape(len(a), -1).any(axis=1))[0][0])
            raise TinycError(f"{source}: {key} holds {int(bad.sum())} NaN/infinite value(s) (first in sample {first}); "
                             "remove those samples or replace the values (e.g. np.nan_to_num) before using the data")


def _dataset(source: str, x, y) -> Dataset:
    x = np.asarray(x)
    if x.ndim < 1:
        raise TinycError(f"{source}: the inputs x are a single {x.dtype} value, not samples; save one sample per "
                         "row (x of shape (samples, ...))")
    if len(x) == 0:
        raise TinycError(f"{source}: the inputs x are empty (0 samples)")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise TinycError(f"{source}: inputs x have dtype {x.dtype}; they must be real numbers")
    _finite(source, "x", x)
    with np.errstate(over="ignore"):  # too large for float32: refused just below, in one line
        x = x.astype(np.float32)
    _finite(source, "x (as float32)", x)
    labels = _labels(source, y, len(x))
    single = dict(labels).get("y")
    return Dataset(source, x, single, labels)


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
