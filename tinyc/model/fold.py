"""Generation-time folding: operators whose outputs are known before the model runs become constants.

A Keras model with a dynamic batch converts to shape arithmetic (SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE's
shape, FILL of zeros for a recurrent layer's state): on a microcontroller every shape is static (batch 1), so
these values are fixed. ``fold`` computes them once, after parsing, so the checks, the memory plan, the budget
and the generated code all see the folded graph: a folded operator's outputs are constant tensors (their data
is the value) and the operator stays in ``Graph.operators`` (indices keep matching the file) listed in
``Graph.folded``; it is not checked, planned or lowered, and emits no kernel call. TFLite Micro still runs
these operators and plans their outputs, so the TFLM-equivalent plan reads ``Graph.as_file()``.

Only exact operations fold: shapes, integer arithmetic on int32/int64 tensors without quantization, and data
movement of constants (any type: the bytes are copied as TFLite Micro copies them). An operator whose inputs
or outputs disagree with what it computes is left as it is (the verifier or the compatibility report names it).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyc.model.graph import NUMPY_DTYPES, Graph, Operator, Tensor

__all__ = ["fold", "FOLDABLE"]

_INT = ("int32", "int64")
_MOVES = {"STRIDED_SLICE", "SLICE", "PACK", "CONCATENATION", "GATHER", "RESHAPE", "SQUEEZE", "EXPAND_DIMS",
          "TRANSPOSE", "FILL"}
_ARITH = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "FLOOR_DIV": np.floor_divide,
          "MAXIMUM": np.maximum, "MINIMUM": np.minimum}
FOLDABLE = frozenset({"SHAPE", "CAST", "REDUCE_PROD", *_MOVES, *_ARITH})


def _value(op: Operator, ins: list[Tensor | None], out: Tensor) -> np.ndarray | None:
    """The output of ``op`` computed from its constant inputs, or None when it does not fold."""
    name, o = op.op, op.options
    data = [np.asarray(t.data).reshape(t.shape) if t is not None and t.data is not None else None for t in ins]
    if name == "SHAPE":
        return np.asarray(ins[0].shape, dtype=np.int64)
    if any(t is not None and t.data is None for t in ins):
        return None
    if name in _ARITH:
        a, b = data[0], data[1]
        if (o.get("fused_activation_function") or "NONE") != "NONE" or (name == "FLOOR_DIV" and not np.all(b)):
            return None
        return _ARITH[name](a.astype(np.int64), b.astype(np.int64))
    if name == "CAST":
        return data[0]
    if name == "REDUCE_PROD":
        axes = tuple(int(a) % data[0].ndim for a in data[1].reshape(-1))
        return np.prod(data[0].astype(np.int64), axis=axes, keepdims=bool(o.get("keep_dims")))
    if name in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
        return data[0].reshape(out.shape)
    if name == "FILL":
        return np.full(tuple(int(d) for d in data[0].reshape(-1)), data[1].reshape(-1)[0])
    if name == "TRANSPOSE":
        return np.transpose(data[0], [int(p) % data[0].ndim for p in data[1].reshape(-1)])
    if name == "PACK":
        return np.stack(data, axis=int(o.get("axis") or 0))
    if name == "CONCATENATION":
        if (o.get("fused_activation_function") or "NONE") != "NONE":
            return None
        return np.concatenate(data, axis=int(o.get("axis") or 0))
    if name == "GATHER":
        if int(o.get("batch_dims") or 0) != 0:
            return None
        axis = int(o.get("axis") or 0) % data[0].ndim
        idx = data[1].astype(np.int64)
        if np.any(idx < 0) or np.any(idx >= data[0].shape[axis]):
            return None
        return np.take(data[0], idx, axis=axis)
    if name == "SLICE":
        x, begin, size = data[0], data[1].reshape(-1), data[2].reshape(-1)
        sl = tuple(slice(int(b), x.shape[a] if int(s) == -1 else int(b) + int(s)) for a, (b, s) in
                   enumerate(zip(begin, size)))
        return x[sl]
    if name == "STRIDED_SLICE":
        from tinyc.operators._geometry import slice_axes

        if (o.get("ellipsis_mask") or 0) or (o.get("new_axis_mask") or 0) or o.get("offset"):
            return None
        x = data[0]
        axes, shape = slice_axes(x.shape, data[1].reshape(-1), data[2].reshape(-1), data[3].reshape(-1),
                                 int(o.get("begin_mask") or 0), int(o.get("end_mask") or 0),
                                 int(o.get("shrink_axis_mask") or 0))
        idx = tuple(np.arange(a, a + s * c, s, dtype=np.int64) for a, s, c in axes)
        return x[np.ix_(*idx)].reshape(shape) if idx else x
    return None


def _foldable(tensors: list[Tensor], op: Operator, outputs: set[int]) -> bool:
    if op.op not in FOLDABLE or len(op.outputs) != 1 or op.outputs[0] < 0 or op.outputs[0] in outputs:
        return False
    y = tensors[op.outputs[0]]
    if y.is_variable or y.is_constant:
        return False
    if op.op in _MOVES:
        return True
    return y.dtype in _INT and not y.quantization.is_quantized and \
        all(tensors[i].dtype in _INT or op.op == "SHAPE" for i in op.inputs if i >= 0)


def fold(g: Graph) -> Graph:
    """``g`` with every operator whose outputs are known at generation time folded (see the module's
    docstring); ``g`` itself when none is."""
    tensors = list(g.tensors)
    outputs = set(g.outputs)
    folded: list[int] = []
    for op in g.operators:
        if any(i >= len(tensors) for i in (*op.inputs, *op.outputs)):
            continue
        if not _foldable(tensors, op, outputs):
            continue
        y = tensors[op.outputs[0]]
        npd = NUMPY_DTYPES.get(y.dtype)
        try:
            value = _value(op, [tensors[i] if i >= 0 else None for i in op.inputs], y)
        except (ValueError, IndexError, TypeError, OverflowError):
            value = None
        if value is None or npd is None or tuple(np.shape(value)) != tuple(y.shape):
            continue
        if np.issubdtype(npd, np.integer):
            info = np.iinfo(npd)
            if np.any(np.asarray(value) < info.min) or np.any(np.asarray(value) > info.max):
                continue
        arr = np.array(value, dtype=npd).reshape(y.shape)
        arr.flags.writeable = False
        tensors[y.index] = replace(y, is_constant=True, data=arr)
        folded.append(op.index)
    if not folded:
        return g
    if all(d >= 0 for i in g.inputs if i >= 0 for d in g.tensor(i).shape_signature[1:]):
        # Only the batch was dynamic, and its shape arithmetic is folded: a tensor the converter marked
        # dynamic beyond the batch (a shape computed from SHAPE) has the static shape the file gives it.
        tensors = [replace(t, shape_signature=(t.shape_signature[0], *t.shape[1:]))
                   if any(d < 0 for d in t.shape_signature[1:]) and len(t.shape_signature) == len(t.shape) else t
                   for t in tensors]
    return replace(g, tensors=tuple(tensors), folded=tuple(folded), file_tensors=g.tensors)
