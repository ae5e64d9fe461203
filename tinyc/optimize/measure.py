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


def signature_outputs(tflite: bytes) -> list[str]:
    """The output names of the model's serving signature, in the order of the graph's outputs ([] if none)."""
    from tinyc.model.graph import schema

    try:
        m = schema().Model.GetRootAs(tflite, 0)
        if not m.SignatureDefsLength():
            return []
        sd = m.SignatureDefs(0)
        by_tensor = {int(sd.Outputs(j).TensorIndex()): sd.Outputs(j).Name().decode("utf-8", "replace")
                     for j in range(sd.OutputsLength())}
        sub = m.Subgraphs(0)
        outs = [int(t) for t in sub.OutputsAsNumpy()] if sub.OutputsLength() else []
        return [by_tensor.get(t, "") for t in outs]
    except Exception:  # noqa: BLE001 - no usable signature: callers fall back to the graph's order
        return []


def tflite_outputs(tflite: bytes) -> list[tuple[str, int, str | None]]:
    """(name, units, final activation) per output of a .tflite, in the graph's order."""
    from tinyc.model.graph import parse

    g = parse(tflite, main_only=True)
    sig = signature_outputs(tflite)
    out = []
    for pos, ti in enumerate(g.outputs):
        t = g.tensor(ti)
        op = g.producer(ti)
        while op is not None and op.op in ("QUANTIZE", "DEQUANTIZE", "RESHAPE") and op.inputs:
            op = g.producer(op.inputs[0])
        act = {"SOFTMAX": "softmax", "LOGISTIC": "sigmoid"}.get(op.op) if op is not None else None
        units = 1
        for d in t.shape[1:]:
            units *= max(int(d), 1)
        out.append(((sig[pos] if pos < len(sig) and sig[pos] else t.name), units, act))
    return out


def output_order(tflite: bytes, names: list[str]) -> list[int]:
    """For each of the model's outputs (``names``, in the Keras model's order), its position among the
    .tflite's outputs: the converter orders them by its signature, not by the model."""
    sig = signature_outputs(tflite)
    if len(names) <= 1 or len(sig) != len(names):
        return list(range(len(names)))
    if set(sig) == set(names):
        return [sig.index(n) for n in names]
    numbered = [f"output_{i}" for i in range(len(names))]  # Keras 3 exports name them by position
    if set(sig) == set(numbered):
        return [sig.index(n) for n in numbered]
    return list(range(len(names)))


def _quantize_input(sample: np.ndarray, det: dict) -> np.ndarray:
    dtype = det["dtype"]
    if np.issubdtype(dtype, np.integer):
        q = det["quantization_parameters"]
        scale, zp = float(q["scales"][0]), int(q["zero_points"][0])
        info = np.iinfo(dtype)
        v = sample / scale  # TFLite rounds halves away from zero
        return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + zp, info.min, info.max).astype(dtype)
    return sample.astype(dtype)


def dequantize(raw: np.ndarray, det: dict) -> np.ndarray:
    """An output in real units (scale * (q - zero_point)); float outputs as they are."""
    if np.issubdtype(det["dtype"], np.integer):
        q = det["quantization_parameters"]
        if len(q["scales"]):
            return (raw.astype(np.float64) - int(q["zero_points"][0])) * float(q["scales"][0])
    return raw.astype(np.float64)


def tflm_outputs(tflite: bytes, x: np.ndarray, order: list[int] | None = None) -> list[np.ndarray]:
    """Every output of every sample run by TFLite Micro, in real units, one array (N, ...) per output;
    ``order`` (from output_order) puts them in the Keras model's order."""
    interp = interpreter(tflite)
    det = interp.get_input_details(0)
    n_out = _output_count(tflite)
    outs_det = [interp.get_output_details(i) for i in range(n_out)]
    res: list[list[np.ndarray]] = [[] for _ in range(n_out)]
    for sample in x:
        interp.set_input(_quantize_input(sample, det)[None], 0)
        interp.invoke()
        for i in range(n_out):
            res[i].append(dequantize(np.array(interp.get_output(i)), outs_det[i]).reshape(-1))
    arrays = [np.stack(r) for r in res]
    return [arrays[i] for i in (order if order is not None else range(n_out))]


def _output_count(tflite: bytes) -> int:
    from tinyc.model.graph import schema

    sub = schema().Model.GetRootAs(tflite, 0).Subgraphs(0)
    return int(sub.OutputsLength())


def input_range(tflite: bytes) -> tuple[float, float] | None:
    """The real input values the int8 input tensor can hold ([lo, hi]); None for a float input."""
    from tinyc.model.graph import parse

    g = parse(tflite)
    t = g.tensor(g.inputs[0])
    if t.dtype not in ("int8", "uint8", "int16") or not t.quantization.is_quantized:
        return None
    info = np.iinfo(np.dtype(t.dtype))
    s, zp = t.quantization.scales[0], t.quantization.zero_points[0] if t.quantization.zero_points else 0
    return float((info.min - zp) * s), float((info.max - zp) * s)


def saturation(tflite: bytes, x: np.ndarray) -> dict | None:
    """How many input values fall outside what the int8 input can hold, by more than one quantization step
    (they saturate to its ends)."""
    r = input_range(tflite)
    if r is None:
        return None
    lo, hi = r
    # counted: values clipped by more than one quantization step (a value within a step of an end only
    # rounds onto it, as any value does to its nearest code)
    step = (hi - lo) / 255.0 if hi > lo else 0.0
    out = int(((x < lo - step) | (x > hi + step)).sum())
    return {"count": out, "total": int(x.size), "fraction": out / x.size if x.size else 0.0,
            "low": lo, "high": hi}


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
