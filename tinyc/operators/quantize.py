"""QUANTIZE: float32 to int8 at a float model input, or an int8 requantization."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    if x.dtype == "float32" and y.dtype == "int8":
        p = dict(size=x.size, zero_point=ctx.zp(y), scale=float(np.float32(ctx.scale(y))))
        ctx.add(op, K.QUANTIZE, p, input=ctx.ptr(x, "float"), output=ctx.ptr(y))
    elif x.dtype == "int8" and y.dtype == "int8":
        ctx.requant(op, x, y, -128, 127)
    else:
        raise NotImplementedYet(f"{ctx.where(op)}: QUANTIZE from {x.dtype} to {y.dtype}")


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op, ("float32", "int8"), ("int8",))
    sy, _ = c.per_tensor(y, "output")
    if x.dtype == "int8":
        c.multiplier(c.per_tensor(x, "input")[0] / sy, "the requantization multiplier (input scale / "
                        "output scale)")


# --- test models ---

def _float_io_fc(k, x):
    """float32 in/out around an int8 Dense: QUANTIZE and DEQUANTIZE"""
    return k.layers.Dense(7)(x)


EXAMPLES = (
    Example("float_io_fc", ((19,),), _float_io_fc, ops=("QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE"), float_io=True),
)


OP = OpDecl("QUANTIZE", 2, lower, verify, activation_dtypes=("int8", "float32"), code_size=CodeSize(124),
            kernels=(K.QUANTIZE, K.REQUANT), layers=("the converter, at float inputs and between scales",),
            examples=EXAMPLES)
