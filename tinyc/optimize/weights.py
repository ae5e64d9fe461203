"""Post-training magnitude pruning and weight clustering, without retraining: the trained weights are edited
directly, so it works on every input tinyc takes (tf-keras 2 and Keras 3 models, float and int8 .tflite),
where tfmot's fine-tuning steps need a tf-keras 2 model. What it costs in accuracy is measured on the int8
model like every other step.

- Pruning zeroes the fraction ``sparsity`` of each Conv/Dense kernel with the smallest magnitudes.
- Clustering replaces each kernel's values by ``n`` centroids (1-D k-means, seeded from quantiles, so the
  result is deterministic); zeros from pruning stay zero. A Keras or float kernel is clustered per tensor
  (per-channel int8 quantization then leaves at most ``n`` values per channel); an int8 kernel, whose
  channels each have their own scale, is clustered per output channel on its int8 values.

Kernels: Conv1D/Conv2D/Dense in Keras (the layers tfmot prunes), CONV_2D/FULLY_CONNECTED weights in a
.tflite. A .tflite is edited in place (same size, same layout): only the weight buffers' bytes change.
"""

from __future__ import annotations

import numpy as np

from tinyc.errors import TinycError

KERAS_KINDS = ("Conv1D", "Conv2D", "Dense")
TFLITE_OPS = ("CONV_2D", "FULLY_CONNECTED")


def prune_array(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Zero the ``sparsity`` fraction of smallest-magnitude values (ties broken by position: exact count)."""
    flat = w.reshape(-1)
    k = int(np.floor(flat.size * sparsity + 0.5))  # halves up: 50% of 9 weights zeroes 5
    if k <= 0:
        return w.copy()
    order = np.argsort(np.abs(flat.astype(np.float64)), kind="stable")
    out = flat.copy()
    out[order[:k]] = 0
    return out.reshape(w.shape)


def kmeans_1d(values: np.ndarray, n: int, iterations: int = 30) -> np.ndarray:
    """Centroids of 1-D k-means (Lloyd), initialised at the quantiles: deterministic."""
    v = np.asarray(values, np.float64).reshape(-1)
    uniq = np.unique(v)
    if len(uniq) <= n:
        return uniq
    c = np.quantile(v, (np.arange(n) + 0.5) / n)
    for _ in range(iterations):
        idx = np.abs(v[:, None] - c[None, :]).argmin(axis=1)
        new = np.array([v[idx == j].mean() if np.any(idx == j) else c[j] for j in range(n)])
        if np.allclose(new, c):
            break
        c = new
    return np.unique(c)


def cluster_array(w: np.ndarray, n: int, keep_zeros: bool = True) -> np.ndarray:
    """Every value replaced by the nearest of at most ``n`` centroids (zeros kept zero when ``keep_zeros``
    and the array has them: they then count as one of the ``n`` values)."""
    flat = w.reshape(-1).astype(np.float64)
    zero = (flat == 0) if keep_zeros else np.zeros(flat.shape, bool)
    rest = flat[~zero]
    if rest.size == 0:
        return w.copy()
    k = n - 1 if zero.any() else n
    c = kmeans_1d(rest, max(1, k))
    out = flat.copy()
    out[~zero] = c[np.abs(rest[:, None] - c[None, :]).argmin(axis=1)]
    return out.reshape(w.shape).astype(w.dtype)


def check(sparsity: float | None, clusters: int | None) -> None:
    if sparsity is not None and not (0.0 < sparsity < 1.0):
        raise TinycError(f"--prune sparsity {sparsity} is impossible: give a fraction strictly between 0 and 1 (e.g. 0.5)")
    if clusters is not None and not (2 <= clusters <= 256):
        raise TinycError(f"--cluster {clusters} is impossible: give a number of clusters from 2 to 256")


def keras_edit(model, sparsity: float | None = None, clusters: int | None = None, keep_zeros: bool = False):
    """A copy of the Keras model (tf-keras 2 or Keras 3) with pruned and/or clustered kernels; returns
    (model, names of the layers edited)."""
    from tinyc.optimize.stack import fresh_copy

    check(sparsity, clusters)
    m = fresh_copy(model)
    done = []
    for layer in _layers(m):
        if type(layer).__name__ not in KERAS_KINDS:
            continue
        ws = layer.get_weights()
        if not ws:
            continue
        w = ws[0]
        if clusters and w.size < 4 * clusters:
            continue  # a codebook would cost more than it saves (as the fine-tuned clustering step)
        if sparsity:
            w = prune_array(w, sparsity)
        if clusters:
            w = cluster_array(w, clusters, keep_zeros=bool(sparsity) or keep_zeros)
        layer.set_weights([w.astype(ws[0].dtype)] + ws[1:])
        done.append(layer.name)
    if not done:
        raise TinycError("no Conv1D/Conv2D/Dense kernel to prune or cluster in this model")
    return m, tuple(done)


def _layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and type(layer).__name__ not in KERAS_KINDS:
            yield from _layers(layer)
        else:
            yield layer


def tflite_edit(tflite: bytes, sparsity: float | None = None, clusters: int | None = None,
                keep_zeros: bool = False) -> tuple[bytes, tuple[str, ...]]:
    """The same .tflite with its CONV_2D/FULLY_CONNECTED weights pruned and/or clustered in place: float
    weights per tensor, int8 weights per output channel (axis 0) on their int8 values."""
    from tinyc.model.graph import parse, schema

    check(sparsity, clusters)
    g = parse(tflite)
    data = bytearray(tflite)
    model = schema().Model.GetRootAs(data, 0)
    done, seen = [], set()
    for op in g.operators:
        if op.op not in TFLITE_OPS or len(op.inputs) < 2 or op.inputs[1] < 0:
            continue
        t = g.tensor(op.inputs[1])
        if not t.is_constant or t.buffer in seen or t.dtype not in ("float32", "int8"):
            continue
        buf = model.Buffers(t.buffer)
        if int(buf.Offset()) > 1 or buf.DataIsNone():
            continue  # weights stored outside the flatbuffer (>2 GB models): not for a microcontroller
        field = buf._tab.Offset(4)  # Buffer.data: where its bytes start in the file, and how many
        start, nbytes = buf._tab.Vector(field), buf._tab.VectorLen(field)
        w = np.frombuffer(bytes(data[start:start + nbytes]),
                          dtype=np.float32 if t.dtype == "float32" else np.int8).reshape(t.shape).copy()
        if clusters and w.size < 4 * clusters * (w.shape[0] if t.dtype == "int8" else 1):
            continue
        if t.dtype == "float32":
            if sparsity:
                w = prune_array(w, sparsity)
            if clusters:
                w = cluster_array(w, clusters, keep_zeros=bool(sparsity) or keep_zeros)
        else:
            rows = w.reshape(w.shape[0], -1).astype(np.float64)
            out = []
            for r in rows:
                if sparsity:
                    r = prune_array(r, sparsity)
                if clusters:
                    r = np.clip(np.round(cluster_array(r, clusters, keep_zeros=bool(sparsity) or keep_zeros)), -127, 127)
                out.append(r)
            w = np.stack(out).reshape(w.shape).astype(np.int8)
        data[start:start + nbytes] = np.ascontiguousarray(w).tobytes()
        seen.add(t.buffer)
        done.append(t.name)
    if not done:
        raise TinycError("no CONV_2D/FULLY_CONNECTED weights to prune or cluster in this .tflite")
    return bytes(data), tuple(done)
