"""DEQUANTIZE: int8 to float32 at a float model output."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    if x.dtype != "int8" or y.dtype != "float32":
        raise NotImplementedYet(f"{ctx.where(op)}: DEQUANTIZE from {x.dtype} to {y.dtype}")
    p = dict(size=x.size, zero_point=ctx.zp(x), scale=float(np.float32(ctx.scale(x))))
    ctx.add(op, K.DEQUANTIZE, p, input=ctx.ptr(x), output=ctx.ptr(y, "float"))


def verify(c: "Checker", op: Operator) -> None:
    x, _ = c.unary(op, ("int8",), ("float32",))
    c.per_tensor(x, "input")


OP = OpDecl("DEQUANTIZE", 2, lower, verify, activation_dtypes=("int8", "float32"), code_size=CodeSize(54),
            kernels=(K.DEQUANTIZE,), layers=("the converter, at float outputs",))
