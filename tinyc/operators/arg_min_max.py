"""ARG_MAX and ARG_MIN: the index of the largest (smallest) int8 value along one constant axis, as an int32
tensor (tf.argmax(..., output_type=tf.int32); tf.argmax's default int64 output is refused in one line)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Field, Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import prod

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

ARG_MIN_MAX = K.declare("TINYC_ARG_MIN_MAX_S8", ("ARG_MAX", "ARG_MIN"), "arg_min_max.c",
                        "tinyc_arg_min_max_params_t", (Role.INPUT, Role.OUTPUT),
                        fields=(Field("outer"), Field("axis_size"), Field("inner"), Field("minimum")),
                        arg_types={Role.OUTPUT: K.ArgType(K.CType.I32)})


def _axis(x, a) -> int:
    return int(np.asarray(a.data).reshape(-1)[0]) % len(x.shape)


def lower(ctx: "Lowering", op: Operator) -> None:
    x, a = ctx.g.op_inputs(op)[:2]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x)
    if y.dtype != "int32":
        raise NotImplementedYet(f"{ctx.where(op)}: {op.op} with a {y.dtype} output; tinyc writes int32 indices "
                                "(tf.argmax(..., output_type=tf.int32))")
    axis = _axis(x, a)
    p = dict(outer=prod(x.shape[:axis]), axis_size=x.shape[axis], inner=prod(x.shape[axis + 1:]),
             minimum=int(op.op == "ARG_MIN"))
    ctx.add(op, ARG_MIN_MAX, p, input=ctx.ptr(x), output=ctx.ptr(y, "int32_t"))


def verify(c: "Checker", op: Operator) -> None:
    (x, a), (y,) = c.io(op, (2, 2), 2)
    c.dtype(x, "input", "int8")
    c.dtype(y, "output", ("int32", "int64"))
    c.constant(a, "axis")
    c.dtype(a, "axis", ("int32", "int64"))
    values = np.asarray(a.data).reshape(-1)
    rank = len(x.shape)
    if values.size != 1:
        c.fail(f"axis {tname(a)} holds {values.size} values; {op.op} takes one")
    if rank == 0 or not -rank <= int(values[0]) < rank:
        c.fail(f"axis {tname(a)} is {int(values[0])}, outside the rank-{rank} input {tname(x)}")
    axis = int(values[0]) % rank
    want = tuple(d for k, d in enumerate(x.shape) if k != axis)
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but {op.op} of {shp(x.shape)} along axis {axis} is {shp(want)}")


def _argmax(k, x):
    """Dense classifier head, then tf.argmax(output_type=int32): the class index as the model output"""
    import tensorflow as tf

    return tf.argmax(k.layers.Dense(7)(x), axis=-1, output_type=tf.int32)


def _argmin_axis1(k, x):
    """tf.argmin along a middle axis (ties of raw int8 values keep the first index)"""
    import tensorflow as tf

    return tf.argmin(x, axis=1, output_type=tf.int32)


OPS = (
    OpDecl("ARG_MAX", 2, lower, verify, activation_dtypes=("int8", "int32", "int64"), code_size=CodeSize(106),
           kernels=(ARG_MIN_MAX,), layers=("tf.argmax(output_type=tf.int32)",),
           examples=(Example("arg_max_dense", ((12,),), _argmax, ops=("FULLY_CONNECTED", "ARG_MAX")),)),
    OpDecl("ARG_MIN", 2, lower, verify, activation_dtypes=("int8", "int32", "int64"), code_size=CodeSize(106),
           kernels=(ARG_MIN_MAX,), layers=("tf.argmin(output_type=tf.int32)",),
           examples=(Example("arg_min_axis1", ((6, 9, 4),), _argmin_axis1),)),
)
