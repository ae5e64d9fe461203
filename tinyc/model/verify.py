"""The model verifier: what a .tflite file must hold before tinyc analyses it or generates code for it.

TFLite Micro trusts the converter: its kernels' Prepare functions check types and a few ranks, and the
reference kernels take the output shape from the output tensor (a SOFTMAX with a 1x40 input and a 1x10
output writes 40 values). A damaged, hand-edited or hostile file would then make tinyc generate firmware
that writes past a tensor, divides by zero or hard-faults. ``problems(g)`` checks a parsed graph against
the semantics of every operator tinyc supports (each declaration's ``verify``, tinyc/operators/) before anything
else reads it:

* structure: indices in range, every operator's inputs written before it runs (the file's order is the
  order TFLite Micro runs, so this also proves the graph acyclic), one writer per tensor, graph inputs and
  outputs that exist;
* tensors: ranks and dimensions positive and within 32 bits (at most rank 6, every tensor and all the
  activations together under 2 GiB), constant buffers holding exactly the bytes their shape needs,
  quantization arrays of matching lengths along a valid axis, scales finite, positive and within
  [1e-30, 1e30], zero points in the type's range;
* each operator: input/output counts, ranks and dtypes, its options present and in range (strides,
  dilations, filter sizes, padding, fused activation), and the exact output shape its kernel writes
  (convolution and pooling windows, FULLY_CONNECTED units and batches, broadcasting, padding, concatenation,
  reduction), per-channel quantization of the right length, requantization multipliers below 2^30 (the
  fixed-point shift stays under 32 bits), TFLite Micro's own limits (ADD's output multiplier below one,
  SOFTMAX's beta * scale above 2^-26, LOGISTIC's output scale 1/256), and accumulators that cannot
  overflow 32 bits for the weights the file holds.

Each problem names the operator (index and type), the tensor and what is wrong; ``tinyc.model.ops``
reports them with the operators tinyc cannot run (``compatibility``), so every command that reads a model
refuses such a file in one line (exit 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyc import operators
from tinyc.model.graph import ITEMSIZE, Graph, ModelError, Operator, Tensor

__all__ = ["Problem", "InvalidModel", "Checker", "problems", "verify", "MAX_BYTES", "MAX_RANK", "FIX", "tname",
           "shp"]

MAX_BYTES = (1 << 31) - 1  # a tensor, and all activations together: 32-bit offsets and sizes in generated C
MAX_RANK = 6  # TFLite Micro's broadcasting kernels and tinyc's go to 6 dimensions
MAX_DIM = (1 << 31) - 1
SCALE_RANGE = (1e-30, 1e30)
MAX_MULTIPLIER = float(1 << 30)  # a requantization multiplier's shift must stay below 32 bits
INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int32": (-(1 << 31), (1 << 31) - 1)}
FIX = "the file is inconsistent (damaged or edited): re-export it from the source model"
ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT")
CONCAT_MAX_INPUTS = 10  # TFLite Micro's kMaxInputNum


class InvalidModel(ModelError):
    """A model whose tensors, shapes or quantization disagree with what its operators compute."""


@dataclass(frozen=True)
class Problem:
    """One inconsistency: the operator (``op`` None: the model or a tensor alone), the tensor, what is wrong."""

    op: int | None
    op_name: str
    text: str  # follows where(): "op 3 FULLY_CONNECTED" / "the model" + " output tensor 7 'dense' [1, 10] ..."

    def where(self) -> str:
        return f"op {self.op} {self.op_name}" if self.op is not None else "the model"

    def line(self) -> str:
        return f"{self.where()} {self.text}"

    def to_json(self) -> dict:
        return {"index": self.op, "op": self.op_name, "problem": self.text}


class _Stop(Exception):
    """Raised inside an operator's checks once a problem makes the rest meaningless."""


def tname(t: Tensor) -> str:
    n = t.name if len(t.name) <= 48 else t.name[:45] + "..."
    return f"tensor {t.index} {n!r}"


def shp(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _prod(xs) -> int:
    n = 1
    for x in xs:
        n *= int(x)
    return n


def _stored_bytes(t: Tensor) -> int:
    n = _prod(t.shape)
    return (n + 1) // 2 if t.dtype == "int4" else n * ITEMSIZE.get(t.dtype, 1)


class Checker:
    """What an operator's ``verify`` (tinyc/operators/) works with: helpers that check one tensor or option and
    record a problem (``fail`` stops that operator's checks)."""

    def __init__(self, g: Graph):
        self.g = g
        self.out: list[Problem] = []
        self.bad_tensors: set[int] = set()
        self.op: Operator | None = None

    # --- reporting ----------------------------------------------------------------------------------

    def add(self, text: str, op: Operator | None = None) -> None:
        op = op if op is not None else self.op
        self.out.append(Problem(op.index if op is not None else None, op.op if op is not None else "", text))

    def fail(self, text: str) -> None:
        self.add(text)
        raise _Stop

    # --- tensors ------------------------------------------------------------------------------------

    def user(self, t: Tensor) -> str:
        """Where a tensor is used, for a message about the tensor alone: "(input 1 of op 0 FULLY_CONNECTED)"."""
        g = self.g
        for op in g.operators:
            if t.index in op.outputs:
                return f" (output of op {op.index} {op.op})"
            if t.index in op.inputs:
                return f" (input {op.inputs.index(t.index)} of op {op.index} {op.op})"
        return " (a graph input)" if t.index in g.inputs else " (a graph output)" if t.index in g.outputs else ""

    def tensor(self, t: Tensor) -> None:
        """Shape, size, buffer and quantization of one tensor, on its own."""
        found: list[str] = []
        name = tname(t)
        size = _prod(t.shape) * ITEMSIZE.get(t.dtype, 1) if all(d > 0 for d in t.shape) else 0
        if t.dtype not in ITEMSIZE:
            found.append(f"has {name} of unknown type {t.dtype}")
        if len(t.shape) > MAX_RANK:
            found.append(f"has {name} of rank {len(t.shape)}; tinyc and TFLite Micro handle at most {MAX_RANK} "
                         "dimensions")
        elif any(d > MAX_DIM for d in t.shape):
            found.append(f"has {name} with a dimension of {max(t.shape)}, beyond 32 bits ({shp(t.shape)})")
        elif any(d == 0 for d in t.shape):
            found.append(f"has {name} with an empty dimension ({shp(t.shape)})")
        elif size > MAX_BYTES:
            found.append(f"has {name} {shp(t.shape)} {t.dtype} of {size:,} bytes, beyond 2 GiB (32-bit sizes)")
        if not 0 <= t.buffer < max(self.g.buffer_count, 1):
            found.append(f"has {name} referring to buffer {t.buffer} of {self.g.buffer_count}")
        shape_ok = not found and all(d > 0 for d in t.shape)
        if shape_ok and t.is_constant and t.data is not None:
            want, have = _stored_bytes(t), int(t.data.nbytes)
            if want != have:
                found.append(f"has {name} {shp(t.shape)} {t.dtype}, which needs {want:,} bytes, but its buffer "
                             f"{t.buffer} holds {have:,}")
        q = t.quantization
        if q.scales or q.zero_points:
            if len(q.zero_points) != len(q.scales):
                found.append(f"has {name} with {len(q.scales)} quantization scale(s) but {len(q.zero_points)} zero "
                             "point(s)")
            bad = [s for s in q.scales if not (math.isfinite(s) and SCALE_RANGE[0] <= s <= SCALE_RANGE[1])]
            if bad:
                found.append(f"has {name} with quantization scale {bad[0]!r}; scales must be finite, positive and "
                             f"between {SCALE_RANGE[0]:g} and {SCALE_RANGE[1]:g}")
            lo, hi = INT_RANGES.get(t.dtype, (-(1 << 31), (1 << 31) - 1))
            zbad = [z for z in q.zero_points if not lo <= z <= hi]
            if zbad:
                found.append(f"has {name} with zero point {zbad[0]}, outside the {t.dtype} range [{lo}, {hi}]")
            if len(q.scales) > 1 and shape_ok:
                if len(t.shape) == 1:  # a bias: old converters name any dimension
                    if len(q.scales) != t.shape[0]:
                        found.append(f"has {name} {shp(t.shape)} with {len(q.scales)} per-channel scales for "
                                     f"{t.shape[0]} values")
                elif not 0 <= q.quantized_dimension < len(t.shape):
                    found.append(f"has {name} quantized per channel along dimension {q.quantized_dimension} of a "
                                 f"rank-{len(t.shape)} tensor")
                elif len(q.scales) != t.shape[q.quantized_dimension]:
                    found.append(f"has {name} {shp(t.shape)} with {len(q.scales)} per-channel scales along "
                                 f"dimension {q.quantized_dimension}, which has {t.shape[q.quantized_dimension]} "
                                 "channels")
        if found:
            self.bad_tensors.add(t.index)
            where = self.user(t)
            for text in found:
                self.add(text + where)

    # --- graph --------------------------------------------------------------------------------------

    def structure(self) -> dict[int, int]:
        """Graph inputs/outputs and the writers of every tensor; returns tensor -> index of its writer."""
        g = self.g
        writer: dict[int, int] = {}
        for name, idx in (("input", g.inputs), ("output", g.outputs)):
            if not idx:
                self.add(f"has no graph {name}s")
            if any(i < 0 for i in idx):
                self.add(f"has a missing graph {name} (tensor index -1)")
            seen = [i for i in idx if i >= 0]
            if len(set(seen)) != len(seen):
                dup = next(i for i in seen if seen.count(i) > 1)
                self.add(f"lists {tname(g.tensor(dup))} twice as a graph {name}")
        for i in g.inputs:
            if i >= 0 and g.tensor(i).is_constant:
                self.add(f"has graph input {tname(g.tensor(i))}, which is a constant (it has data in the file)")
        folded = set(g.folded)  # their outputs are constants computed by tinyc.model.fold
        for op in g.operators:
            if op.index in folded:
                continue
            if not op.outputs:
                self.add("has no output tensor", op)
            for i in op.outputs:
                if i < 0:
                    self.add("has a missing output tensor (index -1)", op)
                    continue
                t = g.tensor(i)
                if t.is_constant:
                    self.add(f"writes constant {tname(t)} (it has data in the file)", op)
                elif i in g.inputs:
                    self.add(f"writes graph input {tname(t)}", op)
                elif i in writer:
                    self.add(f"writes {tname(t)}, which op {writer[i]} {g.operators[writer[i]].op} writes too", op)
                elif i in op.inputs:
                    self.add(f"reads and writes {tname(t)} (a cycle)", op)
                else:
                    writer[i] = op.index
        inputs = set(i for i in g.inputs if i >= 0)
        for op in g.operators:
            for i in op.inputs:
                if i < 0 or i in op.outputs:
                    continue
                t = g.tensor(i)
                if t.is_constant or t.is_variable or i in inputs:
                    continue
                w = writer.get(i)
                if w is None:
                    self.add(f"reads {tname(t)}, which no operator writes and which is not a graph input (no "
                             "data: a missing buffer?)", op)
                elif w >= op.index:
                    self.add(f"reads {tname(t)} before op {w} {g.operators[w].op} writes it (a cycle, or "
                             "operators out of order)", op)
        for i in g.outputs:
            if i >= 0 and i not in writer and i not in inputs:
                self.add(f"has graph output {tname(g.tensor(i))}, which no operator writes")
        return writer

    def sizes(self) -> None:
        total = sum(t.nbytes for t in self.g.tensors if not t.is_constant and t.index not in self.bad_tensors
                    and all(d > 0 for d in t.shape))
        if total > MAX_BYTES:
            self.add(f"needs {total:,} bytes of activation tensors together, beyond 2 GiB (32-bit arena offsets)")

    # --- operator helpers ---------------------------------------------------------------------------

    def io(self, op: Operator, n_in: tuple[int, int], required: int, n_out: int = 1) -> tuple[list, list]:
        """The operator's tensors (None for an absent optional input), after the count checks."""
        if not n_in[0] <= len(op.inputs) <= n_in[1]:
            want = str(n_in[0]) if n_in[0] == n_in[1] else f"{n_in[0]} to {n_in[1]}"
            self.fail(f"has {len(op.inputs)} inputs; {op.op} takes {want}")
        if len(op.outputs) != n_out:
            self.fail(f"has {len(op.outputs)} outputs; {op.op} has {n_out}")
        for pos in range(required):
            if op.inputs[pos] < 0:
                self.fail(f"input {pos} is missing (tensor index -1)")
        ins = [self.g.tensor(i) if i >= 0 else None for i in op.inputs]
        outs = [self.g.tensor(i) for i in op.outputs]
        for t in [*ins, *outs]:
            if t is not None and t.index in self.bad_tensors:
                raise _Stop  # already reported on its own
        return ins, outs

    def rank(self, t: Tensor, role: str, ranks) -> None:
        ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
        if len(t.shape) not in ranks:
            want = " or ".join(str(r) for r in ranks) if len(ranks) < 4 else f"{ranks[0]} to {ranks[-1]}"
            self.fail(f"{role} {tname(t)} {shp(t.shape)} has rank {len(t.shape)}; {self.op.op} needs rank {want}")

    def dtype(self, t: Tensor, role: str, dtypes) -> None:
        dtypes = (dtypes,) if isinstance(dtypes, str) else tuple(dtypes)
        if t.dtype not in dtypes:
            self.fail(f"{role} {tname(t)} is {t.dtype}; {self.op.op} needs {' or '.join(dtypes)} here")

    def constant(self, t: Tensor, role: str) -> None:
        if not t.is_constant or t.data is None:
            self.fail(f"{role} {tname(t)} has no data in the file; {self.op.op} needs constant {role}")

    def per_tensor(self, t: Tensor, role: str) -> tuple[float, int]:
        """An int8 activation's (scale, zero point): exactly one of each."""
        q = t.quantization
        if len(q.scales) != 1 or len(q.zero_points) != 1:
            what = "is not quantized" if not q.scales else f"has {len(q.scales)} scales and {len(q.zero_points)} zero points"
            self.fail(f"{role} {tname(t)} {what}; an int8 activation needs one scale and one zero point")
        return float(np.float32(q.scales[0])), int(q.zero_points[0])

    def same_shape(self, a: Tensor, y: Tensor) -> None:
        if tuple(a.shape) != tuple(y.shape):
            self.fail(f"output {tname(y)} {shp(y.shape)} differs from input {tname(a)} {shp(a.shape)}; "
                      f"{self.op.op} writes {_prod(a.shape):,} values of the input's shape")

    def same_quant(self, x: Tensor, y: Tensor, why: str) -> None:
        if self.per_tensor(x, "input") != self.per_tensor(y, "output"):
            self.fail(f"output {tname(y)} is quantized (scale {y.quantization.scales[0]:.6g}, zero point "
                      f"{y.quantization.zero_points[0]}) unlike input {tname(x)} (scale {x.quantization.scales[0]:.6g}, "
                      f"zero point {x.quantization.zero_points[0]}); {why}")

    def multiplier(self, real: float, what: str) -> None:
        if not real < MAX_MULTIPLIER:
            self.fail(f"{what} is {real:.6g}, beyond the 2^30 a 32-bit fixed-point requantization can shift")

    def option(self, op: Operator, key: str, default=None, kinds: tuple[str, ...] = (), required: bool = False):
        if kinds and op.options_type and op.options_type not in kinds:
            self.fail(f"has {op.options_type} options; {op.op} takes {' or '.join(kinds)}")
        if required and not op.options_type and kinds:
            self.fail(f"has no {kinds[0]} (its {key} would be 0)")
        v = op.options.get(key, default)
        return default if v is None else v

    def positive(self, op: Operator, keys: tuple[str, ...], kinds: tuple[str, ...]) -> list[int]:
        out = []
        for k in keys:
            v = self.option(op, k, 0, kinds, required=True)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= MAX_DIM:
                self.fail(f"option {k} is {v!r}; it must be a positive integer")
            out.append(v)
        return out

    def activation(self, op: Operator, kinds: tuple[str, ...], y: Tensor | None = None) -> str:
        a = self.option(op, "fused_activation_function", "NONE", kinds)
        if a not in ACTIVATIONS:
            self.fail(f"has fused activation {a!r}, which TFLite does not define")
        if y is not None and a in ("RELU6", "RELU_N1_TO_1"):
            self.bound(6.0 if a == "RELU6" else 1.0, y, "output", f"its fused {a}")
        return a

    def bound(self, value: float, t: Tensor, role: str, what: str) -> None:
        """TFLite quantizes an activation bound (6.0 of RELU6) to a 32-bit integer: value / scale must fit."""
        if t.quantization.scales and value / float(np.float32(t.quantization.scales[0])) >= 2.0 ** 31:
            self.fail(f"{role} {tname(t)} has scale {t.quantization.scales[0]:.6g}, too small for {what}: "
                      f"{value:g} / scale overflows 32 bits")

    def bias_type(self, op: Operator, kinds: tuple[str, ...]) -> None:
        v = self.option(op, "quantized_bias_type", 0, kinds)
        if v not in (0, 2):  # unset (FLOAT32) or INT32: TFLite Micro refuses any other
            self.fail(f"option quantized_bias_type is {v!r}; int8 {op.op} takes an int32 bias (2) or none set (0)")

    def padding(self, op: Operator, kinds: tuple[str, ...]) -> str:
        p = self.option(op, "padding", "SAME", kinds, required=True)
        if p not in ("SAME", "VALID"):
            self.fail(f"has padding {p!r}; TFLite defines SAME and VALID")
        return p

    def window(self, op: Operator, x: Tensor, y: Tensor, kh: int, kw: int, channels: int, kinds: tuple[str, ...],
               dilation: bool = True) -> None:
        """Output [N, H, W, C] of a convolution/pooling window: TFLite's ComputeOutSize for the padding."""
        sh, sw = self.positive(op, ("stride_h", "stride_w"), kinds)
        dh, dw = (self.positive(op, ("dilation_h_factor", "dilation_w_factor"), kinds) if dilation else (1, 1))
        pad = self.padding(op, kinds)

        def out_size(n: int, f: int, s: int, d: int) -> int:
            eff = (f - 1) * d + 1
            if pad == "SAME":
                return (n + s - 1) // s
            return max((n + s - eff) // s, 0)

        want = (x.shape[0], out_size(x.shape[1], kh, sh, dh), out_size(x.shape[2], kw, sw, dw), channels)
        for n, o, f, s, d, axis in ((x.shape[1], want[1], kh, sh, dh, "height"), (x.shape[2], want[2], kw, sw, dw, "width")):
            span = max(o - 1, 0) * s + (f - 1) * d + 1  # the last window's end: kernels index it in 32 bits
            if span > MAX_DIM:
                self.fail(f"a {kh}x{kw} window with stride {sh}x{sw} and dilation {dh}x{dw} spans {span:,} positions "
                          f"along the {axis} (input {n:,}), past the 32-bit index kernels use")
        if tuple(y.shape) != want:
            self.fail(f"output {tname(y)} is {shp(y.shape)} but input {shp(x.shape)} with a {kh}x{kw} window, "
                      f"strides {sh}x{sw}, dilation {dh}x{dw} and {pad} padding gives {shp(want)}")

    def filter_quant(self, w: Tensor, axis: int, channels: int) -> list[float]:
        q = w.quantization
        if not q.scales:
            self.fail(f"weights {tname(w)} are not quantized; int8 weights need scales")
        if len(q.scales) not in (1, channels) or (len(q.scales) > 1 and q.quantized_dimension != axis):
            self.fail(f"weights {tname(w)} {shp(w.shape)} have {len(q.scales)} scales along dimension "
                      f"{q.quantized_dimension}; {self.op.op} needs one, or one per output channel ({channels}) along "
                      f"dimension {axis}")
        if any(z != 0 for z in q.zero_points):
            self.fail(f"weights {tname(w)} have zero point {next(z for z in q.zero_points if z)}; int8 weights are "
                      "symmetric (zero point 0)")
        return [float(np.float32(s)) for s in q.scales]

    def bias(self, b: Tensor | None, channels: int) -> np.ndarray | None:
        if b is None:
            return None
        self.constant(b, "bias")
        self.dtype(b, "bias", "int32")
        if _prod(b.shape) != channels:
            self.fail(f"bias {tname(b)} {shp(b.shape)} has {_prod(b.shape)} values for {channels} output channels")
        return np.asarray(b.data, dtype=np.int64).reshape(-1)

    def accumulators(self, x_zp: int, w: Tensor, b: np.ndarray | None, axis: int, channels: int) -> None:
        """The largest |accumulator| any input can produce must fit int32 (TFLite's and tinyc's accumulators)."""
        wd = np.moveaxis(np.asarray(w.data).reshape(w.shape), axis, 0).reshape(channels, -1)  # int8, no widening
        per = np.empty(channels, np.int64)
        step = max(1, (1 << 24) // max(wd.shape[1], 1))  # a few MiB of int16 at a time, whatever the size
        for c in range(0, channels, step):
            per[c:c + step] = np.abs(wd[c:c + step].astype(np.int16)).sum(axis=1, dtype=np.int64)
        worst = per * max(127 - x_zp, x_zp + 128) + (np.abs(b) if b is not None else 0)
        if int(worst.max(initial=0)) > (1 << 31) - 1:
            c = int(worst.argmax())
            self.fail(f"weights {tname(w)} can make output channel {c}'s 32-bit accumulator overflow "
                      f"(up to {int(worst[c]):,})")

    def requant(self, sx: float, scales: list[float], sy: float, what: str) -> None:
        for s in scales:
            self.multiplier(sx * s / sy, what)

    # --- operators ----------------------------------------------------------------------------------

    def padded(self, io, n: int):
        ins, outs = io
        return (ins + [None] * n)[:n], outs

    def filter(self, op: Operator, x: Tensor, w: Tensor, b: Tensor | None, y: Tensor, axis: int, channels: int):
        self.dtype(x, "input", "int8")
        self.dtype(y, "output", "int8")
        self.dtype(w, "weights", ("int8", "int4"))
        sx, zx = self.per_tensor(x, "input")
        sy, _ = self.per_tensor(y, "output")
        scales = self.filter_quant(w, axis, channels)
        bias = self.bias(b, channels)
        self.requant(sx, scales, sy, "the requantization multiplier (input scale x weight scale / output scale)")
        if w.dtype == "int8":
            self.accumulators(zx, w, bias, axis, channels)

    def pool(self, op: Operator) -> None:
        kinds = ("Pool2DOptions",)
        (x,), (y,) = self.io(op, (1, 1), 1)
        self.rank(x, "input", 4)
        self.rank(y, "output", 4)
        self.dtype(y, "output", x.dtype)
        kh, kw = self.positive(op, ("filter_height", "filter_width"), kinds)
        self.window(op, x, y, kh, kw, x.shape[3], kinds, dilation=False)
        self.activation(op, kinds, y)
        self.same_quant(x, y, f"int8 {op.op} keeps its input's quantization")

    def binary(self, op: Operator, kinds: tuple[str, ...]):
        (a, b), (y,) = self.io(op, (2, 2), 2)
        for t, role in ((a, "input"), (b, "input"), (y, "output")):
            self.dtype(t, role, "int8")
            self.rank(t, role, range(0, MAX_RANK + 1))
        ra, rb = len(a.shape), len(b.shape)
        rank = max(ra, rb)
        sa = (1,) * (rank - ra) + tuple(a.shape)
        sb = (1,) * (rank - rb) + tuple(b.shape)
        want = []
        for da, db in zip(sa, sb):
            if da != db and 1 not in (da, db):
                self.fail(f"inputs {tname(a)} {shp(a.shape)} and {tname(b)} {shp(b.shape)} do not broadcast "
                          f"(dimensions {da} and {db})")
            want.append(max(da, db))
        if tuple(y.shape) != tuple(want):
            self.fail(f"output {tname(y)} is {shp(y.shape)} but inputs {shp(a.shape)} and {shp(b.shape)} "
                      f"broadcast to {shp(want)}")
        self.activation(op, kinds, y)
        return (self.per_tensor(a, "input")[0], self.per_tensor(b, "input")[0], self.per_tensor(y, "output")[0])

    def unary(self, op: Operator, dtypes_in=("int8",), dtypes_out=("int8",)) -> tuple[Tensor, Tensor]:
        (x,), (y,) = self.io(op, (1, 1), 1)
        self.dtype(x, "input", dtypes_in)
        self.dtype(y, "output", dtypes_out)
        self.same_shape(x, y)
        return x, y

    # --- all ----------------------------------------------------------------------------------------

    def run(self, supported: set[str] | None) -> list[Problem]:
        g = self.g
        used = {i for op in g.operators for i in (*op.inputs, *op.outputs) if i >= 0}
        used |= {i for i in (*g.inputs, *g.outputs) if i >= 0}
        for t in g.tensors:
            if t.index in used:
                self.tensor(t)
        self.structure()
        self.sizes()
        for op in g.operators:
            if (supported is not None and op.op not in supported) or op.index in g.folded:
                continue
            decl = operators.find(op.op)
            if decl is None or decl.verify is None:
                continue
            self.op = op
            try:
                decl.verify(self, op)
            except _Stop:
                pass
            finally:
                self.op = None
        return self.out


def problems(g: Graph, supported: set[str] | None = None) -> list[Problem]:
    """Every inconsistency of ``g`` (empty: none). ``supported``: the operators whose semantics are
    checked (default: every operator this module knows, tinyc's supported set)."""
    return Checker(g).run(supported)


def verify(g: Graph) -> None:
    """Raise a one-line InvalidModel naming the first inconsistency (and how many more there are)."""
    found = problems(g)
    if found:
        where = str(g.path) if g.path else g.name
        more = f" (and {len(found) - 1} more problem{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        raise InvalidModel(f"{where}: {found[0].line()}{more}; {FIX}")
