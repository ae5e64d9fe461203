"""SQUEEZE: dimensions of 1 removed (the listed ones, or all); the same bytes, a view of its input where the plan
lets it alias, like RESHAPE and EXPAND_DIMS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, OpDecl
from tinyc.operators.reshape import lower

if TYPE_CHECKING:
    from tinyc.model.verify import Checker


def verify(c: "Checker", op: Operator) -> None:
    (x,), (y,) = c.io(op, (1, 1), 1)
    c.dtype(y, "output", x.dtype)
    rank = len(x.shape)
    dims = c.option(op, "squeeze_dims", [], ("SqueezeOptions",)) or []
    bad = [d for d in dims if not isinstance(d, int) or not -rank <= d < rank]
    if bad:
        c.fail(f"option squeeze_dims holds {bad[0]!r}, outside the rank-{rank} input {tname(x)}")
    gone = {d % rank for d in dims} if dims else {k for k, n in enumerate(x.shape) if n == 1}
    wide = [k for k in sorted(gone) if x.shape[k] != 1]
    if wide:
        c.fail(f"squeezes axis {wide[0]} of input {tname(x)} {shp(x.shape)}, which is not 1")
    want = tuple(n for k, n in enumerate(x.shape) if k not in gone)
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but input {shp(x.shape)} without axes {sorted(gone)} is "
               f"{shp(want)}")
    if x.dtype == "int8":
        c.same_quant(x, y, "SQUEEZE only reinterprets the bytes")


# The converter writes tf.squeeze as RESHAPE wherever it knows the shape; tests/test_ops_shape.py runs a
# SQUEEZE written into a file.
EXAMPLES = ()


OP = OpDecl("SQUEEZE", 1, lower, verify, view=True, code_size=CodeSize(16), kernels=(K.COPY,),
            layers=("tf.squeeze", "Conv1D (dynamic batch)"), examples=EXAMPLES)
