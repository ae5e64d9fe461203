"""Lower a Graph and its memory plan to a list of kernel calls with every constant precomputed.

Each operator becomes one ``KernelCall`` (tinyc/codegen/kernels.py), made by its declaration's ``lower``
(tinyc/operators/) with the helpers of ``Lowering``: the declared kernel to call, a parameter struct whose
fields are plain integers (multipliers, shifts, offsets, shapes), the constant arrays it needs in flash, and
its operands by role (fixed arena offsets, those arrays, static buffers). Nothing about quantization is left
to run time; the template writes the C.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Arena, Const, KernelCall, Null, Static, StaticBuffer
from tinyc.codegen.inplace import inplace_input
from tinyc.codegen.inplace import rewrite as rewrite_inplace
from tinyc import operators
from tinyc.errors import NotImplementedYet, TinycError
from tinyc.model import ops as opsmod
from tinyc.model.graph import Graph, Operator, Tensor
from tinyc.operators import option
from tinyc.operators._geometry import padding

UNPACK_SOURCE = "unpack.c"  # needed by every *_PACKED_* kernel
WEIGHT_SCRATCH = "tinyc_weight_scratch"  # static RAM buffer holding one decoded channel
# The weight storage a user chooses (--weights): auto (tinyc.analyze.weights decides per layer for the
# board: dense while the model fits dense), packed (wherever the blob is smaller), dense (never).
WEIGHTS_MODES = ("auto", "packed", "packed-ram", "dense")
# What lowering itself takes: a per-layer choice (op index -> "packed" / "dense", what the decision
# returns), or "packed", "dense", or "all" (every filter packed, RAW records included: decoder tests).
LOWER_MODES = ("packed", "dense", "all")

CTYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t", "float32": "float"}
DTYPE_ENUM = {"int8": 0, "uint8": 1, "int16": 2, "int32": 3, "float32": 4}


@dataclass(frozen=True)
class ConstArray:
    """A constant array in flash (weights, biases, multipliers, shifts)."""

    name: str
    ctype: str
    values: tuple  # flat, already in the C type's range
    align: int = 16

    @property
    def nbytes(self) -> int:
        return len(self.values) * {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "int32_t": 4, "float": 4}[self.ctype]


@dataclass(frozen=True)
class PackedWeight:
    """A weight tensor stored in tinyc's packed format instead of a dense int8 array."""

    op_index: int
    op: str
    tensor: str
    shape: tuple[int, ...]
    mode: str  # packing.MODE_NAMES
    weights: int
    dense_bytes: int
    packed_bytes: int  # the blob, header and codebooks included
    channel_bytes: int  # decoded bytes the kernel needs in RAM at once

    @property
    def bits_per_weight(self) -> float:
        return 8.0 * self.packed_bytes / self.weights

    def to_json(self) -> dict[str, Any]:
        return {"op_index": self.op_index, "op": self.op, "tensor": self.tensor, "shape": list(self.shape),
                "mode": self.mode, "weights": self.weights, "dense_bytes": self.dense_bytes,
                "packed_bytes": self.packed_bytes, "bits_per_weight": round(self.bits_per_weight, 4),
                "channel_bytes": self.channel_bytes}


@dataclass(frozen=True)
class IOTensor:
    name: str
    index: int
    offset: int
    nbytes: int
    dtype: str
    dims: tuple[int, ...]
    scale: float
    zero_point: int

    @property
    def dtype_enum(self) -> int:
        return DTYPE_ENUM[self.dtype]


@dataclass(frozen=True)
class LoweredModel:
    name: str
    sha256: str
    arena_size: int
    calls: tuple[KernelCall, ...]
    consts: tuple[ConstArray, ...]
    inputs: tuple[IOTensor, ...]
    outputs: tuple[IOTensor, ...]
    kernels: tuple[str, ...] = field(default=())  # macros used, sorted
    packed: tuple[PackedWeight, ...] = ()  # weight tensors stored packed
    weight_scratch: int = 0  # bytes of WEIGHT_SCRATCH (static RAM outside the arena), 0 without packed weights
    # calls tinyc_model_init() makes once, before the first inference (--weights packed-ram: filters decoded
    # into RAM); they share their operator's parameter struct with its call in ``calls``
    init_calls: tuple[KernelCall, ...] = ()

    @property
    def all_calls(self) -> tuple[KernelCall, ...]:
        """The start-up calls, then the inference's."""
        return self.init_calls + self.calls

    @property
    def macs(self) -> int:
        return sum(c.macs for c in self.calls)

    @property
    def weights_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)

    @property
    def sources(self) -> tuple[str, ...]:
        srcs = {K.get(k).source for k in self.kernels}
        if any(K.get(k).packed for k in self.kernels):
            srcs.add(UNPACK_SOURCE)
        return tuple(sorted(srcs))


class Lowering:
    """What an operator's ``lower`` (tinyc/operators/) works with: the graph, the plan's offsets, and helpers
    that turn tensors into operands, store constant arrays and add kernel calls."""

    def __init__(self, graph: Graph, offsets: Mapping[int, int], arena_size: int, order=None,
                 weights: str | Mapping[int, str] = "dense", scratch: Mapping[int, list] | None = None):
        self.weights = _weights_choice(weights)
        self.packed: list[PackedWeight] = []
        self.weight_scratch = 0
        self.g = graph
        self.order = tuple(range(len(graph.operators))) if order is None else tuple(order)
        self.offsets = dict(offsets)
        self.scratch = dict(scratch if scratch is not None else getattr(offsets, "scratch", None) or {})
        self.arena_size = int(arena_size)
        self.consts: dict[str, ConstArray] = {}
        self.calls: list[KernelCall] = []

    # --- helpers ----------------------------------------------------------------------------------------

    def where(self, op: Operator) -> str:
        name = self.g.path or self.g.name
        return f"{name}: operator {op.index} ({op.op})"

    def ptr(self, t: Tensor | None, ctype: str = "int8_t") -> Arena | Const | Null:
        """A tensor's data: a flash array for constants, a fixed arena address otherwise."""
        if t is None:
            return Null()
        if t.is_constant:
            return Const(self.const_tensor(t))
        if t.index not in self.offsets:
            raise TinycError(f"{self.g.path or self.g.name}: tensor {t.index} ({t.name}) has no offset in the "
                             "memory plan; the plan does not match the graph")
        if self.offsets[t.index] + t.nbytes > self.arena_size:
            raise TinycError(f"{self.g.path or self.g.name}: tensor {t.name} ends past the planned arena "
                             f"({self.offsets[t.index]} + {t.nbytes} > {self.arena_size}); the plan is invalid")
        return Arena(self.offsets[t.index], ctype)

    def const(self, name: str, ctype: str, values) -> str:
        vals = tuple(int(v) for v in np.asarray(values).reshape(-1)) if ctype != "float" else \
            tuple(float(v) for v in np.asarray(values).reshape(-1))
        if name not in self.consts:
            self.consts[name] = ConstArray(name, ctype, vals)
        return name

    def const_tensor(self, t: Tensor) -> str:
        ctype = CTYPES.get(t.dtype)
        if ctype is None or t.data is None:
            raise NotImplementedYet(f"constant tensor {t.name} of type {t.dtype} is not supported")
        return self.const(f"tinyc_t{t.index}", ctype, np.asarray(t.data))

    def packed_filter(self, op: Operator, w: Tensor, axis: int | None, channel_len: int) -> str | None:
        """The packed blob of weight tensor ``w`` (a flash array name), or None to keep it dense.

        ``axis`` is the channel axis of the blob, whose channels the kernel decodes one at a time
        (``channel_len`` elements each, in row-major order of the other axes)."""
        choice = self.weights.get(op.index, "dense") if isinstance(self.weights, Mapping) else self.weights
        if choice == "dense" or not w.is_constant or w.data is None or w.dtype != "int8":
            return None
        if inplace_input(self.g, op, self.offsets) is not None:
            return None  # the in-place kernels take dense weights
        from tinyc.model import packing

        data = np.asarray(w.data, dtype=np.int8).reshape(w.shape)
        try:
            p = packing.pack(data, axis)
        except struct.error:  # packing's SIGN probe overflows np.abs on an all -128 tensor: keep it dense
            return None
        if choice == "packed" and not isinstance(self.weights, Mapping) \
                and (p.mode == packing.RAW or p.nbytes >= data.nbytes):
            return None  # "packed": only where the blob is smaller; a per-layer choice is taken as given
        name = f"tinyc_t{w.index}_packed"
        if name not in self.consts:  # a filter shared by several ops is stored (and listed) once
            self.const(name, "uint8_t", np.frombuffer(p.data, dtype=np.uint8))
            self.packed.append(PackedWeight(op.index, op.op, w.name, tuple(w.shape), p.mode_name,
                                            int(data.size), int(data.nbytes), p.nbytes, int(channel_len)))
        self.weight_scratch = max(self.weight_scratch, int(channel_len))
        return name

    def filter_axis(self, w: Tensor) -> int | None:
        """The blob's channel axis for an output-channel-major filter ([O, ...]): the quantization
        axis (0) when per channel, else one channel; row-major order either way."""
        q = w.quantization
        return q.quantized_dimension if q.per_channel else None

    def zp(self, t: Tensor) -> int:
        return int(t.quantization.zero_points[0]) if t.quantization.zero_points else 0

    def scale(self, t: Tensor) -> float:
        if not t.quantization.scales:
            raise TinycError(f"{self.g.path or self.g.name}: tensor {t.name} is not quantized; "
                             "tinyc runs full-integer int8 models (convert with an int8 representative dataset)")
        return t.quantization.scales[0]

    def require_int8(self, op: Operator, *tensors: Tensor | None) -> None:
        for t in tensors:
            if t is not None and t.dtype != "int8":
                raise NotImplementedYet(f"{self.where(op)}: {t.dtype} tensor {t.name}; only int8 kernels exist")

    def add(self, op: Operator, kernel: K.Kernel, params: dict[str, Any], **operands):
        """One call of ``kernel``: its operands by role name (input=..., weights=...); its MACs are the
        operator's (its declaration's formula)."""
        self.calls.append(KernelCall(op.index, op.op, kernel, tuple(params.items()), K.by_role(kernel, operands),
                                     opsmod.macs(self.g, op)))

    def filter_operands(self, x, w, b, m: str, s: str, y, blob: str | None) -> dict[str, Any]:
        """The operands of a CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED call, dense or packed."""
        ops = dict(input=self.ptr(x), weights=Const(blob) if blob else self.ptr(w), bias=self.ptr(b, "int32_t"),
                   multipliers=Const(m), shifts=Const(s), output=self.ptr(y))
        if blob:
            ops["decoded"] = Static(WEIGHT_SCRATCH)
        return ops

    def channel_requant(self, op: Operator, x: Tensor, w: Tensor, y: Tensor, channels: int) -> tuple[str, str]:
        """The flash arrays of a filter's per-channel requantization (multipliers, shifts) for x * w -> y."""
        mult, shift = Q.conv_multipliers(self.scale(x), w.quantization.scales, self.scale(y), channels)
        return (self.const(f"tinyc_op{op.index}_mult", "int32_t", mult),
                self.const(f"tinyc_op{op.index}_shift", "int32_t", shift))

    def act(self, op: Operator, out: Tensor) -> tuple[int, int]:
        a = option(op, "fused_activation_function", "NONE")
        try:
            return Q.activation_range(a, self.scale(out), self.zp(out))
        except ValueError:
            raise NotImplementedYet(f"{self.where(op)}: fused activation {a} is not supported") from None

    # --- operators ------------------------------------------------------------------------------------

    def lower(self) -> LoweredModel:
        for oi in self.order:
            op = self.g.operators[oi]
            if oi in self.g.folded:  # computed at generation time (tinyc.model.fold): no kernel call
                continue
            decl = operators.find(op.op)
            if decl is None:
                raise NotImplementedYet(f"{self.where(op)}: tinyc has no kernel for {op.op} yet")
            decl.lower(self, op)
        self.calls = rewrite_inplace(self.g, self.calls, self.offsets, self.scratch, self.arena_size)
        ios = [self.io(i) for i in self.g.inputs], [self.io(i) for i in self.g.outputs]
        if self.weight_scratch:
            first = next(i for i, c in enumerate(self.calls) if WEIGHT_SCRATCH in set(c.statics()))
            buf = StaticBuffer(WEIGHT_SCRATCH, "int8_t", self.weight_scratch,
                               "one output channel of packed weights, decoded", show_bytes=False)
            self.calls[first] = replace(self.calls[first], buffers=self.calls[first].buffers + (buf,))
        return LoweredModel(self.g.name, self.g.sha256, self.arena_size, tuple(self.calls),
                            tuple(self.consts.values()), tuple(ios[0]), tuple(ios[1]),
                            tuple(sorted({c.macro for c in self.calls})), tuple(self.packed),
                            self.weight_scratch)

    def io(self, index: int) -> IOTensor:
        t = self.g.tensor(index)
        if t.dtype not in DTYPE_ENUM:
            raise NotImplementedYet(f"model input/output {t.name} has type {t.dtype}")
        if t.index not in self.offsets:
            raise TinycError(f"{self.g.path or self.g.name}: I/O tensor {t.name} has no offset in the memory plan")
        q = t.quantization
        # The name goes into a C string and the harness's HELLO line: a 5,000-character name (a hostile file)
        # broke C99's 4,095-character string limit; 120 characters name any real tensor.
        name = t.name if len(t.name) <= 120 else t.name[:117] + "..."
        return IOTensor(name, t.index, self.offsets[t.index], t.nbytes, t.dtype, tuple(t.shape),
                        float(q.scales[0]) if q.scales and t.dtype != "float32" else 0.0,
                        int(q.zero_points[0]) if q.zero_points and t.dtype != "float32" else 0)

    def pool(self, op: Operator, kernel: K.Kernel):
        """A pooling layer on ``kernel`` (AVERAGE_POOL_2D, MAX_POOL_2D)."""
        x, y = self.g.op_inputs(op)[0], self.g.op_outputs(op)[0]
        self.require_int8(op, x, y)
        n, ih, iw, c = x.shape
        _, oh, ow, _ = y.shape
        kh, kw = option(op, "filter_height"), option(op, "filter_width")
        sh, sw = option(op, "stride_h", 1), option(op, "stride_w", 1)
        pad = option(op, "padding", "VALID")
        lo, hi = self.act(op, y)
        p = dict(batches=n, in_h=ih, in_w=iw, channels=c, out_h=oh, out_w=ow, k_h=kh, k_w=kw,
                 stride_h=sh, stride_w=sw, pad_h=padding(pad, ih, kh, sh, 1, oh),
                 pad_w=padding(pad, iw, kw, sw, 1, ow), act_min=lo, act_max=hi)
        self.add(op, kernel, p, input=self.ptr(x), output=self.ptr(y))

    def broadcast(self, a: Tensor, b: Tensor, y: Tensor) -> dict[str, Any]:
        """The broadcasting parameters of an elementwise binary kernel (ADD, MUL)."""
        if len(y.shape) > 6:
            raise NotImplementedYet("broadcasting beyond 6 dims")
        od = (1,) * (6 - len(y.shape)) + tuple(y.shape)

        def strides(t: Tensor):
            s = (1,) * (6 - len(t.shape)) + tuple(t.shape)
            st, acc = [0] * 6, 1
            for d in range(5, -1, -1):
                st[d] = 0 if s[d] == 1 and od[d] != 1 else acc
                acc *= s[d]
            return st

        flat = int(tuple(a.shape) == tuple(y.shape) == tuple(b.shape)) or int(a.size == b.size == y.size)
        return dict(flat=flat, size=y.size, out_dims=list(od), in1_strides=strides(a), in2_strides=strides(b))

    def requant(self, op: Operator, x: Tensor, y: Tensor, lo: int, hi: int):
        """``x`` requantized to ``y``'s scale and clamped to [lo, hi] (RELU, int8 QUANTIZE)."""
        m, s = Q.quantize_multiplier(float(np.float32(self.scale(x))) / float(np.float32(self.scale(y))))
        p = dict(size=x.size, in_offset=-self.zp(x), out_offset=self.zp(y), multiplier=m, shift=s,
                 act_min=lo, act_max=hi)
        self.add(op, K.REQUANT, p, input=self.ptr(x), output=self.ptr(y))


def _weights_choice(weights):
    """Lowering stores what it is told: a per-layer choice, or one of LOWER_MODES. "auto" is a decision
    that needs the board's budget, made before lowering (tinyc.codegen.footprint.weight_plan)."""
    if isinstance(weights, Mapping):
        bad = sorted({str(v) for v in weights.values()} - {"packed", "dense"})
        if bad:
            raise TinycError(f"per-layer weight storage {bad[0]!r} is unknown; choose packed or dense")
        return dict(weights)
    if weights == "auto":
        raise TinycError("weights='auto' is decided for a board before lowering: pass the per-layer choice of "
                         "tinyc.codegen.footprint.weight_plan (or packed / dense)")
    if weights not in LOWER_MODES:
        raise TinycError(f"weights storage {weights!r} is unknown; choose one of {', '.join(WEIGHTS_MODES)}")
    return weights


def lower(graph: Graph, offsets: Mapping[int, int], arena_size: int, order=None,
          weights: str | Mapping[int, str] = "dense", scratch: Mapping[int, list] | None = None) -> LoweredModel:
    """Lower ``graph`` with activation tensor ``offsets`` (bytes into an arena of ``arena_size``),
    executing the operators in ``order`` (the plan's; default file order). ``weights`` says which
    CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED filters are stored packed: a per-layer choice (op index
    -> "packed"/"dense"; layers not named stay dense), or one of LOWER_MODES. ``scratch``
    (MemoryPlan.scratch_offsets; default: ``offsets.scratch`` of generate.plan_layout's offsets) places
    the scratch of the layers the plan runs in place."""
    return Lowering(graph, offsets, arena_size, order, weights, scratch).lower()
