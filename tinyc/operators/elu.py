"""ELU: the int8 ELU as TFLite Micro runs it, a lookup table of the float function over the 256 input values
(built by tinyc at generation time exactly as TFLM's Prepare builds it)."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Field, Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

ELU = K.declare("TINYC_ELU_S8", "ELU", "elu.c", "tinyc_elu_params_t",
                (Role.INPUT, Role.WEIGHTS, Role.OUTPUT), fields=(Field("size"),))
# Float data crosses as int32_t bit patterns: a generated prototype cannot name float (CType.F32 renders as the
# keyword "float", which tinyc_ops.h's identifier check refuses).
_BITS = K.ArgType(K.CType.I32, const=True)
ELU_F32 = K.declare("TINYC_ELU_F32", "ELU", "elu.c", "tinyc_elu_params_t",
                    (Role.INPUT, Role.TABLE1, Role.TABLE2, Role.OUTPUT), fields=(Field("size"),),
                    arg_types={Role.INPUT: _BITS, Role.TABLE1: _BITS, Role.TABLE2: _BITS,
                               Role.OUTPUT: K.ArgType(K.CType.I32)})


@cache
def _libm(name: str):
    """The C library's float function ``name`` (expf, expm1f), which TFLM's std:: calls reach: numpy's float32
    versions may differ in the last bit."""
    f = getattr(ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6"), name)
    f.argtypes, f.restype = (ctypes.c_float,), ctypes.c_float
    return f


def table(sx: float, zx: int, sy: float, zy: int) -> list[int]:
    """PopulateLookupTable: dequantize in float32, ELU, multiply by 1/scale (float32), std::round, add the zero
    point, clamp; entry k is the output for the input byte k (so -128 sits at 128)."""
    expf = _libm("expf")
    sx, inv = np.float32(sx), np.float32(np.float32(1.0) / np.float32(sy))
    out = [0] * 256
    for v in range(-128, 128):
        d = np.float32(sx * np.float32(v - zx))
        t = np.float32(np.float32(expf(float(d))) - np.float32(1.0)) if d < 0 else d
        q = int(np.float32(Q.round_half_away_f32(np.float32(t * inv))) + np.float32(zy))
        out[v & 0xFF] = max(-128, min(127, q))
    return out


def float_table(sx: float, zx: int) -> tuple[list[float], list[float]]:
    """The 256 values a DEQUANTIZE of (sx, zx) writes (float(double(scale) * (q - zp)), ascending) and TFLite's
    float ELU of each (std::expm1)."""
    expm1f = _libm("expm1f")
    keys = [float(np.float32(float(np.float32(sx)) * (q - zx))) for q in range(-128, 128)]
    return keys, [float(np.float32(expm1f(k))) if k < 0 else k for k in keys]


def _dequantized(ctx: "Lowering", x) -> tuple[float, int] | None:
    """(scale, zero point) of the int8 tensor whose DEQUANTIZE wrote float tensor ``x``, or None."""
    for o in ctx.g.operators:
        if x.index in o.outputs and o.op == "DEQUANTIZE":
            src = ctx.g.op_inputs(o)[0]
            if src.dtype == "int8" and src.quantization.scales:
                return ctx.scale(src), ctx.zp(src)
    return None


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    if x.dtype == y.dtype == "float32":
        src = _dequantized(ctx, x)
        if src is None:
            raise NotImplementedYet(f"{ctx.where(op)}: float ELU whose input is not an int8 tensor's DEQUANTIZE")
        keys, values = float_table(*src)
        k = ctx.const(f"tinyc_op{op.index}_elu_keys", "int32_t", np.asarray(keys, np.float32).view(np.int32))
        v = ctx.const(f"tinyc_op{op.index}_elu_values", "int32_t", np.asarray(values, np.float32).view(np.int32))
        ctx.add(op, ELU_F32, dict(size=x.size), input=ctx.ptr(x, "int32_t"), table1=K.Const(k), table2=K.Const(v),
                output=ctx.ptr(y, "int32_t"))
        return
    ctx.require_int8(op, x, y)
    lut = ctx.const(f"tinyc_op{op.index}_elu", "int8_t", table(ctx.scale(x), ctx.zp(x), ctx.scale(y), ctx.zp(y)))
    ctx.add(op, ELU, dict(size=x.size), input=ctx.ptr(x), weights=K.Const(lut), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op, ("int8", "float32"), ("int8", "float32"))
    c.dtype(y, "output", x.dtype)
    if x.dtype == "int8":
        c.per_tensor(x, "input")
        c.per_tensor(y, "output")


def _activations(k, x):
    """LeakyReLU, PReLU, tanh and ELU layers in one small network (issue 17's activations model)"""
    L = k.layers
    y = L.LeakyReLU(0.1)(L.Conv2D(8, 3, padding="same")(x))
    y = L.PReLU(alpha_initializer=k.initializers.RandomUniform(0.0, 0.5, seed=7), shared_axes=[1, 2])(
        L.DepthwiseConv2D(3)(y))
    y = L.Activation("tanh")(L.Conv2D(6, 1)(y))
    y = L.ELU()(L.Dense(10)(L.Flatten()(y)))
    return L.Dense(16)(y)


EXAMPLES = (
    Example("activations_cnn", ((8, 8, 2),), _activations,
            ops=("CONV_2D", "LEAKY_RELU", "DEPTHWISE_CONV_2D", "PRELU", "TANH", "FULLY_CONNECTED", "ELU")),
)

OP = OpDecl("ELU", 2, lower, verify, activation_dtypes=("int8", "float32"), code_size=CodeSize(110), kernels=(ELU, ELU_F32), layers=("ELU", "Activation('elu')"),
            examples=EXAMPLES)
