"""AVERAGE_POOL_2D: average pooling (the rounding of TFLite's int8 kernel, padding not counted)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    if ctx.scale(x) != ctx.scale(y) or ctx.zp(x) != ctx.zp(y):
        raise NotImplementedYet(f"{ctx.where(op)}: AVERAGE_POOL_2D with different in/out quantization")
    ctx.pool(op, K.AVG_POOL)


def verify(c: "Checker", op: Operator) -> None:
    c.pool(op)


# --- test models (the zoo's single-op set) ---

def _avgpool_same_s2(k, x):
    """3x3 average pool SAME stride 2"""
    return k.layers.AveragePooling2D(3, strides=2, padding="same")(x)


EXAMPLES = (
    Example("avgpool_same_s2", ((11, 13, 6),), _avgpool_same_s2),
)


OP = OpDecl("AVERAGE_POOL_2D", 2, lower, verify, code_size=CodeSize(302), kernels=(K.AVG_POOL,),
            layers=("AveragePooling2D", "AveragePooling1D (between EXPAND_DIMS and SQUEEZE)"), examples=EXAMPLES)
