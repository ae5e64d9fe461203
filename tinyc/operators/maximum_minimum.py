"""MAXIMUM and MINIMUM: elementwise int8 max / min with broadcasting, one kernel (TFLite Micro's
maximum_minimum); inputs and output share one quantization, so raw int8 values compare."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Field, Role
from tinyc.model.graph import Operator
from tinyc.model.verify import tname
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

MAXIMUM_MINIMUM = K.declare(
    "TINYC_MAXIMUM_MINIMUM_S8", ("MAXIMUM", "MINIMUM"), "maximum_minimum.c",
    "tinyc_maximum_minimum_params_t", (Role.INPUT, Role.INPUT2, Role.OUTPUT),
    fields=(Field("flat"), Field("size"), Field("out_dims", 6), Field("in1_strides", 6), Field("in2_strides", 6),
            Field("minimum")))


def lower(ctx: "Lowering", op: Operator) -> None:
    a, b = ctx.g.op_inputs(op)[:2]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, a, b, y)
    p = ctx.broadcast(a, b, y) | dict(minimum=int(op.op == "MINIMUM"))
    ctx.add(op, MAXIMUM_MINIMUM, p, input=ctx.ptr(a), input2=ctx.ptr(b), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    c.binary(op, ("MaximumMinimumOptions",))
    (a, b), (y,) = c.io(op, (2, 2), 2)
    for t in (a, b):
        if c.per_tensor(t, "input") != c.per_tensor(y, "output"):
            c.fail(f"input {tname(t)} is quantized unlike output {tname(y)}; int8 {op.op} compares raw values, so "
                   "its inputs and output share one scale and zero point")


def _minimum_broadcast(k, x, y):
    """tf.minimum with broadcasting"""
    import tensorflow as tf

    return tf.minimum(x, y)


def _clip(k, x):
    """tf.maximum / tf.minimum against constants (a clip to [-2.5, 3])"""
    import tensorflow as tf

    return tf.minimum(tf.maximum(k.layers.Dense(14)(x), -2.5), 3.0)


OPS = (
    OpDecl("MAXIMUM", 4, lower, verify, code_size=CodeSize(178), kernels=(MAXIMUM_MINIMUM,),
           layers=("Maximum", "tf.maximum"),
           examples=(Example("clip_dense", ((6,),), _clip, ops=("FULLY_CONNECTED", "MAXIMUM", "MINIMUM")),)),
    OpDecl("MINIMUM", 4, lower, verify, code_size=CodeSize(178), kernels=(MAXIMUM_MINIMUM,),
           layers=("Minimum", "tf.minimum"),
           examples=(Example("minimum_broadcast", ((5, 4, 3), (1, 4, 1)), _minimum_broadcast),)),
)
