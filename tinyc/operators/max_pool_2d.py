"""MAX_POOL_2D: max pooling."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    ctx.pool(op, K.MAX_POOL)


def verify(c: "Checker", op: Operator) -> None:
    c.pool(op)


# --- test models (the zoo's single-op set) ---

def _maxpool_valid(k, x):
    """2x3 max pool VALID stride 2x3"""
    return k.layers.MaxPooling2D((2, 3), strides=(2, 3), padding="valid")(x)


EXAMPLES = (
    Example("maxpool_valid", ((12, 9, 5),), _maxpool_valid),
)


OP = OpDecl("MAX_POOL_2D", 2, lower, verify, code_size=CodeSize(240), kernels=(K.MAX_POOL,),
            layers=("MaxPooling2D", "MaxPooling1D (between EXPAND_DIMS and SQUEEZE)"), examples=EXAMPLES)
