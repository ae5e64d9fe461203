"""RELU6: a standalone ReLU6, clamping the raw values between the input's quantized 0 and 6."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Int
from tinyc.model import inplace
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    # TFLite Micro's Relu6 clamps the raw values between the input's quantized 0 and 6.
    six = Q.quantize_f32(6.0, ctx.scale(x), ctx.zp(x))
    ctx.add(op, K.CLAMP, {}, count=Int(x.size), low=Int(ctx.zp(x)), high=Int(six), input=ctx.ptr(x),
             output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op)
    c.per_tensor(x, "input")
    c.per_tensor(y, "output")
    c.bound(6.0, x, "input", "RELU6's 6.0 in the input's scale")


# --- test models (the zoo's single-op set) ---

def _relu6(k, x):
    """standalone ReLU6"""
    return k.layers.ReLU(max_value=6.0)(x)


EXAMPLES = (
    Example("relu6", ((6, 7, 3),), _relu6),
)


OP = OpDecl("RELU6", 2, lower, verify, inplace=inplace.unary, code_size=CodeSize(34),
            kernels=(K.CLAMP, K.CLAMP_INPLACE), layers=("ReLU(max_value=6)", "Activation('relu6') not fused"),
            examples=EXAMPLES)
