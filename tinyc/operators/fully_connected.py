"""FULLY_CONNECTED: a dense layer (keep_num_dims too), per-tensor or per-channel weights; dense or packed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Graph, Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import prod

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def macs(g: Graph, op: Operator) -> int:
    w = g.tensor(op.inputs[1]).shape  # [units, depth]
    return g.tensor(op.outputs[0]).size * w[-1]


def lower(ctx: "Lowering", op: Operator) -> None:
    x, w, b = (ctx.g.op_inputs(op) + [None])[:3]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, w, y)
    if not w.is_constant:
        raise NotImplementedYet(f"{ctx.where(op)}: FULLY_CONNECTED with non-constant weights")
    out_depth, accum = w.shape
    batches = x.size // accum
    if w.quantization.per_channel:
        mult, shift = Q.conv_multipliers(ctx.scale(x), w.quantization.scales, ctx.scale(y), out_depth)
    else:
        ms = Q.fc_multiplier_per_tensor(ctx.scale(x), w.quantization.scales[0], ctx.scale(y))
        mult, shift = [ms[0]], [ms[1]]
    lo, hi = ctx.act(op, y)
    p = dict(batches=batches, accum_depth=accum, out_depth=out_depth, in_offset=-ctx.zp(x),
             filter_offset=-ctx.zp(w), out_offset=ctx.zp(y), act_min=lo, act_max=hi,
             per_channel=int(w.quantization.per_channel))
    m = ctx.const(f"tinyc_op{op.index}_mult", "int32_t", mult)
    s = ctx.const(f"tinyc_op{op.index}_shift", "int32_t", shift)
    axis = ctx.filter_axis(w)
    blob = ctx.packed_filter(op, w, axis, accum) if axis in (0, None) else None
    ctx.add(op, K.FULLY_CONNECTED_PACKED if blob else K.FULLY_CONNECTED, p,
            **ctx.filter_operands(x, w, b, m, s, y, blob))


def verify(c: "Checker", op: Operator) -> None:
    kinds = ("FullyConnectedOptions",)
    (x, w, b), (y,) = c.padded(c.io(op, (2, 3), 2), 3)
    c.rank(w, "weights", 2)
    c.constant(w, "weights")
    if c.option(op, "weights_format", 0, kinds) != 0:
        c.fail("has shuffled weights (weights_format SHUFFLED4x16INT8); tinyc and TFLite Micro take DEFAULT")
    units, depth = w.shape
    if not y.shape or y.shape[-1] != units:
        c.fail(f"output {tname(y)} {shp(y.shape)} does not end in the {units} units of weights {tname(w)} "
               f"{shp(w.shape)}; the kernel would write {units} values per row")
    batches = prod(y.shape) // units
    if prod(x.shape) != batches * depth:
        c.fail(f"input {tname(x)} {shp(x.shape)} has {prod(x.shape):,} values but weights {shp(w.shape)} "
               f"and output {shp(y.shape)} read {batches} rows of {depth} ({batches * depth:,})")
    c.activation(op, kinds, y)
    c.bias_type(op, kinds)
    c.filter(op, x, w, b, y, 0, units)
    if b is not None and len(w.quantization.scales) == 1:
        # TFLite Micro's per-tensor FULLY_CONNECTED checks the bias scale against input x weight scale.
        product = float(np.float32(x.quantization.scales[0])) * float(np.float32(w.quantization.scales[0]))
        sb = float(np.float32(b.quantization.scales[0])) if b.quantization.scales else 0.0
        if not abs(product - sb) / float(np.float32(y.quantization.scales[0])) <= 0.02:
            c.fail(f"bias {tname(b)} has scale {sb:.6g} but input x weight scales make {product:.6g}; TFLite "
                   "needs them within 2% of the output scale")


# --- test models (the zoo's single-op set) ---

def _fc_odd(k, x):
    """Dense 37 -> 13"""
    return k.layers.Dense(13)(x)


def _fc_relu_3d(k, x):
    """Dense on a 3-D input (keep_num_dims), fused ReLU"""
    return k.layers.Dense(9, activation="relu")(x)


EXAMPLES = (
    Example("fc_odd", ((37,),), _fc_odd),
    Example("fc_relu_3d", ((5, 21),), _fc_relu_3d),
)


OP = OpDecl("FULLY_CONNECTED", 5, lower, verify, macs, code_size=CodeSize(580),
            kernels=(K.FULLY_CONNECTED, K.FULLY_CONNECTED_PACKED), layers=("Dense",), examples=EXAMPLES,
            note="v5: keep_num_dims")
