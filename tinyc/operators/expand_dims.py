"""EXPAND_DIMS: a dimension of 1 inserted at a constant axis; the same bytes, a view of its input where the plan
lets it alias (Conv1D and the 1-D poolings of a Keras model with a dynamic batch convert to it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators.reshape import lower

if TYPE_CHECKING:
    from tinyc.model.verify import Checker


def verify(c: "Checker", op: Operator) -> None:
    (x, a), (y,) = c.io(op, (2, 2), 2)
    c.dtype(y, "output", x.dtype)
    c.constant(a, "axis")
    c.dtype(a, "axis", ("int32", "int64"))
    values = np.asarray(a.data).reshape(-1)
    if values.size != 1:
        c.fail(f"axis {tname(a)} holds {values.size} values; EXPAND_DIMS takes one")
    rank = len(x.shape)
    axis = int(values[0])
    if not -rank - 1 <= axis <= rank:
        c.fail(f"axis {tname(a)} is {axis}, outside [{-rank - 1}, {rank}] for the rank-{rank} input {tname(x)}")
    axis %= rank + 1
    want = (*x.shape[:axis], 1, *x.shape[axis:])
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but input {shp(x.shape)} with a 1 at axis {axis} is {shp(want)}")
    if x.dtype == "int8":
        c.same_quant(x, y, "EXPAND_DIMS only reinterprets the bytes")


# --- test models: Keras models with a dynamic batch, as users write them (with batch 1 the converter makes RESHAPE) ---

def _conv1d_pool(k, x):
    """Conv1D + ReLU, MaxPooling1D: EXPAND_DIMS before each 2-D op, RESHAPE after"""
    y = k.layers.Conv1D(8, 3, activation="relu")(x)
    return k.layers.MaxPooling1D(2)(y)


def _expand_last(k, x):
    """tf.expand_dims at axis -1 feeding a Conv2D"""
    import tensorflow as tf

    return k.layers.Conv2D(3, (3, 2))(tf.expand_dims(x, -1))


EXAMPLES = (
    Example("expand_dims_conv1d", ((20, 6),), _conv1d_pool, ops=("EXPAND_DIMS", "CONV_2D", "MAX_POOL_2D", "RESHAPE"),
            batch=None),
    Example("expand_dims_last", ((7, 5),), _expand_last, ops=("EXPAND_DIMS", "CONV_2D"), batch=None),
)


OP = OpDecl("EXPAND_DIMS", 1, lower, verify, view=True, code_size=CodeSize(16), kernels=(K.COPY,),
            layers=("Conv1D", "MaxPooling1D", "AveragePooling1D", "tf.expand_dims"), examples=EXAMPLES)
