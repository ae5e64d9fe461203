"""Models whose filters hold compressible int8 values, made without TensorFlow (a TEST FIXTURE and the
calibration set of scripts/measure_kernel_costs.py): a copy of a .tflite whose CONV_2D /
DEPTHWISE_CONV_2D / FULLY_CONNECTED filter bytes are replaced in place by values that pack (16 levels per
channel, or half of them zero as well, or +-m), as clustering, pruning or binarizing would leave them.
TFLite Micro runs the copy as it runs the original."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyc.model import packing as P
from tinyc.model.graph import parse

WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
KINDS = ("dense", "lut", "sparse", "sign")


def _levels(rows: np.ndarray, k: int) -> np.ndarray:
    """Each channel's values snapped to ``k`` evenly spaced levels between its min and max."""
    lo = rows.min(axis=1, keepdims=True).astype(np.float64)
    hi = rows.max(axis=1, keepdims=True).astype(np.float64)
    span = np.where(hi > lo, hi - lo, 1.0)
    q = np.round((rows - lo) / span * (k - 1))
    return np.clip(np.round(lo + q * span / (k - 1)), -127, 127)


def rewrite(values: np.ndarray, axis: int | None, kind: str, rng: np.random.Generator) -> np.ndarray:
    rows = P.channels(values, axis).astype(np.int64)
    if kind == "lut":
        rows = _levels(rows, 16)
    elif kind == "sparse":
        rows = _levels(rows, 15)
        rows[rng.random(rows.shape) < 0.6] = 0
    elif kind == "sign":
        rows = np.where(rows >= 0, 64, -64)
    elif kind != "dense":
        raise ValueError(kind)
    if axis is None:
        return rows.astype(np.int8).reshape(values.shape)
    moved = (values.shape[axis],) + tuple(s for i, s in enumerate(values.shape) if i != axis)
    return np.moveaxis(rows.astype(np.int8).reshape(moved), 0, axis)


def compressible(data: bytes, kind: str, seed: int = 0, ops: tuple[int, ...] | None = None) -> bytes:
    """``data`` (a .tflite) with the filters of ``ops`` (default: every CONV/DEPTHWISE/FC) rewritten as
    ``kind``; a filter whose bytes are not unique in the file is left alone."""
    out = bytearray(data)
    if kind == "dense":
        return bytes(out)
    g = parse(bytes(data))
    rng = np.random.default_rng(seed)
    done: set[int] = set()
    for op in g.operators:
        if op.op not in WEIGHT_OPS or (ops is not None and op.index not in ops):
            continue
        w = g.op_inputs(op)[1]
        if w is None or w.data is None or w.dtype != "int8" or w.index in done:
            continue
        done.add(w.index)
        old = np.asarray(w.data, dtype=np.int8).reshape(w.shape)
        q = w.quantization
        axis = q.quantized_dimension if q.per_channel else (3 if op.op == "DEPTHWISE_CONV_2D" else None)
        new = rewrite(old, axis, kind, rng)
        raw = old.tobytes()
        pos = out.find(raw)
        if pos < 0 or out.find(raw, pos + 1) >= 0:
            continue
        out[pos:pos + len(raw)] = new.tobytes()
    return bytes(out)


def write(src: Path, kind: str, dest: Path, seed: int = 0, ops: tuple[int, ...] | None = None) -> Path:
    dest.write_bytes(compressible(Path(src).read_bytes(), kind, seed, ops))
    return dest
