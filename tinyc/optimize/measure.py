"""Measure a converted model: weights as stored (raw and packed), sparsity, MACs, TFLM accuracy and arena.

Parsing and MACs use the project IR (tinyc.model.graph, tinyc.model.ops); running uses the TFLite Micro
Python interpreter through tinyc.model.reference (the reference the firmware must equal), never the float
model or tf.lite.Interpreter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from tinyc.model import packing

WEIGHT_OPS = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "TRANSPOSE_CONV": 1}


@dataclass(frozen=True)
class LayerWeights:
    op: str
    tensor: str
    shape: tuple[int, ...]
    weights: int
    sparsity: float
    unique: int  # distinct int8 values in the whole tensor
    unique_per_channel: int  # the most distinct values any one channel has
    raw_bytes: int
    packed_bytes: int
    packing: str
    bits_per_weight: float

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelFigures:
    tflite_bytes: int
    packed_bytes: int  # the same model with its weight tensors stored in tinyc's packed format
    weights: int
    sparsity: float
    macs: int
    layers: tuple[LayerWeights, ...]

    def to_json(self) -> dict:
        d = asdict(self)
        d["layers"] = [l.to_json() for l in self.layers]
        return d


def figures(tflite: bytes) -> ModelFigures:
    from tinyc.model import ops
    from tinyc.model.graph import parse

    g = parse(tflite)
    layers = []
    macs = 0
    for op in g.operators:
        macs += ops.macs(g, op)
        if op.op not in WEIGHT_OPS:
            continue
        w = g.tensor(op.inputs[WEIGHT_OPS[op.op]])
        if w.data is None or w.dtype != "int8":
            continue
        data = np.asarray(w.data).reshape(w.shape)
        axis = w.quantization.quantized_dimension if w.quantization.per_channel else None
        p = packing.pack(data, axis)
        stored, bits = (p.nbytes, p.bits_per_weight) if p.mode != packing.RAW else (data.nbytes, 8.0)
        rows = packing.channels(data, axis)
        layers.append(LayerWeights(
            op=op.op, tensor=w.name, shape=tuple(w.shape), weights=int(data.size),
            sparsity=float((data == 0).mean()), unique=int(len(np.unique(data))),
            unique_per_channel=int(max(len(np.unique(r)) for r in rows)), raw_bytes=int(data.nbytes),
            packed_bytes=stored, packing=p.mode_name, bits_per_weight=round(bits, 4)))
    n = sum(l.weights for l in layers)
    zeros = sum(l.sparsity * l.weights for l in layers)
    packed = len(tflite) - sum(l.raw_bytes for l in layers) + sum(l.packed_bytes for l in layers)
    return ModelFigures(len(tflite), packed, n, zeros / n if n else 0.0, macs, tuple(layers))


def interpreter(tflite: bytes):
    """The project's TFLite Micro reference interpreter (tinyc.model.reference)."""
    from tinyc.model.reference import interpreter as ref_interpreter

    return ref_interpreter(tflite)


def tflm_predict(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """Run every sample through TFLite Micro: float inputs are quantized with the model's input parameters."""
    interp = interpreter(tflite)
    det = interp.get_input_details(0)
    q = det["quantization_parameters"]
    dtype = det["dtype"]
    outs = []
    for sample in x:
        if np.issubdtype(dtype, np.integer):
            scale, zp = float(q["scales"][0]), int(q["zero_points"][0])
            info = np.iinfo(dtype)
            v = sample / scale  # TFLite rounds halves away from zero
            s = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + zp, info.min, info.max).astype(dtype)
        else:
            s = sample.astype(dtype)
        interp.set_input(s[None], 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).reshape(-1))
    return np.stack(outs)


def tflm_accuracy(tflite: bytes, x: np.ndarray, y: np.ndarray) -> float:
    return float((tflm_predict(tflite, x).argmax(axis=1) == y).mean())


def tflm_arena(tflite: bytes) -> tuple[int, int]:
    """(total, head) of TFLM's recorded arena (x86 host build); the head is the planned tensor memory."""
    from tinyc.model.reference import arena_record

    rec = arena_record(tflite)
    return rec.total, rec.head


def planned_arena(tflite: bytes) -> int | None:
    """The tensor arena tinyc's own runtime plans (tinyc.analyze.memory), when that module is present."""
    try:
        from tinyc.analyze.memory import plan_improved
        from tinyc.model.graph import parse
    except ImportError:
        return None
    return int(plan_improved(parse(tflite)).arena_size)
