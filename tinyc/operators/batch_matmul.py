"""BATCH_MATMUL (tf.matmul of activations, or of an activation and a constant): int8, per-tensor, batch
dimensions broadcast as TFLite does (ranks 2 to 5), adj_x / adj_y read through strides instead of the
transposed copies TFLite Micro keeps (persistent buffers, outside the arena plan), so no scratch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import ArgType, CType, Field, Role, Static
from tinyc.model.graph import Graph, Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl, option

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

FIELDS = (Field("batch_dims", 3), Field("a_batch_strides", 3), Field("b_batch_strides", 3), Field("rows"),
          Field("cols"), Field("depth"), Field("a_row_stride"), Field("a_k_stride"), Field("b_k_stride"),
          Field("b_col_stride"), Field("a_offset"), Field("b_offset"), Field("out_offset"), Field("multiplier"),
          Field("shift"))
BATCH_MATMUL = K.declare("TINYC_BATCH_MATMUL_S8", "BATCH_MATMUL", "batch_matmul.c",
                         "tinyc_batch_matmul_params_t", (Role.INPUT, Role.INPUT2, Role.OUTPUT), fields=FIELDS)


def geometry(a_shape, b_shape, adj_x: bool, adj_y: bool) -> dict:
    """The kernel's shape parameters: batch dimensions extended to 3 (broadcast ones get stride 0), the
    matrices [rows, depth] x [depth, cols] read through strides (adj_x / adj_y: stored transposed)."""
    rank = max(len(a_shape), len(b_shape))
    a = (1,) * (5 - len(a_shape)) + tuple(a_shape)
    b = (1,) * (5 - len(b_shape)) + tuple(b_shape)
    rows, depth = (a[4], a[3]) if adj_x else (a[3], a[4])
    cols = b[3] if adj_y else b[4]
    dims = [max(a[d], b[d]) for d in range(3)]

    def strides(s):
        out, acc = [0, 0, 0], s[3] * s[4]
        for d in (2, 1, 0):
            out[d] = 0 if s[d] == 1 and dims[d] != 1 else acc
            acc *= s[d]
        return out

    return dict(rank=rank, batch_dims=dims, a_batch_strides=strides(a), b_batch_strides=strides(b), rows=rows,
                cols=cols, depth=depth, a_row_stride=1 if adj_x else depth, a_k_stride=rows if adj_x else 1,
                b_k_stride=1 if adj_y else cols, b_col_stride=depth if adj_y else 1)


def macs(g: Graph, op: Operator) -> int:
    a, b = (g.tensor(i) for i in op.inputs)
    depth = a.shape[-2] if option(op, "adj_x", False) else a.shape[-1]
    return g.tensor(op.outputs[0]).size * depth


def lower(ctx: "Lowering", op: Operator) -> None:
    a, b = ctx.g.op_inputs(op)
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, a, b, y)
    geo = geometry(a.shape, b.shape, bool(option(op, "adj_x", False)), bool(option(op, "adj_y", False)))
    geo.pop("rank")
    m, s = Q.fc_multiplier_per_tensor(ctx.scale(a), ctx.scale(b), ctx.scale(y))
    p = geo | dict(a_offset=-ctx.zp(a), b_offset=-ctx.zp(b), out_offset=ctx.zp(y), multiplier=m, shift=s)
    ctx.add(op, BATCH_MATMUL, p, input=ctx.ptr(a), input2=ctx.ptr(b), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    kinds = ("BatchMatMulOptions",)
    (a, b), (y,) = c.io(op, (2, 2), 2)
    for t, role in ((a, "input"), (b, "input"), (y, "output")):
        c.rank(t, role, range(2, 6))
        c.dtype(t, role, "int8")
    adj_x, adj_y = c.option(op, "adj_x", False, kinds), c.option(op, "adj_y", False, kinds)
    geo = geometry(a.shape, b.shape, bool(adj_x), bool(adj_y))
    ra, rb = (1,) * (5 - len(a.shape)) + tuple(a.shape), (1,) * (5 - len(b.shape)) + tuple(b.shape)
    for d in range(3):
        if ra[d] != rb[d] and 1 not in (ra[d], rb[d]):
            c.fail(f"inputs {tname(a)} {shp(a.shape)} and {tname(b)} {shp(b.shape)} have batch dimensions that "
                   "do not broadcast")
    b_depth = rb[4] if adj_y else rb[3]
    if b_depth != geo["depth"]:
        c.fail(f"inputs {tname(a)} {shp(a.shape)} and {tname(b)} {shp(b.shape)} do not multiply (depth "
               f"{geo['depth']} against {b_depth}, adj_x={bool(adj_x)}, adj_y={bool(adj_y)})")
    want = tuple(geo["batch_dims"][3 - (geo["rank"] - 2):]) + (geo["rows"], geo["cols"])
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but {shp(a.shape)} x {shp(b.shape)} is {shp(want)}")
    sa, za = c.per_tensor(a, "input")
    sb, zb = c.per_tensor(b, "input")
    sy, _ = c.per_tensor(y, "output")
    c.multiplier(sa * sb / sy, "the requantization multiplier (input scales' product / output scale)")
    worst = geo["depth"] * max(127 - za, za + 128) * max(127 - zb, zb + 128)
    if worst > (1 << 31) - 1:
        c.fail(f"a depth of {geo['depth']} can make the 32-bit accumulator overflow (up to {worst:,})")


# --- the Arm DSP variant (firmware/runtime/kernels/arm_dsp/batch_matmul_arm_dsp.c) ---

def specialize_dsp(specializer, call):
    """Any BATCH_MATMUL whose left operand has contiguous rows (adj_x false); two int16 columns of the depth
    (rounded down to 4) join the set's static scratch."""
    from tinyc.codegen.specialize import SCRATCH

    p = dict(call.params)
    if p["a_k_stride"] != 1:
        return "adj_x: the left operand's rows are not contiguous"
    specializer.scratch = max(specializer.scratch, 4 * (p["depth"] & ~3) + 4)
    return call.to(BATCH_MATMUL_DSP, p, scratch=Static(SCRATCH))


BATCH_MATMUL_DSP = K.declare(
    "TINYC_DSP_BATCH_MATMUL_S8", "BATCH_MATMUL", "batch_matmul.c", BATCH_MATMUL.params,
    (Role.INPUT, Role.INPUT2, Role.SCRATCH, Role.OUTPUT), kernel_set=K.KernelSet.ARM_DSP,
    replaces=(BATCH_MATMUL.macro,), fields=FIELDS, arg_types={Role.SCRATCH: ArgType(CType.I32)},
    specialize=specialize_dsp)


# --- test models ---

def _matmul_adj_y(k, x, y):
    """tf.matmul(x, y, transpose_b=True) of two activations, y broadcast over x's batch of 2"""
    import tensorflow as tf

    return tf.matmul(x, y, transpose_b=True)


def _matmul_const(k, x):
    """a constant 5x7 matrix times an activation (the converter keeps BATCH_MATMUL with a constant LHS)"""
    import numpy as np
    import tensorflow as tf

    w = np.random.default_rng(17).normal(0, 0.5, (5, 7)).astype("float32")
    return tf.matmul(tf.constant(w), x)


def _attention(k, x):
    """attention-like block: Dense projections, softmax(q k^T) v with two BATCH_MATMULs, Dense"""
    import tensorflow as tf

    q = k.layers.Dense(8)(x)
    kk = k.layers.Dense(8)(x)
    v = k.layers.Dense(8)(x)
    a = tf.nn.softmax(tf.matmul(q, kk, transpose_b=True), axis=-1)
    return k.layers.Dense(6)(tf.matmul(a, v))


EXAMPLES = (
    Example("batch_matmul_adj_y", ((2, 4, 6), (1, 5, 6)), _matmul_adj_y),
    Example("batch_matmul_const", ((7, 9),), _matmul_const),
    Example("attention_block", ((10, 12),), _attention, ops=("FULLY_CONNECTED", "BATCH_MATMUL", "SOFTMAX")),
)


OP = OpDecl("BATCH_MATMUL", 4, lower, verify, macs, code_size=CodeSize(340, 840), kernels=(BATCH_MATMUL,),
            layers=("tf.matmul", "tf.linalg.matmul"),
            examples=EXAMPLES, note="int8 per-tensor; adj_x, adj_y, broadcast batches")
