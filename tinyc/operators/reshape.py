"""RESHAPE: the same bytes with another shape; a view of its input where the plan lets it alias."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Int
from tinyc.errors import TinycError
from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import prod

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    if x.nbytes != y.nbytes:
        raise TinycError(f"{ctx.where(op)}: input and output sizes differ")
    ctx.add(op, K.COPY, {}, input=ctx.ptr(x, "void"), output=ctx.ptr(y, "void"), count=Int(y.nbytes, True))


def verify(c: "Checker", op: Operator) -> None:
    (x, *rest), (y,) = c.io(op, (1, 2), 1)
    c.dtype(y, "output", x.dtype)
    if prod(x.shape) != prod(y.shape):
        c.fail(f"output {tname(y)} {shp(y.shape)} has {prod(y.shape):,} values but input {tname(x)} "
               f"{shp(x.shape)} has {prod(x.shape):,}")
    if x.dtype == "int8":
        c.same_quant(x, y, "RESHAPE only reinterprets the bytes")


# --- test models (the zoo's single-op set) ---

def _reshape(k, x):
    """PAD -> RESHAPE -> FULLY_CONNECTED: the reshape step is the arena peak unless it aliases"""
    y = k.layers.ZeroPadding2D(((3, 3), (1, 2)))(x)
    y = k.layers.Reshape((16, 6))(y)
    return k.layers.Dense(3)(y)


EXAMPLES = (
    Example("reshape", ((2, 3, 2),), _reshape, ops=("RESHAPE", "PAD", "FULLY_CONNECTED")),
)


OP = OpDecl("RESHAPE", 1, lower, verify, view=True, code_size=CodeSize(16), kernels=(K.COPY,),
            layers=("Reshape", "Flatten"), examples=EXAMPLES)
